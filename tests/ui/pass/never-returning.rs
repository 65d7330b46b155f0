use std::panic::catch_unwind;

use traced::testing::capture;
use traced::traced;

#[traced(attrs(reason = message))]
fn fatal(message: &str) -> ! {
    panic!("fatal: {message}")
}

fn main() {
    // The panic is the point; keep the test output quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let (outcome, trace) = capture(|| catch_unwind(|| fatal("disk full")));
    assert!(outcome.is_err());
    let span = trace.span("fatal");
    assert!(matches!(span.status, traced::opentelemetry::trace::Status::Error { .. }));
}
