//! The render context: typed, validated values only.
//!
//! Templates never see a `Session` or free text from a peer. They see
//! addresses printed from `IpAddr`, ASNs as integers, the family as
//! `ipv4`/`ipv6`, names derived from the session id, the description built
//! here from typed data, operator data from the inventory (already checked
//! on load) and, for the MD5 secret, a string checked again here. As a last
//! guard every string in the context is checked for characters that could
//! break out of any template syntax (newlines, quotes, backslashes, braces,
//! semicolons); command contexts are stricter still (plain tokens only).

use super::error::RenderError;
use crate::inventory::{Inventory, Location, Router};
use crate::irr::PrefixList;
use crate::model::{is_id, Session};
use crate::platform::Profile;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// One neighbor, router-centric: `local_*` is us, `address`/`peer_as` the
/// requester. (The API's `Session` is requester-centric; it is turned
/// round here, once.)
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NeighborCtx {
    pub session_id: String,
    /// A protocol/object name safe everywhere: `peerd_as<ASN>_<32 hex>`.
    pub name: String,
    /// `<name>.conf`, for platforms that keep one file per session.
    pub file: String,
    /// The BGP neighbor: the requester's address.
    pub address: String,
    /// The requester's ASN.
    pub peer_as: u32,
    /// Our address on the LAN.
    pub local_address: String,
    /// Our ASN.
    pub local_as: u32,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// `peerd AS<peer_as> <location id>`.
    pub description: String,
    /// The TCP-MD5 password, if the session has one.
    pub md5: Option<String>,
    /// The prefix limit for this neighbor: the operator's override for the
    /// peer (`policy.max_prefix_overrides`), else the session's own
    /// (derived from PeeringDB at intake, with the margins), else the
    /// inventory policy's default for the family. None = no limit.
    pub max_prefix: Option<u32>,
    pub import_policy: Option<String>,
    pub export_policy: Option<String>,
    /// Shared by the neighbors of a batch at one location
    /// ([`location_ctx`]).
    #[serde(serialize_with = "shared")]
    pub location: Arc<LocationCtx>,
    /// `public` or `private`.
    pub peer_type: &'static str,
    /// RFC 9234 roles (integers): ours and the requester's.
    pub local_role: Option<u8>,
    pub peer_role: Option<u8>,
    /// What the router should hold: `normal`, `drain` (routes tagged
    /// GRACEFUL_SHUTDOWN, RFC 8326) or `shutdown` (configured, down).
    /// Only a form the platform supports (its profile says); else `normal`.
    pub form: &'static str,
    /// True when the location's policy filters imports with an IRR prefix
    /// list (so a removal also removes the list, on platforms that keep it
    /// apart from the neighbor).
    pub prefix_filter: bool,
    /// The import prefix list of the session's family, when filtered: set
    /// only for an add, never empty.
    pub prefix_list: Option<PrefixListCtx>,
}

/// An IRR prefix list as templates see it: typed entries printed here.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PrefixListCtx {
    /// `<neighbor name>_in`.
    pub name: String,
    pub entries: Vec<PrefixEntryCtx>,
}

/// One entry: `prefix` printed from an `IpNet`; `ge`/`le` checked against
/// it ([`crate::irr::PrefixEntry::new`]).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PrefixEntryCtx {
    pub prefix: String,
    pub ge: Option<u8>,
    pub le: Option<u8>,
    /// Inclusive bounds on the length (for platforms that write ranges).
    pub min_len: u8,
    pub max_len: u8,
}

/// The template form of `list` for the neighbor `n`: `None` when the list
/// is empty, of the other family or invalid (an empty filter is never
/// rendered).
pub fn prefix_list_ctx(n: &NeighborCtx, list: &PrefixList) -> Option<PrefixListCtx> {
    let v4 = n.family == "ipv4";
    if list.is_empty() || !list.is_valid(v4) {
        return None;
    }
    let entries = list
        .entries
        .iter()
        .map(|e| {
            let len = e.prefix.prefix_len();
            let min_len = e.ge.unwrap_or(len);
            PrefixEntryCtx {
                prefix: e.prefix.to_string(),
                ge: e.ge,
                le: e.le,
                min_len,
                max_len: e.le.unwrap_or(min_len),
            }
        })
        .collect();
    Some(PrefixListCtx {
        name: format!("{}_in", n.name),
        entries,
    })
}

