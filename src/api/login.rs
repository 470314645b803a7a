//! Peer login routes (see [`crate::auth::login`]):
//!
//! - `GET /v0/auth`, `GET /auth/login`: start a PeeringDB login. JSON
//!   `{authorize_url, state, expires_in}`; a browser (`Accept: text/html`)
//!   gets a `302` to `authorize_url` instead.
//! - `GET /auth/callback?code=..&state=..`: finish it; the answer is the
//!   peerd token `{token, token_type: "Bearer", expires_in, asns}`.
//!   `?error=..&state=..` (the user refused at PeeringDB) is a 403.
//! - `POST /auth/revoke` with `Authorization: Bearer pd_...`: the token
//!   revokes itself.
//!
//! The callback also finishes the asking side's own PeeringDB login
//! (started with `POST /admin/outbound/login`), told apart by its state.
//!
//! None of these need a token to call (the revoke route takes the token it
//! revokes). With login disabled (`peeringdb.client_id` empty) the login
//! routes answer 404 with an error body saying so; revoke still works for
//! tokens issued earlier. Answers that carry a token are `no-store`.

use super::error::ApiError;
use super::extract::{bearer, ApiQuery};
use super::state::AppState;
use crate::auth::own::OwnToken;
use crate::auth::{is_peerd_token, ClientKind, Login, TokenError};
use crate::wire::RevokedOut;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

/// The callback's query. Unknown parameters are ignored: authorization
/// servers add their own (`iss`, `session_state`, ...).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code PeeringDB handed back.
    #[param(value_type = String, required = false, max_length = 512)]
    pub code: Option<String>,
    /// The `state` of the login start.
    #[param(value_type = String, required = false, max_length = 128)]
    pub state: Option<String>,
    /// Set by PeeringDB when the user refused.
    #[param(value_type = String, required = false)]
    pub error: Option<String>,
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn enabled(st: &AppState) -> Result<Arc<Login>, ApiError> {
    st.login.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "request",
            "peer login is not enabled on this server (peeringdb.client_id is not set); send a PeeringDB access token as the bearer token instead",
        )
    })
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// `GET /v0/auth` and `GET /auth/login`.
#[utoipa::path(
    get, path = "/auth/login", tag = "login", operation_id = "loginStart",
    summary = "Start a PeeringDB login",
    description = "Starts the PeeringDB login (authorization code + PKCE). A program gets the authorize URL as JSON; a browser (`Accept: text/html`) is redirected to it.",
    responses(
        (status = 200, description = "Open `authorize_url`; PeeringDB comes back to `/auth/callback`.", body = crate::auth::login::StartOut),
        (status = 302, description = "A browser is sent to PeeringDB.", headers(("Location" = String, description = "PeeringDB's authorize URL"))),
        (status = 404, description = "Peer login is not enabled on this server."),
    ),
    security(())
)]
pub async fn start(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let login = enabled(&st)?;
    let kind = if wants_html(&headers) {
        ClientKind::Browser
    } else {
        ClientKind::Api
    };
    // The pending login is written to the store.
    let out = tokio::task::spawn_blocking(move || login.start(kind))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)?;
    Ok(no_store(match kind {
        ClientKind::Api => Json(out).into_response(),
        ClientKind::Browser => {
            let to = HeaderValue::from_str(&out.authorize_url).map_err(ApiError::internal)?;
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
    }))
}

/// `GET /v0/auth`: [`start`] under the proof of concept's name.
#[utoipa::path(
    get, path = "/v0/auth", tag = "v0", operation_id = "v0Auth",
    summary = "Start a PeeringDB login (v0)",
    description = "The same as `GET /auth/login`.",
    responses(
        (status = 200, description = "Open `authorize_url`; PeeringDB comes back to `/auth/callback`.", body = crate::auth::login::StartOut),
        (status = 302, description = "A browser is sent to PeeringDB.", headers(("Location" = String, description = "PeeringDB's authorize URL"))),
        (status = 404, description = "Peer login is not enabled on this server."),
    ),
    security(())
)]
pub async fn start_v0(st: State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    start(st, headers).await
}

