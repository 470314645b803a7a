//! Unit tests of the render layer with small inline templates and profiles.

use super::*;
use crate::inventory::Inventory;
use crate::model::{Asn, Secret, Session};
use crate::platform::{Op, Profiles, PushPlan, ReadRequest};
use std::time::Duration;

const INV: &str = r#"
asn: 65001
routers:
  - name: rtr1
    platform: frr
    host: 127.0.0.1
    user: peerd
    credential: { password_env: X }
    host_key: { key: "ssh-ed25519 AAAAfake x" }
    import_policy: PEERD_IN
    vars: { include_dir: /etc/bird/peerd, odd: "a b" }
  - name: rtr2
    platform: frr
    host: 127.0.0.1
    user: peerd
    credential: { password_env: X }
    host_key: { key: "ssh-ed25519 AAAAfake x" }
locations:
  - id: pdb:ix:42
    type: public
    name: Lab IX <one> & two
    router: rtr1
    prefixes: [192.0.2.0/24, "2001:db8::/64"]
    our_ips: [192.0.2.1, "2001:db8::1"]
  - id: pdb:ix:43
    type: public
    name: Other IX
    router: rtr2
    prefixes: [198.51.100.0/24]
    our_ips: [198.51.100.1]
policy:
  max_prefix_v4: 100
"#;

const PROFILE: &str = r#"
transport: ssh-exec
add:
  steps:
    - command: apply {{ router }} {{ session_ids | length }}
      stdin: add.tera
    - for_each: session
      command: write {{ vars.include_dir }}/{{ file }}
      stdin: one.tera
  rollback:
    - command: undo
remove:
  steps:
    - command: remove
      stdin: add.tera
verify:
  command: show {{ router }}
  parser: frr-running-config
"#;

fn inv() -> Inventory {
    Inventory::from_yaml(INV, "inv.yaml").unwrap()
}

fn session(n: u32, ip: &str, secret: Option<&str>) -> Session {
    let local_ip: std::net::IpAddr = ip.parse().unwrap();
    let (peer_ip, loc, router) = if ip.starts_with("198.51.100.") {
        ("198.51.100.1", "pdb:ix:43", "rtr2")
    } else if local_ip.is_ipv4() {
        ("192.0.2.1", "pdb:ix:42", "rtr1")
    } else {
        ("2001:db8::1", "pdb:ix:42", "rtr1")
    };
    Session {
        session_id: format!("00000000-0000-4000-8000-{n:012x}"),
        request_id: "00000000-0000-4000-8000-000000000000".into(),
        session_secret: secret.map(Secret::new),
        seq: n as u64,
        created_by: "test".into(),
        ..Session::sample(
            router,
            loc,
            (65002, local_ip),
            (65001, peer_ip.parse().unwrap()),
        )
    }
}

fn env(add: &str) -> TemplateEnv {
    TemplateEnv::from_templates([
        ("frr/add.tera", add),
        (
            "frr/one.tera",
            "{{ neighbor.name }} {{ neighbor.address }} {{ neighbors | length }}",
        ),
        (
            "frr/x.xml.tera",
            "<d>{{ router.vars.odd }}{{ neighbor.location.name }}</d>",
        ),
    ])
    .unwrap()
}

fn profiles() -> Profiles {
    Profiles::from_texts([("frr", "drivers/frr.yaml", PROFILE)]).unwrap()
}

/// Typed contexts of a batch (both families, a secret) and of one session.
pub(crate) fn sample_contexts() -> Vec<context::TemplateCtx> {
    let (inv, profiles) = (inv(), profiles());
    let router = inv.router("rtr1").unwrap();
    let loc = inv.location("pdb:ix:42").unwrap();
    let rctx = context::router_ctx(router, profiles.get("frr").unwrap()).unwrap();
    let ns: Vec<_> = [
        session(1, "192.0.2.10", Some("s3cret")),
        session(2, "2001:db8::10", None),
        session(3, "192.0.2.11", None),
    ]
    .iter()
    .map(|s| context::neighbor_ctx(s, &inv, router, loc).unwrap())
    .collect();
    let mut one = context::template_ctx(Op::Remove, 65001, rctx.clone(), vec![ns[0].clone()]);
    one.neighbor = Some(ns[0].clone());
    vec![context::template_ctx(Op::Add, 65001, rctx, ns), one]
}

