//! A context handed back and forth between OS threads (what an async task resumed on another
//! worker looks like) records into whichever thread's lane it runs on. Its events must still
//! reach the sink in program order, including when it comes back to a lane it used before.

mod common;

use std::sync::mpsc;

use raceway::{Context, Kind, Value};

#[test]
fn program_order_survives_moving_between_lanes() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let thread = ctx.thread_id();
    const HOPS: u64 = 40;
    const WRITES_PER_HOP: u64 = 3;

    // Two workers pass the context back and forth; each writes a few values, then hands over.
    let (to_a, at_a) = mpsc::channel::<(Context, u64)>();
    let (to_b, at_b) = mpsc::channel::<(Context, u64)>();
    let worker = |inbox: mpsc::Receiver<(Context, u64)>, outbox: mpsc::Sender<(Context, u64)>| {
        move || {
            // The worker that receives the final value keeps the context; the other one stops
            // when its inbox closes.
            while let Ok((ctx, mut value)) = inbox.recv() {
                if value >= HOPS * WRITES_PER_HOP {
                    return Some(ctx);
                }
                ctx.run(|| {
                    for _ in 0..WRITES_PER_HOP {
                        raceway::track_write("position", value, value + 1);
                        value += 1;
                    }
                });
                outbox.send((ctx, value)).expect("the other worker waits");
            }
            None
        }
    };
    to_a.send((ctx, 0)).unwrap();
    let a = std::thread::spawn(worker(at_a, to_b));
    let b = std::thread::spawn(worker(at_b, to_a));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(
        a.is_some() != b.is_some(),
        "exactly one worker ends with the context"
    );
    drop((a, b));

    let written: Vec<u64> = common::drained(&client, &captured)
        .iter()
        .filter(|e| e.thread == thread)
        .filter_map(|e| match e.kind {
            Kind::StateChange {
                new: Value::U64(n), ..
            } => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(written, (1..=HOPS * WRITES_PER_HOP).collect::<Vec<_>>());
}
