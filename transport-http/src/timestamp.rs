//! RFC 3339 timestamps in the one spelling the Raceway server is sent:
//! `YYYY-MM-DDTHH:MM:SS.fffffffffZ` (UTC, nanoseconds, always 9 fraction digits).
//!
//! Written by hand because it is 40 lines and the encoder formats one per event: pulling in a
//! calendar crate for it would cost more build time than the whole transport.
//!
//! # Examples
//!
//! ```
//! use raceway_transport_http::timestamp::format_unix_nanos;
//!
//! let text = format_unix_nanos(1_795_709_498_773_642_605);
//! assert_eq!(text.as_str(), "2026-11-26T16:11:38.773642605Z");
//! ```

use std::fmt;

/// The length of every formatted timestamp.
pub const TIMESTAMP_LEN: usize = 30;

/// A formatted timestamp, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Timestamp([u8; TIMESTAMP_LEN]);

impl Timestamp {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8; TIMESTAMP_LEN] {
        &self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Formats nanoseconds since the Unix epoch (UTC). Every `u64` is a valid input: the largest
/// is in the year 2554, well inside the server's range.
pub fn format_unix_nanos(unix_nanos: u64) -> Timestamp {
    let mut out = *b"0000-00-00T00:00:00.000000000Z";
    let seconds = unix_nanos / 1_000_000_000;
    let nanos = unix_nanos % 1_000_000_000;
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let second_of_day = seconds % 86_400;
    put(&mut out[0..4], year);
    put(&mut out[5..7], month);
    put(&mut out[8..10], day);
    put(&mut out[11..13], second_of_day / 3600);
    put(&mut out[14..16], second_of_day / 60 % 60);
    put(&mut out[17..19], second_of_day % 60);
    put(&mut out[20..29], nanos);
    Timestamp(out)
}

/// Formats timestamps that mostly fall in the same second as the one before, as a stream's
/// do: the calendar part is worked out once per second and only the nanoseconds each time.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimestampWriter {
    /// The latest text and the second (since the epoch) it falls in.
    last: Option<(u64, Timestamp)>,
}

impl TimestampWriter {
    /// The same text as [`format_unix_nanos`].
    pub(crate) fn format(&mut self, unix_nanos: u64) -> Timestamp {
        let second = unix_nanos / 1_000_000_000;
        match &mut self.last {
            Some((last_second, text)) if *last_second == second => {
                put(&mut text.0[20..29], unix_nanos % 1_000_000_000);
                *text
            }
            last => {
                let text = format_unix_nanos(unix_nanos);
                *last = Some((second, text));
                text
            }
        }
    }
}

/// Writes `value` as decimal digits filling `digits` exactly (leading zeros kept).
fn put(digits: &mut [u8], mut value: u64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days`, restricted to non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(
            format_unix_nanos(0).as_str(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            format_unix_nanos(951_782_400_000_000_001).as_str(),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(
            format_unix_nanos(4_102_444_799_999_999_999).as_str(),
            "2099-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            format_unix_nanos(u64::MAX).as_str(),
            "2554-07-21T23:34:33.709551615Z"
        );
    }

    #[test]
    fn the_writer_agrees_with_the_function_within_and_across_seconds() {
        let mut writer = TimestampWriter::default();
        let start = 1_795_709_498_999_999_000u64;
        for unix_nanos in (start..start + 3_000).chain([0, u64::MAX, start, start - 1]) {
            assert_eq!(writer.format(unix_nanos), format_unix_nanos(unix_nanos));
        }
    }

    #[test]
    fn every_day_boundary_matches_a_naive_calendar() {
        let (mut year, mut month, mut day) = (1970u64, 1u64, 1u64);
        let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for days in 0..(200 * 366) {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let length = match month {
                2 if leap(year) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > length {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }
}