/// An `Arc`'s value serialised as the value itself.
fn shared<T: Serialize, S: serde::Serializer>(v: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().serialize(s)
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LocationCtx {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The router, with its policy names and vars (profile defaults, then the
/// inventory's own).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RouterCtx {
    pub name: String,
    pub platform: String,
    pub import_policy: Option<String>,
    pub export_policy: Option<String>,
    pub vars: BTreeMap<String, String>,
}

/// What a content template sees.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateCtx {
    /// `add` or `remove`.
    pub op: &'static str,
    /// Our ASN.
    pub local_as: u32,
    pub router: RouterCtx,
    /// The batch, in order.
    pub neighbors: Vec<NeighborCtx>,
    /// The batch split by family.
    pub ipv4: Vec<NeighborCtx>,
    pub ipv6: Vec<NeighborCtx>,
    /// Only when rendering one session of the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbor: Option<NeighborCtx>,
}

/// Characters no context string may hold (beyond control characters).
const FORBIDDEN: &str = "\"'\\{};`";

/// What each byte is to [`is_safe_text`]: 0 a safe ASCII byte, 1 an ASCII
/// byte no context string may hold (a control character or one of
/// [`FORBIDDEN`]), 2 part of a non-ASCII character.
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = if b >= 128 {
            2
        } else if b < 32 || b == 127 {
            1
        } else {
            0
        };
        b += 1;
    }
    let f = FORBIDDEN.as_bytes();
    let mut i = 0;
    while i < f.len() {
        t[f[i] as usize] = 1;
        i += 1;
    }
    t
};

/// True when `s` can sit in any template: bounded, no control characters,
/// no quotes, backslashes, braces, semicolons or backticks.
pub fn is_safe_text(s: &str) -> bool {
    if s.len() > 255 {
        return false;
    }
    // a byte at a time through a table while the text is ASCII (ASCII's
    // control characters are exactly its bytes below 32 and 127); the
    // first non-ASCII byte sends the whole text to the character test
    for b in s.bytes() {
        match BYTE_CLASS[usize::from(b)] {
            0 => {}
            1 => return false,
            _ => return !s.chars().any(|c| c.is_control() || FORBIDDEN.contains(c)),
        }
    }
    true
}

/// An MD5 secret: 1..=80 printable ASCII characters, no space, and none of
/// the characters [`is_safe_text`] forbids.
pub fn is_safe_secret(s: &str) -> bool {
    (1..=80).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) && is_safe_text(s)
}

/// A plain token for command lines: `[A-Za-z0-9._/:@+=,-]`, 1..=255.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/:@+=,-".contains(&b))
}

/// The name every platform uses for a session's object.
pub fn object_name(session_id: &str, peer_as: u32) -> Option<String> {
    is_id(session_id).then(|| {
        let mut name = String::with_capacity(48);
        name.push_str("peerd_as");
        name.push_str(itoa::Buffer::new().format(peer_as));
        name.push('_');
        // an id is 32 hex digits in groups of 8-4-4-4-12, a dash between
        // two (`is_id`): the groups without the dashes
        for r in [0..8, 9..13, 14..18, 19..23, 24..36] {
            name.push_str(&session_id[r]);
        }
        name
    })
}

/// `ip` as its `Display` prints it, into a string of the right size.
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut s = String::with_capacity(15);
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                // decimal, no leading zeros
                if o >= 100 {
                    s.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    s.push(char::from(b'0' + o / 10 % 10));
                }
                s.push(char::from(b'0' + o % 10));
            }
            s
        }
        IpAddr::V6(v6) => v6_text(v6),
    }
}

/// An IPv6 address as `Display` prints it (RFC 5952: lowercase hex, the
/// first longest run of two or more zero groups as `::`, an IPv4-mapped
/// address as `::ffff:a.b.c.d`), without `fmt`.
fn v6_text(v6: std::net::Ipv6Addr) -> String {
    if let Some(v4) = v6.to_ipv4_mapped() {
        let mut s = String::with_capacity(22);
        s.push_str("::ffff:");
        s.push_str(&ip_text(IpAddr::V4(v4)));
        return s;
    }
    let seg = v6.segments();
    // the first longest run of zero groups
    let (mut start, mut len, mut cur) = (0, 0, 0);
    for (i, g) in seg.iter().enumerate() {
        if *g == 0 {
            cur += 1;
            if cur > len {
                len = cur;
                start = i + 1 - cur;
            }
        } else {
            cur = 0;
        }
    }
    let mut s = String::with_capacity(39);
    let hex = |s: &mut String, groups: &[u16]| {
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            let mut started = false;
            for shift in [12, 8, 4, 0] {
                let d = (g >> shift) & 0xf;
                if started || d != 0 || shift == 0 {
                    started = true;
                    s.push(char::from(b"0123456789abcdef"[usize::from(d)]));
                }
            }
        }
    };
    if len > 1 {
        hex(&mut s, &seg[..start]);
        s.push_str("::");
        hex(&mut s, &seg[start + len..]);
    } else {
        hex(&mut s, &seg);
    }
    s
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

