//! One traced function, sync and async, one of them failing; the trace is
//! printed as a waterfall when the guard drops.
//!
//! ```console
//! cargo run --example basic
//! ```

use std::time::Duration;

use traced::traced;

#[derive(Debug, thiserror::Error)]
#[error("article {0} not found")]
struct NotFound(u64);

#[traced(kind = server, name = "GET /articles/{id}")]
async fn get_article(#[attr("article.id")] id: u64) -> Result<String, NotFound> {
    let title = load_title(id)?;
    let words = count_words(&title).await;
    Ok(format!("{title} ({words} words)"))
}

#[traced(kind = client, attrs(db.system.name = "postgresql"))]
fn load_title(#[attr("article.id")] id: u64) -> Result<String, NotFound> {
    std::thread::sleep(Duration::from_millis(3));
    match id {
        1 => Ok("Tracing in one line".to_owned()),
        other => Err(NotFound(other)),
    }
}

#[traced(ret)]
async fn count_words(text: &str) -> usize {
    tokio::time::sleep(Duration::from_millis(2)).await;
    text.split_whitespace().count()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _guard = traced::Config::new().service_name("articles").init()?;
    let found = get_article(1).await?;
    eprintln!("served: {found}");
    let missing = get_article(42).await;
    eprintln!("served: {missing:?}");
    Ok(())
}
