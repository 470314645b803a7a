//! `peerd check` for templates: render every template of every platform
//! against sample sessions (IPv4, IPv6, each with and without MD5 (without
//! only, for a platform with `tcp_md5: false`); alone and as one batch; add
//! and remove; with and without policies and limits, and with sample IRR
//! prefix lists where the platform renders them) and collect every error.
//! Also names each location that filters imports with an IRR prefix list
//! while its router's platform cannot render one (every add there would be
//! refused).

use super::batch::{render_batch_filtered, state_request, Filters};
use super::env::TemplateEnv;
use super::error::RenderError;
use crate::inventory::{Credential, HostKey, Inventory, Location, OnEmpty, PrefixFilter, Router};
use crate::irr::{PrefixEntry, PrefixList};
use crate::model::{LocationRef, LocationType, Secret, Session};
use crate::platform::{Op, Profiles};
use std::net::IpAddr;

/// The MD5 secret of the sample sessions.
pub const SAMPLE_SECRET: &str = "sample-md5-secret";

/// Sample sessions at the first location of `inv` (for its router): IPv4
/// and IPv6 where the location has them, each without and with MD5.
pub fn sample_sessions(inv: &Inventory) -> Vec<Session> {
    match inv.locations.first() {
        Some(l) => sample_sessions_at(inv, l),
        None => Vec::new(),
    }
}

/// Sample sessions at the first location `router` serves.
pub fn sample_sessions_for(inv: &Inventory, router: &str) -> Vec<Session> {
    match inv.locations.iter().find(|l| l.router == router) {
        Some(l) => sample_sessions_at(inv, l),
        None => Vec::new(),
    }
}

fn sample_sessions_at(inv: &Inventory, loc: &Location) -> Vec<Session> {
    let mut out = Vec::new();
    let mut n = 0u32;
    for v4 in [true, false] {
        let Some(ours) = loc.our_ips.iter().find(|ip| ip.is_ipv4() == v4).copied() else {
            continue;
        };
        let peers = peer_addresses(loc, v4, 2);
        for (md5, peer) in [false, true].into_iter().zip(peers) {
            n += 1;
            out.push(Session {
                session_id: format!("00000000-0000-4000-8000-{n:012x}"),
                request_id: "00000000-0000-4000-8000-000000000000".into(),
                peer_type: loc.kind,
                session_secret: md5.then(|| Secret::new(SAMPLE_SECRET)),
                location: LocationRef {
                    id: loc.id.clone(),
                    kind: loc.kind,
                },
                seq: n as u64,
                ..Session::sample(
                    &loc.router,
                    &loc.id,
                    (if md5 { 65003 } else { 65002 }, peer),
                    (inv.asn, ours),
                )
            });
        }
    }
    out
}

/// The first `count` host addresses of the location's prefix of that
/// family that are not ours.
fn peer_addresses(loc: &Location, v4: bool, count: usize) -> Vec<IpAddr> {
    let Some(net) = loc.prefixes.iter().find(|p| p.addr().is_ipv4() == v4) else {
        return Vec::new();
    };
    net.hosts()
        .skip(1)
        .filter(|ip| !loc.our_ips.contains(ip))
        .take(count)
        .collect()
}

/// A one-router inventory for `router` (which need not be in `inv`), with a
/// documentation-range location when it serves none in `inv`.
fn sample_inventory(inv: &Inventory, router: &Router) -> Inventory {
    let locations: Vec<Location> = inv
        .locations
        .iter()
        .filter(|l| l.router == router.name)
        .take(1)
        .cloned()
        .collect();
    let locations = if locations.is_empty() {
        vec![Location {
            id: "pdb:ix:1".into(),
            kind: LocationType::Public,
            name: "Sample IX".into(),
            router: router.name.clone(),
            prefixes: vec![
                "192.0.2.0/24".parse().expect("static"),
                "2001:db8::/64".parse().expect("static"),
            ],
            our_ips: vec![
                "192.0.2.1".parse().expect("static"),
                "2001:db8::1".parse().expect("static"),
            ],
            prefix_filter: None,
        }]
    } else {
        locations
    };
    // Prefix filters are off in the base samples; the variant turns them
    // on where the platform renders them (with sample lists).
    let locations = locations
        .into_iter()
        .map(|l| Location {
            prefix_filter: None,
            ..l
        })
        .collect();
    let mut policy = inv.policy.clone();
    policy.prefix_filter = None;
    Inventory {
        asn: inv.asn,
        routers: vec![router.clone()],
        locations,
        policy,
    }
}

/// A one-entry prefix list per sample session, of its family.
fn sample_filters(sessions: &[Session]) -> Filters {
    sessions
        .iter()
        .filter_map(|s| {
            let net = if s.local_ip.is_ipv4() {
                "198.51.100.0/24"
            } else {
                "2001:db8:100::/48"
            };
            let e = PrefixEntry::new(net.parse().ok()?, None, None)?;
            Some((s.session_id.clone(), PrefixList { entries: vec![e] }))
        })
        .collect()
}