fn err(s: &Session, problem: impl Into<String>) -> RenderError {
    RenderError::Session {
        session: s.session_id.clone(),
        problem: problem.into(),
    }
}

/// The router context: profile vars overlaid by the router's own.
pub fn router_ctx(router: &Router, profile: &Profile) -> Result<RouterCtx, RenderError> {
    let mut vars = profile.vars.clone();
    for (k, v) in &router.vars {
        vars.insert(k.clone(), v.clone());
    }
    let ctx = RouterCtx {
        name: router.name.clone(),
        platform: router.platform.clone(),
        import_policy: router.import_policy.clone(),
        export_policy: router.export_policy.clone(),
        vars,
    };
    let mut bad = Vec::new();
    let mut check = |what: String, v: &str| {
        if !is_safe_text(v) {
            bad.push(what);
        }
    };
    check("name".into(), &ctx.name);
    check("platform".into(), &ctx.platform);
    for (k, p) in [
        ("import_policy", &ctx.import_policy),
        ("export_policy", &ctx.export_policy),
    ] {
        if let Some(p) = p {
            check(k.into(), p);
        }
    }
    for (k, v) in &ctx.vars {
        check(format!("vars.{k}"), k);
        check(format!("vars.{k}"), v);
    }
    if bad.is_empty() {
        Ok(ctx)
    } else {
        Err(RenderError::Batch(format!(
            "router {}: {} may not hold control characters, quotes, backslashes, braces or semicolons",
            router.name,
            bad.join(", ")
        )))
    }
}

/// `loc` as templates see it, for [`neighbor_ctx_at`] to share.
pub fn location_ctx(loc: &Location) -> Arc<LocationCtx> {
    Arc::new(LocationCtx {
        id: loc.id.clone(),
        name: loc.name.clone(),
        kind: loc.kind.as_str(),
    })
}

/// The neighbor context of one session, cross-checked against the inventory.
pub fn neighbor_ctx(
    s: &Session,
    inv: &Inventory,
    router: &Router,
    loc: &Location,
) -> Result<NeighborCtx, RenderError> {
    neighbor_ctx_at(s, inv, router, loc, &location_ctx(loc), false)
}

