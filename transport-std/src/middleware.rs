//! A `tower` layer that traces HTTP requests (feature `tower`), for axum, hyper and any other
//! tower-based server.
//!
//! For each request, [`RacewayLayer`] continues the caller's trace from the propagation headers
//! (or starts one), records the inbound request (method and path — never the query string, which
//! may hold secrets and has unbounded cardinality), makes the context current for the handler on
//! every poll (so across `.await`s and worker threads), puts a clone of it in the request's
//! extensions, and records the response with its status and duration (naming that event in a
//! `raceway-event` response header, so a Raceway caller can hang its next event from it).
//!
//! # Where to put it
//!
//! * **Per route (the production choice).** Layer only the routes whose concurrency you want to
//!   analyze. Health checks, metrics scrapes and static assets then cost nothing and do not
//!   flood the server or the trace list, and what you trace is explicit in the router. In axum:
//!   `Router::new().route("/transfer", post(transfer).layer(RacewayLayer::new(client.clone())))
//!   .route("/health", get(health))`.
//! * **Global.** `Router::new()….layer(RacewayLayer::new(client))` traces everything, `/health`
//!   included: fine in development, noisy in production (every probe becomes a trace).
//! * **Conditional.** One global layer that skips some requests with
//!   [`RacewayLayer::skip_if`]: handy when routes are not known up front, but the rule lives far
//!   from the routes it affects, and a new probe endpoint is traced until someone updates it.
//!
//! # Examples
//!
//! A per-route layer around a plain tower service (axum handlers are tower services too):
//!
//! ```
//! use std::convert::Infallible;
//! use std::future::{ready, Ready};
//! use std::task::{Context as TaskContext, Poll};
//! use http::{Request, Response};
//! use raceway::middleware::RacewayLayer;
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! #[derive(Clone)]
//! struct Transfer;
//!
//! impl Service<Request<()>> for Transfer {
//!     type Response = Response<&'static str>;
//!     type Error = Infallible;
//!     type Future = Ready<Result<Self::Response, Infallible>>;
//!
//!     fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
//!         Poll::Ready(Ok(()))
//!     }
//!
//!     fn call(&mut self, _request: Request<()>) -> Self::Future {
//!         // The request's context is current here and in every poll of the future.
//!         raceway::track_write("accounts.alice.balance", 100, 50);
//!         ready(Ok(Response::new("ok")))
//!     }
//! }
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let traced_transfer = RacewayLayer::new(client.clone()).layer(Transfer);
//! // …route "/transfer" to `traced_transfer`, and "/health" to an untraced service.
//! # let _ = traced_transfer;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};
use std::time::Instant;

use http::{Method, Request, Response, Uri};
use raceway_core::event::Direction;
use raceway_core::{Kind, Value};
use tower_layer::Layer;
use tower_service::Service;

use crate::client::Client;
use crate::context::Context;

type Skip = Arc<dyn Fn(&Method, &Uri) -> bool + Send + Sync>;

/// Traces every request of the services it wraps. See the [module docs](self).
#[derive(Clone)]
pub struct RacewayLayer {
    client: Client,
    skip: Option<Skip>,
}

impl RacewayLayer {
    /// A layer recording into `client`.
    pub fn new(client: Client) -> Self {
        RacewayLayer { client, skip: None }
    }

    /// Leaves requests for which `skip` returns `true` untraced (the conditional pattern).
    pub fn skip_if(mut self, skip: impl Fn(&Method, &Uri) -> bool + Send + Sync + 'static) -> Self {
        self.skip = Some(Arc::new(skip));
        self
    }
}

impl fmt::Debug for RacewayLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RacewayLayer")
            .field("skip_if", &self.skip.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RacewayLayer {
    type Service = RacewayService<S>;

    fn layer(&self, inner: S) -> RacewayService<S> {
        RacewayService {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service wrapped by [`RacewayLayer`].
#[derive(Clone)]
pub struct RacewayService<S> {
    inner: S,
    layer: RacewayLayer,
}

impl<S: fmt::Debug> fmt::Debug for RacewayService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RacewayService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, B, R> Service<Request<B>> for RacewayService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let skipped = self
            .layer
            .skip
            .as_ref()
            .is_some_and(|skip| skip(request.method(), request.uri()));
        if skipped {
            return ResponseFuture {
                inner: self.inner.call(request),
                traced: None,
            };
        }
        let ctx = self.layer.client.inbound_request(
            request.headers(),
            request.method().as_str(),
            request.uri().path(),
        );
        request.extensions_mut().insert(ctx.clone());
        let start = Instant::now();
        let inner = ctx.run(|| self.inner.call(request));
        ResponseFuture {
            inner,
            traced: Some((ctx, start)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`RacewayService`]: polls the handler in the request's context and
    /// records the response.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        traced: Option<(Context, Instant)>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("context", &self.traced.as_ref().map(|(ctx, _)| ctx))
            .finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some((ctx, start)) = this.traced.as_ref() else {
            return this.inner.poll(cx);
        };
        let mut poll = {
            let _entered = ctx.enter();
            this.inner.poll(cx)
        };
        if let Poll::Ready(result) = &mut poll {
            match result {
                Ok(response) => {
                    // Name the response event for a Raceway caller before recording it.
                    ctx.write_response_headers(response.headers_mut());
                    ctx.track_http_response(
                        Direction::Inbound,
                        response.status().as_u16(),
                        start.elapsed(),
                    );
                }
                Err(_) => ctx.record(Kind::Error {
                    error_type: std::any::type_name::<E>(),
                    message: Value::None,
                    stack: Value::None,
                }),
            }
            // The request is over: let its logical thread end once the handler's clones are gone.
            *this.traced = None;
        }
        poll
    }
}
