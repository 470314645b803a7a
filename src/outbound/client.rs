//! [`RemoteClient`]: the calls of the asking side, per dialect, each
//! bounded in time and size, with the answer checked before it is returned.

use super::view::{check_id, check_location, neutral_text, views, RemoteView, MAX_LOCATIONS};
use super::{RemoteError, Target};
use crate::config::{check_url, OutboundSettings, RemoteDialect};
use crate::model::LocationType;
use crate::wire::remote::{
    DraftSessionReq, RemoteCreated, RemoteErrorBody, RemoteLocations, RemoteSession,
    RemoteSessions, V0RemoteLocations, V0RemoteSessions, V0SessionReq,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Most pages read from one listing.
const MAX_PAGES: usize = 10;
/// Most redirects followed (same scheme, host and port only).
const MAX_REDIRECTS: usize = 3;

/// What a create call came back with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Created {
    pub request_id: Option<String>,
    /// The sessions the remote accepted (in any status, `Pending`
    /// included), checked.
    pub sessions: Vec<RemoteView>,
    /// The items it refused: the item index when its error names one
    /// (`sessions[2]...`), and the messages.
    pub refused: Vec<(Option<usize>, String)>,
    /// v0's `error` (a summary of what was refused).
    pub summary: Option<String>,
}

/// What a status call came back with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    pub sessions: Vec<RemoteView>,
    /// v0 answered 202: something is still waiting there.
    pub waiting: bool,
}

/// What a delete came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The remote took the deletion.
    Done,
    /// It did not know the session (any more).
    AlreadyGone,
}

