//! Finished spans between the threads that end them and the export thread.
//!
//! Each thread that ends a span gets a lane: a single-producer ring of
//! records it alone writes and the export thread alone reads, plus a ring the
//! other way that brings its [`SpanDetails`] boxes back for reuse, so nothing a
//! thread allocates per span is freed on another.
//!
//! One budget bounds what waits: the pipeline's [`MemoryBudget`], which the
//! log records' queue and the batches in flight share. A lane starts small ([`FIRST_CAPACITY`]
//! records, about 2 KiB), so that thousands of threads that each ended some
//! spans hold little; a thread that ends spans faster than the export thread
//! takes them doubles its lane, up to [`MAX_CAPACITY`], with the bytes taken
//! from the budget, and halves it again once it stays mostly empty. A full
//! lane that may not grow spills into a shared overflow ring, bounded by the
//! same budget (its room counted whether used or not, and given back as it
//! drains): past it, spans are dropped and counted. The export thread
//! takes from the lanes and the overflow in turn. Lanes of threads that have
//! exited are drained, then removed and their bytes given back; at shutdown
//! [`Queue::close`] frees every lane and the overflow.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use super::budget::MemoryBudget;
use super::record::Record;
use super::span_details::SpanDetails;
use crate::sync::MutexExt;

/// Records a thread's lane holds at first.
const FIRST_CAPACITY: usize = 16;
/// Records a lane holds at most.
const MAX_CAPACITY: usize = 1024;
/// Extras a thread keeps for reuse, at most (and no more than its lane
/// holds records).
const POOL_CAPACITY: usize = 64;
/// Looks in a row at a lane that stayed under an eighth full, after which
/// it is halved.
const QUIET_LOOKS: u32 = 32;

/// Tells the queues of successive pipelines apart in each thread's lane.
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

/// What a lane of `capacity` takes: its records, and its ring back (which
/// holds as many extras, so that a lane's worth of spans with extras all
/// come back).
const fn lane_bytes(capacity: usize) -> usize {
    capacity * (size_of::<Record>() + size_of::<Box<SpanDetails>>())
}

/// Of a lane of `capacity`, what is taken from the budget: what it holds
/// beyond the first size.
const fn budgeted(capacity: usize) -> usize {
    lane_bytes(capacity) - lane_bytes(FIRST_CAPACITY)
}

/// Pushes between two looks at how full a lane of `capacity` is.
fn look_interval(capacity: usize) -> u32 {
    (capacity / 4).clamp(1, 64) as u32
}

/// The queue of one installed pipeline.
#[derive(Debug)]
pub(crate) struct Queue {
    /// Unique in the process: a thread's lane belongs to one queue.
    id: u64,
    lanes: Mutex<Lanes>,
    overflow: Mutex<Overflow>,
    /// What the overflow and the lanes beyond their first size take from,
    /// shared with the pipeline's other queues and the batches in flight.
    budget: Arc<MemoryBudget>,
    /// Records the overflow may hold, when a count was asked for.
    max_records: Option<usize>,
    /// Spans dropped because the overflow was over budget.
    dropped: AtomicU64,
    /// Records the export thread has taken, in all.
    taken: AtomicU64,
    /// Records freed unexported: waiting when the queue closed, or ended
    /// after.
    abandoned: AtomicU64,
    /// Set under the lanes' lock at shutdown: no lane opens any more.
    closed: AtomicBool,
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
    /// The turns of a drain that may have records.
    waiting: Vec<usize>,
}

#[derive(Debug)]
struct Lane {
    records: rtrb::Consumer<Record>,
    returns: rtrb::Producer<Box<SpanDetails>>,
    /// Bytes of it taken from the budget.
    budgeted: usize,
}

/// Records that found their lane full, oldest first.
#[derive(Debug, Default)]
struct Overflow {
    records: VecDeque<Record>,
    /// What the records' extras hold.
    extras: usize,
}

/// Slots the overflow keeps when it empties.
const OVERFLOW_KEPT: usize = 1024;

impl Overflow {
    /// Memory it holds: its ring of records, used or not, and what their
    /// extras hold.
    fn memory(&self) -> usize {
        self.records.capacity() * size_of::<Record>() + self.extras
    }

