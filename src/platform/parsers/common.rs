//! What every parser shares: the neighbor a parser reports, how routers
//! print addresses, merging two reports of one neighbor, and the router's
//! own words for messages.

use std::net::IpAddr;

/// One neighbor as the router reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedNeighbor {
    pub address: IpAddr,
    /// The configured peer AS, if the answer carries it.
    pub peer_as: Option<u32>,
    /// The BGP state in the router's own words (`Established`, `Active`, ...).
    pub state: Option<String>,
    /// True when the session is up (from a state parser).
    pub established: Option<bool>,
    /// The router's name for the session (BIRD protocol name).
    pub name: Option<String>,
    /// Whether the neighbor has a session secret (TCP-MD5 password), when
    /// the answer shows it (never the secret itself). `None` = not known:
    /// the answer does not show it, or the profile does not trust it
    /// (`verify.secret_visible`).
    pub has_secret: Option<bool>,
    /// Why a session that is not established is down, when the router
    /// says so in words peerd knows (a state parser).
    pub down_reason: Option<DownReason>,
}

/// Why the router keeps a session down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// The peer sent more prefixes than the session's limit (max-prefix):
    /// FRR `prefixesConfigExceedMax`, `lastResetDueTo` "Max prefix
    /// received" or the Cease "Maximum Number of Prefixes Reached"; BIRD
    /// "Route limit exceeded".
    MaxPrefix,
}

impl ObservedNeighbor {
    /// A neighbor known only by its address.
    pub fn new(address: IpAddr) -> Self {
        ObservedNeighbor {
            address,
            peer_as: None,
            state: None,
            established: None,
            name: None,
            has_secret: None,
            down_reason: None,
        }
    }
}

/// Parses an address as routers print it: strips a `%zone`, a Junos
/// `+port` suffix, and surrounding whitespace.
pub(super) fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s.split('%').next().unwrap_or(s);
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let (head, port) = s.rsplit_once('+')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        head.parse().ok()
    } else {
        None
    }
}

/// Adds `n`, merging with an earlier entry for the same address (a state
/// of `Established` wins; a known AS fills an unknown one).
pub(super) fn merge_into(out: &mut Vec<ObservedNeighbor>, n: ObservedNeighbor) {
    match out.iter_mut().find(|o| o.address == n.address) {
        None => out.push(n),
        Some(o) => {
            if o.peer_as.is_none() {
                o.peer_as = n.peer_as;
            }
            if n.established == Some(true) || o.state.is_none() {
                o.state = n.state.or(o.state.take());
                o.established = n.established.or(o.established);
            }
            if o.name.is_none() {
                o.name = n.name;
            }
            if o.established != Some(true) {
                o.down_reason = o.down_reason.or(n.down_reason);
            } else {
                o.down_reason = None;
            }
            o.has_secret = match (o.has_secret, n.has_secret) {
                (Some(a), Some(b)) => Some(a || b),
                (a, b) => a.or(b),
            };
        }
    }
}
/// The neighbor at `ip` in a parser's answer (tests; panics when missing).
#[cfg(test)]
pub(super) fn find<'a>(v: &'a [ObservedNeighbor], ip: &str) -> &'a ObservedNeighbor {
    let ip: IpAddr = ip.parse().unwrap();
    v.iter()
        .find(|n| n.address == ip)
        .unwrap_or_else(|| panic!("{ip} missing in {v:?}"))
}

/// The last non-empty lines of a command's output, bounded, for status_detail.
pub fn router_words(stdout: &str, stderr: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    let mut s: String = tail.chars().filter(|c| !c.is_control()).take(400).collect();
    if s.is_empty() {
        s.push_str("(no output)");
    }
    s
}
