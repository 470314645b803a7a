//! Parsers for NETCONF answers (get-config / get / vendor RPC replies),
//! one per model family. Namespaces are ignored: each parser looks for the
//! family's own element names along the family's own path.

use super::common::{merge_into, parse_addr, ObservedNeighbor};
use super::xml::{self, Element};

fn finish(mut out: Vec<ObservedNeighbor>) -> Result<Vec<ObservedNeighbor>, String> {
    out.sort_by_key(|n| n.address);
    Ok(out)
}

fn parse_reply(text: &str) -> Result<Element, String> {
    let root = xml::parse(text)?;
    // An <rpc-error> in the reply is not data.
    let mut errs = Vec::new();
    root.find_all("rpc-error", &mut errs);
    if let Some(e) = errs.first() {
        let msg = e
            .text_at("error-message")
            .or_else(|| e.text_at("error-tag"))
            .unwrap_or("rpc-error");
        return Err(format!("the router answered with an error: {msg}"));
    }
    Ok(root)
}

fn asn(s: Option<&str>) -> Option<u32> {
    s.and_then(|v| v.parse().ok())
}

/// `urn:peerd:lab-bgp`: `bgp/neighbor` with `address`, `peer-as` and
/// whether `md5-password` is set.
pub(super) fn lab_bgp_config(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut bgps = Vec::new();
    root.find_all("bgp", &mut bgps);
    let mut out = Vec::new();
    for b in bgps {
        for n in b.children_named("neighbor") {
            if let Some(ip) = n.text_at("address").and_then(parse_addr) {
                merge_into(
                    &mut out,
                    ObservedNeighbor {
                        peer_as: asn(n.text_at("peer-as")),
                        has_secret: Some(n.text_at("md5-password").is_some()),
                        ..ObservedNeighbor::new(ip)
                    },
                );
            }
        }
    }
    finish(out)
}