    /// The same once one more record, whose extra holds `extra`, is in: the
    /// ring doubles when it is full.
    fn memory_with(&self, extra: usize) -> usize {
        let capacity = self.records.capacity();
        let capacity = if self.records.len() == capacity {
            (capacity * 2).max(4)
        } else {
            capacity
        };
        capacity * size_of::<Record>() + self.extras + extra
    }
}

/// This thread's end of its lane.
struct LocalLane {
    queue_id: u64,
    records: rtrb::Producer<Record>,
    returns: rtrb::Consumer<Box<SpanDetails>>,
    // The boxes themselves are what is reused: a span holds its extra by box.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<SpanDetails>>,
    /// Records the ring holds.
    capacity: usize,
    /// Pushes until the next look at how full the ring is.
    until_look: u32,
    /// The fullest the ring was at the looks since it last changed size, or
    /// was last found quiet.
    peak: usize,
    looks: u32,
}

thread_local! {
    static LANE: RefCell<Option<LocalLane>> = const { RefCell::new(None) };
}

impl Queue {
    pub(crate) fn new(budget: &Arc<MemoryBudget>, max_records: Option<usize>) -> Self {
        Queue {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            lanes: Mutex::new(Lanes::default()),
            overflow: Mutex::new(Overflow::default()),
            budget: Arc::clone(budget),
            max_records,
            dropped: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            closed: AtomicBool::new(false),
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
            let Some(lane) = self.local_lane(&mut lane) else {
                return;
            };
            let Some(pushed) = record.take() else { return };
            match lane.records.push(pushed) {
                Ok(()) => {
                    lane.until_look -= 1;
                    if lane.until_look == 0 {
                        self.look(lane);
                    }
                }
                Err(rtrb::PushError::Full(full)) => record = self.push_grown(lane, full),
            }
        });
        if let Some(record) = record {
            self.spill(record);
        }
    }

    /// This thread's lane of this queue, opened on first use; `None` once the
    /// queue is closed.
    fn local_lane<'a>(&self, slot: &'a mut Option<LocalLane>) -> Option<&'a mut LocalLane> {
        if slot.as_ref().is_none_or(|lane| lane.queue_id != self.id) {
            // An old lane's pool is still good; its rings go.
            let pool = slot.take().map(|old| old.pool).unwrap_or_default();
            let (records, returns) = self.open_lane(FIRST_CAPACITY)?;
            *slot = Some(LocalLane {
                queue_id: self.id,
                records,
                returns,
                pool,
                capacity: FIRST_CAPACITY,
                until_look: look_interval(FIRST_CAPACITY),
                peak: 0,
                looks: 0,
            });
        }
        slot.as_mut()
    }

    /// A new lane of `capacity`, registered for the export thread; `None`
    /// when the budget has no room for it, or the queue is closed.
    #[allow(clippy::type_complexity)]
    fn open_lane(
        &self,
        capacity: usize,
    ) -> Option<(rtrb::Producer<Record>, rtrb::Consumer<Box<SpanDetails>>)> {
        let budgeted = budgeted(capacity);
        if !self.reserve(budgeted) {
            return None;
        }
        let (records, consumer) = rtrb::RingBuffer::new(capacity);
        let (producer, returns) = rtrb::RingBuffer::new(capacity);
        let mut lanes = self.lock_lanes();
        if self.closed.load(Ordering::Relaxed) {
            drop(lanes);
            self.release(budgeted);
            return None;
        }
        lanes.list.push(Lane {
            records: consumer,
            returns: producer,
            budgeted,
        });
        Some((records, returns))
    }

    /// Takes `bytes` from the budget, if it has room.
    fn reserve(&self, bytes: usize) -> bool {
        bytes == 0 || self.budget.try_take(bytes)
    }

    fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.budget.give_back(bytes);
        }
    }

    /// Now and then, how full this thread's lane is: half full, it grows
    /// (else the export thread is woken); long mostly empty, it shrinks.
    #[cold]
    #[inline(never)]
    fn look(&self, lane: &mut LocalLane) {
        lane.until_look = look_interval(lane.capacity);
        let filled = lane.capacity - lane.records.slots();
        if filled >= lane.capacity / 2 {
            if !self.resize(lane, lane.capacity * 2) {
                self.wake_exporter();
            }
            return;
        }
        lane.peak = lane.peak.max(filled);
        lane.looks += 1;
        if lane.looks >= QUIET_LOOKS {
            if lane.capacity > FIRST_CAPACITY && lane.peak < lane.capacity / 8 {
                self.resize(lane, lane.capacity / 2);
            }
            lane.peak = 0;
            lane.looks = 0;
        }
    }

    /// A full lane: a larger one takes `record` if it may grow; else the
    /// record comes back, for the overflow.
    #[cold]
    #[inline(never)]
    fn push_grown(&self, lane: &mut LocalLane, record: Record) -> Option<Record> {
        if !self.resize(lane, lane.capacity * 2) {
            return Some(record);
        }
        match lane.records.push(record) {
            Ok(()) => None,
            Err(rtrb::PushError::Full(record)) => Some(record),
        }
    }

    /// Moves this thread to a new lane of `capacity`. The old one stays
    /// with the export thread until it has been drained; the extras on their
    /// way back in it are kept or freed here.
    fn resize(&self, lane: &mut LocalLane, capacity: usize) -> bool {
        if !(FIRST_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
            return false;
        }
        let Some((records, returns)) = self.open_lane(capacity) else {
            return false;
        };
        lane.records = records;
        let mut old_returns = std::mem::replace(&mut lane.returns, returns);
        let keep = POOL_CAPACITY.min(capacity);
        while let Ok(mut extra) = old_returns.pop() {
            if lane.pool.len() < keep {
                extra.clear();
                lane.pool.push(extra);
            }
        }
        lane.pool.truncate(keep);
        lane.capacity = capacity;
        lane.until_look = look_interval(capacity);
        lane.peak = 0;
        lane.looks = 0;
        true
    }

    /// A full lane, or a thread whose thread-locals are gone: the span goes
    /// to the shared overflow, or is dropped and counted past the budget.
    #[cold]
    fn spill(&self, record: Record) {
        if self.closed.load(Ordering::Relaxed) {
            self.abandoned.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let extra = record.footprint() - size_of::<Record>();
        let mut overflow = self.overflow.locked();
        let full = self
            .max_records
            .is_some_and(|max| overflow.records.len() >= max);
        let grows_by = overflow.memory_with(extra) - overflow.memory();
        if full || !self.reserve(grows_by) {
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
            overflow.extras += extra;
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
            let lane = self.local_lane(&mut lane)?;
            if let Some(extra) = lane.pool.pop() {
                return Some(extra);
            }
            let mut extra = lane.returns.pop().ok()?;
            // Everything it held is dropped here, on the thread that made
            // it, or on the thread that ended its span.
            extra.clear();
            while lane.pool.len() < POOL_CAPACITY.min(lane.capacity) {
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
    /// and the overflow that have records take turns, each up to an even
    /// share of `limit` a round, starting where the drain before stopped:
    /// under saturation every thread's spans get through, not those of
    /// whichever lane comes first. Returns how many were taken.
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
            waiting,
        } = &mut *lanes;
        // Those with records, from where the last drain stopped; the
        // overflow's turn comes after the last lane's. Each round shares
        // what is left among those that gave all they were asked for.
        let turns = list.len() + 1;
        let start = *next % turns;
        waiting.clear();
        waiting.extend(
            (0..turns)
                .map(|step| (start + step) % turns)
                .filter(|&index| match list.get(index) {
                    Some(lane) => !lane.records.is_empty(),
                    None => !self.overflow.locked().records.is_empty(),
                }),
        );
        let mut taken = 0;
        let mut stopped = start;
        while taken < limit && !waiting.is_empty() {
            let share = (limit - taken).div_ceil(waiting.len());
            let mut more = 0;
            for at in 0..waiting.len() {
                let index = waiting[at];
                let room = share.min(limit - taken);
                if room == 0 {
                    break;
                }
                let got = match list.get_mut(index) {
                    Some(lane) => self.take_from_lane(lane, room, &mut each),
                    None => self.take_from_overflow(spilled, room, &mut each),
                };
                taken += got;
                stopped = index + 1;
                if got == room {
                    waiting[more] = index;
                    more += 1;
                }
            }
            waiting.truncate(more);
        }
        *next = stopped % turns;
        let mut freed = 0;
        list.retain(|lane| {
            let gone = lane.records.is_abandoned() && lane.records.is_empty();
            if gone {
                freed += lane.budgeted;
            }
            !gone
        });
        drop(lanes);
        self.release(freed);
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
            let before = overflow.memory();
            let count = limit.min(overflow.records.len());
            spilled.extend(overflow.records.drain(..count));
            overflow.extras -= spilled
                .iter()
                .map(|record| record.footprint() - size_of::<Record>())
                .sum::<usize>();
            // A burst's room is given back as it drains.
            let (len, capacity) = (overflow.records.len(), overflow.records.capacity());
            if capacity > OVERFLOW_KEPT && len <= capacity / 4 {
                overflow.records.shrink_to((len * 2).max(OVERFLOW_KEPT));
            }
            self.release(before - overflow.memory());
            self.taken.fetch_add(count as u64, Ordering::Relaxed);
        }
        let taken = spilled.len();
        for record in spilled.drain(..) {
            each(record, &mut drop);
        }
        taken
    }

    /// Frees every lane and the overflow, once the export thread takes no
    /// more: the pipeline is shut down. Records still waiting are counted
    /// as ended and never exported; no lane opens from here on. A thread
    /// frees its end of a lane when it next ends a span of another
    /// pipeline, or exits.
    pub(crate) fn close(&self) {
        let (lanes, spilled) = {
            let mut lanes = self.lock_lanes();
            self.closed.store(true, Ordering::Relaxed);
            lanes.next = 0;
            (
                std::mem::take(&mut lanes.list),
                std::mem::take(&mut lanes.spilled),
            )
        };
        let overflow = std::mem::take(&mut *self.overflow.locked());
        self.release(overflow.memory());
        let waiting = lanes.iter().map(|lane| lane.records.slots()).sum::<usize>()
            + overflow.records.len()
            + spilled.len();
        self.abandoned.fetch_add(waiting as u64, Ordering::Relaxed);
        self.release(lanes.iter().map(|lane| lane.budgeted).sum());
        drop((lanes, spilled, overflow));
    }

    /// Spans ended so far: taken by the export thread, waiting, dropped, or
    /// abandoned at shutdown. Counted under the locks the export thread
    /// takes them under, so a span is never counted twice or missed while it
    /// moves.
    pub(crate) fn ended(&self) -> u64 {
        let lanes = self.lock_lanes();
        let overflow = self.overflow.locked();
        let waiting: usize = lanes
            .list
            .iter()
            .map(|lane| lane.records.slots())
            .sum::<usize>()
            + overflow.records.len();
        self.taken.load(Ordering::Relaxed)
            + waiting as u64
            + self.dropped.load(Ordering::Relaxed)
            + self.abandoned.load(Ordering::Relaxed)
    }

    /// What the lanes beyond their first size and the overflow hold of the
    /// budget now.
    #[cfg(test)]
    pub(crate) fn budgeted(&self) -> usize {
        let lanes: usize = self
            .lock_lanes()
            .list
            .iter()
            .map(|lane| lane.budgeted)
            .sum();
        lanes + self.overflow.locked().memory()
    }

    /// Spans dropped because the overflow was over its bound.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Spans the export thread has taken.
    pub(crate) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Records the queue holds now at most: every lane's ring at its
    /// present size, and the overflow's bound (a count when one was asked
    /// for, else what the memory budget holds of records without an extra).
    pub(crate) fn capacity(&self) -> u64 {
        let lanes: usize = self
            .lock_lanes()
            .list
            .iter()
            .map(|lane| lane.records.buffer().capacity())
            .sum();
        let overflow = self
            .max_records
            .unwrap_or(self.budget.limit() / size_of::<Record>());
        (lanes + overflow) as u64
    }

    /// Bytes waiting for export beyond the lanes' first size, every signal
    /// and the batches in flight included, and the most they may take.
    pub(crate) fn memory(&self) -> (usize, usize) {
        (self.budget.used(), self.budget.limit())
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

    use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

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
            slots: crate::pipeline::values::Slots::EMPTY,
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
        let queue: &'static Queue =
            Box::leak(Box::new(Queue::new(&MemoryBudget::new(1 << 30), None)));
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

    /// With more lanes holding records than a drain takes, the next drain
    /// goes on where the last stopped: every lane is served in turn.
    #[test]
    fn with_more_lanes_than_a_drain_takes_each_drain_goes_on_where_the_last_stopped() {
        let queue: &'static Queue =
            Box::leak(Box::new(Queue::new(&MemoryBudget::new(1 << 30), None)));
        let threads: Vec<_> = (0..300)
            .map(|thread| pushed_by_another_thread(queue, thread * 10..thread * 10 + 5))
            .collect();
        let mut served = BTreeSet::new();
        for _ in 0..10 {
            let ids = drained(queue, 30);
            assert_eq!(ids.len(), 30);
            served.extend(ids.into_iter().map(|id| id / 10));
        }
        assert_eq!(served.len(), 300, "each of the 300 lanes gave one");
        drop(threads);
    }

    /// What the lanes of `queue` hold of its budget (the rest is the
    /// overflow's).
    fn lanes_held(queue: &Queue) -> usize {
        queue.budget.used() - queue.overflow.locked().memory()
    }

    /// This thread's lane of `queue`: how many records its ring holds.
    fn capacity(queue: &Queue) -> Option<usize> {
        LANE.with(|lane| {
            lane.borrow()
                .as_ref()
                .filter(|lane| lane.queue_id == queue.id)
                .map(|lane| lane.capacity)
        })
    }

    #[test]
    fn a_lane_starts_small_grows_while_it_fills_and_shrinks_once_quiet() {
        let queue = Queue::new(&MemoryBudget::new(1 << 30), None);
        queue.push(record(0));
        assert_eq!(capacity(&queue), Some(FIRST_CAPACITY));
        // Nothing drains: the lane grows to its largest, then spills.
        for n in 1..3000 {
            queue.push(record(n));
        }
        assert_eq!(capacity(&queue), Some(MAX_CAPACITY));
        assert!(!queue.overflow.locked().records.is_empty());
        assert_eq!(queue.pending(), 3000);
        assert_eq!(drained(&queue, usize::MAX).len(), 3000);
        assert_eq!(
            lanes_held(&queue),
            budgeted(MAX_CAPACITY),
            "the smaller lanes it left were given back once drained"
        );
        // Drained as fast as it fills: it halves, step by step, back to the
        // first size, and the budget has everything back.
        for n in 0..20_000 {
            queue.push(record(n));
            drained(&queue, usize::MAX);
        }
        assert_eq!(capacity(&queue), Some(FIRST_CAPACITY));
        assert_eq!(lanes_held(&queue), 0);
    }

    #[test]
    fn lanes_grow_only_as_far_as_the_budget_allows() {
        // Room for the lanes of 32 and 64 records this thread fills on its
        // way (the smaller is given back only once drained), and for a few
        // spilled records.
        let budget = budgeted(32) + budgeted(64) + 10 * size_of::<Record>();
        let queue = Queue::new(&MemoryBudget::new(budget), None);
        for n in 0..1000 {
            queue.push(record(n));
        }
        assert_eq!(capacity(&queue), Some(64));
        let spilled = queue.overflow.locked().records.len();
        assert!((1..=10).contains(&spilled), "{spilled}");
        assert!(queue.dropped.load(Ordering::Relaxed) > 0);
        assert_eq!(queue.ended(), 1000);
    }

    #[test]
    fn closing_frees_every_lane_and_counts_what_waited_as_ended() {
        let queue: &'static Queue =
            Box::leak(Box::new(Queue::new(&MemoryBudget::new(1 << 30), None)));
        let other = pushed_by_another_thread(queue, 0..100);
        for n in 100..2100 {
            queue.push(record(n));
        }
        queue.close();
        assert_eq!(queue.pending(), 0);
        assert!(queue.lock_lanes().list.is_empty());
        assert_eq!(lanes_held(queue), 0);
        assert_eq!(queue.ended(), 2100);
        // A span that ends on a thread without a lane is counted, not kept.
        pushed_by_another_thread(queue, 5000..5001);
        assert!(queue.lock_lanes().list.is_empty());
        assert_eq!(queue.ended(), 2101);
        assert_eq!(drained(queue, usize::MAX).len(), 0);
        drop(other);
    }
}
