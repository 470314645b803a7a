//! The asking side's settings (`outbound:` in `peerd.yaml`): how peerd
//! talks to other networks' Peering APIs, and the remote peers it may ask
//! (`outbound.remotes`). The draft leaves discovery open (RPKI, RDAP,
//! PeeringDB are all suggested); here the map from ASN to API is
//! configuration.
//!
//! ```yaml
//! outbound:
//!   remotes:
//!     - asn: 65010
//!       url: https://peering.example.net/api     # its Peering API base
//!       dialect: draft                           # or v0
//!       auth: peeringdb                          # or {bearer_env: NAME} / {bearer_file: PATH}
//!       locations: ["pdb:ix:42"]                 # optional: only these
//!       secret: generate                         # or none (default)
//! ```

use crate::model::Asn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

/// `outbound:`: the asking side.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSettings {
    /// Seconds one call to a remote API may take (connect, send, answer).
    pub timeout_secs: u64,
    /// Largest answer read from a remote API, in bytes.
    pub max_answer_bytes: usize,
    /// Seconds between two looks at a remote's status for an open request.
    pub poll_interval_secs: u64,
    /// Longest wait between retries after a remote failed to answer.
    pub backoff_max_secs: u64,
    /// Attempts to send a request (or learn its fate) before peerd gives
    /// up on it (the sessions become `Rejected`, nothing configured).
    pub max_send_attempts: u32,
    /// Allow `http://` URLs to loopback addresses (tests and labs only).
    /// Everything else must be `https://`.
    pub allow_http_loopback: bool,
    /// The networks peerd may ask for sessions.
    pub remotes: Vec<RemotePeer>,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        OutboundSettings {
            timeout_secs: 10,
            max_answer_bytes: 256 * 1024,
            poll_interval_secs: 30,
            backoff_max_secs: 300,
            max_send_attempts: 8,
            allow_http_loopback: false,
            remotes: Vec::new(),
        }
    }
}

/// Which API a remote speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteDialect {
    /// draft-ietf-grow-peering-api-01: `GET /locations`, `POST /sessions`,
    /// `GET /sessions?request_id=`, `DELETE /sessions/{id}`.
    #[default]
    Draft,
    /// The proof of concept: `/v0/list_locations`, `/v0/add_sessions`,
    /// `/v0/get_status` (no delete).
    V0,
}

impl RemoteDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteDialect::Draft => "draft",
            RemoteDialect::V0 => "v0",
        }
    }
}

/// How peerd authenticates to a remote (`Authorization: Bearer ...`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RemoteAuth {
    /// Our own PeeringDB access token, obtained by an operator's login
    /// (`peerd request login`) and refreshed by peerd.
    Peeringdb,
    /// A token in this environment variable (read at each use).
    BearerEnv(String),
    /// A token in the first line of this file (read at each use).
    BearerFile(PathBuf),
}

/// The session secret (TCP-MD5) asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretPolicy {
    /// No secret.
    #[default]
    None,
    /// A fresh random secret per session, sent to the remote with the
    /// request and configured on our router.
    Generate,
}

/// One remote network peerd may ask.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemotePeer {
    pub asn: u32,
    /// Base URL of its Peering API (the routes are appended:
    /// `{url}/sessions`, `{url}/v0/add_sessions`).
    pub url: String,
    #[serde(default)]
    pub dialect: RemoteDialect,
    pub auth: RemoteAuth,
    /// Only these of our locations (ids as in the inventory); empty = every
    /// location we share.
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub secret: SecretPolicy,
}

impl OutboundSettings {
    /// The remote peer for `asn`, if configured.
    pub fn remote(&self, asn: u32) -> Option<&RemotePeer> {
        self.remotes.iter().find(|r| r.asn == asn)
    }

    /// Every problem with these settings, as `(key path, message)`, given
    /// our ASN and the ids of our locations.
    pub fn issues(&self, our_asn: u32, locations: &BTreeSet<String>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |k: String, m: String| out.push((k, m));
        if !(1..=120).contains(&self.timeout_secs) {
            push("outbound.timeout_secs".into(), "must be 1 to 120".into());
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_answer_bytes) {
            push(
                "outbound.max_answer_bytes".into(),
                "must be 1024 to 16777216".into(),
            );
        }
        if self.poll_interval_secs == 0 {
            push(
                "outbound.poll_interval_secs".into(),
                "must be at least 1".into(),
            );
        }
        if self.max_send_attempts == 0 {
            push(
                "outbound.max_send_attempts".into(),
                "must be at least 1".into(),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, r) in self.remotes.iter().enumerate() {
            let p = format!("outbound.remotes[{i}]");
            if r.asn == our_asn {
                push(format!("{p}.asn"), format!("AS{} is our own ASN", r.asn));
            } else if Asn(r.asn).is_reserved() {
                push(format!("{p}.asn"), format!("AS{} is a reserved ASN", r.asn));
            }
            if !seen.insert(r.asn) {
                push(format!("{p}.asn"), format!("AS{} is listed twice", r.asn));
            }
            if let Err(m) = check_url(&r.url, self.allow_http_loopback) {
                push(format!("{p}.url"), m);
            }
            for (j, l) in r.locations.iter().enumerate() {
                if !locations.contains(l) {
                    push(
                        format!("{p}.locations[{j}]"),
                        format!("{l:?} is not a location of the inventory"),
                    );
                }
            }
            match &r.auth {
                RemoteAuth::Peeringdb => {}
                RemoteAuth::BearerEnv(v) => {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                        push(
                            format!("{p}.auth.bearer_env"),
                            "must be the name of an environment variable".into(),
                        );
                    }
                }
                RemoteAuth::BearerFile(f) => {
                    if f.as_os_str().is_empty() {
                        push(format!("{p}.auth.bearer_file"), "must be a path".into());
                    }
                }
            }
        }
        out
    }
}

