//! Golden tests of every shipped platform (templates/ + drivers/; the list
//! is read from drivers/): each platform x add/remove x IPv4/IPv6 x
//! with/without MD5, batches of three for the ssh-exec platforms, and
//! `peerd check` over everything. The snapshots in
//! tests/golden/ are exactly what `peerd render` prints (secrets shown); a
//! platform that cannot set TCP-MD5 (`tcp_md5: false`) has its refusal as
//! the MD5 cases' snapshot.
//!
//! Lab-tagged tests feed the FRR, BIRD and OpenBGPD renders to the real
//! parsers (`vtysh --dryrun`, `bird -p`, `bgpd -n`).

use crate::support::{shipped_platforms, InventoryBuilder};
use peerd::inventory::Inventory;
use peerd::model::{Secret, Session};
use peerd::platform::{Op, Profiles};
use peerd::render::{self, TemplateEnv};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> (TemplateEnv, Profiles) {
    let env = TemplateEnv::load(&root().join("templates")).expect("templates load");
    let profiles = Profiles::load(&root().join("drivers")).expect("profiles load");
    (env, profiles)
}

/// One router on `platform` at one IXP, as the lab has it, with import
/// and export policies.
fn inventory(platform: &str) -> Inventory {
    InventoryBuilder::golden(platform)
        .edit_router("rtr1", |r| {
            r.import_policy = Some("PEERD_IN".into());
            r.export_policy = Some("PEERD_OUT".into());
        })
        .build()
}

/// Peer 1 (AS65002, .2 / ::2) without MD5, peer 2 (AS65003, .3 / ::3) with.
fn session(n: u32, v6: bool, md5: bool) -> Session {
    let host = if md5 { 3 } else { 2 };
    let (local_ip, peer_ip) = if v6 {
        (format!("2001:db8::{host}"), "2001:db8::1".to_string())
    } else {
        (format!("192.0.2.{host}"), "192.0.2.1".to_string())
    };
    Session {
        session_id: format!("7e57da7a-0000-4000-8000-{n:012x}"),
        request_id: "7e57da7a-0000-4000-8000-000000000000".into(),
        session_secret: md5.then(|| Secret::new("lab-md5-secret")),
        seq: n as u64,
        created_by: "test".into(),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (if md5 { 65003 } else { 65002 }, local_ip.parse().unwrap()),
            (65001, peer_ip.parse().unwrap()),
        )
    }
}

