//! Render rows: `render_batch` of 100 sessions (frr, bird2) on one core,
//! against bare Tera rendering the same template with a context built
//! once and reused.

use super::{Cfg, Goal, Row};
use peerd::inventory::Inventory;
use peerd::model::Session;
use peerd::platform::{Op, Profiles};
use peerd::render::context::{neighbor_ctx, router_ctx, template_ctx};
use peerd::render::{render_batch, TemplateEnv};
use std::path::Path;
use std::time::Instant;

const SECS: f64 = 1.5;

fn inventory(platform: &str) -> Inventory {
    Inventory::from_yaml(
        &format!(
            r#"asn: 65001
routers:
  - {{name: r, platform: {platform}, host: 127.0.0.1, user: u, credential: {{key_file: /k}},
      host_key: {{key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench"}},
      import_policy: IN, export_policy: OUT}}
locations:
  - {{id: "pdb:ix:1", type: public, name: B, router: r, prefixes: [198.51.100.0/23, "2001:db8::/64"], our_ips: [198.51.100.1, "2001:db8::1"]}}
policy: {{max_sessions_per_request: 100}}
"#
        ),
        "bench",
    )
    .unwrap()
}

/// 100 sessions, half IPv4 and half IPv6, every fourth with a secret.
fn batch() -> Vec<Session> {
    (0..100u32)
        .map(|i| {
            let (local, ours) = if i % 2 == 0 {
                (format!("198.51.100.{}", 2 + i), "198.51.100.1")
            } else {
                (format!("2001:db8::{:x}", 2 + i), "2001:db8::1")
            };
            let mut s = Session::sample(
                "r",
                "pdb:ix:1",
                (64512 + i, local.parse().unwrap()),
                (65001, ours.parse().unwrap()),
            );
            s.seq = u64::from(i);
            if i % 4 == 0 {
                s.session_secret = Some(peerd::model::Secret::new("bench-md5"));
            }
            s
        })
        .collect()
}

/// Neighbors per second through `render_batch`: for 1.5 s, or exactly
/// `batches` batches.
fn peerd_rate(
    env: &TemplateEnv,
    profiles: &Profiles,
    inv: &Inventory,
    b: &[Session],
    batches: Option<usize>,
) -> f64 {
    let t0 = Instant::now();
    let mut n = 0usize;
    while match batches {
        Some(k) => n < k * b.len(),
        None => t0.elapsed().as_secs_f64() < SECS,
    } {
        let p = render_batch(env, profiles, Op::Add, b, inv).unwrap();
        n += p.session_ids.len();
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// Neighbors per second through bare Tera: frr renders the batch's one
/// snippet, bird2 one file per neighbor (its `neighbor` context).
fn bare_rate(platform: &str, profiles: &Profiles, inv: &Inventory, b: &[Session]) -> f64 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates")
        .join(platform);
    let router = inv.router("r").unwrap();
    let loc = inv.location("pdb:ix:1").unwrap();
    let rctx = router_ctx(router, profiles.get(platform).unwrap()).unwrap();
    let ns: Vec<_> = b
        .iter()
        .map(|s| neighbor_ctx(s, inv, router, loc).unwrap())
        .collect();
    if platform == "frr" {
        let t = std::fs::read_to_string(root.join("add.vtysh.tera")).unwrap();
        let ctx = tera::Context::from_serialize(&template_ctx(Op::Add, 65001, rctx, ns)).unwrap();
        super::bare::tera_renders(&t, &ctx, SECS) * b.len() as f64
    } else {
        let t = std::fs::read_to_string(root.join("session.conf.tera")).unwrap();
        let mut one = template_ctx(Op::Add, 65001, rctx, vec![ns[0].clone()]);
        one.neighbor = Some(ns[0].clone());
        let ctx = tera::Context::from_serialize(&one).unwrap();
        super::bare::tera_renders(&t, &ctx, SECS)
    }
}

pub fn rows(cfg: &Cfg) -> Vec<Row> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let profiles = Profiles::load(&root.join("drivers")).unwrap();
    let env = TemplateEnv::load(&root.join("templates")).unwrap();
    let b = batch();
    let mut rows = Vec::new();
    for platform in ["frr", "bird2"]
        .into_iter()
        .filter(|p| cfg.wants_platform(p))
    {
        let inv = inventory(platform);
        let (mut p, mut base) = (Vec::new(), Vec::new());
        for r in 0..cfg.rounds {
            base.push(bare_rate(platform, &profiles, &inv, &b));
            p.push(peerd_rate(&env, &profiles, &inv, &b, cfg.render_batches));
            println!(
                "render {platform}: round {r}: bare {:.0}/s, peerd {:.0}/s",
                base[r], p[r]
            );
        }
        rows.push(Row {
            measure: format!("render {platform}, batch of 100, one core (neighbors/s)"),
            peerd: p,
            base,
            unit: "/s",
            goal: Goal::AtLeast(300_000.0),
        });
    }
    rows
}
