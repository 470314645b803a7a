//! Serde types for the PeeringDB API v2 objects peerd reads (`ix`, `ixlan`,
//! `ixpfx`, `netixlan`, `net`), with PeeringDB's exact field names.
//!
//! Only the fields peerd uses are declared; every other field is ignored,
//! because PeeringDB adds fields over time. Values PeeringDB may send as
//! `null` are read leniently: a null string becomes empty, and an address or
//! prefix that does not parse becomes `None` (such a row then proves
//! nothing, which is the safe side for anti-spoofing checks).

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A list answer: `{"meta": {...}, "data": [...]}`. Also the shape of each
/// section of a dump file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub meta: serde_json::Value,
    pub data: Vec<T>,
}

/// An Internet exchange (`/api/ix`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ix {
    pub id: u32,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub name_long: String,
    #[serde(default, deserialize_with = "null_default")]
    pub city: String,
    #[serde(default, deserialize_with = "null_default")]
    pub country: String,
    #[serde(default = "ok_status", deserialize_with = "null_ok")]
    pub status: String,
}

/// The peering LAN of an exchange (`/api/ixlan`); today one per IX, with
/// the IX's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IxLan {
    pub id: u32,
    pub ix_id: u32,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub rs_asn: Option<u32>,
    #[serde(default = "ok_status", deserialize_with = "null_ok")]
    pub status: String,
}

/// A peering LAN prefix (`/api/ixpfx`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IxPfx {
    pub id: u32,
    pub ixlan_id: u32,
    /// `"IPv4"` or `"IPv6"`.
    #[serde(default, deserialize_with = "null_default")]
    pub protocol: String,
    #[serde(default, deserialize_with = "lenient")]
    pub prefix: Option<IpNet>,
    #[serde(default)]
    pub in_dfz: bool,
    #[serde(default = "ok_status", deserialize_with = "null_ok")]
    pub status: String,
}

/// A network's port on an exchange (`/api/netixlan`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetIxLan {
    pub id: u32,
    pub net_id: u32,
    pub ix_id: u32,
    pub ixlan_id: u32,
    pub asn: u32,
    #[serde(default, deserialize_with = "lenient")]
    pub ipaddr4: Option<Ipv4Addr>,
    #[serde(default, deserialize_with = "lenient")]
    pub ipaddr6: Option<Ipv6Addr>,
    /// Port speed in Mbit/s.
    #[serde(default, deserialize_with = "null_default")]
    pub speed: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub is_rs_peer: bool,
    #[serde(default = "yes", deserialize_with = "null_true")]
    pub operational: bool,
    #[serde(default = "ok_status", deserialize_with = "null_ok")]
    pub status: String,
}

/// A network (`/api/net`), with the fields policy looks at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Net {
    pub id: u32,
    pub asn: u32,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub irr_as_set: String,
    #[serde(default)]
    pub info_prefixes4: Option<u32>,
    #[serde(default)]
    pub info_prefixes6: Option<u32>,
    /// `Open`, `Selective`, `Restrictive` or `No`.
    #[serde(default, deserialize_with = "null_default")]
    pub policy_general: String,
    #[serde(default, deserialize_with = "null_default")]
    pub info_never_via_route_servers: bool,
    #[serde(default = "ok_status", deserialize_with = "null_ok")]
    pub status: String,
}

/// The `fields=` lists peerd asks for (exactly the fields declared above).
pub const IX_FIELDS: &str = "id,name,name_long,city,country,status";
pub const IXLAN_FIELDS: &str = "id,ix_id,name,mtu,rs_asn,status";
pub const IXPFX_FIELDS: &str = "id,ixlan_id,protocol,prefix,in_dfz,status";
pub const NETIXLAN_FIELDS: &str =
    "id,net_id,ix_id,ixlan_id,asn,ipaddr4,ipaddr6,speed,is_rs_peer,operational,status";
pub const NET_FIELDS: &str = "id,asn,name,irr_as_set,info_prefixes4,info_prefixes6,policy_general,info_never_via_route_servers,status";

/// The raw objects of one fetch (online or from a dump), before they are
/// restricted and indexed into a [`Snapshot`](super::Snapshot).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawData {
    pub ix: Vec<Ix>,
    pub ixlan: Vec<IxLan>,
    pub ixpfx: Vec<IxPfx>,
    pub netixlan: Vec<NetIxLan>,
    pub net: Vec<Net>,
}

impl RawData {
    /// Total number of objects.
    pub fn len(&self) -> usize {
        self.ix.len() + self.ixlan.len() + self.ixpfx.len() + self.netixlan.len() + self.net.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// True for objects PeeringDB lists as live.
pub fn is_ok(status: &str) -> bool {
    status == "ok"
}

fn ok_status() -> String {
    "ok".into()
}

fn yes() -> bool {
    true
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_ok<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(ok_status))
}

fn null_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// A string that should parse as `T`; null, empty or unparseable -> `None`.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    let s = Option::<String>::deserialize(d)?;
    Ok(s.and_then(|s| s.trim().parse().ok()))
}

#[cfg(test)]
mod tests;
