//! Facts about the running test lab, read from `$PEERD_LAB_DIR/lab.env`
//! (default `/tmp/peerd-lab`), which `tests/lab/lab-up.sh` writes. Shared by
//! every lab test module.

use peerd::inventory::{Credential, HostKey, Router};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Lab tests share routers and peers: they run one at a time ([`take_lab`]).
static LAB_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes the lab for one test, after clearing what a test before it left
/// on the routers when it failed before its own cleanup: FRR neighbors
/// with a description peerd writes (`peerd AS...`) and BIRD's per-session
/// files (`peerd_*.conf`). Without this, one failure spreads to every
/// later test that uses the same peer ("already exists on router ... and
/// was not configured by peerd"). Neighbors made by hand are left alone.
pub async fn take_lab() -> tokio::sync::MutexGuard<'static, ()> {
    let held = LAB_LOCK.lock().await;
    Lab::load().clear_leftovers();
    held
}

/// The lab's `lab.env`, as key/value pairs.
pub struct Lab {
    vars: BTreeMap<String, String>,
}

impl Lab {
    /// Reads the facts file; panics with a hint when the lab is not up.
    pub fn load() -> Lab {
        let dir = std::env::var("PEERD_LAB_DIR").unwrap_or_else(|_| "/tmp/peerd-lab".into());
        let path = PathBuf::from(&dir).join("lab.env");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}. Is the lab up? Run `sudo tests/run.sh`, \
                 or `sudo tests/lab/lab-up.sh` and then the tests with --include-ignored",
                path.display()
            )
        });
        Lab {
            vars: parse_env(&text),
        }
    }

    /// The value of `PEERD_LAB_<key>`; panics when it is missing.
    pub fn get(&self, key: &str) -> &str {
        let k = format!("PEERD_LAB_{key}");
        self.vars
            .get(&k)
            .unwrap_or_else(|| panic!("lab.env has no {k}"))
    }

    pub fn port(&self, key: &str) -> u16 {
        self.get(key).parse().expect("a port number")
    }

    /// A router entry for the lab's sshd on the given port variable
    /// (`RTR_PORT`, `RTR2_PORT`, `NETCONF_PORT`), key auth, host key pinned
    /// through the lab's known_hosts file.
    pub fn router(&self, name: &str, platform: &str, port_key: &str) -> Router {
        Router {
            name: name.into(),
            platform: platform.into(),
            host: self.get("HOST").into(),
            port: self.port(port_key),
            user: self.get("USER").into(),
            credential: Credential::KeyFile(self.get("SSH_KEY").into()),
            host_key: HostKey::KnownHosts(self.get("KNOWN_HOSTS").into()),
            import_policy: None,
            export_policy: None,
            vars: BTreeMap::new(),
        }
    }
}

impl Lab {
    /// See [`take_lab`].
    fn clear_leftovers(&self) {
        let left: Vec<String> = vtysh(self, &["show running-config bgpd"])
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("neighbor ")?;
                let (addr, what) = rest.split_once(' ')?;
                what.starts_with("description peerd AS")
                    .then(|| format!("no neighbor {addr}"))
            })
            .collect();
        if !left.is_empty() {
            eprintln!("lab: clearing FRR neighbors a failed test left: {left:?}");
            frr_by_hand(self, &left);
        }
        let dir = PathBuf::from(self.get("RTR2_PEERS_DIR"));
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("peerd_"))
            })
            .collect();
        if !files.is_empty() {
            eprintln!("lab: removing BIRD files a failed test left: {files:?}");
            for f in &files {
                let _ = std::fs::remove_file(f);
            }
            let out = std::process::Command::new(self.get("RTR2_BIRDC"))
                .arg("configure")
                .output()
                .expect("birdc");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("Reconfigur"), "birdc configure: {text}");
        }
    }
}

/// Runs vtysh on the lab's FRR (locally, as root) and returns its stdout.
pub fn vtysh(lab: &Lab, cmds: &[&str]) -> String {
    let mut c = std::process::Command::new(lab.get("RTR_VTYSH"));
    for cmd in cmds {
        c.args(["-c", cmd]);
    }
    let out = c.output().expect("vtysh");
    assert!(out.status.success(), "vtysh {cmds:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Configures FRR's `router bgp` by hand.
pub fn frr_by_hand(lab: &Lab, lines: &[String]) {
    let bgp = format!("router bgp {}", lab.get("RTR_ASN"));
    let mut cmds = vec!["configure terminal", bgp.as_str()];
    cmds.extend(lines.iter().map(String::as_str));
    vtysh(lab, &cmds);
}

/// Our lab routers as inventory entries, with their policies and paths.
pub fn lab_routers(lab: &Lab) -> (Router, Router) {
    let mut rtr = lab.router("rtr", "frr", "RTR_PORT");
    rtr.import_policy = Some(lab.get("RTR_POLICY_IN").into());
    rtr.export_policy = Some(lab.get("RTR_POLICY_OUT").into());
    let mut rtr2 = lab.router("rtr2", "bird2", "RTR2_PORT");
    rtr2.import_policy = Some(lab.get("RTR2_POLICY_IN").into());
    rtr2.export_policy = Some(lab.get("RTR2_POLICY_OUT").into());
    rtr2.vars
        .insert("include_dir".into(), lab.get("RTR2_PEERS_DIR").into());
    rtr2.vars
        .insert("bird_conf".into(), lab.get("RTR2_CONF").into());
    rtr2.vars.insert(
        "bird_socket".into(),
        format!("{}/bird.ctl", lab.get("RTR2_DIR")),
    );
    (rtr, rtr2)
}

/// The lab's OpenBGPD (`rtr3`, platform `openbgpd`) and GoBGP (`rtr4`,
/// platform `gobgp`) as inventory entries, with their paths. Neither
/// platform uses policy names (OpenBGPD's filters and GoBGP's global
/// policy are the routers' own).
pub fn lab_routers_more(lab: &Lab) -> (Router, Router) {
    let mut rtr3 = lab.router("rtr3", "openbgpd", "RTR3_PORT");
    rtr3.vars
        .insert("include_dir".into(), lab.get("RTR3_PEERS_DIR").into());
    rtr3.vars
        .insert("bgpd_conf".into(), lab.get("RTR3_CONF").into());
    rtr3.vars
        .insert("bgpd_socket".into(), lab.get("RTR3_SOCKET").into());
    let mut rtr4 = lab.router("rtr4", "gobgp", "RTR4_PORT");
    rtr4.vars
        .insert("target".into(), lab.get("RTR4_TARGET").into());
    (rtr3, rtr4)
}

/// `KEY='value'` / `KEY=value` lines; comments and blanks skipped.
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn parses_lab_env_lines() {
    let m = parse_env("# c\nPEERD_LAB_A='x y'\nPEERD_LAB_B=2\n\nPEERD_LAB_C=\"q\"\n");
    assert_eq!(m["PEERD_LAB_A"], "x y");
    assert_eq!(m["PEERD_LAB_B"], "2");
    assert_eq!(m["PEERD_LAB_C"], "q");
}
