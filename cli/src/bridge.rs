//! `raceway bridge`: a device's UART stream in, as it arrives; events out to a Raceway server,
//! the analyzer and/or a capture file.
//!
//! Three threads, each with one job, connected by bounded queues:
//!
//! ```text
//! reader thread ──chunks──▶ main loop ──batches──▶ delivery thread ──HTTP──▶ server
//!  (blocking read)           decode, analyze,        HttpClient::deliver,
//!                            save, encode, counters  bounded by --timeout
//! ```
//!
//! The main loop never blocks on input for longer than a progress tick, so counters refresh
//! and partial batches go out on time even on a quiet serial line. Forwarding applies
//! backpressure: when the delivery queue is full the main loop waits for it, which bounds
//! memory. A batch that cannot be delivered within `--timeout` (the client retries with
//! backoff inside that time), or a refused API key, stops forwarding for good with one clear
//! message: the bridge never waits on a dead server for longer than that.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use raceway_analyze::Analyzer;
use raceway_core::event::{Event, Kind, Site};
use raceway_transport_http::{
    Batch, DeliveryError, HttpClient, HttpClientConfig, JsonEncoder, JsonEncoderConfig,
};
use raceway_transport_uart::capture;
use raceway_transport_uart::decoder::{Item, Skipped};

use crate::args::BridgeOptions;
use crate::check::{describe, Damage};
use crate::stream::{loss_marker, Format, Stream};
use crate::Status;

/// Bytes asked for per read: a serial read returns what is there, a file read fills it.
const CHUNK: usize = 16 * 1024;
/// Chunks read ahead of the main loop.
const READ_AHEAD: usize = 16;
/// Batches waiting for the delivery thread.
const DELIVERY_QUEUE: usize = 8;
/// A partial batch goes out after this long.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Live counters refresh this often on a terminal...
const TTY_REFRESH: Duration = Duration::from_millis(250);
/// ...and this often into a log.
const LOG_REFRESH: Duration = Duration::from_secs(10);
/// Event times at or above this (2001-09-09 in Unix nanoseconds) are taken as Unix nanoseconds.
const UNIX_NANOS_FLOOR: u64 = 1_000_000_000_000_000_000;

/// Runs `raceway bridge`.
pub(crate) fn run(options: &BridgeOptions) -> Status {
    match Bridge::start(options) {
        Ok(bridge) => bridge.run(),
        Err(message) => {
            eprintln!("raceway: {message}");
            Status::InputError
        }
    }
}

/// Everything the main loop owns.
struct Bridge<'o> {
    options: &'o BridgeOptions,
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    stream: Stream,
    sinks: Sinks,
    save: Option<Save>,
    progress: Progress,
    /// Set when the input, the save file or a usage problem calls for exit status 2.
    input_failed: bool,
}

impl<'o> Bridge<'o> {
    /// Opens the input, the save file and the server connection; any failure is a message.
    fn start(options: &'o BridgeOptions) -> Result<Self, String> {
        let input: Box<dyn Read + Send> = if options.input == Path::new("-") {
            Box::new(io::stdin())
        } else {
            let file = File::open(&options.input).map_err(|error| {
                format!("cannot open the input {}: {error}", options.input.display())
            })?;
            Box::new(file)
        };
        let save = options.save.as_deref().map(Save::create).transpose()?;
        let clock_hz = Arc::new(AtomicU32::new(0));
        let forward = match &options.server {
            Some(server) => Some(Forwarder::start(options, server, Arc::clone(&clock_hz))?),
            None => None,
        };
        Ok(Bridge {
            options,
            chunks: spawn_reader(input),
            stream: Stream::new(),
            sinks: Sinks {
                analyzer: options.check.then(Analyzer::new),
                forward,
                clock_hz,
                counters: Counters::default(),
                damage: Damage::default(),
                damage_to_tell: Vec::new(),
            },
            save,
            progress: Progress::new(options.quiet),
            input_failed: false,
        })
    }

