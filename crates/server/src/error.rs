//! API errors: a stable code clients match on, an HTTP status, and a message for people.
//!
//! Every handler returns `Result<_, ApiError>`; the response body is always
//! `{"error": {"code": "...", "message": "..."}}`. Internal failures (a database error, a bug)
//! are logged with their detail and answered with the code `internal` and no detail: what went
//! wrong inside is for the operator's logs, not for whoever sent the request.
//!
//! The codes, listed in the README's table, are part of the API: never rename one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use vigie_store::StoreError;

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Whole seconds for a `Retry-After` header, when the client should wait that long.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The request is malformed: a missing parameter, a bad hash, an unknown signal type.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// What the request names does not exist.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The request conflicts with what exists (a bank name taken).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// No credentials, or credentials that do not check out.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API key as `Authorization: Bearer KEY`",
        )
    }

    /// Credentials that do not allow this operation.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A URL the caller gave could not be fetched: refused, unreachable, too slow, too large,
    /// or answered with an error. The message says which and why.
    pub fn fetch(error: &vigie_fetch::FetchError) -> Self {
        use vigie_fetch::FetchError as E;
        let (status, code) = match error {
            E::InvalidUrl { .. } => (StatusCode::BAD_REQUEST, "invalid_url"),
            E::Forbidden { .. } => (StatusCode::BAD_REQUEST, "url_refused"),
            E::TooLarge { .. } => (StatusCode::BAD_REQUEST, "url_too_large"),
            E::TimedOut { .. } => (StatusCode::GATEWAY_TIMEOUT, "url_timeout"),
            E::TooManyRedirects { .. } | E::Unreachable { .. } | E::NameNotFound { .. } => {
                (StatusCode::BAD_GATEWAY, "url_unreachable")
            }
            // The fetcher's own configuration is the operator's business.
            other => return Self::internal(other),
        };
        Self::new(status, code, error.to_string())
    }

    /// The URL's server answered, but not with the content (a 404, a 500).
    pub fn fetch_status(url: &str, status: u16) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "url_status",
            format!("{url} answered HTTP {status}"),
        )
    }

    /// The request took longer than the server allows.
    pub fn timed_out(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
    }

    /// A form arrived without the token of the page it came from: sent from another site, or
    /// from a page older than the browser's cookie.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form did not come from this site's page; reload the page and send it again",
        )
    }

    /// The server cannot do this as configured (a missing key, a feature turned off).
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// Too many requests from one client.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; wait a minute and try again",
        )
    }

    /// Too many requests from one API key in its window, which closes in `wait`: said in the
    /// message and in `Retry-After` (rounded up, so that a client retrying then is let in).
    pub fn rate_limited_for(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this key; retry in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// The body is larger than the server accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over the limit of {limit} bytes"),
        )
    }

    /// Something failed inside: logged in full, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the operator's logs have the detail",
        )
    }

    /// The stable code, for tests and logs.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for people (what the body's `message` says).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::not_found("not_found", what),
            StoreError::Conflict(what) => ApiError::conflict("conflict", what),
            StoreError::Invalid(what) => ApiError::invalid("invalid", what),
            other => ApiError::internal(other),
        }
    }
}
