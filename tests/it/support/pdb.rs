//! A stand-in PeeringDB on loopback: serves the real `/profile/v1` shape
//! for a token -> profile map, with switchable failure modes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// How the stand-in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 500 on every request.
    Error500,
    /// Never answers (until the client gives up).
    Hang,
}

#[derive(Default)]
struct Inner {
    profiles: HashMap<String, Value>,
    mode: Option<Mode>,
    /// How long every answer takes.
    delay: std::time::Duration,
}

/// The running stand-in. `down()` closes its port; `up()` reopens it.
pub struct FakePdb {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    hits: Arc<AtomicUsize>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A profile in PeeringDB's shape: `networks` are (asn, perms,
/// manage_peering_sessions).
pub fn profile(id: u64, networks: &[(u32, u32, u32)]) -> Value {
    json!({
        "id": id,
        "given_name": "Test",
        "family_name": format!("User{id}"),
        "name": format!("Test User{id}"),
        "verified_user": true,
        "email": format!("user{id}@example.net"),
        "verified_email": true,
        "networks": networks.iter().enumerate().map(|(i, (asn, perms, mps))| json!({
            "id": 100 + i as u64, "name": format!("Net AS{asn}"), "asn": asn,
            "perms": perms, "manage_peering_sessions": mps,
        })).collect::<Vec<_>>(),
        "amr": ["pwd"],
    })
}

#[derive(Clone)]
struct St {
    inner: Arc<Mutex<Inner>>,
    hits: Arc<AtomicUsize>,
}

/// Every answer closes its connection, so `down()` really cuts peerd off
/// (no pooled keep-alive connection survives it).
async fn profile_v1(State(st): State<St>, headers: HeaderMap) -> Response {
    let mut r = answer(st, headers).await;
    r.headers_mut()
        .insert("connection", axum::http::HeaderValue::from_static("close"));
    r
}

async fn answer(st: St, headers: HeaderMap) -> Response {
    st.hits.fetch_add(1, Ordering::SeqCst);
    let delay = st.inner.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let (mode, prof) = {
        let i = st.inner.lock().unwrap();
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.to_string());
        (
            i.mode.unwrap_or(Mode::Normal),
            token.and_then(|t| i.profiles.get(&t).cloned()),
        )
    };
    match mode {
        Mode::Error500 => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Mode::Normal => match prof {
            Some(p) => axum::Json(p).into_response(),
            None => (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"detail": "Authentication credentials were not provided."})),
            )
                .into_response(),
        },
    }
}

impl FakePdb {
    pub async fn start() -> FakePdb {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pdb = FakePdb {
            addr,
            inner: Arc::new(Mutex::new(Inner::default())),
            hits: Arc::new(AtomicUsize::new(0)),
            task: Mutex::new(None),
        };
        pdb.run(listener);
        pdb
    }

    fn run(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/profile/v1", get(profile_v1))
            .with_state(St {
                inner: self.inner.clone(),
                hits: self.hits.clone(),
            });
        let h = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap() = Some(h);
    }

    /// Base URL to use as `peeringdb.auth_base`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_token(&self, token: &str, profile: Value) {
        self.inner
            .lock()
            .unwrap()
            .profiles
            .insert(token.to_string(), profile);
    }

    /// Every answer takes `d` from now on.
    pub fn set_delay(&self, d: std::time::Duration) {
        self.inner.lock().unwrap().delay = d;
    }

    pub fn set_mode(&self, m: Mode) {
        self.inner.lock().unwrap().mode = Some(m);
    }

    /// How many profile requests arrived.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops listening (connections are refused).
    pub async fn down(&self) {
        let h = self.task.lock().unwrap().take();
        if let Some(h) = h {
            h.abort();
            let _ = h.await;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.run(listener);
    }
}

impl Drop for FakePdb {
    fn drop(&mut self) {
        if let Some(h) = self.task.lock().unwrap().take() {
            h.abort();
        }
    }
}
