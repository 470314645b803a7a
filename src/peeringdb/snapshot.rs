//! The PeeringDB data peerd works from: a [`Snapshot`] of our exchanges
//! (peering LAN prefixes, member ports) and of the networks present there,
//! with pure queries for locations, anti-spoofing and policy.
//!
//! A snapshot is built the same way from an online sync and from a dump
//! file ([`Snapshot::build`]), restricted to the exchanges in our inventory
//! and sorted, so the same data gives the same snapshot.

use super::types::{self, is_ok, RawData};
use crate::model::UnixMillis;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Version of the stored snapshot format; a stored snapshot of another
/// format is ignored (the next sync replaces it).
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// The data of one sync or dump load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    /// When the data was fetched or loaded (ms since the epoch).
    pub taken_at: UnixMillis,
    /// Where it came from: `api <base url>` or `dump <path>`.
    pub source: String,
    /// Our exchanges found in PeeringDB, by ix id.
    pub exchanges: BTreeMap<u32, Exchange>,
    /// Networks with a port at any of those exchanges, by ASN.
    pub nets: BTreeMap<u32, Net>,
}

/// One exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub id: u32,
    pub name: String,
    pub ixlan_ids: Vec<u32>,
    /// Peering LAN prefixes (`ixpfx`), IPv4 and IPv6, sorted.
    pub prefixes: Vec<IpNet>,
    /// `netixlan` rows, sorted by ASN then row id.
    pub members: Vec<Member>,
}

/// One `netixlan` row: a network's port on the exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The `netixlan` id.
    pub id: u32,
    pub asn: u32,
    pub net_id: u32,
    pub ixlan_id: u32,
    pub ipaddr4: Option<Ipv4Addr>,
    pub ipaddr6: Option<Ipv6Addr>,
    pub is_rs_peer: bool,
    pub operational: bool,
    /// Mbit/s.
    pub speed: u64,
}

impl Member {
    /// The addresses of this port (IPv4 then IPv6).
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> {
        self.ipaddr4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.ipaddr6.map(IpAddr::V6))
    }

    pub fn has_ip(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.ipaddr4 == Some(a),
            IpAddr::V6(a) => self.ipaddr6 == Some(a),
        }
    }
}

/// A network's policy-relevant facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Net {
    pub asn: u32,
    pub net_id: u32,
    pub name: String,
    pub irr_as_set: String,
    pub info_prefixes4: Option<u32>,
    pub info_prefixes6: Option<u32>,
    /// `Open`, `Selective`, `Restrictive`, `No` (or empty if unset).
    pub policy_general: String,
    pub info_never_via_route_servers: bool,
}

