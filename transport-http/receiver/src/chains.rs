//! The `parent_id` links of the events received so far, followed as the server follows them.

use std::collections::HashMap;

use serde_json::Value;

use crate::ParentChains;

/// Each stored event's chain depth and parent, by id.
#[derive(Debug, Default)]
pub(crate) struct Chains {
    pub(crate) depths: HashMap<String, u32>,
    pub(crate) parents: HashMap<String, String>,
    /// The latest event's depth per `metadata.thread_id`.
    pub(crate) threads: HashMap<String, u32>,
    pub(crate) summary: ParentChains,
}

impl Chains {
    /// The depth of each of `events` (parents earlier in the slice count), without storing.
    pub(crate) fn measure(&self, events: &[Value]) -> Vec<u32> {
        let mut batch: HashMap<&str, u32> = HashMap::new();
        events
            .iter()
            .map(|event| {
                let depth = match event.get("parent_id").and_then(Value::as_str) {
                    None => 1,
                    Some(parent) => batch
                        .get(parent)
                        .or_else(|| self.depths.get(parent))
                        .map_or(1, |depth| depth + 1),
                };
                if let Some(id) = event.get("id").and_then(Value::as_str) {
                    batch.insert(id, depth);
                }
                depth
            })
            .collect()
    }

    pub(crate) fn store(&mut self, events: &[Value], depths: &[u32]) {
        for (event, &depth) in events.iter().zip(depths) {
            let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
            let thread = event
                .pointer("/metadata/thread_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let previous = self.threads.insert(thread.to_owned(), depth);
            match event.get("parent_id").and_then(Value::as_str) {
                None => {
                    self.summary.roots += 1;
                    self.summary.restarts_after.extend(previous);
                }
                Some(parent) => {
                    if !self.depths.contains_key(parent) {
                        self.summary.orphans.push(id.to_owned());
                    }
                    self.parents.insert(id.to_owned(), parent.to_owned());
                }
            }
            self.depths.insert(id.to_owned(), depth);
            self.summary.deepest = self.summary.deepest.max(depth);
        }
    }
}
