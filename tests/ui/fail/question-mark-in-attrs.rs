use traced::traced;

#[traced(attrs(id = id.parse::<u64>()?, len = { return Ok(0) }))]
fn lookup(id: &str) -> Result<u64, std::num::ParseIntError> {
    Ok(id.len() as u64)
}

#[traced(link = contexts.first()?)]
fn linked(contexts: &[traced::opentelemetry::Context]) -> Option<usize> {
    Some(contexts.len())
}

fn main() {}
