//! An in-process message queue, standing in for Kafka or RabbitMQ: messages
//! carry string attributes, which is where the trace context travels.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

/// A message on the queue: attributes and a body.
#[derive(Debug)]
pub(crate) struct Message {
    pub attributes: HashMap<String, String>,
    pub body: String,
    /// Answered when a consumer has taken the message, as a broker acks a publish.
    pub taken: oneshot::Sender<()>,
}

/// The producer side.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    sender: mpsc::Sender<Message>,
}

/// The consumer side.
pub(crate) type Deliveries = mpsc::Receiver<Message>;

pub(crate) fn channel() -> (Queue, Deliveries) {
    let (sender, receiver) = mpsc::channel(64);
    (Queue { sender }, receiver)
}

impl Queue {
    /// Publishes and waits until a consumer has the message.
    pub(crate) async fn publish(
        &self,
        attributes: HashMap<String, String>,
        body: String,
    ) -> anyhow::Result<()> {
        let (taken, acked) = oneshot::channel();
        self.sender
            .send(Message {
                attributes,
                body,
                taken,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the queue is closed"))?;
        acked
            .await
            .map_err(|_| anyhow::anyhow!("no consumer took the message"))
    }
}
