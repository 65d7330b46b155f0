//! Spans for any message queue: a PRODUCER span that writes its context into
//! the message, a CONSUMER span that reads it back.
//!
//! ```
//! use traced::messaging::Message;
//! use traced::propagation::Trust;
//!
//! // Producer: span "orders send", its context written into the headers.
//! let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
//! {
//!     let _send = Message::new("kafka", "orders").id("42").send(&mut headers);
//!     // ... hand the message to the client
//! }
//!
//! // Consumer: span "orders process", a child of "orders send"...
//! let process = Message::new("kafka", "orders").id("42").process(&headers, Trust::Continue);
//! process.in_scope(|| { /* handle the message */ });
//!
//! // ... or the root of a new trace that links to "orders send".
//! let process = Message::new("kafka", "orders").process(&headers, Trust::NewRootWithLink);
//! drop(process);
//! ```
//!
//! Every span carries the messaging semantic-convention attributes
//! `messaging.system`, `messaging.destination.name`,
//! `messaging.operation.type` (`send` or `process`),
//! `messaging.operation.name` and, when given, `messaging.message.id`.
//!
//! `#[traced]` can make the consumer span too, with the context extracted
//! from the message as `parent` or as a `link`:
//!
//! ```
//! # let headers: Vec<(String, Vec<u8>)> = Vec::new();
//! #[traced::traced(
//!     name = "orders process",
//!     kind = consumer,
//!     root,
//!     link = traced::propagation::extract(headers),
//!     attrs(messaging.system = "kafka", messaging.destination.name = "orders",
//!           messaging.operation.type = "process"),
//! )]
//! fn handle(headers: &Vec<(String, Vec<u8>)>) {}
//! handle(&headers);
//! ```

use std::borrow::Cow;
use std::future::Future;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Link, SpanBuilder, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::dispatch;
use crate::propagation::{self, Carrier, Trust};

/// A message about to be sent or processed: where it goes and how it is
/// named. [`send`](Message::send) and [`process`](Message::process) start
/// its span.
#[derive(Debug, Clone)]
pub struct Message {
    system: Cow<'static, str>,
    destination: Cow<'static, str>,
    id: Option<String>,
    attributes: Vec<KeyValue>,
}

impl Message {
    /// A message of `system` (`kafka`, `rabbitmq`, `aws_sqs`, ...; the
    /// `messaging.system` value) for the queue or topic `destination`.
    pub fn new(
        system: impl Into<Cow<'static, str>>,
        destination: impl Into<Cow<'static, str>>,
    ) -> Message {
        Message {
            system: system.into(),
            destination: destination.into(),
            id: None,
            attributes: Vec::new(),
        }
    }

    /// The message id (`messaging.message.id`).
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Message {
        self.id = Some(id.into());
        self
    }

    /// One more attribute for the span (`messaging.kafka.message.key`, ...).
    #[must_use]
    pub fn attribute(mut self, attribute: KeyValue) -> Message {
        self.attributes.push(attribute);
        self
    }

    /// Starts the PRODUCER span `"{destination} send"` as a child of the
    /// current context and writes its context into `carrier` (the message's
    /// headers or attributes). The span ends when the returned value drops:
    /// keep it until the message is handed over. Under
    /// [`traced::suppress`](crate::suppress) no span is made and the
    /// current trace is written as not sampled.
    pub fn send<C: Carrier + ?Sized>(self, carrier: &mut C) -> MessageSpan {
        let span = self.start("send", SpanKind::Producer, &Context::current(), Vec::new());
        propagation::inject_context(&span.cx, carrier);
        span
    }

    /// Starts the CONSUMER span `"{destination} process"` for a message
    /// whose headers are `carrier`. With [`Trust::Continue`] the span is a
    /// child of the producer's span (one trace from producer to consumer);
    /// otherwise it is the root of a new trace with a link to the producer's
    /// span, and the message's baggage is kept only with
    /// [`Trust::NewRootWithLinkKeepBaggage`]. Under
    /// [`traced::suppress`](crate::suppress) no span is made.
    pub fn process<C: Carrier + ?Sized>(self, carrier: &C, trust: Trust) -> MessageSpan {
        let mut parent = propagation::extract_with(carrier, trust);
        if Context::is_current_telemetry_suppressed() {
            parent = parent.with_telemetry_suppressed();
        }
        let links = propagation::incoming_link(&parent)
            .map(|incoming| vec![Link::with_context(incoming)])
            .unwrap_or_default();
        self.start("process", SpanKind::Consumer, &parent, links)
    }

    fn start(
        self,
        operation: &'static str,
        kind: SpanKind,
        parent: &Context,
        links: Vec<Link>,
    ) -> MessageSpan {
        if parent.is_telemetry_suppressed() {
            // No span; the parent stays current so that what is injected
            // beneath names its trace, marked not sampled.
            return MessageSpan {
                cx: parent.clone(),
                owned: false,
            };
        }
        let mut attributes = Vec::with_capacity(5 + self.attributes.len());
        attributes.push(KeyValue::new("messaging.system", self.system));
        attributes.push(KeyValue::new(
            "messaging.destination.name",
            self.destination.clone(),
        ));
        attributes.push(KeyValue::new("messaging.operation.type", operation));
        attributes.push(KeyValue::new("messaging.operation.name", operation));
        if let Some(id) = self.id {
            attributes.push(KeyValue::new("messaging.message.id", id));
        }
        attributes.extend(self.attributes);
        let mut builder = SpanBuilder::from_name(format!("{} {operation}", self.destination))
            .with_kind(kind)
            .with_attributes(attributes);
        if !links.is_empty() {
            builder = builder.with_links(links);
        }
        MessageSpan {
            cx: dispatch::start_built_span(builder, parent),
            owned: true,
        }
    }
}

/// The span of one message sent or processed; ends when dropped.
#[derive(Debug)]
pub struct MessageSpan {
    cx: Context,
    /// Whether the span in `cx` is this one's to end.
    owned: bool,
}

impl MessageSpan {
    /// The context holding this span: the parent for work done for the
    /// message.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Runs `f` with this span current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _attached = self.cx.clone().attach();
        f()
    }

    /// Runs `future` with this span current during every poll, and ends the
    /// span when it completes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let headers: Vec<(String, Vec<u8>)> = Vec::new();
    /// use traced::messaging::Message;
    /// use traced::propagation::Trust;
    ///
    /// let span = Message::new("kafka", "orders").process(&headers, Trust::Continue);
    /// span.run(async { /* handle the message */ }).await;
    /// # }
    /// ```
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        future.with_context(self.cx.clone()).await
    }
}

impl Drop for MessageSpan {
    fn drop(&mut self) {
        if self.owned {
            self.cx.span().end();
        }
    }
}
