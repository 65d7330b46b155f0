//! A future for graceful shutdown of tokio services.

/// Resolves when the process receives SIGTERM or SIGINT (Ctrl-C): hand it to
/// a server's graceful shutdown, and let the guard send the last spans once
/// the server has finished its in-flight requests.
///
/// Waiting on it makes the program handle both signals itself (through
/// tokio), so `traced` no longer ends the process on them: it only flushes
/// what has finished when the signal arrives, and the guard, dropped when
/// `main` returns, delivers the spans of the requests that finish
/// afterwards.
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _guard = traced::init()?;
///     let app: Router = Router::new().route("/", get(|| async { "hello" }));
///     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
///     axum::serve(listener, app)
///         .with_graceful_shutdown(traced::shutdown_signal())
///         .await?;
///     Ok(()) // the guard drops here and delivers every span
/// }
/// ```
///
/// If a signal handler cannot be registered the future never resolves, so
/// the server keeps running rather than stopping at once.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
