//! Carrying the current context into tasks and threads.

use opentelemetry::Context;

/// Spawns `future` on the current tokio runtime with the current context
/// attached during every poll. The task's spans are children of the span
/// current here.
///
/// The current context lives in a thread-local. A task or thread started
/// without it begins with an empty context, so its spans start new traces:
/// the classic broken trace.
///
/// ```
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() {
/// #[traced::traced]
/// async fn audit() {}
///
/// #[traced::traced]
/// async fn handle() {
///     // Broken: the closure's `audit()` runs on another task, with no
///     // current span when it is called, so it starts a trace of its own.
///     tokio::spawn(async { audit().await });
///     // Right: the task starts under the current context.
///     traced::spawn(async { audit().await }).await.unwrap();
///     // Also right: any future, carried with `FutureExt`.
///     use traced::FutureExt as _;
///     tokio::spawn(async { audit().await }.with_current_context()).await.unwrap();
/// }
/// handle().await;
/// # }
/// ```
///
/// A `#[traced] async fn` starts its span when it is called, not when it is
/// first polled: `tokio::spawn(audit())` (the call written outside the task)
/// keeps the right parent without any help. It is code that runs inside the
/// new task before the first traced call — a closure's body, an `async`
/// block, another library's instrumentation — that needs [`spawn`] or
/// [`FutureExt::with_current_context`](crate::FutureExt::with_current_context).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = traced::spawn(async { 1 + 1 });
/// assert_eq!(handle.await.unwrap(), 2);
/// # }
/// ```
///
/// # Panics
///
/// Like `tokio::spawn`, when called outside a tokio runtime.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    use opentelemetry::context::FutureExt as _;
    tokio::spawn(future.with_current_context())
}

/// Runs `f` on tokio's blocking pool with the current context attached.
///
/// # Panics
///
/// Like `tokio::task::spawn_blocking`, when called outside a tokio runtime.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(bind(f))
}

/// Spawns an OS thread that runs `f` with the current context attached.
///
/// ```
/// #[traced::traced]
/// fn work() -> u32 { 42 }
///
/// let handle = traced::spawn_thread(work);
/// assert_eq!(handle.join().unwrap(), 42);
/// ```
///
/// # Panics
///
/// Like `std::thread::spawn`, when the OS fails to create a thread.
pub fn spawn_thread<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(bind(f))
}

/// Wraps `f` so that it runs under the context current now, wherever it is
/// called: for thread pools and executors that take closures.
///
/// ```
/// let job = traced::bind(|| traced::current::span_context().is_valid());
/// std::thread::spawn(job).join().unwrap();
/// ```
pub fn bind<F, T>(f: F) -> impl FnOnce() -> T + Send + 'static
where
    F: FnOnce() -> T + Send + 'static,
{
    let cx = Context::current();
    move || {
        let _attached = cx.attach();
        f()
    }
}
