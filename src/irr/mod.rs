//! Prefix filters from IRR data: an as-set (or an ASN) expanded with
//! `bgpq4` into one import prefix list per address family.
//!
//! [`IrrObject`] is the validated name handed to `bgpq4`; [`parse`] turns
//! its JSON output into a typed [`PrefixList`] (pure, bounded); [`bgpq4`]
//! runs it (the I/O edge: a subprocess with a fixed argv, no shell,
//! bounded time and output); [`CachedList`] is what peerd keeps in the
//! store's meta area, with its age.

mod asset;
pub mod bgpq4;
mod parse;

pub use asset::IrrObject;
pub use bgpq4::{expand, Bgpq4Error};
pub use parse::{parse_bgpq4_json, ParseError};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Store meta namespace of the cached lists (key: the peer ASN).
pub const META_NS: &str = "irr";

/// Most entries one prefix list may hold.
pub const MAX_ENTRIES: usize = 100_000;

/// One entry: a prefix, and the longest (and shortest) length accepted
/// within it. `le`/`ge` are checked against the prefix on construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrefixEntry {
    pub prefix: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ge: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub le: Option<u8>,
}

impl PrefixEntry {
    /// An entry, when `prefix_len <= ge <= le <= max_len` holds for the
    /// bounds given.
    pub fn new(prefix: IpNet, ge: Option<u8>, le: Option<u8>) -> Option<PrefixEntry> {
        let (len, max) = (prefix.prefix_len(), prefix.max_prefix_len());
        let lo = ge.unwrap_or(len);
        let hi = le.unwrap_or(lo.max(len));
        let ok = prefix.trunc() == prefix && len <= lo && lo <= hi && hi <= max;
        ok.then_some(PrefixEntry { prefix, ge, le })
    }

    pub fn is_ipv4(&self) -> bool {
        matches!(self.prefix, IpNet::V4(_))
    }
}

/// A prefix list of one family: every entry validated, at most
/// [`MAX_ENTRIES`]. Never empty when it reaches a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixList {
    pub entries: Vec<PrefixEntry>,
}

impl PrefixList {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when every entry is valid, of one family (`v4`), and the list
    /// is within bounds: what a list read back from the store must pass.
    pub fn is_valid(&self, v4: bool) -> bool {
        self.entries.len() <= MAX_ENTRIES
            && self.entries.iter().all(|e| {
                e.is_ipv4() == v4 && PrefixEntry::new(e.prefix, e.ge, e.le).as_ref() == Some(e)
            })
    }
}

/// The cached expansion of one peer's list in one family: the list last
/// expanded well, when, and why the latest attempt failed (if it did).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedList {
    /// The object expanded (`AS-FOO`, `AS65001`).
    pub object: String,
    /// The last good list (never empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<PrefixList>,
    /// When the last good list was expanded (ms since the epoch; 0 never).
    pub fetched_ms: u64,
    /// When the latest attempt ran (good or not).
    pub tried_ms: u64,
    /// Why the latest attempt failed or came back empty, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CachedList {
    /// The meta key of a peer's list: `as65001-v4`.
    pub fn key(asn: u32, v4: bool) -> String {
        format!("as{asn}-{}", if v4 { "v4" } else { "v6" })
    }

    /// The last good list, if it is valid (checked again on every read).
    pub fn good(&self, v4: bool) -> Option<&PrefixList> {
        self.list
            .as_ref()
            .filter(|l| !l.is_empty() && l.is_valid(v4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn entry_bounds() {
        assert!(PrefixEntry::new(net("192.0.2.0/24"), None, None).is_some());
        assert!(PrefixEntry::new(net("192.0.2.0/24"), None, Some(32)).is_some());
        assert!(PrefixEntry::new(net("192.0.2.0/24"), Some(25), Some(28)).is_some());
        assert!(PrefixEntry::new(net("2001:db8::/32"), None, Some(48)).is_some());
        // host bits set, le below the length, le past the family, ge > le
        assert!(PrefixEntry::new(net("192.0.2.1/24"), None, None).is_none());
        assert!(PrefixEntry::new(net("192.0.2.0/24"), None, Some(23)).is_none());
        assert!(PrefixEntry::new(net("192.0.2.0/24"), None, Some(33)).is_none());
        assert!(PrefixEntry::new(net("2001:db8::/32"), None, Some(129)).is_none());
        assert!(PrefixEntry::new(net("192.0.2.0/24"), Some(30), Some(28)).is_none());
    }

    #[test]
    fn list_validity_checks_family_and_entries() {
        let good = PrefixList {
            entries: vec![PrefixEntry::new(net("192.0.2.0/24"), None, Some(32)).unwrap()],
        };
        assert!(good.is_valid(true));
        assert!(!good.is_valid(false));
        let bad = PrefixList {
            entries: vec![PrefixEntry {
                prefix: net("192.0.2.0/24"),
                ge: None,
                le: Some(40),
            }],
        };
        assert!(!bad.is_valid(true));
        let c = CachedList {
            list: Some(good.clone()),
            ..Default::default()
        };
        assert_eq!(c.good(true), Some(&good));
        assert_eq!(c.good(false), None);
        let empty = CachedList {
            list: Some(PrefixList::default()),
            ..Default::default()
        };
        assert_eq!(empty.good(true), None);
        assert_eq!(CachedList::key(65001, false), "as65001-v6");
    }
}