/// The HTTP client for remote Peering APIs. Cheap to clone.
#[derive(Clone)]
pub struct RemoteClient {
    http: reqwest::Client,
    timeout_secs: u64,
    max_bytes: usize,
    allow_http_loopback: bool,
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl RemoteClient {
    pub fn new(s: &OutboundSettings) -> Result<RemoteClient, String> {
        let timeout = Duration::from_secs(s.timeout_secs.max(1));
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let stay = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if stay && attempt.previous().len() <= MAX_REDIRECTS {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .redirect(policy)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("peerd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(RemoteClient {
            http,
            timeout_secs: s.timeout_secs.max(1),
            max_bytes: s.max_answer_bytes,
            allow_http_loopback: s.allow_http_loopback,
        })
    }

    /// `{base}/{path...}` with `query`.
    fn url(&self, t: &Target, path: &[&str], query: &[(&str, String)]) -> Result<Url, RemoteError> {
        let mut u = t.base.clone();
        {
            let mut segs = u.path_segments_mut().map_err(|_| {
                RemoteError::Malformed("the remote's URL cannot take a path".into())
            })?;
            segs.pop_if_empty();
            for p in path {
                segs.push(p);
            }
        }
        if !query.is_empty() {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        check_url(
            u.as_str().split('?').next().unwrap_or(""),
            self.allow_http_loopback,
        )
        .map_err(RemoteError::Malformed)?;
        Ok(u)
    }

    /// One call: the status and the body of a 2xx, 300 or 404 answer; any
    /// other answer is an error.
    async fn call(
        &self,
        t: &Target,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), RemoteError> {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&t.token)
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b);
        }
        let work = async {
            let mut resp = req.send().await.map_err(|e| self.transport(e))?;
            let status = resp.status().as_u16();
            if resp.status().is_redirection() && status != 300 {
                return Err(RemoteError::Malformed(format!(
                    "it redirected (HTTP {status}) to another host; such redirects are not followed"
                )));
            }
            let body = self.read_bounded(&mut resp).await?;
            match status {
                200..=299 | 300 | 404 => Ok((status, body)),
                429 | 500..=599 => Err(RemoteError::Unavailable(status)),
                _ => Err(RemoteError::Refused {
                    status,
                    reasons: reasons(&body),
                }),
            }
        };
        // reqwest's timeout covers the whole exchange; this is a backstop
        tokio::time::timeout(Duration::from_secs(self.timeout_secs + 1), work)
            .await
            .map_err(|_| RemoteError::Timeout(self.timeout_secs))?
    }

    fn transport(&self, e: reqwest::Error) -> RemoteError {
        if e.is_timeout() {
            RemoteError::Timeout(self.timeout_secs)
        } else if e.is_connect() {
            RemoteError::Unreachable("connection failed".into())
        } else if e.is_body() || e.is_decode() {
            RemoteError::Malformed("the answer broke off".into())
        } else {
            RemoteError::Unreachable(neutral_text(&e.without_url().to_string()))
        }
    }

    async fn read_bounded(&self, resp: &mut reqwest::Response) -> Result<Vec<u8>, RemoteError> {
        let too_big =
            || RemoteError::Malformed(format!("answer larger than {} bytes", self.max_bytes));
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_big());
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(e))? {
            if buf.len() + chunk.len() > self.max_bytes {
                return Err(too_big());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// The locations the remote offers us (`GET /locations?asn=` or
    /// `/v0/list_locations?asn=`), checked: `(id, type)`.
    pub async fn locations(&self, t: &Target) -> Result<Vec<(String, LocationType)>, RemoteError> {
        let asn = ("asn", t.our_asn.to_string());
        let raw: Vec<(String, String)> = match t.dialect {
            RemoteDialect::Draft => {
                let mut out = Vec::new();
                let mut next: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let mut q = vec![asn.clone(), ("max_results", "100".to_string())];
                    if let Some(n) = &next {
                        q.push(("next_token", n.clone()));
                    }
                    let url = self.url(t, &["locations"], &q)?;
                    let (status, body) = self.call(t, Method::GET, url, None).await?;
                    not_404(status)?;
                    let page: RemoteLocations = parse(&body)?;
                    out.extend(page.locations.into_iter().map(|l| (l.id, l.kind)));
                    if out.len() > MAX_LOCATIONS {
                        return Err(RemoteError::Malformed("too many locations".into()));
                    }
                    match page.next_token {
                        Some(n) if Some(&n) != next.as_ref() => next = Some(check_token(&n)?),
                        _ => break,
                    }
                }
                out
            }
            RemoteDialect::V0 => {
                let url = self.url(t, &["v0", "list_locations"], &[asn])?;
                let (status, body) = self.call(t, Method::GET, url, None).await?;
                not_404(status)?;
                let a: V0RemoteLocations = parse(&body)?;
                if a.items.len() > MAX_LOCATIONS {
                    return Err(RemoteError::Malformed("too many locations".into()));
                }
                a.items.into_iter().map(|l| (l.id, l.kind)).collect()
            }
        };
        raw.into_iter()
            .enumerate()
            .map(|(i, (id, kind))| {
                let id = check_location(&format!("locations[{i}].id"), &id)
                    .map_err(RemoteError::Malformed)?;
                let kind = LocationType::parse(&kind).ok_or_else(|| {
                    RemoteError::Malformed(format!(
                        "locations[{i}].type: must be public or private"
                    ))
                })?;
                Ok((id, kind))
            })
            .collect()
    }

    /// Asks a draft server for sessions (`POST /sessions`, bare array).
    pub async fn create_draft(
        &self,
        t: &Target,
        items: &[DraftSessionReq],
    ) -> Result<Created, RemoteError> {
        let url = self.url(t, &["sessions"], &[])?;
        let body = serde_json::to_vec(items).map_err(|e| RemoteError::Malformed(e.to_string()))?;
        let (status, body) = self.call(t, Method::POST, url, Some(body)).await?;
        if status == 404 {
            return Err(RemoteError::Refused {
                status,
                reasons: reasons(&body),
            });
        }
        let a: RemoteCreated = parse(&body)?;
        let (ours, theirs) = (t.our_asn, t.asn);
        let sessions = views(&a.sessions, |p, s| {
            RemoteView::from_draft(p, s, ours, theirs)
        })?;
        let refused = a
            .errors
            .iter()
            .take(100)
            .map(|e| {
                (
                    item_index(&e.name),
                    neutral_text(&format!("{}: {}", e.name, e.errors.join(", "))),
                )
            })
            .collect();
        let request_id = match a.request_id.as_deref() {
            None | Some("") => None,
            Some(r) => Some(check_id("request_id", r).map_err(RemoteError::Malformed)?),
        };
        Ok(Created {
            request_id,
            sessions,
            refused,
            summary: None,
        })
    }

    /// Asks a v0 server for sessions (`POST /v0/add_sessions`).
    pub async fn create_v0(
        &self,
        t: &Target,
        items: &[V0SessionReq],
    ) -> Result<Created, RemoteError> {
        let url = self.url(t, &["v0", "add_sessions"], &[])?;
        let body = serde_json::to_vec(items).map_err(|e| RemoteError::Malformed(e.to_string()))?;
        let (status, body) = self.call(t, Method::POST, url, Some(body)).await?;
        if status == 404 {
            return Err(RemoteError::Refused {
                status,
                reasons: reasons(&body),
            });
        }
        let a: V0RemoteSessions = parse(&body)?;
        let (request_id, sessions) = v0_views(t, &a)?;
        Ok(Created {
            request_id,
            sessions,
            refused: Vec::new(),
            summary: a
                .error
                .as_deref()
                .map(neutral_text)
                .filter(|e| !e.is_empty()),
        })
    }
}

/// The checked sessions of a v0 answer, and its request id.
fn v0_views(
    t: &Target,
    a: &V0RemoteSessions,
) -> Result<(Option<String>, Vec<RemoteView>), RemoteError> {
    {
        let rid = match a.request_id.as_deref() {
            None | Some("") => None,
            Some(r) => Some(check_id("requestId", r).map_err(RemoteError::Malformed)?),
        };
        let (ours, theirs) = (t.our_asn, t.asn);
        let sessions = views(&a.sessions, |p, s| {
            RemoteView::from_v0(p, s, rid.clone(), ours, theirs)
        })?;
        Ok((rid, sessions))
    }
}

