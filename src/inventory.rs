//! `inventory.yaml`: our ASN, the routers, the locations we peer at and the
//! approval policy. Loaded with unknown keys refused, then cross-checked;
//! every error names the file, the key path and the problem.

use crate::model::{Asn, LocationType};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The whole inventory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Our ASN: the `peer_asn` of every session.
    pub asn: u32,
    pub routers: Vec<Router>,
    pub locations: Vec<Location>,
    #[serde(default)]
    pub policy: Policy,
}

/// How peerd logs in to a router. Secrets are referenced, never inline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Credential {
    /// Path to an OpenSSH private key file.
    KeyFile(PathBuf),
    /// Name of an environment variable that holds the password.
    PasswordEnv(String),
    /// Path to a file whose first line is the password.
    PasswordFile(PathBuf),
}

/// The router's SSH host key, pinned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum HostKey {
    /// An OpenSSH public key line: `ssh-ed25519 AAAA... [comment]`.
    Key(String),
    /// A known_hosts file holding an entry for `[host]:port` (or `host`).
    KnownHosts(PathBuf),
}

/// One router we configure.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    pub name: String,
    /// A profile name in `drivers/` (`frr`, `bird2`, `junos`, ...).
    pub platform: String,
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    pub credential: Credential,
    pub host_key: HostKey,
    /// Import policy (route-map / filter / policy-statement name).
    #[serde(default)]
    pub import_policy: Option<String>,
    /// Export policy name.
    #[serde(default)]
    pub export_policy: Option<String>,
    /// Extra platform variables handed to templates as `router.vars`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

fn default_ssh_port() -> u16 {
    22
}

/// One place where we peer (an IXP LAN).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// `pdb:ix:<ix id>`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: LocationType,
    pub name: String,
    /// The router (by name) that holds our side of sessions here.
    pub router: String,
    /// Peering LAN prefixes, IPv4 and/or IPv6.
    pub prefixes: Vec<IpNet>,
    /// Our addresses on the LAN.
    pub our_ips: Vec<IpAddr>,
    /// IRR prefix filters for sessions here; unset = `policy.prefix_filter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_filter: Option<PrefixFilter>,
}

impl Location {
    /// The IRR filter policy for sessions here (the location's, else the
    /// inventory's), when it is on.
    pub fn filter<'a>(&'a self, policy: &'a Policy) -> Option<&'a PrefixFilter> {
        self.prefix_filter
            .as_ref()
            .or(policy.prefix_filter.as_ref())
            .filter(|f| f.enabled)
    }

    /// The LAN prefix that contains `ip`, if any.
    pub fn prefix_for(&self, ip: IpAddr) -> Option<&IpNet> {
        self.prefixes.iter().find(|p| p.contains(&ip))
    }
}

/// `auto` approves valid requests at once; `manual` waits for an operator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    Auto,
    #[default]
    Manual,
}

/// What an empty or failed IRR expansion does (never an empty filter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEmpty {
    /// Push with the last good list; with none yet, hold.
    KeepLast,
    /// Do not push the session: it waits (`status_detail` says why) and
    /// is tried again.
    #[default]
    Hold,
}

/// Import prefix filters from IRR data (`bgpq4`), per family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixFilter {
    /// Build and push the filter. False turns it off (e.g. for one
    /// location under a policy that has it on).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// An empty or failed expansion: `keep_last` or `hold`.
    #[serde(default)]
    pub on_empty: OnEmpty,
}

fn default_true() -> bool {
    true
}

/// A peer's own max-prefix limits, over what PeeringDB gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefixOverride {
    #[serde(default)]
    pub v4: Option<u32>,
    #[serde(default)]
    pub v6: Option<u32>,
}

/// Approval policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub approval: Approval,
    /// If non-empty, only these requester ASNs may ask.
    #[serde(default)]
    pub allow_asns: Vec<u32>,
    /// These requester ASNs are always rejected.
    #[serde(default)]
    pub deny_asns: Vec<u32>,
    /// Accept private-use requester ASNs (RFC 6996). Off by default; labs
    /// and tests that use private ASNs turn it on.
    #[serde(default)]
    pub allow_private_asns: bool,
    /// Most sessions one request may carry.
    #[serde(default = "default_max_sessions")]
    pub max_sessions_per_request: usize,
    /// Seconds a configured session may take to come up before its config
    /// is removed and it is marked `Unestablished`.
    #[serde(default = "default_time_window")]
    pub time_window_secs: u64,
    /// Default max-prefix limits handed to templates (0 = none).
    #[serde(default)]
    pub max_prefix_v4: u32,
    #[serde(default)]
    pub max_prefix_v6: u32,
    /// Per peer ASN: max-prefix limits that replace the one derived from
    /// PeeringDB (and the defaults above).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_prefix_overrides: BTreeMap<u32, MaxPrefixOverride>,
    /// IRR prefix filters on import; unset = none. A location's own
    /// `prefix_filter` takes precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_filter: Option<PrefixFilter>,
}

