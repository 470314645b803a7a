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
mod tests {
    use super::*;

    #[test]
    fn netixlan_shape_from_the_spec_parses() {
        let text = r#"{"data": [{"id": 70001, "net_id": 901, "ix_id": 42, "name": "Example-IX", "ixlan_id": 42,
          "notes": "", "speed": 100000, "asn": 64500, "ipaddr4": "192.0.2.10", "ipaddr6": "2001:db8:42::10",
          "is_rs_peer": true, "bfd_support": false, "operational": true, "net_side_id": 17, "ix_side_id": null,
          "created": "2024-01-01T00:00:00Z", "updated": "2024-06-01T00:00:00Z", "status": "ok"}], "meta": {}}"#;
        let e: Envelope<NetIxLan> = serde_json::from_str(text).unwrap();
        let r = &e.data[0];
        assert_eq!(
            (r.id, r.net_id, r.ix_id, r.ixlan_id, r.asn),
            (70001, 901, 42, 42, 64500)
        );
        assert_eq!(r.ipaddr4, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(r.ipaddr6, Some("2001:db8:42::10".parse().unwrap()));
        assert!(r.is_rs_peer && r.operational);
        assert_eq!(r.status, "ok");
    }

    #[test]
    fn nulls_and_bad_values_are_lenient() {
        let text = r#"{"data": [{"id": 1, "net_id": 2, "ix_id": 3, "ixlan_id": 3, "asn": 65010,
          "ipaddr4": null, "ipaddr6": "not-an-address", "speed": null, "is_rs_peer": null,
          "operational": null, "status": null, "brand_new_field": [1, 2]}]}"#;
        let e: Envelope<NetIxLan> = serde_json::from_str(text).unwrap();
        let r = &e.data[0];
        assert_eq!((r.ipaddr4, r.ipaddr6, r.speed), (None, None, 0));
        assert!(!r.is_rs_peer && r.operational);
        assert_eq!(r.status, "ok");
        assert_eq!(e.meta, serde_json::Value::Null);
    }

    #[test]
    fn net_and_ixpfx_parse() {
        let n: Net = serde_json::from_str(
            r#"{"id": 9, "asn": 65010, "name": "N", "irr_as_set": null, "info_prefixes4": 20,
                "info_prefixes6": null, "policy_general": "Selective", "poc_set": []}"#,
        )
        .unwrap();
        assert_eq!((n.info_prefixes4, n.info_prefixes6), (Some(20), None));
        assert_eq!(n.irr_as_set, "");
        let p: IxPfx = serde_json::from_str(
            r#"{"id": 7, "ixlan_id": 42, "protocol": "IPv4", "prefix": "192.0.2.0/24", "in_dfz": true}"#,
        )
        .unwrap();
        assert_eq!(p.prefix, Some("192.0.2.0/24".parse().unwrap()));
    }

    #[test]
    fn field_lists_name_declared_fields_only() {
        let n = serde_json::to_value(Net {
            id: 1,
            asn: 2,
            name: String::new(),
            irr_as_set: String::new(),
            info_prefixes4: None,
            info_prefixes6: None,
            policy_general: String::new(),
            info_never_via_route_servers: false,
            status: "ok".into(),
        })
        .unwrap();
        let keys: Vec<&str> = n.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want: Vec<&str> = NET_FIELDS.split(',').collect();
        want.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, want);
    }
}
