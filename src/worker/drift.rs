//! What drift is: a finding about one session's neighbor in the running
//! config (missing, or changed by hand), and the suspicion the poller keeps
//! until a second read confirms it.

use crate::model::Session;
use crate::platform::ObservedNeighbor;

/// What the running config says about one session's neighbor, when it is
/// not what peerd configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Finding {
    Missing,
    /// What differs, e.g. `remote-as 65099, expected 65002`.
    Differs(String),
}

/// Drift seen on one poll, waiting for the next poll to see it again.
#[derive(Clone, Debug)]
pub(super) struct Suspect {
    pub(super) router: String,
    pub(super) updated_ms: u64,
    pub(super) finding: Finding,
}

/// What differs between the session and its neighbor on the router, as far
/// as the read shows (an unknown peer AS or secret is not judged).
pub(super) fn differences(s: &Session, o: &ObservedNeighbor) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = o.peer_as.filter(|a| *a != s.local_asn.0) {
        out.push(format!("remote-as {a}, expected {}", s.local_asn.0));
    }
    match (o.has_secret, s.session_secret.is_some()) {
        (Some(true), false) => out.push("a password, expected none".into()),
        (Some(false), true) => out.push("no password, expected one".into()),
        _ => {}
    }
    out
}
