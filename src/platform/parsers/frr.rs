//! FRR parsers: `show running-config bgpd` (verify) and the JSON of
//! `show bgp neighbors json` / `show bgp summary json` (state).

use super::common::{merge_into, parse_addr, router_words, DownReason, ObservedNeighbor};
use std::collections::{HashMap, HashSet};

/// Neighbors of the default-VRF `router bgp` block with their remote-as
/// (a peer-group member inherits the group's; `external`/`internal`
/// leave it unknown) and whether they have a password (own or the
/// group's; the password itself is never kept).
///
/// An answer without bgpd's part is refused: vtysh answers
/// `show running-config bgpd` with its own lines only (exit status 0) when
/// bgpd is not running, which must not read as "no neighbors".
pub(super) fn running_config(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let looks_right = text.lines().any(|l| {
        l.starts_with("Current configuration")
            || l.starts_with("frr version")
            || l.starts_with("router bgp")
    });
    if !looks_right {
        return Err(format!(
            "not an FRR running-config: {}",
            router_words(text, "")
        ));
    }
    let from_bgpd = text
        .lines()
        .any(|l| l.starts_with("frr version") || l.starts_with("router bgp"));
    if !from_bgpd {
        return Err("the running-config has no part from bgpd (is bgpd running?)".into());
    }
    let mut in_bgp = false;
    let mut own_as: Vec<(String, Option<u32>)> = Vec::new();
    let mut groups: HashMap<String, Option<u32>> = HashMap::new();
    let mut member_of: HashMap<String, String> = HashMap::new();
    let mut with_password: HashSet<String> = HashSet::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            // A top-level line opens or closes a block.
            in_bgp = line.starts_with("router bgp ")
                && !line.contains(" vrf ")
                && !line.contains(" view ");
            continue;
        }
        if !in_bgp {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.first() != Some(&"neighbor") || t.len() < 3 {
            continue;
        }
        let who = t[1].to_string();
        match (t[2], t.get(3)) {
            ("remote-as", Some(asn)) => {
                let asn = asn.parse::<u32>().ok();
                if parse_addr(&who).is_some() {
                    own_as.push((who, asn));
                } else {
                    groups.insert(who, asn);
                }
            }
            ("peer-group", None) => {
                groups.entry(who).or_insert(None);
            }
            ("peer-group", Some(g)) => {
                member_of.insert(who, g.to_string());
            }
            ("password", Some(_)) => {
                with_password.insert(who);
            }
            _ => {}
        }
    }
    let secret = |who: &str, group: Option<&String>| {
        Some(with_password.contains(who) || group.is_some_and(|g| with_password.contains(g)))
    };
    let mut out = Vec::new();
    for (who, asn) in &own_as {
        if let Some(ip) = parse_addr(who) {
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as: *asn,
                    has_secret: secret(who, member_of.get(who)),
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    for (who, g) in &member_of {
        if let Some(ip) = parse_addr(who) {
            let asn = groups.get(g).copied().flatten();
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as: asn,
                    has_secret: secret(who, Some(g)),
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    out.sort_by_key(|n| n.address);
    Ok(out)
}

fn parse_json(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(text.trim()) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e}): {}", router_words(text, ""))),
    }
}

fn state_of(state: Option<&str>) -> (Option<String>, Option<bool>) {
    match state {
        Some(s) => (Some(s.to_string()), Some(s == "Established")),
        None => (None, None),
    }
}

/// `show bgp neighbors json`: `{ "<addr>": { "remoteAs": N, "bgpState": "..." } }`.
pub(super) fn neighbors_json(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let m = parse_json(text)?;
    let mut out = Vec::new();
    for (k, v) in &m {
        let Some(ip) = parse_addr(k) else { continue };
        let asn = v
            .get("remoteAs")
            .and_then(|a| a.as_u64())
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a != 0);
        let (state, established) = state_of(v.get("bgpState").and_then(|s| s.as_str()));
        let down_reason = if established == Some(true) {
            None
        } else {
            down_reason(v)
        };
        merge_into(
            &mut out,
            ObservedNeighbor {
                peer_as: asn,
                state,
                established,
                down_reason,
                ..ObservedNeighbor::new(ip)
            },
        );
    }
    out.sort_by_key(|n| n.address);
    Ok(out)
}

