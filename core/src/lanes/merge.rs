//! The single consumer of the lanes: the happens-before merge that the [lanes' module
//! docs](super) argue for, and the bookkeeping that hands read slots back to their producers.

use alloc::vec::Vec;
use core::fmt;

use super::{LaneSlot, Lanes, Mark};
use crate::event::Event;
use crate::sync::Ordering;

/// The consumer tells a lane's producer how far it has read at least this often (in events).
const PUBLISH_EVERY: usize = 32;

/// The consumer's view of one lane.
struct Cursor {
    head: usize,
    /// How far the producer has been told the consumer read.
    published: usize,
    /// How far this visit of the lane may read (the tail read on arrival; while a global event
    /// waits, the tail read once it was seen, how far the lane must be emptied before it).
    end: usize,
    /// Where the lane's first unreported loss happened, as seen on arrival: its marker is due
    /// when the head gets there.
    loss_at: Option<usize>,
    slots: *const LaneSlot,
}

impl Cursor {
    /// Whether this visit may read another event.
    fn has_more(&self) -> bool {
        self.end.wrapping_sub(self.head) as isize > 0
    }
}

/// What the consumer found when it looked for the next ticket.
enum Seek {
    /// At a lane's head: the lanes are [bounded](LanesConsumer::bound) for it.
    Found,
    /// Not at any lane's head, but a plain event is: it was published after the last look.
    Plain,
    /// Nowhere yet: its producer is between taking the ticket and publishing the event, or
    /// nothing more is recorded.
    NotYet,
}

/// The single consumer of a [`Lanes`]: yields events in an order that respects happens-before
/// (see the [module docs](super)), with loss markers, and stops when nothing more is visible.
pub struct LanesConsumer<'a> {
    lanes: &'a Lanes,
    next_ticket: u64,
    /// One per lane in use, added as lanes come into use.
    cursors: Vec<Cursor>,
    /// A lane's progress is published whenever its head is a multiple of this plus one.
    publish_mask: usize,
    /// The lane being read.
    current: usize,
    /// Once the lane whose head holds `next_ticket` is found: that lane, then the lanes that
    /// hold events (or a loss) the ticket's event must wait for, and how many of them are done.
    /// Idle lanes are not in it, so a pass over it costs what the busy lanes hold, not what the
    /// lanes in use number. Empty while no ticket waits.
    bounded: Vec<usize>,
    bounded_done: usize,
    drained: u64,
}

impl fmt::Debug for LanesConsumer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LanesConsumer")
            .field("next_ticket", &self.next_ticket)
            .field("drained", &self.drained)
            .finish_non_exhaustive()
    }
}

impl<'a> LanesConsumer<'a> {
    /// The consumer of `lanes`, if no other consumer exists right now: see [`Lanes::consumer`].
    pub(super) fn new(lanes: &'a Lanes) -> Option<Self> {
        lanes
            .totals
            .taken
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        let mut consumer = LanesConsumer {
            lanes,
            next_ticket: lanes.totals.next_ticket.load(Ordering::Acquire),
            cursors: Vec::new(),
            publish_mask: (lanes.capacity / 4).clamp(1, PUBLISH_EVERY) - 1,
            current: 0,
            bounded: Vec::new(),
            bounded_done: 0,
            drained: lanes.totals.drained.load(Ordering::Acquire),
        };
        consumer.in_use();
        Some(consumer)
    }

    /// The next event or loss marker, or `None` if nothing more can be emitted yet.
    pub fn pop(&mut self) -> Option<Event> {
        // The common case: the lane being read has more plain events in this visit.
        if self.bounded.is_empty() {
            if let Some(event) = self.plain_head(self.current) {
                return Some(event);
            }
            // Next common: it holds the next ticket at its head. Seen published, so the search
            // over every lane in use has nothing to add: bound the lanes and wait for it.
            let current = self.current;
            if self.cursors[current].has_more() && self.ticket_at(current) == self.next_ticket {
                self.bound(current);
            }
        }
        loop {
            if let Some(&lane) = self.bounded.first() {
                if let Some(event) = self.next_bounded() {
                    return Some(event);
                }
                self.bounded.clear();
                self.next_ticket += 1;
                // Its lane's visit goes on after it.
                self.current = lane;
                return Some(self.take_head(lane));
            }
            if let Some(event) = self.next_plain() {
                return Some(event);
            }
            match self.find_next_ticket() {
                // Found: its wait starts at the top of the loop. Plain: published since the last
                // look, taken first.
                Seek::Found | Seek::Plain => {}
                Seek::NotYet => {
                    self.publish_all();
                    return None;
                }
            }
        }
    }