/// OpenConfig: `neighbors/neighbor` with `neighbor-address` (the key or
/// its `config/` copy), `config/peer-as` (or `state/peer-as`), whether
/// `config/auth-password` is set (config reads only) and, for state,
/// `state/session-state`.
pub(super) fn openconfig(text: &str, state: bool) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut lists = Vec::new();
    root.find_all("neighbors", &mut lists);
    let mut out = Vec::new();
    for l in lists {
        for n in l.children_named("neighbor") {
            let addr = n
                .text_at("neighbor-address")
                .or_else(|| n.text_at("config/neighbor-address"))
                .or_else(|| n.text_at("state/neighbor-address"))
                .and_then(parse_addr);
            let Some(ip) = addr else { continue };
            let peer_as = asn(n.text_at("config/peer-as")).or(asn(n.text_at("state/peer-as")));
            let (st, est) = if state {
                let s = n.text_at("state/session-state").map(str::to_string);
                let e = s.as_deref().map(|s| s.eq_ignore_ascii_case("ESTABLISHED"));
                (s, e)
            } else {
                (None, None)
            };
            let has_secret = (!state).then(|| n.text_at("config/auth-password").is_some());
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as,
                    state: st,
                    established: est,
                    has_secret,
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    finish(out)
}

/// Junos: `protocols/bgp/group/neighbor` (`name`, `peer-as`, falling back
/// to the group's `peer-as`).
pub(super) fn junos_config(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut bgps = Vec::new();
    root.find_all("bgp", &mut bgps);
    let mut out = Vec::new();
    for b in bgps {
        for g in b.children_named("group") {
            let group_as = asn(g.text_at("peer-as"));
            for n in g.children_named("neighbor") {
                if let Some(ip) = n.text_at("name").and_then(parse_addr) {
                    merge_into(
                        &mut out,
                        ObservedNeighbor {
                            peer_as: asn(n.text_at("peer-as")).or(group_as),
                            name: g.text_at("name").map(str::to_string),
                            ..ObservedNeighbor::new(ip)
                        },
                    );
                }
            }
        }
    }
    finish(out)
}

/// Junos `<get-bgp-neighbor-information/>`: `bgp-information/bgp-peer` with
/// `peer-address` (`addr+port`), `peer-as`, `peer-state`.
pub(super) fn junos_state(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut peers = Vec::new();
    root.find_all("bgp-peer", &mut peers);
    let mut out = Vec::new();
    for p in peers {
        let Some(ip) = p.text_at("peer-address").and_then(parse_addr) else {
            continue;
        };
        let s = p.text_at("peer-state").map(str::to_string);
        let est = s.as_deref().map(|s| s == "Established");
        merge_into(
            &mut out,
            ObservedNeighbor {
                peer_as: asn(p.text_at("peer-as")),
                state: s,
                established: est,
                name: p.text_at("peer-group").map(str::to_string),
                ..ObservedNeighbor::new(ip)
            },
        );
    }
    finish(out)
}

/// Cisco-IOS-XR-ipv4-bgp-cfg: `neighbors/neighbor` with `neighbor-address`
/// and `remote-as/{as-xx,as-yy}` (asdot halves).
pub(super) fn iosxr_config(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut lists = Vec::new();
    root.find_all("neighbors", &mut lists);
    let mut out = Vec::new();
    for l in lists {
        for n in l.children_named("neighbor") {
            let Some(ip) = n.text_at("neighbor-address").and_then(parse_addr) else {
                continue;
            };
            let xx = asn(n.text_at("remote-as/as-xx"));
            let yy = asn(n.text_at("remote-as/as-yy"));
            let peer_as = match (xx, yy) {
                (Some(x), Some(y)) if x <= 0xffff && y <= 0xffff => Some((x << 16) | y),
                _ => None,
            };
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as,
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    finish(out)
}

/// Cisco-IOS-XR-ipv4-bgp-oper: `neighbors/neighbor` with
/// `neighbor-address`, `remote-as` and `connection-state` (`bgp-st-estab`).
pub(super) fn iosxr_state(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut lists = Vec::new();
    root.find_all("neighbors", &mut lists);
    let mut out = Vec::new();
    for l in lists {
        for n in l.children_named("neighbor") {
            let Some(ip) = n.text_at("neighbor-address").and_then(parse_addr) else {
                continue;
            };
            let s = n.text_at("connection-state").map(str::to_string);
            let est = s.as_deref().map(|s| s == "bgp-st-estab");
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as: asn(n.text_at("remote-as")),
                    state: s,
                    established: est,
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    finish(out)
}

/// Nokia SR OS (`nokia-conf` / `nokia-state`): `router/bgp/neighbor` with
/// `ip-address`, `peer-as` (or its group's) and, for state,
/// `statistics/session-state`.
pub(super) fn sros(text: &str, state: bool) -> Result<Vec<ObservedNeighbor>, String> {
    let root = parse_reply(text)?;
    let mut bgps = Vec::new();
    root.find_all("bgp", &mut bgps);
    let mut out = Vec::new();
    for b in bgps {
        for n in b.children_named("neighbor") {
            let Some(ip) = n.text_at("ip-address").and_then(parse_addr) else {
                continue;
            };
            let group_as = n.text_at("group").and_then(|g| {
                b.children_named("group")
                    .find(|x| x.text_at("group-name") == Some(g))
                    .and_then(|x| asn(x.text_at("peer-as")))
            });
            let peer_as = asn(n.text_at("peer-as"))
                .or(asn(n.text_at("statistics/peer-as")))
                .or(group_as);
            let (st, est) = if state {
                let s = n.text_at("statistics/session-state").map(str::to_string);
                let e = s.as_deref().map(|s| s.eq_ignore_ascii_case("Established"));
                (s, e)
            } else {
                (None, None)
            };
            merge_into(
                &mut out,
                ObservedNeighbor {
                    peer_as,
                    state: st,
                    established: est,
                    name: n.text_at("group").map(str::to_string),
                    ..ObservedNeighbor::new(ip)
                },
            );
        }
    }
    finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &[ObservedNeighbor], ip: &str) -> ObservedNeighbor {
        let ip: std::net::IpAddr = ip.parse().unwrap();
        v.iter()
            .find(|n| n.address == ip)
            .cloned()
            .unwrap_or_else(|| panic!("{ip} missing in {v:?}"))
    }

    #[test]
    fn lab_bgp_from_netconfd() {
        // get-config from netconfd (the shared lab's module, namespace
        // urn:example:lab-bgp) after pushing peerd's rendered payloads.
        let v = lab_bgp_config(include_str!("testdata/netconfd-lab-bgp.xml")).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(one(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(one(&v, "2001:db8::3").peer_as, Some(65003));
        assert_eq!(one(&v, "192.0.2.2").has_secret, Some(false));
        assert_eq!(one(&v, "2001:db8::3").has_secret, Some(true));
        assert!(!format!("{v:?}").contains("lab-md5-secret"));
    }

    #[test]
    fn lab_bgp_empty_and_error_replies() {
        let empty = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="2"><data><bgp xmlns="urn:peerd:lab-bgp"><local-as>65001</local-as></bgp></data></rpc-reply>"#;
        assert!(lab_bgp_config(empty).unwrap().is_empty());
        let err = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="3"><rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-message xml:lang="en">lock denied</error-message></rpc-error></rpc-reply>"#;
        assert!(lab_bgp_config(err).unwrap_err().contains("lock denied"));
    }

    #[test]
    fn openconfig_from_netconfd() {
        // get-config from netconfd serving the real OpenConfig models, after
        // pushing peerd's own rendered payloads.
        let v = openconfig(include_str!("testdata/netconfd-openconfig.xml"), false).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(one(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(one(&v, "2001:db8::3").peer_as, Some(65003));
        assert_eq!(one(&v, "192.0.2.2").has_secret, Some(false));
        assert_eq!(one(&v, "2001:db8::3").has_secret, Some(true));
    }

    #[test]
    fn openconfig_state() {
        let x = r#"<rpc-reply message-id="9" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>
<network-instances xmlns="http://openconfig.net/yang/network-instance"><network-instance><name>default</name>
<protocols><protocol><identifier xmlns:oc-pol-types="http://openconfig.net/yang/policy-types">oc-pol-types:BGP</identifier><name>BGP</name>
<bgp><neighbors>
 <neighbor><neighbor-address>192.0.2.2</neighbor-address><state><neighbor-address>192.0.2.2</neighbor-address><peer-as>65002</peer-as><session-state>ESTABLISHED</session-state></state></neighbor>
 <neighbor><neighbor-address>2001:db8::3</neighbor-address><state><peer-as>65003</peer-as><session-state>ACTIVE</session-state></state></neighbor>
</neighbors></bgp></protocol></protocols></network-instance></network-instances></data></rpc-reply>"#;
        let v = openconfig(x, true).unwrap();
        assert_eq!(one(&v, "192.0.2.2").established, Some(true));
        assert_eq!(
            one(&v, "192.0.2.2").has_secret,
            None,
            "a state read does not say"
        );
        let n = one(&v, "2001:db8::3");
        assert_eq!((n.established, n.peer_as), (Some(false), Some(65003)));
        assert_eq!(n.state.as_deref(), Some("ACTIVE"));
    }

    #[test]
    fn junos_config_and_group_peer_as() {
        let x = r#"<rpc-reply xmlns:junos="http://xml.juniper.net/junos/21.4R0/junos" message-id="4"><data><configuration>
<protocols><bgp>
 <group><name>PEERD-V4</name><type>external</type>
  <neighbor><name>192.0.2.2</name><description>peerd AS65002 pdb:ix:42</description><peer-as>65002</peer-as></neighbor>
 </group>
 <group><name>RS</name><peer-as>65010</peer-as><neighbor><name>192.0.2.10</name></neighbor></group>
</bgp></protocols></configuration></data></rpc-reply>"#;
        let v = junos_config(x).unwrap();
        assert_eq!(one(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(one(&v, "192.0.2.10").peer_as, Some(65010));
        assert_eq!(one(&v, "192.0.2.2").name.as_deref(), Some("PEERD-V4"));
    }

    #[test]
    fn junos_state_reply() {
        let x = r#"<rpc-reply xmlns:junos="http://xml.juniper.net/junos/21.4R0/junos"><bgp-information xmlns="http://xml.juniper.net/junos/21.4R0/junos-routing">
<bgp-peer junos:style="detail"><peer-address>192.0.2.2+179</peer-address><peer-as>65002</peer-as><local-address>192.0.2.1+61234</local-address><peer-group>PEERD-V4</peer-group><peer-state>Established</peer-state></bgp-peer>
<bgp-peer junos:style="detail"><peer-address>2001:db8::3</peer-address><peer-as>65003</peer-as><peer-state>Active</peer-state></bgp-peer>
</bgp-information></rpc-reply>"#;
        let v = junos_state(x).unwrap();
        assert_eq!(one(&v, "192.0.2.2").established, Some(true));
        assert_eq!(one(&v, "2001:db8::3").state.as_deref(), Some("Active"));
    }

    #[test]
    fn iosxr_config_and_state() {
        let cfg = r#"<rpc-reply message-id="5" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>
<bgp xmlns="http://cisco.com/ns/yang/Cisco-IOS-XR-ipv4-bgp-cfg"><instance><instance-name>default</instance-name><instance-as><as>0</as><four-byte-as><as>65001</as><bgp-running/><default-vrf><bgp-entity><neighbors>
<neighbor><neighbor-address>192.0.2.2</neighbor-address><remote-as><as-xx>0</as-xx><as-yy>65002</as-yy></remote-as></neighbor>
<neighbor><neighbor-address>2001:db8::9</neighbor-address><remote-as><as-xx>64086</as-xx><as-yy>59905</as-yy></remote-as></neighbor>
</neighbors></bgp-entity></default-vrf></four-byte-as></instance-as></instance></bgp></data></rpc-reply>"#;
        let v = iosxr_config(cfg).unwrap();
        assert_eq!(one(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(one(&v, "2001:db8::9").peer_as, Some(4_200_000_001));
        let st = r#"<rpc-reply message-id="6" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>
<bgp xmlns="http://cisco.com/ns/yang/Cisco-IOS-XR-ipv4-bgp-oper"><instances><instance><instance-name>default</instance-name><instance-active><default-vrf><neighbors>
<neighbor><neighbor-address>192.0.2.2</neighbor-address><remote-as>65002</remote-as><connection-state>bgp-st-estab</connection-state></neighbor>
<neighbor><neighbor-address>192.0.2.3</neighbor-address><remote-as>65003</remote-as><connection-state>bgp-st-active</connection-state></neighbor>
</neighbors></default-vrf></instance-active></instance></instances></bgp></data></rpc-reply>"#;
        let v = iosxr_state(st).unwrap();
        assert_eq!(one(&v, "192.0.2.2").established, Some(true));
        assert_eq!(one(&v, "192.0.2.3").established, Some(false));
    }

    #[test]
    fn sros_config_and_state() {
        let cfg = r#"<rpc-reply message-id="7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>
<configure xmlns="urn:nokia.com:sros:ns:yang:sr:conf"><router><router-name>Base</router-name><bgp>
<group><group-name>PEERD-V6</group-name><peer-as>65009</peer-as></group>
<neighbor><ip-address>192.0.2.2</ip-address><group>PEERD-V4</group><peer-as>65002</peer-as></neighbor>
<neighbor><ip-address>2001:db8::9</ip-address><group>PEERD-V6</group></neighbor>
</bgp></router></configure></data></rpc-reply>"#;
        let v = sros(cfg, false).unwrap();
        assert_eq!(one(&v, "192.0.2.2").peer_as, Some(65002));
        assert_eq!(one(&v, "2001:db8::9").peer_as, Some(65009));
        let st = r#"<rpc-reply message-id="8" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>
<state xmlns="urn:nokia.com:sros:ns:yang:sr:state"><router><router-name>Base</router-name><bgp>
<neighbor><ip-address>192.0.2.2</ip-address><statistics><peer-as>65002</peer-as><session-state>Established</session-state></statistics></neighbor>
<neighbor><ip-address>192.0.2.3</ip-address><statistics><session-state>Connect</session-state></statistics></neighbor>
</bgp></router></state></data></rpc-reply>"#;
        let v = sros(st, true).unwrap();
        assert_eq!(one(&v, "192.0.2.2").established, Some(true));
        assert_eq!(one(&v, "192.0.2.3").state.as_deref(), Some("Connect"));
    }
}