    fn run(mut self) -> Status {
        let mut last_input = Instant::now();
        let mut last_flush = Instant::now();
        let input = self.options.input.display().to_string();
        loop {
            match self.chunks.recv_timeout(TTY_REFRESH) {
                Ok(Ok(chunk)) => {
                    last_input = Instant::now();
                    self.sinks.counters.bytes += chunk.len() as u64;
                    let decoded = self.stream.feed(&chunk, &mut |item| self.sinks.item(item));
                    if let Err(error) = decoded {
                        self.progress.say(&format!("{input}: {error}"));
                        self.input_failed = true;
                        break;
                    }
                    self.save_chunk(&chunk);
                }
                Ok(Err(error)) => {
                    self.progress.say(&format!(
                        "reading {input} failed after {} bytes: {error}",
                        self.sinks.counters.bytes
                    ));
                    self.input_failed = true;
                    break;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(idle) = self.options.idle_timeout {
                        if last_input.elapsed() >= idle {
                            self.progress.say(&format!(
                                "no input for {} s: stopping (--idle-timeout)",
                                idle.as_secs_f64()
                            ));
                            break;
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break, // the end of the input
            }
            for skipped in self.sinks.damage_to_tell.drain(..) {
                self.progress
                    .say(&format!("{input}: {}", describe(&skipped)));
            }
            if last_flush.elapsed() >= FLUSH_INTERVAL {
                last_flush = Instant::now();
                if let Some(forward) = &mut self.sinks.forward {
                    forward.flush();
                }
                if let Some(save) = &mut self.save {
                    save.flush();
                }
            }
            if let Some(forward) = &mut self.sinks.forward {
                if let Some(message) = forward.failure_to_tell() {
                    self.progress.say(&message);
                    if !self.options.check && self.save.is_none() {
                        break; // nothing left to do
                    }
                }
            }
            self.report_save_failure();
            self.progress.tick(&self.sinks);
        }

        if !self.input_failed || self.stream.format().is_some() {
            if let Err(error) = self.stream.finish(&mut |item| self.sinks.item(item)) {
                self.progress.say(&format!("{input}: {error}"));
                self.input_failed = true;
            }
        }
        for skipped in self.sinks.damage_to_tell.drain(..) {
            self.progress
                .say(&format!("{input}: {}", describe(&skipped)));
        }
        let c = &self.sinks.counters;
        if c.headers == 0 && c.events == 0 && self.sinks.damage.regions > 0 {
            let message = format!(
                "{input}: no Raceway frames in {} bytes: not a Raceway stream, or the wrong \
                 serial settings (see `raceway help bridge`)",
                c.bytes
            );
            self.progress.say(&message);
            self.input_failed = true;
        }
        self.finish()
    }

    /// Writes `chunk` to the save file, once the input's own capture header (if any) is known.
    fn save_chunk(&mut self, chunk: &[u8]) {
        if let Some(save) = &mut self.save {
            save.write(chunk, self.stream.format());
        }
    }

    fn report_save_failure(&mut self) {
        if let Some(save) = &mut self.save {
            if let Some(message) = save.failure.take() {
                self.progress.say(&message);
                self.input_failed = true;
            }
        }
    }

    /// Delivers what is left, prints the summary and the report, and picks the exit status.
    fn finish(mut self) -> Status {
        let mut delivery_failed = false;
        let mut forwarded = None;
        if let Some(forward) = self.sinks.forward.take() {
            let server = forward.server.clone();
            let (stats, message) = forward.finish();
            if let Some(message) = message {
                self.progress.say(&message);
            }
            delivery_failed = stats.undelivered > 0;
            forwarded = Some((server, stats));
        }
        if let Some(save) = &mut self.save {
            save.flush();
        }
        self.report_save_failure();
        self.progress.clear();

        let c = &self.sinks.counters;
        let mut summary = format!(
            "raceway bridge: {} bytes, {} events, {} bytes skipped in {} regions, {} events lost \
             on the device",
            c.bytes, c.events, self.sinks.damage.bytes, self.sinks.damage.regions, c.device_dropped
        );
        if let Some((server, stats)) = &forwarded {
            summary += &format!(
                "; {} events sent to {server}, {} not delivered",
                stats.sent, stats.undelivered
            );
        }
        if let Some(save) = &self.save {
            summary += &format!("; saved to {}", save.path.display());
        }
        eprintln!("{summary}");

        let mut races = false;
        if let Some(analyzer) = &self.sinks.analyzer {
            let report = analyzer.report();
            races = !report.races.is_empty();
            let mut stdout = io::stdout().lock();
            let written = if self.options.json {
                writeln!(stdout, "{}", report.to_json())
            } else {
                write!(stdout, "{report}")
            };
            if let Err(error) = written.and_then(|()| stdout.flush()) {
                if error.kind() != io::ErrorKind::BrokenPipe {
                    eprintln!("raceway: cannot write the report: {error}");
                    self.input_failed = true;
                }
            }
        }
        if self.input_failed {
            Status::InputError
        } else if delivery_failed {
            Status::DeliveryFailed
        } else if races {
            Status::Races
        } else {
            Status::Clean
        }
    }
}

/// Reads `input` on its own thread, so that a blocking read (a quiet serial line) never stops
/// the main loop. The channel ends after the last chunk, or after a read error.
fn spawn_reader(mut input: Box<dyn Read + Send>) -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (chunks, receiver) = mpsc::sync_channel(READ_AHEAD);
    let spawned = thread::Builder::new()
        .name("raceway-bridge-reader".into())
        .spawn(move || loop {
            let mut buf = vec![0; CHUNK];
            match input.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if chunks.send(Ok(buf)).is_err() {
                        return; // the main loop stopped
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    let _ = chunks.send(Err(error));
                    return;
                }
            }
        });
    if let Err(error) = spawned {
        // The receiver then sees the error as the input's first item.
        let (chunks, receiver) = mpsc::sync_channel(1);
        let _ = chunks.send(Err(error));
        return receiver;
    }
    receiver
}

/// Where decoded items go.
struct Sinks {
    analyzer: Option<Analyzer<Site>>,
    forward: Option<Forwarder>,
    /// The device's tick rate, from the latest stream header (0 = unknown).
    clock_hz: Arc<AtomicU32>,
    counters: Counters,
    /// Skipped regions: counted, and the first few kept.
    damage: Damage,
    /// Shown regions the main loop has not printed yet.
    damage_to_tell: Vec<Skipped>,
}

/// What the bridge has seen so far (skipped regions are counted in [`Sinks::damage`]).
#[derive(Debug, Default)]
struct Counters {
    bytes: u64,
    events: u64,
    /// Stream headers: each starts an epoch.
    headers: u64,
    /// Events the device reported lost to its full ring.
    device_dropped: u64,
}

impl Sinks {
    fn item(&mut self, item: Item) {
        let event = match item {
            Item::Event(event) => {
                self.counters.events += 1;
                if let Kind::Dropped { count } = event.kind {
                    self.counters.device_dropped += u64::from(count);
                }
                event
            }
            Item::Skipped(skipped) => {
                if self.damage.add(skipped) {
                    self.damage_to_tell.push(skipped);
                }
                loss_marker()
            }
            Item::Header(info) => {
                self.counters.headers += 1;
                self.clock_hz.store(info.clock_hz, Ordering::Relaxed);
                return;
            }
            _ => return,
        };
        if let Some(analyzer) = &mut self.analyzer {
            analyzer.observe(&event);
        }
        if let Some(forward) = &mut self.forward {
            forward.event(&event);
        }
    }
}

/// The capture file `--save` writes: the capture header, then the stream's bytes verbatim.
struct Save {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    /// Input bytes held back while they might still be the input's own capture header.
    pending: Vec<u8>,
    /// Whether the input's format (and so what to strip) is known.
    decided: bool,
    /// A write error not yet told.
    failure: Option<String>,
}

impl Save {
    fn create(path: &Path) -> Result<Self, String> {
        let file = File::create(path)
            .map_err(|error| format!("cannot create the capture {}: {error}", path.display()))?;
        let mut out = BufWriter::new(file);
        capture::write_header(&mut out)
            .map_err(|error| format!("cannot write the capture {}: {error}", path.display()))?;
        Ok(Save {
            path: path.to_owned(),
            out: Some(out),
            pending: Vec::new(),
            decided: false,
            failure: None,
        })
    }

