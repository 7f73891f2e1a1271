//! `raceway::track_function_async` records the call when the future is first polled (not when
//! it is made), the return when it completes with the output as its value, and a duration that
//! covers the whole run across `.await`s.

mod common;

use std::time::{Duration, Instant};

use raceway::{FutureExt, Kind, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_covers_the_run_and_the_return_carries_the_output() {
    let (client, captured) = common::client();
    let request = client.start_trace();
    let inner_run = std::sync::Mutex::new(Duration::ZERO);
    let output = async {
        let priced = raceway::track_function_async("price", async {
            let started = Instant::now();
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::task::yield_now().await;
            *inner_run.lock().unwrap() = started.elapsed();
            Some(40u64)
        });
        raceway::track_custom("made", 1); // after the future is made, before it runs
        priced.await
    }
    .in_context(request.clone())
    .await;
    assert_eq!(output, Some(40));
    let inner_run = *inner_run.lock().unwrap();

    let kinds = common::kinds_of(&common::drained(&client, &captured), request.thread_id());
    let made = kinds
        .iter()
        .position(|k| matches!(k, Kind::Custom { name: "made", .. }));
    let call = kinds.iter().position(|k| {
        matches!(
            k,
            Kind::FunctionCall {
                function: "price",
                ..
            }
        )
    });
    let returned = kinds
        .iter()
        .find_map(|k| match k {
            Kind::FunctionReturn {
                function: "price",
                duration_ns,
                value,
            } => Some((*duration_ns, *value)),
            _ => None,
        })
        .unwrap();
    assert!(made.unwrap() < call.unwrap(), "{kinds:?}");
    // The recorded duration contains the run the future measured itself.
    assert!(u128::from(returned.0) >= inner_run.as_nanos());
    assert_eq!(returned.1, Value::U64(40));
}

impl raceway::ReturnValue for Priced {
    fn return_value(&self) -> Value {
        Value::U64(self.0)
    }
}

struct Priced(u64);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_is_the_return_value() {
    let (client, captured) = common::client();
    let request = client.start_trace();
    let (a, b) = async {
        let a = raceway::track_function_async("count", async { 3u32 }).await;
        let b = raceway::track_function_async("price", async { Priced(40) }).await;
        (a, b.0)
    }
    .in_context(request.clone())
    .await;
    assert_eq!((a, b), (3, 40));
    let values: Vec<_> =
        common::kinds_of(&common::drained(&client, &captured), request.thread_id())
            .into_iter()
            .filter_map(|k| match k {
                Kind::FunctionReturn {
                    function, value, ..
                } => Some((function, value)),
                _ => None,
            })
            .collect();
    assert_eq!(
        values,
        [("count", Value::U64(3)), ("price", Value::U64(40))]
    );
}
