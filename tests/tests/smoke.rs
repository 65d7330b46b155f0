use traced::testing::capture;
use traced::traced;

#[traced(kind = client, attrs(db.system.name = "postgresql", rows = ids.len()))]
fn load(#[attr] user: &str, ids: &[u64]) -> Result<usize, std::io::Error> {
    if user == "bad" {
        return Err(std::io::Error::other("no such user"));
    }
    Ok(ids.len())
}

#[traced]
async fn outer(n: u32) -> u32 {
    inner(n).await + 1
}

#[traced(ret)]
async fn inner(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n * 2
}

#[test]
fn smoke() {
    let (r, trace) = capture(|| load("bob", &[1, 2, 3]));
    assert_eq!(r.unwrap(), 3);
    let span = trace.span("load");
    println!("{span:#?}");
    let (r, trace) = capture(|| load("bad", &[]));
    assert!(r.is_err());
    println!("{:#?}", trace.span("load"));
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_async() {
    let (r, trace) = traced::testing::capture_async(|| outer(3)).await;
    assert_eq!(r, 7);
    println!("{}", trace.tree());
    println!("{:#?}", trace.span("inner").attributes);
}