    /// Saves `chunk`; `format` is what the input turned out to be so far.
    fn write(&mut self, chunk: &[u8], format: Option<Format>) {
        let Some(format) = format else {
            self.pending.extend_from_slice(chunk); // under a capture header's length
            return;
        };
        let mut pending = std::mem::take(&mut self.pending);
        let mut chunk = chunk;
        if !self.decided {
            self.decided = true;
            if format == Format::Capture {
                // The input's header is already written: skip it.
                let in_chunk = capture::HEADER.len() - pending.len();
                pending.clear();
                chunk = &chunk[in_chunk.min(chunk.len())..];
            }
        }
        let written = self.out.as_mut().map(|out| {
            out.write_all(&pending)?;
            out.write_all(chunk)
        });
        self.check(written);
    }

    fn flush(&mut self) {
        let flushed = self.out.as_mut().map(Write::flush);
        self.check(flushed);
    }

    fn check(&mut self, result: Option<io::Result<()>>) {
        if let Some(Err(error)) = result {
            self.out = None;
            self.failure = Some(format!(
                "cannot write the capture {}: {error}; no longer saving",
                self.path.display()
            ));
        }
    }
}

/// Encodes events into batches and hands them to the delivery thread.
struct Forwarder {
    server: String,
    encoder: JsonEncoder,
    queue: Option<SyncSender<Batch>>,
    delivery: Arc<Delivery>,
    thread: Option<JoinHandle<()>>,
    /// Whether the failure was already told.
    told: bool,
    has_key: bool,
    timeout: Duration,
}

/// State shared with the delivery thread.
struct Delivery {
    client: HttpClient,
    /// Set once a batch could not be delivered in time or the key was refused.
    gave_up: AtomicBool,
    /// Events never handed to the client because forwarding had stopped.
    not_sent: AtomicU64,
    /// The first failure that stopped forwarding, or the last other one.
    error: Mutex<Option<DeliveryError>>,
}

/// Delivery totals at the end.
struct Delivered {
    sent: u64,
    undelivered: u64,
}

impl Forwarder {
    fn start(
        options: &BridgeOptions,
        server: &str,
        clock_hz: Arc<AtomicU32>,
    ) -> Result<Self, String> {
        let mut config = HttpClientConfig::new(server);
        config.api_key = options.api_key.clone();
        config.max_retry_time = options.timeout;
        config.request_timeout = config.request_timeout.min(options.timeout);
        config.connect_timeout = config.connect_timeout.min(options.timeout);
        let client = HttpClient::new(config).map_err(|error| format!("{error}: {server}"))?;

        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        let mut encoder_config =
            JsonEncoderConfig::new(options.service_name.as_str(), options.instance_id.as_str());
        encoder_config.time_to_unix_nanos = Arc::new(move |time| {
            device_time_to_unix_nanos(time, clock_hz.load(Ordering::Relaxed), start)
        });

        let delivery = Arc::new(Delivery {
            client,
            gave_up: AtomicBool::new(false),
            not_sent: AtomicU64::new(0),
            error: Mutex::new(None),
        });
        let (queue, batches) = mpsc::sync_channel::<Batch>(DELIVERY_QUEUE);
        let shared = Arc::clone(&delivery);
        let timeout = options.timeout;
        let thread = thread::Builder::new()
            .name("raceway-bridge-delivery".into())
            .spawn(move || {
                for batch in batches {
                    shared.deliver(batch, timeout);
                }
            })
            .map_err(|error| format!("cannot start the delivery thread: {error}"))?;
        Ok(Forwarder {
            server: server.to_owned(),
            encoder: JsonEncoder::new(encoder_config),
            queue: Some(queue),
            delivery,
            thread: Some(thread),
            told: false,
            has_key: options.api_key.is_some(),
            timeout,
        })
    }