    /// Events published in the lanes this consumer reads and not taken yet.
    pub fn backlog(&self) -> usize {
        (self.lanes.lanes.iter().zip(&self.cursors))
            .map(|(lane, cursor)| {
                let tail = lane.producer.tail.load(Ordering::Acquire);
                tail.wrapping_sub(cursor.head)
            })
            .sum()
    }

    /// Whether this consumer has taken everything up to `mark`.
    pub fn reached(&self, mark: &Mark) -> bool {
        mark.0.iter().enumerate().all(|(index, &tail)| {
            let head = match self.cursors.get(index) {
                Some(cursor) => cursor.head,
                // Not read by this consumer yet: what earlier consumers published is exact.
                None => self.lanes.lanes[index]
                    .consumer
                    .head
                    .load(Ordering::Acquire),
            };
            tail.wrapping_sub(head) as isize <= 0
        })
    }

    /// How many lanes are in use, with a cursor for each.
    fn in_use(&mut self) -> usize {
        let in_use = self.lanes.in_use.load(Ordering::Acquire);
        for lane in &self.lanes.lanes[self.cursors.len()..in_use] {
            let head = lane.consumer.head.load(Ordering::Acquire);
            self.cursors.push(Cursor {
                head,
                published: head,
                end: head,
                loss_at: None,
                slots: core::ptr::null(),
            });
        }
        in_use
    }

    /// A visible plain event or loss marker from any lane, read lane after lane: each visit
    /// reads up to the tail seen on arrival.
    fn next_plain(&mut self) -> Option<Event> {
        let in_use = self.in_use();
        if self.current >= in_use {
            self.current = 0;
        }
        for _ in 0..=in_use {
            if let Some(event) = self.plain_head(self.current) {
                return Some(event);
            }
            self.publish(self.current);
            // The next lane, wrapping without a division: this runs once per lane in use for
            // every event that takes a ticket.
            self.current = if self.current + 1 == in_use {
                0
            } else {
                self.current + 1
            };
            let end = self.lanes.lanes[self.current]
                .producer
                .tail
                .load(Ordering::Acquire);
            self.arrive(self.current, end);
        }
        None
    }

    /// While a global event waits: the next loss marker or plain event of the lanes it bounds,
    /// each emptied up to its bound in turn.
    fn next_bounded(&mut self) -> Option<Event> {
        while let Some(&index) = self.bounded.get(self.bounded_done) {
            self.current = index;
            if let Some(event) = self.plain_head(index) {
                return Some(event);
            }
            self.publish(index);
            self.bounded_done += 1;
        }
        None
    }

    /// Starts a visit of lane `index` that may read up to `end`, and looks for unreported
    /// losses once for the whole visit. A loss noted later happens at or after the producer's
    /// tail, so at or after `end`: its marker is not due before the next visit.
    fn arrive(&mut self, index: usize, end: usize) {
        let cursor = &mut self.cursors[index];
        cursor.end = end;
        cursor.loss_at = self.lanes.lanes[index].losses.pending_at();
    }

    /// Lane `index`'s loss marker if it is due, else its head event if this visit may read it
    /// and it is plain.
    #[inline]
    fn plain_head(&mut self, index: usize) -> Option<Event> {
        let cursor = &mut self.cursors[index];
        let head = cursor.head;
        if cursor
            .loss_at
            .is_some_and(|at| head.wrapping_sub(at) as isize >= 0)
        {
            cursor.loss_at = None;
            if let Some(marker) = self.lanes.lanes[index].losses.marker(head) {
                return Some(marker);
            }
        }
        if !self.cursors[index].has_more() {
            return None;
        }
        let slot = self.slot(index);
        // SAFETY: published (head < tail seen with Acquire) and not yet handed back.
        if slot.ticket.with(|cell| unsafe { *cell }) != 0 {
            return None;
        }
        // SAFETY: as above.
        let event = slot.event.with(|cell| unsafe { (*cell).assume_init() });
        self.advance(index);
        Some(event)
    }

    /// Looks for the next ticket at every lane's head, and [bounds](Self::bound) the lanes for
    /// it when it is found.
    fn find_next_ticket(&mut self) -> Seek {
        let in_use = self.in_use();
        let mut plain = false;
        let found = (0..in_use).find(|&index| {
            let tail = self.lanes.lanes[index]
                .producer
                .tail
                .load(Ordering::Acquire);
            self.arrive(index, tail);
            if self.cursors[index].head == tail {
                return false;
            }
            let ticket = self.ticket_at(index);
            plain |= ticket == 0;
            ticket == self.next_ticket
        });
        let Some(found) = found else {
            return if plain { Seek::Plain } else { Seek::NotYet };
        };
        self.bound(found);
        Seek::Found
    }

