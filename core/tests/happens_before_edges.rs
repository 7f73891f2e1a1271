//! Replaying event streams as real threads record them yields exactly the happens-before edges
//! of locks, spawn/join, messages and HTTP exchanges, and says when it cannot be sure.

use raceway_core::causality::{HappensBefore, Observed, MAX_LOST_KEYS, MAX_PENDING_MESSAGES};
use raceway_core::clock::{Epoch, Incarnation};
use raceway_core::event::Direction;
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

const A: ThreadId = ThreadId::from_raw(1);
const B: ThreadId = ThreadId::from_raw(2);
const C: ThreadId = ThreadId::from_raw(3);
const D: ThreadId = ThreadId::from_raw(4);
const E: ThreadId = ThreadId::from_raw(5);

/// The replay, plus a clock for the stream's timestamps.
struct Stream {
    hb: HappensBefore,
    time: u64,
}

impl Stream {
    fn new() -> Self {
        Stream {
            hb: HappensBefore::new(),
            time: 0,
        }
    }

    fn record(&mut self, thread: ThreadId, kind: Kind) -> Observed {
        self.time += 1;
        self.hb.observe(&Event::new(self.time, thread, kind))
    }

    fn access(&mut self, thread: ThreadId, access: Access) -> Epoch {
        let kind = Kind::StateChange {
            variable: "balance".into(),
            access,
            old: Value::None,
            new: Value::I64(1),
        };
        self.record(thread, kind)
            .epoch
            .expect("threads' events have epochs")
    }

    fn write(&mut self, thread: ThreadId) -> Epoch {
        self.access(thread, Access::Write)
    }

    fn read(&mut self, thread: ThreadId) -> Epoch {
        self.access(thread, Access::Read)
    }

    fn acquire(&mut self, thread: ThreadId, lock_kind: LockKind) {
        self.record(
            thread,
            Kind::LockAcquire {
                lock: "accounts".into(),
                lock_kind,
            },
        );
    }

    fn release(&mut self, thread: ThreadId, lock_kind: LockKind) {
        self.record(
            thread,
            Kind::LockRelease {
                lock: "accounts".into(),
                lock_kind,
            },
        );
    }

    fn http(&mut self, thread: ThreadId, response: bool, direction: Direction, span: u64) {
        let kind = if response {
            Kind::HttpResponse {
                status: 200,
                duration_ns: 1,
                direction,
                span,
            }
        } else {
            Kind::HttpRequest {
                method: "POST",
                url: Value::None,
                direction,
                span,
            }
        };
        self.record(thread, kind);
    }

    /// Whether the event with `epoch` happens before `thread`'s latest event.
    fn ordered(&self, epoch: Epoch, thread: ThreadId) -> bool {
        let clock = self.hb.clock(thread).expect("thread has recorded");
        self.hb.happens_before(epoch, clock)
    }
}

#[test]
fn a_lock_orders_writes_in_both_critical_sections() {
    for lock_kind in [
        LockKind::Mutex,
        LockKind::RwWrite,
        LockKind::CriticalSection,
    ] {
        let mut s = Stream::new();
        s.acquire(A, lock_kind);
        let first = s.write(A);
        s.release(A, lock_kind);
        s.acquire(B, lock_kind);
        let second = s.write(B);
        assert!(s.ordered(first, B), "{lock_kind:?}");
        assert!(!s.ordered(second, A), "{lock_kind:?}");
    }
}

#[test]
fn the_same_lock_name_in_another_string_is_the_same_lock() {
    let mut s = Stream::new();
    let name: &str = String::from("accounts").leak();
    s.record(
        A,
        Kind::LockAcquire {
            lock: name.into(),
            lock_kind: LockKind::Mutex,
        },
    );
    let first = s.write(A);
    s.record(
        A,
        Kind::LockRelease {
            lock: name.into(),
            lock_kind: LockKind::Mutex,
        },
    );
    s.acquire(B, LockKind::Mutex);
    s.write(B);
    assert!(s.ordered(first, B));
}

#[test]
fn writes_without_a_lock_are_concurrent() {
    let mut s = Stream::new();
    let first = s.write(A);
    let second = s.write(B);
    assert!(!s.ordered(first, B));
    assert!(!s.ordered(second, A));
}

