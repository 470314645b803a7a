//! `bgpq4 -j` output to a typed [`PrefixList`]: pure and bounded. The
//! output is one JSON object holding one array under the list name:
//! `{ "NAME": [ { "prefix": "192.0.2.0/24", "exact": false,
//! "less-equal": 32 }, ... ] }`.

use super::{PrefixEntry, PrefixList, MAX_ENTRIES};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why an output was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("bgpq4 output is not the expected JSON: {0}")]
    Json(String),
    #[error("bgpq4 output holds {0} list(s), expected one")]
    Lists(usize),
    #[error("bgpq4 output holds more than {MAX_ENTRIES} prefixes")]
    TooMany,
    #[error("bgpq4 output entry {index}: {problem}")]
    Entry { index: usize, problem: String },
}

#[derive(Deserialize)]
struct RawEntry {
    prefix: String,
    #[serde(default)]
    exact: Option<bool>,
    #[serde(default, rename = "greater-equal")]
    ge: Option<u8>,
    #[serde(default, rename = "less-equal")]
    le: Option<u8>,
}

/// Parses `bgpq4 -j` output for one family (`v4`): every entry must be a
/// network prefix of that family with valid bounds; duplicates are
/// dropped, order kept.
pub fn parse_bgpq4_json(out: &str, v4: bool) -> Result<PrefixList, ParseError> {
    let lists: BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(out).map_err(|e| ParseError::Json(e.to_string()))?;
    if lists.len() != 1 {
        return Err(ParseError::Lists(lists.len()));
    }
    let raw = lists.into_values().next().unwrap_or_default();
    if raw.len() > MAX_ENTRIES {
        return Err(ParseError::TooMany);
    }
    let mut seen = std::collections::HashSet::new();
    let mut entries = Vec::with_capacity(raw.len());
    for (index, v) in raw.into_iter().enumerate() {
        let bad = |problem: String| ParseError::Entry { index, problem };
        let e: RawEntry = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        let prefix: IpNet = e
            .prefix
            .parse()
            .map_err(|_| bad(format!("{:?} is not a prefix", e.prefix)))?;
        if matches!(prefix, IpNet::V4(_)) != v4 {
            return Err(bad(format!(
                "{prefix} is not an IPv{} prefix",
                if v4 { 4 } else { 6 }
            )));
        }
        let (ge, le) = if e.exact.unwrap_or(false) {
            (None, None)
        } else {
            (e.ge, e.le)
        };
        let entry = PrefixEntry::new(prefix, ge, le).ok_or_else(|| {
            bad(format!(
                "{prefix} with ge {ge:?} le {le:?} is out of bounds"
            ))
        })?;
        if seen.insert(entry.clone()) {
            entries.push(entry);
        }
    }
    Ok(PrefixList { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = r#"{ "pl": [
    { "prefix": "192.0.2.0\/24", "exact": false, "less-equal": 32 },
    { "prefix": "198.51.100.0\/25", "exact": true },
    { "prefix": "203.0.113.0\/24", "exact": false, "greater-equal": 25, "less-equal": 27 }
] }"#;

    #[test]
    fn parses_bgpq4_json() {
        let l = parse_bgpq4_json(V4, true).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.entries[0].prefix.to_string(), "192.0.2.0/24");
        assert_eq!((l.entries[0].ge, l.entries[0].le), (None, Some(32)));
        assert_eq!((l.entries[1].ge, l.entries[1].le), (None, None));
        assert_eq!((l.entries[2].ge, l.entries[2].le), (Some(25), Some(27)));
        assert!(l.is_valid(true));
    }

    #[test]
    fn empty_list_is_empty_not_an_error() {
        let l = parse_bgpq4_json("{ \"pl\": [\n] }", false).unwrap();
        assert!(l.is_empty());
    }

    #[test]
    fn v6_and_duplicates() {
        let out = r#"{"pl":[{"prefix":"2001:db8:1::/48","exact":true},{"prefix":"2001:db8:1::/48","exact":true}]}"#;
        let l = parse_bgpq4_json(out, false).unwrap();
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn refuses_bad_output() {
        for (out, v4) in [
            ("", true),
            ("not json", true),
            ("{}", true),
            (r#"{"a":[],"b":[]}"#, true),
            (r#"{"pl":[{"prefix":"2001:db8::/32","exact":true}]}"#, true),
            (r#"{"pl":[{"prefix":"192.0.2.0/24","exact":true}]}"#, false),
            (r#"{"pl":[{"prefix":"192.0.2.1/24","exact":true}]}"#, true),
            (
                r#"{"pl":[{"prefix":"192.0.2.0/24","exact":false,"less-equal":33}]}"#,
                true,
            ),
            (
                r#"{"pl":[{"prefix":"192.0.2.0/24","exact":false,"less-equal":16}]}"#,
                true,
            ),
            (
                r#"{"pl":[{"prefix":"192.0.2.0/24","exact":false,"less-equal":300}]}"#,
                true,
            ),
            (
                r#"{"pl":[{"prefix":"192.0.2.0/24\n!q","exact":true}]}"#,
                true,
            ),
            (r#"{"pl":[{"exact":true}]}"#, true),
        ] {
            assert!(parse_bgpq4_json(out, v4).is_err(), "{out}");
        }
    }

    #[test]
    fn refuses_too_many() {
        let one = r#"{"prefix":"192.0.2.0/24","exact":true}"#;
        let out = format!("{{\"pl\":[{}]}}", vec![one; MAX_ENTRIES + 1].join(","));
        assert_eq!(parse_bgpq4_json(&out, true), Err(ParseError::TooMany));
    }
}
