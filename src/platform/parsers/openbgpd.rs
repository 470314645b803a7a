//! OpenBGPD parser: `bgpctl -j show summary` (the profile's read) or
//! `bgpctl -j show neighbor` (the same list, long form), used both to verify
//! (every neighbor of the running bgpd, from any file, with its remote AS)
//! and for state (`state`). Neither shows whether a neighbor has a TCP-MD5
//! password, so `has_secret` stays unknown.

use super::common::{merge_into, parse_addr, router_words, ObservedNeighbor};
use serde_json::Value;

/// `{"neighbors":[{"remote_addr":"192.0.2.2","remote_as":"65002",
/// "state":"Established","config":{"template":false,...},...}]}`.
///
/// bgpd answers `{"status":"FAILED","error":"no such neighbor"}` when it
/// has no neighbor at all: that is an empty list. Any other failure is an
/// error, so a broken answer never reads as "no neighbors". Templates
/// (`neighbor 192.0.2.0/24 { ... }`) have a prefix, not an address, and are
/// left out; the neighbors bgpd clones from them are listed.
pub(super) fn neighbors_json(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let v: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("not JSON ({e}): {}", router_words(text, "")))?;
    let Some(list) = v.get("neighbors") else {
        return match (
            v.get("status").and_then(Value::as_str),
            v.get("error").and_then(Value::as_str),
        ) {
            (Some("FAILED"), Some("no such neighbor")) => Ok(Vec::new()),
            (_, Some(e)) => Err(format!("bgpctl: {}", router_words(e, ""))),
            _ => Err("not a `bgpctl -j show summary` answer (no \"neighbors\")".into()),
        };
    };
    let list = list
        .as_array()
        .ok_or("\"neighbors\" is not a list in the bgpctl answer")?;
    let mut out = Vec::new();
    for n in list {
        let template = n
            .pointer("/config/template")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let Some(ip) = n
            .get("remote_addr")
            .and_then(Value::as_str)
            .and_then(parse_addr)
        else {
            continue;
        };
        if template {
            continue;
        }
        let peer_as = match n.get("remote_as") {
            Some(Value::String(s)) => s.trim().parse::<u32>().ok(),
            Some(Value::Number(x)) => x.as_u64().and_then(|a| u32::try_from(a).ok()),
            _ => None,
        }
        .filter(|a| *a != 0);
        let state = n.get("state").and_then(Value::as_str).map(str::to_string);
        let established = state.as_deref().map(|s| s == "Established");
        merge_into(
            &mut out,
            ObservedNeighbor {
                peer_as,
                state,
                established,
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

    /// Captured from OpenBGPD 7.7 in the lab: three peerd neighbors up with
    /// the BIRD peers (one with TCP-MD5), a neighbor configured by hand in a
    /// group (remote-as from the group, password set), and a template.
    #[test]
    fn neighbors_from_openbgpd_7_7() {
        let v = neighbors_json(include_str!("testdata/openbgpd-neighbors.json")).unwrap();
        assert_eq!(v.len(), 4, "{v:?}");
        for ip in ["192.0.2.2", "192.0.2.3", "2001:db8::2"] {
            let n = find(&v, ip);
            assert_eq!(n.established, Some(true), "{n:?}");
            assert_eq!(n.state.as_deref(), Some("Established"));
        }
        assert_eq!(find(&v, "192.0.2.3").peer_as, Some(65003));
        assert_eq!(find(&v, "2001:db8::2").peer_as, Some(65002));
        let hand = find(&v, "192.0.2.99");
        assert_eq!(hand.peer_as, Some(65099), "the group's remote-as");
        assert_eq!(hand.established, Some(false));
        assert_eq!(hand.state.as_deref(), Some("Connect"));
        assert!(v.iter().all(|n| n.has_secret.is_none()), "not shown");
        assert!(
            !v.iter()
                .any(|n| n.address.to_string().starts_with("198.51.100.")),
            "a template is not a neighbor"
        );
    }

    /// The same router as `show summary` (the profile's read).
    #[test]
    fn summary_from_openbgpd_7_7() {
        let text = include_str!("testdata/openbgpd-summary.json");
        let short = neighbors_json(text).unwrap();
        let long = neighbors_json(include_str!("testdata/openbgpd-neighbors.json")).unwrap();
        let strip = |v: &[ObservedNeighbor]| -> Vec<(String, Option<u32>, Option<bool>)> {
            v.iter()
                .map(|n| (n.address.to_string(), n.peer_as, n.established))
                .collect()
        };
        assert_eq!(strip(&short), strip(&long));
        assert_eq!(find(&short, "192.0.2.99").state.as_deref(), Some("Active"));
    }

    #[test]
    fn no_neighbor_is_an_empty_list_and_other_failures_are_errors() {
        // bgpd 7.7's answer when it has no neighbor at all
        let none = "{\n\t\"status\": \"FAILED\",\n\t\"error\": \"no such neighbor\"\n}\n";
        assert!(neighbors_json(none).unwrap().is_empty());
        assert!(neighbors_json("{\"neighbors\":[]}").unwrap().is_empty());
        let e =
            neighbors_json("{\"status\":\"FAILED\",\"error\":\"permission denied\"}").unwrap_err();
        assert!(e.contains("permission denied"), "{e}");
        let e = neighbors_json("bgpctl: connect: /run/x.sock: No such file or directory\n")
            .unwrap_err();
        assert!(e.contains("No such file"), "{e}");
        assert!(neighbors_json("{}").is_err());
        assert!(neighbors_json("").is_err());
    }

    #[test]
    fn remote_as_as_a_number_too() {
        let t = r#"{"neighbors":[{"remote_addr":"192.0.2.7","remote_as":65007,"state":"Idle"}]}"#;
        let v = neighbors_json(t).unwrap();
        assert_eq!((v[0].peer_as, v[0].established), (Some(65007), Some(false)));
    }
}