#[test]
fn a_different_lock_does_not_order() {
    let mut s = Stream::new();
    s.acquire(A, LockKind::Mutex);
    let first = s.write(A);
    s.release(A, LockKind::Mutex);
    s.record(
        B,
        Kind::LockAcquire {
            lock: "other".into(),
            lock_kind: LockKind::Mutex,
        },
    );
    s.write(B);
    assert!(!s.ordered(first, B));
}

#[test]
fn readers_do_not_order_each_other_but_a_later_writer_is_ordered_after_both() {
    let mut s = Stream::new();
    // Two readers holding the lock at the same time, released in either order.
    s.acquire(A, LockKind::RwRead);
    s.acquire(B, LockKind::RwRead);
    let read_a = s.read(A);
    let read_b = s.read(B);
    s.release(B, LockKind::RwRead);
    s.release(A, LockKind::RwRead);
    assert!(!s.ordered(read_a, B));
    assert!(!s.ordered(read_b, A));

    // A reader after a released reader is not ordered after it either.
    s.acquire(B, LockKind::RwRead);
    s.read(B);
    assert!(!s.ordered(read_a, B));
    s.release(B, LockKind::RwRead);

    s.acquire(C, LockKind::RwWrite);
    let write = s.write(C);
    assert!(s.ordered(read_a, C));
    assert!(s.ordered(read_b, C));
    s.release(C, LockKind::RwWrite);

    // A reader after the writer is ordered after the writer (and so after the earlier readers).
    s.acquire(A, LockKind::RwRead);
    s.read(A);
    assert!(s.ordered(write, A));
    assert!(s.ordered(read_b, A));
}

#[test]
fn a_spawned_child_starts_after_the_parents_earlier_events() {
    let mut s = Stream::new();
    let before = s.write(A);
    s.record(A, Kind::Spawn { child: B });
    let after = s.write(A);
    let child = s.write(B);
    assert!(s.ordered(before, B));
    assert!(
        !s.ordered(after, B),
        "the parent's later events race with the child"
    );
    assert!(!s.ordered(child, A));
}

#[test]
fn a_join_orders_the_childs_events_before_the_parents_later_ones() {
    let mut s = Stream::new();
    s.record(A, Kind::Spawn { child: B });
    let parent_before = s.write(A);
    let child = s.write(B);
    assert!(!s.ordered(child, A));
    assert!(!s.ordered(parent_before, B));
    s.record(A, Kind::Join { child: B });
    s.write(A);
    assert!(s.ordered(child, A));
    assert!(!s.hb.uncertain());
}

#[test]
fn a_receive_is_ordered_after_its_send() {
    let mut s = Stream::new();
    let sent = s.write(A);
    s.record(A, Kind::Send { message: 42 });
    let early = s.write(B);
    s.record(B, Kind::Receive { message: 42 });
    s.write(B);
    assert!(s.ordered(sent, B));
    assert!(!s.ordered(early, A));

    // Another message id carries no edge.
    let later = s.write(A);
    s.record(A, Kind::Send { message: 43 });
    s.record(B, Kind::Receive { message: 44 });
    assert!(!s.ordered(later, B));
}

#[test]
fn an_http_exchange_orders_request_and_response() {
    let mut s = Stream::new();
    // A is the client, B the server.
    let before_call = s.write(A);
    s.http(A, false, Direction::Outbound, 9);
    s.http(B, false, Direction::Inbound, 9);
    let handled = s.write(B);
    assert!(s.ordered(before_call, B));
    assert!(
        !s.ordered(handled, A),
        "the client has not seen the response yet"
    );
    s.http(B, true, Direction::Inbound, 9);
    s.http(A, true, Direction::Outbound, 9);
    s.write(A);
    assert!(s.ordered(handled, A));
}

