//! The sessions list: filters by status, router, location, requester ASN
//! and request, a page at a time (the store's cursor, creation order).
//!
//! Every listing is one page of the store's [`crate::store::Store::list_sessions`]
//! through its indexes: status, router, owner and request filters go to
//! the store. A location belongs to one router, so a location filter asks
//! the store for that router's sessions and keeps those at the location,
//! reading at most [`SCAN_BUDGET`] sessions for one page (the page then
//! says it stopped early and links to where it stopped).

use super::chrome::{self, Frame};
use super::ctx::{Operator, UiState};
use super::view::{time, Time};
use crate::app::AppError;
use crate::model::{is_id, now_ms, Session, SessionStatus};
use crate::store::SessionFilter;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

/// Sessions on one page.
pub const PAGE: usize = 50;
/// Most sessions read for one page of a location filter.
pub const SCAN_BUDGET: usize = 5_000;

/// One session in a list.
#[derive(Serialize)]
pub struct Row {
    pub id: String,
    pub short: String,
    pub href: String,
    pub status: &'static str,
    pub detail: Option<String>,
    pub asn: u32,
    pub local_ip: String,
    pub peer_ip: String,
    pub location: String,
    pub router: String,
    pub created: Time,
    pub updated: Time,
}

impl Row {
    pub fn of(ui: &UiState, s: &Session, now: u64) -> Row {
        Row {
            id: s.session_id.clone(),
            short: s.session_id[..8].to_string(),
            href: ui.url(&format!("/sessions/{}", s.session_id)),
            status: s.status.as_str(),
            detail: s
                .status_detail
                .as_ref()
                .map(|d| d.chars().take(160).collect()),
            asn: s.local_asn.0,
            local_ip: s.local_ip.to_string(),
            peer_ip: s.peer_ip.to_string(),
            location: s.location.id.clone(),
            router: s.router.clone(),
            created: time(s.created_ms, now),
            updated: time(s.updated_ms, now),
        }
    }
}

/// One page of a listing.
pub struct Listed {
    pub sessions: Vec<Session>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
    /// The scan budget ran out before the page was full.
    pub cut_short: bool,
}

/// One page of the sessions `filter` selects (and, with `location`, only
/// those there), after the cursor `after`.
pub async fn list_page(
    ui: &UiState,
    filter: SessionFilter,
    location: Option<String>,
    after: Option<String>,
    limit: usize,
) -> Result<Listed, AppError> {
    ui.app
        .app()
        .blocking(move |s| {
            let mut out = Vec::new();
            let mut cursor = after;
            let mut scanned = 0;
            loop {
                let want = limit - out.len();
                let page = s.list_sessions(&filter, cursor.as_deref(), want)?;
                scanned += page.sessions.len();
                out.extend(
                    page.sessions
                        .into_iter()
                        .filter(|x| location.as_ref().is_none_or(|l| x.location.id == *l)),
                );
                cursor = page.next;
                if out.len() == limit || cursor.is_none() || scanned >= SCAN_BUDGET {
                    let cut_short = out.len() < limit && cursor.is_some();
                    return Ok(Listed {
                        sessions: out,
                        next: cursor,
                        cut_short,
                    });
                }
            }
        })
        .await
}

/// The filters of the list, as asked.
#[derive(Default, Serialize)]
struct Asked {
    status: String,
    router: String,
    location: String,
    asn: String,
    request: String,
}

/// `GET /ui/sessions?status=&router=&location=&asn=&request=&after=`.
pub async fn list(State(ui): State<UiState>, op: Operator, uri: Uri) -> Response {
    let now = now_ms();
    let mut asked = Asked::default();
    let mut after = None;
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        let v = v.trim().chars().take(200).collect::<String>();
        match k.as_ref() {
            "status" => asked.status = v,
            "router" => asked.router = v,
            "location" => asked.location = v,
            "asn" => asked.asn = v.trim_start_matches("AS").trim_start_matches("as").into(),
            "request" => asked.request = v,
            "after" if !v.is_empty() => after = Some(v),
            _ => {}
        }
    }
    let inv = &ui.app.inventory;
    let mut errors = Vec::new();
    let mut filter = SessionFilter::default();
    if !asked.status.is_empty() {
        match SessionStatus::parse(&asked.status) {
            Some(s) => filter.status = Some(s),
            None => errors.push(format!("{:?} is not a session status", asked.status)),
        }
    }
    if !asked.router.is_empty() {
        match inv.router(&asked.router) {
            Some(r) => filter.router = Some(r.name.clone()),
            None => errors.push(format!("no router {:?} in the inventory", asked.router)),
        }
    }
    let mut location = None;
    if !asked.location.is_empty() {
        match inv.location(&asked.location) {
            Some(l) if filter.router.as_ref().is_some_and(|r| *r != l.router) => {
                errors.push(format!(
                    "location {} is on router {}, not {}",
                    l.id, l.router, asked.router
                ))
            }
            Some(l) => {
                filter.router = Some(l.router.clone());
                location = Some(l.id.clone());
            }
            None => errors.push(format!("no location {:?} in the inventory", asked.location)),
        }
    }
    if !asked.asn.is_empty() {
        match asked.asn.parse::<u32>() {
            Ok(a) => filter.owner_asn = Some(a),
            Err(_) => errors.push(format!("{:?} is not an AS number", asked.asn)),
        }
    }
    if !asked.request.is_empty() {
        if is_id(&asked.request) {
            filter.request_id = Some(asked.request.clone());
        } else {
            errors.push(format!("{:?} is not a request id", asked.request));
        }
    }
    if after
        .as_deref()
        .is_some_and(|a| crate::api::common::next_token(Some(a)).is_err())
    {
        errors.push("the page link is not one this console made".into());
    }
    let listed = if errors.is_empty() {
        match list_page(&ui, filter, location, after.clone(), PAGE).await {
            Ok(l) => Some(l),
            Err(e) => {
                errors.extend(e.errors.into_iter().flat_map(|f| f.errors));
                None
            }
        }
    } else {
        None
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let base_q = {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &asked.status),
            ("router", &asked.router),
            ("location", &asked.location),
            ("asn", &asked.asn),
            ("request", &asked.request),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    };
    let list_url = |after: Option<&str>| {
        let mut q = base_q.clone();
        if let Some(a) = after {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("after={a}"));
        }
        if q.is_empty() {
            ui.url("/sessions")
        } else {
            ui.url(&format!("/sessions?{q}"))
        }
    };
    let (rows, next, cut_short) = match &listed {
        Some(l) => (
            l.sessions.iter().map(|s| Row::of(&ui, s, now)).collect(),
            l.next.as_deref().map(|n| list_url(Some(n))),
            l.cut_short,
        ),
        None => (Vec::new(), None, false),
    };
    let statuses: Vec<&str> = SessionStatus::ALL.iter().map(|s| s.as_str()).collect();
    let routers: Vec<&str> = inv.routers.iter().map(|r| r.name.as_str()).collect();
    let locations: Vec<_> = inv
        .locations
        .iter()
        .map(|l| json!({"id": l.id, "name": l.name}))
        .collect();
    chrome::render(
        &ui,
        Some(&op),
        uri.query(),
        Frame::new("Sessions", "sessions").status(status),
        "sessions.html",
        json!({
            "asked": asked,
            "errors": errors,
            "rows": rows,
            "next": next,
            "first": after.as_ref().map(|_| list_url(None)),
            "cut_short": cut_short,
            "page_size": PAGE,
            "statuses": statuses,
            "routers": routers,
            "locations": locations,
        }),
    )
    .await
}
