//! Finished spans between the threads that end them and the export thread.
//!
//! Each thread that ends a span gets a lane: a single-producer ring of
//! records it alone writes and the export thread alone reads, plus a ring the
//! other way that brings its [`SpanDetails`] boxes back for reuse, so nothing a
//! thread allocates per span is freed on another. A full ring spills into a
//! shared overflow list, which is bounded by memory: past the budget, spans
//! are dropped and counted. The export thread takes from the lanes and the
//! overflow in turn. Lanes of threads that have exited are drained, then
//! removed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

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
    lanes: Mutex<Lanes>,
    overflow: Mutex<Overflow>,
    /// Bytes the overflow may hold.
    budget: usize,
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

/// The lanes, and where the next drain begins.
#[derive(Debug, Default)]
struct Lanes {
    list: Vec<Lane>,
    /// A lane's index, or `list.len()` for the overflow.
    next: usize,
    /// Records on their way from the overflow to the export thread.
    spilled: Vec<Record>,
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
    bytes: usize,
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
    pub(crate) fn new(budget: usize, max_records: Option<usize>) -> Self {
        Queue {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            max_records,
            lanes: Mutex::new(Lanes::default()),
            overflow: Mutex::new(Overflow::default()),
            budget,
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
            self.lock_lanes().list.push(Lane {
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
        if full || overflow.bytes + bytes > self.budget {
            drop(overflow);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.drop_reported.swap(true, Ordering::Relaxed) {
                let bound = match self.max_records {
                    Some(max) if full => format!("{max} spans"),
                    _ => format!("{} MiB", self.budget / (1024 * 1024)),
                };
                eprintln!(
                    "traced: dropping finished spans: more than {bound} are waiting for export \
                     (the exporter is slower than the program or unreachable); drops are counted \
                     and reported at shutdown"
                );
            }
            drop(record);
        } else {
            overflow.bytes += bytes;
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

    fn lock_lanes(&self) -> MutexGuard<'_, Lanes> {
        self.lanes.locked()
    }

    /// Takes up to `limit` pending records, handing each to `each` with a
    /// way to send its extra back to the thread that pushed it. The lanes
    /// and the overflow take turns, each up to an even share of `limit` a
    /// round, starting one further than the drain before: under saturation
    /// every thread's spans get through, not those of whichever lane comes
    /// first. Returns how many were taken.
    pub(crate) fn drain(
        &self,
        limit: usize,
        mut each: impl FnMut(Record, &mut dyn FnMut(Box<SpanDetails>)),
    ) -> usize {
        let mut lanes = self.lock_lanes();
        let Lanes {
            list,
            next,
            spilled,
        } = &mut *lanes;
        // The overflow's turn comes after the last lane's.
        let turns = list.len() + 1;
        let start = *next % turns;
        let share = limit.div_ceil(turns).max(1);
        let mut taken = 0;
        'rounds: loop {
            let mut this_round = 0;
            for step in 0..turns {
                let room = share.min(limit - taken);
                if room == 0 {
                    break 'rounds;
                }
                let got = match list.get_mut((start + step) % turns) {
                    Some(lane) => self.take_from_lane(lane, room, &mut each),
                    None => self.take_from_overflow(spilled, room, &mut each),
                };
                this_round += got;
                taken += got;
            }
            if this_round == 0 {
                break;
            }
        }
        *next = (start + 1) % turns;
        list.retain(|lane| !(lane.records.is_abandoned() && lane.records.is_empty()));
        taken
    }

    fn take_from_lane(
        &self,
        lane: &mut Lane,
        limit: usize,
        each: &mut impl FnMut(Record, &mut dyn FnMut(Box<SpanDetails>)),
    ) -> usize {
        let mut taken = 0;
        while taken < limit {
            let Ok(record) = lane.records.pop() else {
                break;
            };
            taken += 1;
            self.taken.fetch_add(1, Ordering::Relaxed);
            let returns = &mut lane.returns;
            each(record, &mut |extra| {
                // A thread that left, or one whose ring back is full: the
                // box is freed here.
                let _ = returns.push(extra);
            });
        }
        taken
    }

    /// Takes up to `limit` records from the overflow, through `spilled` so
    /// that the overflow is not locked while they are handed on.
    fn take_from_overflow(
        &self,
        spilled: &mut Vec<Record>,
        limit: usize,
        each: &mut impl FnMut(Record, &mut dyn FnMut(Box<SpanDetails>)),
    ) -> usize {
        {
            let mut overflow = self.overflow.locked();
            let count = limit.min(overflow.records.len());
            spilled.extend(overflow.records.drain(..count));
            overflow.bytes -= spilled.iter().map(Record::footprint).sum::<usize>();
            self.taken.fetch_add(count as u64, Ordering::Relaxed);
        }
        let taken = spilled.len();
        for record in spilled.drain(..) {
            each(record, &mut drop);
        }
        taken
    }

    /// Spans ended so far: taken by the export thread, waiting, or dropped.
    /// Counted under the locks the export thread takes them under, so a span
    /// is never counted twice or missed while it moves.
    pub(crate) fn ended(&self) -> u64 {
        let lanes = self.lock_lanes();
        let overflow = self.overflow.locked();
        let waiting: usize = lanes
            .list
            .iter()
            .map(|lane| lane.records.slots())
            .sum::<usize>()
            + overflow.records.len();
        self.taken.load(Ordering::Relaxed) + waiting as u64 + self.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting in lanes and the overflow.
    pub(crate) fn pending(&self) -> usize {
        let in_lanes: usize = self
            .lock_lanes()
            .list
            .iter()
            .map(|lane| lane.records.slots())
            .sum();
        in_lanes + self.overflow.locked().records.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;
    use crate::pipeline::clock;

    fn record(n: u64) -> Record {
        let now = clock::now();
        Record {
            trace_id: TraceId::from(u128::from(n)),
            span_id: SpanId::from(n),
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            flags: TraceFlags::SAMPLED,
            start: now,
            end: now,
            site: None,
            trace_state: TraceState::NONE,
            extra: None,
        }
    }

    /// Pushes spans `from..to` from a thread of its own, which stays alive
    /// (its lane with it) until the returned sender is dropped.
    fn pushed_by_another_thread(
        queue: &'static Queue,
        spans: std::ops::Range<u64>,
    ) -> std::sync::mpsc::Sender<()> {
        let (done, pushed) = std::sync::mpsc::channel();
        let (leave, stay) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            for n in spans {
                queue.push(record(n));
            }
            done.send(()).unwrap();
            let _ = stay.recv();
        });
        pushed.recv().unwrap();
        leave
    }

    fn drained(queue: &Queue, limit: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        queue.drain(limit, |record, _| {
            ids.push(u64::from_be_bytes(record.span_id.to_bytes()));
        });
        ids
    }

    /// Under saturation every thread's spans get their turn: a drain takes
    /// from each lane and from the overflow, and the next drain starts where
    /// this one left off.
    #[test]
    fn repro_drain_takes_from_every_lane_and_the_overflow_in_turn() {
        let queue: &'static Queue = Box::leak(Box::new(Queue::new(1 << 30, None)));
        // A hot thread whose lane is full and has spilled, then a quiet one.
        let hot = pushed_by_another_thread(queue, 0..5_000);
        let quiet = pushed_by_another_thread(queue, 100_000..100_010);
        let spilled: BTreeSet<u64> = queue
            .overflow
            .locked()
            .records
            .iter()
            .map(|record| u64::from_be_bytes(record.span_id.to_bytes()))
            .collect();
        assert!(!spilled.is_empty());
        let first = drained(queue, 300);
        assert_eq!(first.len(), 300);
        let from = |ids: &[u64], range: std::ops::Range<u64>| {
            ids.iter().filter(|id| range.contains(id)).count()
        };
        assert_eq!(from(&first, 100_000..100_010), 10, "the quiet lane");
        assert!(
            first.iter().any(|id| spilled.contains(id)),
            "the overflow (the hot thread's latest spans) has its turn"
        );
        let mut rest = Vec::new();
        while rest.len() < 5_000 + 10 - 300 {
            let more = drained(queue, 300);
            assert!(!more.is_empty());
            rest.extend(more);
        }
        let all: BTreeSet<u64> = first.iter().chain(&rest).copied().collect();
        assert_eq!(all.len(), 5_010, "each span once");
        drop((hot, quiet));
    }
}