#[test]
fn batch_is_one_render_and_one_apply() {
    let e = env("{% for n in neighbors %}{{ n.address }}/{{ n.peer_as }}/{{ n.md5 or 'none' }}\n{% endfor %}");
    let s = [
        session(1, "192.0.2.2", None),
        session(2, "2001:db8::2", Some("s3cret")),
        session(3, "192.0.2.3", None),
    ];
    let p = render_batch(&e, &profiles(), Op::Add, &s, &inv()).unwrap();
    let PushPlan::Exec { steps, rollback } = &p.plan else {
        panic!("exec plan")
    };
    assert_eq!(steps.len(), 1 + 3, "one batch step plus one per session");
    assert_eq!(steps[0].command, "apply rtr1 3");
    assert_eq!(
        steps[0].stdin.as_deref(),
        Some("192.0.2.2/65002/none\n2001:db8::2/65002/s3cret\n192.0.2.3/65002/none\n")
    );
    assert_eq!(
        steps[2].command,
        "write /etc/bird/peerd/peerd_as65002_00000000000040008000000000000002.conf"
    );
    assert_eq!(
        steps[2].stdin.as_deref(),
        Some("peerd_as65002_00000000000040008000000000000002 2001:db8::2 1")
    );
    assert_eq!(
        steps[2].session_id.as_deref(),
        Some(s[1].session_id.as_str())
    );
    assert_eq!(rollback.len(), 1);
    assert_eq!(
        p.verify.request,
        ReadRequest::Exec {
            command: "show rtr1".into(),
            timeout: Duration::from_secs(60)
        }
    );
    assert_eq!(p.expected.len(), 3);
    assert_eq!(p.expected[1].peer_as, 65002);
    let dbg = format!("{p:?}");
    assert!(!dbg.contains("s3cret"), "Debug leaks the secret: {dbg}");
    assert!(p.redact("x s3cret y").contains("<redacted>"));
}

#[test]
fn undefined_values_are_errors() {
    let e = env("{{ neighbors[0].no_such_field }}");
    let err = render_batch(
        &e,
        &profiles(),
        Op::Add,
        &[session(1, "192.0.2.2", None)],
        &inv(),
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Template { .. }), "{err}");
    assert!(err.to_string().contains("frr/add.tera"), "{err}");
}

#[test]
fn commands_only_see_token_vars() {
    let p = Profiles::from_texts([(
        "frr",
        "f.yaml",
        &*PROFILE.replace("command: undo", "command: undo {{ vars.odd }}"),
    )])
    .unwrap();
    let err = render_batch(
        &env("x"),
        &p,
        Op::Add,
        &[session(1, "192.0.2.2", None)],
        &inv(),
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Command(_)), "{err}");
    assert!(err.to_string().contains("add.rollback[0].command"), "{err}");
}

/// A `for_each: session` command that is not plain text and lookups
/// (plain.rs) goes through Tera: its filters apply, and what it cannot
/// find is an error naming the command.
#[test]
fn per_session_commands_that_are_not_plain_go_through_tera() {
    let with = |cmd: &str| {
        let p = PROFILE.replace("write {{ vars.include_dir }}/{{ file }}", cmd);
        let p = Profiles::from_texts([("frr", "f.yaml", p.as_str())]).unwrap();
        let s = [session(1, "192.0.2.2", None), session(2, "192.0.2.3", None)];
        render_batch(&env("x"), &p, Op::Add, &s, &inv())
    };
    let p = with("write {{ vars.include_dir | upper }}/{{ file | length }}").unwrap();
    let PushPlan::Exec { steps, .. } = &p.plan else {
        panic!("exec plan")
    };
    assert_eq!(steps[1].command, "write /ETC/BIRD/PEERD/51");
    assert_eq!(steps[2].command, "write /ETC/BIRD/PEERD/51");
    for bad in [
        "write {{ vars.odd }}",
        "write {{ vars.nope }}",
        "write {{ file.x }}",
    ] {
        let err = with(bad).unwrap_err();
        assert!(matches!(err, RenderError::Command(_)), "{bad}: {err}");
        assert!(err.to_string().contains("add.steps[1].command"), "{err}");
    }
}

