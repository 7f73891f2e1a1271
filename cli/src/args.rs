//! The command line: a small hand-written parser (two subcommands and a dozen flags do not
//! need a framework) and the help texts, which are the user documentation of the tool.
//!
//! Flags take their value as `--flag VALUE` or `--flag=VALUE`; `--` ends the flags. Settings
//! that a deployment fixes once (server, key, service name) also come from `RACEWAY_*`
//! environment variables; a flag wins over the variable, and an empty variable counts as unset.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use raceway_transport_http::ApiKey;

/// The top-level help: `raceway`, `raceway help`, `raceway --help`.
pub(crate) const HELP: &str = "\
raceway: find data races in Raceway event streams, and bridge devices to a Raceway server.

USAGE:
    raceway check [--json] [--html REPORT.html] [--merge] <FILE>...
    raceway bridge --input <DEVICE|FILE|-> [--server URL] [--check] [--save FILE] [options]
    raceway help [check|bridge]
    raceway --version

COMMANDS:
    check    Analyze capture files (or raw UART dumps) and print the race report.
    bridge   Decode a live UART stream and forward its events to a Raceway server,
             analyze them, and/or save them as a capture.

EXIT STATUS (both commands):
    0   no data race found, input read completely and intact
    1   data races found (the report is on standard output)
    2   usage error, or an input could not be read, was damaged, or is not a Raceway stream
    3   (bridge) events could not be delivered to the server: unreachable or key refused

Run `raceway help check` or `raceway help bridge` for the details and examples.
";

/// `raceway help check`.
pub(crate) const CHECK_HELP: &str = "\
raceway check: analyze recorded events for data races.

USAGE:
    raceway check [--json] [--html REPORT.html] [--merge] <FILE>...

Each FILE is a Raceway capture (it starts with `RWAYCAP`; written by the std client's file
sink or by `raceway bridge --save`) or a raw dump of a device's UART output; the format is
detected from the first bytes. `-` reads standard input. Each file is analyzed on its own
(thread ids of different recordings are unrelated) and gets its own report, unless --merge
analyzes them together.

A race is two accesses to one variable from different logical threads, at least one a write,
that no lock, spawn/join, message or HTTP edge orders. Each race names the variable, both
accesses' threads and source lines, and its severity (write/write CRITICAL, read/write
WARNING).

DAMAGED FILES:
    A truncated or corrupted file is still analyzed: every intact frame is used, and each
    damaged region is reported on standard error with its byte offset, length and reason.
    A damaged region may have held events, so the analyzer treats it as one lost event:
    races after it are marked [uncertain] and the report says from which event on.

OPTIONS:
    --json       Print one JSON document instead of text:
                 {\"version\": 1, \"files\": [{\"path\", \"format\" (\"capture\"|\"raw\"), \"bytes\",
                 \"error\" (null or a message), \"damaged\": {\"regions\", \"bytes\", \"first\":
                 [{\"offset\", \"len\", \"reason\"}]}, \"report\" (the analyzer's report, version 1,
                 or null when nothing could be decoded)}]}
    --html REPORT.html
                 Also write the report as one self-contained HTML page (no network, no
                 external files): a summary table, the caveats, and per race a timeline of
                 both threads with the racing accesses, the happens-before edges that do
                 exist (locks, spawn/join, messages, HTTP) and the ordering that is missing.
    --merge      Analyze all FILEs as one recording: captures of several services of the
                 same traces (each service writes its own). Threads are keyed by file (named
                 by the file name without its extension, e.g. `ledger t3`), and HTTP calls
                 between the services order their events through the span ids in the
                 propagation headers, as inside one process. Events are interleaved by
                 timestamp, tolerating clocks up to 1 s apart. Text and HTML show one merged
                 report; JSON adds \"merged\" (the report) next to \"files\".
    -h, --help   Print this help.

EXIT STATUS:
    0   no data race found in any file, and every file was read completely and intact
    1   data races found in at least one file (even if some file was damaged: a race found
        in the intact part is a real finding)
    2   usage error, or some file could not be read, was damaged, or is not a Raceway stream,
        and no race was found

EXAMPLES:
    raceway check bank.rwcap
    raceway check --json bank.rwcap | jq '.files[0].report.races'
    raceway check --html report.html bank.rwcap
    raceway check --merge --html report.html gateway.rwcap ledger.rwcap
    raceway check uart0.bin && echo race-free
";

