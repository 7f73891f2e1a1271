//! Client middleware: outbound HTTP calls traced with no hand calls (features `tower`,
//! `reqwest`).
//!
//! Each request sent through [`OutboundLayer`] (a tower layer for hyper-util's client, tonic
//! channels and any tower HTTP client) or [`ReqwestMiddleware`] (for a `reqwest-middleware`
//! client) does exactly what [`Context::outbound`] and [`OutboundCall::finish_with_headers`] do by hand:
//!
//! * writes `traceparent`, `tracestate` and `raceway-clock` for a freshly minted span;
//! * records the outbound request (method, and the URL without its query string, which may hold
//!   secrets and has unbounded cardinality) with that span, which links it to the callee's
//!   inbound request;
//! * records the response with its status and duration, which links the callee's response
//!   back to the caller's next event;
//! * or, when no response comes (connection refused, timeout, a cut connection), records an
//!   error with the client's message, and no response: nothing came back to order anything.
//!
//! The request is recorded in the context current when it is sent (the request's, under the
//! server [middleware](crate::middleware), or a task's), or in a [`Context`] put in the
//! request's extensions, which wins. Without either the request goes out untouched and is
//! counted in [`Stats::untracked`](crate::Stats::untracked).
//!
//! # Examples
//!
//! With `reqwest-middleware`, and with hyper-util's client through the tower layer:
//!
//! ```no_run
//! use raceway::outbound::{OutboundLayer, ReqwestMiddleware};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! # async fn calls() -> Result<(), Box<dyn std::error::Error>> {
//! let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(ReqwestMiddleware)
//!     .build();
//! // In a traced request handler or task: traced, with the headers written.
//! let status = http.post("http://payments/charge").send().await?.status();
//!
//! let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
//!     .build_http::<http_body_util::Empty<axum::body::Bytes>>();
//! let mut traced = OutboundLayer.layer(client);
//! let request = http::Request::post("http://payments/charge").body(Default::default())?;
//! let response = traced.call(request).await?; // traced like the reqwest call
//! # let _ = (status, response);
//! # Ok(())
//! # }
//! ```
//!
//! `tests/outbound_calls_through_client_middleware_are_ordered_with_the_callee.rs` runs both
//! against a real service.

#[cfg(feature = "reqwest")]
pub use self::reqwest::ReqwestMiddleware;
#[cfg(feature = "tower")]
pub use self::tower::{OutboundFuture, OutboundLayer, OutboundService};

use std::error::Error;
use std::panic::Location;

use crate::context::Context;
use crate::propagation::{HeaderSink, OutboundCall};

/// The context an outbound request is recorded in: one carried in the request, else the current
/// one. Counts the call as untracked without either.
fn context_for(carried: Option<&Context>) -> Option<Context> {
    let ctx = carried.cloned().or_else(Context::current);
    if ctx.is_none() {
        crate::context::no_context();
    }
    ctx
}

/// `scheme://host/path` of a URL, without its query or fragment.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Writes the headers and records the request, as [`Context::outbound`].
fn start<H: HeaderSink + ?Sized>(
    ctx: &Context,
    method: &str,
    url: &str,
    headers: &mut H,
) -> OutboundCall {
    ctx.outbound(method, without_query(url), headers)
}

/// Records an outbound call that got no response: an error, with the message of `error` and
/// of every error under it (`… : tcp connect error: Connection refused`).
fn failed(ctx: &Context, error_type: &'static str, error: &dyn Error) {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ctx.record_at(
        raceway_core::Kind::Error {
            error_type,
            message: crate::names::text(&message),
            stack: raceway_core::Value::None,
        },
        // Inside a poll there is no caller to point at: the middleware's own location.
        Location::caller(),
    );
}

#[cfg(feature = "tower")]
mod tower {
    use std::fmt;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{self, Poll};

    use http::{Request, Response};
    use tower_layer::Layer;
    use tower_service::Service;

