//! Tokio tasks carrying the request's context with [`raceway::FutureExt::in_context`].
//!
//! One checkout request for cart 7 fans out into tasks on a multi-thread runtime. Each task gets
//! a [child](raceway::Context::child) of the request's context (a spawn edge, its own logical
//! thread), and the wrapper enters that context on every poll, whichever worker thread polls it.
//!
//! * Two concurrent branches — pricing the items and applying a coupon — both update
//!   `cart.7.total` with read-add-write and nothing orders them: reported (and one of the two
//!   updates can be lost).
//! * A shipping task writes `cart.7.shipping`; the request awaits it and records the join
//!   ([`raceway::Context::join`]) before reading the value: ordered, not reported.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use raceway::{Client, Context, FutureExt};

/// The cart both branches update (the real values, untracked).
#[derive(Debug, Default)]
struct Cart {
    total: AtomicI64,
    shipping: AtomicI64,
}

impl Cart {
    /// Read, yield to the runtime (as an `.await` on a database would), write back.
    async fn add_to_total(&self, amount: i64) {
        let before = self.total.load(Ordering::SeqCst);
        raceway::track_read("cart.7.total", before);
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.total.store(before + amount, Ordering::SeqCst);
        raceway::track_write("cart.7.total", before, before + amount);
    }
}

/// The cart after checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The total: 4 500 if both updates landed.
    pub total: i64,
    /// The shipping cost the request read after joining the shipping task.
    pub shipping: i64,
}

/// Runs one checkout request on a fresh multi-thread tokio runtime.
pub fn run(client: &Client) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime starts");
    let request = client.start_trace();
    runtime.block_on(checkout(Arc::new(Cart::default())).in_context(request))
}

async fn checkout(cart: Arc<Cart>) -> Outcome {
    let request = Context::current().expect("checkout runs in the request's context");

    // Two concurrent branches: each a tokio task in a child context of the request.
    let pricing = request.child();
    let coupon = request.child();
    let branches = [
        tokio::spawn({
            let cart = Arc::clone(&cart);
            async move { cart.add_to_total(5_000).await }.in_context(pricing.clone())
        }),
        tokio::spawn({
            let cart = Arc::clone(&cart);
            async move { cart.add_to_total(-500).await }.in_context(coupon.clone())
        }),
    ];

    // A task whose result the request waits for.
    let shipping_task = request.child();
    let shipping = tokio::spawn({
        let cart = Arc::clone(&cart);
        async move {
            cart.shipping.store(499, Ordering::SeqCst);
            raceway::track_write("cart.7.shipping", 0, 499);
        }
        .in_context(shipping_task.clone())
    });
    shipping.await.expect("the shipping task does not panic");
    request.join(shipping_task); // the task's writes now happen before what follows
    let shipping = cart.shipping.load(Ordering::SeqCst);
    raceway::track_read("cart.7.shipping", shipping);

    for branch in branches {
        branch.await.expect("the branches do not panic");
    }
    request.join(pricing);
    request.join(coupon);
    let total = cart.total.load(Ordering::SeqCst);
    raceway::track_read("cart.7.total", total); // ordered after both branches: not a race
    Outcome { total, shipping }
}
