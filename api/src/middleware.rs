//! The api's own middleware: a request body limit and the security headers.

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::SizedLimitError,
    http::{HeaderValue, StatusCode, header},
    web::headers::{ContentLength, HeaderMapExt},
};

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
