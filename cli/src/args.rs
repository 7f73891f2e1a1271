//! The command line: the help texts, which are the user documentation of the tool, and the
//! parser, which reads the arguments with [`lexopt`] (it splits them into flags and values;
//! which flags exist and what they mean is decided here).
//!
//! Flags take their value as `--flag VALUE` or `--flag=VALUE` (a short flag also as `-iVALUE`
//! or `-i=VALUE`, and short flags without a value combine: `-qi dump.bin`); `--` ends the
//! flags, and `-` is a value (standard input). A flag given twice keeps its last value. Settings
//! that a deployment fixes once (server, key, service name) also come from `RACEWAY_*`
//! environment variables; a flag wins over the variable, and an empty variable counts as unset.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::Arg::{self, Long, Short, Value};
use raceway::config::ApiKey;

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
    Events go out in batches of up to 100 (and at least once a second) through the server
    sink a service's Raceway client uses; while more than 800 events wait for the server,
    reading pauses, so a serial port's own buffer may overflow, which shows as skipped bytes.

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

/// The argument list after the program name, split into flags and values by `lexopt`, and the
/// help topic that its usage errors point at.
struct Args {
    parser: lexopt::Parser,
    topic: &'static str,
}

impl Args {
    /// The next flag (`Short`, `Long`) or positional argument (`Value`).
    fn next(&mut self) -> Result<Option<Arg<'_>>, UsageError> {
        match self.parser.next() {
            Ok(arg) => Ok(arg),
            Err(error) => Err(UsageError::new(self.topic, lexing_message(error))),
        }
    }

    /// The value of the flag just read: inline (`--flag=value`) or the next item.
    fn value(&mut self) -> Result<OsString, UsageError> {
        self.parser
            .value()
            .map_err(|error| UsageError::new(self.topic, lexing_message(error)))
    }

    fn text(&mut self, flag: &str) -> Result<String, UsageError> {
        let value = self.value()?;
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

    fn error(&self, message: impl Into<String>) -> UsageError {
        UsageError::new(self.topic, message)
    }
}

/// What a `lexopt` error means, in this tool's words (its own texts name no help topic).
fn lexing_message(error: lexopt::Error) -> String {
    match error {
        lexopt::Error::MissingValue { option: Some(flag) } => format!("{flag} needs a value"),
        lexopt::Error::UnexpectedValue { option, .. } => format!("{option} takes no value"),
        lexopt::Error::UnexpectedOption(flag) => format!("unknown option {flag}"),
        other => other.to_string(),
    }
}

/// Parses the arguments after the program name. `env` looks up environment variables (empty
/// values count as unset).
pub(crate) fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, UsageError> {
    let mut args = Args {
        parser: lexopt::Parser::from_args(args),
        topic: "",
    };
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    let command = match args.next()? {
        None | Some(Short('h') | Long("help")) => return Ok(Command::Help(HELP)),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(Value(command)) => command,
        Some(flag) => {
            let message = lexing_message(flag.unexpected());
            return Err(args.error(format!("{message}; expected a command")));
        }
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
            Some(Value(topic)) if topic == "check" => Ok(Command::Help(CHECK_HELP)),
            Some(Value(topic)) if topic == "bridge" => Ok(Command::Help(BRIDGE_HELP)),
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
            Value(path) => options.inputs.push(path.into()),
            Short('h') | Long("help") => return Ok(Command::Help(CHECK_HELP)),
            Long("json") => options.json = true,
            Long("html") => options.html = Some(args.value()?.into()),
            Long("merge") => options.merge = true,
            flag => {
                let message = lexing_message(flag.unexpected());
                return Err(args.error(message));
            }
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
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(BRIDGE_HELP)),
            Short('i') | Long("input") => input = Some(PathBuf::from(args.value()?)),
            Long("server") => server = Some(args.text("--server")?),
            Long("api-key") => api_key = Some(args.text("--api-key")?),
            Long("service-name") => service_name = Some(args.text("--service-name")?),
            Long("instance-id") => instance_id = Some(args.text("--instance-id")?),
            Long("timeout") => timeout = args.seconds("--timeout")?,
            Long("idle-timeout") => idle_timeout = Some(args.seconds("--idle-timeout")?),
            Long("save") => save = Some(PathBuf::from(args.value()?)),
            Long("check") => check = true,
            Long("json") => json = true,
            Short('q') | Long("quiet") => quiet = true,
            Value(value) => {
                return Err(args.error(format!(
                    "unexpected argument {}; give the input with --input",
                    value.to_string_lossy()
                )))
            }
            flag => {
                let message = lexing_message(flag.unexpected());
                return Err(args.error(message));
            }
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

    #[test]
    fn short_flags_combine_and_take_attached_values() {
        // lexopt's reading, new with it: `-qi x`, `-ix` and `-i=x` were unknown options before.
        for args in [
            &["bridge", "-qi", "dump.bin", "--check"][..],
            &["bridge", "-q", "-idump.bin", "--check"],
            &["bridge", "-q", "-i=dump.bin", "--check"],
        ] {
            let options = bridge(args, &[]);
            assert_eq!(options.input, PathBuf::from("dump.bin"), "{args:?}");
            assert!(options.quiet, "{args:?}");
        }
    }

    #[test]
    fn usage_errors_name_the_flag_and_what_is_wrong_with_it() {
        let message = |args: &[&str]| parse_with(args, &[]).unwrap_err().to_string();
        assert_eq!(
            message(&["check", "a", "--html"]),
            "--html needs a value (see `raceway help check`)"
        );
        assert_eq!(
            message(&["bridge", "-i", "x", "--check=yes"]),
            "--check takes no value (see `raceway help bridge`)"
        );
        assert_eq!(
            message(&["bridge", "-i", "x", "-q=1"]),
            "-q takes no value (see `raceway help bridge`)"
        );
        assert_eq!(
            message(&["check", "--verbose", "a"]),
            "unknown option --verbose (see `raceway help check`)"
        );
        // In a run of short flags the first unknown letter is named (was the whole run).
        assert_eq!(
            message(&["check", "-xv", "a"]),
            "unknown option -x (see `raceway help check`)"
        );
        assert_eq!(
            message(&["--frobnicate"]),
            "unknown option --frobnicate; expected a command (see `raceway help`)"
        );
        assert_eq!(
            message(&["bridge", "dump.bin"]),
            "unexpected argument dump.bin; give the input with --input (see `raceway help bridge`)"
        );
    }

    #[test]
    fn a_flag_given_twice_keeps_its_last_value() {
        let options = bridge(
            &["bridge", "-i", "a", "--server", "http://one:1", "--input=b"],
            &[],
        );
        assert_eq!(options.input, PathBuf::from("b"));
        let options = bridge(
            &[
                "bridge",
                "-i",
                "a",
                "--server",
                "http://one:1",
                "--server=http://two:2",
            ],
            &[],
        );
        assert_eq!(options.server.as_deref(), Some("http://two:2"));
    }

    #[test]
    fn a_value_may_start_with_a_dash_and_the_version_is_a_flag() {
        let options = bridge(&["bridge", "--check", "--input", "--odd"], &[]);
        assert_eq!(options.input, PathBuf::from("--odd"));
        assert_eq!(parse_with(&["-V"], &[]), Ok(Command::Version));
        assert_eq!(parse_with(&["--version"], &[]), Ok(Command::Version));
    }
}
