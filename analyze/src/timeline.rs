//! What happened around a race on the threads involved: the picture behind
//! [`Race::timeline`](crate::Race::timeline), which the [HTML report](crate::html) draws.
//!
//! A text report names two source lines; a person needs to see why nothing orders them. So
//! while the analyzer replays happens-before, it keeps a short log per logical thread of its
//! synchronising events (lock acquire and release, spawn, join, send, receive, HTTP request
//! and response) and, for each event that *receives* an edge, the event it came from. The
//! pairing follows [`raceway_core::causality`]'s table, and an edge is kept only if the
//! replay's clock confirms it: the sending event happens before the receiving thread's clock
//! right after the receiving event. When a new distinct race is found, the logs of its two
//! threads are copied into a [`Timeline`]: the two accesses, the synchronising events around
//! them, and the edges among them and from the threads that sent them.
//!
//! # Memory
//!
//! Nothing grows with the length of the stream: per live thread at most [`LOG_LEN`] events
//! (a thread whose end was lost is dropped once the replay stops following it), per ended
//! thread the same for the last [`ENDED_KEPT`] ended threads, the names and last
//! releases of the locks in use (bounded as [`HappensBefore`] bounds its own, by
//! [`MAX_LOCKS`]), and at most
//! [`MAX_PENDING`] spawns and messages not received yet. A timeline holds at most
//! [`MAX_STEPS`] events and [`MAX_LANES`] lanes; [`Timeline::left_out`] counts what did not
//! fit, and the report says so.

use std::collections::VecDeque;

use raceway_core::causality::{self, message_edge, HappensBefore, MAX_LOCKS};
use raceway_core::clock::Epoch;
use raceway_core::event::Direction;
use raceway_core::event::SourceLocation;
use raceway_core::generations::{Generations, Lookup};
use raceway_core::{Access, Event, Kind, Name, ThreadId, Value};

use crate::HashMap;

/// Synchronising events kept per thread.
pub const LOG_LEN: usize = 32;
/// Ended threads whose logs are kept (a race's earlier access often comes from one).
pub const ENDED_KEPT: usize = 4096;
/// Spawns and messages waiting for their receiving end.
pub const MAX_PENDING: usize = 4096;
/// Logs kept before those of threads that vanished without an end are dropped: the replay's
/// live threads, the ended ones kept, and as many again as slack.
const MAX_LOGS: usize = causality::MAX_THREADS + 2 * ENDED_KEPT;
/// Emptied logs kept for new threads: in a steady stream each ended thread's log goes to the
/// next new thread, and after a burst of live threads the rest is freed rather than kept.
const MAX_SPARE_LOGS: usize = 1024;
/// Events drawn per race.
pub const MAX_STEPS: usize = 40;
/// Lanes drawn per race: the two racing threads and the threads that sent them edges.
pub const MAX_LANES: usize = 6;

/// The threads of one race, the events that matter on them, and the edges that exist.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// One lane per logical thread; lane 0 made the earlier access, lane 1 the later one.
    pub lanes: Vec<Lane>,
    /// Events in stream order; two of them are the racing accesses.
    pub steps: Vec<Step>,
    /// Happens-before edges between the steps.
    pub edges: Vec<Edge>,
    /// Synchronising events (and their edges) that were not drawn to keep the picture small.
    pub left_out: u64,
    /// Locks held at either access (by name).
    pub held: Vec<String>,
    /// Locks handed over between the lanes in the picture (by name).
    pub handed_over: Vec<String>,
}

/// One logical thread in a timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// The service the thread ran in, when several recordings were analyzed together.
    pub service: Option<String>,
    /// The thread.
    pub thread: ThreadId,
    /// The span of the request the thread runs for, when it recorded one (16 hex digits).
    pub request: Option<String>,
}

/// One event on a lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Index into [`Timeline::lanes`].
    pub lane: usize,
    /// Position in the stream, from 0.
    pub event: u64,
    /// What happened, e.g. `release accounts.bob` or `write`.
    pub label: String,
    /// Source file.
    pub file: String,
    /// Source line (0 when unknown).
    pub line: u32,
    /// `Some` for the two racing accesses.
    pub access: Option<Access>,
}

