//! The response future of the services whose response body is traced (the
//! HTTP server layer and both gRPC layers): the service runs with the
//! request's span current, and the response body carries the span on.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::Body;
use pin_project_lite::pin_project;

use super::body::TracedBody;
use super::exchange::Exchange;
use super::in_flight::{Answer, InFlight};

pin_project! {
    /// The response future of the HTTP server layer's and the gRPC layers'
    /// services: runs the service with the request's span current; the
    /// response comes with a [`TracedBody`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: InFlight<F, Exchange>,
    }
}

impl<F> ResponseFuture<F> {
    /// Calls the service (`call`) for `exchange`.
    pub(crate) fn new(exchange: Exchange, call: impl FnOnce() -> F) -> Self {
        ResponseFuture {
            inner: InFlight::call(exchange, call),
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Body,
    E: Display,
{
    type Output = Result<http::Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(task)
    }
}

impl<ResBody: Body, E: Display> Answer<Result<http::Response<ResBody>, E>> for Exchange {
    type Output = Result<http::Response<TracedBody<ResBody>>, E>;

    fn answered(mut self, answer: Result<http::Response<ResBody>, E>) -> Self::Output {
        match answer {
            Ok(response) => {
                self.head(&response);
                Ok(response.map(|body| TracedBody::new(body, self)))
            }
            Err(error) => {
                self.service_failed(&error);
                Err(error)
            }
        }
    }
}
