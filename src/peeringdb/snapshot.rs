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
mod tests;