/// Why a neighbor of `show bgp neighbors json` is down, in the words peerd
/// knows: the prefix overflow flag (`prefixesConfigExceedMax`), the last
/// reset (FRR 8.4: "Max prefix received") or the last NOTIFICATION (Cease
/// subcode 1: "Cease/Maximum Number of Prefixes Reached").
fn down_reason(v: &serde_json::Value) -> Option<DownReason> {
    let text = |k: &str| {
        v.get(k)
            .and_then(|s| s.as_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    let flagged = v.get("prefixesConfigExceedMax").and_then(|b| b.as_bool()) == Some(true);
    let reset = text("lastResetDueTo");
    let notified = text("lastNotificationReason");
    (flagged || reset.contains("max prefix") || notified.contains("maximum number of prefixes"))
        .then_some(DownReason::MaxPrefix)
}

/// `show bgp summary json`: per address family, `peers.<addr>.state`.
pub(super) fn summary_json(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let m = parse_json(text)?;
    let mut out = Vec::new();
    for af in m.values() {
        let Some(peers) = af.get("peers").and_then(|p| p.as_object()) else {
            continue;
        };
        for (k, v) in peers {
            let Some(ip) = parse_addr(k) else { continue };
            let asn = v
                .get("remoteAs")
                .and_then(|a| a.as_u64())
                .and_then(|a| u32::try_from(a).ok())
                .filter(|a| *a != 0);
            let (state, established) = state_of(v.get("state").and_then(|s| s.as_str()));
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as: asn,
                    state,
                    established,
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    out.sort_by_key(|n| n.address);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::common::find;
    use super::*;

    #[test]
    fn running_config_from_frr_8_4() {
        let v = running_config(include_str!("testdata/frr-running.txt")).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(find(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(find(&v, "192.0.2.3").peer_as, Some(65003));
        assert_eq!(find(&v, "2001:db8::2").peer_as, Some(65002));
    }

    #[test]
    fn running_config_peer_groups_vrfs_and_external() {
        let v = running_config(include_str!("testdata/frr-running-peergroup.txt")).unwrap();
        assert_eq!(
            find(&v, "192.0.2.5").peer_as,
            Some(65005),
            "inherits the group's AS"
        );
        assert_eq!(find(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(find(&v, "192.0.2.6").peer_as, None, "remote-as external");
        assert!(
            !v.iter().any(|n| n.address.to_string() == "192.0.2.7"),
            "neighbors of other VRFs are not ours"
        );
    }

    #[test]
    fn running_config_without_neighbors() {
        let v = running_config(include_str!("testdata/frr-running-empty.txt")).unwrap();
        assert!(v.is_empty());
    }

    #[test]
    fn running_config_shows_whether_a_password_is_set() {
        let v = running_config(include_str!("testdata/frr-running.txt")).unwrap();
        assert_eq!(find(&v, "192.0.2.2").has_secret, Some(false));
        assert_eq!(find(&v, "192.0.2.3").has_secret, Some(true));
        assert!(!format!("{v:?}").contains("lab-md5-secret"));
        // captured from FRR 8.4: a group's password is its members'
        let text = "Current configuration:\n!\nfrr version 8.4.4\n!\nrouter bgp 65001\n \
                    neighbor PG peer-group\n neighbor PG remote-as 65078\n neighbor PG password grp\n \
                    neighbor 192.0.2.78 peer-group PG\n neighbor 192.0.2.77 remote-as 65077\n\
                    exit\n!\nend\n";
        let v = running_config(text).unwrap();
        assert_eq!(find(&v, "192.0.2.78").has_secret, Some(true));
        assert_eq!(find(&v, "192.0.2.77").has_secret, Some(false));
    }

    /// FRR 8.4 tears a session down on its limit with a Cease/1
    /// NOTIFICATION (the captured frr-neighbors-mixed.json with the Idle
    /// neighbor's last NOTIFICATION set to FRR's words for it); newer FRR
    /// also flags `prefixesConfigExceedMax`, and older ones reset with
    /// "Max prefix received".
    #[test]
    fn neighbors_json_max_prefix_down() {
        let v = neighbors_json(include_str!("testdata/frr-neighbors-maxprefix.json")).unwrap();
        assert_eq!(
            find(&v, "192.0.2.2").down_reason,
            Some(DownReason::MaxPrefix)
        );
        assert!(v
            .iter()
            .filter(|n| n.address.to_string() != "192.0.2.2")
            .all(|n| n.down_reason.is_none()));
        let v = neighbors_json(include_str!("testdata/frr-neighbors-mixed.json")).unwrap();
        assert!(v.iter().all(|n| n.down_reason.is_none()), "{v:?}");
        for extra in [
            r#""prefixesConfigExceedMax":true"#,
            r#""lastResetDueTo":"Max prefix received""#,
        ] {
            let t = format!(r#"{{"192.0.2.5":{{"remoteAs":65005,"bgpState":"Idle",{extra}}}}}"#);
            let v = neighbors_json(&t).unwrap();
            assert_eq!(v[0].down_reason, Some(DownReason::MaxPrefix), "{extra}");
        }
        // an established session has no down reason, whatever its history
        let t = r#"{"192.0.2.5":{"remoteAs":65005,"bgpState":"Established","lastResetDueTo":"Max prefix received"}}"#;
        assert_eq!(neighbors_json(t).unwrap()[0].down_reason, None);
    }

    #[test]
    fn running_config_without_bgpd_is_not_an_empty_config() {
        // vtysh's answer (exit status 0) while bgpd is not running, FRR 8.4
        let text = "Building configuration...\n\nCurrent configuration:\n!\nhostname rtr\n\
                    service integrated-vtysh-config\n!\nend\n";
        let e = running_config(text).unwrap_err();
        assert!(e.contains("is bgpd running"), "{e}");
    }

    #[test]
    fn running_config_refuses_an_error_message() {
        let e = running_config("% Unknown command: show running-config bgpdd\n").unwrap_err();
        assert!(e.contains("Unknown command"), "{e}");
    }

    #[test]
    fn neighbors_json_states() {
        let v = neighbors_json(include_str!("testdata/frr-neighbors-mixed.json")).unwrap();
        let n = find(&v, "192.0.2.3");
        assert_eq!((n.peer_as, n.established), (Some(65003), Some(true)));
        assert_eq!(n.state.as_deref(), Some("Established"));
        let n = find(&v, "192.0.2.9");
        assert_eq!((n.peer_as, n.established), (Some(65009), Some(false)));
        assert_eq!(n.state.as_deref(), Some("Connect"));
        assert_eq!(find(&v, "192.0.2.2").state.as_deref(), Some("Idle"));
        assert_eq!(find(&v, "2001:db8::2").established, Some(true));
    }

    #[test]
    fn neighbors_json_peer_group_member_and_external() {
        let v = neighbors_json(include_str!("testdata/frr-neighbors-peergroup.json")).unwrap();
        assert_eq!(find(&v, "192.0.2.5").peer_as, Some(65005));
        assert_eq!(
            find(&v, "192.0.2.6").peer_as,
            None,
            "remoteAs 0 = not known yet"
        );
    }

    #[test]
    fn empty_answers() {
        assert!(
            neighbors_json(include_str!("testdata/frr-neighbors-empty.json"))
                .unwrap()
                .is_empty()
        );
        assert!(summary_json("{}").unwrap().is_empty());
        assert!(neighbors_json("{\"bgpNoSuchNeighbor\":true}")
            .unwrap()
            .is_empty());
        assert!(neighbors_json("% Unknown command").is_err());
    }

    #[test]
    fn summary_json_all_families() {
        let v = summary_json(include_str!("testdata/frr-summary.json")).unwrap();
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|n| n.established == Some(true)));
        assert_eq!(find(&v, "2001:db8::2").peer_as, Some(65002));
    }
}
