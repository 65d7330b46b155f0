//! A repository traced with one line above its impl block: every method is a
//! span named `Type::method`, with per-method overrides and one opt-out.
//!
//! ```console
//! cargo run --example impl_block
//! ```

use std::collections::HashMap;
use std::time::Duration;

use traced::traced_impl;

#[derive(Debug, Clone)]
struct Article {
    title: String,
}

#[derive(Debug, thiserror::Error)]
enum RepoError {
    #[error("article {0} not found")]
    NotFound(u64),
}

struct ArticleRepo {
    rows: HashMap<u64, Article>,
}

#[traced_impl(kind = client, attrs(db.system.name = "postgresql"))]
impl ArticleRepo {
    async fn get(&self, #[attr("article.id")] id: u64) -> Result<Article, RepoError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let key = self.cache_key(id);
        self.rows
            .get(&id)
            .cloned()
            .ok_or(RepoError::NotFound(id))
            .inspect(|_| {
                let _ = key;
            })
    }

    /// Pure computation: an internal span that records its result.
    #[traced(kind = internal, ret)]
    fn cache_key(&self, id: u64) -> String {
        format!("article:{id}:{}", self.normalise(id))
    }

    /// Too small to be worth a span: callees still nest under the caller.
    #[untraced]
    fn normalise(&self, id: u64) -> u64 {
        id % 1_000
    }

    async fn list(&self) -> Vec<Article> {
        let mut found = Vec::new();
        for id in [1, 2] {
            if let Ok(article) = self.get(id).await {
                found.push(article);
            }
        }
        found
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _guard = traced::Config::new().service_name("articles").init()?;
    let repo = ArticleRepo {
        rows: HashMap::from([(
            1,
            Article {
                title: "Tracing in one line".to_owned(),
            },
        )]),
    };
    let articles = repo.list().await;
    eprintln!(
        "found: {:?}",
        articles.iter().map(|a| &a.title).collect::<Vec<_>>()
    );
    Ok(())
}