/// A happens-before edge between two steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The step the edge leaves (index into [`Timeline::steps`]).
    pub from: usize,
    /// The step it reaches.
    pub to: usize,
    /// What made it.
    pub kind: EdgeKind,
}

/// What synchronisation made an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// A lock release before a later acquire of the same lock.
    Lock,
    /// A spawn before the child's first event.
    Spawn,
    /// A thread's last synchronising event (usually its end) before the join that waited for it.
    Join,
    /// A send before the receipt of the same message.
    Message,
    /// An HTTP request sent before it was received, or a response sent before it was received.
    Http,
}

impl EdgeKind {
    /// A short lowercase name (also the CSS class the HTML report uses).
    pub const fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Lock => "lock",
            EdgeKind::Spawn => "spawn",
            EdgeKind::Join => "join",
            EdgeKind::Message => "message",
            EdgeKind::Http => "http",
        }
    }
}

/// An event some edge can reach or leave.
#[derive(Clone, Copy, Debug)]
struct Point<L> {
    thread: ThreadId,
    index: u64,
    location: L,
    epoch: Epoch,
    what: What,
}

#[derive(Clone, Copy, Debug)]
enum What {
    Acquire(Name),
    Release(Name),
    Spawn,
    Start,
    Join,
    /// A message edge's sending (`Outbound`) or receiving (`Inbound`) end.
    Message(Direction, causality::Edge),
    End,
    Access,
}

/// A logged event and, if it received an edge, where the edge came from.
#[derive(Clone, Copy, Debug)]
struct Mark<L> {
    at: Point<L>,
    from: Option<(Point<L>, EdgeKind)>,
}

#[derive(Debug)]
struct Log<L> {
    /// Oldest first; a join edge leaves the child's last one (usually its end).
    marks: VecDeque<Mark<L>>,
    request: Option<u64>,
    ended: bool,
}

/// Keys of edges in flight: a spawn's child, or a message edge as both its ends name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Spawn(ThreadId),
    Message(causality::Edge),
}

/// Keeps the logs while the analyzer replays the stream (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct Recorder<L> {
    logs: HashMap<ThreadId, Log<L>>,
    ended: VecDeque<ThreadId>,
    /// Per lock id: its name, and its last release (where the next acquire's edge leaves).
    locks: Generations<u64, (Name, Option<Point<L>>)>,
    pending: HashMap<Key, Point<L>>,
    /// Every insertion into `pending`, oldest first: an entry leaves `pending` once
    /// [`MAX_PENDING`] newer ones came, so edges nobody receives never crowd out new ones.
    pending_order: VecDeque<(u64, Key)>,
    /// How many of `pending` are spawns (none: a thread's event needs no look-up there).
    spawns_pending: usize,
    /// Emptied logs of forgotten threads, for new threads to reuse: a service starts a thread
    /// per request, and allocating, growing and freeing each one's log was a tenth of the
    /// drain thread's time.
    spare: Vec<VecDeque<Mark<L>>>,
}

impl<L: SourceLocation + Copy> Recorder<L> {
    pub(crate) fn new() -> Self {
        Recorder {
            logs: HashMap::default(),
            ended: VecDeque::new(),
            locks: Generations::new(MAX_LOCKS),
            pending: HashMap::default(),
            pending_order: VecDeque::new(),
            spawns_pending: 0,
            spare: Vec::new(),
        }
    }

