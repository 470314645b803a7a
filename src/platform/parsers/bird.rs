//! BIRD 2 parser: `birdc show protocols all`, used both to verify (the
//! protocol exists with the right neighbor address and AS) and for state
//! (`BGP state:`).

use super::common::{merge_into, parse_addr, router_words, DownReason, ObservedNeighbor};

/// One `protocol bgp` block of the output.
#[derive(Default)]
struct Block {
    name: String,
    is_bgp: bool,
    state: Option<String>,
    address: Option<String>,
    asn: Option<u32>,
    /// "Route limit exceeded" in the info column or the last error.
    limit_hit: bool,
}

/// BIRD 2's words for a session its receive or import limit shut down.
const LIMIT_HIT: &str = "Route limit exceeded";

pub(super) fn protocols_all(text: &str) -> Result<Vec<ObservedNeighbor>, String> {
    // "BIRD 2.0.12 ready." then the table header.
    let header_seen = text
        .lines()
        .any(|l| l.starts_with("Name ") && l.contains("Proto") && l.contains("State"));
    if !header_seen {
        return Err(format!(
            "not a `show protocols all` answer: {}",
            router_words(text, "")
        ));
    }
    let mut blocks = Vec::new();
    let mut cur: Option<Block> = None;
    for line in text.lines() {
        if line.starts_with("BIRD ") || line.starts_with("Name ") || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            cur = Some(Block {
                name: cols.first().unwrap_or(&"").to_string(),
                is_bgp: cols.get(1) == Some(&"BGP"),
                limit_hit: line.contains(LIMIT_HIT),
                ..Block::default()
            });
            continue;
        }
        let Some(b) = cur.as_mut() else { continue };
        let t = line.trim();
        if let Some(v) = t.strip_prefix("BGP state:") {
            b.state = Some(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("Neighbor address:") {
            b.address = Some(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("Neighbor AS:") {
            b.asn = v.trim().parse().ok();
        } else if let Some(v) = t.strip_prefix("Last error:") {
            b.limit_hit |= v.contains(LIMIT_HIT);
        }
    }
    if let Some(b) = cur.take() {
        blocks.push(b);
    }
    let mut out = Vec::new();
    for b in blocks.into_iter().filter(|b| b.is_bgp) {
        let Some(ip) = b.address.as_deref().and_then(parse_addr) else {
            continue;
        };
        let established = b.state.as_deref().map(|s| s == "Established");
        merge_into(
            &mut out,
            ObservedNeighbor {
                peer_as: b.asn,
                state: b.state,
                established,
                down_reason: (established != Some(true) && b.limit_hit)
                    .then_some(DownReason::MaxPrefix),
                name: Some(b.name),
                ..ObservedNeighbor::new(ip)
            },
        );
    }
    out.sort_by_key(|n| n.address);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session BIRD 2 shut down on its receive limit ("Route limit
    /// exceeded" in the info column and as the last error; the file is
    /// the 2.0.12 layout of bird-router-all.txt with the limit-hit lines
    /// of BIRD 2's bgp.c, not a capture), next to one that is only idle.
    #[test]
    fn route_limit_exceeded_is_a_max_prefix_down() {
        let v = protocols_all(include_str!("testdata/bird-router-limit-hit.txt")).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].address.to_string(), "192.0.2.2");
        assert_eq!(v[0].established, Some(false));
        assert_eq!(v[0].down_reason, Some(DownReason::MaxPrefix));
        assert_eq!(v[1].down_reason, None);
        // the peer side and a plain router side carry no reason
        for t in [
            include_str!("testdata/bird-peer1-all.txt"),
            include_str!("testdata/bird-router-all.txt"),
        ] {
            assert!(protocols_all(t)
                .unwrap()
                .iter()
                .all(|n| n.down_reason.is_none()));
        }
    }

    #[test]
    fn peer_side_output_from_bird_2_0_12() {
        let v = protocols_all(include_str!("testdata/bird-peer1-all.txt")).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        let v4 = &v[0];
        assert_eq!(v4.address.to_string(), "192.0.2.1");
        assert_eq!(v4.name.as_deref(), Some("rtr_v4"));
        assert_eq!(v4.peer_as, Some(65001));
        assert_eq!(v4.state.as_deref(), Some("Passive"));
        assert_eq!(v4.established, Some(false));
        let v6 = &v[1];
        assert_eq!(v6.address.to_string(), "2001:db8::1");
        assert_eq!(v6.established, Some(true));
    }

    #[test]
    fn router_side_output_with_long_names() {
        let v = protocols_all(include_str!("testdata/bird-router-all.txt")).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].name.as_deref(),
            Some("peerd_as65002_0123456789abcdef0123456789abcdef")
        );
        assert_eq!(v[0].peer_as, Some(65002));
        assert_eq!(v[0].state.as_deref(), Some("Idle"));
    }

    #[test]
    fn no_protocols_and_errors() {
        let empty = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\ndevice1    Device     ---        up     05:08:53.770  \n";
        assert!(protocols_all(empty).unwrap().is_empty());
        assert!(protocols_all(
            "Unable to connect to server control socket (/x): No such file or directory\n"
        )
        .is_err());
    }
}
