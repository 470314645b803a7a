//! The frame every console page shares (navigation with the queue's
//! count, who is logged in and in which role, the logout form, the
//! message a redirect carried) and the rendering of a page in it;
//! [`message`] is the page for refusals and results.

use super::ctx::{Operator, UiState};
use super::page::{self, Flash};
use crate::app::AppError;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Value};

/// What a page says about itself to the frame.
pub struct Frame {
    pub title: String,
    /// The navigation entry to mark (`overview`, `queue`, ...).
    pub nav: &'static str,
    /// The script refreshes the page's live parts every second.
    pub live: bool,
    pub status: StatusCode,
}

impl Frame {
    pub fn new(title: impl Into<String>, nav: &'static str) -> Frame {
        Frame {
            title: title.into(),
            nav,
            live: true,
            status: StatusCode::OK,
        }
    }

    /// A page the script leaves alone (a result, a form in progress).
    pub fn still(mut self) -> Frame {
        self.live = false;
        self
    }

    pub fn status(mut self, s: StatusCode) -> Frame {
        self.status = s;
        self
    }
}

/// The message a redirect's query carries (`done=`/`why=`, `n=`, `sid=`).
fn flash(ui: &UiState, query: Option<&str>) -> Value {
    let mut code = None;
    let mut n = 1usize;
    let mut sid = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "done" | "why" => code = Flash::parse(&v),
            "n" => n = v.parse().unwrap_or(1).min(10_000),
            "sid" if crate::model::is_id(&v) => sid = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(f) = code else {
        return Value::Null;
    };
    let link = sid.map(|s| {
        json!({"href": ui.url(&format!("/sessions/{s}")), "text": format!("Open session {}", &s[..8])})
    });
    json!({
        "kind": if f.is_warning() { "warn" } else { "ok" },
        "text": f.text(n),
        "link": link,
    })
}

/// The frame's values for `op` (`None` on the login page).
pub async fn chrome(
    ui: &UiState,
    op: Option<&Operator>,
    frame: &Frame,
    query: Option<&str>,
) -> Value {
    let user = op.map(|o| {
        json!({
            "name": o.name,
            "role": o.role.as_str(),
            "can_change": o.can_change(),
        })
    });
    let pending = match op {
        Some(_) => ui.pending().await,
        None => None,
    };
    json!({
        "prefix": ui.prefix,
        "title": frame.title,
        "nav": frame.nav,
        "live": frame.live,
        "user": user,
        "csrf": op.map(|o| o.csrf()).unwrap_or_default(),
        "flash": flash(ui, query),
        "pending": pending,
        "css": ui.url(&format!("/assets/console.css?v={}", ui.views.css_tag)),
        "js": ui.url(&format!("/assets/console.js?v={}", ui.views.js_tag)),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// Renders template `tpl` with `data` (as `p`) in the frame (as `c`).
pub async fn render(
    ui: &UiState,
    op: Option<&Operator>,
    query: Option<&str>,
    frame: Frame,
    tpl: &str,
    data: impl Serialize,
) -> Response {
    let c = chrome(ui, op, &frame, query).await;
    let p = match serde_json::to_value(data) {
        Ok(v) => v,
        Err(e) => return internal(&format!("{tpl}: {e}")),
    };
    match ui.views.render(tpl, &json!({"c": c, "p": p})) {
        Ok(body) => page::html(frame.status, body),
        Err(e) => internal(&e),
    }
}

fn internal(detail: &str) -> Response {
    tracing::error!(error = %detail, "console: a page did not render");
    page::html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>peerd: error</title></head><body><main><h1>This page failed</h1><p>An internal error; see the server log.</p></main></body></html>".into(),
    )
}

/// A page saying what happened: `title`, one line per point, a way back.
pub async fn message(
    ui: &UiState,
    op: Option<&Operator>,
    status: StatusCode,
    title: &str,
    lines: Vec<String>,
    back: Option<String>,
) -> Response {
    let frame = Frame::new(title, "").still().status(status);
    let back = back.unwrap_or_else(|| ui.url("/"));
    render(
        ui,
        op,
        None,
        frame,
        "message.html",
        json!({"lines": lines, "back": back, "error": !status.is_success()}),
    )
    .await
}

/// A use case's refusal as a page, with its HTTP status.
pub async fn refusal(
    ui: &UiState,
    op: Option<&Operator>,
    e: &AppError,
    back: Option<String>,
) -> Response {
    let status = crate::api::error::status_of(e.refusal);
    let lines = e
        .errors
        .iter()
        .flat_map(|f| f.errors.iter().map(move |m| format!("{}: {m}", f.name)))
        .collect();
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::BAD_REQUEST => "Not accepted",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
        _ => "Failed",
    };
    message(ui, op, status, title, lines, back).await
}