#[test]
fn answers_to_untraced_clients_take_no_room_from_a_pending_call() {
    let mut s = Stream::new();
    let before_call = s.write(A);
    s.http(A, false, Direction::Outbound, 1);
    // Meanwhile B serves many more requests than pending edges are kept, each from a client
    // that sent no trace context: nobody is waiting for those answers.
    for request in 0..2 * MAX_PENDING_MESSAGES as u32 {
        let context = ThreadId::from_raw(100 + request);
        s.http(
            context,
            false,
            Direction::Inbound,
            1_000 + u64::from(request),
        );
        s.http(
            context,
            true,
            Direction::Inbound,
            1_000 + u64::from(request),
        );
        s.record(context, Kind::ThreadEnd);
    }
    assert_eq!(s.hb.evicted_edges(), 0);
    // The traced call still reaches its callee, and the callee's answer its caller.
    s.http(B, false, Direction::Inbound, 1);
    let handled = s.write(B);
    assert!(s.ordered(before_call, B));
    s.http(B, true, Direction::Inbound, 1);
    s.http(A, true, Direction::Outbound, 1);
    s.write(A);
    assert!(s.ordered(handled, A));
    assert!(!s.hb.uncertain());
}

#[test]
fn http_without_a_span_carries_no_edge() {
    let mut s = Stream::new();
    let before_call = s.write(A);
    s.http(A, false, Direction::Outbound, 0);
    s.http(B, false, Direction::Inbound, 0);
    s.write(B);
    assert!(!s.ordered(before_call, B));
}

#[test]
fn a_dropped_marker_makes_everything_after_it_uncertain() {
    let mut s = Stream::new();
    s.acquire(A, LockKind::Mutex);
    assert!(
        !s.record(
            A,
            Kind::Custom {
                name: "x",
                data: Value::None
            }
        )
        .uncertain
    );
    let marker = s.hb.observe(&Event::dropped(5));
    assert_eq!(
        marker,
        Observed {
            epoch: None,
            held: None,
            uncertain: true
        }
    );
    // The release may have been among the lost events: B's write cannot be trusted either way.
    s.acquire(B, LockKind::Mutex);
    let after = s.record(
        B,
        Kind::Custom {
            name: "x",
            data: Value::None,
        },
    );
    assert!(after.uncertain);
    assert!(s.hb.uncertain());
    s.hb.observe(&Event::dropped(2));
    assert_eq!(s.hb.dropped_events(), 7);
}

#[test]
fn a_full_clock_says_what_it_forgot_and_keeps_epochs_exact() {
    let mut hb = HappensBefore::<2>::new();
    let mut last = None;
    for thread in 1..=4 {
        let thread = ThreadId::from_raw(thread);
        hb.observe(&Event::new(
            0,
            thread,
            Kind::LockAcquire {
                lock: "l".into(),
                lock_kind: LockKind::Mutex,
            },
        ));
        let write = hb.observe(&Event::new(
            0,
            thread,
            Kind::Custom {
                name: "w",
                data: Value::None,
            },
        ));
        hb.observe(&Event::new(
            0,
            thread,
            Kind::LockRelease {
                lock: "l".into(),
                lock_kind: LockKind::Mutex,
            },
        ));
        last = Some((thread, write));
    }
    let (thread, write) = last.unwrap();
    assert!(
        !write.uncertain,
        "forgetting is per comparison, not per event"
    );
    assert_eq!(
        write.epoch,
        Some(Epoch {
            incarnation: Incarnation(4),
            tick: 2
        })
    );
    assert!(hb.overflowed());
    // Thread 4's clock holds 2 of the 4 threads: the oldest went, and it says so.
    let clock = hb.clock(thread).unwrap();
    assert!(clock.may_have_forgotten(Incarnation(1)));
    assert!(!clock.may_have_forgotten(Incarnation(3)));
    assert!(
        !hb.uncertain(),
        "overflow is per clock, not a stream-wide loss"
    );
}

