//! A request hands work to a background worker that outlives it: a detached context.
//!
//! The request handler builds report 7, queues it for a worker thread and answers at once; the
//! worker renders the report after the request is gone. [`raceway::Context::detach`] gives the
//! worker a logical thread of its own in the same trace, with a spawn edge from the request: what
//! the request did *before* the hand-off happens before everything the worker does, what it does
//! *after* is concurrent with the worker, and nobody joins the worker.
//!
//! * `report.7.rows` — written by the request before the hand-off, read by the worker: ordered,
//!   not reported.
//! * `report.7.status` — set to `"queued"` by the request after the hand-off, and to `"done"` by
//!   the worker, unsynchronised: reported. Depending on timing the final status is `"done"` or,
//!   wrongly, `"queued"` forever.

use std::sync::mpsc;
use std::sync::Mutex;

use raceway::{Client, Context};

/// The store both sides use (think of a database table): the real values, untracked.
#[derive(Debug)]
struct Store {
    rows: Mutex<i64>,
    status: Mutex<&'static str>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            rows: Mutex::new(0),
            status: Mutex::new("new"),
        }
    }
}

/// A job for the worker: the detached context travels with the work.
struct Job {
    context: Context,
}

/// What the run ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Rows the worker rendered.
    pub rendered_rows: i64,
    /// The report's final status.
    pub final_status: &'static str,
}

/// One request queues report 7 for a worker thread and returns; the worker renders it.
pub fn run(client: &Client) -> Outcome {
    let store = std::sync::Arc::new(Store::default());
    let (queue, jobs) = mpsc::channel::<Job>();

    // A long-lived worker thread, as a job queue would have. It has no context of its own: each
    // job brings the detached context of the request that queued it.
    let worker = std::thread::spawn({
        let store = std::sync::Arc::clone(&store);
        move || {
            let mut rendered = 0;
            for job in jobs {
                let _entered = job.context.enter();
                let rows = *store.rows.lock().unwrap();
                raceway::track_read("report.7.rows", rows); // ordered: written before the hand-off
                rendered = rows;
                let old = std::mem::replace(&mut *store.status.lock().unwrap(), "done");
                raceway::track_write("report.7.status", raceway::text(old), raceway::text("done"));
                // races with the request
            }
            rendered
        }
    });

    // The request: its own trace, as the middleware would start it.
    let request = client.start_trace();
    request.run(|| {
        *store.rows.lock().unwrap() = 1_250;
        raceway::track_write("report.7.rows", 0, 1_250);

        // The hand-off: same trace, new logical thread, spawn edge from here.
        let background = request.detach();
        queue
            .send(Job {
                context: background,
            })
            .expect("the worker is running");

        // After the hand-off nothing orders this with the worker: it may overwrite "done".
        let old = std::mem::replace(&mut *store.status.lock().unwrap(), "queued");
        raceway::track_write(
            "report.7.status",
            raceway::text(old),
            raceway::text("queued"),
        );
    });
    drop(request); // the request is over; the worker carries on

    drop(queue);
    let rendered_rows = worker.join().expect("the worker does not panic");
    let final_status = *store.status.lock().unwrap();
    Outcome {
        rendered_rows,
        final_status,
    }
}
