//! Header values come from other services: no input may make a trace-context parser panic, and
//! whatever we format must parse back to the same value.

use proptest::prelude::*;
use raceway_core::trace_context::{SpanId, TraceFlags, TraceId, TraceParent, TraceState};

const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const VALID_UUID: &str = "0af76519-16cd-43dd-8448-eb211c80319c";

/// Runs every parser on `text`; the property is simply that this returns.
fn parse_everything(text: &str) {
    let _ = TraceParent::parse(text);
    let _ = TraceId::parse_uuid(text);
    let _ = TraceId::parse_hex32(text);
    let _ = SpanId::parse_hex16(text);
    if let Some(state) = TraceState::parse(text) {
        assert!(state.as_str().len() <= TraceState::MAX_LEN);
        assert_eq!(state.as_str(), text.trim_matches([' ', '\t']));
    }
}

/// One edit to a near-valid value: replace, insert or delete the char at a position.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bias towards characters that almost fit: hex digits either case, separators, whitespace,
    // and multibyte characters that tempt byte-index slicing.
    let near = prop_oneof![
        prop::sample::select(
            &[
                '0',
                '9',
                'a',
                'f',
                'A',
                'F',
                'g',
                '-',
                '_',
                ' ',
                '\t',
                ',',
                '=',
                'é',
                '€',
                '０',
                '\u{10348}'
            ][..]
        ),
        any::<char>(),
    ];
    prop_oneof![
        (0..64usize, near.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (0..64usize, near).prop_map(|(i, c)| Edit::Insert(i, c)),
        (0..64usize).prop_map(Edit::Delete),
    ]
}

fn mutate(base: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for edit in edits {
        match *edit {
            Edit::Replace(i, c) => {
                if let Some(slot) = chars.get_mut(i) {
                    *slot = c;
                }
            }
            Edit::Insert(i, c) => chars.insert(i.min(chars.len()), c),
            Edit::Delete(i) => {
                if i < chars.len() {
                    chars.remove(i);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn valid_trace_id() -> impl Strategy<Value = TraceId> {
    any::<[u8; 16]>()
        .prop_map(TraceId::from_bytes)
        .prop_filter("all-zero id is invalid", TraceId::is_valid)
}

fn valid_span_id() -> impl Strategy<Value = SpanId> {
    any::<[u8; 8]>()
        .prop_map(SpanId::from_bytes)
        .prop_filter("all-zero id is invalid", SpanId::is_valid)
}

proptest! {
    // No regression file: failures print their minimal input; add it to a unit test instead.
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        parse_everything(&text);
    }

    #[test]
    fn arbitrary_ascii_of_header_length_never_panics(text in "[ -~\t]{50,64}") {
        parse_everything(&text);
    }

    #[test]
    fn mutated_traceparents_never_panic(
        base in prop::sample::select(&[
            VALID,
            "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future",
            VALID_UUID,
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        ][..]),
        edits in prop::collection::vec(edit(), 1..5),
        pad in prop::sample::select(&["", " ", "\t ", "\u{a0}", "é"][..]),
    ) {
        let mutated = mutate(base, &edits);
        parse_everything(&mutated);
        parse_everything(&format!("{pad}{mutated}{pad}"));
    }

    #[test]
    fn a_single_replaced_char_is_accepted_only_if_still_valid(i in 0..55usize, c in any::<char>()) {
        let mutated = mutate(VALID, &[Edit::Replace(i, c)]);
        if let Ok(tp) = TraceParent::parse(&mutated) {
            // Anything accepted must be lowercase hex in the right places, so it formats back to
            // the input apart from the version, which is always written as `00`.
            let header = tp.to_header();
            prop_assert_eq!(header.get(2..), mutated.get(2..));
            prop_assert!(mutated.get(..2).is_some_and(|v| v != "ff"));
        }
    }

    #[test]
    fn formatted_traceparents_parse_back(
        trace_id in valid_trace_id(),
        span_id in valid_span_id(),
        flags in any::<u8>(),
    ) {
        let tp = TraceParent::new(trace_id, span_id, TraceFlags(flags));
        let header = tp.to_header();
        prop_assert_eq!(header.len(), 55);
        prop_assert!(header.starts_with("00-"));
        prop_assert!(!header.bytes().any(|b| b.is_ascii_uppercase()));
        prop_assert_eq!(header.as_str(), tp.to_string());
        prop_assert_eq!(TraceParent::parse(&header), Ok(tp));
        prop_assert_eq!(TraceId::parse_hex32(&trace_id.to_hex32()), Ok(trace_id));
        prop_assert_eq!(SpanId::parse_hex16(&span_id.to_hex16()), Ok(span_id));
        let span_hex = span_id.to_hex16();
        prop_assert_eq!(span_id.to_string(), span_hex.as_str());
    }

    #[test]
    fn uuid_display_parses_back(trace_id in valid_trace_id()) {
        let text = trace_id.to_string();
        prop_assert_eq!(text.len(), 36);
        prop_assert_eq!(trace_id.to_uuid_string(), text.as_str());
        prop_assert_eq!(TraceId::parse_uuid(&text), Ok(trace_id));
        prop_assert_eq!(TraceId::parse_uuid(&text.to_uppercase()), Ok(trace_id));
        prop_assert_eq!(TraceId::parse_uuid(&text.replace('-', "")), Ok(trace_id));
        prop_assert_eq!(TraceId::parse_uuid(&trace_id.to_hex32()), Ok(trace_id));
    }

    #[test]
    fn tracestate_of_valid_members_passes_unchanged(
        members in prop::collection::vec("[a-z][a-z0-9_*/-]{0,15}=[!-+\\--<>-~]{1,16}", 0..=32),
    ) {
        let value = members.join(",");
        let state = TraceState::parse(&value);
        if value.len() <= TraceState::MAX_LEN {
            prop_assert_eq!(state.map(|s| s.as_str().to_owned()), Some(value));
        } else {
            prop_assert!(state.is_none());
        }
    }
}
