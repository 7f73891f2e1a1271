//! Two tellers pay Bob at the same time: a lost update on his balance.
//!
//! Each deposit reads the balance, works out the new one, and writes it back. Without a lock two
//! tellers can read the same balance and one deposit silently vanishes. How often that happens
//! depends on the scheduler; the race report does not: the two tellers' accesses are ordered by
//! nothing (no lock, no join between them), so the analyzer reports the race on every run,
//! including the runs where no money happened to be lost.
//!
//! With [`Locking::Mutex`] every balance lives in a tracked [`raceway::sync::Mutex`]: its
//! release → acquire edges order one teller's deposit before the other's, and nothing is
//! reported.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use raceway::sync::Mutex;
use raceway::Client;

/// Transfers each teller makes.
pub const TRANSFERS: i64 = 20;
/// The amount of each transfer.
pub const AMOUNT: i64 = 10;
/// Every account's opening balance.
pub const OPENING: i64 = 1_000;

/// How the balances are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locking {
    /// Not at all: read, compute, write back (the bug).
    None,
    /// Each balance in a tracked mutex, held from the read to the write (the fix).
    Mutex,
}

/// One account: its balance kept both ways, so one type serves both runs.
#[derive(Debug)]
struct Account {
    /// The variable name the tracking calls use.
    variable: &'static str,
    racy: AtomicI64,
    locked: Mutex<i64>,
}

impl Account {
    const fn new(variable: &'static str, lock: &'static str) -> Self {
        Account {
            variable,
            racy: AtomicI64::new(OPENING),
            locked: Mutex::named(lock, OPENING),
        }
    }

    /// Adds `amount` (negative to withdraw) the way the buggy code does: read, then write back.
    fn add(&self, amount: i64, locking: Locking) {
        match locking {
            Locking::None => {
                let before = self.racy.load(Ordering::SeqCst);
                raceway::track_read(self.variable, before);
                // Widen the window between read and write, as a slow database round trip would.
                std::thread::sleep(Duration::from_micros(200));
                let after = before + amount;
                self.racy.store(after, Ordering::SeqCst);
                raceway::track_write(self.variable, before, after);
            }
            Locking::Mutex => {
                let mut balance = self.locked.lock().expect("no teller panics");
                let before = *balance;
                raceway::track_read(self.variable, before);
                std::thread::sleep(Duration::from_micros(200));
                *balance = before + amount;
                raceway::track_write(self.variable, before, *balance);
            } // the release is recorded, then the mutex unlocks
        }
    }

    fn balance(&self, locking: Locking) -> i64 {
        match locking {
            Locking::None => {
                let balance = self.racy.load(Ordering::SeqCst);
                raceway::track_read(self.variable, balance);
                balance
            }
            Locking::Mutex => {
                // Recorded while the guard is held, like every access the lock protects: the
                // Raceway server rebuilds lock sets from the acquire/release events around it.
                let balance = self.locked.lock().expect("no teller panics");
                raceway::track_read(self.variable, *balance);
                *balance
            }
        }
    }
}

/// The final balances, and what they should have been.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Alice's balance (only teller 1 touches it).
    pub alice: i64,
    /// Bob's balance (both tellers pay into it).
    pub bob: i64,
    /// Carol's balance (only teller 2 touches it).
    pub carol: i64,
}

impl Outcome {
    /// What Bob should have: his opening balance plus every transfer.
    pub const EXPECTED_BOB: i64 = OPENING + 2 * TRANSFERS * AMOUNT;

    /// Money that vanished: the lost deposits.
    pub fn lost(&self) -> i64 {
        3 * OPENING - (self.alice + self.bob + self.carol)
    }
}

/// Runs the bank under one trace: teller 1 moves money from Alice to Bob, teller 2 from Carol to
/// Bob, both at once on their own threads; then the main thread reads the balances.
pub fn run(client: &Client, locking: Locking) -> Outcome {
    const ALICE: usize = 0;
    const BOB: usize = 1;
    const CAROL: usize = 2;
    let accounts = Arc::new([
        Account::new("accounts.alice.balance", "accounts.alice"),
        Account::new("accounts.bob.balance", "accounts.bob"),
        Account::new("accounts.carol.balance", "accounts.carol"),
    ]);

    // One trace for the whole run; every thread spawned with `raceway::thread::spawn` gets its
    // own logical thread in it, with a spawn edge from here.
    let job = client.start_trace();
    job.run(|| {
        let tellers = [(ALICE, BOB), (CAROL, BOB)].map(|(from, to)| {
            let accounts = Arc::clone(&accounts);
            raceway::thread::spawn(move || {
                for _ in 0..TRANSFERS {
                    accounts[from].add(-AMOUNT, locking);
                    accounts[to].add(AMOUNT, locking);
                }
            })
        });
        for teller in tellers {
            // Joining records a join edge: the reads below are ordered after every deposit.
            teller.join().expect("no teller panics");
        }
        Outcome {
            alice: accounts[ALICE].balance(locking),
            bob: accounts[BOB].balance(locking),
            carol: accounts[CAROL].balance(locking),
        }
    })
}

/// What `cargo run --example bank` prints before the report.
pub fn describe(outcome: &Outcome, locking: Locking) -> String {
    let mut text = format!(
        "Two tellers each moved {TRANSFERS} x ${AMOUNT} into Bob's account at the same time{}.\n\
         balances: alice ${}, bob ${}, carol ${} (Bob should have ${})\n",
        match locking {
            Locking::None => " (read balance, add, write back: no lock)",
            Locking::Mutex => " (each deposit holds raceway::sync::Mutex)",
        },
        outcome.alice,
        outcome.bob,
        outcome.carol,
        Outcome::EXPECTED_BOB,
    );
    match outcome.lost() {
        0 => text.push_str("No money was lost this time."),
        lost => text.push_str(&format!(
            "${lost} vanished: {} deposits were overwritten by a concurrent one.",
            lost / AMOUNT
        )),
    }
    if locking == Locking::None {
        text.push_str(
            "\nWhether money vanishes depends on the scheduler; the report below does not: the \
             tellers' accesses are ordered by nothing, so Raceway reports the race on every run.",
        );
    }
    text
}
