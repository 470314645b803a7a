//! GoBGP parser: `gobgp neighbor -j`, used both to verify (every neighbor
//! of the running gobgpd, from its config file or the API, with its peer
//! AS and whether it has a TCP-MD5 password) and for state
//! (`state.session_state`).
//!
//! The answer holds a configured password in clear (`conf.auth_password`):
//! only its presence is kept, and no error message quotes the answer.

use super::common::{merge_into, parse_addr, router_words, ObservedNeighbor};
use serde_json::Value;

/// GoBGP's session states (`apipb.PeerState_SessionState`).
fn state_name(v: &Value) -> Option<String> {
    let name = match v {
        Value::Number(n) => match n.as_u64()? {
            1 => "Idle",
            2 => "Connect",
            3 => "Active",
            4 => "OpenSent",
            5 => "OpenConfirm",
            6 => "Established",
            _ => "Unknown",
        },
        Value::String(s) => match s.to_ascii_uppercase().as_str() {
            "IDLE" => "Idle",
            "CONNECT" => "Connect",
            "ACTIVE" => "Active",
            "OPENSENT" => "OpenSent",
            "OPENCONFIRM" => "OpenConfirm",
            "ESTABLISHED" => "Established",
            _ => "Unknown",
        },
        _ => return None,
    };
    Some(name.to_string())
}

fn asn(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|a| u32::try_from(a).ok())
        .filter(|a| *a != 0)
}

/// `[{"conf":{"neighbor_address":"192.0.2.2","peer_asn":65002,
/// "auth_password":"..."},"state":{"session_state":6,...},...}]`; `[]`
/// (or `null`) when gobgpd has no neighbor. A neighbor known only by its
/// interface (unnumbered BGP) has no address and is left out.
pub(super) fn neighbors_json(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let t = text.trim();
    let v: Value = match serde_json::from_str(t) {
        Ok(v) => v,
        // serde's message names a line and column, never the text
        Err(e) if t.starts_with('[') || t.starts_with('{') => {
            return Err(format!("not a `gobgp neighbor -j` answer: {e}"))
        }
        Err(_) => return Err(format!("not JSON: {}", router_words(text, ""))),
    };
    let list = match &v {
        Value::Array(l) => l.as_slice(),
        Value::Null => &[],
        _ => return Err("not a `gobgp neighbor -j` answer (expected a list)".into()),
    };
    let mut out = Vec::new();
    for n in list {
        let addr = n
            .pointer("/conf/neighbor_address")
            .or_else(|| n.pointer("/state/neighbor_address"))
            .and_then(Value::as_str)
            .and_then(parse_addr);
        let Some(ip) = addr else { continue };
        let peer_as = asn(n.pointer("/conf/peer_asn")).or(asn(n.pointer("/state/peer_asn")));
        let has_secret = n
            .pointer("/conf/auth_password")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty());
        // an absent session_state is 0 (omitted when empty): unknown
        let state = n
            .pointer("/state/session_state")
            .and_then(state_name)
            .or_else(|| Some("Unknown".to_string()));
        let established = state.as_deref().map(|s| s == "Established");
        merge_into(
            &mut out,
            ObservedNeighbor {
                peer_as,
                state,
                established,
                has_secret: Some(has_secret),
                ..ObservedNeighbor::new(ip)
            },
        );
    }
    out.sort_by_key(|n| n.address);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::common::find;
    use super::*;

    /// Captured from GoBGP 3.10 in the lab: two neighbors added with the
    /// CLI, Established with the BIRD peer over IPv4 and IPv6.
    #[test]
    fn established_from_gobgp_3_10() {
        let v = neighbors_json(include_str!("testdata/gobgp-neighbors-established.json")).unwrap();
        assert_eq!(v.len(), 2);
        for ip in ["192.0.2.2", "2001:db8::2"] {
            let n = find(&v, ip);
            assert_eq!(n.peer_as, Some(65002));
            assert_eq!(n.state.as_deref(), Some("Established"));
            assert_eq!(n.established, Some(true));
            assert_eq!(n.has_secret, Some(false));
        }
    }

    /// GoBGP 3.10: a neighbor from gobgpd's config file with a password and
    /// a description, and two added with the CLI; none up.
    #[test]
    fn configured_by_hand_with_a_password() {
        let text = include_str!("testdata/gobgp-neighbors-hand.json");
        assert!(text.contains("handsecret"), "the answer shows the password");
        let v = neighbors_json(text).unwrap();
        assert_eq!(v.len(), 3);
        let hand = find(&v, "192.0.2.99");
        assert_eq!(hand.peer_as, Some(65099));
        assert_eq!(hand.has_secret, Some(true));
        assert_eq!(hand.state.as_deref(), Some("Active"));
        assert_eq!(hand.established, Some(false));
        assert!(!format!("{v:?}").contains("handsecret"));
        assert_eq!(find(&v, "2001:db8::98").has_secret, Some(false));
    }

    #[test]
    fn empty_and_broken_answers() {
        assert!(neighbors_json("[]\n").unwrap().is_empty());
        assert!(neighbors_json("null").unwrap().is_empty());
        let e = neighbors_json("context deadline exceeded\n").unwrap_err();
        assert!(e.contains("deadline"), "{e}");
        // a cut-off answer: the error does not quote it (it may hold a password)
        let cut = r#"[{"conf":{"auth_password":"handsecret","neighbor_address":"192.0.2.99""#;
        let e = neighbors_json(cut).unwrap_err();
        assert!(!e.contains("handsecret"), "{e}");
        assert!(neighbors_json("{\"x\":1}").is_err());
    }

    #[test]
    fn states_by_number_and_by_name() {
        let t = r#"[{"conf":{"neighbor_address":"192.0.2.7","peer_asn":65007},"state":{"session_state":"ESTABLISHED"}},
                    {"conf":{"neighbor_address":"192.0.2.8","peer_asn":65008},"state":{"session_state":1}},
                    {"conf":{"neighbor_address":"192.0.2.9","peer_asn":65009},"state":{}},
                    {"conf":{"neighbor_interface":"eth0","peer_asn":65010}}]"#;
        let v = neighbors_json(t).unwrap();
        assert_eq!(v.len(), 3, "the interface neighbor has no address");
        assert_eq!(find(&v, "192.0.2.7").established, Some(true));
        assert_eq!(find(&v, "192.0.2.8").state.as_deref(), Some("Idle"));
        assert_eq!(find(&v, "192.0.2.9").established, Some(false));
    }
}
