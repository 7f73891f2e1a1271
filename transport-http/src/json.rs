//! The few JSON writing primitives the encoder needs, appending to a `Vec<u8>`.
//!
//! Strings are escaped here rather than through `serde_json` because the encoder joins pieces
//! inside one string (`file:line`, `service#instance#t7`) and serde_json only escapes whole
//! values. Numbers go through `itoa` and serde_json's float formatting.

use raceway_core::event::Value;

/// The longest string (in bytes, before escaping) the encoder writes for one field; longer text
/// is cut at a character boundary. Together with the other caps it bounds an event's size (see
/// [`crate::encode::MAX_EVENT_BYTES`]).
pub const MAX_STRING_BYTES: usize = 8 * 1024;

/// `text` cut to at most `max` bytes without splitting a character.
pub(crate) use raceway_core::event::cut_at_char_boundary as truncate;

/// Appends the JSON escape of `text` without quotes.
///
/// Names and paths rarely need escaping, so the scan looks at eight bytes at a time and copies
/// each clean run in one piece: escaping went from 13 % to 6 % of `drain/encode_json`'s time
/// (perf, AMD EPYC VM).
pub(crate) fn escape_into(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any of the eight bytes in `word` is a control character, `"` or `\\`: the classic
/// "has a zero byte" test (`(x - 0x01…) & !x & 0x80…`) on the word itself for bytes below
/// 0x20, and on the word XORed with each special byte. A borrow can flag bytes above a real
/// hit, never a word without one, so the answer for the word is exact.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (below_space | zero(quote) | zero(backslash)) & HIGHS != 0
}

/// Appends `text` (cut to [`MAX_STRING_BYTES`]) as a JSON string.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    escape_into(out, truncate(text, MAX_STRING_BYTES));
    out.push(b'"');
}

/// Appends an unsigned integer.
pub(crate) fn uint(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a signed integer.
pub(crate) fn int(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a core [`Value`]: `None` is `null`, numbers are numbers, text is a string. JSON has
/// no NaN or infinity, so non-finite floats become the strings `"NaN"`, `"inf"`, `"-inf"`.
pub(crate) fn value(out: &mut Vec<u8>, value: &Value) {
    match *value {
        Value::None => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::I64(v) => int(out, v),
        Value::U64(v) => uint(out, v),
        Value::F64(v) if v.is_nan() => out.extend_from_slice(b"\"NaN\""),
        Value::F64(v) if v.is_infinite() && v > 0.0 => out.extend_from_slice(b"\"inf\""),
        Value::F64(v) if v.is_infinite() => out.extend_from_slice(b"\"-inf\""),
        Value::F64(v) => {
            // Cannot fail: writing a finite f64 into a Vec.
            let _ = serde_json::to_writer(&mut *out, &v);
        }
        Value::Str(symbol) => string(out, symbol.as_str()),
        Value::Text(text) => string(out, text.as_str()),
    }
}

/// Appends a [`Value`] where the wire wants a string (a URL, a query, a message): text as is,
/// anything else in its JSON spelling, `None` as the empty string.
pub(crate) fn value_as_string(out: &mut Vec<u8>, value: &Value) {
    match *value {
        Value::Str(symbol) => string(out, symbol.as_str()),
        Value::Text(text) => string(out, text.as_str()),
        Value::None => out.extend_from_slice(b"\"\""),
        Value::F64(v) if !v.is_finite() => self::value(out, &Value::F64(v)),
        other => {
            out.push(b'"');
            self::value(out, &other);
            out.push(b'"');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raceway_core::event::InlineStr;

    fn render(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_agree_with_serde_json() {
        for text in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{0}\u{1}\u{1f}\n\r\t\u{8}\u{c}",
            "é✓😀",
            "",
        ] {
            let ours = render(|out| string(out, text));
            assert_eq!(ours, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<String>(&ours).unwrap(), text);
        }
    }

    #[test]
    fn every_character_is_escaped_alike_at_every_place_in_a_word() {
        let specials = (0u8..0x80)
            .map(char::from)
            .chain(['é', '✓', '😀', '\u{7f}']);
        for special in specials {
            for at in 0..17 {
                let mut text: String = "abcdefghijklmnopq"[..at].to_owned();
                text.push(special);
                text.push_str(&"ABCDEFGHIJKLMNOPQ"[at..]);
                let ours = render(|out| string(out, &text));
                assert_eq!(ours, serde_json::to_string(&text).unwrap(), "{text:?}");
            }
        }
    }

    #[test]
    fn values_are_valid_json() {
        let cases = [
            (Value::None, "null"),
            (Value::Bool(true), "true"),
            (Value::I64(-5), "-5"),
            (Value::U64(u64::MAX), "18446744073709551615"),
            (Value::F64(1.5), "1.5"),
            (Value::F64(f64::NAN), "\"NaN\""),
            (Value::F64(f64::NEG_INFINITY), "\"-inf\""),
            (Value::Text(InlineStr::truncate("hi")), "\"hi\""),
        ];
        for (input, expected) in cases {
            let text = render(|out| value(out, &input));
            assert_eq!(text, expected);
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
            let text = render(|out| value_as_string(out, &input));
            assert!(serde_json::from_str::<String>(&text).is_ok(), "{text}");
        }
    }
}
