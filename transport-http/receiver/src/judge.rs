//! The Raceway server's verdict on a request: auth, size, content type, JSON, then the wire
//! schema, with the server's own quirks (lexical integers, refused repeated struct fields).

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::server::header_of;
use crate::{ReceiverConfig, Verdict};

impl ReceiverConfig {
    /// What the Raceway server answers to a `POST /events` with these headers and body
    /// (header names case-insensitive), and the events it would store.
    pub fn judge(&self, headers: &[(String, String)], body: &[u8]) -> (Verdict, Vec<Value>) {
        let header = |name: &str| header_of(headers, name);
        if !self.authorized(header("authorization"), header("x-raceway-key")) {
            return (unauthorized(), Vec::new());
        }
        if body.len() > self.max_body_bytes {
            return (
                Verdict {
                    status: 413,
                    message: "Failed to buffer the request body: length limit exceeded".into(),
                },
                Vec::new(),
            );
        }
        if !is_json_content_type(header("content-type")) {
            return (
                Verdict {
                    status: 415,
                    message: "Expected request with `Content-Type: application/json`".into(),
                },
                Vec::new(),
            );
        }
        match validate_body(body) {
            Ok(events) => {
                let message = format!(
                    r#"{{"success":true,"data":"Ingested {} events","error":null}}"#,
                    events.len()
                );
                (
                    Verdict {
                        status: 200,
                        message,
                    },
                    events,
                )
            }
            Err(verdict) => (verdict, Vec::new()),
        }
    }

    pub(crate) fn authorized(
        &self,
        authorization: Option<&str>,
        x_raceway_key: Option<&str>,
    ) -> bool {
        let Some(key) = &self.api_key else {
            return true;
        };
        let bearer = authorization.and_then(|value| value.strip_prefix("Bearer "));
        match bearer {
            Some(token) => token == key,
            None => x_raceway_key == Some(key.as_str()),
        }
    }
}

pub(crate) fn unauthorized() -> Verdict {
    Verdict {
        status: 401,
        message: r#"{"success":false,"error":"Unauthorized"}"#.into(),
    }
}

/// `application/json`, `application/json; charset=…`, `application/<x>+json`.
fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else { return false };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// Judges a body as the server's JSON and schema checks do: `Ok` with the events when it would
/// be accepted, else the 400 (not JSON) or 422 (not a valid batch) verdict.
pub fn validate_body(body: &[u8]) -> Result<Vec<Value>, Verdict> {
    // Like the server (axum's Json), read the first JSON value and ignore what follows.
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut value = match Shape::Envelope.deserialize(&mut deserializer) {
        Ok(value) => value,
        // serde rejects a repeated struct field as a data error: 422.
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            return Err(Verdict {
                status: 422,
                message: format!(
                    "Failed to deserialize the JSON body into the target type: {error}"
                ),
            })
        }
        Err(error) => {
            return Err(Verdict {
                status: 400,
                message: format!("Failed to parse the request body as JSON: {error}"),
            })
        }
    };
    let original = value.clone();
    mark_floats(&mut value);
    if let Err(error) = validator().validate(&value) {
        let path = pointer_to_path(error.instance_path().as_str());
        let field = if path.is_empty() {
            String::new()
        } else {
            format!("{path}: ")
        };
        return Err(Verdict {
            status: 422,
            message: format!(
                "Failed to deserialize the JSON body into the target type: {field}{error}"
            ),
        });
    }
    Ok(match original {
        Value::Object(mut map) => match map.remove("events") {
            Some(Value::Array(events)) => events,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

/// Reads any JSON value like `serde_json::Value`, but refuses a repeated key in the objects the
/// server reads into structs (envelope, event, metadata, kind and its payload), as serde's
/// derived impls do; maps (`tags`, `headers`) and free values (`data`, `args`) keep the last
/// value. JSON Schema alone would only ever see the last value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Envelope,
    Events,
    Event,
    Metadata,
    Kind,
    Variant,
    Free,
}

impl Shape {
    fn child(self, key: Option<&str>) -> Shape {
        match (self, key) {
            (Shape::Envelope, Some("events")) => Shape::Events,
            (Shape::Events, None) => Shape::Event,
            (Shape::Event, Some("metadata")) => Shape::Metadata,
            (Shape::Event, Some("kind")) => Shape::Kind,
            (Shape::Kind, Some(_)) => Shape::Variant,
            _ => Shape::Free,
        }
    }

    fn is_struct(self) -> bool {
        !matches!(self, Shape::Free | Shape::Events)
    }
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(None))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.is_struct() && object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let value = map.next_value_seed(self.child(Some(&key)))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// serde reads `1.0`, `1e2` and `-0` as floats, which no integer field takes, while JSON
/// Schema calls them integers: replace every float by a string so the schema sees what serde
/// sees (fields that take any value still take a string).
fn mark_floats(value: &mut Value) {
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            *value = Value::String(format!("floating point `{number}`"));
        }
        Value::Array(items) => items.iter_mut().for_each(mark_floats),
        Value::Object(map) => map.values_mut().for_each(mark_floats),
        _ => {}
    }
}

/// `/events/1/id` → `events[1].id`.
fn pointer_to_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

/// The wire schema, compiled in so that the receiver reads no file at run time.
const WIRE_SCHEMA: &str = include_str!("../../wire/event-batch.schema.json");

/// The compiled schema, built once per process.
pub(crate) fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(WIRE_SCHEMA).expect("the wire schema is JSON");
        jsonschema::validator_for(&schema).expect("the wire schema compiles")
    })
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(pointer_to_path("/events/1/id"), "events[1].id");
        assert_eq!(
            pointer_to_path("/events/0/kind/StateChange/access_type"),
            "events[0].kind.StateChange.access_type"
        );
        assert_eq!(pointer_to_path(""), "");
    }

    #[test]
    fn content_types() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        assert!(is_json_content_type(Some("application/vnd.api+json")));
        assert!(!is_json_content_type(Some("text/plain")));
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn auth_rules() {
        let config = ReceiverConfig {
            api_key: Some("k".into()),
            ..ReceiverConfig::default()
        };
        assert!(config.authorized(Some("Bearer k"), None));
        assert!(config.authorized(None, Some("k")));
        assert!(
            !config.authorized(Some("Bearer x"), Some("k")),
            "a wrong Bearer wins"
        );
        assert!(!config.authorized(None, None));
    }
}
