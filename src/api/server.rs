//! The router (every route under the configurable base path), its layers
//! (body limit, request timeout, access log and request metrics by route
//! template, `Connection: close` after an answer given before the request
//! body was read), [`serve`], and the metrics listener's small router
//! ([`metrics_app`]).

use super::conn::watch_body;
use super::error::ApiError;
use super::listen::ConnSettings;
use super::state::AppState;
use super::{
    admin, admin_pdb, locations, login, maintenance, openapi, ops, outbound, sessions, ui, v0,
};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
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

/// The API routes, relative to the base path; `/metrics` unless it has a
/// listener of its own; the console's (`/ui...`, see [`ui`]) when given.
fn routes(metrics_here: bool, console: Option<Router<AppState>>) -> Router<AppState> {
    let r = Router::new()
        .route("/locations", get(locations::list))
        .route("/sessions", get(sessions::list).post(sessions::create))
        .route(
            "/sessions/{session_id}",
            get(sessions::get_one).delete(sessions::delete),
        )
        .route("/v0/list_locations", get(v0::list_locations))
        .route("/v0/add_sessions", post(v0::add_sessions))
        .route("/v0/get_status", get(v0::get_status))
        .route("/maintenance", get(maintenance::list))
        .route("/v0/maintenance", get(maintenance::list_v0))
        .route(
            "/admin/maintenance",
            get(maintenance::admin_list).post(maintenance::admin_create),
        )
        .route("/admin/maintenance/{id}/end", post(maintenance::admin_end))
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
        .route("/v0/auth", get(login::start_v0))
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
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(ops::openapi_json));
    let r = if metrics_here {
        r.route("/metrics", get(ops::metrics))
    } else {
        r
    };
    let r = match console {
        Some(c) => r.merge(c),
        None => r,
    };
    r.route_layer(middleware::from_fn(tag_route))
}

/// Hands the matched route template (`/sessions/{session_id}`) to
/// [`guard`] on the response.
async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(r);
    }
    resp
}

/// What [`guard`] needs: the state, and the base path worked out once.
#[derive(Clone)]
struct Guard {
    st: AppState,
    base: Arc<str>,
}

/// The whole application for `state`.
pub fn app(state: AppState) -> Result<Router, String> {
    let base = normalise_base_path(&state.settings.base_path)?;
    state
        .ops
        .openapi
        .get_or_init(|| openapi::document(&base).to_string());
    let console = if state.settings.ui.enabled {
        Some(ui::router(&state, &base)?)
    } else {
        None
    };
    let inner = routes(state.settings.metrics_listen.is_none(), console);
    let router = if base.is_empty() {
        inner
    } else {
        Router::new().nest(&base, inner)
    };
    Ok(router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            Guard {
                st: state.clone(),
                base: base.into(),
            },
            guard,
        ))
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

/// The metrics listener's application (`metrics_listen`): `/metrics`,
/// `/healthz` and `/readyz` at its root, nothing else.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(ops::not_found)
        .with_state(state)
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
/// rest, so the connection cannot carry another request), a one-line
/// access log (path without query, never headers), and the request
/// metrics (by route template, without the base path; `unmatched` for
/// the rest).
async fn guard(State(Guard { st, base }): State<Guard>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
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
    let took = started.elapsed();
    let route = resp.extensions().get::<MatchedPath>().map(|r| r.as_str());
    let route = match route {
        Some(r) => r
            .strip_prefix(&*base)
            .filter(|r| r.starts_with('/'))
            .unwrap_or(r),
        None => "unmatched",
    };
    st.metrics
        .record_http(route, method.as_str(), resp.status().as_u16(), took);
    let path = uri.path();
    let path = path
        .char_indices()
        .nth(200)
        .map_or(path, |(i, _)| &path[..i]);
    tracing::info!(
        target: "peerd::access",
        %method,
        path,
        status = resp.status().as_u16(),
        ms = took.as_millis() as u64,
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
