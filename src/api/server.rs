//! The router (every route under the configurable base path), its layers
//! (body limit, request timeout, access log, `Connection: close` after an
//! answer given before the request body was read) and [`serve`].

use super::conn::watch_body;
use super::error::ApiError;
use super::listen::ConnSettings;
use super::state::AppState;
use super::{admin, admin_pdb, locations, login, outbound, sessions, v0};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Normalises a base path: `""`/`"/"` -> `""`, `"api/"` -> `"/api"`.
/// Only letters, digits and `-_./` are allowed.
pub fn normalise_base_path(p: &str) -> Result<String, String> {
    let t = p.trim().trim_matches('/');
    if t.is_empty() {
        return Ok(String::new());
    }
    if t.len() > 100
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        || t.split('/').any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!("base_path {p:?} is not a plain URL path"));
    }
    Ok(format!("/{t}"))
}

/// The API routes, relative to the base path.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/locations", get(locations::list))
        .route("/sessions", get(sessions::list).post(sessions::create))
        .route(
            "/sessions/{session_id}",
            get(sessions::get_one).delete(sessions::delete),
        )
        .route("/v0/list_locations", get(v0::list_locations))
        .route("/v0/add_sessions", post(v0::add_sessions))
        .route("/v0/get_status", get(v0::get_status))
        .route("/admin/sessions", get(admin::list))
        .route("/admin/sessions/{session_id}", get(admin::get_one))
        .route("/admin/sessions/{session_id}/approve", post(admin::approve))
        .route("/admin/sessions/{session_id}/reject", post(admin::reject))
        .route("/admin/sessions/{session_id}/retry", post(admin::retry))
        .route(
            "/admin/sessions/{session_id}/force-remove",
            post(admin::force_remove),
        )
        .route("/admin/sessions/{session_id}/audit", get(admin::audit))
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/metrics", get(admin::metrics))
        .route("/v0/auth", get(login::start))
        .route("/auth/login", get(login::start))
        .route("/auth/callback", get(login::callback))
        .route("/auth/revoke", post(login::revoke))
        .route("/admin/tokens", get(admin_pdb::tokens))
        .route("/admin/tokens/{id}/revoke", post(admin_pdb::revoke_token))
        .route("/admin/peeringdb", get(admin_pdb::peeringdb))
        .route("/admin/peeringdb/sync", post(admin_pdb::sync))
        .route(
            "/admin/outbound",
            get(outbound::state).post(outbound::request),
        )
        .route("/admin/outbound/login", post(outbound::login))
        .route("/healthz", get(health))
}

/// The whole application for `state`.
pub fn app(state: AppState) -> Result<Router, String> {
    let base = normalise_base_path(&state.settings.base_path)?;
    let inner = routes();
    let router = if base.is_empty() {
        inner
    } else {
        Router::new().nest(&base, inner)
    };
    Ok(router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state))
}

/// Runs the API on `listener` until `shutdown` resolves, under the
/// connection settings `conn` (see [`super::listen`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    conn: ConnSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state).map_err(std::io::Error::other)?;
    super::listen::serve(listener, app, conn, shutdown).await
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "request",
        "method not allowed on this route",
    )
}

/// Request timeout (503), `Connection: close` on an answer given before
/// the request's body was read to its end (the server will not read the
/// rest, so the connection cannot carry another request), and a one-line
/// access log (path without query, never headers).
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().chars().take(200).collect::<String>();
    let started = Instant::now();
    let limit = Duration::from_secs(st.settings.limits.request_timeout_secs.max(1));
    let has_body = !axum::body::HttpBody::is_end_stream(req.body());
    let (req, body_read) = watch_body(req);
    let mut resp = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::unavailable("the request took too long; try again").into_response(),
    };
    if has_body && !body_read.load(Ordering::SeqCst) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    tracing::info!(
        target: "peerd::access",
        %method,
        path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(normalise_base_path("/").unwrap(), "");
        assert_eq!(normalise_base_path("").unwrap(), "");
        assert_eq!(normalise_base_path("api/").unwrap(), "/api");
        assert_eq!(normalise_base_path("/peering/v1").unwrap(), "/peering/v1");
        assert!(normalise_base_path("/a/../b").is_err());
        assert!(normalise_base_path("/a b").is_err());
        assert!(normalise_base_path("/a//b").is_err());
    }
}
