use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use super::recorder::Recorder;
use super::span::Span;

pin_project! {
    /// The future of a traced async call: its span (or without one, the
    /// context of the call) is current during every poll; when `inner`
    /// completes, `record` sees its output while the span is still current,
    /// then the span ends. Dropped before that, the span gets a `cancelled`
    /// event. Either way `inner` is dropped while the span is current, before
    /// it ends, so what its drop does belongs to the span. `Unpin` when
    /// `inner` is.
    #[derive(Debug)]
    pub struct Instrumented<F, R> {
        #[pin]
        inner: Option<F>,
        span: Option<Span>,
        record: Option<R>,
    }

    impl<F, R> PinnedDrop for Instrumented<F, R> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if let Some(span) = this.span.take() {
                span.record_cancelled();
                let _attached = span.context().map(|cx| cx.clone().attach());
                this.inner.set(None);
            }
        }
    }
}

impl<F, R> Instrumented<F, R>
where
    F: Future,
    R: FnOnce(&F::Output, &Recorder<'_>),
{
    #[inline]
    pub fn new(span: Span, inner: F, record: R) -> Self {
        Instrumented {
            inner: Some(inner),
            span: Some(span.or_current_context()),
            record: Some(record),
        }
    }
}

impl<F, R> Future for Instrumented<F, R>
where
    F: Future,
    R: FnOnce(&F::Output, &Recorder<'_>),
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(span) = this.span.as_ref() else {
            panic!("`Instrumented` polled after completion");
        };
        let attached = span.context().map(|otel_cx| otel_cx.clone().attach());
        let (mut inner, record) = (this.inner, this.record);
        let polled = catch_unwind(AssertUnwindSafe(|| {
            let Some(running) = inner.as_mut().as_pin_mut() else {
                panic!("`Instrumented` polled after completion");
            };
            let poll = running.poll(cx);
            if let Poll::Ready(output) = &poll {
                if let Some(record) = record.take() {
                    record(output, &span.recorder());
                }
                inner.set(None);
            }
            poll
        }));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                drop(attached);
                // Dropping the span ends it.
                this.span.take();
                Poll::Ready(output)
            }
            Err(payload) => {
                span.record_panic(Some(&*payload));
                drop(attached);
                this.span.take();
                resume_unwind(payload)
            }
        }
    }
}
