//! Logging in and out of the console.
//!
//! `GET /ui/login` shows the form with a one-time token that is also set
//! as a cookie (`peerd_login`, double submit: a form posted from another
//! site has no such cookie). `POST /ui/login` takes an operator key (only
//! `peerd_op_...` keys: a peer's token never opens the console and is
//! never sent anywhere), starts a console session and sets its cookie:
//! random, stored hashed, expiring (`ui.session_ttl_secs`), `HttpOnly`,
//! `SameSite=Strict`, `Path={base}/ui`, and `Secure` when the request came
//! over HTTPS through a proxy that says so (or always/never, see
//! `ui.secure_cookie`). `POST /ui/logout` (with the session's CSRF token)
//! ends that session and clears the cookie.

use super::chrome::{self, Frame};
use super::ctx::{cookie, Operator, UiState, COOKIE, LOGIN_COOKIE};
use super::form::Form;
use super::page::{self, Flash};
use crate::api::extract::client_ip;
use crate::auth::operator::KEY_PREFIX;
use crate::config::SecureCookie;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

/// How long a login form may be left open.
const FORM_SECS: u64 = 900;

/// True when the request came over HTTPS through a proxy that says so.
fn forwarded_https(h: &HeaderMap) -> bool {
    let xfp = h
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let fwd = h
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| {
            first.split(';').any(|kv| {
                kv.trim().split_once('=').is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("proto")
                        && v.trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        });
    xfp || fwd
}

/// A `Set-Cookie` line for `name` on `path`, `HttpOnly` and
/// `SameSite=Strict`, `Secure` as the settings say; `max_age` 0 clears it.
pub fn cookie_line(
    ui: &UiState,
    h: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
) -> String {
    let secure = match ui.app.settings.ui.secure_cookie {
        SecureCookie::Always => true,
        SecureCookie::Never => false,
        SecureCookie::Auto => forwarded_https(h),
    };
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The `next` page after login, if it is one of the console's.
fn next_of(ui: &UiState, q: Option<&str>) -> Option<String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .filter(|v| page::is_console_path(&ui.prefix, v))
}

/// The login form, with a fresh form token (and its cookie).
async fn form_page(
    ui: &UiState,
    h: &HeaderMap,
    query: Option<&str>,
    next: Option<String>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let frame = Frame::new("Log in", "login").still().status(status);
    let resp = chrome::render(
        ui,
        None,
        query,
        frame,
        "login.html",
        json!({"token": token, "next": next, "error": error}),
    )
    .await;
    let line = cookie_line(ui, h, LOGIN_COOKIE, &token, &ui.url("/login"), FORM_SECS);
    page::with_cookies(resp, &[line])
}

/// `GET /ui/login`: the form, or the console for an operator logged in.
pub async fn show(State(ui): State<UiState>, mut parts: Parts) -> Response {
    let next = next_of(&ui, parts.uri.query());
    if Operator::from_request_parts(&mut parts, &ui).await.is_ok() {
        return page::redirect(&next.unwrap_or_else(|| ui.url("/")));
    }
    form_page(
        &ui,
        &parts.headers,
        parts.uri.query(),
        next,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /ui/login`: an operator key in, a console session out.
pub async fn submit(State(ui): State<UiState>, parts: Parts, form: Form) -> Response {
    let h = &parts.headers;
    let next = form
        .get("next")
        .filter(|n| page::is_console_path(&ui.prefix, n))
        .map(str::to_string);
    let refuse = |msg: &'static str, status: StatusCode| {
        form_page(&ui, h, None, next.clone(), Some(msg), status)
    };
    let expected = cookie(&parts, LOGIN_COOKIE).unwrap_or("");
    let sent = form.get("csrf").unwrap_or("");
    if expected.is_empty()
        || !crate::auth::ct_eq(
            &crate::auth::token_hash(expected),
            &crate::auth::token_hash(sent),
        )
    {
        return refuse(
            "This login form has expired or did not come from this console; try again.",
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let ip = client_ip(&parts);
    if !ui.app.limiter.allow(&format!("console-login:{ip}")) {
        ui.app.metrics.record_refused("rate_limited");
        return refuse(
            "Too many attempts; wait a minute.",
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let key = form.get("key").unwrap_or("").trim();
    if !key.starts_with(KEY_PREFIX) || !crate::auth::is_token_syntax(key) {
        ui.app.metrics.record_refused("not_operator");
        return refuse(
            "Only an operator key (peerd_op_...) opens the console; peers' tokens never do.",
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let Some(holder) = ui.operators.identify(key) else {
        ui.app.metrics.record_refused("unknown");
        return refuse("Unknown operator key.", StatusCode::UNAUTHORIZED).await;
    };
    let (cookie_value, login) = match ui.sessions.start(&holder.hash).await {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "console: storing a login failed");
            return page::unavailable();
        }
    };
    tracing::info!(operator = %holder.name, role = holder.role.as_str(), session = %login.id, "console login");
    let ttl = ui.sessions.ttl_secs();
    let cookies = [
        cookie_line(&ui, h, COOKIE, cookie_value.expose(), &ui.prefix, ttl),
        cookie_line(&ui, h, LOGIN_COOKIE, "", &ui.url("/login"), 0),
    ];
    page::with_cookies(
        page::redirect(&next.clone().unwrap_or_else(|| ui.url("/"))),
        &cookies,
    )
}

/// `POST /ui/logout`: ends this session (CSRF token required).
pub async fn logout(State(ui): State<UiState>, op: Operator, h: HeaderMap, form: Form) -> Response {
    if !op.csrf_ok(form.get("csrf").unwrap_or("")) {
        return super::csrf_refused(&ui, &op).await;
    }
    if let Err(e) = ui.sessions.end(op.cookie()).await {
        tracing::error!(error = %e, "console: ending a session failed");
        return page::unavailable();
    }
    tracing::info!(operator = %op.name, session = %op.session_id, "console logout");
    let to = format!("{}?why={}", ui.url("/login"), Flash::LoggedOut.code());
    page::with_cookies(
        page::redirect(&to),
        &[cookie_line(&ui, &h, COOKIE, "", &ui.prefix, 0)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_proxy_saying_https_makes_it_secure() {
        let mut h = HeaderMap::new();
        assert!(!forwarded_https(&h));
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(forwarded_https(&h));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!forwarded_https(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::FORWARDED,
            "for=192.0.2.9;proto=https;by=x".parse().unwrap(),
        );
        assert!(forwarded_https(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::FORWARDED,
            "for=192.0.2.9;proto=http".parse().unwrap(),
        );
        assert!(!forwarded_https(&h));
    }
}
