//! Finished spans between the threads that end them and the export thread.
//!
//! Each thread that ends a span gets a lane: a single-producer ring of
//! records it alone writes and the export thread alone reads, plus a ring the
//! other way that brings its [`SpanDetails`] boxes back for reuse, so nothing a
//! thread allocates per span is freed on another. A full ring spills into a
//! shared overflow list, which is bounded by memory: past the budget, spans
//! are dropped and counted. Lanes of threads that have exited are drained,
//! then removed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use super::budget::MemoryBudget;
use super::record::Record;
use super::span_details::SpanDetails;
use crate::sync::MutexExt;

/// Records a lane holds before it spills into the overflow.
const LANE_CAPACITY: usize = 1024;
/// Extras on their way back to one thread: as many as its lane holds
/// records, so that a lane's worth of spans with extras all come back.
const RETURN_CAPACITY: usize = LANE_CAPACITY;
/// Extras a thread keeps for reuse.
const POOL_CAPACITY: usize = 64;
/// Pushes between two looks at how full the lane is.
const PUSHES_PER_CHECK: u32 = 64;

/// Tells the queues of successive pipelines apart in each thread's lane.
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

/// The queue of one installed pipeline.
#[derive(Debug)]
pub(crate) struct Queue {
    /// Unique in the process: a thread's lane belongs to one queue.
    id: u64,
    lanes: Mutex<Vec<Lane>>,
    overflow: Mutex<Overflow>,
    /// What the overflow may hold, shared with the pipeline's other queues.
    budget: Arc<MemoryBudget>,
    /// Records the overflow may hold, when a count was asked for.
    max_records: Option<usize>,
    /// Spans dropped because the overflow was over budget.
    dropped: AtomicU64,
    /// Records the export thread has taken, in all.
    taken: AtomicU64,
    drop_reported: AtomicBool,
    /// The export thread, woken when a lane fills up.
    exporter: OnceLock<Thread>,
}

#[derive(Debug)]
struct Lane {
    records: rtrb::Consumer<Record>,
    returns: rtrb::Producer<Box<SpanDetails>>,
}

/// Records that found their lane full, oldest first.
#[derive(Debug, Default)]
struct Overflow {
    records: VecDeque<Record>,
}

/// This thread's end of its lane.
struct LocalLane {
    queue_id: u64,
    records: rtrb::Producer<Record>,
    returns: rtrb::Consumer<Box<SpanDetails>>,
    // The boxes themselves are what is reused: a span holds its extra by box.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<SpanDetails>>,
    pushes: u32,
}

thread_local! {
    static LANE: RefCell<Option<LocalLane>> = const { RefCell::new(None) };
}

impl Queue {
    pub(crate) fn new(budget: &Arc<MemoryBudget>, max_records: Option<usize>) -> Self {
        Queue {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            max_records,
            lanes: Mutex::new(Vec::new()),
            overflow: Mutex::new(Overflow::default()),
            budget: Arc::clone(budget),
            dropped: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            drop_reported: AtomicBool::new(false),
            exporter: OnceLock::new(),
        }
    }

    pub(crate) fn set_exporter(&self, thread: Thread) {
        let _ = self.exporter.set(thread);
    }

    fn wake_exporter(&self) {
        if let Some(thread) = self.exporter.get() {
            thread.unpark();
        }
    }

    /// Hands a finished span to the export thread.
    #[inline]
    pub(crate) fn push(&self, record: Record) {
        let mut record = Some(record);
        let _ = LANE.try_with(|lane| {
            let Ok(mut lane) = lane.try_borrow_mut() else {
                return;
            };
            let lane = self.local_lane(&mut lane);
            let Some(pushed) = record.take() else { return };
            match lane.records.push(pushed) {
                Ok(()) => {
                    lane.pushes += 1;
                    if lane.pushes >= PUSHES_PER_CHECK {
                        lane.pushes = 0;
                        if lane.records.slots() < LANE_CAPACITY / 2 {
                            self.wake_exporter();
                        }
                    }
                }
                Err(rtrb::PushError::Full(full)) => record = Some(full),
            }
        });
        if let Some(record) = record {
            self.spill(record);
        }
    }