    /// Takes the event the replay just observed at `epoch`; `clock` is its thread's clock
    /// right after it.
    pub(crate) fn observe(
        &mut self,
        event: &Event<L>,
        index: u64,
        epoch: Epoch,
        hb: &HappensBefore,
    ) {
        let thread = event.thread;
        // A spawned thread's first event (whatever it is) receives the spawn edge.
        let spawned = match self.spawns_pending {
            0 => None,
            _ => self.pending.remove(&Key::Spawn(thread)),
        };
        self.spawns_pending -= usize::from(spawned.is_some());
        let sync = matches!(
            event.kind,
            Kind::LockAcquire { .. }
                | Kind::LockRelease { .. }
                | Kind::Spawn { .. }
                | Kind::Join { .. }
                | Kind::Send { .. }
                | Kind::Receive { .. }
                | Kind::HttpRequest { .. }
                | Kind::HttpResponse { .. }
                | Kind::TraceStart { .. }
                | Kind::ThreadEnd
        );
        if !sync && spawned.is_none() {
            // Accesses and the like: the analyzer has them; nothing to log (the fast path).
            return;
        }
        let clock = hb.clock(thread);
        let point = |what| Point {
            thread,
            index,
            location: event.location,
            epoch,
            what,
        };
        if self.logs.len() > MAX_LOGS && !self.logs.contains_key(&thread) {
            self.drop_stale_logs(hb);
        }
        let spare = &mut self.spare;
        let log = self.logs.entry(thread).or_insert_with(|| Log {
            marks: spare.pop().unwrap_or_default(),
            request: None,
            ended: false,
        });
        if log.ended {
            // A recycled id: a new run that has nothing to do with the old one.
            log.marks.clear();
            log.request = None;
            log.ended = false;
        }

        let mut marks: [Option<Mark<L>>; 2] = [None, None];
        let mut sent = None;
        // Whether the edge `from` → this event exists in the replay.
        let confirmed = |from: &Point<L>| clock.is_some_and(|c| hb.happens_before(from.epoch, c));
        if let Some(spawn) = spawned {
            marks[0] = Some(Mark {
                at: point(What::Start),
                from: confirmed(&spawn).then_some((spawn, EdgeKind::Spawn)),
            });
        }
        let mut receive = |key: Key, kind: EdgeKind, what: What| {
            let from = self.pending.remove(&key).filter(&confirmed);
            Some(Mark {
                at: point(what),
                from: from.map(|from| (from, kind)),
            })
        };
        match event.kind {
            Kind::TraceStart { span_id, .. } => {
                log.request = Some(u64::from_be_bytes(span_id.to_bytes()));
            }
            Kind::LockAcquire { lock, .. } => {
                let (kept, _) = self.locks.get_or_insert_with(lock.id(), || (lock, None));
                kept.0 = lock;
                let from = kept
                    .1
                    .filter(|release| release.thread != thread && confirmed(release))
                    .map(|release| (release, EdgeKind::Lock));
                marks[1] = Some(Mark {
                    at: point(What::Acquire(lock)),
                    from,
                });
            }
            Kind::LockRelease { lock, .. } => {
                self.locks
                    .insert(lock.id(), (lock, Some(point(What::Release(lock)))));
                marks[1] = Some(Mark {
                    at: point(What::Release(lock)),
                    from: None,
                });
            }
            Kind::Spawn { child } => sent = Some((Key::Spawn(child), What::Spawn)),
            Kind::ThreadEnd => {
                marks[1] = Some(Mark {
                    at: point(What::End),
                    from: None,
                })
            }
            Kind::Join { child } => {
                let from = self
                    .logs
                    .get(&child)
                    .and_then(|child| child.marks.back())
                    .map(|last| last.at)
                    .filter(|last| last.thread != thread && confirmed(last));
                marks[1] = Some(Mark {
                    at: point(What::Join),
                    from: from.map(|from| (from, EdgeKind::Join)),
                });
            }
            // Sends, receipts and both ends of HTTP exchanges, paired as the replay pairs them.
            ref kind => match message_edge(kind) {
                Some((Direction::Outbound, edge)) => {
                    sent = Some((Key::Message(edge), What::Message(Direction::Outbound, edge)));
                }
                Some((Direction::Inbound, edge)) => {
                    let kind = match edge {
                        causality::Edge::Message(_) => EdgeKind::Message,
                        causality::Edge::Request(_) | causality::Edge::Response(_) => {
                            EdgeKind::Http
                        }
                    };
                    let what = What::Message(Direction::Inbound, edge);
                    marks[1] = receive(Key::Message(edge), kind, what);
                }
                None => {}
            },
        }
        if let Some((key, what)) = sent {
            // Only an edge the replay keeps can be received.
            let kept = match key {
                Key::Spawn(_) => true,
                Key::Message(edge) => hb.awaits(&edge),
            };
            if kept {
                self.await_receipt(key, point(what));
            }
            marks[1] = Some(Mark {
                at: point(what),
                from: None,
            });
        }
        let Some(log) = self.logs.get_mut(&thread) else {
            return;
        };
        for mark in marks.into_iter().flatten() {
            if log.marks.len() == LOG_LEN {
                log.marks.pop_front();
            }
            log.marks.push_back(mark);
        }
        if matches!(event.kind, Kind::ThreadEnd) {
            log.ended = true;
            self.ended.push_back(thread);
            while self.ended.len() > ENDED_KEPT {
                let Some(old) = self.ended.pop_front() else {
                    break;
                };
                if self.logs.get(&old).is_some_and(|log| log.ended) {
                    if let Some(Log { mut marks, .. }) = self.logs.remove(&old) {
                        if self.spare.len() < MAX_SPARE_LOGS {
                            marks.clear();
                            self.spare.push(marks);
                        }
                    }
                }
            }
        }
    }

