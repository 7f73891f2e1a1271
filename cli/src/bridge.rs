//! `raceway bridge`: a device's UART stream in, as it arrives; its events out to the sinks the
//! std client uses (the Raceway server, the analyzer), and/or its bytes to a capture file.
//!
//! The bridge is a decoder: its main loop turns bytes into `Event<Site>`s, converts their
//! device ticks to Unix nanoseconds (the clock rate comes from the stream header), and hands
//! them in batches to `raceway`'s own [`ServerSink`] (`--server`) and [`AnalyzerSink`]
//! (`--check`), the same sinks a service's drain thread feeds:
//!
//! ```text
//! reader thread ──chunks──▶ main loop ──batches──▶ ServerSink ──▶ sender thread ──HTTP──▶ server
//!  (blocking read)           decode, ticks → ns,  └─▶ AnalyzerSink (--check)
//!                            save, counters
//! ```
//!
//! The main loop never blocks on input for longer than a progress tick, so counters refresh
//! and partial batches go out on time even on a quiet serial line. Forwarding applies
//! backpressure: while more than [`MAX_PENDING`] events wait for the server, the main loop
//! waits for the sink to deliver them (`Sink::flush`), which bounds memory and never lets a
//! fast input overflow the sink's retry buffer. The server sink gives up after `--timeout` of
//! retrying one batch ([`Config::give_up_after`]), or at once on a refused API key; then
//! forwarding stops for good with one clear message: the bridge never waits on a dead server
//! for longer than that.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use raceway::analysis::{Analysis, AnalyzerSink};
use raceway::server::{DeliveryError, ServerSink};
use raceway::sink::{events_in, Sink};
use raceway::Config;
use raceway_core::event::{Event, Kind, Site};
use raceway_transport_uart::decoder::{Item, Skipped};

mod save;

use save::Save;

use crate::args::BridgeOptions;
use crate::check::{describe, Damage};
use crate::stream::{loss_marker, Stream};
use crate::Status;

