use traced::opentelemetry::Context;
use traced::opentelemetry::trace::TraceContextExt as _;
use traced::traced;

#[traced(root, parent = cx)]
fn handle(cx: &Context) -> bool {
    cx.has_active_span()
}

fn main() {}