fn golden(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../golden",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

fn render(platform: &str, op: Op, sessions: &[Session]) -> String {
    let (env, profiles) = shipped();
    let refuses_md5 = !profiles.get(platform).unwrap().tcp_md5
        && sessions.iter().any(|s| s.session_secret.is_some());
    match render::render_for_cli(&env, &profiles, &inventory(platform), op, sessions, true) {
        Ok(text) => {
            assert!(!refuses_md5, "{platform} rendered a session secret");
            text
        }
        Err(e) if refuses_md5 => {
            let e = e.to_string();
            assert!(e.contains("cannot set a TCP-MD5 password"), "{e}");
            assert!(!e.contains("lab-md5-secret"), "{e}");
            format!("refused: {e}\n")
        }
        Err(e) => panic!("{platform} {op:?}: {e}"),
    }
}

#[test]
fn golden_every_platform_and_case() {
    for platform in shipped_platforms() {
        let platform = platform.as_str();
        for op in [Op::Add, Op::Remove] {
            for v6 in [false, true] {
                for md5 in [false, true] {
                    let text = render(platform, op, &[session(1, v6, md5)]);
                    let name = format!(
                        "{platform}__{}_{}{}",
                        op.as_str(),
                        if v6 { "ipv6" } else { "ipv4" },
                        if md5 { "_md5" } else { "" }
                    );
                    golden(&name, &text);
                }
            }
        }
    }
}

#[test]
fn golden_batches_of_three() {
    let batch = [
        session(1, false, false),
        session(2, true, false),
        session(3, false, true),
    ];
    // GoBGP cannot set TCP-MD5: its third session has no secret
    let no_md5 = [
        session(1, false, false),
        session(2, true, false),
        Session {
            session_secret: None,
            ..session(3, false, true)
        },
    ];
    for platform in ["frr", "bird2", "openbgpd", "gobgp"] {
        let batch = if platform == "gobgp" { &no_md5 } else { &batch };
        for op in [Op::Add, Op::Remove] {
            golden(
                &format!("{platform}__{}_batch3", op.as_str()),
                &render(platform, op, batch),
            );
        }
    }
}

#[test]
fn redacted_unless_asked() {
    let (env, profiles) = shipped();
    let s = [session(1, false, true)];
    for platform in shipped_platforms() {
        let platform = platform.as_str();
        let r = render::render_for_cli(&env, &profiles, &inventory(platform), Op::Add, &s, false);
        if !profiles.get(platform).unwrap().tcp_md5 {
            let e = r.unwrap_err().to_string();
            assert!(!e.contains("lab-md5-secret"), "{platform}: {e}");
            continue;
        }
        let text = r.unwrap();
        assert!(!text.contains("lab-md5-secret"), "{platform}: {text}");
        assert!(text.contains("<redacted>"), "{platform}: {text}");
    }
}

#[test]
fn rendered_xml_is_well_formed() {
    let (env, profiles) = shipped();
    let batch = [session(1, false, false), session(2, true, true)];
    for platform in shipped_platforms() {
        let platform = platform.as_str();
        if !profiles.get(platform).unwrap().tcp_md5 {
            continue; // refuses the batch; nothing of it is XML either
        }
        let inv = inventory(platform);
        for op in [Op::Add, Op::Remove] {
            let p = render::render_batch(&env, &profiles, op, &batch, &inv).unwrap();
            let mut docs = Vec::new();
            if let peerd::platform::PushPlan::Netconf { config, .. } = &p.plan {
                docs.push(config.clone());
            }
            match &p.verify.request {
                peerd::platform::ReadRequest::NetconfGetConfig { filter, .. }
                | peerd::platform::ReadRequest::NetconfGet { filter, .. } => {
                    docs.push(filter.clone())
                }
                peerd::platform::ReadRequest::NetconfRpc { body, .. } => docs.push(body.clone()),
                _ => {}
            }
            for d in docs {
                peerd::platform::parsers::xml::parse(&d)
                    .unwrap_or_else(|e| panic!("{platform}: {e}\n{d}"));
            }
        }
    }
}

#[test]
fn check_passes_on_the_shipped_platforms() {
    let (env, profiles) = shipped();
    let mut loaded: Vec<&str> = profiles.platforms().collect();
    loaded.sort();
    assert_eq!(loaded, shipped_platforms());
    // With a real router for one platform, and sample routers for the rest.
    render::check_all(&inventory("frr"), &profiles, &env)
        .unwrap_or_else(|e| panic!("{}", e.join("\n")));
    // The sample sessions cover both families, with and without MD5.
    let samples = render::sample_sessions(&inventory("frr"));
    assert_eq!(samples.len(), 4);
    assert_eq!(samples.iter().filter(|s| s.local_ip.is_ipv6()).count(), 2);
    assert_eq!(
        samples
            .iter()
            .filter(|s| s.session_secret.is_some())
            .count(),
        2
    );
}

#[test]
fn check_reports_a_broken_template() {
    let (_, profiles) = shipped();
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("templates");
    for platform in shipped_platforms() {
        let platform = platform.as_str();
        std::fs::create_dir_all(dir.path().join(platform)).unwrap();
        for f in std::fs::read_dir(src.join(platform)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dir.path().join(platform).join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        dir.path().join("frr/remove.vtysh.tera"),
        "router bgp {{ local_as }}\n no neighbor {{ n.address }}\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("junos/state-rpc.xml.tera")).unwrap();
    let env = TemplateEnv::load(dir.path()).unwrap();
    let errs = render::check_all(&inventory("frr"), &profiles, &env).unwrap_err();
    let all = errs.join("\n");
    assert!(
        all.contains(
            "junos.yaml: state.rpc: template templates/junos/state-rpc.xml.tera does not exist"
        ),
        "{all}"
    );
    std::fs::write(
        dir.path().join("junos/state-rpc.xml.tera"),
        "<get-bgp-neighbor-information/>",
    )
    .unwrap();
    let env = TemplateEnv::load(dir.path()).unwrap();
    let all = render::check_all(&inventory("frr"), &profiles, &env)
        .unwrap_err()
        .join("\n");
    assert!(
        all.contains("platform frr") && all.contains("frr/remove.vtysh.tera"),
        "{all}"
    );
}

/// The batch renders, pushed to the real daemons in the lab, read back:
/// the verify step accepts what the routers answered (captured output).
#[test]
fn verify_accepts_what_the_lab_routers_answered() {
    let (env, profiles) = shipped();
    let batch = [
        session(1, false, false),
        session(2, true, false),
        session(3, false, true),
    ];
    let td = |f: &str| {
        std::fs::read_to_string(root().join("src/platform/parsers/testdata").join(f)).unwrap()
    };
    // FRR 8.4 `show running-config bgpd` after the frr batch was applied.
    let add = render::render_batch(&env, &profiles, Op::Add, &batch, &inventory("frr")).unwrap();
    add.check_verify(&td("frr-running.txt")).unwrap();
    let missing = add.check_verify(&td("frr-running-empty.txt")).unwrap_err();
    assert_eq!(missing.len(), 3, "{missing:?}");
    let rm = render::render_batch(&env, &profiles, Op::Remove, &batch, &inventory("frr")).unwrap();
    rm.check_verify(&td("frr-running-empty.txt")).unwrap();
    assert_eq!(
        rm.check_verify(&td("frr-running.txt")).unwrap_err().len(),
        3
    );
    // BIRD 2.0.12 `show protocols all` after the bird2 batch's files were
    // written and `birdc configure` ran.
    let add = render::render_batch(&env, &profiles, Op::Add, &batch, &inventory("bird2")).unwrap();
    add.check_verify(&td("bird-router-batch3.txt")).unwrap();
    // A wrong AS is caught.
    let mut other = session(1, false, false);
    other.local_asn = peerd::model::Asn(65009);
    let wrong =
        render::render_batch(&env, &profiles, Op::Add, &[other], &inventory("bird2")).unwrap();
    let e = wrong
        .check_verify(&td("bird-router-batch3.txt"))
        .unwrap_err();
    assert!(e[0].contains("has peer AS 65002, expected 65009"), "{e:?}");
    // OpenBGPD 7.7 `bgpctl -j show summary` with this batch (and a
    // neighbor configured by hand) up; removed, bgpd answers "no such
    // neighbor".
    let no_neighbor = "{\n\t\"status\": \"FAILED\",\n\t\"error\": \"no such neighbor\"\n}\n";
    let inv = inventory("openbgpd");
    let add = render::render_batch(&env, &profiles, Op::Add, &batch, &inv).unwrap();
    add.check_verify(&td("openbgpd-summary.json")).unwrap();
    assert_eq!(add.check_verify(no_neighbor).unwrap_err().len(), 3);
    let rm = render::render_batch(&env, &profiles, Op::Remove, &batch, &inv).unwrap();
    rm.check_verify(no_neighbor).unwrap();
    assert_eq!(
        rm.check_verify(&td("openbgpd-summary.json"))
            .unwrap_err()
            .len(),
        3
    );
    // GoBGP 3.10 `gobgp neighbor -j` with the IPv4 and IPv6 sessions up.
    let inv = inventory("gobgp");
    let add = render::render_batch(&env, &profiles, Op::Add, &batch[..2], &inv).unwrap();
    add.check_verify(&td("gobgp-neighbors-established.json"))
        .unwrap();
    let rm = render::render_batch(&env, &profiles, Op::Remove, &batch[..2], &inv).unwrap();
    rm.check_verify("[]").unwrap();
    assert_eq!(
        rm.check_verify(&td("gobgp-neighbors-established.json"))
            .unwrap_err()
            .len(),
        2
    );
}

/// Every FRR render passes FRR's own parser (`vtysh --dryrun`, no daemon).
#[test]
#[ignore = "lab"]
fn frr_renders_parse_with_vtysh_dryrun() {
    let (env, profiles) = shipped();
    let inv = inventory("frr");
    let dir = tempfile::tempdir().unwrap();
    let batch = [
        session(1, false, false),
        session(2, true, false),
        session(3, false, true),
        session(4, true, true),
    ];
    for op in [Op::Add, Op::Remove] {
        let p = render::render_batch(&env, &profiles, op, &batch, &inv).unwrap();
        let peerd::platform::PushPlan::Exec { steps, rollback } = &p.plan else {
            panic!()
        };
        for (i, s) in steps.iter().chain(rollback).enumerate() {
            let Some(stdin) = &s.stdin else { continue };
            let f = dir.path().join(format!("{}-{i}.conf", op.as_str()));
            std::fs::write(&f, stdin).unwrap();
            let out = std::process::Command::new("vtysh")
                .arg("--dryrun")
                .arg("-f")
                .arg(&f)
                .output()
                .expect("vtysh");
            assert!(
                out.status.success(),
                "vtysh --dryrun refused:\n{stdin}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Every BIRD render passes BIRD's own parser (`bird -p`), included from a
/// main config that defines the inventory's filters.
#[test]
#[ignore = "lab"]
fn bird_renders_parse_with_bird_p() {
    let (env, profiles) = shipped();
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("peerd");
    std::fs::create_dir_all(&inc).unwrap();
    let main = dir.path().join("bird.conf");
    std::fs::write(
        &main,
        format!(
            "router id 192.0.2.1;\nprotocol device {{}}\nfilter PEERD_IN {{ accept; }}\nfilter PEERD_OUT {{ reject; }}\ninclude \"{}/*.conf\";\n",
            inc.display()
        ),
    )
    .unwrap();
    let batch = [
        session(1, false, false),
        session(2, true, false),
        session(3, false, true),
        session(4, true, true),
    ];
    let p = render::render_batch(&env, &profiles, Op::Add, &batch, &inventory("bird2")).unwrap();
    let peerd::platform::PushPlan::Exec { steps, .. } = &p.plan else {
        panic!()
    };
    let mut files = 0;
    for s in steps {
        if let (Some(file), Some(stdin)) = (&s.file, &s.stdin) {
            std::fs::write(inc.join(file), stdin).unwrap();
            files += 1;
        }
    }
    assert_eq!(files, 4);
    let out = std::process::Command::new("bird")
        .arg("-p")
        .arg("-c")
        .arg(&main)
        .output()
        .expect("bird");
    assert!(
        out.status.success(),
        "bird -p refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every OpenBGPD render passes OpenBGPD's own parser (`bgpd -n`): the
/// session files joined as the profile joins them, included from a main
/// config.
#[test]
#[ignore = "lab"]
fn openbgpd_renders_parse_with_bgpd_n() {
    let (env, profiles) = shipped();
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("bgpd.conf");
    let inc = dir.path().join("sessions.inc");
    std::fs::write(
        &main,
        format!(
            "AS 65001\nrouter-id 192.0.2.1\nsocket \"{}/bgpd.sock\"\ninclude \"{}\"\nallow from any\nallow to any\n",
            dir.path().display(),
            inc.display()
        ),
    )
    .unwrap();
    let batch = [
        session(1, false, false),
        session(2, true, false),
        session(3, false, true),
        session(4, true, true),
    ];
    let p = render::render_batch(&env, &profiles, Op::Add, &batch, &inventory("openbgpd")).unwrap();
    let peerd::platform::PushPlan::Exec { steps, .. } = &p.plan else {
        panic!()
    };
    let joined: String = steps
        .iter()
        .filter(|s| s.file.is_some())
        .filter_map(|s| s.stdin.clone())
        .collect();
    assert_eq!(joined.matches("neighbor ").count(), 4, "{joined}");
    std::fs::write(&inc, &joined).unwrap();
    let out = std::process::Command::new("bgpd")
        .arg("-n")
        .arg("-f")
        .arg(&main)
        .output()
        .expect("bgpd");
    assert!(
        out.status.success(),
        "bgpd -n refused:\n{joined}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The drain form (graceful shutdown before a removal or a maintenance
/// shutdown) and the shutdown form (maintenance), as one batch of an IPv4
/// and an IPv6 session, on every platform whose profile renders them.
#[test]
fn golden_drain_and_shutdown_forms() {
    use peerd::model::{Drain, MaintenanceHold};
    let (env, profiles) = shipped();
    let drained = |s: Session| Session {
        drain: Some(Drain::default()),
        ..s
    };
    let shut = |s: Session| Session {
        maintenance: Some(MaintenanceHold {
            window: "7e57da7a-0000-4000-8000-00000000aaaa".into(),
            drain: None,
            shutdown: true,
        }),
        ..s
    };
    for platform in shipped_platforms() {
        let platform = platform.as_str();
        let p = profiles.get(platform).unwrap();
        let inv = InventoryBuilder::golden(platform)
            .edit_router("rtr1", |r| {
                r.import_policy = Some("PEERD_IN".into());
                r.export_policy = Some("PEERD_OUT".into());
                r.vars
                    .insert("drain_export_policy".into(), "PEERD_OUT_GSHUT".into());
            })
            .build();
        for (form, supported) in [("drain", p.graceful_shutdown), ("shutdown", p.shutdown)] {
            if !supported {
                continue;
            }
            let wrap = |s: Session| if form == "drain" { drained(s) } else { shut(s) };
            let batch = [
                wrap(session(1, false, false)),
                wrap(session(2, true, false)),
            ];
            let text = render::render_for_cli(&env, &profiles, &inv, Op::Add, &batch, true)
                .unwrap_or_else(|e| panic!("{platform} {form}: {e}"));
            golden(&format!("{platform}__add_{form}"), &text);
        }
        // a form the platform does not render is its normal add
        if !p.graceful_shutdown {
            let batch = [drained(session(1, false, false))];
            let normal = [session(1, false, false)];
            assert_eq!(
                render::render_for_cli(&env, &profiles, &inv, Op::Add, &batch, true).ok(),
                render::render_for_cli(&env, &profiles, &inv, Op::Add, &normal, true).ok(),
                "{platform}"
            );
        }
    }
}
