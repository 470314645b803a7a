//! Checks on what a remote answered, and the checked views the asking side
//! works with. Values that decide something (ids, status strings, the
//! ASNs and addresses of a session) are refused unless they are short and
//! plain; free text (a `status_detail`, an error message) is neutralised:
//! control characters and the characters no template or log line should
//! see become spaces, and it is cut to [`DETAIL_MAX`] characters.

use super::RemoteError;
use crate::wire::remote::{RemoteSession, V0RemoteSession};
use std::net::IpAddr;

/// Longest remote id kept (`session_id`, `request_id`, `uuid`).
pub const ID_MAX: usize = 64;
/// Longest remote status kept.
pub const STATUS_MAX: usize = 32;
/// Longest free text kept from a remote.
pub const DETAIL_MAX: usize = 300;
/// Longest location id.
pub const LOCATION_MAX: usize = 32;
/// Most sessions read from one answer (more is refused as malformed).
pub const MAX_SESSIONS: usize = 1000;
/// Most locations read from one answer.
pub const MAX_LOCATIONS: usize = 1000;

/// A session as the remote reports it, checked, oriented to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteView {
    /// Its id for the session (draft `session_id`, v0 `uuid`).
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    /// Our address and theirs, whichever way round the remote wrote them.
    pub our_ip: IpAddr,
    pub their_ip: IpAddr,
    pub location: String,
    pub status: Option<String>,
    pub detail: Option<String>,
}

/// `s` if it has 1 to `max` bytes, each one `ok` allows; else the error
/// names `field` and says what is allowed (`what`).
fn check_chars(
    field: &str,
    s: &str,
    max: usize,
    ok: impl Fn(u8) -> bool,
    what: &str,
) -> Result<String, String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("{field}: must be 1 to {max} characters"));
    }
    if !s.bytes().all(ok) {
        return Err(format!("{field}: may hold only {what}"));
    }
    Ok(s.to_string())
}

fn id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._:-".contains(&b)
}

/// An id: 1 to [`ID_MAX`] of `A-Z a-z 0-9 . _ : -`.
pub fn check_id(field: &str, s: &str) -> Result<String, String> {
    check_chars(field, s, ID_MAX, id_byte, "letters, digits and . _ : -")
}

/// A status: 1 to [`STATUS_MAX`] letters, digits, spaces, `_` or `-`.
pub fn check_status(field: &str, s: &str) -> Result<String, String> {
    check_chars(
        field,
        s,
        STATUS_MAX,
        |b| b.is_ascii_alphanumeric() || b" _-".contains(&b),
        "letters, digits, spaces, _ and -",
    )
}

/// A location id: `pdb:ix:<digits>` or another id of at most
/// [`LOCATION_MAX`] plain characters.
pub fn check_location(field: &str, s: &str) -> Result<String, String> {
    check_chars(
        field,
        s,
        LOCATION_MAX,
        id_byte,
        "letters, digits and . _ : -",
    )
}

/// Free text from a remote made harmless: printable ASCII, none of
/// `" ' { } ; \ < > ` $`, single spaces, at most [`DETAIL_MAX`] characters.
pub fn neutral_text(s: &str) -> String {
    let mut out = String::new();
    let mut last_space = true;
    for c in s.chars() {
        if out.len() >= DETAIL_MAX {
            out.push_str("...");
            break;
        }
        let keep = c.is_ascii_graphic() && !"\"'{};\\<>`$".contains(c);
        if keep {
            out.push(c);
            last_space = false;
        } else if !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    out.trim_end().to_string()
}

fn opt(
    field: &str,
    v: &Option<String>,
    f: fn(&str, &str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => f(field, s).map(Some),
    }
}

/// Orients a session to us: one side must be our ASN, the other the
/// remote's. `(our_ip, their_ip)`.
fn orient(
    path: &str,
    ours: u32,
    theirs: u32,
    (la, li): (u32, IpAddr),
    (pa, pi): (u32, IpAddr),
) -> Result<(IpAddr, IpAddr), String> {
    let (o, t) = if la == ours && pa == theirs {
        (li, pi)
    } else if pa == ours && la == theirs {
        (pi, li)
    } else {
        return Err(format!(
            "{path}: is a session between AS{la} and AS{pa}, not between AS{ours} and AS{theirs}"
        ));
    };
    if o == t || o.is_ipv4() != t.is_ipv4() {
        return Err(format!(
            "{path}: its two addresses are not a pair of one family"
        ));
    }
    Ok((o, t))
}

impl RemoteView {
    /// A draft session (item `path` of the answer), checked.
    pub fn from_draft(
        path: &str,
        s: &RemoteSession,
        ours: u32,
        theirs: u32,
    ) -> Result<RemoteView, String> {
        let (our_ip, their_ip) = orient(
            path,
            ours,
            theirs,
            (s.local_asn, s.local_ip),
            (s.peer_asn, s.peer_ip),
        )?;
        Ok(RemoteView {
            session_id: opt(&format!("{path}.session_id"), &s.session_id, check_id)?,
            request_id: opt(&format!("{path}.request_id"), &s.request_id, check_id)?,
            our_ip,
            their_ip,
            location: check_location(&format!("{path}.location.id"), &s.location.id)?,
            status: opt(&format!("{path}.status"), &s.status, check_status)?,
            detail: s
                .status_detail
                .as_deref()
                .map(neutral_text)
                .filter(|d| !d.is_empty()),
        })
    }

    /// A v0 session (item `path`), checked; `request_id` is the answer's.
    pub fn from_v0(
        path: &str,
        s: &V0RemoteSession,
        request_id: Option<String>,
        ours: u32,
        theirs: u32,
    ) -> Result<RemoteView, String> {
        let (our_ip, their_ip) = orient(
            path,
            ours,
            theirs,
            (s.local_asn, s.local_ip),
            (s.peer_asn, s.peer_ip),
        )?;
        Ok(RemoteView {
            session_id: opt(&format!("{path}.uuid"), &s.uuid, check_id)?,
            request_id,
            our_ip,
            their_ip,
            location: check_location(&format!("{path}.location.id"), &s.location.id)?,
            status: opt(&format!("{path}.status"), &s.status, check_status)?,
            detail: None,
        })
    }

    /// True when this is the session between `our_ip` and `their_ip`.
    pub fn is_pair(&self, our_ip: IpAddr, their_ip: IpAddr) -> bool {
        self.our_ip == our_ip && self.their_ip == their_ip
    }
}

/// Checks every session of an answer; the first problem refuses it all.
pub fn views<T>(
    items: &[T],
    mut one: impl FnMut(&str, &T) -> Result<RemoteView, String>,
) -> Result<Vec<RemoteView>, RemoteError> {
    if items.len() > MAX_SESSIONS {
        return Err(RemoteError::Malformed(format!(
            "{} sessions in one answer (at most {MAX_SESSIONS} are read)",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| one(&format!("sessions[{i}]"), s))
        .collect::<Result<_, _>>()
        .map_err(RemoteError::Malformed)
}
