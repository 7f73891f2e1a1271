//! The drain thread: empties the lanes into batches, converts times, hands batches to the sink,
//! and serves flush and shutdown requests.
//!
//! It polls: when the lanes are empty it parks (or until a request unparks it), so recording
//! threads never signal anyone and never wait. The pause starts at [`MIN_POLL`] after the last
//! event and doubles while the lanes stay empty, up to [`IDLE_POLL`]: under load the drain keeps
//! up (a 16 Ki-event lane fills in about 0.2 ms when its thread records flat out), and an idle service wakes
//! it 200 times a second. A batch goes out when it is full or when its oldest event has waited
//! the flush interval.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use raceway_core::lanes::{LanesConsumer, Mark};
use raceway_core::{Event, Kind};

use crate::shared::Shared;
use crate::sink::{events_in, Sink};
use crate::time::WallClock;

/// The shortest pause when the lanes are found empty.
pub(crate) const MIN_POLL: Duration = Duration::from_micros(20);
/// The longest pause when the lanes stay empty.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(5);

/// Between batches, while fewer events than this wait in the lanes, the drain lets other
/// threads have its core first: a drain that runs on through its time slice keeps a woken
/// request thread waiting. Further behind, it works on, so that the lanes do not fill.
/// (`service/raceway_analyzer` on the Intel Xeon VM: p99 211–224 → 171–175 µs, drain CPU per
/// event 244–263 → 168–185 ns, no event dropped; yielding after every batch instead dropped
/// 700–850 k events a run.)
const YIELD_BELOW: usize = 1024;

/// How much of the shutdown deadline the drain leaves for reporting what it achieved.
const REPORT_MARGIN: Duration = Duration::from_millis(50);

/// The longest a regular (not flush or shutdown) `send` is asked to take.
const SEND_BUDGET: Duration = Duration::from_secs(10);

pub(crate) fn start(shared: Arc<Shared>, sink: Box<dyn Sink>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("raceway-drain".to_owned())
        .spawn(move || {
            let finished = Finished(Arc::clone(&shared));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Drain::new(&shared, sink).run();
            }));
            if result.is_err() {
                log::error!(
                    target: "raceway",
                    "the sink panicked: the drain has stopped, events now stay in the threads' lanes"
                );
            }
            drop(finished);
        })
}

/// Marks the drain finished however it ends, so that no flush or shutdown waits for a dead one.
struct Finished(Arc<Shared>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.control().finished = true;
        self.0.notify();
    }
}

struct Drain<'a> {
    shared: &'a Shared,
    consumer: LanesConsumer<'a>,
    sink: Box<dyn Sink>,
    clock: WallClock,
    batch: Vec<Event>,
    /// When the oldest event of the current batch was taken from the lanes.
    oldest: Option<Instant>,
    batch_size: usize,
    flush_interval: Duration,
    debug: bool,
}

impl<'a> Drain<'a> {
    fn new(shared: &'a Shared, sink: Box<dyn Sink>) -> Self {
        let Some(consumer) = shared.recorder.lanes().consumer() else {
            unreachable!("the drain is the lanes' only consumer")
        };
        let batch_size = shared.config.batch_size();
        Drain {
            shared,
            consumer,
            sink,
            clock: WallClock::new(),
            batch: Vec::with_capacity(batch_size),
            oldest: None,
            batch_size,
            flush_interval: shared.config.flush_interval(),
            debug: shared.config.debug(),
        }
    }

    fn run(mut self) {
        let mut pause = MIN_POLL;
        loop {
            self.clock.maybe_recalibrate();
            let taken = self.fill();
            let full = self.batch.len() >= self.batch_size;
            let due = self
                .oldest
                .is_some_and(|oldest| oldest.elapsed() >= self.flush_interval);
            if full || due {
                self.deliver(Instant::now() + SEND_BUDGET);
                if self.consumer.backlog() < YIELD_BELOW {
                    std::thread::yield_now();
                }
            }
            if self.shared.take_command() && self.serve() {
                return;
            }
            if taken == 0 {
                // A sink may deliver on a thread of its own: keep the statistics current.
                self.shared.publish(self.sink.stats());
                std::thread::park_timeout(pause.min(self.flush_interval));
                pause = (pause * 2).min(IDLE_POLL);
            } else {
                pause = MIN_POLL;
            }
        }
    }

    /// Moves events from the lanes into the batch until it is full or nothing is left.
    fn fill(&mut self) -> usize {
        let mut taken = 0;
        while self.batch.len() < self.batch_size {
            let Some(mut event) = self.consumer.pop() else {
                break;
            };
            event.time = match event.kind {
                // Markers carry no time of their own: stamp them when the loss is noticed.
                Kind::Dropped { .. } => self.clock.now_unix_nanos(),
                _ => self.clock.unix_nanos(event.time),
            };
            self.batch.push(event);
            taken += 1;
        }
        if taken > 0 && self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        taken
    }

    fn deliver(&mut self, deadline: Instant) {
        if self.batch.is_empty() {
            return;
        }
        if self.debug {
            log::debug!(
                target: "raceway",
                "delivering a batch of {} events",
                events_in(&self.batch)
            );
        }
        self.sink.send(&self.batch, deadline);
        self.batch.clear();
        self.oldest = None;
        self.shared.publish(self.sink.stats());
    }

    /// Drains the lanes up to `target` and delivers everything taken, giving up at `deadline`.
    fn drain_to(&mut self, target: &Mark, deadline: Instant) {
        while !self.consumer.reached(target) && Instant::now() < deadline {
            if self.fill() == 0 {
                // A producer has taken a ticket and not published its event yet: it will shortly.
                std::thread::yield_now();
            }
            if self.batch.len() >= self.batch_size {
                self.deliver(deadline);
            }
        }
        self.deliver(deadline);
    }

    /// Serves pending requests; returns whether the drain must stop.
    fn serve(&mut self) -> bool {
        let (flush, shutdown) = {
            let control = self.shared.control();
            let flush = (control.flush_requested > control.flush_done).then(|| {
                (
                    control.flush_requested,
                    control.flush_target.clone(),
                    control.flush_deadline,
                )
            });
            (flush, control.shutdown_deadline)
        };
        if let Some((ticket, target, deadline)) = flush {
            let deadline = deadline.unwrap_or_else(Instant::now);
            self.drain_to(&target, deadline);
            let reached = self.consumer.reached(&target);
            let flushed = self.sink.flush(deadline);
            self.shared.publish(self.sink.stats());
            let mut control = self.shared.control();
            control.flush_done = ticket;
            control.flush_ok = reached && flushed.is_ok();
            if control.flush_requested == ticket {
                control.flush_deadline = None;
            }
            drop(control);
            self.shared.notify();
        }
        if let Some(deadline) = shutdown {
            // Leave the client time to read the outcome before its own wait ends.
            let deadline = deadline
                .checked_sub(REPORT_MARGIN)
                .unwrap_or(deadline)
                .max(Instant::now());
            let target = self.shared.recorder.lanes().mark();
            self.drain_to(&target, deadline);
            let undelivered = self.sink.shutdown(deadline);
            self.shared.publish(self.sink.stats());
            self.shared.abandon(undelivered.events);
            self.shared.set_problem(self.sink.problem());
            if self.debug {
                log::debug!(target: "raceway", "drain stopped: {:?}", self.shared.stats());
            }
            return true;
        }
        false
    }
}
