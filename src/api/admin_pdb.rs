//! Admin routes for peer login tokens and the PeeringDB data (operator
//! keys only):
//!
//! - `GET /admin/tokens`: every peerd token on record (ids, never secrets);
//! - `POST /admin/tokens/{id}/revoke`: revoke one by id (or an id prefix
//!   of at least 8 hex digits);
//! - `GET /admin/peeringdb`: the PeeringDB data in use and the last sync;
//! - `POST /admin/peeringdb/sync`: sync now (the daemon holds the store,
//!   so this is how a running peerd is refreshed on demand).

use super::error::ApiError;
use super::extract::{ApiPath, Operator};
use super::state::AppState;
use crate::auth::{TokenError, TokenInfo};
use crate::wire::{rfc3339, PeeringDbOut, TokenOut, TokensOut};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

impl From<&TokenInfo> for TokenOut {
    fn from(t: &TokenInfo) -> Self {
        TokenOut {
            id: t.id.clone(),
            principal: t.principal.clone(),
            asns: t.asns.iter().copied().collect(),
            created_at: rfc3339(t.created_ms),
            expires_at: rfc3339(t.expires_ms),
            revoked: t.revoked,
            expired: t.expired,
        }
    }
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Unknown => ApiError::not_found("token"),
        TokenError::Ambiguous(id) => ApiError::conflict(
            "id",
            format!("{id} matches several tokens; give more digits"),
        ),
        TokenError::Invalid(m) => ApiError::invalid("id", m),
        TokenError::Store(e) => {
            tracing::error!(error = %e, "token store failed");
            ApiError::unavailable("the token store is unavailable; try again later")
        }
        e => ApiError::invalid("id", e.to_string()),
    }
}

async fn list_tokens(st: &AppState) -> Result<Vec<TokenOut>, ApiError> {
    let tokens = st.tokens.clone();
    let list = tokio::task::spawn_blocking(move || tokens.list())
        .await
        .map_err(ApiError::internal)?
        .map_err(token_error)?;
    Ok(list.iter().map(TokenOut::from).collect())
}

/// `GET /admin/tokens`: oldest first.
#[utoipa::path(
    get, path = "/admin/tokens", tag = "admin", operation_id = "adminTokens",
    summary = "Peer login tokens",
    responses(
        (status = 200, description = "Every peerd token on record, oldest first (ids, never secrets).", body = TokensOut),
    ),
    security(("bearer" = []))
)]
pub async fn tokens(
    State(st): State<AppState>,
    Operator(_op): Operator,
) -> Result<Json<TokensOut>, ApiError> {
    Ok(Json(TokensOut {
        tokens: list_tokens(&st).await?,
    }))
}

/// `POST /admin/tokens/{id}/revoke`: the revoked token.
#[utoipa::path(
    post, path = "/admin/tokens/{id}/revoke", tag = "admin", operation_id = "adminRevokeToken",
    summary = "Revoke a peer token",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8,64}$", description = "A token id, or a prefix of at least 8 hex digits.")),
    responses(
        (status = 200, description = "The revoked token.", body = TokenOut),
        (status = 400, description = "Not a token id."),
        (status = 404, description = "No such token."),
        (status = 409, description = "The id prefix matches several tokens."),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenOut>, ApiError> {
    let id = st.tokens.revoke_by_id(&id).await.map_err(token_error)?;
    tracing::info!(token_id = %id, by = %op.principal, "token revoked by operator");
    list_tokens(&st)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("token"))
}

fn status(st: &AppState) -> PeeringDbOut {
    let s = st
        .peeringdb
        .as_ref()
        .map(|p| p.status())
        .unwrap_or_default();
    PeeringDbOut {
        in_use: s.taken_at.is_some(),
        taken_at: s.taken_at.map(rfc3339),
        source: s.source,
        exchanges: s.exchanges,
        networks: s.networks,
        sync_interval_secs: st.settings.peeringdb.sync_interval_secs,
        last_attempt: s.last_attempt.map(rfc3339),
        last_success: s.last_success.map(rfc3339),
        last_error: s.last_error,
    }
}

/// `GET /admin/peeringdb`.
#[utoipa::path(
    get, path = "/admin/peeringdb", tag = "admin", operation_id = "adminPeeringDb",
    summary = "PeeringDB data in use",
    responses(
        (status = 200, description = "The data in use and the state of its sync.", body = PeeringDbOut),
    ),
    security(("bearer" = []))
)]
pub async fn peeringdb(State(st): State<AppState>, Operator(_op): Operator) -> Json<PeeringDbOut> {
    Json(status(&st))
}

/// `POST /admin/peeringdb/sync`: syncs now and answers the new status; a
/// failed sync keeps the last good data and answers 503 with the error.
/// The sync runs on its own task, so a request timeout does not cut it off.
#[utoipa::path(
    post, path = "/admin/peeringdb/sync", tag = "admin", operation_id = "adminPeeringDbSync",
    summary = "Sync PeeringDB now",
    responses(
        (status = 200, description = "Synced: the new status.", body = PeeringDbOut),
        (status = 404, description = "This server has no PeeringDB sync."),
        (status = 503, description = "The sync failed; the last good data stays in use."),
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(st): State<AppState>,
    Operator(op): Operator,
) -> Result<Json<PeeringDbOut>, ApiError> {
    let Some(syncer) = st.peeringdb.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "request",
            "this server has no PeeringDB sync",
        ));
    };
    tracing::info!(by = %op.principal, "PeeringDB sync requested");
    let done = tokio::spawn(async move { syncer.sync_now().await.map(|_| ()) })
        .await
        .map_err(ApiError::internal)?;
    match done {
        Ok(()) => Ok(Json(status(&st))),
        Err(e) => {
            tracing::warn!(by = %op.principal, error = %e, "PeeringDB sync requested by an operator failed");
            let kept = if st
                .peeringdb
                .as_ref()
                .is_some_and(|p| p.snapshot().is_some())
            {
                "the last good data stays in use"
            } else {
                "there is still no PeeringDB data in use"
            };
            Err(ApiError::unavailable(format!(
                "PeeringDB sync failed ({e}); {kept}"
            )))
        }
    }
}