/// `GET /auth/callback?code=..&state=..` (or `?error=..&state=..`).
#[utoipa::path(
    get, path = "/auth/callback", tag = "login", operation_id = "loginCallback",
    summary = "Finish a PeeringDB login",
    description = "PeeringDB's redirect back. Exchanges the code, reads the user's networks and answers a peerd bearer token for the ASNs the user may act for.",
    params(CallbackQuery),
    responses(
        (status = 200, description = "The peerd token (shown once).", body = crate::auth::tokens::TokenResponse),
        (status = 400, description = "Missing or invalid code or state."),
        (status = 403, description = "The user refused, or may act for no network."),
        (status = 404, description = "Peer login is not enabled on this server."),
        (status = 502, description = "PeeringDB answered something unusable."),
    ),
    security(())
)]
pub async fn callback(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Response, ApiError> {
    // A state of our own login (the asking side's PeeringDB token) is
    // finished there; every other state is a peer's.
    if let (Some(own), Some(state)) = (own_login(&st), q.state.as_deref()) {
        if own.owns_state(state) {
            return own_callback(own, q).await;
        }
    }
    let login = enabled(&st)?;
    if let Some(error) = q.error {
        let state = q.state.unwrap_or_default();
        let e = tokio::task::spawn_blocking(move || login.deny(&state, &error))
            .await
            .map_err(ApiError::internal)?;
        return Err(e.into());
    }
    let code = q
        .code
        .ok_or_else(|| ApiError::invalid("code", "required"))?;
    let state = q
        .state
        .ok_or_else(|| ApiError::invalid("state", "required"))?;
    let done = login
        .callback(&code, &state)
        .await
        .map_err(ApiError::from)?;
    Ok(no_store(Json(done.token.response()).into_response()))
}

fn own_login(st: &AppState) -> Option<Arc<OwnToken>> {
    st.outbound.as_ref().and_then(|o| o.own.clone())
}

/// The callback of our own login: the answer says who logged in and until
/// when the token is good (never the token).
async fn own_callback(own: Arc<OwnToken>, q: CallbackQuery) -> Result<Response, ApiError> {
    let state = q.state.unwrap_or_default();
    if q.error.is_some() {
        tokio::task::spawn_blocking(move || own.forget(&state))
            .await
            .map_err(ApiError::internal)?;
        return Err(ApiError::forbidden("request", "login refused at PeeringDB"));
    }
    let code = q
        .code
        .ok_or_else(|| ApiError::invalid("code", "required"))?;
    let s = own.finish(&code, &state).await?;
    Ok(no_store(
        Json(serde_json::json!({
            "logged_in": s.logged_in,
            "principal": s.principal,
            "asns": s.asns,
            "expires_at": s.expires_ms.map(crate::wire::rfc3339),
            "refreshable": s.refreshable,
            "use": "remote peers with auth: peeringdb",
        }))
        .into_response(),
    ))
}

/// `POST /auth/revoke`: revokes the peerd token presented as the bearer.
/// Revoking a revoked (or expired) token again is fine; an unknown one is
/// 401.
#[utoipa::path(
    post, path = "/auth/revoke", tag = "login", operation_id = "loginRevoke",
    summary = "Revoke the presented peerd token",
    responses(
        (status = 200, description = "Revoked (again, if it already was).", body = RevokedOut),
        (status = 400, description = "Not a peerd token (`pd_...`)."),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<RevokedOut>, ApiError> {
    let token = bearer(&headers)?;
    if !is_peerd_token(token) {
        return Err(ApiError::invalid(
            "request",
            "only peerd tokens (pd_...) are revoked here; revoke a PeeringDB access token at PeeringDB",
        ));
    }
    match st.tokens.revoke(token).await {
        Ok(id) => Ok(Json(RevokedOut { id, revoked: true })),
        Err(TokenError::Store(e)) => {
            tracing::error!(error = %e, "token revoke: store failed");
            Err(ApiError::unavailable(
                "the token store is unavailable; try again later",
            ))
        }
        Err(e) => Err(ApiError::invalid_token(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_clients_are_browsers() {
        let mut h = HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("Text/HTML,application/xhtml+xml;q=0.9"),
        );
        assert!(wants_html(&h));
    }
}
