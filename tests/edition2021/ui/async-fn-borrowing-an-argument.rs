// Edition 2021: an inherent or free `async fn` that borrows an argument
// cannot be traced (the return type of the rewritten `fn .. -> impl Future`
// captures no elided lifetime). Edition 2024 accepts both.
use traced::{traced, traced_impl};

#[traced]
async fn free(text: &str) -> usize {
    text.len()
}

struct Repo;

#[traced_impl]
impl Repo {
    async fn get(&self) -> u32 {
        0
    }
}

fn main() {}
