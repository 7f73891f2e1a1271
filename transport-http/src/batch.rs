//! Request bodies: `{"events":[…]}` holding whole encoded events, never over the server's limit.
//!
//! A [`Batch`] is built by the [`JsonEncoder`](crate::JsonEncoder) and consumed by the
//! [`HttpClient`](crate::HttpClient). It remembers where each event starts, so a batch the server
//! finds too large (413) can be split in halves without re-encoding anything.
//!
//! # Examples
//!
//! ```
//! use raceway_transport_http::{Batch, BatchLimits};
//!
//! let limits = BatchLimits::default();
//! assert_eq!(limits.max_bytes, raceway_transport_http::MAX_BODY_BYTES);
//! let empty = Batch::new();
//! assert_eq!(empty.body(), br#"{"events":[]}"#);
//! ```

use std::fmt;

/// The largest body the Raceway server accepts: 2 MiB (2,097,152 bytes); one byte more is 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

const HEAD: &[u8] = b"{\"events\":[";
const TAIL: &[u8] = b"]}";

/// How large a batch may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Events per batch (at least 1).
    pub max_events: usize,
    /// Bytes per request body (at most [`MAX_BODY_BYTES`] for the Raceway server).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    /// 100 events (the Go SDK's default) and the server's 2 MiB.
    fn default() -> Self {
        BatchLimits {
            max_events: 100,
            max_bytes: MAX_BODY_BYTES,
        }
    }
}

/// Whole encoded events in a request body `{"events":[…]}`, in stream order.
#[derive(Clone, PartialEq, Eq)]
pub struct Batch {
    /// `HEAD` + events joined by commas + `TAIL`.
    body: Vec<u8>,
    /// Where each event starts in `body`.
    starts: Vec<usize>,
}

impl Batch {
    /// An empty batch (`{"events":[]}`).
    pub fn new() -> Self {
        Batch::with_capacity(0, 0)
    }

    /// An empty batch with room for `events` events in a body of `body_bytes` bytes, so that
    /// filling it does not grow (and copy) the body again and again.
    pub(crate) fn with_capacity(body_bytes: usize, events: usize) -> Self {
        let mut body = Vec::with_capacity(body_bytes.max(HEAD.len() + TAIL.len()));
        body.extend_from_slice(HEAD);
        body.extend_from_slice(TAIL);
        Batch {
            body,
            starts: Vec::with_capacity(events),
        }
    }

    /// The body size of a batch holding only an event of `event_len` bytes.
    pub(crate) fn len_alone(event_len: usize) -> usize {
        HEAD.len() + event_len + TAIL.len()
    }

    /// A batch of already encoded events (each one complete JSON object), for tests and tools.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut batch = Batch::new();
        for event in events {
            batch.push(event);
        }
        batch
    }

    /// The request body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The body's size in bytes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The bytes the body holds without growing.
    #[cfg(test)]
    pub(crate) fn body_capacity(&self) -> usize {
        self.body.capacity()
    }

    /// The encoded events, in order.
    pub fn events(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| self.event(i))
    }

    /// The body size after pushing an event of `event_len` bytes.
    pub(crate) fn len_with(&self, event_len: usize) -> usize {
        self.body.len() + event_len + usize::from(!self.is_empty())
    }

    /// Appends one encoded event.
    pub(crate) fn push(&mut self, event: &[u8]) {
        self.body.truncate(self.body.len() - TAIL.len());
        if !self.is_empty() {
            self.body.push(b',');
        }
        self.starts.push(self.body.len());
        self.body.extend_from_slice(event);
        self.body.extend_from_slice(TAIL);
    }

    fn event(&self, i: usize) -> &[u8] {
        let end = match self.starts.get(i + 1) {
            Some(&next) => next - 1,
            None => self.body.len() - TAIL.len(),
        };
        &self.body[self.starts[i]..end]
    }

    /// Splits into two batches of about half the events each (the first keeps the earlier
    /// events, so parents still go first). A batch of one event comes back whole, with `None`.
    pub fn split(self) -> (Batch, Option<Batch>) {
        if self.len() < 2 {
            return (self, None);
        }
        let middle = self.len() / 2;
        let first = Batch::from_events((0..middle).map(|i| self.event(i)));
        let second = Batch::from_events((middle..self.len()).map(|i| self.event(i)));
        (first, Some(second))
    }
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("events", &self.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_split_keep_the_body_valid() {
        let events: Vec<String> = (0..5).map(|i| format!("{{\"n\":{i}}}")).collect();
        let batch = Batch::from_events(events.iter().map(|e| e.as_bytes()));
        assert_eq!(
            batch.body(),
            br#"{"events":[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}]}"#
        );
        assert_eq!(batch.len_with(7), batch.body_len() + 8);
        assert_eq!(
            Batch::len_alone(2),
            Batch::from_events([&b"{}"[..]]).body_len()
        );
        let (first, second) = batch.split();
        let second = second.unwrap();
        assert_eq!(first.body(), br#"{"events":[{"n":0},{"n":1}]}"#);
        assert_eq!(second.body(), br#"{"events":[{"n":2},{"n":3},{"n":4}]}"#);
        let (one, none) = Batch::from_events([&b"{}"[..]]).split();
        assert_eq!(one.len(), 1);
        assert!(none.is_none());
    }
}
