//! When the export thread sends a batch: at a size, or after a delay.

use std::time::Duration;

/// When batches leave.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batching {
    pub(crate) max_batch: usize,
    pub(crate) schedule_delay: Duration,
}
