//! The one API error type. Every failure the HTTP layer reports becomes an
//! [`ApiError`], which renders the stable body
//! `{"errors":[{"name":"<field path or 'request'>","errors":["message"]}]}`
//! with the status design.md assigns (401 also carries `WWW-Authenticate`).
//!
//! This is the one place where a "no" becomes an HTTP status: a use case's
//! refusal ([`AppError`], by its kind: [`status_of`]), a store error (by
//! way of [`AppError`]) and a failed login step ([`LoginError`]).

use crate::app::{AppError, Refusal};
use crate::auth::{LoginError, TokenError};
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
mod tests;
