//! PeeringDB's `GET {auth_base}/profile/v1`: the answer's shape, the ASN
//! derivation (perms check) and a bounded fetch.
//!
//! Shape (see `shared/spec/peeringdb-shapes.md`): `id`, `name`,
//! `given_name`, `family_name`, `verified_user`, with scope `email` also
//! `email`, `verified_email`, and with scope `networks` a list of
//! `{id, name, asn, perms, manage_peering_sessions}`. `perms` bits are
//! 1 read, 2 update, 4 create, 8 delete.

use crate::config::PeeringDbSettings;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Largest profile answer read, in bytes.
pub const MAX_PROFILE_BYTES: usize = 1 << 20;

/// The parts of a PeeringDB profile peerd uses (other fields are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct Profile {
    /// PeeringDB user id.
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub verified_user: bool,
    /// Present with the `networks` scope.
    #[serde(default)]
    pub networks: Vec<ProfileNetwork>,
}

/// One network the user is affiliated with.
#[derive(Clone, Debug, Deserialize)]
pub struct ProfileNetwork {
    /// PeeringDB `net` id.
    pub id: u64,
    #[serde(default)]
    pub name: String,
    /// Wider than u32 so that a bogus value is skipped, not a parse error.
    pub asn: u64,
    #[serde(default)]
    pub perms: u32,
    /// Only `/profile/v1` carries it (not the OIDC claim); absent = 0.
    #[serde(default)]
    pub manage_peering_sessions: u32,
}

impl Profile {
    /// The audit principal of this user: `pdb:<user id>`.
    pub fn principal(&self) -> String {
        format!("pdb:{}", self.id)
    }
}

/// The ASNs the user may act for. With `use_manage_peering_sessions` the
/// `manage_peering_sessions` bits are checked instead of `perms`. A network
/// counts when its bits include all of `required_perms`; with
/// `required_perms: 0` any affiliation counts for `perms`, while
/// `manage_peering_sessions` must then be non-zero (0 means "not granted").
/// ASN 0 and values above 2^32-1 are skipped.
pub fn allowed_asns(profile: &Profile, settings: &PeeringDbSettings) -> BTreeSet<u32> {
    let required = settings.required_perms;
    profile
        .networks
        .iter()
        .filter(|n| {
            if settings.use_manage_peering_sessions {
                let bits = n.manage_peering_sessions;
                bits != 0 && bits & required == required
            } else {
                n.perms & required == required
            }
        })
        .filter_map(|n| u32::try_from(n.asn).ok())
        .filter(|asn| *asn != 0)
        .collect()
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not reachable, timed out, or a 5xx answer.
    #[error("PeeringDB unavailable: {0}")]
    Unavailable(String),
    /// PeeringDB refused the access token (401/403).
    #[error("PeeringDB refused the access token")]
    Refused,
    /// Any other unexpected answer (status, size, JSON).
    #[error("unexpected PeeringDB profile answer: {0}")]
    Bad(String),
}

/// `GET {auth_base}/profile/v1` with the access token.
pub async fn fetch_profile(
    http: &reqwest::Client,
    auth_base: &str,
    access_token: &str,
) -> Result<Profile, ProfileError> {
    let url = format!("{}/profile/v1", auth_base.trim_end_matches('/'));
    let resp = http
        .get(&url)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| ProfileError::Unavailable(describe(&e)))?;
    let status = resp.status();
    if status.is_server_error() {
        return Err(ProfileError::Unavailable(format!("HTTP {status}")));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(ProfileError::Refused);
    }
    if !status.is_success() {
        return Err(ProfileError::Bad(format!("HTTP {status}")));
    }
    let body = read_bounded(resp, MAX_PROFILE_BYTES)
        .await
        .map_err(|e| match e {
            ReadError::TooBig => ProfileError::Bad("answer too large".into()),
            ReadError::Net(e) => ProfileError::Unavailable(describe(&e)),
        })?;
    serde_json::from_slice(&body).map_err(|e| ProfileError::Bad(e.to_string()))
}

pub(crate) enum ReadError {
    TooBig,
    Net(reqwest::Error),
}

/// Reads a response body, refusing more than `max` bytes.
pub(crate) async fn read_bounded(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooBig);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Net)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooBig);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A short description of a transport error (no URL query, no secrets).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match e.url() {
        Some(u) => format!(
            "{kind} ({}://{}{})",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"id": 1234, "given_name": "Ada", "family_name": "Example", "name": "Ada Example",
   "verified_user": true, "email": "noc@example.net", "verified_email": true,
   "networks": [
     {"id": 20, "name": "Example Net", "asn": 64500, "perms": 15, "manage_peering_sessions": 15},
     {"id": 31, "name": "Example Transit", "asn": 64501, "perms": 1, "manage_peering_sessions": 0},
     {"id": 32, "name": "Updater", "asn": 64502, "perms": 3, "manage_peering_sessions": 1},
     {"id": 33, "name": "Bogus", "asn": 0, "perms": 15, "manage_peering_sessions": 15}]}"#;

    fn settings(required: u32, mps: bool) -> PeeringDbSettings {
        PeeringDbSettings {
            required_perms: required,
            use_manage_peering_sessions: mps,
            ..PeeringDbSettings::default()
        }
    }

    fn set(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    #[test]
    fn parses_the_real_shape() {
        let p: Profile = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(p.id, 1234);
        assert_eq!(p.principal(), "pdb:1234");
        assert_eq!(p.networks.len(), 4);
        // without the networks scope there is no list
        let p: Profile = serde_json::from_str(r#"{"id": 5, "name": "x"}"#).unwrap();
        assert!(p.networks.is_empty());
    }

    #[test]
    fn perms_filtering() {
        let p: Profile = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(
            allowed_asns(&p, &settings(0, false)),
            set(&[64500, 64501, 64502])
        );
        assert_eq!(allowed_asns(&p, &settings(2, false)), set(&[64500, 64502]));
        assert_eq!(allowed_asns(&p, &settings(15, false)), set(&[64500]));
        assert_eq!(allowed_asns(&p, &settings(0, true)), set(&[64500, 64502]));
        assert_eq!(allowed_asns(&p, &settings(2, true)), set(&[64500]));
    }
}