/// A remote API base URL: `https://` (or `http://` to a loopback address
/// when `allow_http_loopback`), a host, no user info, query or fragment.
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<reqwest::Url, String> {
    if url.len() > 512 {
        return Err("longer than 512 characters".into());
    }
    let u = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !u.username().is_empty() || u.password().is_some() {
        return Err("may not contain user information".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("may not have a query or fragment".into());
    }
    let Some(host) = u.host_str() else {
        return Err("must name a host".into());
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if allow_http_loopback => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(u)
            } else {
                Err("http:// is allowed only to a loopback address (outbound.allow_http_loopback); use https://".into())
            }
        }
        "http" => Err("must be https:// (http:// only with outbound.allow_http_loopback, to a loopback address)".into()),
        other => Err(format!("scheme {other}: must be https://")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locs() -> BTreeSet<String> {
        ["pdb:ix:1".to_string()].into()
    }

    #[test]
    fn parses_every_auth_form_and_refuses_unknown_keys() {
        let s: OutboundSettings = serde_saphyr::from_str(
            r#"
remotes:
  - asn: 65010
    url: https://peering.example.net/api
    auth: peeringdb
  - asn: 65011
    url: https://b.example.net
    dialect: v0
    auth: {bearer_env: PEERD_B_TOKEN}
    locations: ["pdb:ix:1"]
    secret: generate
  - asn: 65012
    url: https://c.example.net
    auth: {bearer_file: /etc/peerd/c.token}
"#,
        )
        .unwrap();
        assert_eq!(s.remotes[0].auth, RemoteAuth::Peeringdb);
        assert_eq!(s.remotes[0].dialect, RemoteDialect::Draft);
        assert_eq!(s.remotes[1].dialect, RemoteDialect::V0);
        assert_eq!(s.remotes[1].secret, SecretPolicy::Generate);
        assert_eq!(
            s.remotes[2].auth,
            RemoteAuth::BearerFile("/etc/peerd/c.token".into())
        );
        assert!(
            s.issues(65001, &locs()).is_empty(),
            "{:?}",
            s.issues(65001, &locs())
        );
        for bad in [
            "remotes: [{asn: 1, url: 'https://x', auth: peeringdb, bogus: 1}]",
            "remotes: [{asn: 1, url: 'https://x', auth: {bearer: x}}]",
            "remotes: [{asn: 1, url: 'https://x', auth: peeringdb, dialect: v1}]",
            "bogus: 1",
        ] {
            assert!(
                serde_saphyr::from_str::<OutboundSettings>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn issues_name_the_key() {
        let s: OutboundSettings = serde_saphyr::from_str(
            r#"
remotes:
  - {asn: 65001, url: "http://peering.example.net", auth: peeringdb}
  - {asn: 65010, url: "https://u:p@x.example.net", auth: {bearer_env: "A B"}, locations: ["pdb:ix:9"]}
  - {asn: 65010, url: "ftp://x.example.net", auth: peeringdb}
"#,
        )
        .unwrap();
        let keys: Vec<String> = s.issues(65001, &locs()).into_iter().map(|i| i.0).collect();
        for k in [
            "outbound.remotes[0].asn",
            "outbound.remotes[0].url",
            "outbound.remotes[1].url",
            "outbound.remotes[1].auth.bearer_env",
            "outbound.remotes[1].locations[0]",
            "outbound.remotes[2].asn",
            "outbound.remotes[2].url",
        ] {
            assert!(keys.contains(&k.to_string()), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn http_only_to_loopback_and_only_when_allowed() {
        assert!(check_url("https://peering.example.net/api", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080", false).is_err());
        assert!(check_url("http://127.0.0.1:8080", true).is_ok());
        assert!(check_url("http://[::1]:8080/x", true).is_ok());
        assert!(check_url("http://192.0.2.10:8080", true).is_err());
        assert!(check_url("http://localhost.example.net", true).is_err());
        assert!(check_url("https://x.example.net/?a=1", false).is_err());
    }
}