    fn event(&mut self, event: &Event<Site>) {
        if self.delivery.gave_up.load(Ordering::Relaxed) {
            if !matches!(
                event.kind,
                Kind::TraceStart { .. } | Kind::RemoteClock { .. } | Kind::ThreadEnd
            ) {
                self.delivery.not_sent.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if let Some(batch) = self.encoder.encode(event).batch {
            self.send(batch);
        }
    }

    fn flush(&mut self) {
        if let Some(batch) = self.encoder.flush() {
            self.send(batch);
        }
    }

    fn send(&mut self, batch: Batch) {
        let events = batch.len() as u64;
        let sent = self.queue.as_ref().is_some_and(|q| q.send(batch).is_ok());
        if !sent {
            self.delivery.not_sent.fetch_add(events, Ordering::Relaxed);
        }
    }

    /// Events handed over that did not reach the server (so far).
    fn undelivered(&self) -> u64 {
        let stats = self.delivery.client.stats();
        stats.dropped
            + stats.rejected
            + stats.server_dropped
            + self.delivery.not_sent.load(Ordering::Relaxed)
    }

    /// The message for a failure that stopped forwarding, once.
    fn failure_to_tell(&mut self) -> Option<String> {
        if self.told || !self.delivery.gave_up.load(Ordering::Relaxed) {
            return None;
        }
        self.told = true;
        let error = self.delivery.error.lock().ok()?.clone()?;
        Some(self.explain(&error))
    }

    /// Says what went wrong and what to do about it. The key itself is never shown.
    fn explain(&self, error: &DeliveryError) -> String {
        let server = &self.server;
        let secs = self.timeout.as_secs_f64();
        match error {
            DeliveryError::Unauthorized if self.has_key => format!(
                "the Raceway server at {server} refused the API key (401/403): check --api-key \
                 or RACEWAY_API_KEY; no more events are forwarded"
            ),
            DeliveryError::Unauthorized => format!(
                "the Raceway server at {server} requires an API key (401/403): give --api-key \
                 or set RACEWAY_API_KEY; no more events are forwarded"
            ),
            DeliveryError::Unavailable { attempts, last } => format!(
                "cannot deliver to the Raceway server at {server}: {attempts} attempts within \
                 {secs} s failed (last: {last}); is it running? No more events are forwarded \
                 (--timeout sets how long to retry)"
            ),
            DeliveryError::DeadlineExceeded => format!(
                "cannot deliver to the Raceway server at {server}: a batch was not accepted \
                 within {secs} s (unreachable or too slow); no more events are forwarded \
                 (--timeout sets how long to wait)"
            ),
            other => format!("forwarding to {server}: {other}"),
        }
    }

    /// Sends what is left and waits for the delivery thread (each batch is bounded by the
    /// timeout, and after a failure the rest are not tried). Returns the totals and a message
    /// about a failure not told yet.
    fn finish(mut self) -> (Delivered, Option<String>) {
        if !self.delivery.gave_up.load(Ordering::Relaxed) {
            self.flush();
        }
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let mut message = self.failure_to_tell();
        let undelivered = self.undelivered();
        if message.is_none() && undelivered > 0 {
            let error = self.delivery.error.lock().ok().and_then(|e| e.clone());
            message = error.map(|error| self.explain(&error));
        }
        let delivered = Delivered {
            sent: self.delivery.client.stats().sent,
            undelivered,
        };
        (delivered, message)
    }
}

impl Delivery {
    fn deliver(&self, batch: Batch, timeout: Duration) {
        if self.gave_up.load(Ordering::Relaxed) {
            self.not_sent
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            return;
        }
        // Retrying stops at `timeout` (`max_retry_time`) and says why; the extra half lets the
        // last request finish rather than be cut off as a bare "deadline exceeded".
        let report = self.client.deliver(batch, Instant::now() + timeout * 3 / 2);
        let Some(error) = report.error else { return };
        let fatal = matches!(
            error,
            DeliveryError::Unauthorized
                | DeliveryError::Unavailable { .. }
                | DeliveryError::DeadlineExceeded
        );
        if let Ok(mut slot) = self.error.lock() {
            if !self.gave_up.load(Ordering::Relaxed) {
                *slot = Some(error);
            }
        }
        if fatal {
            self.gave_up.store(true, Ordering::Relaxed);
        }
    }
}

/// An event time as Unix nanoseconds: device ticks at `clock_hz` (nanoseconds when unknown)
/// count from the bridge's `start`; times that already look like Unix nanoseconds stay.
fn device_time_to_unix_nanos(time: u64, clock_hz: u32, start: u64) -> u64 {
    if time >= UNIX_NANOS_FLOOR {
        return time;
    }
    let elapsed = match clock_hz {
        0 => u128::from(time),
        hz => u128::from(time) * 1_000_000_000 / u128::from(hz),
    };
    start.saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX))
}

/// The live counters on stderr.
struct Progress {
    /// `None` with `--quiet`.
    every: Option<Duration>,
    terminal: bool,
    last: Instant,
    /// A live line is on screen and must be cleared before other output.
    showing: bool,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let terminal = io::stderr().is_terminal();
        Progress {
            every: (!quiet).then_some(if terminal { TTY_REFRESH } else { LOG_REFRESH }),
            terminal,
            last: Instant::now(),
            showing: false,
        }
    }

