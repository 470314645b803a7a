//! How a use case says no: a [`Refusal`] kind and field errors, no HTTP
//! types. The layer above gives each kind its meaning there (the HTTP
//! layer a status, in one place); the CLI prints the errors.

use crate::store::StoreError;
use crate::validate::{Rejection, RejectionStatus};
use crate::wire::{ErrorBody, FieldError};

/// Why a use case refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Bad input (a field, a body, a cursor).
    Invalid,
    /// The caller may not do this (an ASN it may not act for).
    Forbidden,
    /// Unknown, or not visible to this caller.
    NotFound,
    /// The state of a session (or another network's session) is in the way.
    Conflict,
    /// A dependency (a store, PeeringDB) cannot answer now.
    Unavailable,
    /// A fault of ours; the detail went to the log, not to the caller.
    Internal,
}

/// A refusal with its field errors
/// (`{"name": "<field path or 'request'>", "errors": [...]}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppError {
    pub refusal: Refusal,
    pub errors: Vec<FieldError>,
}

impl AppError {
    pub fn new(refusal: Refusal, name: impl Into<String>, msg: impl Into<String>) -> Self {
        AppError {
            refusal,
            errors: vec![FieldError::new(name, msg)],
        }
    }

    /// A refusal carrying several field errors.
    pub fn with_items(refusal: Refusal, errors: Vec<FieldError>) -> Self {
        AppError { refusal, errors }
    }

    pub fn invalid(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(Refusal::Invalid, name, msg)
    }

    pub fn forbidden(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(Refusal::Forbidden, name, msg)
    }

    /// Unknown or not visible (never "forbidden": no enumeration).
    pub fn not_found(what: &str) -> Self {
        Self::new(Refusal::NotFound, "request", format!("{what} not found"))
    }

    /// A viewer (read-only operator key) asked for a change.
    pub fn read_only() -> Self {
        Self::forbidden(
            "request",
            "this operator key has the viewer role: it can read, not change",
        )
    }

    pub fn conflict(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Self::new(Refusal::Conflict, name, msg)
    }

    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::new(Refusal::Unavailable, "request", msg)
    }

    /// A fault of ours: the detail goes to the log, the caller reads only
    /// that there was one.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            Refusal::Internal,
            "request",
            "internal error; see the server log",
        )
    }

    /// The error body of this refusal.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.body().fmt(f)
    }
}

impl std::error::Error for AppError {}

/// The store's refusals in the words the API has always used.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::not_found("session"),
            StoreError::BadTransition { from, to } => AppError::conflict(
                "status",
                format!("a session in status {from} cannot move to {to}"),
            ),
            StoreError::Conflict(m) => AppError::conflict("request", m),
            StoreError::BadCursor => {
                AppError::invalid("next_token", "not a token this server issued")
            }
            // the disk or the database failing (full, read-only, gone):
            // nothing was accepted, and trying again later may work
            StoreError::Backend(detail) => {
                tracing::error!(error = %detail, "store unavailable");
                AppError::unavailable(
                    "the store is unavailable; nothing was accepted, try again later",
                )
            }
            other => AppError::internal(other),
        }
    }
}

/// A validation refusal: forbidden when the caller may not act for the
/// ASN, else invalid.
impl From<Rejection> for AppError {
    fn from(r: Rejection) -> Self {
        let refusal = match r.status {
            RejectionStatus::Forbidden => Refusal::Forbidden,
            RejectionStatus::Invalid => Refusal::Invalid,
        };
        AppError::with_items(refusal, r.errors)
    }
}
