//! A platform is data: adding one needs a profile and its templates, no
//! Rust. A copy of the FRR platform under a new name, in a directory of its
//! own, is checked and rendered by the real `peerd` binary.

use crate::support::{cli, platforms_in, repo_root, router, InventoryBuilder, OUR_ASN};
use std::path::Path;

/// Copies `drivers/<from>.yaml` and `templates/<from>/` of the repository
/// to `<dir>/drivers/<to>.yaml` and `<dir>/templates/<to>/`.
fn copy_platform(from: &str, to: &str, dir: &Path) {
    let root = repo_root();
    std::fs::create_dir_all(dir.join("drivers")).unwrap();
    std::fs::copy(
        root.join("drivers").join(format!("{from}.yaml")),
        dir.join("drivers").join(format!("{to}.yaml")),
    )
    .unwrap();
    let templates = dir.join("templates").join(to);
    std::fs::create_dir_all(&templates).unwrap();
    for f in std::fs::read_dir(root.join("templates").join(from)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, templates.join(f.file_name().unwrap())).unwrap();
    }
}

/// Settings naming `dir`'s drivers and templates, and an inventory whose
/// `rtr1` runs `platform`.
fn settings(dir: &Path, platform: &str) -> String {
    let inv = InventoryBuilder::new(OUR_ASN)
        .router(router("rtr1", platform, 2222))
        .location(
            "pdb:ix:1",
            "Test-IX",
            "rtr1",
            &["192.0.2.0/24", "2001:db8::/64"],
            &["192.0.2.1", "2001:db8::1"],
        )
        .auto()
        .yaml();
    let inv_path = dir.join(format!("inventory-{platform}.yaml"));
    std::fs::write(&inv_path, inv).unwrap();
    let cfg = dir.join(format!("peerd-{platform}.yaml"));
    std::fs::write(
        &cfg,
        format!(
            "inventory: {}\ndrivers_dir: {}\ntemplates_dir: {}\noperator_keys_file: {}\n",
            inv_path.display(),
            dir.join("drivers").display(),
            dir.join("templates").display(),
            dir.join("operator-keys.yaml").display(),
        ),
    )
    .unwrap();
    cfg.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_new_platform_is_a_profile_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The new platform only; frr beside it for the comparison below.
    copy_platform("frr", "acme-router", d);
    assert_eq!(platforms_in(&d.join("drivers")), ["acme-router"]);
    let cfg = settings(d, "acme-router");

    // (its routers' credentials do not exist: not what this is about)
    let out = cli(d, &["check", "--skip-credentials", "--config", &cfg]).await;
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("1 platform(s): acme-router; every template renders"),
        "{}",
        out.stdout
    );

    // It renders what the platform it was copied from renders.
    let req = d.join("req.json");
    std::fs::write(
        &req,
        r#"[{"local_asn": 65002, "local_ip": "192.0.2.2", "peer_asn": 65001, "peer_ip": "192.0.2.1",
             "location": {"id": "pdb:ix:1", "type": "public"}}]"#,
    )
    .unwrap();
    let req = req.to_str().unwrap();
    let acme = cli(d, &["render", req, "--config", &cfg]).await;
    assert!(acme.status.success(), "{}", acme.stderr);
    copy_platform("frr", "frr", d);
    let frr_cfg = settings(d, "frr");
    let frr = cli(d, &["render", req, "--config", &frr_cfg]).await;
    assert!(frr.status.success(), "{}", frr.stderr);
    assert!(
        acme.stdout.contains("neighbor 192.0.2.2 remote-as 65002"),
        "{}",
        acme.stdout
    );
    // the same push; only the platform's name and the fresh session id
    // (each render takes the request in anew) differ
    let same = |text: &str| -> String {
        text.replace("acme-router", "frr")
            .lines()
            .filter(|l| !l.starts_with("#   session "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        same(&acme.stdout),
        same(&frr.stdout),
        "acme-router:\n{}\nfrr:\n{}",
        acme.stdout,
        frr.stdout
    );

    // A router naming a platform that has no profile is refused by check.
    let bad = settings(d, "nobody-made-this");
    let out = cli(d, &["check", "--config", &bad]).await;
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains("nobody-made-this"), "{}", out.stderr);
}