/// [`neighbor_ctx`] with `at`, [`location_ctx`] of `loc`, shared. With
/// `checked`, the location's names and the router's policy names are
/// known to be safe text (an earlier call for the same router and
/// location returned a context) and are not checked again.
pub fn neighbor_ctx_at(
    s: &Session,
    inv: &Inventory,
    router: &Router,
    loc: &Location,
    at: &Arc<LocationCtx>,
    checked: bool,
) -> Result<NeighborCtx, RenderError> {
    if s.router != router.name || loc.router != router.name {
        return Err(err(
            s,
            format!(
                "is for router {:?} at {} (served by {:?}), not {:?}",
                s.router, loc.id, loc.router, router.name
            ),
        ));
    }
    if s.peer_asn.0 != inv.asn {
        return Err(err(
            s,
            format!("peer_asn {} is not our ASN {}", s.peer_asn, inv.asn),
        ));
    }
    if s.local_asn.0 == 0 || s.local_asn.is_reserved() {
        return Err(err(s, format!("local_asn {} is reserved", s.local_asn)));
    }
    if s.local_ip.is_ipv4() != s.peer_ip.is_ipv4() {
        return Err(err(s, "local_ip and peer_ip are of different families"));
    }
    if !loc.our_ips.contains(&s.peer_ip) {
        return Err(err(
            s,
            format!(
                "peer_ip {} is not one of our addresses at {}",
                s.peer_ip, loc.id
            ),
        ));
    }
    if loc.prefix_for(s.local_ip).is_none() || loc.our_ips.contains(&s.local_ip) {
        return Err(err(
            s,
            format!(
                "local_ip {} is not a peer address on {}'s LAN",
                s.local_ip, loc.id
            ),
        ));
    }
    let name = object_name(&s.session_id, s.local_asn.0)
        .ok_or_else(|| err(s, "session id is not in peerd's id form"))?;
    let md5 = match &s.session_secret {
        None => None,
        Some(sec) if is_safe_secret(sec.expose()) => Some(sec.expose().to_string()),
        Some(_) => {
            return Err(err(
                s,
                "session_secret must be 1-80 printable characters without spaces, quotes, backslashes, braces or semicolons",
            ))
        }
    };
    let fam = family(s.local_ip);
    let mut file = String::with_capacity(name.len() + 5);
    file.push_str(&name);
    file.push_str(".conf");
    let mut asn = itoa::Buffer::new();
    let asn = asn.format(s.local_asn.0);
    let mut description = String::with_capacity(9 + asn.len() + loc.id.len());
    description.push_str("peerd AS");
    description.push_str(asn);
    description.push(' ');
    description.push_str(&loc.id);
    let n = NeighborCtx {
        session_id: s.session_id.clone(),
        file,
        name,
        address: ip_text(s.local_ip),
        peer_as: s.local_asn.0,
        local_address: ip_text(s.peer_ip),
        local_as: inv.asn,
        family: fam,
        description,
        md5,
        max_prefix: max_prefix(s, inv),
        import_policy: router.import_policy.clone(),
        export_policy: router.export_policy.clone(),
        location: Arc::clone(at),
        peer_type: s.peer_type.as_str(),
        local_role: s.peer_bgp_role,
        peer_role: s.local_bgp_role,
        form: "normal",
        prefix_filter: loc.filter(&inv.policy).is_some(),
        prefix_list: None,
    };
    let strings = [&n.location.id, &n.location.name];
    let policies = [&n.import_policy, &n.export_policy];
    if !is_safe_text(&n.description)
        || !checked
            && (strings.iter().any(|v| !is_safe_text(v))
                || policies
                    .iter()
                    .any(|p| p.as_deref().is_some_and(|p| !is_safe_text(p))))
    {
        return Err(err(
            s,
            "a location or policy name holds characters no template may receive",
        ));
    }
    Ok(n)
}

/// The form a platform renders for `s`: the session's own
/// ([`Session::form`]) where the profile supports it, else `normal`.
pub fn form_for(s: &Session, profile: &Profile) -> &'static str {
    use crate::model::NeighborForm;
    match s.form() {
        NeighborForm::Drain if profile.graceful_shutdown => "drain",
        NeighborForm::Shutdown if profile.shutdown => "shutdown",
        _ => "normal",
    }
}

/// The context for a batch (and, for per-session rendering, one of it).
pub fn template_ctx(
    op: crate::platform::Op,
    local_as: u32,
    router: RouterCtx,
    neighbors: Vec<NeighborCtx>,
) -> TemplateCtx {
    let ipv4 = neighbors
        .iter()
        .filter(|n| n.family == "ipv4")
        .cloned()
        .collect();
    let ipv6 = neighbors
        .iter()
        .filter(|n| n.family == "ipv6")
        .cloned()
        .collect();
    TemplateCtx {
        op: op.as_str(),
        local_as,
        router,
        neighbors,
        ipv4,
        ipv6,
        neighbor: None,
    }
}

/// Command context for a `once` step: safe tokens only.
#[derive(Clone, Debug, Serialize)]
pub struct OnceCommandCtx {
    pub vars: BTreeMap<String, String>,
    pub router: String,
    pub session_ids: Vec<String>,
    pub names: Vec<String>,
    pub files: Vec<String>,
}

/// Command context for a `for_each: session` step: safe tokens only.
#[derive(Clone, Debug, Serialize)]
pub struct SessionCommandCtx {
    pub vars: BTreeMap<String, String>,
    pub router: String,
    pub session_id: String,
    pub name: String,
    pub file: String,
}