/// `raceway help bridge`.
pub(crate) const BRIDGE_HELP: &str = "\
raceway bridge: decode a device's UART stream as it arrives; forward, analyze and/or save it.

USAGE:
    raceway bridge --input <DEVICE|FILE|-> [--server URL] [--api-key KEY] [--check] [--save FILE]

The input is read as bytes arrive: a serial device (e.g. /dev/ttyUSB0), a file (a raw UART
dump or a capture), or `-` for standard input. Frames are decoded as they complete; corrupted
or missing bytes are skipped, counted, and treated as possible loss. At least one of
--server (or RACEWAY_URL), --check and --save is needed.

While it runs, counters (bytes, events, skipped bytes, events lost on the device, events sent,
delivery errors) are shown on standard error, refreshed four times a second when it is a
terminal and every ten seconds otherwise; a summary follows at the end. Bridging stops at the
end of the input, or after --idle-timeout without bytes (a serial device never ends).

SERIAL DEVICES:
    The device is opened as a file: set its speed and raw mode first, e.g.
        stty -F /dev/ttyUSB0 115200 raw -echo
    (on macOS: stty -f /dev/cu.usbserial-X 115200 raw). Then
        raceway bridge --input /dev/ttyUSB0 --server http://localhost:8080 --idle-timeout 5

OPTIONS:
    --input, -i SOURCE      Serial device, file, or `-` for standard input (required).
    --server URL            Forward events to the Raceway server at URL (POST URL/events).
                            Also RACEWAY_URL.
    --api-key KEY           Sent as `Authorization: Bearer KEY`. Also RACEWAY_API_KEY. The key
                            is never printed.
    --service-name NAME     The service the events belong to (default `firmware`).
                            Also RACEWAY_SERVICE_NAME.
    --instance-id ID        The instance the events belong to (default `bridge-<pid>`).
    --timeout SECS          How long to retry one batch (default 10; the request under way
                            then gets up to half as long again to finish). When a batch
                            cannot be delivered in that time, or the server
                            refuses the API key, forwarding stops with an error (exit 3);
                            --check and --save go on to the end of the input.
    --check                 Analyze the events and print the race report at the end (stdout).
    --json                  With --check: print the report as the analyzer's JSON.
    --save FILE             Save the received bytes as a capture file (for `raceway check`).
    --idle-timeout SECS     Stop after SECS seconds without input (default: wait for the end).
    --quiet, -q             No live counters (errors and the summary are still printed).
    -h, --help              Print this help.

TIME:
    Device times are ticks of the rate the stream header announces; they are sent to the
    server as the bridge's start time plus the device's elapsed time. Times that already look
    like Unix nanoseconds (after 2001) are sent as they are.

FORWARDING:
    Events go out in batches of up to 100 (and at least once a second) through a bounded
    queue; while the server is slow, reading pauses, so a serial port's own buffer may
    overflow, which shows as skipped bytes.

EXIT STATUS:
    0   input read to the end (or idle timeout); no race found (with --check); all delivered
    1   with --check: data races found (the report is on standard output)
    2   usage error, or the input could not be opened or read
    3   events could not be delivered: the server was unreachable or refused the API key
        (takes precedence over 1: fix the setup first; the report is still printed)