impl Snapshot {
    /// An empty snapshot (no exchanges, no networks).
    pub fn empty(source: impl Into<String>, taken_at: UnixMillis) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            taken_at,
            source: source.into(),
            exchanges: BTreeMap::new(),
            nets: BTreeMap::new(),
        }
    }

    /// Builds a snapshot from raw objects, keeping only live (`status: ok`)
    /// objects that belong to the exchanges in `wanted` (ix ids) and the
    /// networks with a port there. Invalid prefixes are skipped; a prefix
    /// written with host bits set is truncated to its network.
    pub fn build(
        wanted: &BTreeSet<u32>,
        raw: RawData,
        source: impl Into<String>,
        taken_at: UnixMillis,
    ) -> Snapshot {
        let mut snap = Snapshot::empty(source, taken_at);
        for ix in raw.ix.into_iter().filter(|i| is_ok(&i.status)) {
            if wanted.contains(&ix.id) && !snap.exchanges.contains_key(&ix.id) {
                snap.exchanges.insert(
                    ix.id,
                    Exchange {
                        id: ix.id,
                        name: ix.name,
                        ixlan_ids: vec![],
                        prefixes: vec![],
                        members: vec![],
                    },
                );
            }
        }
        let mut lan_to_ix: HashMap<u32, u32> = HashMap::new();
        for lan in raw.ixlan.into_iter().filter(|l| is_ok(&l.status)) {
            if let Some(ex) = snap.exchanges.get_mut(&lan.ix_id) {
                lan_to_ix.insert(lan.id, lan.ix_id);
                ex.ixlan_ids.push(lan.id);
            }
        }
        for pfx in raw.ixpfx.into_iter().filter(|p| is_ok(&p.status)) {
            let (Some(ix), Some(net)) = (lan_to_ix.get(&pfx.ixlan_id), pfx.prefix) else {
                continue;
            };
            if let Some(ex) = snap.exchanges.get_mut(ix) {
                ex.prefixes.push(net.trunc());
            }
        }
        let mut asns = BTreeSet::new();
        for row in raw.netixlan.into_iter().filter(|r| is_ok(&r.status)) {
            if !lan_to_ix.contains_key(&row.ixlan_id) {
                continue;
            }
            let Some(ex) = snap.exchanges.get_mut(&row.ix_id) else {
                continue;
            };
            asns.insert(row.asn);
            ex.members.push(Member {
                id: row.id,
                asn: row.asn,
                net_id: row.net_id,
                ixlan_id: row.ixlan_id,
                ipaddr4: row.ipaddr4,
                ipaddr6: row.ipaddr6,
                is_rs_peer: row.is_rs_peer,
                operational: row.operational,
                speed: row.speed,
            });
        }
        for ex in snap.exchanges.values_mut() {
            ex.ixlan_ids.sort_unstable();
            ex.ixlan_ids.dedup();
            ex.prefixes.sort();
            ex.prefixes.dedup();
            ex.members.sort_by_key(|m| (m.asn, m.id));
            ex.members.dedup_by_key(|m| m.id);
        }
        let mut nets: Vec<types::Net> = raw
            .net
            .into_iter()
            .filter(|n| is_ok(&n.status) && asns.contains(&n.asn))
            .collect();
        nets.sort_by_key(|n| (n.asn, n.id));
        for n in nets {
            snap.nets.entry(n.asn).or_insert(Net {
                asn: n.asn,
                net_id: n.id,
                name: n.name,
                irr_as_set: n.irr_as_set,
                info_prefixes4: n.info_prefixes4,
                info_prefixes6: n.info_prefixes6,
                policy_general: n.policy_general,
                info_never_via_route_servers: n.info_never_via_route_servers,
            });
        }
        snap
    }

    /// True when both snapshots hold the same data (ignoring when and where
    /// from it was taken).
    pub fn same_data(&self, other: &Snapshot) -> bool {
        self.exchanges == other.exchanges && self.nets == other.nets
    }

    pub fn exchange(&self, ix_id: u32) -> Option<&Exchange> {
        self.exchanges.get(&ix_id)
    }

    /// True when `asn` has at least one port at the exchange.
    pub fn present_at(&self, ix_id: u32, asn: u32) -> bool {
        self.exchange(ix_id)
            .is_some_and(|ex| ex.members.iter().any(|m| m.asn == asn))
    }

    /// The exchanges (ix ids, ascending) where `asn` has a port.
    pub fn exchanges_of(&self, asn: u32) -> Vec<u32> {
        self.exchanges
            .values()
            .filter(|ex| ex.members.iter().any(|m| m.asn == asn))
            .map(|ex| ex.id)
            .collect()
    }

    /// The exchanges (ix ids, ascending) where both networks have a port.
    pub fn common_exchanges(&self, our_asn: u32, their_asn: u32) -> Vec<u32> {
        self.exchanges
            .values()
            .filter(|ex| {
                ex.members.iter().any(|m| m.asn == our_asn)
                    && ex.members.iter().any(|m| m.asn == their_asn)
            })
            .map(|ex| ex.id)
            .collect()
    }

    /// Every ASN that lists `ip` at the exchange (ascending, no repeats).
    pub fn asns_for_ip(&self, ix_id: u32, ip: IpAddr) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .exchange(ix_id)
            .map(|ex| {
                ex.members
                    .iter()
                    .filter(|m| m.has_ip(ip))
                    .map(|m| m.asn)
                    .collect()
            })
            .unwrap_or_default();
        out.dedup();
        out
    }

    /// The ASN `ip` is registered to at the exchange (draft threat T1: a
    /// requester's address must be registered to the requester's ASN).
    /// `None` when no network lists it, and also when several networks list
    /// it (the data cannot vouch for either; see [`Snapshot::asns_for_ip`]).
    pub fn ip_registered_to(&self, ix_id: u32, ip: IpAddr) -> Option<u32> {
        match self.asns_for_ip(ix_id, ip).as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The addresses `asn` lists at the exchange.
    pub fn member_ips(&self, ix_id: u32, asn: u32) -> Vec<IpAddr> {
        self.exchange(ix_id)
            .map(|ex| {
                ex.members
                    .iter()
                    .filter(|m| m.asn == asn)
                    .flat_map(|m| m.ips())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn net(&self, asn: u32) -> Option<&Net> {
        self.nets.get(&asn)
    }

    /// A max-prefix limit for `asn` in `family`: its published
    /// `info_prefixes4`/`info_prefixes6` plus `margin_percent`, rounded up.
    /// `None` when the network is unknown or publishes no (or a zero) count.
    pub fn max_prefix(&self, asn: u32, family: Family, margin_percent: u32) -> Option<u32> {
        let net = self.net(asn)?;
        let n = match family {
            Family::V4 => net.info_prefixes4,
            Family::V6 => net.info_prefixes6,
        }?;
        if n == 0 {
            return None;
        }
        let scaled = (u64::from(n) * (100 + u64::from(margin_percent))).div_ceil(100);
        Some(u32::try_from(scaled).unwrap_or(u32::MAX))
    }

    /// The network's `policy_general`, if the network is known and sets one.
    pub fn policy_general(&self, asn: u32) -> Option<&str> {
        self.net(asn)
            .map(|n| n.policy_general.as_str())
            .filter(|p| !p.is_empty())
    }

    /// One line for operators: counts and origin.
    pub fn summary(&self) -> String {
        let ids: Vec<String> = self
            .exchanges
            .keys()
            .map(|i| format!("pdb:ix:{i}"))
            .collect();
        let rows: usize = self.exchanges.values().map(|e| e.members.len()).sum();
        format!(
            "{} exchange(s) [{}], {} netixlan row(s), {} network(s) from {}",
            self.exchanges.len(),
            ids.join(", "),
            rows,
            self.nets.len(),
            self.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peeringdb::types::{Ix, IxLan, IxPfx, NetIxLan};

    fn row(id: u32, ix: u32, asn: u32, v4: &str, v6: Option<&str>) -> NetIxLan {
        NetIxLan {
            id,
            net_id: asn - 65000,
            ix_id: ix,
            ixlan_id: ix,
            asn,
            ipaddr4: v4.parse().ok(),
            ipaddr6: v6.and_then(|s| s.parse().ok()),
            speed: 10000,
            is_rs_peer: false,
            operational: true,
            status: "ok".into(),
        }
    }

    fn net(asn: u32, p4: Option<u32>, p6: Option<u32>, policy: &str) -> types::Net {
        types::Net {
            id: asn - 65000,
            asn,
            name: format!("Net {asn}"),
            irr_as_set: format!("AS-N{asn}"),
            info_prefixes4: p4,
            info_prefixes6: p6,
            policy_general: policy.into(),
            info_never_via_route_servers: false,
            status: "ok".into(),
        }
    }

    fn ix(id: u32) -> Ix {
        Ix {
            id,
            name: format!("IX{id}"),
            name_long: String::new(),
            city: String::new(),
            country: String::new(),
            status: "ok".into(),
        }
    }

    fn lan(id: u32) -> IxLan {
        IxLan {
            id,
            ix_id: id,
            name: String::new(),
            mtu: Some(1500),
            rs_asn: None,
            status: "ok".into(),
        }
    }

    fn pfx(id: u32, lan: u32, p: &str) -> IxPfx {
        IxPfx {
            id,
            ixlan_id: lan,
            protocol: if p.contains(':') { "IPv6" } else { "IPv4" }.into(),
            prefix: p.parse().ok(),
            in_dfz: true,
            status: "ok".into(),
        }
    }

    fn sample() -> Snapshot {
        let mut deleted = row(9, 42, 65009, "192.0.2.9", None);
        deleted.status = "deleted".into();
        let raw = RawData {
            ix: vec![ix(42), ix(43), ix(44)],
            ixlan: vec![lan(42), lan(43), lan(44)],
            ixpfx: vec![
                pfx(1, 42, "192.0.2.0/24"),
                pfx(2, 42, "2001:db8::1/64"),
                pfx(3, 43, "198.51.100.0/24"),
                pfx(4, 44, "203.0.113.0/24"),
            ],
            netixlan: vec![
                row(3, 42, 65002, "192.0.2.2", Some("2001:db8::2")),
                row(1, 42, 65001, "192.0.2.1", Some("2001:db8::1")),
                row(2, 43, 65001, "198.51.100.1", None),
                row(4, 43, 65003, "198.51.100.3", None),
                row(5, 44, 65004, "203.0.113.4", None),
                // a second network claiming 65003's address at ix 43
                row(6, 43, 65005, "198.51.100.3", None),
                deleted,
            ],
            net: vec![
                net(65001, Some(10), Some(5), "Open"),
                net(65002, Some(100), None, "Selective"),
                net(65003, Some(0), Some(7), ""),
                net(65004, Some(1), Some(1), "Open"),
                net(65009, Some(1), Some(1), "Open"),
            ],
        };
        Snapshot::build(&BTreeSet::from([42, 43, 45]), raw, "test", 1)
    }

    #[test]
    fn build_restricts_to_wanted_exchanges_and_live_rows() {
        let s = sample();
        assert_eq!(
            s.exchanges.keys().copied().collect::<Vec<_>>(),
            vec![42, 43]
        );
        let ex = s.exchange(42).unwrap();
        assert_eq!(
            ex.prefixes,
            vec![
                "192.0.2.0/24".parse::<IpNet>().unwrap(),
                "2001:db8::/64".parse().unwrap()
            ]
        );
        assert_eq!(
            ex.members.iter().map(|m| m.asn).collect::<Vec<_>>(),
            vec![65001, 65002]
        );
        assert!(
            s.net(65004).is_none(),
            "only at ix 44, which we do not serve"
        );
        assert!(s.net(65009).is_none(), "its only row is deleted");
        assert!(s.net(65005).is_none(), "no net object for it");
        assert!(s.summary().contains("2 exchange(s) [pdb:ix:42, pdb:ix:43]"));
    }

    #[test]
    fn common_exchanges() {
        let s = sample();
        assert_eq!(s.common_exchanges(65001, 65002), vec![42]);
        assert_eq!(s.common_exchanges(65001, 65003), vec![43]);
        assert_eq!(s.common_exchanges(65001, 65001), vec![42, 43]);
        assert!(s.common_exchanges(65001, 65004).is_empty());
        assert!(s.common_exchanges(65002, 65003).is_empty());
        assert_eq!(s.exchanges_of(65001), vec![42, 43]);
        assert!(s.present_at(42, 65002) && !s.present_at(43, 65002));
    }

    #[test]
    fn ip_registration() {
        let s = sample();
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert_eq!(s.ip_registered_to(42, ip("192.0.2.2")), Some(65002));
        assert_eq!(s.ip_registered_to(42, ip("2001:db8:0::2")), Some(65002));
        assert_eq!(s.ip_registered_to(42, ip("192.0.2.77")), None);
        assert_eq!(
            s.ip_registered_to(43, ip("192.0.2.2")),
            None,
            "other exchange"
        );
        assert_eq!(s.ip_registered_to(99, ip("192.0.2.2")), None);
        // two networks list the same address: nobody is vouched for
        assert_eq!(s.asns_for_ip(43, ip("198.51.100.3")), vec![65003, 65005]);
        assert_eq!(s.ip_registered_to(43, ip("198.51.100.3")), None);
        assert_eq!(
            s.member_ips(42, 65002),
            vec![ip("192.0.2.2"), ip("2001:db8::2")]
        );
    }

    #[test]
    fn max_prefix_with_margin() {
        let s = sample();
        assert_eq!(s.max_prefix(65001, Family::V4, 10), Some(11));
        assert_eq!(
            s.max_prefix(65001, Family::V6, 10),
            Some(6),
            "5.5 rounds up"
        );
        assert_eq!(s.max_prefix(65001, Family::V4, 0), Some(10));
        assert_eq!(s.max_prefix(65002, Family::V4, 25), Some(125));
        assert_eq!(s.max_prefix(65002, Family::V6, 10), None, "not published");
        assert_eq!(s.max_prefix(65003, Family::V4, 10), None, "zero");
        assert_eq!(s.max_prefix(65099, Family::V4, 10), None, "unknown");
        assert_eq!(Family::of("2001:db8::1".parse().unwrap()), Family::V6);
    }

    #[test]
    fn max_prefix_saturates() {
        let mut s = sample();
        s.nets.get_mut(&65001).unwrap().info_prefixes4 = Some(u32::MAX);
        assert_eq!(s.max_prefix(65001, Family::V4, 50), Some(u32::MAX));
    }

    #[test]
    fn policy_general() {
        let s = sample();
        assert_eq!(s.policy_general(65001), Some("Open"));
        assert_eq!(s.policy_general(65002), Some("Selective"));
        assert_eq!(s.policy_general(65003), None, "empty");
        assert_eq!(s.policy_general(65099), None);
    }

    #[test]
    fn json_round_trip() {
        let s = sample();
        let text = serde_json::to_string(&s).unwrap();
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}