#[test]
fn a_batch_is_for_one_router_without_duplicates() {
    let e = env("x");
    let r = render_batch(
        &e,
        &profiles(),
        Op::Add,
        &[
            session(1, "192.0.2.2", None),
            session(2, "198.51.100.2", None),
        ],
        &inv(),
    );
    assert!(r.unwrap_err().to_string().contains("one router"));
    let r = render_batch(
        &e,
        &profiles(),
        Op::Add,
        &[session(1, "192.0.2.2", None), session(1, "192.0.2.3", None)],
        &inv(),
    );
    assert!(r.unwrap_err().to_string().contains("twice"));
    let r = render_batch(
        &e,
        &profiles(),
        Op::Add,
        &[session(1, "192.0.2.2", None), session(2, "192.0.2.2", None)],
        &inv(),
    );
    assert!(r.unwrap_err().to_string().contains("same neighbor"));
    assert!(render_batch(&e, &profiles(), Op::Add, &[], &inv()).is_err());
    // the first repeat in batch order is the one named, the id or the
    // address, whichever comes first
    let r = render_batch(
        &e,
        &profiles(),
        Op::Add,
        &[
            session(3, "192.0.2.4", None),
            session(1, "192.0.2.2", None),
            session(2, "192.0.2.2", None),
            session(3, "192.0.2.5", None),
        ],
        &inv(),
    );
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("same neighbor 192.0.2.2"), "{msg}");
}

#[test]
fn sessions_are_cross_checked_against_the_inventory() {
    let e = env("x");
    let mut s = session(1, "192.0.2.2", None);
    s.peer_ip = "192.0.2.9".parse().unwrap();
    assert!(render_batch(&e, &profiles(), Op::Add, &[s], &inv())
        .unwrap_err()
        .to_string()
        .contains("not one of our addresses"));
    let mut s = session(1, "192.0.2.2", None);
    s.peer_asn = Asn(65009);
    assert!(render_batch(&e, &profiles(), Op::Add, &[s], &inv())
        .unwrap_err()
        .to_string()
        .contains("not our ASN"));
    let mut s = session(1, "192.0.2.2", None);
    s.session_id = "../../etc/passwd".into();
    assert!(render_batch(&e, &profiles(), Op::Add, &[s], &inv())
        .unwrap_err()
        .to_string()
        .contains("id form"));
}