/// Router vars usable in commands: those whose value is a plain token.
/// Others are left out, so a command that uses one fails to render
/// (undefined value) instead of passing odd characters to a shell.
pub fn command_vars(router: &RouterCtx) -> BTreeMap<String, String> {
    router
        .vars
        .iter()
        .filter(|(k, v)| is_token(k) && is_token(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The session's max-prefix limit as rendered: the peer's override
/// (`policy.max_prefix_overrides`), else the session's own (PeeringDB with
/// the margins), else the policy's for its family; `None` = no limit.
pub fn max_prefix(s: &Session, inv: &Inventory) -> Option<u32> {
    let v4 = s.local_ip.is_ipv4();
    let limit = if v4 {
        inv.policy.max_prefix_v4
    } else {
        inv.policy.max_prefix_v6
    };
    inv.policy
        .max_prefix_overrides
        .get(&s.local_asn.0)
        .and_then(|o| if v4 { o.v4 } else { o.v6 })
        .filter(|n| *n > 0)
        .or(s.max_prefix.filter(|n| *n > 0))
        .or((limit > 0).then_some(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte-wise test of ASCII text says what the test of every
        /// character says, on any text.
        #[test]
        fn safe_text_is_the_character_rule(s in "\\PC{0,40}|[\\x00-\\x7f]{0,40}") {
            let by_char = s.len() <= 255 && !s.chars().any(|c| c.is_control() || FORBIDDEN.contains(c));
            prop_assert_eq!(is_safe_text(&s), by_char);
        }

        /// Addresses print as `Display` prints them.
        #[test]
        fn ip_text_is_display(v4 in any::<u32>(), v6 in any::<u128>(), segs in any::<[u16; 8]>(), zeros in any::<u8>()) {
            let a = IpAddr::from(std::net::Ipv4Addr::from(v4));
            prop_assert_eq!(ip_text(a), a.to_string());
            let b = IpAddr::from(std::net::Ipv6Addr::from(v6));
            prop_assert_eq!(ip_text(b), b.to_string());
            // runs of zero segments, where the compressed form is chosen
            let mut z = segs;
            for (i, seg) in z.iter_mut().enumerate() {
                if zeros & (1 << i) != 0 {
                    *seg = 0;
                }
            }
            let c = IpAddr::from(std::net::Ipv6Addr::from(z));
            prop_assert_eq!(ip_text(c), c.to_string());
            // IPv4-mapped addresses print the IPv4 address dotted
            let m = IpAddr::from(std::net::Ipv4Addr::from(v4).to_ipv6_mapped());
            prop_assert_eq!(ip_text(m), m.to_string());
        }
    }

    /// The IPv6 forms RFC 5952 singles out print as `Display` prints them.
    #[test]
    fn ip_text_edge_cases() {
        for a in [
            "::",
            "::1",
            "1::",
            "::ffff:0.0.0.0",
            "::ffff:192.0.2.1",
            "::1.2.3.4",
            "::ffff:1:2",
            "1:0:0:2:0:0:3:4",
            "1:0:2:3:4:5:6:7",
            "1:0:0:0:2:0:0:0",
            "0:0:1:0:0:0:0:1",
            "2001:db8:0:0:1:0:0:1",
            "fe80::abcd:ef01:2345:6789",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string(), "{a}");
        }
    }

    #[test]
    fn object_names() {
        assert_eq!(
            object_name("0190f5c2-8a4b-7c3d-9e1f-a2b3c4d5e6f7", 64512).as_deref(),
            Some("peerd_as64512_0190f5c28a4b7c3d9e1fa2b3c4d5e6f7")
        );
        assert_eq!(object_name("not an id", 64512), None);
    }

    #[test]
    fn safe_text_rules() {
        assert!(is_safe_text("peerd AS65002 pdb:ix:42"));
        assert!(is_safe_text("Lab IX <Frankfurt> & co"));
        for bad in [
            "a\nb", "a\"b", "a'b", "a\\b", "a{b", "a}b", "a;b", "a`b", "a\rb", "a\0b",
        ] {
            assert!(!is_safe_text(bad), "{bad:?}");
        }
        assert!(!is_safe_text(&"x".repeat(256)));
    }

    #[test]
    fn secret_rules() {
        assert!(is_safe_secret("lab-md5-secret"));
        assert!(is_safe_secret("A1!#$%&()*+,-./:<=>?@[]^_|~"));
        for bad in [
            "",
            "has space",
            "quote\"",
            "semi;colon",
            "brace}",
            "new\nline",
            "tab\t",
            "é",
        ] {
            assert!(!is_safe_secret(bad), "{bad:?}");
        }
        assert!(!is_safe_secret(&"x".repeat(81)));
    }

    #[test]
    fn tokens() {
        assert!(is_token("/etc/bird/peerd"));
        assert!(is_token("peerd_as65002_0123.conf"));
        for bad in [
            "", "a b", "$(id)", "a;b", "a|b", "a>b", "a'b", "a&b", "~root", "a*b",
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn object_names_are_identifiers() {
        let n = object_name("0123abcd-0000-4000-8000-00000000abcd", 65002).unwrap();
        assert_eq!(n, "peerd_as65002_0123abcd00004000800000000000abcd");
        assert!(n.len() <= 64);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert_eq!(object_name("../../etc", 1), None);
    }
}
