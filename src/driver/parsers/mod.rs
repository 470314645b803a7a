//! Named parsers for what routers answer: running configuration (to verify
//! a push) and BGP session state (for the poller). Profiles refer to them by
//! name; each turns raw output into a list of [`ObservedNeighbor`].
//!
//! All parsers are pure functions over text, bounded, and unit-tested on
//! output captured from the real daemons where the lab has them (FRR 8.4,
//! BIRD 2.0.12, netconfd).

mod bird;
mod frr;
mod netconf;
pub mod xml;

use std::net::IpAddr;

/// Largest answer a parser accepts.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

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
        }
    }
}

/// What a parser can be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParserUse {
    /// Verify: neighbors present with their peer AS.
    Config,
    /// State: neighbors with their BGP state.
    State,
}

/// Every parser peerd knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParserKind {
    /// FRR `show running-config bgpd` (default VRF; peer-groups resolved).
    FrrRunningConfig,
    /// FRR `show bgp neighbors json`.
    FrrNeighborsJson,
    /// FRR `show bgp summary json` (state only; all address families).
    FrrSummaryJson,
    /// BIRD 2 `birdc show protocols all` (BGP protocols).
    BirdProtocols,
    /// get-config of the peerd lab YANG module (`bgp/neighbor`).
    LabBgpConfig,
    /// get-config of openconfig-network-instance / openconfig-bgp neighbors.
    OpenconfigConfig,
    /// get of openconfig neighbors' `state/session-state`.
    OpenconfigState,
    /// get-config of Junos `protocols bgp group neighbor`.
    JunosConfig,
    /// Junos `<get-bgp-neighbor-information/>` reply.
    JunosState,
    /// get-config of Cisco-IOS-XR-ipv4-bgp-cfg neighbors.
    IosxrConfig,
    /// get of Cisco-IOS-XR-ipv4-bgp-oper neighbors.
    IosxrState,
    /// get-config of nokia-conf `router bgp neighbor`.
    SrosConfig,
    /// get of nokia-state `router bgp neighbor statistics`.
    SrosState,
}

impl ParserKind {
    pub const ALL: [ParserKind; 13] = [
        ParserKind::FrrRunningConfig,
        ParserKind::FrrNeighborsJson,
        ParserKind::FrrSummaryJson,
        ParserKind::BirdProtocols,
        ParserKind::LabBgpConfig,
        ParserKind::OpenconfigConfig,
        ParserKind::OpenconfigState,
        ParserKind::JunosConfig,
        ParserKind::JunosState,
        ParserKind::IosxrConfig,
        ParserKind::IosxrState,
        ParserKind::SrosConfig,
        ParserKind::SrosState,
    ];

    /// The name profiles use.
    pub fn name(self) -> &'static str {
        match self {
            ParserKind::FrrRunningConfig => "frr-running-config",
            ParserKind::FrrNeighborsJson => "frr-neighbors-json",
            ParserKind::FrrSummaryJson => "frr-summary-json",
            ParserKind::BirdProtocols => "bird-protocols",
            ParserKind::LabBgpConfig => "lab-bgp-config",
            ParserKind::OpenconfigConfig => "openconfig-config",
            ParserKind::OpenconfigState => "openconfig-state",
            ParserKind::JunosConfig => "junos-config",
            ParserKind::JunosState => "junos-state",
            ParserKind::IosxrConfig => "iosxr-config",
            ParserKind::IosxrState => "iosxr-state",
            ParserKind::SrosConfig => "sros-config",
            ParserKind::SrosState => "sros-state",
        }
    }

    pub fn from_name(s: &str) -> Option<ParserKind> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }

    /// True when the parser reports what `u` needs (peer AS / state).
    pub fn supports(self, u: ParserUse) -> bool {
        use ParserKind::*;
        match u {
            ParserUse::Config => matches!(
                self,
                FrrRunningConfig
                    | FrrNeighborsJson
                    | BirdProtocols
                    | LabBgpConfig
                    | OpenconfigConfig
                    | JunosConfig
                    | IosxrConfig
                    | SrosConfig
            ),
            ParserUse::State => matches!(
                self,
                FrrNeighborsJson
                    | FrrSummaryJson
                    | BirdProtocols
                    | OpenconfigState
                    | JunosState
                    | IosxrState
                    | SrosState
            ),
        }
    }

    /// What it reads, for messages.
    pub fn reads(self) -> &'static str {
        match (
            self.supports(ParserUse::Config),
            self.supports(ParserUse::State),
        ) {
            (true, true) => "configuration and state",
            (true, false) => "configuration only",
            _ => "state only",
        }
    }

    /// Parses a router's answer.
    pub fn parse(self, output: &str) -> Result<Vec<ObservedNeighbor>, String> {
        if output.len() > MAX_OUTPUT_BYTES {
            return Err(format!("answer larger than {MAX_OUTPUT_BYTES} bytes"));
        }
        use ParserKind::*;
        match self {
            FrrRunningConfig => frr::running_config(output),
            FrrNeighborsJson => frr::neighbors_json(output),
            FrrSummaryJson => frr::summary_json(output),
            BirdProtocols => bird::protocols_all(output),
            LabBgpConfig => netconf::lab_bgp_config(output),
            OpenconfigConfig => netconf::openconfig(output, false),
            OpenconfigState => netconf::openconfig(output, true),
            JunosConfig => netconf::junos_config(output),
            JunosState => netconf::junos_state(output),
            IosxrConfig => netconf::iosxr_config(output),
            IosxrState => netconf::iosxr_state(output),
            SrosConfig => netconf::sros(output, false),
            SrosState => netconf::sros(output, true),
        }
    }
}

/// Parses an address as routers print it: strips a `%zone`, a Junos
/// `+port` suffix, and surrounding whitespace.
pub(crate) fn parse_addr(s: &str) -> Option<IpAddr> {
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
pub(crate) fn merge_into(out: &mut Vec<ObservedNeighbor>, n: ObservedNeighbor) {
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
            o.has_secret = match (o.has_secret, n.has_secret) {
                (Some(a), Some(b)) => Some(a || b),
                (a, b) => a.or(b),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ParserKind::ALL {
            assert_eq!(ParserKind::from_name(p.name()), Some(p));
            assert!(p.supports(ParserUse::Config) || p.supports(ParserUse::State));
        }
        assert_eq!(ParserKind::from_name("nope"), None);
    }

    #[test]
    fn addresses_as_routers_print_them() {
        assert_eq!(parse_addr(" 192.0.2.2 "), "192.0.2.2".parse().ok());
        assert_eq!(parse_addr("192.0.2.2+179"), "192.0.2.2".parse().ok());
        assert_eq!(parse_addr("2001:db8::2+50212"), "2001:db8::2".parse().ok());
        assert_eq!(parse_addr("fe80::1%eth0"), "fe80::1".parse().ok());
        assert_eq!(parse_addr("IXPEERS"), None);
    }

    #[test]
    fn oversized_answers_are_refused() {
        let big = "x".repeat(MAX_OUTPUT_BYTES + 1);
        assert!(ParserKind::BirdProtocols.parse(&big).is_err());
    }
}
