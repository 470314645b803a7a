//! The console's HTTP answers: an HTML body with the headers every console
//! answer carries (a strict content security policy: scripts and styles
//! from the console's own assets only, no framing; `no-store`, since pages
//! show operators' data and carry CSRF tokens), `303` redirects, and the
//! fixed messages a redirect may carry ([`Flash`]).

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every console page and redirect.
fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    r
}

/// An HTML page.
pub fn html(status: StatusCode, body: String) -> Response {
    secured(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

/// `303 See Other` to `to` (a console path).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secured(r)
}

/// Adds `Set-Cookie` lines to an answer.
pub fn with_cookies(mut r: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A page for when the store cannot be read (no template needed).
pub fn unavailable() -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>peerd: unavailable</title></head><body><main><h1>The store is unavailable</h1><p>peerd cannot read its store just now; see the server log, and try again.</p></main></body></html>".into(),
    )
}

/// True when `p` is a path (and query) of the console at `prefix`, safe
/// to redirect to: no scheme or host, nothing but URL-safe characters.
pub fn is_console_path(prefix: &str, p: &str) -> bool {
    p.len() <= 1000
        && (p == prefix
            || p.starts_with(&format!("{prefix}/"))
            || p.starts_with(&format!("{prefix}?")))
        && !p.contains("//")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/?&=%:+,".contains(&b))
}

/// Percent-encodes a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `to` with the query parameters of a [`Flash`] (any earlier ones
/// dropped).
pub fn with_flash(to: &str, flash: Flash, n: usize, sid: Option<&str>) -> String {
    let (path, query) = to.split_once('?').unwrap_or((to, ""));
    let mut q: Vec<String> = query
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !kv.is_empty() && !matches!(k, "done" | "n" | "sid" | "why")
        })
        .map(str::to_string)
        .collect();
    q.push(format!("done={}", flash.code()));
    q.push(format!("n={n}"));
    if let Some(s) = sid.filter(|s| crate::model::is_id(s)) {
        q.push(format!("sid={s}"));
    }
    format!("{path}?{}", q.join("&"))
}

/// The fixed messages a redirect carries in its query (`done=`, `why=`):
/// never text from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flash {
    Expired,
    KeyGone,
    LoggedOut,
    Approved,
    Rejected,
    Retried,
    Deleted,
    ForceRemoved,
    TokenRevoked,
    KeyRevoked,
}

impl Flash {
    const ALL: [Flash; 10] = [
        Flash::Expired,
        Flash::KeyGone,
        Flash::LoggedOut,
        Flash::Approved,
        Flash::Rejected,
        Flash::Retried,
        Flash::Deleted,
        Flash::ForceRemoved,
        Flash::TokenRevoked,
        Flash::KeyRevoked,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Flash::Expired => "expired",
            Flash::KeyGone => "key-gone",
            Flash::LoggedOut => "logged-out",
            Flash::Approved => "approved",
            Flash::Rejected => "rejected",
            Flash::Retried => "retried",
            Flash::Deleted => "deleted",
            Flash::ForceRemoved => "force-removed",
            Flash::TokenRevoked => "token-revoked",
            Flash::KeyRevoked => "key-revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Flash> {
        Self::ALL.into_iter().find(|f| f.code() == s)
    }

    /// A warning (the session ended) rather than a done deed.
    pub fn is_warning(self) -> bool {
        matches!(self, Flash::Expired | Flash::KeyGone)
    }

    /// The message, for `n` sessions (or tokens, keys).
    pub fn text(self, n: usize) -> String {
        let sessions = if n == 1 {
            "1 session".to_string()
        } else {
            format!("{n} sessions")
        };
        match self {
            Flash::Expired => "Your console session ended. Log in again.".into(),
            Flash::KeyGone => {
                "Your operator key was revoked or replaced. Log in with a current key.".into()
            }
            Flash::LoggedOut => "You are logged out.".into(),
            Flash::Approved => format!("Approved {sessions}: queued for provisioning."),
            Flash::Rejected => format!("Rejected {sessions}."),
            Flash::Retried => format!("Queued {sessions} again."),
            Flash::Deleted => format!("Deletion of {sessions} accepted."),
            Flash::ForceRemoved => format!("Removed {sessions} without contacting the router."),
            Flash::TokenRevoked => "Token revoked.".into(),
            Flash::KeyRevoked => "Operator key revoked.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed() {
        let p = "/peering/ui";
        assert!(is_console_path(p, "/peering/ui"));
        assert!(is_console_path(
            p,
            "/peering/ui/sessions?status=Pending&after=AQ"
        ));
        for bad in [
            "https://evil.example/peering/ui",
            "//evil.example/peering/ui/",
            "/peering/uix",
            "/peering/ui/<script>",
            "/other",
            "/peering/ui/\r\nX: y",
        ] {
            assert!(!is_console_path(p, bad), "{bad}");
        }
    }

    #[test]
    fn flashes_replace_earlier_ones() {
        let to = with_flash(
            "/ui/queue?after=AQ&done=rejected&n=2",
            Flash::Approved,
            1,
            None,
        );
        assert_eq!(to, "/ui/queue?after=AQ&done=approved&n=1");
        let id = crate::model::new_id();
        let to = with_flash("/ui/queue", Flash::Approved, 1, Some(&id));
        assert_eq!(to, format!("/ui/queue?done=approved&n=1&sid={id}"));
        assert!(!with_flash("/ui", Flash::Deleted, 1, Some("x<y")).contains("sid"));
        for f in Flash::ALL {
            assert_eq!(Flash::parse(f.code()), Some(f));
        }
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
