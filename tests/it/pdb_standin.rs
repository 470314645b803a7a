//! A stand-in PeeringDB API for tests: axum on 127.0.0.1 (random port)
//! serving `/api/{ix,ixlan,ixpfx,netixlan,net}` from a dump-shaped JSON
//! document (by default `tests/data/peeringdb-dump.json`), with the real
//! answer shape (`{"meta": {}, "data": [...]}`), only live (`status: ok`)
//! objects, the `<field>=` / `<field>__in=` filters and `fields=`.
//! Failure modes can be switched on for a number of requests or for good:
//! HTTP 500, HTTP 429 with `Retry-After`, and hanging past the client's
//! timeout; [`dead_base`] gives the URL of a PeeringDB that is down.

#![allow(dead_code)]

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the stand-in answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Normal,
    /// HTTP 500.
    ServerError,
    /// HTTP 429 with `Retry-After: <secs>`.
    RateLimited {
        retry_after_secs: u64,
    },
    /// Never answers (sleeps an hour).
    Hang,
}

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
pub struct Hit {
    pub object: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
}

impl Hit {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(q, _)| q == k)
            .map(|(_, v)| v.as_str())
    }
}

struct Inner {
    data: Value,
    mode: Mode,
    /// With a failure mode: how many more requests fail before `Normal`.
    failures_left: Option<u32>,
    hits: Vec<Hit>,
}

#[derive(Clone)]
pub struct PdbStandin {
    /// The API base, `http://127.0.0.1:<port>/api`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The example dump shipped with the tests.
pub fn dump_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/peeringdb-dump.json")
}

/// The base URL of a PeeringDB that is down (a closed loopback port).
pub async fn dead_base() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/api")
}

impl PdbStandin {
    /// Serves the example dump.
    pub async fn start() -> PdbStandin {
        let text = std::fs::read_to_string(dump_path()).unwrap();
        Self::start_with(serde_json::from_str(&text).unwrap()).await
    }

    /// Serves `data` (dump-shaped: `{"ix": {"data": [...]}, ...}`).
    pub async fn start_with(data: Value) -> PdbStandin {
        let inner = Arc::new(Mutex::new(Inner {
            data,
            mode: Mode::Normal,
            failures_left: None,
            hits: vec![],
        }));
        let app = Router::new()
            .route("/api/{object}", get(api))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PdbStandin {
            base: format!("http://{addr}/api"),
            inner,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers every request in `mode` from now on.
    pub fn set_mode(&self, mode: Mode) {
        let mut g = self.lock();
        g.mode = mode;
        g.failures_left = None;
    }

    /// The next `n` requests are answered in `mode`, then `Normal` again.
    pub fn fail_next(&self, n: u32, mode: Mode) {
        let mut g = self.lock();
        g.mode = mode;
        g.failures_left = Some(n);
    }

    /// Replaces the data served.
    pub fn set_data(&self, data: Value) {
        self.lock().data = data;
    }

    /// Changes the data served in place.
    pub fn edit_data(&self, f: impl FnOnce(&mut Value)) {
        f(&mut self.lock().data);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.lock().hits.clone()
    }

    pub fn clear_hits(&self) {
        self.lock().hits.clear();
    }
}

async fn api(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(object): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let (mode, answer) = {
        let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
        g.hits.push(Hit {
            object: object.clone(),
            query: query.clone(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        let mode = g.mode.clone();
        if let Some(n) = g.failures_left {
            if n <= 1 {
                g.failures_left = None;
                g.mode = Mode::Normal;
            } else {
                g.failures_left = Some(n - 1);
            }
        }
        let answer = (mode == Mode::Normal).then(|| list(&g.data, &object, &query));
        (mode, answer)
    };
    match mode {
        Mode::Normal => match answer.expect("normal answers are computed") {
            Ok(v) => Json(v).into_response(),
            Err((status, msg)) => (status, Json(json!({"meta": {"error": msg}}))).into_response(),
        },
        Mode::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"meta": {"error": "Internal server error"}})),
        )
            .into_response(),
        Mode::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            Json(json!({"detail": format!("Request was throttled. Expected available in {retry_after_secs} seconds.")})),
        )
            .into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// The list answer for `object` under `query`.
fn list(
    data: &Value,
    object: &str,
    query: &[(String, String)],
) -> Result<Value, (StatusCode, String)> {
    let Some(rows) = data
        .get(object)
        .and_then(|s| s.get("data"))
        .and_then(Value::as_array)
    else {
        return Err((StatusCode::NOT_FOUND, format!("unknown object {object}")));
    };
    let mut out: Vec<&Map<String, Value>> = rows
        .iter()
        .filter_map(Value::as_object)
        .filter(|o| o.get("status").and_then(Value::as_str).unwrap_or("ok") == "ok")
        .collect();
    let mut fields: Option<Vec<&str>> = None;
    for (k, v) in query {
        match k.as_str() {
            "fields" => fields = Some(v.split(',').collect()),
            "depth" | "limit" | "skip" => {}
            _ => {
                let (field, many) = match k.strip_suffix("__in") {
                    Some(f) => (f, true),
                    None => (k.as_str(), false),
                };
                if rows.first().and_then(|r| r.get(field)).is_none() && !rows.is_empty() {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("unknown filter field {field}"),
                    ));
                }
                let wanted: Vec<&str> = if many {
                    v.split(',').collect()
                } else {
                    vec![v.as_str()]
                };
                out.retain(|o| wanted.iter().any(|w| scalar_eq(o.get(field), w)));
            }
        }
    }
    let data: Vec<Value> = out
        .into_iter()
        .map(|o| match &fields {
            Some(f) => Value::Object(
                o.iter()
                    .filter(|(k, _)| f.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            None => Value::Object(o.clone()),
        })
        .collect();
    Ok(json!({"meta": {}, "data": data}))
}

fn scalar_eq(v: Option<&Value>, s: &str) -> bool {
    match v {
        Some(Value::Number(n)) => n.to_string() == s,
        Some(Value::String(t)) => t == s,
        Some(Value::Bool(b)) => b.to_string() == s,
        _ => false,
    }
}
