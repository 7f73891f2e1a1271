//! `raceway check --merge`: recordings of several services analyzed as one stream.
//!
//! Each service writes its own capture, with its own thread ids, message ids and ring order.
//! To analyze them together the events are interleaved into one stream that respects
//! happens-before, and renamed so that nothing of one recording is mistaken for another's:
//!
//! * **Threads** are keyed by recording: thread `t` of recording `i` of `n` becomes
//!   `t * n + i` (spawn and join children too), and the report names it back as the
//!   recording's service (its file name without the extension) and `t`. Ids beyond
//!   `u32::MAX / n` would wrap; a process would need billions of logical threads for that.
//! * **Messages** of in-process channels are keyed by recording the same way.
//! * **HTTP spans** are kept: the span id travels in the propagation headers, so the caller's
//!   outbound request and the callee's inbound request carry the same one, and the analyzer
//!   matches them (and the response) exactly as it does inside one process.
//!
//! # Order
//!
//! Each recording is read in its own order. Across recordings, events go by timestamp (the
//! std client writes Unix nanoseconds), with one correction for clocks that disagree: the
//! receiving end of an HTTP exchange whose sending end has not been emitted yet waits while
//! another recording has events up to [`MAX_SKEW_NS`] later, so that a send recorded on a
//! clock running behind still comes first. Memory is one read buffer and the events decoded
//! from one chunk per recording, plus at most [`MAX_SENT`] exchanges in flight.

use std::collections::VecDeque;

use raceway_analyze::Report;
use raceway_core::event::{Direction, Event, Kind, Site, ThreadId};

use std::collections::HashSet;

/// How far apart two services' clocks may be for a send to still be put before its receipt.
pub(crate) const MAX_SKEW_NS: u64 = 1_000_000_000;
/// HTTP exchanges whose sending end was emitted and whose receiving end was not, remembered.
pub(crate) const MAX_SENT: usize = 4096;

/// One end of an HTTP exchange, as the merge needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Exchange {
    Request(u64),
    Response(u64),
}

/// Whether `kind` sends (`true`) or receives (`false`) an HTTP exchange, and which.
fn exchange(kind: &Kind) -> Option<(bool, Exchange)> {
    match *kind {
        Kind::HttpRequest {
            direction, span, ..
        } if span != 0 => Some((direction == Direction::Outbound, Exchange::Request(span))),
        // The server (the inbound side) sends the response.
        Kind::HttpResponse {
            direction, span, ..
        } if span != 0 => Some((direction == Direction::Inbound, Exchange::Response(span))),
        _ => None,
    }
}

/// Interleaves and renames the events of `n` recordings (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct Merge {
    /// Decoded events waiting, per recording.
    queues: Vec<VecDeque<Event<Site>>>,
    /// Each recording's latest timestamp (a loss marker gets it).
    last_time: Vec<u64>,
    sent: HashSet<Exchange>,
    sent_order: VecDeque<Exchange>,
}

impl Merge {
    pub(crate) fn new(recordings: usize) -> Self {
        Merge {
            queues: (0..recordings).map(|_| VecDeque::new()).collect(),
            last_time: vec![0; recordings],
            sent: HashSet::default(),
            sent_order: VecDeque::new(),
        }
    }

    /// Whether recording `i` has events waiting.
    pub(crate) fn has_events(&self, i: usize) -> bool {
        !self.queues[i].is_empty()
    }

    /// Queues an event of recording `i`, renamed.
    pub(crate) fn push(&mut self, i: usize, mut event: Event<Site>) {
        let n = self.queues.len() as u32;
        let thread = |t: ThreadId| match t.to_raw() {
            0 => t,
            raw => ThreadId::from_raw(raw.wrapping_mul(n).wrapping_add(i as u32)),
        };
        event.thread = thread(event.thread);
        match &mut event.kind {
            Kind::Spawn { child } | Kind::Join { child } => *child = thread(*child),
            Kind::Send { message } | Kind::Receive { message } => {
                *message = message.wrapping_mul(u64::from(n)).wrapping_add(i as u64)
            }
            Kind::Dropped { .. } => event.time = self.last_time[i],
            _ => {}
        }
        self.last_time[i] = self.last_time[i].max(event.time);
        self.queues[i].push_back(event);
    }

    /// The next event of the merged stream, taken from the recordings that have events
    /// waiting. Call it only when every recording that is not used up has some.
    pub(crate) fn pop(&mut self) -> Option<Event<Site>> {
        let heads = || {
            self.queues
                .iter()
                .enumerate()
                .filter_map(|(i, queue)| Some((i, queue.front()?)))
        };
        let (mut pick, first) = heads().min_by_key(|(_, event)| event.time)?;
        if let Some((false, exchange)) = exchange(&first.kind) {
            if !self.sent.contains(&exchange) {
                // Its sender may be in another recording whose clock runs behind.
                let limit = first.time.saturating_add(MAX_SKEW_NS);
                if let Some((other, _)) = heads()
                    .filter(|(i, event)| *i != pick && event.time <= limit)
                    .min_by_key(|(_, event)| event.time)
                {
                    pick = other;
                }
            }
        }
        let event = self.queues[pick].pop_front()?;
        match exchange(&event.kind) {
            Some((true, exchange)) => {
                if self.sent.insert(exchange) {
                    self.sent_order.push_back(exchange);
                    if self.sent_order.len() > MAX_SENT {
                        if let Some(old) = self.sent_order.pop_front() {
                            self.sent.remove(&old);
                        }
                    }
                }
            }
            Some((false, exchange)) => {
                self.sent.remove(&exchange);
            }
            None => {}
        }
        Some(event)
    }

    /// Names the threads of a merged report back: recording `i`'s threads get `services[i]`
    /// and their own ids.
    pub(crate) fn name_threads(&self, report: &mut Report, services: &[String]) {
        let n = self.queues.len() as u32;
        let split = |thread: ThreadId| {
            let raw = thread.to_raw();
            let service = services.get((raw % n) as usize).cloned();
            (service, ThreadId::from_raw(raw / n))
        };
        for race in &mut report.races {
            for access in [&mut race.earlier, &mut race.later] {
                (access.service, access.thread) = split(access.thread);
            }
            for lane in &mut race.timeline.lanes {
                (lane.service, lane.thread) = split(lane.thread);
            }
        }
    }
}
