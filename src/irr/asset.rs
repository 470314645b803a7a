//! The IRR object handed to `bgpq4`: an ASN (`AS65001`) or an as-set
//! (`AS-FOO`, `AS65001:AS-BAR`, `RIPE::AS-FOO`), checked strictly. The
//! checked name starts with a letter and holds only letters, digits, `-`,
//! `_` and `:`, so it can be neither an option nor anything a shell or an
//! IRR query line would read specially.

use std::fmt;

/// Longest object name accepted.
pub const MAX_LEN: usize = 100;

/// A validated IRR object name, upper-cased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IrrObject(String);

fn is_asn(c: &str) -> bool {
    c.len() > 2
        && c.len() <= 12
        && c[..2].eq_ignore_ascii_case("AS")
        && c[2..].bytes().all(|b| b.is_ascii_digit())
        && c[2..].parse::<u32>().is_ok_and(|n| n > 0)
}

fn is_set_name(c: &str) -> bool {
    c.len() > 3
        && c[..3].eq_ignore_ascii_case("AS-")
        && c[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && c[3..].bytes().any(|b| b.is_ascii_alphanumeric())
}

fn is_source(c: &str) -> bool {
    (1..=16).contains(&c.len())
        && c.as_bytes()[0].is_ascii_alphabetic()
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl IrrObject {
    /// Checks `s` (surrounding whitespace is ignored): an ASN, or an
    /// as-set name with an optional `SOURCE::` in front, whose `:`-separated
    /// components are ASNs or `AS-` names, at least one of them a name.
    pub fn parse(s: &str) -> Result<IrrObject, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "{s:?} is not an ASN or an as-set name (e.g. AS-FOO, AS65001:AS-BAR, RIPE::AS-FOO)"
            )
        };
        if s.is_empty() || s.len() > MAX_LEN || !s.is_ascii() {
            return Err(bad());
        }
        if is_asn(s) {
            return Ok(IrrObject(s.to_ascii_uppercase()));
        }
        let set = match s.split_once("::") {
            Some((src, set)) if is_source(src) => set,
            Some(_) => return Err(bad()),
            None => s,
        };
        let parts: Vec<&str> = set.split(':').collect();
        let ok = parts.iter().all(|c| is_asn(c) || is_set_name(c))
            && parts.iter().any(|c| is_set_name(c));
        if !ok {
            return Err(bad());
        }
        Ok(IrrObject(s.to_ascii_uppercase()))
    }

    /// The object for an ASN alone.
    pub fn asn(asn: u32) -> IrrObject {
        IrrObject(format!("AS{asn}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IrrObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_real_shapes() {
        for (s, norm) in [
            ("AS-FOO", "AS-FOO"),
            ("as-foo", "AS-FOO"),
            (" AS65001:AS-BAR ", "AS65001:AS-BAR"),
            ("RIPE::AS-FOO", "RIPE::AS-FOO"),
            ("AS-FOO:AS-BAR-V6", "AS-FOO:AS-BAR-V6"),
            ("AS65001", "AS65001"),
            ("as4200000001", "AS4200000001"),
            ("AS-under_score", "AS-UNDER_SCORE"),
        ] {
            assert_eq!(IrrObject::parse(s).unwrap().as_str(), norm, "{s}");
        }
        assert_eq!(IrrObject::asn(65001).as_str(), "AS65001");
    }

    #[test]
    fn refuses_hostile_and_odd_names() {
        for s in [
            "",
            "-h evil",
            "--",
            "AS-",
            "AS--",
            "AS0",
            "AS4294967296",
            "AS65001:AS65002",
            "FOO",
            "AS-FOO BAR",
            "AS-FOO;rm -rf /",
            "AS-FOO\n!q",
            "AS-FOO,1",
            "!iAS-FOO",
            "AS-FOO$(id)",
            "::AS-FOO",
            "RI PE::AS-FOO",
            "1RIPE::AS-FOO",
            "RIPE::",
            "AS-FOO::AS-BAR::AS-BAZ",
            "AS-FÖÖ",
            "AS-FOO:",
            ":AS-FOO",
        ] {
            assert!(IrrObject::parse(s).is_err(), "{s:?} accepted");
        }
        assert!(IrrObject::parse(&format!("AS-{}", "X".repeat(MAX_LEN))).is_err());
    }

    proptest! {
        #[test]
        fn whatever_passes_is_a_plain_token(s in "\\PC{0,120}") {
            if let Ok(o) = IrrObject::parse(&s) {
                let t = o.as_str();
                prop_assert!(t.len() <= MAX_LEN);
                prop_assert!(t.as_bytes()[0].is_ascii_alphabetic());
                prop_assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b)));
            }
        }

        #[test]
        fn set_names_round_trip(a in "[A-Z0-9]{1,20}", asn in 1u32..) {
            let s = format!("AS{asn}:AS-{a}");
            let o = IrrObject::parse(&s).unwrap();
            prop_assert_eq!(o.as_str(), s.as_str());
        }
    }
}
