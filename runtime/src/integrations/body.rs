//! The response body of a traced request, which keeps the request's span
//! open until its last frame.

use std::fmt::{self, Display};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::exchange::Exchange;
use super::in_flight::Call;

pin_project! {
    /// A response body that keeps its request's span open until the last
    /// frame: streamed responses are timed to their end, gRPC statuses are
    /// read from the trailers, and code producing the body runs with the span
    /// current. Dropping the body early ends the span too.
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        end: Option<Exchange>,
        // The body has said it is at its end, or that nothing of it is left:
        // a server stops polling there and drops it.
        at_end: bool,
    }

    impl<B> PinnedDrop for TracedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(end) = this.end.take() {
                end.body_dropped(*this.at_end);
            }
        }
    }
}

impl<B: Body> TracedBody<B> {
    pub(crate) fn new(inner: B, end: Exchange) -> Self {
        TracedBody {
            at_end: at_end(&inner),
            inner,
            end: Some(end),
        }
    }
}

/// Whether `body` has nothing more to send: it says so, or says that none
/// of its known length is left.
fn at_end<B: Body>(body: &B) -> bool {
    body.is_end_stream() || body.size_hint().exact() == Some(0)
}

impl<B> TracedBody<B> {
    /// The wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B: fmt::Debug> fmt::Debug for TracedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedBody")
            .field("inner", &self.inner)
            .field("open", &self.end.is_some())
            .finish()
    }
}

impl<B> Body for TracedBody<B>
where
    B: Body,
    B::Error: Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let _attached = this.end.as_ref().map(|end| end.context().clone().attach());
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                *this.at_end = at_end(&*this.inner);
                if let (Some(trailers), Some(end)) = (frame.trailers_ref(), this.end.as_mut()) {
                    end.trailers(trailers);
                }
            }
            Some(Err(error)) => {
                if let Some(end) = this.end.take() {
                    end.body_failed(error.to_string());
                }
            }
            None => {
                if let Some(end) = this.end.take() {
                    end.finished();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
