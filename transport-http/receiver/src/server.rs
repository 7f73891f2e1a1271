//! The HTTP side: hyper serves each connection (HTTP/1.1, one request and `Connection: close`
//! unless [`ReceiverConfig::keep_alive`](crate::ReceiverConfig::keep_alive)) and
//! hands the request to the contract ([`answer`]), which judges it or plays a scripted answer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::chains::Chains;
use crate::judge::unauthorized;
use crate::{Answer, ReceiverConfig, RecordedRequest, Verdict};

/// Request heads larger than this are refused (431, by hyper).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Bodies are read (and discarded) up to this size to answer 413 cleanly.
const MAX_DRAINED_BYTES: usize = 64 * 1024 * 1024;
/// A connection that sends no complete head for this long is closed.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) script: VecDeque<Answer>,
    pub(crate) window: Option<(Instant, Answer)>,
    pub(crate) events: Vec<Value>,
    pub(crate) chains: Chains,
    pub(crate) requests: Vec<RecordedRequest>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ReceiverConfig,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Accepts connections until the runtime shuts down, each served on its own task.
pub(crate) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait for connections to close instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let keep_alive = shared.config.keep_alive;
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, Arc::clone(&shared)));
            // A cut or stalled answer ends the connection with an error: nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(keep_alive)
                .max_buf_size(MAX_HEAD_BYTES)
                .timer(TokioTimer::new())
                .header_read_timeout(IO_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Returned instead of a response to close the connection without answering: hyper drops a
/// connection whose service fails.
#[derive(Debug)]
pub(crate) struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the test receiver hangs up without answering")
    }
}

impl std::error::Error for Hangup {}

/// What to do with one request.
enum Decision {
    Respond {
        verdict: Verdict,
        retry_after: Option<u64>,
    },
    Stall(Duration),
    Cut,
}

/// One request, one answer (or none, when a cut or a stall is scripted).
async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Hangup> {
    let (head, body) = request.into_parts();
    let method = head.method.as_str().to_owned();
    let path = head
        .uri
        .path_and_query()
        .map_or_else(|| head.uri.to_string(), |target| target.as_str().to_owned());
    let headers: Vec<(String, String)> = head
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (name.as_str().to_owned(), value.trim().to_owned())
        })
        .collect();
    let body = read_body(body, shared.config.max_body_bytes).await?;
    let at = Instant::now();

    match decide(&shared, method, path, headers, body, at) {
        Decision::Respond {
            verdict,
            retry_after,
        } => Ok(respond(verdict, retry_after, shared.config.keep_alive)),
        Decision::Stall(duration) => {
            tokio::time::sleep(duration).await;
            Err(Hangup)
        }
        Decision::Cut => Err(Hangup),
    }
}

/// The body, kept up to one byte over `max_body` (enough to answer 413) and read (then dropped)
/// up to [`MAX_DRAINED_BYTES`] so that the client sees the answer rather than a reset.
async fn read_body(mut body: Incoming, max_body: usize) -> Result<Vec<u8>, Hangup> {
    let keep = max_body.saturating_add(1).min(MAX_DRAINED_BYTES);
    let mut kept = Vec::new();
    let mut read = 0usize;
    while read <= MAX_DRAINED_BYTES {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|_| Hangup)?;
        if let Ok(data) = frame.into_data() {
            read += data.len();
            let room = keep.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(kept)
}

/// The contract: auth, routes, scripted answers, then the judge and the parent-chain bound;
/// records the request and stores the accepted events.
fn decide(
    shared: &Shared,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
) -> Decision {
    let scripted = {
        let mut state = shared.state();
        match &state.window {
            Some((until, answer)) if at < *until => Some(answer.clone()),
            _ => state.script.pop_front(),
        }
    };

    let config = &shared.config;
    let (decision, events) = match (method.as_str(), path.as_str()) {
        _ if config.api_key.is_some()
            && !config.authorized(
                header_of(&headers, "authorization"),
                header_of(&headers, "x-raceway-key"),
            ) =>
        {
            (respond_with(unauthorized()), Vec::new())
        }
        ("GET", "/health") => (respond_with(verdict(200, "OK")), Vec::new()),
        ("POST", "/events") => match scripted {
            Some(Answer::Status {
                status,
                retry_after,
                body,
            }) => (
                Decision::Respond {
                    verdict: Verdict {
                        status,
                        message: body,
                    },
                    retry_after,
                },
                Vec::new(),
            ),
            Some(Answer::Cut) => (Decision::Cut, Vec::new()),
            Some(Answer::Stall(duration)) => (Decision::Stall(duration), Vec::new()),
            Some(Answer::Partial { keep }) => {
                let (verdict, mut events) = config.judge(&headers, &body);
                if verdict.status == 200 {
                    let total = events.len();
                    events.truncate(keep);
                    let message = format!(
                        r#"{{"success":true,"data":"Ingested {} events, {} errors","error":null}}"#,
                        events.len(),
                        total - events.len()
                    );
                    (
                        respond_with(Verdict {
                            status: 206,
                            message,
                        }),
                        events,
                    )
                } else {
                    (respond_with(verdict), events)
                }
            }
            None => {
                let (verdict, events) = config.judge(&headers, &body);
                (respond_with(verdict), events)
            }
        },
        _ => (respond_with(verdict(404, "Not Found")), Vec::new()),
    };

    let mut decision = decision;
    let mut state = shared.state();
    let depths = state.chains.measure(&events);
    let too_deep = config.max_parent_depth.and_then(|limit| {
        depths
            .iter()
            .position(|&depth| depth > limit)
            .map(|at| (at, depths[at], limit))
    });
    match too_deep {
        Some((at, depth, limit)) => {
            decision = respond_with(Verdict {
                status: 422,
                message: format!(
                    "events[{at}].parent_id: a chain {depth} events deep, over the limit of {limit}"
                ),
            });
        }
        None => {
            state.chains.store(&events, &depths);
            state.events.extend(events);
        }
    }
    state.requests.push(RecordedRequest {
        method,
        path,
        headers,
        body: if config.keep_bodies { body } else { Vec::new() },
        status: match &decision {
            Decision::Respond { verdict, .. } => Some(verdict.status),
            Decision::Stall(_) | Decision::Cut => None,
        },
        at,
    });
    decision
}

fn verdict(status: u16, message: &str) -> Verdict {
    Verdict {
        status,
        message: message.to_owned(),
    }
}

fn respond_with(verdict: Verdict) -> Decision {
    Decision::Respond {
        verdict,
        retry_after: None,
    }
}

/// The answer on the wire: JSON messages as `application/json`, the rest as text.
fn respond(verdict: Verdict, retry_after: Option<u64>, keep_alive: bool) -> Response<Full<Bytes>> {
    let content_type = if verdict.message.starts_with('{') {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = Response::new(Full::new(Bytes::from(verdict.message)));
    *response.status_mut() =
        StatusCode::from_u16(verdict.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(seconds) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The first value of header `name` (case-insensitive).
pub(crate) fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}
