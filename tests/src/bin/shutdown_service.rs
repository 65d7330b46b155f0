//! Services of the shutdown tests (`tests/shutdown.rs`), configured from the
//! environment with `traced::init()`, printing their address on the first
//! line of stdout.
//!
//! ```text
//! shutdown_service plain      serves GET /work/{id}; no signal code of its own
//! shutdown_service graceful   serves GET /slow/{id}, whose handlers wait for the shutdown
//!                             signal, under axum's graceful shutdown with
//!                             traced::shutdown_signal(); prints "started {id}" per request
//! shutdown_service exit N     makes N spans, flushes, and calls std::process::exit(3)
//! shutdown_service late       exports to stdout (one span name a line); makes span "before",
//!                             prints "ready" and waits for SIGTERM; the export that carries
//!                             "before" has another thread end span "late" before it returns
//! ```
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use tokio::sync::watch;
use traced::integrations::HttpServerLayer;
use traced::traced;

#[traced(name = "handled")]
fn handled(#[attr] id: u64) -> u64 {
    id
}

async fn work(Path(id): Path<u64>) -> String {
    handled(id).to_string()
}

async fn slow(State(released): State<watch::Receiver<bool>>, Path(id): Path<u64>) -> String {
    let mut released = released;
    println!("started {id}");
    let _ = std::io::stdout().flush();
    // In flight until the shutdown signal has arrived.
    let _ = released.wait_for(|released| *released).await;
    handled(id).to_string()
}

async fn listener() -> tokio::net::TcpListener {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port");
    println!("{}", listener.local_addr().expect("the address"));
    let _ = std::io::stdout().flush();
    listener
}

async fn plain() {
    let _guard = traced::init().expect("init");
    let app: Router = Router::new()
        .route("/work/{id}", get(work))
        .layer(HttpServerLayer::new());
    axum::serve(listener().await, app).await.expect("serving");
}

async fn graceful() {
    let _guard = traced::init().expect("init");
    let (release, released) = watch::channel(false);
    let app: Router = Router::new()
        .route("/slow/{id}", get(slow))
        .with_state(released)
        .layer(HttpServerLayer::new());
    let shutdown = async move {
        traced::shutdown_signal().await;
        let _ = release.send(true);
    };
    axum::serve(listener().await, app)
        .with_graceful_shutdown(shutdown)
        .await
        .expect("serving");
}

fn exit(spans: u64) {
    let _guard = traced::init().expect("init");
    for id in 0..spans {
        handled(id);
    }
    traced::flush().expect("flushed");
    std::process::exit(3);
}

#[traced]
fn before() {}

#[traced]
fn late() {}

/// Prints the name of each span it exports; the first time a batch carries
/// span `before`, it asks a thread of the service to end span `late` and
/// waits until it has, before returning.
#[derive(Debug)]
struct PrintingExporter {
    ask: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

impl traced::opentelemetry_sdk::trace::SpanExporter for PrintingExporter {
    async fn export(
        &self,
        batch: Vec<traced::opentelemetry_sdk::trace::SpanData>,
    ) -> traced::opentelemetry_sdk::error::OTelSdkResult {
        if batch.iter().any(|span| span.name == "before")
            && let Some((ask, ended)) = self.ask.lock().unwrap().take()
        {
            let _ = ask.send(());
            let _ = ended.recv();
        }
        let mut stdout = std::io::stdout().lock();
        for span in &batch {
            let _ = writeln!(stdout, "{}", span.name);
        }
        let _ = stdout.flush();
        Ok(())
    }
}

/// A span that ends while the SIGTERM's flush runs is delivered too.
fn ending_during_the_flush() {
    let (ask, asked) = mpsc::channel::<()>();
    let (ended, on_end) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if asked.recv().is_ok() {
            late();
            let _ = ended.send(());
        }
    });
    let _guard = traced::Config::new()
        .span_exporter(PrintingExporter {
            ask: Mutex::new(Some((ask, on_end))),
        })
        .schedule_delay(std::time::Duration::from_secs(600))
        .init()
        .expect("init");
    before();
    println!("ready");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("plain") => plain().await,
        Some("graceful") => graceful().await,
        Some("exit") => exit(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10)),
        Some("late") => ending_during_the_flush(),
        _ => eprintln!("usage: shutdown_service plain|graceful|exit N|late"),
    }
}
