//! The HTTP client of the commands that drive a running daemon through
//! its admin routes (`peerd admin`, `peerd token`, `peerd peeringdb` while
//! the daemon runs): server URL and operator key from `--url`/`--key` or
//! `PEERD_URL`/`PEERD_KEY`. The key is sent as a bearer token and never
//! printed.

use super::{CliError, CliResult, Global};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where `peerd serve` listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// An HTTP client for the admin routes.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// An answer: its status and its JSON body (`Null` when there was none).
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: serde_json::Value,
}

impl Client {
    /// A client for `--url` with `--key` (which must be given).
    pub fn from_global(g: &Global) -> CliResult<Client> {
        Client::connect(&g.url(), g.key.as_deref().unwrap_or(""))
    }

    /// A client for the API at `url` with operator key `key`.
    pub fn connect(url: &str, key: &str) -> CliResult<Client> {
        if key.trim().is_empty() {
            return Err(CliError::new(
                "no operator key: give --key KEY or set PEERD_KEY (`peerd key add NAME` makes one)",
            ));
        }
        // long enough for `POST /admin/peeringdb/sync` (PeeringDB retries)
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            http,
            base: url.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends; any status is returned (with the body).
    async fn send(&self, req: reqwest::RequestBuilder) -> CliResult<Answer> {
        let resp = req.bearer_auth(&self.key).send().await.map_err(|e| {
            CliError::new(format!(
                "cannot reach peerd at {}: {} (is `peerd serve` running there? --url or PEERD_URL)",
                self.base,
                error_chain(&e)
            ))
        })?;
        let status = resp.status();
        let body = resp.json().await.unwrap_or(serde_json::Value::Null);
        Ok(Answer { status, body })
    }

    /// Sends, and fails on any status but 2xx with the server's errors.
    async fn call(&self, req: reqwest::RequestBuilder) -> CliResult<serde_json::Value> {
        let a = self.send(req).await?;
        if a.status.is_success() {
            return Ok(a.body);
        }
        Err(self.refusal(&a))
    }

    /// The error for a non-2xx answer, with a hint for 401 and 403.
    pub fn refusal(&self, a: &Answer) -> CliError {
        let detail = describe_errors(&a.body);
        let hint = match a.status.as_u16() {
            401 => ": the server does not know this operator key (check --key or PEERD_KEY; `peerd key list` shows the keys' names)",
            403 => ": this key is not an operator key",
            _ => "",
        };
        CliError::new(format!("{} {detail}{hint}", a.status))
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> CliResult<serde_json::Value> {
        self.call(self.http.get(self.url(path)).query(query)).await
    }

    /// GET, with the status (for routes where 404 is an answer).
    pub async fn get_answer(&self, path: &str) -> CliResult<Answer> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<serde_json::Value> {
        self.call(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> CliResult<serde_json::Value> {
        self.call(self.http.delete(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The API's error body (`{"errors":[{"name","errors":[..]}]}`) as one line.
pub fn describe_errors(body: &serde_json::Value) -> String {
    match body.get("errors").and_then(|e| e.as_array()) {
        Some(items) => items
            .iter()
            .map(|i| {
                let name = i.get("name").and_then(|n| n.as_str()).unwrap_or("request");
                let msgs: Vec<&str> = i
                    .get("errors")
                    .and_then(|m| m.as_array())
                    .map(|m| m.iter().filter_map(|s| s.as_str()).collect())
                    .unwrap_or_default();
                format!("{name}: {}", msgs.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => "no error details".into(),
    }
}

/// The JSON as `T`, or an error saying the answer was not what we expect.
pub fn typed<T: DeserializeOwned>(v: &serde_json::Value) -> CliResult<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| CliError::new(format!("unexpected answer from the server: {e}")))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
