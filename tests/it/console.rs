//! The operator console (issue 12) over real HTTP against `peerd serve`:
//! login, logout and expiry; the session cookie's flags; CSRF tokens on
//! every change (none, or another session's, is refused); a viewer reads
//! and changes nothing; peers' tokens and bare keys open no page; every
//! page renders with 0, 1 and 1,000 sessions, paged, with no secret on it.

use crate::support::*;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// A browser of sorts: no redirects followed, cookies kept by hand.
pub struct Browser {
    pub http: reqwest::Client,
    /// `http://host:port` (without the base path).
    pub origin: String,
    /// The console's path: `{base}/ui`.
    pub ui: String,
    pub cookie: Option<String>,
}

/// One answer: status, headers, body text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` line for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        hidden(&self.text, "csrf").unwrap_or_else(|| panic!("no csrf field in:\n{}", self.text))
    }
}

/// The value of the first `<input type="hidden" name="NAME" value="...">`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The cookie's value in a `Set-Cookie` line.
fn value_of(line: &str) -> String {
    line.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

impl Browser {
    pub fn new(p: &Peerd) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            origin: format!("http://{}", p.hostport()),
            ui: format!("{}/ui", p.base()),
            cookie: None,
        }
    }

    async fn send(&self, r: reqwest::RequestBuilder, extra_cookie: Option<&str>) -> Page {
        let mut cookies: Vec<String> = Vec::new();
        if let Some(c) = &self.cookie {
            cookies.push(format!("peerd_console={c}"));
        }
        if let Some(c) = extra_cookie {
            cookies.push(c.to_string());
        }
        let r = if cookies.is_empty() {
            r
        } else {
            r.header(COOKIE, cookies.join("; "))
        };
        let resp = r.send().await.expect("request");
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap_or_default(),
        }
    }

    /// `GET {ui}{rest}`.
    pub async fn get(&self, rest: &str) -> Page {
        self.send(
            self.http.get(format!("{}{}{rest}", self.origin, self.ui)),
            None,
        )
        .await
    }

    /// `POST {ui}{rest}` with a form.
    pub async fn post(&self, rest: &str, form: &[(&str, &str)]) -> Page {
        self.send(
            self.http
                .post(format!("{}{}{rest}", self.origin, self.ui))
                .form(form),
            None,
        )
        .await
    }

    /// Logs in with `key` (through the login form and its cookie), with
    /// `headers` on the POST; the answer (a redirect when it worked).
    pub async fn login_with(&mut self, key: &str, headers: &[(&str, &str)]) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200, "{}", form.text);
        let line = form.set_cookie("peerd_login").expect("login form cookie");
        let token = value_of(&line);
        assert_eq!(form.csrf(), token);
        let mut r = self
            .http
            .post(format!("{}{}/login", self.origin, self.ui))
            .form(&[("csrf", token.as_str()), ("key", key)]);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let page = self.send(r, Some(&format!("peerd_login={token}"))).await;
        if let Some(c) = page.set_cookie("peerd_console") {
            let v = value_of(&c);
            if !v.is_empty() {
                self.cookie = Some(v);
            }
        }
        page
    }

    /// Logs in with `key`; asserts it worked.
    pub async fn login(&mut self, key: &str) {
        let page = self.login_with(key, &[]).await;
        assert_eq!(page.status, 303, "{}", page.text);
        assert!(self.cookie.is_some());
    }

    /// The CSRF token of this browser's session (from the overview).
    pub async fn csrf(&self) -> String {
        let p = self.get("/").await;
        assert_eq!(p.status, 200, "{}", p.text);
        p.csrf()
    }
}

/// The status of session `id` as the admin API has it.
async fn status(p: &Peerd, id: &str) -> String {
    let r = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
    r.expect(200);
    r.body["status"].as_str().unwrap().to_string()
}

/// POSTs `n` sessions for AS64600 (100 a request) with secret `secret` on
/// the first; their ids.
async fn pending(p: &Peerd, n: u32, secret: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i < n {
        let k = (n - i).min(100);
        let batch: Vec<Value> = (i..i + k)
            .map(|j| {
                let mut s = sess(
                    ASN_A,
                    &format!("2001:db8::{:x}", 0x1000 + j),
                    "2001:db8::1",
                    "pdb:ix:1",
                );
                if j == 0 {
                    s["session_secret"] = json!(secret);
                }
                s
            })
            .collect();
        let r = p.post("/sessions", TOK_A, &Value::Array(batch)).await;
        r.expect(200);
        for s in r.body["sessions"].as_array().unwrap() {
            ids.push(s["session_id"].as_str().unwrap().to_string());
        }
        i += k;
    }
    ids
}

async fn manual(extra: &str) -> (FakePdb, Peerd) {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    o.extra_yaml = extra.to_string();
    let p = Peerd::start(&o).await;
    (pdb, p)
}

