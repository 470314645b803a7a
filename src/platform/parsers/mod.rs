//! Named parsers for what routers answer: running configuration (to verify
//! a push) and BGP session state (for the poller). Profiles refer to them by
//! name; each turns raw output into a list of [`ObservedNeighbor`].
//!
//! All parsers are pure functions over text, bounded, and unit-tested on
//! output captured from the real daemons where the lab has them (FRR 8.4,
//! BIRD 2.0.12, netconfd, OpenBGPD 7.7, GoBGP 3.10).

mod bird;
mod common;
mod frr;
mod gobgp;
mod netconf;
mod openbgpd;
pub mod xml;

#[cfg(test)]
use common::parse_addr;
pub use common::{router_words, DownReason, ObservedNeighbor};

/// Largest answer a parser accepts.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

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
    /// OpenBGPD `bgpctl -j show summary` (or `show neighbor`).
    OpenbgpdNeighborsJson,
    /// GoBGP `gobgp neighbor -j`.
    GobgpNeighborsJson,
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
    pub const ALL: [ParserKind; 15] = [
        ParserKind::FrrRunningConfig,
        ParserKind::FrrNeighborsJson,
        ParserKind::FrrSummaryJson,
        ParserKind::BirdProtocols,
        ParserKind::OpenbgpdNeighborsJson,
        ParserKind::GobgpNeighborsJson,
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
            ParserKind::OpenbgpdNeighborsJson => "openbgpd-neighbors-json",
            ParserKind::GobgpNeighborsJson => "gobgp-neighbors-json",
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
                    | OpenbgpdNeighborsJson
                    | GobgpNeighborsJson
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
                    | OpenbgpdNeighborsJson
                    | GobgpNeighborsJson
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
            OpenbgpdNeighborsJson => openbgpd::neighbors_json(output),
            GobgpNeighborsJson => gobgp::neighbors_json(output),
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

/// `<data>` around the inner XML of a NETCONF get / get-config answer:
/// the shape the NETCONF parsers read.
pub fn wrap_netconf_data(inner: &str) -> String {
    format!("<data>{inner}</data>")
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