#[test]
fn an_edge_evicted_before_its_receive_leaves_the_receiver_unsure_of_what_the_sender_knew() {
    let mut s = Stream::new();
    let sent = s.write(A);
    for message in 0..=MAX_PENDING_MESSAGES as u64 {
        s.record(A, Kind::Send { message });
    }
    assert_eq!(s.hb.evicted_edges(), 1);
    let after_eviction = s.write(C);

    let kept = s.record(
        B,
        Kind::Receive {
            message: MAX_PENDING_MESSAGES as u64,
        },
    );
    assert!(!kept.uncertain);
    assert!(s.ordered(sent, B));
    s.write(D);
    let lost = s.record(D, Kind::Receive { message: 0 });
    assert_eq!(s.hb.lost_edges(), 1);
    assert!(!s.ordered(sent, D));
    let clock = s.hb.clock(D).expect("D has recorded");
    assert!(
        s.hb.may_have_forgotten(sent, clock),
        "the lost edge could have ordered A's write"
    );
    assert!(
        !s.hb.may_have_forgotten(after_eviction, clock),
        "a run that started after the eviction is no business of the lost edge"
    );
    assert!(
        !lost.uncertain && !s.hb.uncertain(),
        "a lost edge is a per-comparison loss, not a stream-wide one"
    );
}

#[test]
fn a_receive_that_finds_nothing_after_edges_were_forgotten_may_have_lost_one() {
    let mut s = Stream::new();
    let sent = s.write(A);
    s.record(A, Kind::Send { message: 0 });
    // Before any edge is forgotten, a receive that finds nothing had no sender in the stream.
    s.record(B, Kind::Receive { message: u64::MAX });
    assert!(!s.hb.may_have_forgotten(sent, s.hb.clock(B).unwrap()));
    assert_eq!(s.hb.maybe_lost_edges(), 0);

    // Messages nobody receives (calls to an uninstrumented service): message 0 is evicted, a
    // new run starts, and more messages make the replay forget message 0 altogether.
    let mut unanswered = (1..).map(|message| Kind::Send { message });
    for kind in unanswered.by_ref().take(MAX_PENDING_MESSAGES) {
        s.record(C, kind);
    }
    assert_eq!(s.hb.evicted_edges(), 1);
    let later_run = s.write(E);
    for kind in unanswered.take(MAX_LOST_KEYS) {
        s.record(C, kind);
    }
    s.write(D);
    let missed = s.record(D, Kind::Receive { message: 0 });
    assert_eq!((s.hb.lost_edges(), s.hb.maybe_lost_edges()), (0, 1));
    let clock = s.hb.clock(D).expect("D has recorded");
    assert!(
        s.hb.may_have_forgotten(sent, clock),
        "a forgotten sender cannot be told from one outside the stream"
    );
    assert!(
        !s.hb.may_have_forgotten(later_run, clock),
        "runs that started after the forgotten edge's eviction stay certain"
    );
    assert!(!missed.uncertain && !s.hb.uncertain());
}

#[test]
fn a_forgotten_thread_frees_its_clock() {
    let mut s = Stream::new();
    s.write(A);
    assert!(s.hb.clock(A).is_some());
    s.hb.forget(A);
    assert!(s.hb.clock(A).is_none());
    assert!(!s.hb.uncertain());
}

#[test]
fn a_live_thread_evicted_for_capacity_goes_on_from_its_clock() {
    use raceway_core::causality::MAX_THREADS;
    let mut s = Stream::new();
    // The idlest thread received a message before it went quiet.
    let sent = s.write(C);
    s.record(C, Kind::Send { message: 7 });
    s.record(A, Kind::Receive { message: 7 });
    let first = s.write(A);
    for raw in 10..10 + MAX_THREADS as u32 {
        s.write(ThreadId::from_raw(raw));
    }
    assert_eq!(s.hb.evicted_threads(), (MAX_THREADS / 8) as u64);
    assert!(s.hb.clock(A).is_none(), "the idlest threads go first");
    assert!(s
        .hb
        .clock(ThreadId::from_raw(9 + MAX_THREADS as u32))
        .is_some());

    // A records again: a new run, which knows its own past and what that past knew.
    let again = s.record(A, Kind::Receive { message: 8 });
    assert!(!again.uncertain && !s.hb.uncertain());
    assert!(s.ordered(first, A) && s.ordered(sent, A));
    let clock = s.hb.clock(A).expect("A records again");
    assert!(!s.hb.may_have_forgotten(first, clock));
    assert_eq!(s.hb.lost_edges(), 0);
}