fn default_max_sessions() -> usize {
    20
}
fn default_time_window() -> u64 {
    7 * 24 * 3600
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            approval: Approval::default(),
            allow_asns: vec![],
            deny_asns: vec![],
            allow_private_asns: false,
            max_sessions_per_request: default_max_sessions(),
            time_window_secs: default_time_window(),
            max_prefix_v4: 0,
            max_prefix_v6: 0,
            max_prefix_overrides: BTreeMap::new(),
            prefix_filter: None,
        }
    }
}

/// An inventory problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryIssue {
    pub path: String,
    pub problem: String,
}

/// Load or validation failure, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}: cannot read: {err}")]
    Read { file: String, err: std::io::Error },
    #[error("{file}: {err}")]
    Parse { file: String, err: String },
    #[error("{file}: {}", issues.iter().map(|i| format!("{}: {}", i.path, i.problem)).collect::<Vec<_>>().join("; "))]
    Invalid {
        file: String,
        issues: Vec<InventoryIssue>,
    },
}

/// Names usable as router names and ids in templates: no spaces or syntax.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

impl Inventory {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| InventoryError::Read {
            file: file.clone(),
            err,
        })?;
        Self::from_yaml(&text, &file)
    }

    /// Parses and validates YAML text; `file` names it in errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<Inventory, InventoryError> {
        let inv: Inventory = serde_saphyr::from_str(text).map_err(|e| InventoryError::Parse {
            file: file.to_string(),
            err: e.to_string(),
        })?;
        let issues = inv.validate();
        if issues.is_empty() {
            Ok(inv)
        } else {
            Err(InventoryError::Invalid {
                file: file.to_string(),
                issues,
            })
        }
    }

    /// Cross-checks; returns every problem found.
    pub fn validate(&self) -> Vec<InventoryIssue> {
        let mut out = Vec::new();
        let mut push = |path: String, problem: String| out.push(InventoryIssue { path, problem });
        let asn = Asn(self.asn);
        if asn.is_reserved() {
            push("asn".into(), format!("{} is a reserved ASN", self.asn));
        }
        let mut names = HashSet::new();
        for (i, r) in self.routers.iter().enumerate() {
            let p = format!("routers[{i}]");
            if !is_safe_name(&r.name) {
                push(
                    format!("{p}.name"),
                    format!("{:?} is not a valid name", r.name),
                );
            }
            if !names.insert(r.name.as_str()) {
                push(
                    format!("{p}.name"),
                    format!("duplicate router name {:?}", r.name),
                );
            }
            if !is_safe_name(&r.platform) {
                push(
                    format!("{p}.platform"),
                    format!("{:?} is not a valid platform name", r.platform),
                );
            }
            if r.host.is_empty() || r.host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                push(format!("{p}.host"), "must be a host name or address".into());
            }
            if !is_safe_name(&r.user) {
                push(
                    format!("{p}.user"),
                    format!("{:?} is not a valid user name", r.user),
                );
            }
            for (k, pol) in [
                ("import_policy", &r.import_policy),
                ("export_policy", &r.export_policy),
            ] {
                if let Some(v) = pol {
                    if !is_safe_name(v) {
                        push(
                            format!("{p}.{k}"),
                            format!("{v:?} is not a valid policy name"),
                        );
                    }
                }
            }
            for (k, v) in &r.vars {
                if !is_safe_name(k) || v.chars().any(|c| c.is_control() || "\"'{};\\".contains(c)) {
                    push(format!("{p}.vars.{k}"), "names and values may not hold quotes, braces, semicolons or control characters".into());
                }
            }
            if let HostKey::Key(k) = &r.host_key {
                if k.split_whitespace().count() < 2 {
                    push(
                        format!("{p}.host_key.key"),
                        "expected an OpenSSH public key line".into(),
                    );
                }
            }
        }
        let mut ids = HashSet::new();
        let mut ips = HashSet::new();
        for (i, l) in self.locations.iter().enumerate() {
            let p = format!("locations[{i}]");
            if !is_location_id(&l.id) {
                push(
                    format!("{p}.id"),
                    format!("{:?} is not of the form pdb:ix:N", l.id),
                );
            }
            if !ids.insert(l.id.as_str()) {
                push(
                    format!("{p}.id"),
                    format!("duplicate location id {:?}", l.id),
                );
            }
            if l.name.is_empty()
                || l.name
                    .chars()
                    .any(|c| c.is_control() || "\"'{};\\".contains(c))
            {
                push(
                    format!("{p}.name"),
                    "must be non-empty, without quotes, braces, semicolons or control characters"
                        .into(),
                );
            }
            if !names.contains(l.router.as_str()) {
                push(
                    format!("{p}.router"),
                    format!("no router named {:?}", l.router),
                );
            }
            if l.prefixes.is_empty() {
                push(
                    format!("{p}.prefixes"),
                    "at least one peering LAN prefix is required".into(),
                );
            }
            if l.our_ips.is_empty() {
                push(
                    format!("{p}.our_ips"),
                    "at least one of our addresses is required".into(),
                );
            }
            for (j, ip) in l.our_ips.iter().enumerate() {
                if l.prefix_for(*ip).is_none() {
                    push(
                        format!("{p}.our_ips[{j}]"),
                        format!("{ip} is inside none of this location's prefixes"),
                    );
                }
                if !ips.insert(*ip) {
                    push(
                        format!("{p}.our_ips[{j}]"),
                        format!("duplicate address {ip}"),
                    );
                }
            }
        }
        let pol = &self.policy;
        if pol.max_sessions_per_request == 0 || pol.max_sessions_per_request > 100 {
            push(
                "policy.max_sessions_per_request".into(),
                "must be between 1 and 100".into(),
            );
        }
        if pol.time_window_secs == 0 {
            push("policy.time_window_secs".into(), "must be positive".into());
        }
        out
    }

    /// The ids of our locations.
    pub fn location_ids(&self) -> std::collections::BTreeSet<String> {
        self.locations.iter().map(|l| l.id.clone()).collect()
    }

    pub fn location(&self, id: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }

    pub fn router(&self, name: &str) -> Option<&Router> {
        self.routers.iter().find(|r| r.name == name)
    }

    /// True when `ip` is one of our addresses at any location.
    pub fn is_our_ip(&self, ip: IpAddr) -> bool {
        self.locations.iter().any(|l| l.our_ips.contains(&ip))
    }
}