    /// Drops the logs of threads that never ended and that the replay no longer follows (their
    /// end was lost, or the replay evicted them for capacity), which would otherwise pile up
    /// for good. Called once the logs outgrow what live and recently ended threads fill, so each
    /// call frees at least [`ENDED_KEPT`] of them.
    fn drop_stale_logs(&mut self, hb: &HappensBefore) {
        self.logs
            .retain(|&thread, log| log.ended || hb.clock(thread).is_some());
    }

    /// Keeps `sent` until the event that receives `key`, or until [`MAX_PENDING`] newer sends.
    fn await_receipt(&mut self, key: Key, sent: Point<L>) {
        let index = sent.index;
        if self.pending.insert(key, sent).is_none() {
            self.spawns_pending += usize::from(matches!(key, Key::Spawn(_)));
        }
        self.pending_order.push_back((index, key));
        if self.pending_order.len() > MAX_PENDING {
            if let Some((index, key)) = self.pending_order.pop_front() {
                // Unless it was received, or a newer send of the same key took its place.
                if self
                    .pending
                    .get(&key)
                    .is_some_and(|sent| sent.index == index)
                {
                    self.pending.remove(&key);
                    self.spawns_pending -= usize::from(matches!(key, Key::Spawn(_)));
                }
            }
        }
    }

