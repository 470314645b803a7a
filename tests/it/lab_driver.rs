//! Render and the driver against the lab's real routers, as the worker
//! uses them: FRR (`frr` platform, vtysh over SSH), BIRD as our router
//! (`bird2` platform, include files over SSH), OpenBGPD (`openbgpd`,
//! include files joined, `bgpctl reload`) and GoBGP (`gobgp`, its CLI).
//! Add IPv4, IPv6 and IPv4 with TCP-MD5 (GoBGP: without; it refuses a
//! secret), see BGP come up on both sides, re-apply (idempotent), remove,
//! and see nothing left behind.

use crate::lab::Lab;
use crate::support::InventoryBuilder;
use peerd::driver::netconf::NetconfDriver;
use peerd::driver::{Executors, NeighborState, PushError, PushOutcome, RouterReads};
use peerd::inventory::Inventory;
use peerd::model::{Secret, Session, SessionStatus};
use peerd::platform::{Op, Profiles};
use peerd::render::{Renderer, TemplateEnv};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The worker's trip to a router without the worker: render with the
/// shipped profiles and templates, then the driver's executors.
pub struct LabDriver {
    render: Renderer,
    exec: Executors,
}

impl LabDriver {
    /// Adds the NETCONF executor.
    pub fn with_netconf(mut self, n: NetconfDriver) -> Self {
        self.exec = self.exec.with_netconf(n);
        self
    }

    /// Renders `op` for `sessions` (one router) and applies it.
    pub async fn apply(&self, op: Op, sessions: &[Session]) -> Result<PushOutcome, PushError> {
        let push = self.render.batch(op, sessions).expect("render");
        self.exec.apply(&push).await
    }

    /// Reads BGP state of `router`'s neighbors.
    pub async fn state(&self, router: &str) -> Result<HashMap<IpAddr, NeighborState>, PushError> {
        let plan = self.render.state(router).expect("render");
        let reads = RouterReads {
            router: router.into(),
            running: None,
            state: Some(plan.expect("the platform reads BGP state")),
            secrets: Vec::new(),
        };
        self.exec.read_router(reads).await.state.expect("asked")
    }
}

pub fn driver(inv: &Inventory) -> LabDriver {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let profiles = Profiles::load(&root.join("drivers")).expect("profiles");
    let env = TemplateEnv::load(&root.join("templates")).expect("templates");
    let inv = Arc::new(inv.clone());
    LabDriver {
        render: Renderer::new(Arc::new(env), Arc::new(profiles), inv.clone()),
        exec: Executors::new(inv),
    }
}

fn session(
    router: &str,
    loc: &str,
    asn: u32,
    local: &str,
    ours: &str,
    md5: Option<&str>,
) -> Session {
    Session {
        session_secret: md5.map(Secret::new),
        status: SessionStatus::Provisioning,
        created_by: "test".into(),
        ..Session::sample(
            router,
            loc,
            (asn, local.parse().unwrap()),
            (65001, ours.parse().unwrap()),
        )
    }
}

/// The peer's own view: `birdc show protocols` in the peer namespace.
pub fn peer_protocols(lab: &Lab, peer: &str) -> String {
    let cmd = lab.get(&format!("{peer}_BIRDC"));
    let mut parts = cmd.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .args(["show", "protocols"])
        .output()
        .expect("birdc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `birdc show protocols` for protocol `name`.
pub fn protocol_line(text: &str, name: &str) -> String {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_default()
        .to_string()
}

async fn wait_established(d: &LabDriver, router: &str, addrs: &[IpAddr]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = d.state(router).await.expect("state");
        if addrs
            .iter()
            .all(|a| st.get(a) == Some(&NeighborState::Established))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "router {router}: not all of {addrs:?} Established: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn add_up_remove(router: &str, loc: &str, ours_v4: &str, ours_v6: &str, proto: &str) {
    let _one = crate::lab::take_lab().await;
    let lab = Lab::load();
    let inv = InventoryBuilder::lab_more(&lab).build();
    let d = driver(&inv);
    let md5 = d
        .render
        .profiles
        .get(&inv.router(router).unwrap().platform)
        .unwrap()
        .tcp_md5;
    let mut sessions = vec![
        session(
            router,
            loc,
            65002,
            lab.get("PEER1_V4"),
            lab.get(ours_v4),
            None,
        ),
        session(
            router,
            loc,
            65002,
            lab.get("PEER1_V6"),
            lab.get(ours_v6),
            None,
        ),
        session(
            router,
            loc,
            65003,
            lab.get("PEER2_V4"),
            lab.get(ours_v4),
            Some(lab.get("PEER2_MD5")),
        ),
    ];
    if !md5 {
        // refused before anything is sent, without a word of the secret
        let e = d.render.batch(Op::Add, &sessions).unwrap_err().to_string();
        assert!(e.contains("cannot set a TCP-MD5 password"), "{e}");
        assert!(!e.contains(lab.get("PEER2_MD5")), "{e}");
        sessions.pop();
    }
    let addrs: Vec<IpAddr> = sessions.iter().map(|s| s.local_ip).collect();
    d.apply(Op::Add, &sessions).await.expect("add");
    // applying the same batch again changes nothing and still verifies
    d.apply(Op::Add, &sessions).await.expect("re-add");
    wait_established(&d, router, &addrs).await;
    for (peer, p) in [
        ("PEER1", format!("{proto}_v4")),
        ("PEER1", format!("{proto}_v6")),
        ("PEER2", format!("{proto}_v4")),
    ]
    .into_iter()
    .take(sessions.len())
    {
        let line = protocol_line(&peer_protocols(&lab, peer), &p);
        assert!(line.contains("Established"), "{peer} {p}: {line}");
    }
    d.apply(Op::Remove, &sessions).await.expect("remove");
    // removing again is harmless
    d.apply(Op::Remove, &sessions).await.expect("re-remove");
    let st = d.state(router).await.expect("state");
    for a in &addrs {
        assert!(!st.contains_key(a), "{a} still on {router}: {st:?}");
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn frr_add_establish_remove() {
    add_up_remove("rtr", "pdb:ix:1", "RTR_V4", "RTR_V6", "rtr").await;
}

#[tokio::test]
#[ignore = "lab"]
async fn bird2_add_establish_remove() {
    add_up_remove("rtr2", "pdb:ix:2", "RTR2_V4", "RTR2_V6", "rtr2").await;
}

#[tokio::test]
#[ignore = "lab"]
async fn openbgpd_add_establish_remove() {
    add_up_remove("rtr3", "pdb:ix:3", "RTR3_V4", "RTR3_V6", "rtr3").await;
    // nothing of peerd's left in the include directory
    let lab = Lab::load();
    let dir = Path::new(lab.get("RTR3_PEERS_DIR"));
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["sessions.inc".to_string()]);
    assert_eq!(
        std::fs::read_to_string(dir.join("sessions.inc")).unwrap(),
        ""
    );
}

#[tokio::test]
#[ignore = "lab"]
async fn gobgp_add_establish_remove() {
    add_up_remove("rtr4", "pdb:ix:4", "RTR4_V4", "RTR4_V6", "rtr4").await;
}