/// `pdb:ix:<positive integer>`.
pub fn is_location_id(s: &str) -> bool {
    s.strip_prefix("pdb:ix:")
        .map(|n| {
            !n.is_empty()
                && n.len() <= 10
                && n.bytes().all(|b| b.is_ascii_digit())
                && !n.starts_with('0')
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
asn: 65001
routers:
  - name: rtr1
    platform: frr
    host: 127.0.0.1
    port: 2222
    user: labops
    credential: { key_file: /tmp/key }
    host_key: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake lab" }
locations:
  - id: pdb:ix:42
    type: public
    name: Lab-IX
    router: rtr1
    prefixes: [192.0.2.0/24, "2001:db8::/64"]
    our_ips: [192.0.2.1, "2001:db8::1"]
policy:
  approval: auto
"#;

    #[test]
    fn loads_good_inventory() {
        let inv = Inventory::from_yaml(GOOD, "inv.yaml").unwrap();
        assert_eq!(inv.asn, 65001);
        assert_eq!(inv.policy.approval, Approval::Auto);
        assert!(inv.is_our_ip("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn unknown_key_is_refused() {
        let bad = GOOD.replace("approval: auto", "approval: auto\n  colour: blue");
        let e = Inventory::from_yaml(&bad, "inv.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("inv.yaml") && e.contains("colour"), "{e}");
    }

    #[test]
    fn cross_checks_name_paths() {
        let bad = GOOD
            .replace("router: rtr1", "router: rtr9")
            .replace("our_ips: [192.0.2.1,", "our_ips: [198.51.100.1,");
        let e = Inventory::from_yaml(&bad, "inv.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("locations[0].router"), "{e}");
        assert!(e.contains("locations[0].our_ips[0]"), "{e}");
    }

    #[test]
    fn location_ids() {
        assert!(is_location_id("pdb:ix:42"));
        assert!(!is_location_id("pdb:ix:"));
        assert!(!is_location_id("pdb:ix:042"));
        assert!(!is_location_id("pdb:ix:4;2"));
        assert!(!is_location_id("pdb:fac:4"));
    }
}
