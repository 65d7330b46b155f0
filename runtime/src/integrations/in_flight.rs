//! A request between the call of a service and its answer: the service's
//! future runs with the request's span current, a panic is recorded on the
//! span as it unwinds, and a request abandoned before its answer ends its
//! span as `cancelled`.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;

/// One request awaiting its answer, with the span it will end.
pub(crate) trait Call: Sized {
    /// The context the service runs in: the request's span.
    fn context(&self) -> &Context;

    /// A panic unwound out of the service: recorded, and the span ends.
    fn panicked(self, payload: &(dyn Any + Send)) {
        end_panicked(self.context(), payload);
    }

    /// The request was abandoned before its answer (the caller gave up, the
    /// client went away).
    fn abandoned(self) {
        end_cancelled(self.context());
    }
}

/// Ends the span of `cx` with the panic `payload` recorded.
pub(crate) fn end_panicked(cx: &Context, payload: &(dyn Any + Send)) {
    let span = cx.span();
    crate::span_error::record_panic(&span, Some(payload));
    span.end();
}

/// Ends the span of `cx` as cancelled: an event `cancelled`, and
/// `error.type = "cancelled"`, since the request did not complete (status
/// stays unset: nothing failed).
pub(crate) fn end_cancelled(cx: &Context) {
    let span = cx.span();
    span.add_event("cancelled", Vec::new());
    span.set_attribute(KeyValue::new("error.type", "cancelled"));
    span.end();
}

/// What a call records when the service answers `R`, and what the caller
/// gets back.
pub(crate) trait Answer<R>: Call {
    type Output;

    fn answered(self, answer: R) -> Self::Output;
}

pin_project! {
    /// The future of a service's answer to one request, run with the
    /// request's span current.
    #[derive(Debug)]
    pub(crate) struct InFlight<F, C: Call> {
        #[pin]
        inner: F,
        call: Option<C>,
    }

    impl<F, C: Call> PinnedDrop for InFlight<F, C> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.abandoned();
            }
        }
    }
}

impl<F, C: Call> InFlight<F, C> {
    /// Calls the service (`service_call`) with the request's span current.
    pub(crate) fn call(call: C, service_call: impl FnOnce() -> F) -> Self {
        let inner = {
            let _attached = call.context().clone().attach();
            match catch_unwind(AssertUnwindSafe(service_call)) {
                Ok(inner) => inner,
                Err(payload) => {
                    call.panicked(&*payload);
                    resume_unwind(payload)
                }
            }
        };
        InFlight {
            inner,
            call: Some(call),
        }
    }
}

impl<F, C> Future for InFlight<F, C>
where
    F: Future,
    C: Answer<F::Output>,
{
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(call) = this.call.take() else {
            panic!("a traced response future polled after completion");
        };
        let polled = {
            let _attached = call.context().clone().attach();
            catch_unwind(AssertUnwindSafe(|| this.inner.poll(task)))
        };
        match polled {
            Ok(Poll::Pending) => {
                *this.call = Some(call);
                Poll::Pending
            }
            Ok(Poll::Ready(answer)) => Poll::Ready(call.answered(answer)),
            Err(payload) => {
                call.panicked(&*payload);
                resume_unwind(payload)
            }
        }
    }
}
