//! Approval policy: what happens to a valid session request.
//!
//! [`decide`] applies the inventory's [`Policy`] to a [`ValidSession`] (the
//! requester is its `local_asn`) in this order:
//!
//! 1. the requester is on `deny_asns` -> [`Decision::Reject`];
//! 2. `allow_asns` is non-empty and the requester is not on it ->
//!    [`Decision::Reject`];
//! 3. `approval: auto` -> [`Decision::Approve`] (queued at once);
//! 4. `approval: manual` -> [`Decision::Pending`] (waits for an operator).
//!
//! Why this order: the ASN lists are hard limits the operator wrote down,
//! so they hold whatever the approval mode. Deny comes first, so an ASN on
//! both lists is refused (the safe reading of a contradiction). Checking
//! the lists before the mode also keeps the operator's queue free of
//! requests that policy would refuse anyway. Private-use and reserved ASNs
//! never get here: validation refuses them.
//!
//! With PeeringDB data, [`pdb`] adds the session's max-prefix limit and
//! turns an automatic approval into `Pending` when the requester's
//! `policy_general` is not one `peeringdb.policy_general_allowed` accepts.

pub mod pdb;

use crate::inventory::{Approval, Policy};
use crate::validate::ValidSession;

/// The outcome for one valid session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Goes to `Approved` and is queued for provisioning.
    Approve,
    /// Goes to `Pending` and waits for an operator.
    Pending,
    /// Refused; the reason is for `status_detail` and the peer (it never
    /// holds anything but the ASN).
    Reject(String),
}

/// Applies `policy` to `s` (see the module doc for the order).
pub fn decide(policy: &Policy, s: &ValidSession) -> Decision {
    let asn = s.local_asn.0;
    if policy.deny_asns.contains(&asn) {
        return Decision::Reject(format!(
            "AS{asn} is not accepted by this network's peering policy"
        ));
    }
    if !policy.allow_asns.is_empty() && !policy.allow_asns.contains(&asn) {
        return Decision::Reject(format!(
            "AS{asn} is not on this network's list of accepted peers"
        ));
    }
    match policy.approval {
        Approval::Auto => Decision::Approve,
        Approval::Manual => Decision::Pending,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Asn, LocationRef, LocationType};

    pub(crate) fn session(asn: u32) -> ValidSession {
        ValidSession {
            local_asn: Asn(asn),
            local_ip: "192.0.2.2".parse().unwrap(),
            peer_asn: Asn(65001),
            peer_ip: "192.0.2.1".parse().unwrap(),
            local_bgp_role: None,
            peer_bgp_role: None,
            local_insert_asn: true,
            peer_insert_asn: true,
            local_monitoring_session: false,
            peer_monitoring_session: false,
            peer_type: LocationType::Public,
            session_secret: None,
            location: LocationRef {
                id: "pdb:ix:42".into(),
                kind: LocationType::Public,
            },
            router: "rtr1".into(),
            flipped: false,
        }
    }

    fn policy(approval: Approval, allow: &[u32], deny: &[u32]) -> Policy {
        Policy {
            approval,
            allow_asns: allow.to_vec(),
            deny_asns: deny.to_vec(),
            ..Policy::default()
        }
    }

    #[test]
    fn approval_mode_decides_when_lists_are_empty() {
        let s = session(65002);
        assert_eq!(
            decide(&policy(Approval::Auto, &[], &[]), &s),
            Decision::Approve
        );
        assert_eq!(
            decide(&policy(Approval::Manual, &[], &[]), &s),
            Decision::Pending
        );
    }

    #[test]
    fn deny_list_rejects_in_both_modes() {
        let s = session(65002);
        for mode in [Approval::Auto, Approval::Manual] {
            let d = decide(&policy(mode, &[], &[65002]), &s);
            assert!(
                matches!(&d, Decision::Reject(r) if r.contains("AS65002")),
                "{d:?}"
            );
            // other ASNs are unaffected
            assert!(!matches!(
                decide(&policy(mode, &[], &[65003]), &s),
                Decision::Reject(_)
            ));
        }
    }

    #[test]
    fn allow_list_gates() {
        let s = session(65002);
        assert!(matches!(
            decide(&policy(Approval::Auto, &[65003], &[]), &s),
            Decision::Reject(_)
        ));
        assert_eq!(
            decide(&policy(Approval::Auto, &[65002, 65003], &[]), &s),
            Decision::Approve
        );
        assert_eq!(
            decide(&policy(Approval::Manual, &[65002], &[]), &s),
            Decision::Pending
        );
    }

    #[test]
    fn deny_wins_over_allow() {
        let s = session(65002);
        assert!(matches!(
            decide(&policy(Approval::Auto, &[65002], &[65002]), &s),
            Decision::Reject(_)
        ));
    }
}