    /// The picture of a race between `earlier` and `later`, with the lock ids each held.
    pub(crate) fn timeline(
        &self,
        earlier: &Side<L>,
        later: &Side<L>,
        held: impl IntoIterator<Item = u64>,
    ) -> Timeline {
        let mut timeline = Timeline {
            held: held
                .into_iter()
                .filter_map(|lock| match self.locks.get(&lock) {
                    Lookup::Found((name, _)) => Some(name),
                    Lookup::Forgotten | Lookup::Missing => None,
                })
                .map(|name| name.to_string())
                .collect(),
            ..Timeline::default()
        };
        timeline.held.sort();
        timeline.held.dedup();
        let lane_of = |timeline: &mut Timeline, thread: ThreadId| -> Option<usize> {
            if let Some(lane) = timeline.lanes.iter().position(|l| l.thread == thread) {
                return Some(lane);
            }
            if timeline.lanes.len() == MAX_LANES {
                return None;
            }
            timeline.lanes.push(Lane {
                service: None,
                thread,
                request: self
                    .logs
                    .get(&thread)
                    .and_then(|log| log.request)
                    .map(|span| format!("{span:016x}")),
            });
            Some(timeline.lanes.len() - 1)
        };
        lane_of(&mut timeline, earlier.thread);
        lane_of(&mut timeline, later.thread);

        // Both threads' logged history up to the later access: the hand-overs between them
        // are what the picture is about, and the logs are short.
        let end = earlier.index.max(later.index);
        let mut chosen: Vec<Mark<L>> = Vec::new();
        for thread in [earlier.thread, later.thread] {
            if let Some(log) = self.logs.get(&thread) {
                chosen.extend(log.marks.iter().filter(|mark| mark.at.index <= end));
            }
        }
        chosen.sort_by_key(|mark| mark.at.index);
        // Keep the marks nearest the accesses: the picture is about what lies between them.
        let room = MAX_STEPS - 2;
        if chosen.len() > room {
            let extra = chosen.len() - room;
            timeline.left_out += extra as u64;
            chosen.drain(..extra);
        }

        let mut steps: Vec<(Step, u64, ThreadId)> = Vec::new();
        let mut add_step =
            |timeline: &mut Timeline, point: &Point<L>, label: String, access: Option<Access>| {
                if let Some(found) = steps
                    .iter()
                    .position(|(_, index, thread)| *index == point.index && *thread == point.thread)
                {
                    return Some(found);
                }
                if steps.len() == MAX_STEPS {
                    timeline.left_out += 1;
                    return None;
                }
                let Some(lane) = lane_of(timeline, point.thread) else {
                    timeline.left_out += 1;
                    return None;
                };
                steps.push((
                    Step {
                        lane,
                        event: point.index,
                        label,
                        file: point.location.file().to_owned(),
                        line: point.location.line(),
                        access,
                    },
                    point.index,
                    point.thread,
                ));
                Some(steps.len() - 1)
            };
        for access in [earlier, later] {
            let point = Point {
                thread: access.thread,
                index: access.index,
                location: access.location,
                epoch: access.epoch,
                what: What::Access,
            };
            let label = describe_access(access.access, access.old, access.new);
            add_step(&mut timeline, &point, label, Some(access.access));
        }
        let mut edges = Vec::new();
        let mut handed_over = Vec::new();
        // Newest first: when the picture is full, what is left out is the oldest.
        for mark in chosen.iter().rev() {
            let Some(to) = add_step(&mut timeline, &mark.at, self.label(mark.at.what), None) else {
                continue;
            };
            if let Some((from, kind)) = &mark.from {
                if let Some(from_step) = add_step(&mut timeline, from, self.label(from.what), None)
                {
                    edges.push((from_step, to, *kind));
                    if let What::Release(lock) = from.what {
                        handed_over.push(lock.to_string());
                    }
                }
            }
        }
        // The other lanes came in as senders of edges; draw what reached them from the
        // picture's threads too (the spawn that started a task which then made a call).
        let others: Vec<ThreadId> = timeline.lanes.iter().skip(2).map(|l| l.thread).collect();
        for thread in others {
            let Some(log) = self.logs.get(&thread) else {
                continue;
            };
            for mark in log.marks.iter().filter(|mark| mark.at.index <= end) {
                let Some((from, kind)) = &mark.from else {
                    continue;
                };
                if !timeline.lanes.iter().any(|lane| lane.thread == from.thread) {
                    continue;
                }
                let to = add_step(&mut timeline, &mark.at, self.label(mark.at.what), None);
                let from_step = add_step(&mut timeline, from, self.label(from.what), None);
                if let (Some(to), Some(from_step)) = (to, from_step) {
                    edges.push((from_step, to, *kind));
                }
            }
        }
        // Stream order, renumbering the edges' ends.
        let mut order: Vec<usize> = (0..steps.len()).collect();
        order.sort_by_key(|&i| steps[i].1);
        let mut new_index = vec![0; steps.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<Step>> = steps.into_iter().map(|(s, _, _)| Some(s)).collect();
        timeline.steps = order.iter().filter_map(|&i| slots[i].take()).collect();
        timeline.edges = edges
            .into_iter()
            .map(|(from, to, kind)| Edge {
                from: new_index[from],
                to: new_index[to],
                kind,
            })
            .collect();
        timeline.edges.sort_by_key(|edge| (edge.to, edge.from));
        handed_over.sort();
        handed_over.dedup();
        timeline.handed_over = handed_over;
        timeline
    }

    fn label(&self, what: What) -> String {
        match what {
            What::Acquire(lock) => format!("acquire {lock}"),
            What::Release(lock) => format!("release {lock}"),
            What::Spawn => "spawn".to_owned(),
            What::Start => "start".to_owned(),
            What::Join => "join".to_owned(),
            What::Message(end, edge) => {
                let sent = end == Direction::Outbound;
                match edge {
                    causality::Edge::Message(id) if sent => format!("send #{id}"),
                    causality::Edge::Message(id) => format!("receive #{id}"),
                    causality::Edge::Request(_) if sent => "HTTP request sent".to_owned(),
                    causality::Edge::Request(_) => "HTTP request received".to_owned(),
                    causality::Edge::Response(_) if sent => "HTTP response sent".to_owned(),
                    causality::Edge::Response(_) => "HTTP response received".to_owned(),
                }
            }
            What::End => "end".to_owned(),
            What::Access => "access".to_owned(),
        }
    }
}

/// One racing access as the timeline needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Side<L> {
    pub(crate) thread: ThreadId,
    pub(crate) index: u64,
    pub(crate) location: L,
    pub(crate) epoch: Epoch,
    pub(crate) access: Access,
    pub(crate) old: Value,
    pub(crate) new: Value,
}

