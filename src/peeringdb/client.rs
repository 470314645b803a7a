//! HTTP client for the PeeringDB API v2.
//!
//! One GET per call, with a per-call timeout, an optional API key
//! (`Authorization: Api-Key <key>`, marked sensitive so it is never logged),
//! and a bounded response size. Rate limits (429, honouring a `Retry-After`
//! given in seconds), server errors (5xx), timeouts and connection failures
//! are retried a bounded number of times with exponential backoff and
//! jitter; other failures are returned at once. `__in` filters are sent in
//! batches of bounded size, one request after another (PeeringDB throttles
//! parallel clients).

use super::types::{self, Envelope, RawData};
use super::{PdbError, Result};
use crate::config::PeeringDbSettings;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::time::Duration;

/// Limits and retry behaviour of a [`PdbClient`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Timeout of one HTTP call, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt (so `max_retries + 1` calls at most).
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, up to `backoff_max`; the
    /// delay actually slept is drawn from its upper half (jitter).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails
    /// and the next scheduled sync tries again.
    pub max_retry_after: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: u64,
    /// Most ids in one `__in` filter.
    pub batch_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_retries: 4,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            max_response_bytes: 64 * 1024 * 1024,
            batch_size: 100,
        }
    }
}

impl ClientOptions {
    /// Defaults with the timeout from the settings.
    pub fn from_settings(s: &PeeringDbSettings) -> Self {
        let timeout = Duration::from_secs(s.timeout_secs.max(1));
        ClientOptions {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            ..ClientOptions::default()
        }
    }

    /// The backoff before retry number `attempt` (0-based), with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.backoff_max);
        let half = full / 2;
        let jitter_ms = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// A PeeringDB API client.
#[derive(Clone, Debug)]
pub struct PdbClient {
    http: reqwest::Client,
    base: String,
    auth: Option<HeaderValue>,
    opts: ClientOptions,
}

impl PdbClient {
    /// From the settings: `api_base`, `timeout_secs`, and the API key read
    /// from the environment variable named by `api_key_env` (if set and
    /// non-empty).
    pub fn from_settings(s: &PeeringDbSettings) -> Result<PdbClient> {
        let key = if s.api_key_env.is_empty() {
            None
        } else {
            std::env::var(&s.api_key_env)
                .ok()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
        };
        PdbClient::new(&s.api_base, key.as_deref(), ClientOptions::from_settings(s))
    }

