//! Unit tests of the PeeringDB record types.

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