impl RemoteClient {
    /// What the remote holds for us: the sessions of `request_id` (draft
    /// `GET /sessions?asn=&request_id=`, v0 `get_status`), or every
    /// session between us (no `request_id`). `NotFound` when the remote
    /// does not know the request.
    pub async fn list(&self, t: &Target, request_id: Option<&str>) -> Result<Listed, RemoteError> {
        let mut q = vec![("asn", t.our_asn.to_string())];
        if let Some(r) = request_id {
            q.push(("request_id", r.to_string()));
        }
        match t.dialect {
            RemoteDialect::Draft => {
                let mut all = Vec::new();
                let mut next: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let mut q = q.clone();
                    q.push(("max_results", "100".to_string()));
                    if let Some(n) = &next {
                        q.push(("next_token", n.clone()));
                    }
                    let url = self.url(t, &["sessions"], &q)?;
                    let (status, body) = self.call(t, Method::GET, url, None).await?;
                    if status == 404 {
                        return Err(RemoteError::NotFound);
                    }
                    let page: RemoteSessions = parse(&body)?;
                    let (ours, theirs) = (t.our_asn, t.asn);
                    all.extend(views(&page.sessions, |p, s| {
                        RemoteView::from_draft(p, s, ours, theirs)
                    })?);
                    match page.next_token {
                        Some(n) if Some(&n) != next.as_ref() => next = Some(check_token(&n)?),
                        _ => break,
                    }
                }
                Ok(Listed {
                    sessions: all,
                    waiting: false,
                })
            }
            RemoteDialect::V0 => {
                let url = self.url(t, &["v0", "get_status"], &q)?;
                let (status, body) = self.call(t, Method::GET, url, None).await?;
                if status == 404 {
                    return Err(RemoteError::NotFound);
                }
                let a: V0RemoteSessions = parse(&body)?;
                let (_, sessions) = v0_views(t, &a)?;
                Ok(Listed {
                    sessions,
                    waiting: status == 202,
                })
            }
        }
    }

    /// One session by the remote's id (draft only).
    pub async fn get(&self, t: &Target, session_id: &str) -> Result<RemoteView, RemoteError> {
        if t.dialect == RemoteDialect::V0 {
            return Err(RemoteError::Unsupported(
                "v0 has no route to read one session",
            ));
        }
        check_id("session_id", session_id).map_err(RemoteError::Malformed)?;
        let url = self.url(t, &["sessions", session_id], &[])?;
        let (status, body) = self.call(t, Method::GET, url, None).await?;
        if status == 404 {
            return Err(RemoteError::NotFound);
        }
        let s: RemoteSession = parse(&body)?;
        RemoteView::from_draft("session", &s, t.our_asn, t.asn).map_err(RemoteError::Malformed)
    }

    /// Deletes a session at the remote (draft `DELETE /sessions/{id}`; v0
    /// has no delete).
    pub async fn delete(&self, t: &Target, session_id: &str) -> Result<Deleted, RemoteError> {
        if t.dialect == RemoteDialect::V0 {
            return Err(RemoteError::Unsupported(
                "the v0 API has no delete; the remote's own time window removes its end",
            ));
        }
        check_id("session_id", session_id).map_err(RemoteError::Malformed)?;
        let url = self.url(t, &["sessions", session_id], &[])?;
        let (status, _) = self.call(t, Method::DELETE, url, None).await?;
        Ok(if status == 404 {
            Deleted::AlreadyGone
        } else {
            Deleted::Done
        })
    }
}

fn not_404(status: u16) -> Result<(), RemoteError> {
    if status == 404 {
        Err(RemoteError::Refused {
            status,
            reasons: vec!["no such route: check the remote's url and dialect".into()],
        })
    } else {
        Ok(())
    }
}

/// A `next_token` we may send back: bounded and URL-safe.
fn check_token(t: &str) -> Result<String, RemoteError> {
    if t.is_empty()
        || t.len() > 256
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=.~".contains(&b))
    {
        return Err(RemoteError::Malformed(
            "next_token: not a plain token".into(),
        ));
    }
    Ok(t.to_string())
}

/// `sessions[2].local_ip` -> 2.
fn item_index(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("sessions[")?;
    rest.split(']').next()?.parse().ok()
}

/// The messages of an error body, neutralised (at most 5).
fn reasons(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<RemoteErrorBody>(body) {
        Ok(b) => b
            .errors
            .iter()
            .take(5)
            .map(|e| neutral_text(&format!("{}: {}", e.name, e.errors.join(", "))))
            .collect(),
        Err(_) if body.is_empty() => Vec::new(),
        Err(_) => vec!["(its error body was not understood)".into()],
    }
}

/// Parses an answer strictly; the error names the path and never quotes
/// more of the answer than [`neutral_text`] lets through.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RemoteError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => &msg[..i],
            None => &msg,
        };
        let msg: String = msg.chars().take(120).collect();
        RemoteError::Malformed(neutral_text(&if path == "." || path.is_empty() {
            msg
        } else {
            format!("{path}: {msg}")
        }))
    })
}