    use super::{context_for, failed, start};
    use crate::context::Context;
    use crate::propagation::OutboundCall;

    /// Traces every request sent through the tower HTTP client it wraps. See the
    /// [module docs](super).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct OutboundLayer;

    impl<S> Layer<S> for OutboundLayer {
        type Service = OutboundService<S>;

        fn layer(&self, inner: S) -> OutboundService<S> {
            OutboundService { inner }
        }
    }

    /// A client wrapped by [`OutboundLayer`].
    #[derive(Clone, Debug)]
    pub struct OutboundService<S> {
        inner: S,
    }

    impl<S> OutboundService<S> {
        /// The wrapped client.
        pub fn into_inner(self) -> S {
            self.inner
        }
    }

    impl<S, B, R> Service<Request<B>> for OutboundService<S>
    where
        S: Service<Request<B>, Response = Response<R>>,
        S::Error: std::error::Error,
    {
        type Response = Response<R>;
        type Error = S::Error;
        type Future = OutboundFuture<S::Future>;

        fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), S::Error>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, mut request: Request<B>) -> Self::Future {
            let ctx = context_for(request.extensions().get::<Context>());
            let traced = ctx.map(|ctx| {
                let uri = request.uri().to_string();
                let method = request.method().as_str().to_owned();
                let call = start(&ctx, &method, &uri, request.headers_mut());
                (ctx, call)
            });
            OutboundFuture {
                inner: self.inner.call(request),
                traced,
            }
        }
    }

    pin_project_lite::pin_project! {
        /// The response of an [`OutboundService`]: records it, or the error, when it comes.
        #[must_use = "futures do nothing unless polled"]
        pub struct OutboundFuture<F> {
            #[pin]
            inner: F,
            traced: Option<(Context, OutboundCall)>,
        }
    }

    impl<F> fmt::Debug for OutboundFuture<F> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("OutboundFuture")
                .field("call", &self.traced.as_ref().map(|(_, call)| call))
                .finish_non_exhaustive()
        }
    }

    impl<F, R, E> Future for OutboundFuture<F>
    where
        F: Future<Output = Result<Response<R>, E>>,
        E: std::error::Error,
    {
        type Output = F::Output;

        fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
            let this = self.project();
            let poll = this.inner.poll(cx);
            if let Poll::Ready(result) = &poll {
                if let Some((ctx, call)) = this.traced.take() {
                    match result {
                        Ok(response) => {
                            call.finish_with_headers(response.status().as_u16(), response.headers())
                        }
                        Err(error) => failed(&ctx, std::any::type_name::<E>(), error),
                    }
                }
            }
            poll
        }
    }
}

#[cfg(feature = "reqwest")]
mod reqwest {
    use http::Extensions;
    use reqwest_middleware::{Middleware, Next};

    use super::{context_for, failed, start};
    use crate::context::Context;

    /// Traces every request of a `reqwest-middleware` client. See the [module docs](super).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct ReqwestMiddleware;

    #[async_trait::async_trait]
    impl Middleware for ReqwestMiddleware {
        async fn handle(
            &self,
            mut request: reqwest::Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<reqwest::Response> {
            let Some(ctx) = context_for(extensions.get::<Context>()) else {
                return next.run(request, extensions).await;
            };
            let method = request.method().as_str().to_owned();
            let url = request.url().as_str().to_owned();
            let call = start(&ctx, &method, &url, request.headers_mut());
            let result = next.run(request, extensions).await;
            match &result {
                Ok(response) => {
                    call.finish_with_headers(response.status().as_u16(), response.headers())
                }
                Err(reqwest_middleware::Error::Reqwest(error)) => {
                    failed(&ctx, "reqwest::Error", error);
                }
                Err(reqwest_middleware::Error::Middleware(error)) => {
                    failed(&ctx, "reqwest_middleware::Error", error.as_ref());
                }
            }
            result
        }
    }
}
