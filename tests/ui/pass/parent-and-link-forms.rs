use std::sync::Arc;

use traced::opentelemetry::Context;
use traced::opentelemetry::trace::{SpanContext, TraceContextExt as _};
use traced::testing::capture;
use traced::traced;

#[traced(parent = cx)]
fn by_reference(cx: &Context) {}

#[traced(parent = Context::current())]
fn by_value() {}

#[traced(parent = shared)]
fn by_arc(shared: Arc<Context>) {}

#[traced(link = cx, link = span_context, link = maybe)]
fn links(cx: &Context, span_context: SpanContext, maybe: Option<SpanContext>) {}

fn main() {
    let ((), trace) = capture(|| {
        let cx = Context::current();
        by_reference(&cx);
        by_value();
        by_arc(Arc::new(cx.clone()));
        let span_context = cx.span().span_context().clone();
        links(&cx, span_context.clone(), Some(span_context));
    });
    assert_eq!(trace.names(), ["by_reference", "by_value", "by_arc", "links"]);
    assert_eq!(trace.span("links").links.len(), 3);
}
