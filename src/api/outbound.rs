//! Admin routes of the asking side (operator keys only):
//!
//! - `POST /admin/outbound` `{"asn", "dry_run"?, "locations"?}`: ask a
//!   remote peer for sessions ([`crate::app::outbound::request`]); the
//!   answer lists the sessions asked for (or that would be, on a dry run)
//!   with what the remote said, and what was skipped and why;
//! - `GET /admin/outbound`: the remote peers configured, the requests
//!   still followed, the deletions at remotes not done yet, and our own
//!   PeeringDB login;
//! - `POST /admin/outbound/login`: starts our own PeeringDB login (for
//!   remote peers with `auth: peeringdb`); PeeringDB sends the browser back
//!   to `/auth/callback`, which finishes it ([`super::login`]).
//!
//! Outbound sessions themselves are listed with `GET
//! /admin/sessions?direction=outbound` and deleted with `DELETE
//! /sessions/{id}` (which deletes the remote's end too).

use super::error::ApiError;
use super::extract::{ApiJson, Operator};
use super::state::AppState;
use crate::app::outbound::{self, Outbound};
use crate::auth::own::OwnStatus;
use crate::auth::StartOut;
use crate::config::{RemoteAuth, SecretPolicy};
use crate::wire::{
    rfc3339, AdminSessionOut, OpenRequestOut, OutboundOut, OutboundRequestIn, OutboundStateOut,
    OwnLoginOut, PendingDeleteOut, RemotePeerOut, SkippedOut,
};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

fn tools(st: &AppState) -> Result<Arc<Outbound>, ApiError> {
    st.outbound
        .clone()
        .ok_or_else(|| ApiError::unavailable("the asking side is not running on this server"))
}

/// `POST /admin/outbound`.
#[utoipa::path(
    post, path = "/admin/outbound", tag = "admin", operation_id = "adminOutboundRequest",
    summary = "Ask a remote peer for sessions",
    description = "Finds the locations we share with the remote network, chooses the address pairs, records the request durably and sends it (once). With `dry_run`, says what would be asked and stores nothing.",
    request_body = OutboundRequestIn,
    responses(
        (status = 200, description = "The sessions asked for (or that would be), with what the remote said, and what was skipped and why.", body = OutboundOut),
        (status = 400, description = "Not a configured remote peer, or an invalid body."),
        (status = 409, description = "Everything at the shared locations is asked for already, or this request is being sent."),
        (status = 503, description = "The asking side is not running, or the remote's locations or PeeringDB data cannot be had now."),
    ),
    security(("bearer" = []))
)]
pub async fn request(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiJson(body): ApiJson<OutboundRequestIn>,
) -> Result<Json<OutboundOut>, ApiError> {
    let out = outbound::request(&st.app(), &op, body.asn, body.dry_run, body.locations).await?;
    Ok(Json(OutboundOut {
        remote_asn: out.remote_asn,
        dialect: out.dialect.as_str().into(),
        dry_run: out.dry_run,
        request_id: out.request_id,
        sessions: out.sessions.iter().map(AdminSessionOut::from).collect(),
        skipped: out
            .skipped
            .into_iter()
            .map(|s| SkippedOut {
                location: s.location,
                pair: s.pair,
                reason: s.reason,
            })
            .collect(),
        remote_answer: out.remote_answer,
    }))
}

fn own_out(s: OwnStatus) -> OwnLoginOut {
    OwnLoginOut {
        logged_in: s.logged_in,
        principal: s.principal,
        asns: s.asns,
        expires_at: s.expires_ms.map(rfc3339),
        refreshable: s.refreshable,
    }
}

/// `GET /admin/outbound`.
#[utoipa::path(
    get, path = "/admin/outbound", tag = "admin", operation_id = "adminOutboundState",
    summary = "The asking side's state",
    responses(
        (status = 200, description = "Remote peers, requests still followed, deletions at remotes not done yet, our own PeeringDB login.", body = OutboundStateOut),
        (status = 503, description = "The asking side is not running."),
    ),
    security(("bearer" = []))
)]
pub async fn state(
    State(st): State<AppState>,
    Operator(_op): Operator,
) -> Result<Json<OutboundStateOut>, ApiError> {
    let ob = tools(&st)?;
    let ctx = st.app();
    let open = tokio::task::spawn_blocking(move || outbound::open_state(&ctx))
        .await
        .map_err(ApiError::internal)??;
    let login = match &ob.own {
        None => OwnLoginOut::default(),
        Some(own) => {
            let own = own.clone();
            let s = tokio::task::spawn_blocking(move || own.status())
                .await
                .map_err(ApiError::internal)??;
            own_out(s)
        }
    };
    Ok(Json(OutboundStateOut {
        remotes: ob
            .settings
            .remotes
            .iter()
            .map(|r| RemotePeerOut {
                asn: r.asn,
                url: r.url.clone(),
                dialect: r.dialect.as_str().into(),
                auth: match r.auth {
                    RemoteAuth::Peeringdb => "peeringdb",
                    RemoteAuth::BearerEnv(_) => "bearer_env",
                    RemoteAuth::BearerFile(_) => "bearer_file",
                }
                .into(),
                locations: r.locations.clone(),
                secret: match r.secret {
                    SecretPolicy::None => "none",
                    SecretPolicy::Generate => "generate",
                }
                .into(),
            })
            .collect(),
        open_requests: open
            .requests
            .into_iter()
            .map(|(rid, o)| OpenRequestOut {
                request_id: rid,
                remote_asn: o.remote_asn,
                created_at: rfc3339(o.created_ms),
                next_check_at: rfc3339(o.next_ms),
                last_error: o.last_error,
            })
            .collect(),
        pending_deletes: open
            .deletes
            .into_iter()
            .map(|(sid, d)| PendingDeleteOut {
                session_id: sid,
                remote_asn: d.remote_asn,
                remote_session_id: d.remote_session_id,
                attempts: d.attempts,
                next_try_at: rfc3339(d.next_ms),
                last_error: d.last_error,
            })
            .collect(),
        peeringdb_login: login,
    }))
}

/// `POST /admin/outbound/login`: `{authorize_url, state, expires_in}`.
#[utoipa::path(
    post, path = "/admin/outbound/login", tag = "admin", operation_id = "adminOutboundLogin",
    summary = "Start our own PeeringDB login",
    description = "For remote peers with `auth: peeringdb`: the URL to open; PeeringDB sends the browser back to `/auth/callback`, which finishes it.",
    responses(
        (status = 200, description = "Where to log in.", body = StartOut),
        (status = 404, description = "No remote peer uses our PeeringDB login."),
        (status = 503, description = "The asking side is not running, or PeeringDB login is not configured."),
    ),
    security(("bearer" = []))
)]
pub async fn login(
    State(st): State<AppState>,
    Operator(op): Operator,
) -> Result<Response, ApiError> {
    let ob = tools(&st)?;
    let own = ob.own.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "request",
            "our PeeringDB login needs peeringdb.client_id and redirect_url (the peer login's settings)",
        )
    })?;
    let out: StartOut = tokio::task::spawn_blocking(move || own.start())
        .await
        .map_err(ApiError::internal)??;
    tracing::info!(by = %op.principal, "our own PeeringDB login started");
    let mut r = Json(out).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