/// One line per location whose `prefix_filter` is on while its router's
/// platform cannot render prefix lists (`prefix_lists: false`).
pub fn unfiltered_locations(inv: &Inventory, profiles: &Profiles) -> Vec<String> {
    let mut out = Vec::new();
    for l in inv
        .locations
        .iter()
        .filter(|l| l.filter(&inv.policy).is_some())
    {
        let Some(r) = inv.routers.iter().find(|r| r.name == l.router) else {
            continue;
        };
        if profiles.get(&r.platform).is_some_and(|p| !p.prefix_lists) {
            out.push(format!(
                "location {} (router {}, platform {}): filters imports with an IRR prefix list \
                 (prefix_filter), and platform {} cannot render prefix lists (drivers/{}.yaml: \
                 prefix_lists: false): every add there would be refused; turn prefix_filter \
                 off for this location (prefix_filter: {{enabled: false}})",
                l.id, r.name, r.platform, r.platform, r.platform
            ));
        }
    }
    out
}

/// A router on `platform` for platforms no inventory router uses.
fn sample_router(platform: &str) -> Router {
    Router {
        name: format!("sample-{platform}"),
        platform: platform.to_string(),
        host: "127.0.0.1".into(),
        port: 22,
        user: "peerd".into(),
        credential: Credential::PasswordEnv("PEERD_SAMPLE".into()),
        host_key: HostKey::Key("ssh-ed25519 AAAAsample sample".into()),
        import_policy: Some("PEERD-IN".into()),
        export_policy: Some("PEERD-OUT".into()),
        vars: Default::default(),
    }
}

/// Renders every template of every platform (see the module doc); `Err`
/// lists every problem, each naming platform, router and case.
pub fn check_all(
    inv: &Inventory,
    profiles: &Profiles,
    env: &TemplateEnv,
) -> Result<(), Vec<String>> {
    let mut errors = env.missing_templates(profiles);
    for (i, r) in inv.routers.iter().enumerate() {
        if profiles.get(&r.platform).is_none() {
            errors.push(format!(
                "inventory routers[{i}] ({}): platform {:?} has no profile (drivers/{}.yaml)",
                r.name, r.platform, r.platform
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    errors.extend(unfiltered_locations(inv, profiles));
    for p in profiles.iter() {
        let mut routers: Vec<Router> = inv
            .routers
            .iter()
            .filter(|r| r.platform == p.platform)
            .cloned()
            .collect();
        if routers.is_empty() {
            routers.push(sample_router(&p.platform));
        }
        for router in routers {
            let base = sample_inventory(inv, &router);
            // A variant that flips the optional parts: policies and limits.
            let mut variant = base.clone();
            variant.routers[0].import_policy = match &router.import_policy {
                Some(_) => None,
                None => Some("PEERD-IN".into()),
            };
            variant.routers[0].export_policy = match &router.export_policy {
                Some(_) => None,
                None => Some("PEERD-OUT".into()),
            };
            variant.policy.max_prefix_v4 = if base.policy.max_prefix_v4 == 0 {
                1000
            } else {
                0
            };
            variant.policy.max_prefix_v6 = if base.policy.max_prefix_v6 == 0 {
                200
            } else {
                0
            };
            if p.prefix_lists {
                variant.policy.prefix_filter = Some(PrefixFilter {
                    enabled: true,
                    on_empty: OnEmpty::Hold,
                });
            }
            for (label, tinv) in [
                ("", &base),
                (
                    " (variant: policies/limits flipped, prefix lists where rendered)",
                    &variant,
                ),
            ] {
                let mut sessions = sample_sessions(tinv);
                // a platform without TCP-MD5 refuses those (render_batch)
                sessions.retain(|s| p.tcp_md5 || s.session_secret.is_none());
                let mut err = |case: &str, e: RenderError| {
                    errors.push(format!(
                        "platform {} (drivers/{}.yaml), router {}{label}, {case}: {e}",
                        p.platform, p.platform, router.name
                    ))
                };
                if sessions.is_empty() {
                    err(
                        "samples",
                        RenderError::Batch("no sample session could be made".into()),
                    );
                    continue;
                }
                let filters = sample_filters(&sessions);
                let render_batch = |env, profiles, op, sessions: &[Session], tinv| {
                    render_batch_filtered(env, profiles, op, sessions, tinv, &filters)
                };
                for op in [Op::Add, Op::Remove] {
                    if let Err(e) = render_batch(env, profiles, op, &sessions, tinv) {
                        err(&format!("{} batch of {}", op.as_str(), sessions.len()), e);
                    }
                    for s in &sessions {
                        if let Err(e) =
                            render_batch(env, profiles, op, std::slice::from_ref(s), tinv)
                        {
                            err(&format!("{} {}", op.as_str(), describe(s)), e);
                        }
                    }
                }
                if let Err(e) = state_request(env, profiles, &router.name, tinv) {
                    err("state", e);
                }
            }
        }
    }
    errors.dedup();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn describe(s: &Session) -> String {
    format!(
        "{}{} session",
        if s.local_ip.is_ipv4() { "IPv4" } else { "IPv6" },
        if s.session_secret.is_some() {
            " MD5"
        } else {
            ""
        }
    )
}