    /// This thread's lane of this queue, registered on first use.
    fn local_lane<'a>(&self, slot: &'a mut Option<LocalLane>) -> &'a mut LocalLane {
        if slot.as_ref().is_none_or(|lane| lane.queue_id != self.id) {
            let (records, consumer) = rtrb::RingBuffer::new(LANE_CAPACITY);
            let (producer, returns) = rtrb::RingBuffer::new(RETURN_CAPACITY);
            self.lock_lanes().push(Lane {
                records: consumer,
                returns: producer,
            });
            // An old lane's pool is still good; its rings go.
            let pool = slot.take().map(|old| old.pool).unwrap_or_default();
            *slot = Some(LocalLane {
                queue_id: self.id,
                records,
                returns,
                pool,
                pushes: 0,
            });
        }
        match slot {
            Some(lane) => lane,
            None => unreachable!("the lane was just made"),
        }
    }

    /// A full lane, or a thread whose thread-locals are gone: the span goes
    /// to the shared overflow, or is dropped and counted past the budget.
    #[cold]
    fn spill(&self, record: Record) {
        let bytes = record.footprint();
        let mut overflow = self.overflow.locked();
        let full = self
            .max_records
            .is_some_and(|max| overflow.records.len() >= max);
        if full || !self.budget.try_take(bytes) {
            drop(overflow);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.drop_reported.swap(true, Ordering::Relaxed) {
                let bound = match self.max_records {
                    Some(max) if full => format!("{max} spans"),
                    _ => format!("{} MiB", self.budget.limit() / (1024 * 1024)),
                };
                eprintln!(
                    "traced: dropping finished spans: more than {bound} are waiting for export \
                     (the exporter is slower than the program or unreachable); drops are counted \
                     and reported at shutdown"
                );
            }
            drop(record);
        } else {
            overflow.records.push_back(record);
            drop(overflow);
        }
        self.wake_exporter();
    }

    /// An empty extra for a span starting on this thread: reused when one is
    /// at hand.
    pub(crate) fn take_extra(&self) -> Box<SpanDetails> {
        LANE.try_with(|lane| {
            let mut lane = lane.try_borrow_mut().ok()?;
            let lane = self.local_lane(&mut lane);
            if let Some(extra) = lane.pool.pop() {
                return Some(extra);
            }
            let mut extra = lane.returns.pop().ok()?;
            // Everything it held is dropped here, on the thread that made
            // it, or on the thread that ended its span.
            extra.clear();
            while lane.pool.len() < POOL_CAPACITY {
                match lane.returns.pop() {
                    Ok(mut more) => {
                        more.clear();
                        lane.pool.push(more);
                    }
                    Err(_) => break,
                }
            }
            Some(extra)
        })
        .ok()
        .flatten()
        .unwrap_or_default()
    }

    fn lock_lanes(&self) -> MutexGuard<'_, Vec<Lane>> {
        self.lanes.locked()
    }

    /// Takes up to `limit` pending records, oldest lanes first, handing each
    /// to `each` with a way to send its extra back to the thread that
    /// pushed it. Returns how many were taken.
    pub(crate) fn drain(
        &self,
        limit: usize,
        mut each: impl FnMut(Record, &mut dyn FnMut(Box<SpanDetails>)),
    ) -> usize {
        let mut taken = 0;
        {
            let mut lanes = self.lock_lanes();
            for lane in lanes.iter_mut() {
                while taken < limit {
                    let Ok(record) = lane.records.pop() else {
                        break;
                    };
                    taken += 1;
                    self.taken.fetch_add(1, Ordering::Relaxed);
                    let returns = &mut lane.returns;
                    each(record, &mut |extra| {
                        // A thread that left, or one whose ring back is
                        // full: the box is freed here.
                        let _ = returns.push(extra);
                    });
                }
            }
            lanes.retain(|lane| !(lane.records.is_abandoned() && lane.records.is_empty()));
        }
        if taken < limit {
            let spilled: Vec<Record> = {
                let mut overflow = self.overflow.locked();
                let count = (limit - taken).min(overflow.records.len());
                let spilled: Vec<Record> = overflow.records.drain(..count).collect();
                self.budget
                    .give_back(spilled.iter().map(Record::footprint).sum::<usize>());
                self.taken.fetch_add(count as u64, Ordering::Relaxed);
                spilled
            };
            for record in spilled {
                taken += 1;
                each(record, &mut drop);
            }
        }
        taken
    }

    /// Spans ended so far: taken by the export thread, waiting, or dropped.
    /// Counted under the locks the export thread takes them under, so a span
    /// is never counted twice or missed while it moves.
    pub(crate) fn ended(&self) -> u64 {
        let lanes = self.lock_lanes();
        let overflow = self.overflow.locked();
        let waiting: usize =
            lanes.iter().map(|lane| lane.records.slots()).sum::<usize>() + overflow.records.len();
        self.taken.load(Ordering::Relaxed) + waiting as u64 + self.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting in lanes and the overflow.
    pub(crate) fn pending(&self) -> usize {
        let in_lanes: usize = self
            .lock_lanes()
            .iter()
            .map(|lane| lane.records.slots())
            .sum();
        in_lanes + self.overflow.locked().records.len()
    }
}
