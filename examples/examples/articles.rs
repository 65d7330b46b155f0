//! A trace across two processes, as in the classic articles demo: the
//! `articles` service lists articles and asks the `suggestions` service, a
//! second process, for suggestions per article over HTTP.
//!
//! ```console
//! cargo run --example articles
//! ```
//!
//! The suggestions process is this same binary started with
//! `--role suggestions`; the articles process starts it and stops it. Each
//! process prints its own part of the trace (one trace id, two services); with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, both send to that collector, which shows
//! the whole trace in one piece.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use traced::integrations::{HttpServerLayer, TracingMiddleware};
use traced::traced;

const ARTICLES: [(u64, &str); 3] = [
    (1, "Tracing in one line"),
    (2, "Contexts across spawn"),
    (3, "Span names without ids"),
];

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    if std::env::args().skip(1).collect::<Vec<_>>() == ["--role", "suggestions"] {
        runtime.block_on(suggestions_process())
    } else {
        runtime.block_on(articles_process())
    }
}

// ---- the suggestions service -------------------------------------------------

#[traced(attrs(article.id = article))]
async fn suggest(article: u64) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(2 * article)).await;
    (1..=article)
        .map(|n| format!("read next: #{}", article * 10 + n))
        .collect()
}

async fn suggestions_for(Path(article): Path<u64>) -> Json<Vec<String>> {
    Json(suggest(article).await)
}

/// Serves until the articles process closes this process's stdin.
async fn suggestions_process() -> anyhow::Result<()> {
    let guard = traced::Config::new().service_name("suggestions").init()?;
    let app = Router::new()
        .route("/suggestions/{article}", get(suggestions_for))
        .layer(HttpServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // The articles process reads the address from this process's stdout.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", listener.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
    server.abort();
    guard.shutdown()?;
    Ok(())
}

// ---- the articles service ----------------------------------------------------

#[derive(Clone)]
struct Articles {
    suggestions: SocketAddr,
    client: ClientWithMiddleware,
}

#[derive(serde::Serialize)]
struct Page {
    title: &'static str,
    suggestions: Vec<String>,
}

async fn list(State(articles): State<Articles>) -> Json<Vec<Page>> {
    Json(render_page(&articles).await)
}

/// One suggestions call per article: the classic N+1 that a trace makes plain.
#[traced]
async fn render_page(articles: &Articles) -> Vec<Page> {
    let mut pages = Vec::new();
    for (id, title) in ARTICLES {
        let suggestions = articles
            .client
            .get(format!("http://{}/suggestions/{id}", articles.suggestions))
            .send()
            .await
            .ok();
        let suggestions = match suggestions {
            Some(response) => response.json().await.unwrap_or_default(),
            None => Vec::new(),
        };
        pages.push(Page { title, suggestions });
    }
    pages
}

async fn articles_process() -> anyhow::Result<()> {
    let guard = traced::Config::new().service_name("articles").init()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--role", "suggestions"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut announcement = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut announcement)?;
    let suggestions: SocketAddr = announcement
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow::anyhow!("suggestions did not start: {announcement:?}"))?
        .parse()?;

    let articles = Articles {
        suggestions,
        client: ClientBuilder::new(reqwest::Client::new())
            .with(TracingMiddleware::new())
            .build(),
    };
    let app = Router::new()
        .route("/articles", get(list))
        .layer(HttpServerLayer::new())
        .with_state(articles);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let page = reqwest::get(format!("http://{address}/articles"))
        .await?
        .text()
        .await?;
    eprintln!("GET /articles → {page}");

    drop(child.stdin.take()); // tells suggestions to flush and stop
    let status = child.wait()?;
    guard.shutdown()?;
    anyhow::ensure!(status.success(), "suggestions exited with {status}");
    Ok(())
}
