//! Problem details (RFC 9457): the one shape of every error the api sends.
//!
//! [`ApiError`] is what went wrong, in HTTP terms; it is made from a [`DomainError`] (the
//! domain's words) or from a [`poem::Error`] (what poem and poem-openapi reject before a handler
//! runs: malformed JSON, a missing key, an unknown route, a body too large). Each endpoint's
//! response enum is declared with [`api_responses!`]: its success variants, then the problem
//! statuses it can answer, and it takes an `ApiError` through [`problem_responses!`], so the
//! statuses in the spec and on the wire are the same list.
//!
//! Unexpected failures become one opaque 500: the cause is logged with `tracing::error!` where
//! the error is made, and never sent.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{Object, payload::Json};

use jobs::{DomainError, FieldError};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error, as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "Problem")]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:demandflow:problem:<slug>`); stable, so clients
    /// can branch on it.
    #[oai(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem (the same for every occurrence).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, in words a person can act on.
    pub detail: String,
    /// For validation errors: every offending field, with its path (`args.url`,
    /// `jobs[3].kind`; empty for the whole document).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<ProblemField>>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "ProblemField")]
pub struct ProblemField {
    /// Dotted path of the field, with `[i]` for list items; empty for the whole document.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Problem {
    fn new(slug: &str, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("urn:demandflow:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A problem as a poem response, for the routes outside the OpenAPI service and the catch-all.
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        use poem::http::{HeaderValue, header};
        let status = self.status_code();
        let mut resp = Json(self).with_status(status).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        resp
    }
}

/// Everything the api answers with besides success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read (malformed JSON, wrong content type, bad parameter).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No key, or not a live key.
    #[error("unauthorized")]
    Unauthorized,
    /// The key's role does not allow the operation.
    #[error("forbidden: needs the {0} role")]
    Forbidden(jobs::auth::Role),
    /// Nothing of this name for this tenant (or no such route).
    #[error("{0}")]
    NotFound(String),
    /// The method is not served at this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The row's state forbids the operation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body is larger than `MAX_BODY_BYTES`.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request is well-formed but a field is invalid.
    #[error("invalid: {0}")]
    Invalid(FieldError),
    /// Over a rate limit (a key's rate, or too many bad keys from one address).
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// A dependency (the database) cannot serve right now.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Any other status poem reports, passed through with its message.
    #[error("{1}")]
    Other(StatusCode, String),
    /// Something failed that should not have; the cause was logged where this was made.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// A 500 whose cause is logged now and never sent.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %cause, cause = ?error_chain(cause), "unexpected failure");
        ApiError::Internal
    }

    /// The problem document for this error.
    pub fn to_problem(&self) -> Problem {
        match self {
            ApiError::BadRequest(detail) => {
                Problem::new("bad-request", StatusCode::BAD_REQUEST, detail.clone())
            }
            ApiError::Unauthorized => Problem::new(
                "unauthorized",
                StatusCode::UNAUTHORIZED,
                "a valid API key is required: send it as `X-API-Key: <key>` or \
                 `Authorization: Bearer <key>`",
            ),
            ApiError::Forbidden(role) => Problem::new(
                "forbidden",
                StatusCode::FORBIDDEN,
                format!("this operation needs a key with the {role} role or higher"),
            ),
            ApiError::NotFound(detail) => {
                Problem::new("not-found", StatusCode::NOT_FOUND, detail.clone())
            }
            ApiError::MethodNotAllowed => Problem::new(
                "method-not-allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not served at this path",
            ),
            ApiError::Conflict(detail) => {
                Problem::new("conflict", StatusCode::CONFLICT, detail.clone())
            }
            ApiError::PayloadTooLarge => Problem::new(
                "payload-too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than this server accepts",
            ),
            ApiError::Invalid(field) => {
                let detail = if field.path.is_empty() {
                    format!("the request body is invalid: {}", field.message)
                } else {
                    format!("`{}` is invalid: {}", field.path, field.message)
                };
                Problem {
                    errors: Some(vec![ProblemField {
                        path: field.path.clone(),
                        message: field.message.clone(),
                    }]),
                    ..Problem::new("validation", StatusCode::UNPROCESSABLE_ENTITY, detail)
                }
            }
            ApiError::TooManyRequests(detail) => Problem::new(
                "too-many-requests",
                StatusCode::TOO_MANY_REQUESTS,
                detail.clone(),
            ),
            ApiError::Unavailable(detail) => Problem::new(
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                detail.clone(),
            ),
            ApiError::Other(status, detail) => Problem::new("http", *status, detail.clone()),
            ApiError::Internal => Problem::new(
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed to handle this request; it has been logged",
            ),
        }
    }

    /// Maps what poem and poem-openapi reject before (or instead of) a handler.
    pub fn from_poem(err: poem::Error) -> Self {
        use poem_openapi::error::{ContentTypeError, ParsePathError};
        let status = err.status();
        match status {
            // poem-openapi names path parameters by position (`param0`); say what it means.
            StatusCode::BAD_REQUEST => match err.downcast_ref::<ParsePathError>() {
                Some(e) => ApiError::BadRequest(format!("malformed path parameter: {}", e.reason)),
                None => ApiError::BadRequest(err.to_string()),
            },
            // The contract says a body that is not JSON is a bad request, whatever its label.
            StatusCode::UNSUPPORTED_MEDIA_TYPE if err.is::<ContentTypeError>() => {
                ApiError::BadRequest(format!(
                    "{err}; send a JSON body with `Content-Type: application/json`"
                ))
            }
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::NOT_FOUND => ApiError::NotFound("no such resource".to_owned()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            s if s.is_server_error() => {
                tracing::error!(error = %err, status = s.as_u16(), "request failed");
                ApiError::Internal
            }
            s => ApiError::Other(s, err.to_string()),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(field) => ApiError::Invalid(field),
            DomainError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            DomainError::Conflict(detail) => ApiError::Conflict(detail),
            DomainError::Database(ref cause) => ApiError::internal(cause),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::from(DomainError::Database(err))
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        ApiError::Invalid(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

/// The messages of `err` and its sources, outermost first.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(err), |e| e.source())
        .map(ToString::to_string)
        .collect()
}

/// The poem catch-all: every error that escapes the routes becomes problem+json.
pub async fn catch_all(err: poem::Error) -> Response {
    ApiError::from_poem(err).into_response()
}

/// `bad_request_handler` of every response enum: poem-openapi's extractor errors (malformed
/// JSON, a bad parameter, a missing or wrong key) become that endpoint's documented problems.
pub fn from_extractor<R: From<ApiError>>(err: poem::Error) -> R {
    R::from(ApiError::from_poem(err))
}

/// `result.unwrap_or_else(R::from)`: a handler's inner `Result` as its response enum.
pub fn respond<R: From<ApiError>>(result: Result<R, ApiError>) -> R {
    result.unwrap_or_else(R::from)
}

/// Implements `From<ApiError>` for a response enum whose problem variants are listed as
/// `status => Variant`; each variant holds a `Json<Problem>`. The enum must have an `Internal`
/// variant (500): an error whose status the endpoint does not document is a bug, logged and
/// answered as 500.
#[macro_export]
macro_rules! problem_responses {
    ($resp:ident { $($status:literal => $variant:ident),+ $(,)? }) => {
        impl ::std::convert::From<$crate::problem::ApiError> for $resp {
            fn from(err: $crate::problem::ApiError) -> Self {
                let problem = err.to_problem();
                match problem.status {
                    $($status => $resp::$variant(::poem_openapi::payload::Json(problem)),)+
                    500 => $resp::Internal(::poem_openapi::payload::Json(problem)),
                    status => {
                        ::tracing::error!(
                            status,
                            detail = %problem.detail,
                            response = stringify!($resp),
                            "an endpoint produced a status it does not document"
                        );
                        $resp::Internal(::poem_openapi::payload::Json(
                            $crate::problem::ApiError::Internal.to_problem(),
                        ))
                    }
                }
            }
        }
    };
}

/// Declares an endpoint's response enum: its success variants as written, then one
/// `Json<Problem>` variant per problem status it documents (`status => Variant: "what it means
/// here"`; 401, 413 and 429 may leave the description out: they read the same everywhere), then
/// `Internal` (500), and its `From<ApiError>` ([`problem_responses!`]), so the statuses in the
/// spec and on the wire are one list.
///
/// (The descriptions are spliced in as literals by the recursion below: poem-openapi reads doc
/// attributes before macros inside them would expand.)
#[macro_export]
macro_rules! api_responses {
    // Every problem placed: the enum and its `From<ApiError>`.
    (@build [$($meta:tt)*] [$vis:vis] $name:ident [$($success:tt)*] [$($variants:tt)*]
        [$($status:tt => $v:ident)*] ;) => {
        $($meta)*
        #[derive(::poem_openapi::ApiResponse)]
        #[oai(bad_request_handler = "crate::problem::from_extractor")]
        $vis enum $name {
            $($success)*
            $($variants)*
            /// An unexpected failure (logged, not described).
            #[oai(status = 500, content_type = "application/problem+json")]
            Internal(::poem_openapi::payload::Json<$crate::problem::Problem>),
        }
        $crate::problem_responses!($name { $($status => $v),* });
    };
    // A problem with its description.
    (@build $meta:tt $vis:tt $name:ident $success:tt [$($variants:tt)*] [$($list:tt)*] ;
        $status:tt => $variant:ident : $doc:literal $(, $($rest:tt)*)?) => {
        $crate::api_responses!(@build $meta $vis $name $success
            [$($variants)*
             #[doc = $doc]
             #[oai(status = $status, content_type = "application/problem+json")]
             $variant(::poem_openapi::payload::Json<$crate::problem::Problem>),]
            [$($list)* $status => $variant] ; $($($rest)*)?);
    };
    // The statuses that mean the same on every endpoint.
    (@build $meta:tt $vis:tt $name:ident $success:tt $variants:tt $list:tt ;
        401 => $variant:ident $(, $($rest:tt)*)?) => {
        $crate::api_responses!(@build $meta $vis $name $success $variants $list ;
            401 => $variant: "No API key, or not a live one." $(, $($rest)*)?);
    };
    (@build $meta:tt $vis:tt $name:ident $success:tt $variants:tt $list:tt ;
        413 => $variant:ident $(, $($rest:tt)*)?) => {
        $crate::api_responses!(@build $meta $vis $name $success $variants $list ;
            413 => $variant: "The body is larger than the server accepts." $(, $($rest)*)?);
    };
    (@build $meta:tt $vis:tt $name:ident $success:tt $variants:tt $list:tt ;
        429 => $variant:ident $(, $($rest:tt)*)?) => {
        $crate::api_responses!(@build $meta $vis $name $success $variants $list ;
            429 => $variant: "Over the key's request rate, or too many bad keys from this address (see `Retry-After`)."
            $(, $($rest)*)?);
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($success:tt)*
        }
        problems {
            $($problems:tt)*
        }
    ) => {
        $crate::api_responses!(@build [$(#[$meta])*] [$vis] $name [$($success)*] [] [] ;
            $($problems)*);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(err: DomainError) -> (u16, Problem) {
        let p = ApiError::from(err).to_problem();
        (p.status, p)
    }

    #[test]
    fn invalid_fields_are_422_naming_the_path() {
        let (status, p) = status_of(DomainError::Invalid(FieldError::new(
            "args.url",
            "not an absolute URL",
        )));
        assert_eq!(status, 422);
        assert_eq!(p.type_, "urn:demandflow:problem:validation");
        assert_eq!(p.title, "Unprocessable Entity");
        assert!(p.detail.contains("args.url"), "{}", p.detail);
        assert_eq!(
            p.errors,
            Some(vec![ProblemField {
                path: "args.url".into(),
                message: "not an absolute URL".into()
            }])
        );
    }

    #[test]
    fn not_found_and_conflict_keep_their_words() {
        let (status, p) = status_of(DomainError::NotFound("job"));
        assert_eq!((status, p.detail.as_str()), (404, "job not found"));
        assert_eq!(p.errors, None);
        let (status, p) = status_of(DomainError::Conflict("the job is running".into()));
        assert_eq!((status, p.detail.as_str()), (409, "the job is running"));
    }

    #[test]
    fn database_errors_are_an_opaque_500() {
        let (status, p) = status_of(DomainError::Database(sqlx::Error::Protocol(
            "password=hunter2 leaked".into(),
        )));
        assert_eq!(status, 500);
        assert!(!p.detail.contains("hunter2"));
        assert!(!p.detail.contains("Protocol"));
    }

    #[test]
    fn problems_serialise_without_empty_errors() {
        use poem_openapi::types::ToJSON;
        let json = ApiError::Conflict("x".into())
            .to_problem()
            .to_json()
            .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:demandflow:problem:conflict",
                "title": "Conflict",
                "status": 409,
                "detail": "x",
            })
        );
    }

    #[tokio::test]
    async fn problem_responses_carry_the_media_type() {
        let resp = ApiError::PayloadTooLarge.into_response();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }

    #[test]
    fn poem_errors_map_to_the_contract() {
        use poem::error::{MethodNotAllowedError, NotFoundError};
        use poem_openapi::error::{AuthorizationError, ContentTypeError, ParseRequestPayloadError};
        let s = |e: poem::Error| ApiError::from_poem(e).to_problem().status;
        assert_eq!(
            s(ParseRequestPayloadError {
                reason: "eof".into()
            }
            .into()),
            400
        );
        assert_eq!(s(ContentTypeError::ExpectContentType.into()), 400);
        assert_eq!(s(AuthorizationError.into()), 401);
        assert_eq!(s(NotFoundError.into()), 404);
        assert_eq!(s(MethodNotAllowedError.into()), 405);
        assert_eq!(s(poem::error::SizedLimitError::PayloadTooLarge.into()), 413);
    }
}