EXAMPLES:
    # forward a device to a local server
    raceway bridge --input /dev/ttyACM0 --server http://localhost:8080 --api-key \"$KEY\"
    # analyze a UART dump in CI (exit 1 on a race) and keep a capture of it
    raceway bridge --input uart0.bin --check --save uart0.rwcap
    # from another program's output
    qemu-system-arm ... -serial stdio | raceway bridge --input - --check
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub(crate) enum Command {
    /// `raceway check`.
    Check(CheckOptions),
    /// `raceway bridge`.
    Bridge(BridgeOptions),
    /// Print this help text and exit 0.
    Help(&'static str),
    /// Print the version and exit 0.
    Version,
}

/// Options of `raceway check`.
#[derive(Debug, PartialEq)]
pub(crate) struct CheckOptions {
    /// Capture files or raw dumps; `-` is standard input.
    pub(crate) inputs: Vec<PathBuf>,
    /// JSON instead of text.
    pub(crate) json: bool,
    /// Also write the report as an HTML page here.
    pub(crate) html: Option<PathBuf>,
    /// Analyze all inputs as one stream (several services of the same traces).
    pub(crate) merge: bool,
}

/// Options of `raceway bridge`.
#[derive(Debug, PartialEq)]
pub(crate) struct BridgeOptions {
    /// A device or file path; `-` is standard input.
    pub(crate) input: PathBuf,
    /// Where to forward events, if anywhere.
    pub(crate) server: Option<String>,
    /// The API key (its `Debug` output is redacted).
    pub(crate) api_key: Option<ApiKey>,
    /// `metadata.service_name` of forwarded events.
    pub(crate) service_name: String,
    /// `metadata.instance_id` of forwarded events.
    pub(crate) instance_id: String,
    /// Longest time to deliver one batch.
    pub(crate) timeout: Duration,
    /// Analyze and print a report at the end.
    pub(crate) check: bool,
    /// The report as JSON.
    pub(crate) json: bool,
    /// Save the received bytes as a capture.
    pub(crate) save: Option<PathBuf>,
    /// Stop after this long without input.
    pub(crate) idle_timeout: Option<Duration>,
    /// No live counters.
    pub(crate) quiet: bool,
}

/// A command line that cannot be run; the message says what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UsageError {
    message: String,
    /// The help to point at.
    topic: &'static str,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see `raceway help{}`)", self.message, self.topic)
    }
}

impl UsageError {
    fn new(topic: &'static str, message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            topic,
        }
    }
}

/// The argument list after the program name, one flag or value at a time.
struct Args {
    items: std::vec::IntoIter<OsString>,
    /// The value of a `--flag=value` just split off.
    inline: Option<OsString>,
    /// After `--`: everything is positional.
    positional_only: bool,
    topic: &'static str,
}

/// One command-line item.
enum Arg {
    /// `--name` or `-n` (any `=value` is kept for [`Args::value`]).
    Flag(String),
    /// Anything else.
    Positional(OsString),
}

impl Args {
    fn next(&mut self) -> Result<Option<Arg>, UsageError> {
        if let Some(value) = self.inline.take() {
            return Err(self.error(format!("unexpected value {}", value.to_string_lossy())));
        }
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        if self.positional_only || item == "-" || !item.to_string_lossy().starts_with('-') {
            return Ok(Some(Arg::Positional(item)));
        }
        if item == "--" {
            self.positional_only = true;
            return self.next();
        }
        let Some(text) = item.to_str() else {
            return Err(self.error(format!("unknown option {}", item.to_string_lossy())));
        };
        Ok(Some(Arg::Flag(match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                self.inline = Some(value.into());
                name.to_owned()
            }
            _ => text.to_owned(),
        })))
    }

    /// The value of `flag`: inline (`--flag=value`) or the next item.
    fn value(&mut self, flag: &str) -> Result<OsString, UsageError> {
        match self.inline.take().or_else(|| self.items.next()) {
            Some(value) => Ok(value),
            None => Err(self.error(format!("{flag} needs a value"))),
        }
    }

    fn text(&mut self, flag: &str) -> Result<String, UsageError> {
        let value = self.value(flag)?;
        value
            .into_string()
            .map_err(|value| self.error(format!("{flag}: not UTF-8: {}", value.to_string_lossy())))
    }

    fn seconds(&mut self, flag: &str) -> Result<Duration, UsageError> {
        let text = self.text(flag)?;
        text.parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .filter(|duration| !duration.is_zero())
            .ok_or_else(|| {
                self.error(format!(
                    "{flag}: expected a positive number of seconds, got {text:?}"
                ))
            })
    }

    /// A flag that takes no value was given one (`--check=yes`).
    fn no_value(&mut self, flag: &str) -> Result<(), UsageError> {
        match self.inline.take() {
            Some(_) => Err(self.error(format!("{flag} takes no value"))),
            None => Ok(()),
        }
    }

    fn error(&self, message: impl Into<String>) -> UsageError {
        UsageError::new(self.topic, message)
    }
}

