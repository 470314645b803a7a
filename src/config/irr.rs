//! `irr:` settings: how `bgpq4` is run to expand IRR objects into prefix
//! lists, and how often the cached lists are refreshed. Which sessions get
//! a filter, and what happens when an expansion fails, is inventory policy
//! (`policy.prefix_filter`, per location too).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How prefix lists are expanded and refreshed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IrrSettings {
    /// The `bgpq4` program (a path, or a name looked up in `PATH`).
    pub bgpq4: PathBuf,
    /// The IRR whois server (`-h host:port`): a host name or IPv4 address.
    pub host: String,
    pub port: u16,
    /// IRR sources to use, in order (`-S`); empty = the server's default.
    pub sources: Vec<String>,
    /// Accept private and documentation ASNs in as-sets (`-p`). For labs
    /// and tests; off in production.
    pub allow_private_asns: bool,
    /// Accept more-specifics of each registered route up to this length
    /// (`-R`); unset = exactly the registered routes.
    pub more_specifics_v4: Option<u8>,
    pub more_specifics_v6: Option<u8>,
    /// Seconds one `bgpq4` run may take; then it is killed.
    pub timeout_secs: u64,
    /// Largest `bgpq4` output read, in bytes; a larger one is an error.
    pub max_output_bytes: usize,
    /// Seconds after which a cached list is expanded again (on the
    /// schedule, and before a push). 0 = only when none is cached.
    pub refresh_secs: u64,
}

impl Default for IrrSettings {
    fn default() -> Self {
        IrrSettings {
            bgpq4: "bgpq4".into(),
            host: "rr.ntt.net".into(),
            port: 43,
            sources: Vec::new(),
            allow_private_asns: false,
            more_specifics_v4: None,
            more_specifics_v6: None,
            timeout_secs: 120,
            max_output_bytes: 16 * 1024 * 1024,
            refresh_secs: 24 * 3600,
        }
    }
}

impl IrrSettings {
    /// Problems with these settings (empty when usable).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let host_ok = !self.host.is_empty()
            && self.host.len() <= 253
            && !self.host.starts_with('-')
            && self
                .host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !host_ok {
            out.push(format!(
                "irr.host {:?} is not a host name or IPv4 address",
                self.host
            ));
        }
        for s in &self.sources {
            let ok = (1..=16).contains(&s.len())
                && s.as_bytes()[0].is_ascii_alphabetic()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                out.push(format!("irr.sources: {s:?} is not an IRR source name"));
            }
        }
        if self.more_specifics_v4.is_some_and(|n| n > 32) {
            out.push("irr.more_specifics_v4 is above 32".into());
        }
        if self.more_specifics_v6.is_some_and(|n| n > 128) {
            out.push("irr.more_specifics_v6 is above 128".into());
        }
        if self.timeout_secs == 0 || self.max_output_bytes == 0 {
            out.push("irr.timeout_secs and irr.max_output_bytes must be above 0".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_usable_and_bad_values_named() {
        assert!(IrrSettings::default().problems().is_empty());
        let s = IrrSettings {
            host: "-h evil".into(),
            sources: vec!["RIPE,RADB".into()],
            more_specifics_v4: Some(33),
            ..Default::default()
        };
        assert_eq!(s.problems().len(), 3);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = serde_saphyr::from_str::<IrrSettings>("hostname: x\n");
        assert!(e.is_err());
    }
}
