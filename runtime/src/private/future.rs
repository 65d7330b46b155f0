use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use super::span::Span;

pin_project! {
    /// The future of a traced async call: its span is current during every
    /// poll, ends when the future completes, and gets a `cancelled` event when
    /// the future is dropped before that.
    #[derive(Debug)]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        span: Option<Span>,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(span) = this.project().span.take() {
                span.record_cancelled();
            }
        }
    }
}

impl<F: Future> Instrumented<F> {
    #[inline]
    pub fn new(span: Span, inner: F) -> Self {
        Instrumented {
            inner,
            span: Some(span),
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(span) = this.span.as_ref() else {
            panic!("`Instrumented` polled after completion");
        };
        let attached = span.context().map(|otel_cx| otel_cx.clone().attach());
        let inner = this.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                drop(attached);
                // Dropping the span ends it.
                this.span.take();
                Poll::Ready(output)
            }
            Err(payload) => {
                span.record_panic(&*payload);
                drop(attached);
                this.span.take();
                resume_unwind(payload)
            }
        }
    }
}