    /// A client for the API at `base` (e.g. `https://www.peeringdb.com/api`).
    pub fn new(base: &str, api_key: Option<&str>, opts: ClientOptions) -> Result<PdbClient> {
        let url = reqwest::Url::parse(base)
            .map_err(|e| PdbError::Config(format!("api_base {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err(PdbError::Config(format!(
                "api_base {base:?}: must be an http(s) URL without a query"
            )));
        }
        let auth = match api_key {
            Some(k) => {
                let mut v = HeaderValue::from_str(&format!("Api-Key {k}")).map_err(|_| {
                    PdbError::Config(
                        "the PeeringDB API key holds characters not allowed in a header".into(),
                    )
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("peerd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PdbError::Config(format!("HTTP client: {e}")))?;
        Ok(PdbClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            opts,
        })
    }

    /// The API base URL (without trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// True when an API key is sent.
    pub fn has_api_key(&self) -> bool {
        self.auth.is_some()
    }

    /// `GET {base}/{object}?{query}` and its `data` list, with retries.
    pub async fn list<T: DeserializeOwned>(
        &self,
        object: &str,
        query: &[(String, String)],
    ) -> Result<Vec<T>> {
        let url = format!("{}/{}", self.base, object);
        let shown = shown_url(&url, query);
        let mut attempt = 0;
        loop {
            let err = match self.get_once(&url, &shown, query).await {
                Ok(body) => {
                    let env: Envelope<T> =
                        serde_json::from_slice(&body).map_err(|e| PdbError::Decode {
                            what: shown.clone(),
                            msg: e.to_string(),
                        })?;
                    return Ok(env.data);
                }
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= self.opts.max_retries {
                return Err(err);
            }
            let delay = match &err {
                PdbError::RateLimited {
                    retry_after: Some(d),
                    ..
                } => {
                    if *d > self.opts.max_retry_after {
                        return Err(err);
                    }
                    *d
                }
                _ => self.opts.backoff(attempt),
            };
            // the sync's own failure says it once; each retry is detail
            tracing::debug!(error = %err, attempt = attempt + 1, delay_ms = delay.as_millis() as u64,
                "PeeringDB request failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// `list` with `{field}__in=` over `ids`, in batches, asking only for
    /// `fields`. No ids, no request.
    pub async fn list_in<T: DeserializeOwned>(
        &self,
        object: &str,
        field: &str,
        ids: &[u32],
        fields: &str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(self.opts.batch_size.max(1)) {
            let list = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let query = vec![
                (format!("{field}__in"), list),
                ("fields".to_string(), fields.to_string()),
            ];
            out.extend(self.list::<T>(object, &query).await?);
        }
        Ok(out)
    }

    /// Fetches everything peerd needs about the exchanges `ix_ids`: the
    /// `ix`, `ixlan`, `ixpfx` and `netixlan` objects, then the `net` objects
    /// of every ASN with a port there.
    pub async fn fetch_for(&self, ix_ids: &BTreeSet<u32>) -> Result<RawData> {
        let ids: Vec<u32> = ix_ids.iter().copied().collect();
        let ix = self.list_in("ix", "id", &ids, types::IX_FIELDS).await?;
        let ixlan: Vec<types::IxLan> = self
            .list_in("ixlan", "ix_id", &ids, types::IXLAN_FIELDS)
            .await?;
        let lan_ids: Vec<u32> = ixlan
            .iter()
            .map(|l| l.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let ixpfx = self
            .list_in("ixpfx", "ixlan_id", &lan_ids, types::IXPFX_FIELDS)
            .await?;
        let netixlan: Vec<types::NetIxLan> = self
            .list_in("netixlan", "ix_id", &ids, types::NETIXLAN_FIELDS)
            .await?;
        let asns: Vec<u32> = netixlan
            .iter()
            .map(|r| r.asn)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let net = self.list_in("net", "asn", &asns, types::NET_FIELDS).await?;
        Ok(RawData {
            ix,
            ixlan,
            ixpfx,
            netixlan,
            net,
        })
    }

    async fn get_once(
        &self,
        url: &str,
        shown: &str,
        query: &[(String, String)],
    ) -> Result<Vec<u8>> {
        let mut req = self.http.get(url).query(query);
        if let Some(a) = &self.auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        tracing::debug!(url = %shown, "PeeringDB GET");
        let mut resp = req.send().await.map_err(|e| self.transport(shown, e))?;
        let status = resp.status();
        if status.as_u16() == 429 {
            return Err(PdbError::RateLimited {
                url: shown.to_string(),
                retry_after: retry_after(resp.headers()),
            });
        }
        if !status.is_success() {
            let body = self
                .read_bounded(&mut resp, shown, 4096)
                .await
                .unwrap_or_default();
            return Err(PdbError::Http {
                url: shown.to_string(),
                status: status.as_u16(),
                body: excerpt(&body),
            });
        }
        self.read_bounded(&mut resp, shown, self.opts.max_response_bytes)
            .await
    }

    async fn read_bounded(
        &self,
        resp: &mut reqwest::Response,
        shown: &str,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let too_large = || PdbError::TooLarge {
            what: shown.to_string(),
            limit,
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(shown, e))? {
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    fn transport(&self, shown: &str, e: reqwest::Error) -> PdbError {
        let msg = if e.is_timeout() {
            format!("timed out after {}s", self.opts.timeout.as_secs_f32())
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            format!("request failed: {}", e.without_url())
        };
        PdbError::Transport {
            url: shown.to_string(),
            msg,
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by PeeringDB;
/// it falls back to the backoff).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// The URL as shown in logs and errors (no secrets are ever in it).
fn shown_url(url: &str, query: &[(String, String)]) -> String {
    let mut s = url.to_string();
    for (i, (k, v)) in query.iter().filter(|(k, _)| k != "fields").enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    if s.len() > 160 {
        let mut cut = 157;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// A short, printable excerpt of an error body.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    clean.trim().to_string()
}

#[cfg(test)]
mod tests;