    fn tick(&mut self, sinks: &Sinks) {
        let Some(every) = self.every else { return };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let c = &sinks.counters;
        let mut line = format!(
            "bytes {} | events {} | skipped {} B | dropped {}",
            c.bytes, c.events, sinks.damage.bytes, c.device_dropped
        );
        if let Some(forward) = &sinks.forward {
            line += &format!(
                " | sent {} | errors {}",
                forward.delivery.client.stats().sent,
                forward.undelivered()
            );
        }
        let mut stderr = io::stderr().lock();
        let _ = if self.terminal {
            self.showing = true;
            write!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "raceway bridge: {line}")
        };
        let _ = stderr.flush();
    }

    /// Prints a message on its own line.
    fn say(&mut self, message: &str) {
        self.clear();
        eprintln!("raceway: {message}");
    }

    fn clear(&mut self) {
        if self.showing {
            self.showing = false;
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ticks_count_from_the_start_and_unix_times_stay() {
        let start = 1_800_000_000_000_000_000;
        assert_eq!(
            device_time_to_unix_nanos(250, 1000, start),
            start + 250_000_000
        );
        assert_eq!(device_time_to_unix_nanos(250, 0, start), start + 250);
        let unix = 1_795_709_498_773_642_605;
        assert_eq!(device_time_to_unix_nanos(unix, 1000, start), unix);
        let long_ago = UNIX_NANOS_FLOOR / 10;
        assert_eq!(device_time_to_unix_nanos(long_ago, 1, start), u64::MAX);
    }
}
