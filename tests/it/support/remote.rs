//! A stand-in for another network's Peering API, for the asking side's
//! tests: axum on 127.0.0.1 (random port), speaking the draft routes
//! (`/locations`, `/sessions`, `/sessions/{id}`) or only the v0 proof of
//! concept's (`/v0/list_locations`, `/v0/add_sessions`, `/v0/get_status`,
//! in the slides' shapes), holding the sessions asked for in memory.
//!
//! A session says `Pending` until it has been looked at `configure_after`
//! times, then `Configured` (v0: 202, then 200). Misbehaviours: refuse
//! everything, answer 500, hang, answer too much, answer garbage, answer
//! values that try to inject, redirect elsewhere, or hold the answer to a
//! POST (after storing the request) until released.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How the stand-in misbehaves (on every route unless said otherwise).
#[derive(Clone, Debug, PartialEq)]
pub enum Behaviour {
    Normal,
    /// POST answers 403 with an error body (a refusal with a reason).
    RefuseAll,
    /// 500 everywhere.
    Error500,
    /// Never answers.
    Hang,
    /// Answers 2 MiB of JSON.
    Oversized,
    /// Answers a body that is not JSON.
    Garbage,
    /// Answers sessions with a field the shapes do not have.
    UnknownField,
    /// Answers a status that tries to break out of a config line.
    InjectStatus,
    /// Answers the session as if it were between other networks / addresses.
    InjectPair,
    /// 302 to another host.
    RedirectElsewhere,
}

#[derive(Clone, Debug)]
pub struct Held {
    pub session_id: String,
    pub request_id: String,
    /// As the asker wrote them.
    pub local_asn: u32,
    pub local_ip: String,
    pub peer_asn: u32,
    pub peer_ip: String,
    pub location: String,
    pub md5: Option<String>,
    pub looks: u32,
    pub rejected: Option<String>,
}

/// What runs when a session turns Configured.
type OnConfigured = Arc<dyn Fn(&Held) + Send + Sync>;

struct Inner {
    v0_only: bool,
    our_asn: u32,
    token: String,
    locations: Vec<String>,
    behaviour: Behaviour,
    configure_after: u32,
    sessions: Vec<Held>,
    posts: u32,
    /// Every POST that got past authentication.
    post_hits: u32,
    /// Every secret a POST carried (stored or not).
    secrets_seen: Vec<String>,
    lists: u32,
    deletes: Vec<String>,
    hold_posts: bool,
    /// Misbehave on the location lists too (else only on the session routes).
    misbehave_locations: bool,
    /// Called once per session when it turns Configured.
    on_configured: Option<OnConfigured>,
}

#[derive(Clone)]
pub struct RemoteStandin {
    /// The API base to configure as the remote peer's `url`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    release: Arc<Notify>,
    /// Notified when a POST has been stored.
    pub posted: Arc<Notify>,
}

type St = (Arc<Mutex<Inner>>, Arc<Notify>, Arc<Notify>);

fn id() -> String {
    peerd::model::new_id()
}

