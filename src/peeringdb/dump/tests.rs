//! Unit tests of loading a PeeringDB dump.

use super::*;
use std::io::Write;

fn inventory() -> Inventory {
    Inventory::from_yaml(
        r#"
asn: 65001
routers:
  - name: rtr1
    platform: frr
    host: 127.0.0.1
    user: ops
    credential: { key_file: /tmp/key }
    host_key: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake lab" }
locations:
  - id: pdb:ix:42
    type: public
    name: Lab-IX
    router: rtr1
    prefixes: [192.0.2.0/24]
    our_ips: [192.0.2.1]
"#,
        "inv.yaml",
    )
    .unwrap()
}

fn write(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const SMALL: &str = r#"{
      "org": {"data": [{"id": 1, "name": "ignored"}]},
      "ix": {"meta": {"generated": 1700000000.5}, "data": [{"id": 42, "name": "Lab-IX", "status": "ok"},
                                                            {"id": 7, "name": "Other", "status": "ok"}]},
      "ixlan": {"data": [{"id": 42, "ix_id": 42}, {"id": 7, "ix_id": 7}]},
      "ixpfx": {"data": [{"id": 1, "ixlan_id": 42, "protocol": "IPv4", "prefix": "192.0.2.0/24"}]},
      "netixlan": {"data": [
        {"id": 1, "net_id": 1, "ix_id": 42, "ixlan_id": 42, "asn": 65001, "ipaddr4": "192.0.2.1", "ipaddr6": null},
        {"id": 2, "net_id": 2, "ix_id": 42, "ixlan_id": 42, "asn": 65002, "ipaddr4": "192.0.2.2", "ipaddr6": null},
        {"id": 3, "net_id": 3, "ix_id": 7, "ixlan_id": 7, "asn": 65003, "ipaddr4": "198.51.100.3", "ipaddr6": null}]},
      "net": {"data": [{"id": 1, "asn": 65001, "name": "Us"}, {"id": 2, "asn": 65002, "name": "Them", "info_prefixes4": 4},
                       {"id": 3, "asn": 65003, "name": "Elsewhere"}]}
    }"#;

#[test]
fn loads_and_restricts_to_inventory() {
    let f = write(SMALL);
    let s = load_dump(f.path(), &inventory()).unwrap();
    assert_eq!(s.exchanges.keys().copied().collect::<Vec<_>>(), vec![42]);
    assert_eq!(
        s.nets.keys().copied().collect::<Vec<_>>(),
        vec![65001, 65002]
    );
    assert_eq!(s.common_exchanges(65001, 65002), vec![42]);
    assert_eq!(s.taken_at, 1_700_000_000_500);
    assert!(s.source.starts_with("dump "));
}

#[test]
fn size_limit_and_missing_sections() {
    let f = write(SMALL);
    let e = load_dump_limited(f.path(), &inventory(), 100).unwrap_err();
    assert!(matches!(e, PdbError::TooLarge { .. }), "{e}");
    let f = write(r#"{"ix": {"data": []}}"#);
    let e = load_dump(f.path(), &inventory()).unwrap_err().to_string();
    assert!(e.contains("ixlan"), "{e}");
    let e = load_dump(Path::new("/nonexistent/dump.json"), &inventory())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot open"), "{e}");
}
