//! Recordings of several services analyzed as one stream (`raceway check --merge`).
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
//!
//! # Examples
//!
//! Two services, each numbering its own threads from 1: the gateway writes the order's status
//! and then calls the ledger, which reads it (ordered by the HTTP request); both bump the
//! version with nothing between them (a race).
//!
//! ```
//! use raceway_analyze::merge::Merge;
//! use raceway_core::event::{Direction, Event, Kind, ThreadId};
//! use raceway_core::{Access, Value};
//!
//! let t1 = ThreadId::from_raw(1);
//! let access = |variable: &'static str, access| Kind::StateChange {
//!     variable: variable.into(),
//!     access,
//!     old: Value::None,
//!     new: Value::None,
//! };
//! let request = |direction| Kind::HttpRequest { method: "POST", url: Value::None, direction, span: 7 };
//! let gateway = vec![
//!     Event::new(10, t1, access("order.status", Access::Write)),
//!     Event::new(20, t1, request(Direction::Outbound)),
//!     Event::new(30, t1, access("order.version", Access::Write)),
//! ];
//! let ledger = vec![
//!     Event::new(25, t1, request(Direction::Inbound)),
//!     Event::new(26, t1, access("order.status", Access::Read)),
//!     Event::new(27, t1, access("order.version", Access::Write)),
//! ];
//! let report = Merge::analyze(vec![gateway, ledger], &["gateway".into(), "ledger".into()]);
//! assert_eq!(report.races.len(), 1, "{report}");
//! assert_eq!(report.races[0].variable, "order.version");
//! assert_eq!(report.races[0].earlier.service.as_deref(), Some("ledger"));
//! assert_eq!(report.races[0].later.service.as_deref(), Some("gateway"));
//! ```

use std::collections::VecDeque;

use raceway_core::causality::{message_edge, Edge};
use raceway_core::event::{Direction, Event, Kind, ThreadId};

use raceway_core::event::SourceLocation;

use crate::report::Report;
use crate::Analyzer;
use crate::HashSet;

/// How far apart two services' clocks may be for a send to still be put before its receipt.
pub const MAX_SKEW_NS: u64 = 1_000_000_000;
/// HTTP exchanges whose sending end was emitted and whose receiving end was not, remembered.
pub const MAX_SENT: usize = 4096;

/// Whether `kind` sends (`true`) or receives (`false`) an HTTP exchange, and which (the
/// replay's own rule, [`message_edge`]; in-process messages are not matched across files).
fn exchange(kind: &Kind) -> Option<(bool, Edge)> {
    match message_edge(kind)? {
        (_, Edge::Message(_)) => None,
        (direction, edge) => Some((direction == Direction::Outbound, edge)),
    }
}

/// Interleaves and renames the events of `n` recordings (see the [module docs](self)).
///
/// `L` is the events' source location, as for [`Analyzer`].
#[derive(Debug)]
pub struct Merge<L> {
    /// Decoded events waiting, per recording.
    queues: Vec<VecDeque<Event<L>>>,
    /// Each recording's latest timestamp (a loss marker gets it).
    last_time: Vec<u64>,
    sent: HashSet<Edge>,
    sent_order: VecDeque<Edge>,
}

impl<L: SourceLocation + Copy + Eq + std::hash::Hash> Merge<L> {
    /// Analyzes whole recordings together: `recordings[i]` is service `services[i]`'s
    /// events in the order it recorded them (what its capture file holds).
    pub fn analyze<I: IntoIterator<Item = Event<L>>>(
        recordings: Vec<I>,
        services: &[String],
    ) -> Report {
        let mut merge = Merge::new(recordings.len());
        let mut sources: Vec<_> = recordings
            .into_iter()
            .map(|r| r.into_iter().fuse())
            .collect();
        let mut analyzer = Analyzer::new();
        loop {
            for (i, source) in sources.iter_mut().enumerate() {
                if !merge.has_events(i) {
                    if let Some(event) = source.next() {
                        merge.push(i, event);
                    }
                }
            }
            let Some(event) = merge.pop() else { break };
            analyzer.observe(&event);
        }
        let mut report = analyzer.report();
        merge.name_threads(&mut report, services);
        report
    }
}

impl<L> Merge<L> {
    /// A merge of `recordings` recordings, numbered from 0.
    pub fn new(recordings: usize) -> Self {
        Merge {
            queues: (0..recordings).map(|_| VecDeque::new()).collect(),
            last_time: vec![0; recordings],
            sent: HashSet::default(),
            sent_order: VecDeque::new(),
        }
    }

    /// Whether recording `i` has events waiting.
    pub fn has_events(&self, i: usize) -> bool {
        !self.queues[i].is_empty()
    }

    /// Queues an event of recording `i`, renamed.
    pub fn push(&mut self, i: usize, mut event: Event<L>) {
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
    pub fn pop(&mut self) -> Option<Event<L>> {
        let heads = || {
            self.queues
                .iter()
                .enumerate()
                .filter_map(|(i, queue)| Some((i, queue.front()?)))
        };
        // A receiving end whose sending end has not been emitted yet.
        let blocked = |event: &Event<L>| matches!(exchange(&event.kind), Some((false, e)) if !self.sent.contains(&e));
        let (mut pick, first) = heads().min_by_key(|(_, event)| event.time)?;
        if blocked(first) {
            // Its sender may be in another recording whose clock runs behind: emit that
            // recording's events first, as long as they are not waiting themselves. (A
            // receipt from a caller nobody recorded waits at most this long, harmlessly:
            // only edges order the analysis, and waiting never puts a receipt first.)
            let limit = first.time.saturating_add(MAX_SKEW_NS);
            if let Some((other, _)) = heads()
                .filter(|(i, event)| *i != pick && event.time <= limit && !blocked(event))
                .min_by_key(|(_, event)| event.time)
            {
                pick = other;
            }
        }
        let event = self.queues[pick].pop_front()?;
        match exchange(&event.kind) {
            Some((true, exchange)) if self.sent.insert(exchange) => {
                self.sent_order.push_back(exchange);
                if self.sent_order.len() > MAX_SENT {
                    if let Some(old) = self.sent_order.pop_front() {
                        self.sent.remove(&old);
                    }
                }
            }
            Some((true, _)) => {}
            Some((false, exchange)) => {
                self.sent.remove(&exchange);
            }
            None => {}
        }
        Some(event)
    }

    /// Names the threads of a merged report back: recording `i`'s threads get `services[i]`
    /// and their own ids.
    pub fn name_threads(&self, report: &mut Report, services: &[String]) {
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