impl RemoteStandin {
    /// A draft server for AS`our_asn` accepting bearer `token`, offering
    /// `locations`.
    pub async fn start(
        our_asn: u32,
        token: &str,
        locations: &[&str],
        v0_only: bool,
    ) -> RemoteStandin {
        let inner = Arc::new(Mutex::new(Inner {
            v0_only,
            our_asn,
            token: token.into(),
            locations: locations.iter().map(|s| s.to_string()).collect(),
            behaviour: Behaviour::Normal,
            configure_after: 0,
            sessions: vec![],
            posts: 0,
            post_hits: 0,
            secrets_seen: vec![],
            lists: 0,
            deletes: vec![],
            hold_posts: false,
            misbehave_locations: false,
            on_configured: None,
        }));
        let release = Arc::new(Notify::new());
        let posted = Arc::new(Notify::new());
        let mut app = Router::new();
        if !v0_only {
            app = app
                .route("/locations", get(locations_draft))
                .route("/sessions", get(list_draft).post(create_draft))
                .route("/sessions/{id}", get(get_draft).delete(delete_draft));
        }
        let app = app
            .route("/v0/list_locations", get(locations_v0))
            .route("/v0/add_sessions", axum::routing::post(create_v0))
            .route("/v0/get_status", get(status_v0))
            .with_state((inner.clone(), release.clone(), posted.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RemoteStandin {
            base: format!("http://{addr}"),
            inner,
            release,
            posted,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.lock().behaviour = b;
    }

    /// The location lists misbehave too.
    pub fn misbehave_locations(&self, on: bool) {
        self.lock().misbehave_locations = on;
    }

    /// Sessions say `Pending` for this many looks, then `Configured`.
    pub fn configure_after(&self, looks: u32) {
        self.lock().configure_after = looks;
    }

    /// POST answers wait (after the request is stored) until [`Self::release`].
    pub fn hold_posts(&self, on: bool) {
        self.lock().hold_posts = on;
    }

    pub fn release(&self) {
        self.lock().hold_posts = false;
        self.release.notify_waiters();
    }

    pub fn on_configured(&self, f: impl Fn(&Held) + Send + Sync + 'static) {
        self.lock().on_configured = Some(Arc::new(f));
    }

    pub fn sessions(&self) -> Vec<Held> {
        self.lock().sessions.clone()
    }

    /// Reject the session with this address of the asker.
    pub fn reject(&self, asker_ip: &str, reason: &str) {
        for s in self.lock().sessions.iter_mut() {
            if s.local_ip == asker_ip || s.peer_ip == asker_ip {
                s.rejected = Some(reason.into());
            }
        }
    }

    pub fn posts(&self) -> u32 {
        self.lock().posts
    }

    /// Every secret the POSTs carried.
    pub fn secrets_seen(&self) -> Vec<String> {
        self.lock().secrets_seen.clone()
    }

    /// Every POST that got past authentication (stored or not).
    pub fn post_hits(&self) -> u32 {
        self.lock().post_hits
    }

    pub fn lists(&self) -> u32 {
        self.lock().lists
    }

    pub fn deletes(&self) -> Vec<String> {
        self.lock().deletes.clone()
    }
}

fn authorized(inner: &Inner, h: &HeaderMap) -> bool {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", inner.token))
}

fn json_resp(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The misbehaviour's answer on a location list, if any.
async fn misbehave_loc(st: &St, h: &HeaderMap) -> Option<Response> {
    let on = st.0.lock().unwrap().misbehave_locations;
    if on {
        return misbehave(st, h).await;
    }
    let g = st.0.lock().unwrap();
    (!authorized(&g, h)).then(|| {
        json_resp(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"name": "request", "errors": ["no valid token"]}]}),
        )
    })
}