/// Parses the arguments after the program name. `env` looks up environment variables (empty
/// values count as unset).
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, UsageError> {
    let mut args = Args {
        items: args.into_iter().collect::<Vec<_>>().into_iter(),
        inline: None,
        positional_only: false,
        topic: "",
    };
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    let command = match args.next()? {
        None => return Ok(Command::Help(HELP)),
        Some(Arg::Flag(flag)) => {
            return match flag.as_str() {
                "-h" | "--help" => Ok(Command::Help(HELP)),
                "-V" | "--version" => Ok(Command::Version),
                _ => Err(args.error(format!("unknown option {flag}; expected a command"))),
            }
        }
        Some(Arg::Positional(command)) => command,
    };
    match command.to_str() {
        Some("check") => {
            args.topic = " check";
            parse_check(args)
        }
        Some("bridge") => {
            args.topic = " bridge";
            parse_bridge(args, env)
        }
        Some("help") => match args.next()? {
            None => Ok(Command::Help(HELP)),
            Some(Arg::Positional(topic)) if topic == "check" => Ok(Command::Help(CHECK_HELP)),
            Some(Arg::Positional(topic)) if topic == "bridge" => Ok(Command::Help(BRIDGE_HELP)),
            Some(_) => Err(args.error("`raceway help` knows the topics check and bridge")),
        },
        _ => Err(args.error(format!(
            "unknown command {}; the commands are check and bridge",
            command.to_string_lossy()
        ))),
    }
}

fn parse_check(mut args: Args) -> Result<Command, UsageError> {
    let mut options = CheckOptions {
        inputs: Vec::new(),
        json: false,
        html: None,
        merge: false,
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Positional(path) => options.inputs.push(path.into()),
            Arg::Flag(flag) => match flag.as_str() {
                "-h" | "--help" => return Ok(Command::Help(CHECK_HELP)),
                "--json" => {
                    args.no_value(&flag)?;
                    options.json = true
                }
                "--html" => options.html = Some(PathBuf::from(args.value(&flag)?)),
                "--merge" => {
                    args.no_value(&flag)?;
                    options.merge = true
                }
                _ => return Err(args.error(format!("unknown option {flag}"))),
            },
        }
    }
    if options.inputs.is_empty() {
        return Err(args.error("check needs at least one capture file (or `-` for stdin)"));
    }
    Ok(Command::Check(options))
}

