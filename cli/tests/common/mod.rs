//! Shared by the CLI tests: a bank account updated by real threads through a real `Recorder`,
//! capture files written with `CaptureWriter`, and a runner for the real `raceway` binary that
//! never waits longer than a limit.
#![allow(dead_code)] // Each test file uses a different part.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use raceway_core::recorder::Recorder;
use raceway_core::ring::{Ring, Slot};
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_transport_uart::capture::{CaptureWriter, HEADER};

/// The variable the bank's threads update.
pub const BALANCE: &str = "balance";

type BankRecorder = Recorder<Box<[Slot]>>;

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// What the bank's threads recorded.
#[derive(Debug)]
pub struct Recording {
    /// Every event, in ring order.
    pub events: Vec<Event>,
    /// The source lines of the deposit's and the withdrawal's writes of the balance.
    pub write_lines: [u32; 2],
}

/// Two threads update one balance, a deposit and a withdrawal, each a read then a write. With
/// `guarded` they hold a mutex around it (and record the lock); without, they race: the
/// classic lost update. The main thread spawns and joins them, recording both edges.
pub fn bank(guarded: bool) -> Recording {
    let recorder: Arc<BankRecorder> = Arc::new(Recorder::new(Ring::with_capacity(256), unix_nanos));
    let account = Arc::new(Account {
        unguarded: AtomicI64::new(100),
        guarded: Mutex::new(100),
    });
    let main = recorder.new_thread();
    recorder.record(main, balance(Access::Write, Value::None, 100));

    let mut children = Vec::new();
    for change in [Change::Deposit(50), Change::Withdraw(30)] {
        let child = recorder.new_thread();
        recorder.record(main, Kind::Spawn { child });
        let (recorder, account) = (Arc::clone(&recorder), Arc::clone(&account));
        let handle = thread::spawn(move || {
            if guarded {
                account.update_guarded(&recorder, child, change);
            } else {
                account.update_unguarded(&recorder, child, change);
            }
        });
        children.push((child, handle));
    }
    for (child, handle) in children {
        handle.join().expect("a bank thread panicked");
        recorder.record(main, Kind::Join { child });
    }
    let last = account.unguarded.load(Ordering::Relaxed);
    recorder.record(main, balance(Access::Read, Value::None, last));

    let events: Vec<Event> = recorder.consumer().expect("one consumer").collect();
    let write_lines: Vec<u32> = events
        .iter()
        .filter(|e| e.thread != main)
        .filter(|e| {
            matches!(
                e.kind,
                Kind::StateChange {
                    access: Access::Write,
                    ..
                }
            )
        })
        .map(|e| e.location.line())
        .collect();
    let write_lines = write_lines.try_into().expect("one write per bank thread");
    Recording {
        events,
        write_lines,
    }
}

struct Account {
    /// Updated with a load and a later store: atomic only so that Rust stays sound.
    unguarded: AtomicI64,
    guarded: Mutex<i64>,
}

impl Account {
    fn update_unguarded(&self, recorder: &BankRecorder, me: ThreadId, change: Change) {
        let old = self.unguarded.load(Ordering::Relaxed);
        recorder.record(me, balance(Access::Read, Value::None, old));
        thread::yield_now();
        let new = change.apply(old);
        self.unguarded.store(new, Ordering::Relaxed);
        change.record_write(recorder, me, old, new);
    }

    fn update_guarded(&self, recorder: &BankRecorder, me: ThreadId, change: Change) {
        let (lock, lock_kind) = ("accounts".into(), LockKind::Mutex);
        let mut held = self.guarded.lock().expect("not poisoned");
        recorder.record(me, Kind::LockAcquire { lock, lock_kind });
        let old = *held;
        recorder.record(me, balance(Access::Read, Value::None, old));
        *held = change.apply(old);
        change.record_write(recorder, me, old, *held);
        // Recorded before the real release, as the std lock helpers do.
        recorder.record(me, Kind::LockRelease { lock, lock_kind });
        drop(held);
    }
}

/// What a bank thread does to the balance.
#[derive(Clone, Copy, Debug)]
enum Change {
    Deposit(i64),
    Withdraw(i64),
}

impl Change {
    fn apply(self, balance: i64) -> i64 {
        match self {
            Change::Deposit(amount) => balance + amount,
            Change::Withdraw(amount) => balance - amount,
        }
    }

    /// Deposits and withdrawals record their writes from different lines, so that a race
    /// between them names two source lines.
    fn record_write(self, recorder: &BankRecorder, me: ThreadId, old: i64, new: i64) {
        let write = balance(Access::Write, Value::I64(old), new);
        match self {
            Change::Deposit(_) => recorder.record(me, write),
            Change::Withdraw(_) => recorder.record(me, write),
        }
    }
}

fn balance(access: Access, old: Value, new: i64) -> Kind {
    Kind::StateChange {
        variable: BALANCE.into(),
        access,
        old,
        new: Value::I64(new),
    }
}

/// The events as a capture file's bytes.
pub fn capture(events: &[Event]) -> Vec<u8> {
    let mut writer = CaptureWriter::new(Vec::new()).expect("a Vec takes writes");
    writer
        .write_all(events.iter().copied())
        .expect("a Vec takes writes");
    writer.into_inner().expect("a Vec flushes")
}

/// The events as a device would send them over a UART: a capture without its file header.
pub fn raw_stream(events: &[Event]) -> Vec<u8> {
    capture(events)[HEADER.len()..].to_vec()
}

/// A fresh path in the test's scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("raceway-cli");
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Writes `bytes` to a fresh scratch file and returns its path.
pub fn file_with(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, bytes).expect("write a scratch file");
    path
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `raceway ARGS` with `stdin`, with no `RACEWAY_*` variables from the environment;
/// panics (after killing it) if it takes longer than `limit`.
pub fn raceway(args: &[&str], stdin: Option<Vec<u8>>, limit: Duration) -> Run {
    run(args, stdin, false, limit)
}

/// Runs `raceway bridge --input PATH --server URL`, stopped as [`raceway`] is after `limit`.
pub fn bridge_to_server(path: &Path, url: &str, limit: Duration) -> Run {
    let path = path.to_str().expect("a UTF-8 scratch path");
    raceway(&["bridge", "--input", path, "--server", url], None, limit)
}

/// Like [`raceway`], but standard input stays open after `stdin` was written, like a serial
/// line that went quiet: only the program itself can decide to stop.
pub fn raceway_with_open_stdin(args: &[&str], stdin: Vec<u8>, limit: Duration) -> Run {
    run(args, Some(stdin), true, limit)
}

fn run(args: &[&str], stdin: Option<Vec<u8>>, keep_open: bool, limit: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_raceway"))
        .args(args)
        .env_remove("RACEWAY_URL")
        .env_remove("RACEWAY_API_KEY")
        .env_remove("RACEWAY_SERVICE_NAME")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the raceway binary");
    let mut held_open = None;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        if keep_open {
            // Small enough for the pipe's buffer: the write does not wait for the reader.
            pipe.write_all(&bytes).expect("write to raceway's stdin");
            held_open = Some(pipe);
        } else {
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
    }
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("piped")));
    let stderr = collect(Box::new(child.stderr.take().expect("piped")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for raceway") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "raceway {args:?} still ran after {limit:?}; stderr: {}",
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    drop(held_open);
    Run {
        status: status
            .code()
            .expect("raceway exited, not killed by a signal"),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        took: started.elapsed(),
    }
}

/// How a source location of this file appears in reports.
pub fn site(line: u32) -> String {
    format!("cli/tests/common/mod.rs:{line}:")
}