/// The misbehaviour's answer, if any (`None`: answer normally).
async fn misbehave(st: &St, h: &HeaderMap) -> Option<Response> {
    let b = {
        let g = st.0.lock().unwrap();
        if !authorized(&g, h) {
            return Some(json_resp(
                StatusCode::UNAUTHORIZED,
                json!({"errors": [{"name": "request", "errors": ["no valid token"]}]}),
            ));
        }
        g.behaviour.clone()
    };
    match b {
        Behaviour::Error500 => Some((StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
        Behaviour::Oversized => Some(json_resp(
            StatusCode::OK,
            json!({"sessions": [], "padding": "x".repeat(2 << 20)}),
        )),
        Behaviour::Garbage => Some((StatusCode::OK, "<html>not json</html>").into_response()),
        Behaviour::RedirectElsewhere => Some(
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://127.0.0.2:9/steal")],
            )
                .into_response(),
        ),
        _ => None,
    }
}

/// The status of a held session after one more look.
fn look(inner: &mut Inner, i: usize) -> String {
    let after = inner.configure_after;
    let cb = inner.on_configured.clone();
    let s = &mut inner.sessions[i];
    if s.rejected.is_some() {
        return "Rejected".into();
    }
    s.looks += 1;
    if s.looks > after {
        if s.looks == after + 1 {
            if let Some(cb) = cb {
                cb(s);
            }
        }
        "Configured".into()
    } else {
        "Pending".into()
    }
}

fn draft_session(inner: &Inner, s: &Held, status: &str) -> Value {
    let b = &inner.behaviour;
    let mut v = json!({"session_id": s.session_id, "request_id": s.request_id,
        "local_asn": s.local_asn, "local_ip": s.local_ip, "peer_asn": s.peer_asn, "peer_ip": s.peer_ip,
        "peer_type": "public", "location": {"id": s.location, "type": "public"}, "status": status});
    if let Some(r) = &s.rejected {
        v["status_detail"] = json!(r);
    }
    match b {
        Behaviour::UnknownField => v["surprise"] = json!(true),
        Behaviour::InjectStatus => v["status"] = json!("Up\nneighbor 203.0.113.66"),
        Behaviour::InjectPair => {
            v["local_asn"] = json!(64666);
            v["local_ip"] = json!("203.0.113.66");
        }
        _ => {}
    }
    v
}

fn v0_session(inner: &Inner, s: &Held, status: &str) -> Value {
    let mut v = json!({"localAsn": s.local_asn, "localIp": s.local_ip, "peerAsn": s.peer_asn,
        "peerIp": s.peer_ip, "peerType": "public", "md5": if s.md5.is_some() { "<redacted>" } else { "" },
        "location": {"id": s.location, "type": "PUBLIC"}, "status": status, "uuid": s.session_id});
    match inner.behaviour {
        Behaviour::UnknownField => v["surprise"] = json!(true),
        Behaviour::InjectStatus => v["status"] = json!("Configured; rm -rf /"),
        Behaviour::InjectPair => v["peerIp"] = json!("203.0.113.66"),
        _ => {}
    }
    v
}

async fn locations_draft(State(st): State<St>, h: HeaderMap) -> Response {
    if let Some(r) = misbehave_loc(&st, &h).await {
        return r;
    }
    let g = st.0.lock().unwrap();
    let locs: Vec<Value> = g
        .locations
        .iter()
        .map(|l| json!({"id": l, "type": "public", "name": "Stand-in IX"}))
        .collect();
    json_resp(StatusCode::OK, json!({"locations": locs}))
}

async fn locations_v0(State(st): State<St>, h: HeaderMap) -> Response {
    if let Some(r) = misbehave_loc(&st, &h).await {
        return r;
    }
    let g = st.0.lock().unwrap();
    let items: Vec<Value> = g
        .locations
        .iter()
        .map(|l| json!({"id": l, "type": "PUBLIC"}))
        .collect();
    json_resp(
        StatusCode::OK,
        json!({"items": items, "requestId": id(), "error": null}),
    )
}

/// Stores the items of a POST; returns the new sessions' indexes and the request id.
fn store_items(g: &mut Inner, items: &[Value]) -> (String, Vec<usize>) {
    let rid = id();
    let mut idx = Vec::new();
    for it in items {
        let s = Held {
            session_id: id(),
            request_id: rid.clone(),
            local_asn: it["local_asn"].as_u64().unwrap_or(0) as u32,
            local_ip: it["local_ip"].as_str().unwrap_or("").into(),
            peer_asn: it["peer_asn"].as_u64().unwrap_or(0) as u32,
            peer_ip: it["peer_ip"].as_str().unwrap_or("").into(),
            location: it["location"]["id"].as_str().unwrap_or("").into(),
            md5: it
                .get("session_secret")
                .or_else(|| it.get("md5"))
                .and_then(|m| m.as_str())
                .filter(|m| !m.is_empty())
                .map(String::from),
            looks: 0,
            rejected: None,
        };
        g.sessions.push(s);
        idx.push(g.sessions.len() - 1);
    }
    g.posts += 1;
    (rid, idx)
}

async fn hold(st: &St) {
    let held = st.0.lock().unwrap().hold_posts;
    st.2.notify_waiters();
    if held {
        st.1.notified().await;
    }
}

fn count_post(st: &St, h: &HeaderMap) {
    let mut g = st.0.lock().unwrap();
    if authorized(&g, h) {
        g.post_hits += 1;
    }
}

async fn create_draft(State(st): State<St>, h: HeaderMap, body: Bytes) -> Response {
    count_post(&st, &h);
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let items: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
    {
        let mut g = st.0.lock().unwrap();
        for i in &items {
            if let Some(m) = i.get("session_secret").and_then(|m| m.as_str()) {
                g.secrets_seen.push(m.to_string());
            }
        }
    }
    if st.0.lock().unwrap().behaviour == Behaviour::RefuseAll {
        // a careless remote quotes what it was sent, the secret included
        let quoted = items
            .first()
            .and_then(|i| i.get("session_secret"))
            .and_then(|m| m.as_str())
            .map(|m| format!(" (session_secret {m})"))
            .unwrap_or_default();
        return json_resp(
            StatusCode::FORBIDDEN,
            json!({"errors": [{"name": "sessions[0].local_asn", "errors": [format!("AS65001 is not accepted by our peering policy{quoted}")]}]}),
        );
    }
    let (rid, idx) = {
        let mut g = st.0.lock().unwrap();
        store_items(&mut g, &items)
    };
    hold(&st).await;
    let g = st.0.lock().unwrap();
    let sessions: Vec<Value> = idx
        .iter()
        .map(|i| draft_session(&g, &g.sessions[*i], "Pending"))
        .collect();
    json_resp(
        StatusCode::OK,
        json!({"request_id": rid, "sessions": sessions, "errors": []}),
    )
}

async fn create_v0(State(st): State<St>, h: HeaderMap, body: Bytes) -> Response {
    count_post(&st, &h);
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let items: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
    if st.0.lock().unwrap().behaviour == Behaviour::RefuseAll {
        return json_resp(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"name": "peer_asn", "messages": ["asn not available at that location"]}]}),
        );
    }
    let (rid, idx) = {
        let mut g = st.0.lock().unwrap();
        store_items(&mut g, &items)
    };
    hold(&st).await;
    let g = st.0.lock().unwrap();
    let sessions: Vec<Value> = idx
        .iter()
        .map(|i| v0_session(&g, &g.sessions[*i], "Pending"))
        .collect();
    json_resp(
        StatusCode::OK,
        json!({"sessions": sessions, "requestId": rid, "error": null}),
    )
}

