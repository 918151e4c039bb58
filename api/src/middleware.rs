//! The api's own middleware: the request log, a request body limit and the security headers.

use std::time::Instant;

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::SizedLimitError,
    http::{HeaderValue, StatusCode, header},
    middleware::ReqId,
    web::headers::{ContentLength, HeaderMapExt},
};
use tracing::Instrument;

use crate::auth::client_ip;

/// One `request` span per request, with its id, method, URI and the client's address as
/// [`client_ip`] decides it (poem's own `Tracing` believes any `X-Forwarded-For` or
/// `X-Real-IP`), and one `response` (or `error`) line with the status and the duration.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLog;

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestLogEndpoint { inner }
    }
}

/// [`RequestLog`] around an endpoint.
#[derive(Debug)]
pub struct RequestLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let remote_addr = client_ip(&req).map(|ip| ip.to_string()).unwrap_or_default();
        let request_id = req
            .extensions()
            .get::<ReqId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            remote_addr = %remote_addr,
            method = %req.method(),
            uri = %req.original_uri(),
            request_id = %request_id,
        );
        async move {
            let started = Instant::now();
            match self.inner.call(req).await {
                Ok(resp) => {
                    let resp = resp.into_response();
                    tracing::info!(status = %resp.status(), duration = ?started.elapsed(), "response");
                    Ok(resp)
                }
                Err(err) => {
                    tracing::info!(status = %err.status(), error = %err, duration = ?started.elapsed(), "error");
                    Err(err)
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// Refuses request bodies larger than `max` bytes with 413.
///
/// poem's `SizeLimit` answers 411 to any request without `Content-Length`, a plain `GET`
/// included; this one checks `Content-Length` when it is sent and otherwise reads at most `max`
/// bytes of the body (a chunked upload), so a body never grows past the limit in memory.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    max: usize,
}

impl BodyLimit {
    /// A limit of `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

/// [`BodyLimit`] around an endpoint.
#[derive(Debug)]
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        match req.headers().typed_get::<ContentLength>() {
            Some(ContentLength(len)) if len > self.max as u64 => {
                return Err(SizedLimitError::PayloadTooLarge.into());
            }
            Some(_) => {}
            None => {
                let body = req.take_body();
                if !body.is_empty() {
                    let bytes = body.into_bytes_limit(self.max).await?;
                    req.set_body(Body::from_bytes(bytes));
                }
            }
        }
        self.inner.call(req).await
    }
}

/// Sets `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and
/// `Referrer-Policy: no-referrer` on every response, `Cache-Control: no-store` on everything but
/// the docs UI (the api, health and metrics answers are live data), and
/// `WWW-Authenticate: Bearer` on a 401.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders;

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint { inner }
    }
}

/// [`SecurityHeaders`] around an endpoint.
#[derive(Debug)]
pub struct SecurityHeadersEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let cacheable = req.uri().path().starts_with("/docs");
        let mut resp = self.inner.call(req).await?.into_response();
        let status = resp.status();
        let headers = resp.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if !cacheable {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if status == StatusCode::UNAUTHORIZED && !headers.contains_key(header::WWW_AUTHENTICATE) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Ok(resp)
    }
}