fn describe_access(access: Access, old: Value, new: Value) -> String {
    let shown = |value: Value| crate::report::shown(value);
    if access.is_write() {
        format!("{} {}→{}", access.as_str(), shown(old), shown(new))
    } else if new != Value::None {
        format!("{} saw {}", access.as_str(), shown(new))
    } else {
        access.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raceway_core::event::Direction::Inbound;

    #[test]
    fn edges_nobody_receives_take_bounded_room() {
        let mut hb = HappensBefore::new();
        let mut recorder = Recorder::new();
        let mut index = 0;
        let mut observe = |thread: u32, kind: Kind| {
            let event = Event::new(0, ThreadId::from_raw(thread), kind);
            let epoch = hb.observe(&event).epoch.expect("a thread's event");
            recorder.observe(&event, index, epoch, &hb);
            index += 1;
        };
        for i in 0..3 * MAX_PENDING as u32 {
            observe(1, Kind::Send { message: i.into() });
            observe(
                2,
                Kind::Spawn {
                    child: ThreadId::from_raw(1_000_000 + i),
                },
            );
            let response = Kind::HttpResponse {
                status: 200,
                duration_ns: 0,
                direction: Inbound,
                span: (i + 1).into(),
            };
            observe(3, response);
        }
        assert!(recorder.pending.len() <= MAX_PENDING);
        assert!(recorder.pending_order.len() <= MAX_PENDING);
        let spawns = recorder.pending.keys();
        let spawns = spawns.filter(|key| matches!(key, Key::Spawn(_))).count();
        assert_eq!(recorder.spawns_pending, spawns);
    }

    #[test]
    fn threads_that_vanish_without_an_end_take_bounded_room() {
        let mut hb = HappensBefore::new();
        let mut recorder = Recorder::new();
        for raw in 0..(MAX_LOGS + ENDED_KEPT) as u32 {
            // A send is logged; the thread's end is lost.
            let kind = Kind::Send {
                message: raw.into(),
            };
            let event = Event::new(0, ThreadId::from_raw(raw + 1), kind);
            let epoch = hb.observe(&event).epoch.expect("a thread's event");
            recorder.observe(&event, raw.into(), epoch, &hb);
            assert!(recorder.logs.len() <= MAX_LOGS + 1);
        }
    }

    #[test]
    fn a_burst_of_threads_leaves_a_bounded_spare() {
        let mut hb = HappensBefore::new();
        let mut recorder = Recorder::new();
        let mut index = 0;
        let mut observe = |raw: usize, kind: Kind| {
            let event = Event::new(0, ThreadId::from_raw(raw as u32 + 1), kind);
            let epoch = hb.observe(&event).epoch.expect("a thread's event");
            recorder.observe(&event, index, epoch, &hb);
            index += 1;
        };
        let burst = ENDED_KEPT + 2 * MAX_SPARE_LOGS;
        for raw in 0..burst {
            observe(raw, Kind::Send { message: 0 });
        }
        for raw in 0..burst {
            observe(raw, Kind::ThreadEnd);
        }
        assert!(recorder.spare.len() <= MAX_SPARE_LOGS);
    }

    #[test]
    fn a_lock_per_object_takes_bounded_room() {
        let mut hb = HappensBefore::new();
        let mut recorder = Recorder::new();
        let thread = ThreadId::from_raw(1);
        let lock_kind = raceway_core::LockKind::Mutex;
        for (index, object) in (0..MAX_LOCKS as u64 + 1_000).enumerate() {
            let lock = Name::forgotten(object);
            for kind in [
                Kind::LockAcquire { lock, lock_kind },
                Kind::LockRelease { lock, lock_kind },
            ] {
                let event = Event::new(0, thread, kind);
                let epoch = hb.observe(&event).epoch.expect("a thread's event");
                recorder.observe(&event, index as u64, epoch, &hb);
            }
        }
        assert!(recorder.locks.len() <= MAX_LOCKS);
        // The latest locks keep their names for the picture.
        let latest = Name::forgotten(MAX_LOCKS as u64 + 999).id();
        assert!(matches!(recorder.locks.get(&latest), Lookup::Found(_)));
    }
}
