use traced as telemetry;

#[telemetry::traced(crate = telemetry)]
fn load() -> u32 {
    1
}

struct Repo;

#[telemetry::traced_impl(crate = telemetry)]
impl Repo {
    fn get(&self) -> u32 {
        load()
    }
}

fn main() {
    let (value, trace) = telemetry::testing::capture(|| Repo.get());
    assert_eq!(value, 1);
    assert_eq!(trace.tree(), "Repo::get\n  load\n");
}