/// Injection: a Session cannot carry free text into a template. Its
/// addresses are `IpAddr`, its ASNs integers; the only string a peer
/// controls is the MD5 secret, which is refused unless plain; the context
/// holds nothing else from the peer, and XML templates escape anyway.
#[test]
fn injection_cannot_reach_a_template() {
    let e = env("{{ neighbors[0].md5 }}");
    for hostile in [
        "x\nneighbor 192.0.2.66 remote-as 666",
        "x\"; import all; #",
        "x}",
        "a b",
        "x'y",
        "x\\y",
    ] {
        let s = session(1, "192.0.2.2", Some(hostile));
        let err = render_batch(&e, &profiles(), Op::Add, &[s], &inv()).unwrap_err();
        assert!(
            err.to_string().contains("session_secret"),
            "{hostile:?}: {err}"
        );
    }
    // What a template sees: typed values only.
    let i = inv();
    let s = session(1, "2001:db8::2", Some("s3cret"));
    let r = i.router("rtr1").unwrap();
    let n = context::neighbor_ctx(&s, &i, r, i.location("pdb:ix:42").unwrap()).unwrap();
    let v = serde_json::to_value(&n).unwrap();
    assert_eq!(v["address"], "2001:db8::2");
    assert!(v["peer_as"].is_u64() && v["local_as"].is_u64());
    assert_eq!(v["family"], "ipv6");
    assert_eq!(v["name"], "peerd_as65002_00000000000040008000000000000001");
    assert_eq!(v["description"], "peerd AS65002 pdb:ix:42");
    assert_eq!(
        v["max_prefix"],
        serde_json::Value::Null,
        "no v6 limit in this policy"
    );
    // A limit derived from PeeringDB at intake wins over the policy's.
    let mut own = session(1, "192.0.2.2", None);
    let n4 = context::neighbor_ctx(&own, &i, r, i.location("pdb:ix:42").unwrap()).unwrap();
    assert_eq!(n4.max_prefix, Some(100), "policy default");
    own.max_prefix = Some(22);
    let n4 = context::neighbor_ctx(&own, &i, r, i.location("pdb:ix:42").unwrap()).unwrap();
    assert_eq!(n4.max_prefix, Some(22));
    let mut v6 = session(1, "2001:db8::2", None);
    v6.max_prefix = Some(11);
    let n6 = context::neighbor_ctx(&v6, &i, r, i.location("pdb:ix:42").unwrap()).unwrap();
    assert_eq!(n6.max_prefix, Some(11), "also where the policy sets none");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "address",
            "description",
            "export_policy",
            "family",
            "file",
            "form",
            "import_policy",
            "local_address",
            "local_as",
            "local_role",
            "location",
            "max_prefix",
            "md5",
            "name",
            "peer_as",
            "peer_role",
            "peer_type",
            "prefix_filter",
            "prefix_list",
            "session_id"
        ]
    );
    // the IRR list is typed data, set only for an add with a good list
    assert_eq!(v["prefix_filter"], false);
    assert_eq!(v["prefix_list"], serde_json::Value::Null);
    // XML templates escape what they print (here operator text with < & >).
    let x = e
        .render("frr", "x.xml.tera", &{
            let mut t = context::template_ctx(
                Op::Add,
                65001,
                context::router_ctx(r, profiles().get("frr").unwrap()).unwrap(),
                vec![n.clone()],
            );
            t.neighbor = Some(n);
            t
        })
        .unwrap();
    assert_eq!(x, "<d>a bLab IX &lt;one&gt; &amp; two</d>");
    // A secret may hold < > & (they are plain characters to FRR and BIRD);
    // in XML they are escaped, so they cannot close an element.
    let xe =
        TemplateEnv::from_templates([("frr/add.xml.tera", "<md5>{{ neighbors[0].md5 }}</md5>")])
            .unwrap();
    let s = session(1, "192.0.2.2", Some("</md5><evil/>"));
    let n = context::neighbor_ctx(&s, &i, r, i.location("pdb:ix:42").unwrap()).unwrap();
    let t = context::template_ctx(
        Op::Add,
        65001,
        context::router_ctx(r, profiles().get("frr").unwrap()).unwrap(),
        vec![n],
    );
    assert_eq!(
        xe.render("frr", "add.xml.tera", &t).unwrap(),
        "<md5>&lt;/md5&gt;&lt;evil/&gt;</md5>"
    );
}

#[test]
fn xml_escape_covers_the_five() {
    let mut out = Vec::new();
    xml_escape(r#"<a href="x">&'</a>"#, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
    );
}

#[test]
fn missing_templates_are_named() {
    let e = TemplateEnv::from_templates([("frr/add.tera", "x")]).unwrap();
    let m = e.missing_templates(&profiles());
    assert_eq!(
        m,
        vec![
            "drivers/frr.yaml: add.steps[1].stdin: template templates/frr/one.tera does not exist"
        ]
    );
}