fn parse_bridge(
    mut args: Args,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, UsageError> {
    let mut input = None;
    let mut server = None;
    let mut api_key = None;
    let mut service_name = None;
    let mut instance_id = None;
    let mut timeout = Duration::from_secs(10);
    let mut check = false;
    let mut json = false;
    let mut save = None;
    let mut idle_timeout = None;
    let mut quiet = false;
    while let Some(arg) = args.next()? {
        let flag = match arg {
            Arg::Flag(flag) => flag,
            Arg::Positional(value) => {
                return Err(args.error(format!(
                    "unexpected argument {}; give the input with --input",
                    value.to_string_lossy()
                )))
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(BRIDGE_HELP)),
            "-i" | "--input" => input = Some(PathBuf::from(args.value(&flag)?)),
            "--server" => server = Some(args.text(&flag)?),
            "--api-key" => api_key = Some(args.text(&flag)?),
            "--service-name" => service_name = Some(args.text(&flag)?),
            "--instance-id" => instance_id = Some(args.text(&flag)?),
            "--timeout" => timeout = args.seconds(&flag)?,
            "--idle-timeout" => idle_timeout = Some(args.seconds(&flag)?),
            "--save" => save = Some(PathBuf::from(args.value(&flag)?)),
            "--check" => {
                args.no_value(&flag)?;
                check = true
            }
            "--json" => {
                args.no_value(&flag)?;
                json = true
            }
            "-q" | "--quiet" => {
                args.no_value(&flag)?;
                quiet = true
            }
            _ => return Err(args.error(format!("unknown option {flag}"))),
        }
    }
    let Some(input) = input else {
        return Err(args.error("bridge needs --input (a serial device, a file, or `-`)"));
    };
    let server = server.or_else(|| env("RACEWAY_URL"));
    if server.is_none() && !check && save.is_none() {
        return Err(args.error(
            "nothing to do: give --server URL (or set RACEWAY_URL), --check, or --save FILE",
        ));
    }
    if json && !check {
        return Err(args.error("--json is for the --check report: add --check"));
    }
    let api_key = match api_key.or_else(|| env("RACEWAY_API_KEY")) {
        Some(key) => Some(ApiKey::new(key).map_err(|error| args.error(error.to_string()))?),
        None => None,
    };
    Ok(Command::Bridge(BridgeOptions {
        input,
        server,
        api_key,
        service_name: service_name
            .or_else(|| env("RACEWAY_SERVICE_NAME"))
            .unwrap_or_else(|| "firmware".to_owned()),
        instance_id: instance_id.unwrap_or_else(|| format!("bridge-{}", std::process::id())),
        timeout,
        check,
        json,
        save,
        idle_timeout,
        quiet,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Command, UsageError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(args.iter().map(OsString::from), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn bridge(args: &[&str], env: &[(&str, &str)]) -> BridgeOptions {
        match parse_with(args, env) {
            Ok(Command::Bridge(options)) => options,
            other => panic!("expected bridge options, got {other:?}"),
        }
    }

    #[test]
    fn flags_win_over_the_environment_and_empty_variables_are_unset() {
        let env = [
            ("RACEWAY_URL", "http://env:1"),
            ("RACEWAY_API_KEY", ""),
            ("RACEWAY_SERVICE_NAME", "sensor"),
        ];
        let options = bridge(&["bridge", "-i", "-", "--server=http://flag:2"], &env);
        assert_eq!(options.server.as_deref(), Some("http://flag:2"));
        assert_eq!(options.api_key, None);
        let options = bridge(&["bridge", "-i", "-", "--check", "--api-key", "k3y"], &env);
        assert_eq!(options.api_key, Some(ApiKey::new("k3y").unwrap()));
        assert!(
            !format!("{options:?}").contains("k3y"),
            "the key is redacted"
        );
        assert_eq!(options.service_name, "sensor");
        let options = bridge(&["bridge", "--input", "dump.bin"], &env);
        assert_eq!(options.server.as_deref(), Some("http://env:1"));
        assert_eq!(options.input, PathBuf::from("dump.bin"));
    }

    #[test]
    fn bridge_needs_something_to_do_and_an_input() {
        let error = parse_with(&["bridge", "--input", "x"], &[]).unwrap_err();
        assert!(error.to_string().contains("nothing to do"), "{error}");
        let error = parse_with(&["bridge", "--check"], &[]).unwrap_err();
        assert!(error.to_string().contains("--input"), "{error}");
        let options = bridge(&["bridge", "-i", "x", "--check", "--timeout", "0.5"], &[]);
        assert_eq!(options.timeout, Duration::from_millis(500));
        assert_eq!(options.service_name, "firmware");
    }

    #[test]
    fn bad_values_and_unknown_options_are_usage_errors() {
        for args in [
            &["bridge", "-i", "x", "--check", "--timeout", "soon"][..],
            &["bridge", "-i", "x", "--check", "--timeout", "-1"],
            &["bridge", "-i", "x", "--check=yes"],
            &["bridge", "-i", "x", "--check", "--api-key", "has space"],
            &["bridge", "-i", "x", "--check", "--frobnicate"],
            &["check"],
            &["check", "--verbose", "a"],
            &["dance"],
        ] {
            assert!(parse_with(args, &[]).is_err(), "{args:?}");
        }
    }

    #[test]
    fn check_takes_files_dash_and_json() {
        let command = parse_with(&["check", "a.rwcap", "--json", "-", "--", "--odd"], &[]);
        assert_eq!(
            command,
            Ok(Command::Check(CheckOptions {
                inputs: vec!["a.rwcap".into(), "-".into(), "--odd".into()],
                json: true,
                html: None,
                merge: false,
            }))
        );
    }

    #[test]
    fn check_takes_an_html_path_and_merge() {
        let command = parse_with(
            &["check", "--merge", "--html=r.html", "a.rwcap", "b.rwcap"],
            &[],
        );
        assert_eq!(
            command,
            Ok(Command::Check(CheckOptions {
                inputs: vec!["a.rwcap".into(), "b.rwcap".into()],
                json: false,
                html: Some("r.html".into()),
                merge: true,
            }))
        );
        assert!(parse_with(&["check", "a", "--html"], &[]).is_err());
        assert!(parse_with(&["check", "a", "--merge=yes"], &[]).is_err());
    }

    #[test]
    fn help_is_reachable_every_way() {
        assert_eq!(parse_with(&[], &[]), Ok(Command::Help(HELP)));
        assert_eq!(parse_with(&["--help"], &[]), Ok(Command::Help(HELP)));
        assert_eq!(
            parse_with(&["help", "bridge"], &[]),
            Ok(Command::Help(BRIDGE_HELP))
        );
        assert_eq!(
            parse_with(&["check", "-h"], &[]),
            Ok(Command::Help(CHECK_HELP))
        );
        assert_eq!(
            parse_with(&["bridge", "--help"], &[]),
            Ok(Command::Help(BRIDGE_HELP))
        );
    }
}