async fn list_draft(
    State(st): State<St>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let mut g = st.0.lock().unwrap();
    g.lists += 1;
    let asn: u32 = q.get("asn").and_then(|a| a.parse().ok()).unwrap_or(0);
    let rid = q.get("request_id").cloned();
    let idx: Vec<usize> = (0..g.sessions.len())
        .filter(|i| {
            let s = &g.sessions[*i];
            (s.local_asn == asn || s.peer_asn == asn)
                && rid.as_ref().is_none_or(|r| *r == s.request_id)
        })
        .collect();
    let mut out = Vec::new();
    for i in idx {
        let status = look(&mut g, i);
        out.push(draft_session(&g, &g.sessions[i], &status));
    }
    json_resp(StatusCode::OK, json!({"sessions": out}))
}

async fn get_draft(State(st): State<St>, h: HeaderMap, Path(sid): Path<String>) -> Response {
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let mut g = st.0.lock().unwrap();
    match g.sessions.iter().position(|s| s.session_id == sid) {
        None => json_resp(
            StatusCode::NOT_FOUND,
            json!({"errors": [{"name": "request", "errors": ["session not found"]}]}),
        ),
        Some(i) => {
            let status = look(&mut g, i);
            json_resp(StatusCode::OK, draft_session(&g, &g.sessions[i], &status))
        }
    }
}

async fn delete_draft(State(st): State<St>, h: HeaderMap, Path(sid): Path<String>) -> Response {
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let mut g = st.0.lock().unwrap();
    g.deletes.push(sid.clone());
    match g.sessions.iter().position(|s| s.session_id == sid) {
        None => json_resp(
            StatusCode::NOT_FOUND,
            json!({"errors": [{"name": "request", "errors": ["session not found"]}]}),
        ),
        Some(i) => {
            g.sessions.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

async fn status_v0(
    State(st): State<St>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = misbehave(&st, &h).await {
        return r;
    }
    let mut g = st.0.lock().unwrap();
    g.lists += 1;
    let asn: u32 = q.get("asn").and_then(|a| a.parse().ok()).unwrap_or(0);
    let rid = q.get("request_id").cloned();
    if let Some(r) = &rid {
        if !g.sessions.iter().any(|s| s.request_id == *r) {
            return json_resp(
                StatusCode::NOT_FOUND,
                json!({"sessions": [], "requestId": r, "error": "unknown request"}),
            );
        }
    }
    let idx: Vec<usize> = (0..g.sessions.len())
        .filter(|i| {
            let s = &g.sessions[*i];
            (s.local_asn == asn || s.peer_asn == asn)
                && rid.as_ref().is_none_or(|r| *r == s.request_id)
        })
        .collect();
    let mut out = Vec::new();
    let mut waiting = false;
    for i in idx {
        let status = look(&mut g, i);
        waiting |= status == "Pending";
        out.push(v0_session(&g, &g.sessions[i], &status));
    }
    let code = if waiting {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    json_resp(
        code,
        json!({"sessions": out, "requestId": rid.unwrap_or_default(), "error": null}),
    )
}