#[test]
fn template_syntax_errors_name_the_file() {
    let e = TemplateEnv::from_templates([("frr/add.tera", "{% for %}")]).unwrap_err();
    assert!(e.to_string().contains("frr/add.tera"), "{e}");
}

#[test]
fn state_request_without_state_section() {
    assert_eq!(
        state_request(&env("x"), &profiles(), "rtr1", &inv()).unwrap(),
        None
    );
    assert!(state_request(&env("x"), &profiles(), "nope", &inv()).is_err());
}

/// The inventory with IRR prefix filters on at pdb:ix:42.
fn filtered_inv() -> Inventory {
    let mut inv = inv();
    inv.locations[0].prefix_filter = Some(crate::inventory::PrefixFilter {
        enabled: true,
        on_empty: crate::inventory::OnEmpty::Hold,
    });
    inv
}

fn list_for(s: &Session) -> Filters {
    let e = crate::irr::PrefixEntry::new("198.51.100.0/24".parse().unwrap(), None, None).unwrap();
    [(
        s.session_id.clone(),
        crate::irr::PrefixList { entries: vec![e] },
    )]
    .into_iter()
    .collect()
}

#[test]
fn a_filtered_session_is_refused_where_the_platform_renders_no_prefix_lists() {
    let (env, inv) = (env("{{ neighbors | length }}"), filtered_inv());
    let s = session(1, "192.0.2.10", None);
    let f = list_for(&s);
    // PROFILE says nothing: prefix_lists is false
    let e = render_batch_filtered(
        &env,
        &profiles(),
        Op::Add,
        std::slice::from_ref(&s),
        &inv,
        &f,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(&s.session_id), "{e}");
    assert!(e.contains("cannot render prefix lists"), "{e}");
    assert!(e.contains("prefix_lists: false"), "{e}");
    assert!(e.contains("nothing was pushed"), "{e}");
    // one filtered session refuses its whole batch; without the filter
    // the same batch renders
    let two = [s.clone(), session(2, "2001:db8::10", None)];
    assert!(render_batch_filtered(&env, &profiles(), Op::Add, &two, &inv, &f).is_err());
    assert!(
        render_batch_filtered(&env, &profiles(), Op::Add, &two, &super::tests::inv(), &f).is_ok()
    );
    // removal renders no list: allowed
    assert!(render_batch_filtered(
        &env,
        &profiles(),
        Op::Remove,
        std::slice::from_ref(&s),
        &inv,
        &f
    )
    .is_ok());
    // a platform that renders them: allowed
    let yes = Profiles::from_texts([(
        "frr",
        "drivers/frr.yaml",
        &format!("prefix_lists: true\n{PROFILE}") as &str,
    )])
    .unwrap();
    assert!(render_batch_filtered(&env, &yes, Op::Add, &[s], &inv, &f).is_ok());
}

#[test]
fn check_names_locations_that_filter_where_the_platform_cannot() {
    assert!(unfiltered_locations(&inv(), &profiles()).is_empty());
    let lines = unfiltered_locations(&filtered_inv(), &profiles());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("location pdb:ix:42 (router rtr1, platform frr)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("cannot render prefix lists"),
        "{}",
        lines[0]
    );
    let errors = check_all(
        &filtered_inv(),
        &profiles(),
        &env("{{ neighbors | length }}"),
    )
    .unwrap_err();
    assert!(
        errors.iter().any(|e| e.contains("location pdb:ix:42")),
        "{errors:?}"
    );
    // the policy-wide setting counts too, and a location can turn it off
    let mut inv = inv();
    inv.policy.prefix_filter = Some(crate::inventory::PrefixFilter {
        enabled: true,
        on_empty: crate::inventory::OnEmpty::KeepLast,
    });
    assert_eq!(unfiltered_locations(&inv, &profiles()).len(), 2);
    inv.locations[1].prefix_filter = Some(crate::inventory::PrefixFilter {
        enabled: false,
        on_empty: crate::inventory::OnEmpty::Hold,
    });
    assert_eq!(unfiltered_locations(&inv, &profiles()).len(), 1);
}
