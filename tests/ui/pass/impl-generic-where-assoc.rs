use std::fmt::Debug;
use std::marker::PhantomData;

use traced::testing::capture;
use traced::traced_impl;

trait Store {
    type Key: Debug;
    fn get(&self, key: &Self::Key) -> Option<u32>;
}

struct Memory;

impl Store for Memory {
    type Key = String;
    fn get(&self, key: &String) -> Option<u32> {
        u32::try_from(key.len()).ok()
    }
}

struct Repo<'a, S, const N: usize> {
    store: &'a S,
    marker: PhantomData<[u8; N]>,
}

#[traced_impl(kind = client, attrs(db.system.name = "memory", capacity = N))]
impl<'a, S: Store, const N: usize> Repo<'a, S, N>
where
    S::Key: Clone,
{
    const CAPACITY: usize = N;

    // An associated function is traced when marked, in a generic impl too.
    #[traced]
    fn new(store: &'a S) -> Self {
        Repo { store, marker: PhantomData }
    }

    fn unmarked(store: &'a S) -> Self {
        Repo { store, marker: PhantomData }
    }

    fn get(&self, #[attr] key: &S::Key) -> Option<u32> {
        self.store.get(key)
    }

    fn store(&self) -> &'a S {
        self.store
    }

    fn capacity(&self) -> usize {
        Self::CAPACITY
    }
}

trait Named {
    type Output;
    const PREFIX: &'static str;
    fn name(&self) -> Self::Output;
}

#[traced_impl]
impl<S: Store> Named for Repo<'_, S, 4>
where
    S::Key: Clone,
{
    type Output = String;
    const PREFIX: &'static str = "repo";

    fn name(&self) -> String {
        format!("{}-{}", Self::PREFIX, self.capacity())
    }
}

fn main() {
    let memory = Memory;
    let (_, trace) = capture(|| {
        let repo = Repo::<_, 4>::new(&memory);
        assert_eq!(repo.get(&String::from("abc")), Some(3));
        assert!(repo.store().get(&String::new()).is_some());
        assert_eq!(repo.name(), "repo-4");
        assert_eq!(Repo::<_, 4>::unmarked(&memory).capacity(), 4);
    });
    assert_eq!(
        trace.tree(),
        "Repo::new\nRepo::get\nRepo::store\nRepo::name\n  Repo::capacity\nRepo::capacity\n"
    );
}