#[tokio::test]
async fn login_logout_and_the_cookie() {
    let (_pdb, p) = manual("").await;
    let mut b = Browser::new(&p);

    // no cookie: to the login page, remembering where
    let r = b.get("/sessions").await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with(&format!("{}/login?next=", b.ui)),
        "{}",
        r.location()
    );

    // a wrong key, a peer's token: refused, no session cookie
    for bad in [
        "peerd_op_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        TOK_A,
        "tok-b",
    ] {
        let r = b.login_with(bad, &[]).await;
        assert_eq!(r.status, 401, "{bad}: {}", r.text);
        assert!(r.set_cookie("peerd_console").is_none());
        assert!(!r.text.contains(bad), "the key is not echoed");
    }
    assert!(b.cookie.is_none());
    // the login form's token is required
    let r = b
        .send(
            b.http
                .post(format!("{}{}/login", b.origin, b.ui))
                .form(&[("csrf", "x"), ("key", p.key.as_str())]),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.set_cookie("peerd_console").is_none());

    // the operator key: a cookie with the flags
    let r = b.login_with(&p.key, &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let line = r.set_cookie("peerd_console").unwrap();
    let flags: Vec<&str> = line.split(';').map(str::trim).collect();
    assert!(flags.contains(&"HttpOnly"), "{line}");
    assert!(flags.contains(&"SameSite=Strict"), "{line}");
    assert!(flags.contains(&format!("Path={}", b.ui).as_str()), "{line}");
    assert!(flags.iter().any(|f| f.starts_with("Max-Age=")), "{line}");
    assert!(!flags.contains(&"Secure"), "plain HTTP: not Secure: {line}");
    let cookie = b.cookie.clone().unwrap();
    assert!(cookie.starts_with("pc_") && cookie.len() == 46, "{cookie}");
    // the store keeps its hash, never the cookie
    let over = b.get("/").await;
    assert_eq!(over.status, 200, "{}", over.text);
    assert!(over.text.contains("noc"));
    assert!(!over.text.contains(&cookie) && !over.text.contains(&p.key));
    assert!(over.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(over.headers["cache-control"], "no-store");

    // behind a proxy that says HTTPS: Secure
    let mut tls = Browser::new(&p);
    let r = tls
        .login_with(&p.key, &[("x-forwarded-proto", "https")])
        .await;
    assert_eq!(r.status, 303);
    let line = r.set_cookie("peerd_console").unwrap();
    assert!(line.split(';').any(|f| f.trim() == "Secure"), "{line}");

    // logout needs the session's token
    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(b.get("/").await.status, 200, "still logged in");
    let csrf = b.csrf().await;
    let r = b.post("/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(r.status, 303);
    assert!(r.location().contains("why=logged-out"), "{}", r.location());
    let clear = r.set_cookie("peerd_console").unwrap();
    assert!(clear.contains("Max-Age=0"), "{clear}");
    // the old cookie is dead, the other session lives on
    let r = b.get("/").await;
    assert_eq!(r.status, 303);
    assert!(r.location().contains("why=expired"), "{}", r.location());
    assert_eq!(tls.get("/").await.status, 200);

    // a revoked key ends its sessions
    let out = p.cli(&["key", "revoke", "noc"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let r = tls.get("/").await;
    assert_eq!(r.status, 303);
    assert!(r.location().contains("why=key-gone"), "{}", r.location());
}

#[tokio::test]
async fn a_login_expires() {
    let (_pdb, p) = manual("ui:\n  session_ttl_secs: 2\n").await;
    let mut b = Browser::new(&p);
    let r = b.login_with(&p.key, &[]).await;
    assert!(r.set_cookie("peerd_console").unwrap().contains("Max-Age=2"));
    assert_eq!(b.get("/").await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // the browser would have dropped it; the server refuses it anyway
    let r = b.get("/").await;
    assert_eq!(r.status, 303);
    assert!(r.location().contains("why=expired"), "{}", r.location());
}

#[tokio::test]
async fn forms_need_this_sessions_csrf_token() {
    let (_pdb, p) = manual("").await;
    let id = pending(&p, 1, "s3cret-md5-value").await.remove(0);
    let mut a = Browser::new(&p);
    a.login(&p.key).await;
    let mut b = Browser::new(&p);
    b.login(&p.key).await;
    let (ta, tb) = (a.csrf().await, b.csrf().await);
    assert_ne!(ta, tb);
    let approve = format!("/sessions/{id}/approve");
    for form in [vec![], vec![("csrf", "")], vec![("csrf", tb.as_str())]] {
        let r = a.post(&approve, &form).await;
        assert_eq!(r.status, 403, "{form:?}: {}", r.text);
        let r = a
            .post(
                "/queue",
                &[&form[..], &[("action", "approve"), ("id", id.as_str())]].concat(),
            )
            .await;
        assert_eq!(r.status, 403, "{form:?}: {}", r.text);
    }
    assert_eq!(status(&p, &id).await, "Pending");
    // a form posted as JSON or from another content type: refused too
    let r = a
        .send(
            a.http
                .post(format!("{}{}{approve}", a.origin, a.ui))
                .json(&json!({"csrf": ta})),
            None,
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(status(&p, &id).await, "Pending");
    // this session's token: done
    let r = a.post(&approve, &[("csrf", ta.as_str())]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(r.location().contains("done=approved"), "{}", r.location());
    assert_eq!(status(&p, &id).await, "Approved");
}

#[tokio::test]
async fn a_viewer_sees_and_cannot_approve() {
    let (_pdb, p) = manual("").await;
    let ids = pending(&p, 2, "s3cret-md5-value").await;
    let out = p.cli(&["key", "add", "watcher", "--role", "viewer"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let viewer_key = out.stdout.trim().to_string();
    let mut v = Browser::new(&p);
    v.login(&viewer_key).await;
    let q = v.get("/queue").await;
    assert_eq!(q.status, 200);
    assert!(q.text.contains(&ids[0][..8]), "the viewer sees the queue");
    assert!(q.text.contains("viewer"));
    assert!(!q.text.contains("/approve"), "no approve form for a viewer");
    let s = v.get(&format!("/sessions/{}", ids[0])).await;
    assert_eq!(s.status, 200);
    assert!(!s.text.contains("id=\"approve\""));
    let csrf = v.csrf().await;
    let r = v
        .post(
            &format!("/sessions/{}/approve", ids[0]),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("viewer"));
    let r = v
        .post(
            "/queue",
            &[
                ("csrf", csrf.as_str()),
                ("action", "approve"),
                ("id", &ids[0]),
                ("id", &ids[1]),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    for action in ["reject", "delete", "force-remove", "retry"] {
        let r = v
            .post(
                &format!("/sessions/{}/{action}", ids[1]),
                &[("csrf", csrf.as_str()), ("reason", "no")],
            )
            .await;
        assert_eq!(r.status, 403, "{action}: {}", r.text);
    }
    for id in &ids {
        assert_eq!(status(&p, id).await, "Pending");
    }
    // the same key on the API: reads, never changes
    p.get("/admin/sessions?status=Pending", &viewer_key)
        .await
        .expect(200);
    let r = p
        .post(
            &format!("/admin/sessions/{}/approve", ids[0]),
            &viewer_key,
            &json!({}),
        )
        .await;
    r.expect(403);
    assert_eq!(status(&p, &ids[0]).await, "Pending");
    // an admin approves both together from the queue
    let mut a = Browser::new(&p);
    a.login(&p.key).await;
    let csrf = a.csrf().await;
    let r = a
        .post(
            "/queue",
            &[
                ("csrf", csrf.as_str()),
                ("action", "approve"),
                ("id", &ids[0]),
                ("id", &ids[1]),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        r.location().contains("done=approved&n=2"),
        "{}",
        r.location()
    );
    for id in &ids {
        assert_eq!(status(&p, id).await, "Approved");
    }
}

#[tokio::test]
async fn peer_tokens_and_bare_keys_open_no_page() {
    let (_pdb, p) = manual("").await;
    let id = pending(&p, 1, "s3cret-md5-value").await.remove(0);
    let b = Browser::new(&p);
    for token in [TOK_A, p.key.as_str()] {
        for path in [
            "",
            "/",
            "/queue",
            "/sessions",
            &format!("/sessions/{id}"),
            "/routers",
            "/tokens",
        ] {
            let r = b
                .send(
                    b.http
                        .get(format!("{}{}{path}", b.origin, b.ui))
                        .bearer_auth(token),
                    None,
                )
                .await;
            assert_eq!(r.status, 303, "{path}");
            assert!(r.location().contains("/login"), "{path}");
        }
        let r = b
            .send(
                b.http
                    .post(format!("{}{}/sessions/{id}/approve", b.origin, b.ui))
                    .bearer_auth(token)
                    .form(&[("csrf", "x")]),
                None,
            )
            .await;
        assert_eq!(r.status, 303);
        assert!(r.location().contains("/login"));
        // a token passed as the cookie is no session either
        let r = b
            .send(
                b.http.get(format!("{}{}/", b.origin, b.ui)),
                Some(&format!("peerd_console={token}")),
            )
            .await;
        assert_eq!(r.status, 303);
    }
    assert_eq!(status(&p, &id).await, "Pending");
}

/// Every page, for sessions `ids` (the first has a secret).
async fn every_page(p: &Peerd, b: &Browser, ids: &[String], secret: &str) {
    let mut paths = vec![
        "/".to_string(),
        "/queue".into(),
        "/sessions".into(),
        "/sessions?status=Pending".into(),
        format!("/sessions?asn={ASN_A}&router=rtr1&location=pdb:ix:1"),
        "/routers".into(),
        "/tokens".into(),
        "/login?next=/ui/queue".into(),
    ];
    if let Some(first) = ids.first() {
        paths.push(format!("/sessions/{first}"));
        paths.push(format!("/sessions/{}", ids[ids.len() - 1]));
    }
    for path in &paths {
        let r = b.get(path).await;
        let want = if path.starts_with("/login") { 303 } else { 200 };
        assert_eq!(
            r.status,
            want,
            "{path} with {} sessions: {}",
            ids.len(),
            r.text
        );
        assert!(!r.text.contains(secret), "{path}: the secret shows");
        assert!(!r.text.contains(&p.key), "{path}: the key shows");
        assert!(
            !r.text.contains(b.cookie.as_deref().unwrap()),
            "{path}: the cookie shows"
        );
        if want == 200 {
            // at most one page of sessions
            let rows = r.text.matches("\" class=\"mono\">").count();
            assert!(rows <= 50, "{path}: {rows} rows");
        }
    }
    // the lists' counts and paging
    let list = b.get("/sessions").await;
    let queue = b.get("/queue").await;
    let n = ids.len();
    let shown = n.min(50);
    assert!(
        list.text.contains(&format!("{shown} session")) || n == 0,
        "{}",
        list.text
    );
    assert_eq!(list.text.contains("rel=\"next\""), n > 50);
    assert_eq!(queue.text.contains("rel=\"next\""), n > 50);
    if n == 0 {
        assert!(queue.text.contains("Nothing waits for approval"));
    }
    // the overview's numbers are reused for up to a second
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let over = b.get("/").await;
    let total = format!("{n} session{} in all", if n == 1 { "" } else { "s" });
    assert!(
        over.text.contains(&total),
        "overview: {total}:\n{}",
        over.text
    );
    if n > 50 {
        // follow the pages to the end: every session once
        let mut seen = std::collections::BTreeSet::new();
        let mut next = Some(format!("{}/sessions", b.ui));
        let mut pages = 0;
        while let Some(url) = next {
            let rest = url.strip_prefix(&b.ui).unwrap().replace("&amp;", "&");
            let page = b.get(&rest).await;
            assert_eq!(page.status, 200);
            for id in ids {
                if page.text.contains(&format!("/sessions/{id}\"")) {
                    assert!(seen.insert(id.clone()), "{id} twice");
                }
            }
            next = page
                .text
                .split("href=\"")
                .filter_map(|s| s.split_once("\" rel=\"next\"").map(|x| x.0.to_string()))
                .next();
            pages += 1;
            assert!(pages <= 30);
        }
        assert_eq!(seen.len(), n);
    }
}

#[tokio::test]
async fn every_page_renders_with_0_1_and_1000_sessions() {
    let (_pdb, p) = manual("").await;
    let secret = "md5-s3cret-on-no-page";
    let mut b = Browser::new(&p);
    b.login(&p.key).await;
    every_page(&p, &b, &[], secret).await;
    let mut ids = pending(&p, 1, secret).await;
    every_page(&p, &b, &ids, secret).await;
    ids.extend(pending_more(&p, 999).await);
    every_page(&p, &b, &ids, secret).await;
    // a page of the queue is one page, and approving from it works at 1,000
    let csrf = b.csrf().await;
    let r = b
        .post(
            &format!("/sessions/{}/approve", ids[500]),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(status(&p, &ids[500]).await, "Approved");
}

/// `n` more sessions for AS64601 (no secret).
async fn pending_more(p: &Peerd, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut i = 0;
    while i < n {
        let k = (n - i).min(100);
        let batch: Vec<Value> = (i..i + k)
            .map(|j| {
                sess(
                    ASN_B,
                    &format!("2001:db8::{:x}", 0x8000 + j),
                    "2001:db8::1",
                    "pdb:ix:1",
                )
            })
            .collect();
        let r = p.post("/sessions", TOK_B, &Value::Array(batch)).await;
        r.expect(200);
        for s in r.body["sessions"].as_array().unwrap() {
            ids.push(s["session_id"].as_str().unwrap().to_string());
        }
        i += k;
    }
    ids
}

#[tokio::test]
async fn the_console_can_be_turned_off() {
    let (_pdb, p) = manual("ui:\n  enabled: false\n").await;
    let b = Browser::new(&p);
    for path in ["", "/", "/login", "/assets/console.css"] {
        assert_eq!(b.get(path).await.status, 404, "{path}");
    }
    // the API is unaffected
    p.get("/admin/sessions", &p.key).await.expect(200);
}
