//! The one API error type. Every failure the HTTP layer reports becomes an
//! [`ApiError`], which renders the stable body
//! `{"errors":[{"name":"<field path or 'request'>","errors":["message"]}]}`
//! with the status design.md assigns (401 also carries `WWW-Authenticate`).

use crate::app::{AppError, Refusal};
use crate::auth::{LoginError, TokenError};
use crate::validate::Rejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub use crate::wire::{ErrorBody, FieldError};

/// An error answer: status plus field errors.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<FieldError>,
    /// `WWW-Authenticate` value for 401 answers.
    challenge: Option<&'static str>,
    /// `Retry-After` seconds for 429 and 503 answers.
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, name: impl Into<String>, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            errors: vec![FieldError::new(name, msg)],
            challenge: None,
            retry_after: None,
        }
    }

    /// An answer carrying several field errors.
    pub fn with_items(status: StatusCode, errors: Vec<FieldError>) -> Self {
        ApiError {
            status,
            errors,
            challenge: None,
            retry_after: None,
        }
    }

    /// 400 on one field.
    pub fn invalid(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, name, msg)
    }

    /// 401: no token, or a token nobody recognises.
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        ApiError {
            challenge: Some("Bearer realm=\"peerd\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "request", msg)
        }
    }

    /// 401 for a token that was presented but is not valid.
    pub fn invalid_token(msg: impl Into<String>) -> Self {
        ApiError {
            challenge: Some("Bearer realm=\"peerd\", error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "request", msg)
        }
    }

    /// 403 on one field (an ASN the caller may not act for, an admin route).
    pub fn forbidden(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, name, msg)
    }

    /// 404: unknown, or not visible to this caller (never 403: no enumeration).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "request",
            format!("{what} not found"),
        )
    }

    pub fn conflict(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, name, msg)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request",
            format!("request body larger than {limit} bytes"),
        )
    }

    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "request",
            "too many requests; slow down",
        )
    }

    /// 429 with `Retry-After: secs` (at least 1).
    pub fn rate_limited_for(msg: impl Into<String>, secs: u64) -> Self {
        ApiError {
            retry_after: Some(secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "request", msg)
        }
    }

    /// 503: a dependency (PeeringDB, the store) is unavailable.
    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "request", msg)
    }

    /// 500 without internals: the detail goes to the log, not the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "request",
            "internal error; see the server log",
        )
    }

    /// A validation refusal: 403 when the caller may not act for the ASN,
    /// else 400.
    pub fn rejection(r: Rejection) -> Self {
        AppError::from(r).into()
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        for e in &self.errors {
            write!(f, "; {}: {}", e.name, e.errors.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The status of each refusal of a use case: the one place where a
/// domain "no" becomes an HTTP status.
pub fn status_of(r: Refusal) -> StatusCode {
    match r {
        Refusal::Invalid => StatusCode::BAD_REQUEST,
        Refusal::Forbidden => StatusCode::FORBIDDEN,
        Refusal::NotFound => StatusCode::NOT_FOUND,
        Refusal::Conflict => StatusCode::CONFLICT,
        Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::with_items(status_of(e.refusal), e.errors)
    }
}

/// A failed step of the peer login. Store trouble is a 503 without its
/// detail; a login that is not configured is our fault (500).
impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        let status = match &e {
            LoginError::NotConfigured(_) => return ApiError::internal(e),
            LoginError::Store(_) | LoginError::Token(TokenError::Store(_)) => {
                tracing::error!(error = %e, "peer login: store failed");
                return ApiError::unavailable("the token store is unavailable; try again later");
            }
            LoginError::BadRequest(_) | LoginError::BadState | LoginError::CodeRejected(_) => {
                StatusCode::BAD_REQUEST
            }
            LoginError::Denied(_) | LoginError::NoNetworks => StatusCode::FORBIDDEN,
            LoginError::Busy | LoginError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            LoginError::Upstream(_) | LoginError::Token(TokenError::Invalid(_)) => {
                StatusCode::BAD_GATEWAY
            }
            LoginError::Token(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let name = match e {
            LoginError::BadState => "state",
            LoginError::CodeRejected(_) => "code",
            _ => "request",
        };
        ApiError::new(status, name, e.to_string())
    }
}

/// Through [`AppError`], so a store's refusal reads the same everywhere.
impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(c) = self.challenge {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape_is_stable() {
        let e = ApiError::invalid("sessions[2].peer_ip", "not ours");
        let v = serde_json::to_value(e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errors":[{"name":"sessions[2].peer_ip","errors":["not ours"]}]})
        );
    }

    #[test]
    fn refusals_have_their_statuses() {
        let cases = [
            (Refusal::Invalid, 400),
            (Refusal::Forbidden, 403),
            (Refusal::NotFound, 404),
            (Refusal::Conflict, 409),
            (Refusal::Unavailable, 503),
            (Refusal::Internal, 500),
        ];
        for (r, code) in cases {
            let e = ApiError::from(AppError::new(r, "request", "no"));
            assert_eq!(e.status.as_u16(), code, "{r:?}");
            assert_eq!(e.errors, vec![FieldError::new("request", "no")]);
        }
        let e = ApiError::from(crate::store::StoreError::BadCursor);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.errors[0].name, "next_token");
    }

    #[test]
    fn login_errors_keep_their_status() {
        use crate::store::StoreError;
        let status = |e: LoginError| ApiError::from(e).status.as_u16();
        assert_eq!(status(LoginError::BadState), 400);
        assert_eq!(status(LoginError::BadRequest("x".into())), 400);
        assert_eq!(status(LoginError::CodeRejected("x".into())), 400);
        assert_eq!(status(LoginError::Denied("x".into())), 403);
        assert_eq!(status(LoginError::NoNetworks), 403);
        assert_eq!(status(LoginError::Busy), 503);
        assert_eq!(status(LoginError::Unavailable("x".into())), 503);
        assert_eq!(status(LoginError::Upstream("x".into())), 502);
        assert_eq!(status(LoginError::NotConfigured("x".into())), 500);
        assert_eq!(
            status(LoginError::Token(TokenError::Invalid("x".into()))),
            502
        );
        let e = ApiError::from(LoginError::BadState);
        assert_eq!(e.errors[0].name, "state");
        let e = ApiError::from(LoginError::Token(TokenError::Store(StoreError::Backend(
            "disk on fire".into(),
        ))));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.errors[0].errors[0].contains("disk"), "no internals");
        let e = ApiError::from(LoginError::Store(StoreError::Backend(
            "disk on fire".into(),
        )));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.errors[0].errors[0].contains("disk"), "no internals");
    }

    #[test]
    fn unauthorized_carries_challenge() {
        let r = ApiError::unauthorized("missing bearer token").into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let h = r.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert!(h.to_str().unwrap().starts_with("Bearer"));
    }
}