    /// Bounds what must come out before the next ticket, seen published at lane `found`'s
    /// head: everything published before it is visible now. Every other lane's visit is made
    /// to end at the tail it has now, so that a busy lane can't keep the global event waiting;
    /// that includes lanes first leased after `in_use` was last read, by a thread the global
    /// event's producer synchronised with. Lanes with nothing to read, no loss to report and no
    /// progress to publish are left out of [`bounded`](Self::bounded): visiting them would do
    /// nothing. Lane `found` comes first, for a loss marker due at its head; its own visit goes
    /// on (the ticket at its head keeps what follows from coming out before it).
    fn bound(&mut self, found: usize) {
        let in_use = self.in_use();
        self.bounded.clear();
        self.bounded.push(found);
        self.bounded_done = 0;
        for (index, (lane, cursor)) in self.lanes.lanes[..in_use]
            .iter()
            .zip(self.cursors.iter_mut())
            .enumerate()
        {
            if index == found {
                continue;
            }
            // As `arrive` does: the losses are looked for after the tail is read.
            let tail = lane.producer.tail.load(Ordering::Acquire);
            let loss_at = lane.losses.pending_at();
            if tail != cursor.head || loss_at.is_some() || cursor.published != cursor.head {
                cursor.end = tail;
                cursor.loss_at = loss_at;
                self.bounded.push(index);
            }
        }
    }

    fn slots(&mut self, index: usize) -> *const LaneSlot {
        let cursor = &mut self.cursors[index];
        if cursor.slots.is_null() {
            cursor.slots = self.lanes.lanes[index]
                .producer
                .slots
                .load(Ordering::Acquire);
        }
        cursor.slots
    }

    /// The ticket of lane `index`'s head event, which must be published.
    fn ticket_at(&mut self, index: usize) -> u64 {
        let slot = self.slot(index);
        // SAFETY: published (head < tail seen with Acquire) and not yet handed back.
        slot.ticket.with(|cell| unsafe { *cell })
    }

    #[inline]
    fn slot(&mut self, index: usize) -> &'a LaneSlot {
        let slots = self.slots(index);
        let position = self.cursors[index].head & (self.lanes.capacity - 1);
        // SAFETY: the lane has been used, so its slots are allocated, `capacity` of them.
        unsafe { &*slots.add(position) }
    }

    /// Takes lane `index`'s head event, which must be published.
    fn take_head(&mut self, index: usize) -> Event {
        let slot = self.slot(index);
        // SAFETY: published (Release/Acquire on the tail) and not yet handed back.
        let event = slot.event.with(|cell| unsafe { (*cell).assume_init() });
        self.advance(index);
        event
    }

    /// Hands lane `index`'s head slot back to its producer.
    #[inline]
    fn advance(&mut self, index: usize) {
        let cursor = &mut self.cursors[index];
        cursor.head = cursor.head.wrapping_add(1);
        self.drained += 1;
        if cursor.head & self.publish_mask == 0 {
            self.publish(index);
        }
    }

    /// Tells lane `index`'s producer (and [`Lanes::stats`]) how far the consumer has read.
    /// Done every [`PUBLISH_EVERY`] events (a quarter of a small lane), when leaving a lane and
    /// when stopping, not on every event: a producer whose lane is nearly full reads it, and a
    /// store per event would pull that line back and forth.
    fn publish(&mut self, index: usize) {
        let cursor = &mut self.cursors[index];
        if cursor.published != cursor.head {
            cursor.published = cursor.head;
            self.lanes.lanes[index]
                .consumer
                .head
                .store(cursor.head, Ordering::Release);
            self.lanes
                .totals
                .drained
                .store(self.drained, Ordering::Release);
        }
    }

    fn publish_all(&mut self) {
        for index in 0..self.cursors.len() {
            self.publish(index);
        }
    }
}

impl Iterator for LanesConsumer<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.pop()
    }
}

impl Drop for LanesConsumer<'_> {
    fn drop(&mut self) {
        self.publish_all();
        let totals = &self.lanes.totals;
        totals
            .next_ticket
            .store(self.next_ticket, Ordering::Release);
        totals.taken.store(0, Ordering::Release);
    }
}