/// Bytes asked for per read: a serial read returns what is there, a file read fills it.
const CHUNK: usize = 16 * 1024;
/// Chunks read ahead of the main loop.
const READ_AHEAD: usize = 16;
/// Events per batch handed to the sinks (and posted to the server).
const BATCH: usize = 100;
/// Events waiting for the server beyond which the main loop waits for them: 8 batches, far
/// below what the server sink's retry buffer holds.
const MAX_PENDING: u64 = 8 * BATCH as u64;
/// The server sink's retry buffer: room for four times what [`MAX_PENDING`] lets wait (an
/// event takes well under 128 bytes there).
const RETRY_BUFFER_BYTES: usize = 4 * (MAX_PENDING as usize + BATCH) * 128;
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
        let server = match &options.server {
            Some(url) => Some(Server::start(options, url)?),
            None => None,
        };
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        Ok(Bridge {
            options,
            chunks: spawn_reader(input),
            stream: Stream::new(),
            sinks: Sinks {
                analyzer: options.check.then(|| {
                    let (sink, analysis) = AnalyzerSink::for_locations();
                    (sink.quiet(), analysis)
                }),
                server,
                batch: Vec::with_capacity(BATCH),
                start,
                clock_hz: 0,
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
                self.sinks.deliver();
                if let Some(save) = &mut self.save {
                    save.flush();
                }
            }
            if let Some(server) = &mut self.sinks.server {
                if let Some(message) = server.failure_to_tell() {
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
        self.sinks.deliver();
        if let Some(server) = self.sinks.server.take() {
            let url = server.url.clone();
            let (stats, message) = server.finish();
            if let Some(message) = message {
                self.progress.say(&message);
            }
            delivery_failed = stats.undelivered > 0;
            forwarded = Some((url, stats));
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
        if let Some((mut sink, analysis)) = self.sinks.analyzer.take() {
            sink.shutdown(Instant::now());
            let report = analysis.report();
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
    /// `--check`: the analyzer sink (quiet: the bridge prints the report) and its report.
    analyzer: Option<(AnalyzerSink<Site>, Analysis<Site>)>,
    server: Option<Server>,
    /// Decoded events not handed to the sinks yet, times in Unix nanoseconds.
    batch: Vec<Event<Site>>,
    /// The bridge's start in Unix nanoseconds: device times count from it.
    start: u64,
    /// The device's tick rate, from the latest stream header (0 = unknown).
    clock_hz: u32,
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
        let mut event = match item {
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
                self.clock_hz = info.clock_hz;
                return;
            }
            _ => return,
        };
        event.time = device_time_to_unix_nanos(event.time, self.clock_hz, self.start);
        self.batch.push(event);
        if self.batch.len() >= BATCH {
            self.deliver();
        }
    }

    /// Hands the decoded events to every sink.
    fn deliver(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        if let Some((analyzer, _)) = &mut self.analyzer {
            analyzer.send(&self.batch, Instant::now());
        }
        if let Some(server) = &mut self.server {
            server.send(&self.batch);
        }
        self.batch.clear();
    }
}

/// The `--server` destination: the std client's server sink, fed decoded events.
struct Server {
    /// The URL as given on the command line, for messages.
    url: String,
    sink: ServerSink<Site>,
    /// Events (not loss markers) handed to the sink.
    handed: u64,
    /// Whether the stop was already told.
    told: bool,
    has_key: bool,
    timeout: Duration,
}

/// Delivery totals at the end.
struct Delivered {
    sent: u64,
    undelivered: u64,
}

impl Server {
    /// A server sink that gives up after `--timeout` of retrying one batch.
    fn start(options: &BridgeOptions, url: &str) -> Result<Self, String> {
        let mut config = Config::builder()
            .server_url(url)
            .service_name(options.service_name.as_str())
            .instance_id(options.instance_id.as_str())
            .batch_size(BATCH)
            .retry_buffer_bytes(RETRY_BUFFER_BYTES)
            .give_up_after(options.timeout);
        if let Some(key) = &options.api_key {
            config = config.api_key(key.expose());
        }
        let config = config.build().map_err(|error| error.to_string())?;
        let sink = ServerSink::for_locations(&config).map_err(|error| format!("{error}: {url}"))?;
        Ok(Server {
            url: url.to_owned(),
            sink,
            handed: 0,
            told: false,
            has_key: options.api_key.is_some(),
            timeout: options.timeout,
        })
    }

    /// Hands `batch` to the sink. While more than [`MAX_PENDING`] events wait for the server,
    /// this waits for them (each batch is settled within the timeout and half again), so that a
    /// fast input never overflows the sink's retry buffer while the server keeps up.
    fn send(&mut self, batch: &[Event<Site>]) {
        self.sink.send(batch, Instant::now() + self.timeout);
        self.handed += events_in(batch);
        if self.pending() > MAX_PENDING {
            let _ = self.sink.flush(Instant::now() + self.timeout * 2);
        }
    }

    /// Events handed over and not settled yet (the sinks' accounting contract).
    fn pending(&self) -> u64 {
        let stats = self.sink.stats();
        self.handed
            .saturating_sub(stats.delivered + stats.failed + stats.state_only)
    }

    /// The message for the sink's stop, once.
    fn failure_to_tell(&mut self) -> Option<String> {
        if self.told {
            return None;
        }
        let error = self.sink.stopped()?;
        self.told = true;
        Some(self.explain(&error))
    }

    /// Says what went wrong and what to do about it. The key itself is never shown.
    fn explain(&self, error: &DeliveryError) -> String {
        let server = &self.url;
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

    /// Waits while the server settles what is pending (each batch within the timeout and half
    /// again: the sink gives up after that), shuts the sink down, and returns the totals and a
    /// message about a failure not told yet.
    fn finish(mut self) -> (Delivered, Option<String>) {
        let mut settled = self.handed - self.pending();
        while self.sink.flush(Instant::now() + self.timeout * 2).is_err() {
            let now = self.handed - self.pending();
            if now == settled {
                break; // no progress in that time: stop waiting
            }
            settled = now;
        }
        let left = self.sink.shutdown(Instant::now() + self.timeout);
        let stats = self.sink.stats();
        let undelivered = stats.failed + left.events;
        let mut message = self.failure_to_tell();
        if message.is_none() && !self.told && undelivered > 0 {
            message = self.sink.problem();
        }
        let delivered = Delivered {
            sent: stats.delivered,
            undelivered,
        };
        (delivered, message)
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
        if let Some(server) = &sinks.server {
            let stats = server.sink.stats();
            line += &format!(" | sent {} | errors {}", stats.delivered, stats.failed);
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
