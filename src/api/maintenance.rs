//! Maintenance windows over HTTP: a peer's read-only `GET /maintenance`
//! (and `GET /v0/maintenance`: the windows for the routers and locations
//! of its own sessions only), and the operators' routes to list, open and
//! end windows. The use cases are [`crate::app::maintenance`].

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Auth, Operator};
use super::state::AppState;
use crate::app::maintenance::{self, NewWindow, Visible};
use crate::model::{now_ms, MaintenanceTarget};
use crate::wire::{parse_rfc3339, MaintenanceIn, MaintenanceListOut, MaintenanceOut};
use axum::extract::State;
use axum::Json;

fn list_out(ws: &[Visible], operator: bool) -> MaintenanceListOut {
    let now = now_ms();
    MaintenanceListOut {
        windows: ws
            .iter()
            .map(|v| MaintenanceOut::of(&v.window, operator, &v.locations, now))
            .collect(),
    }
}

async fn visible(
    st: &AppState,
    caller: &crate::model::Caller,
) -> Result<Json<MaintenanceListOut>, ApiError> {
    let ws = maintenance::list_for(&st.app(), caller).await?;
    Ok(Json(list_out(&ws, caller.is_operator)))
}

/// `GET /maintenance`: current and planned windows for the caller's sessions.
#[utoipa::path(
    get, path = "/maintenance", tag = "sessions", operation_id = "listMaintenance",
    summary = "Maintenance windows (peerd extension)",
    description = "Current and planned maintenance windows of the routers and locations that serve the caller's sessions (an operator sees all). During a window its sessions are drained (graceful shutdown, RFC 8326) and shut down, then restored; their `status_detail` names the window. peerd's extension, in the spirit of the draft's maintenance proposal.",
    responses((status = 200, description = "The windows.", body = MaintenanceListOut)),
    security(("bearer" = []))
)]
pub async fn list(
    State(st): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<MaintenanceListOut>, ApiError> {
    visible(&st, &caller).await
}

/// `GET /v0/maintenance`: as `GET /maintenance`.
#[utoipa::path(
    get, path = "/v0/maintenance", tag = "v0", operation_id = "v0ListMaintenance",
    summary = "Maintenance windows (peerd extension)",
    description = "As `GET /maintenance`.",
    responses((status = 200, description = "The windows.", body = MaintenanceListOut)),
    security(("bearer" = []))
)]
pub async fn list_v0(
    State(st): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<MaintenanceListOut>, ApiError> {
    visible(&st, &caller).await
}

/// `GET /admin/maintenance`: every current and planned window.
#[utoipa::path(
    get, path = "/admin/maintenance", tag = "admin", operation_id = "adminListMaintenance",
    summary = "List maintenance windows",
    responses((status = 200, description = "The windows.", body = MaintenanceListOut)),
    security(("bearer" = []))
)]
pub async fn admin_list(
    State(st): State<AppState>,
    Operator(op): Operator,
) -> Result<Json<MaintenanceListOut>, ApiError> {
    visible(&st, &op).await
}

fn time(name: &str, v: Option<&str>) -> Result<Option<u64>, ApiError> {
    match v {
        None | Some("") => Ok(None),
        Some(t) => match parse_rfc3339(t) {
            Some(s) if s >= 0 => Ok(Some(s as u64 * 1000)),
            _ => Err(ApiError::invalid(name, "not an RFC 3339 time")),
        },
    }
}

/// `POST /admin/maintenance`: puts a router or a location into maintenance.
#[utoipa::path(
    post, path = "/admin/maintenance", tag = "admin", operation_id = "adminCreateMaintenance",
    summary = "Open a maintenance window",
    description = "Puts a router or a location into maintenance, from `start` (default now) until `end` (default: until ended). Its sessions are drained (graceful shutdown) and shut down, neither deleted nor forgotten, and restored when the window ends.",
    request_body = MaintenanceIn,
    responses(
        (status = 200, description = "Stored (and started if due).", body = MaintenanceOut),
        (status = 400, description = "Invalid target, time or reason."),
    ),
    security(("bearer" = []))
)]
pub async fn admin_create(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiJson(body): ApiJson<MaintenanceIn>,
) -> Result<Json<MaintenanceOut>, ApiError> {
    let target = match (body.router, body.location) {
        (Some(r), None) => MaintenanceTarget::Router(r),
        (None, Some(l)) => MaintenanceTarget::Location(l),
        _ => {
            return Err(ApiError::invalid(
                "request",
                "name exactly one of router and location",
            ))
        }
    };
    let req = NewWindow {
        target,
        start_ms: time("start", body.start.as_deref())?,
        end_ms: time("end", body.end.as_deref())?,
        reason: body.reason,
    };
    let w = maintenance::create(&st.app(), &op, req).await?;
    Ok(Json(MaintenanceOut::of(&w, true, &[], now_ms())))
}

/// `POST /admin/maintenance/{id}/end`: ends (or cancels) a window.
#[utoipa::path(
    post, path = "/admin/maintenance/{id}/end", tag = "admin", operation_id = "adminEndMaintenance",
    summary = "End a maintenance window",
    description = "Ends an active window (its sessions are restored) or cancels a planned one.",
    params(("id" = String, Path, description = "The window id.")),
    responses(
        (status = 200, description = "Ended.", body = MaintenanceOut),
        (status = 404, description = "No such window."),
    ),
    security(("bearer" = []))
)]
pub async fn admin_end(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MaintenanceOut>, ApiError> {
    let w = maintenance::end(&st.app(), &op, &id).await?;
    Ok(Json(MaintenanceOut::of(&w, true, &[], now_ms())))
}
