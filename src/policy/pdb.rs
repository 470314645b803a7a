//! What PeeringDB data adds to the handling of a valid session: its
//! max-prefix limit and the `policy_general` gate on automatic approval.
//! Pure functions of the snapshot and the settings.

use crate::config::PeeringDbSettings;
use crate::peeringdb::{Family, Snapshot};
use crate::validate::ValidSession;

/// The session's prefix limit: the requester's published
/// `info_prefixes4`/`info_prefixes6` (by the session's family) plus
/// `max_prefix_margin_percent` (rounded up), plus `max_prefix_margin_abs`.
/// `None` when the network publishes none. (An operator's per-peer
/// override, `policy.max_prefix_overrides`, is applied when rendering.)
pub fn max_prefix(snap: &Snapshot, s: &ValidSession, settings: &PeeringDbSettings) -> Option<u32> {
    snap.max_prefix(
        s.local_asn.0,
        Family::of(s.local_ip),
        settings.max_prefix_margin_percent,
    )
    .map(|n| n.saturating_add(settings.max_prefix_margin_abs))
}

/// Why an automatic approval of `asn` must wait for an operator, if it
/// must: `policy_general_allowed` is set and the network's `policy_general`
/// is not on it (or it publishes none). `None` = no objection.
pub fn policy_general_hold(
    snap: &Snapshot,
    settings: &PeeringDbSettings,
    asn: u32,
) -> Option<String> {
    if settings.policy_general_allowed.is_empty() {
        return None;
    }
    let allowed = settings.policy_general_allowed.join(", ");
    match snap.policy_general(asn) {
        Some(v) if settings.policy_general_allows(v) => None,
        Some(v) => Some(format!(
            "AS{asn}'s PeeringDB policy_general is {}; automatic approval needs one of {allowed}; an operator decides",
            clean(v)
        )),
        None => Some(format!(
            "AS{asn} publishes no policy_general in PeeringDB; automatic approval needs one of {allowed}; an operator decides"
        )),
    }
}

/// A PeeringDB value fit for a status line: letters, digits and spaces,
/// at most 32 of them.
fn clean(v: &str) -> String {
    v.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests;
