//! Tests of plain command templates: what is plain, and that a plain
//! template prints exactly what Tera prints, through the command
//! templates' own Tera (`Profiles`).

use super::*;
use crate::platform::{command_name, ForEach, Profiles, Transport};
use crate::render::context::TemplateCtx;
use crate::render::prepared::{session_text, Prepared};
use crate::render::reads::command_reads;
use proptest::prelude::*;

/// A batch context whose router has vars of every kind of token
/// (`/` and `=` would be escaped by an HTML escape), and one that is not
/// a token (left out of command contexts).
fn ctx() -> TemplateCtx {
    let mut t = crate::render::tests::sample_contexts().remove(0);
    for (k, v) in [
        ("include_dir", "/etc/bird/peerd"),
        ("n", "7"),
        ("flag", "true"),
        ("odd", "a b"),
        ("mix", "a=b,c@d:e+f.g-h_i"),
        ("_under", "x"),
    ] {
        t.router.vars.insert(k.into(), v.into());
    }
    t
}

/// A profile whose add step renders `cmd` once a session, if the
/// command templates' Tera loads it.
fn profiles_with(cmd: &str) -> Option<Profiles> {
    let yaml = format!(
        "transport: ssh-exec\nadd:\n  steps:\n    - for_each: session\n      command: {}\n\
         remove:\n  steps:\n    - command: remove\nverify:\n  command: show\n  parser: frr-running-config\n",
        serde_json::to_string(cmd).unwrap()
    );
    Profiles::from_texts([("frr", "f.yaml", yaml.as_str())]).ok()
}

/// Renders `cmd` for every neighbor of `t` through Tera (`tera`, given
/// the command context) and, when it is plain, without; checks they
/// agree; true when it was plain.
fn agrees(
    t: &TemplateCtx,
    cmd: &str,
    tera: impl Fn(&tera::Context) -> Result<String, String>,
) -> bool {
    let p = Prepared::new(t).unwrap();
    let plain = p.plain_session_cmd(cmd);
    let reads = command_reads(cmd);
    for (i, n) in t.neighbors.iter().enumerate() {
        let theirs = p.with_session_cmd(i, reads, &tera).unwrap();
        if let Some(plain) = &plain {
            let ours = plain.render(|k| session_text(n, k));
            assert_eq!(Ok(&ours), theirs.as_ref(), "{cmd:?}");
        }
    }
    plain.is_some()
}

/// `cmd` in a profile of its own: true when it is plain (and then it
/// prints what Tera prints); false also when Tera does not load it. A
/// command a profile may not hold (empty, or not one line) is rendered
/// by a Tera set up as the profiles' is (nothing escaped).
fn plain_and_equal(cmd: &str) -> bool {
    let mut t = ctx();
    t.router.platform = "frr".into();
    if let Some(p) = profiles_with(cmd) {
        let name = command_name("frr", "add.steps[0].command");
        return agrees(&t, cmd, |c| p.render_named(&name, c));
    }
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    if tera.add_raw_template("cmd", cmd).is_err() {
        return false;
    }
    agrees(&t, cmd, |c| {
        tera.render("cmd", c).map_err(|e| e.to_string())
    })
}

#[test]
fn text_and_lookups_print_what_tera_prints() {
    for cmd in [
        "cat > {{ vars.include_dir }}/{{ file }}.tmp && mv -f {{ vars.include_dir }}/{{ file }}.tmp {{ vars.include_dir }}/{{ file }}",
        "rm -f {{ vars.include_dir }}/{{ file }} {{ vars.include_dir }}/{{ file }}.tmp",
        "{{file}}",
        "{{ name }}{{ session_id }}{{ file }}{{ router }}",
        "  {{\tname\n}}  \n",
        "x {{ vars.n }} {{ vars.flag }} {{ vars.mix }} {{ vars._under }}",
        "",
        "no lookups at all",
        "closing }} and %} and #} and a lone { are text: {x} { {",
        "trailing newline\n",
        "unicode é → {{ name }} ü",
        "{{ name }}}}}",
    ] {
        assert!(plain_and_equal(cmd), "{cmd:?} is plain");
    }
}

#[test]
fn anything_else_goes_through_tera() {
    for cmd in [
        // filters, tests, operators, literals, functions, indexing
        "{{ file | upper }}",
        "{{ file is defined }}",
        "{{ file ~ 'x' }}",
        "{{ 'x' }}",
        "{{ 7 }}",
        "{{ true }}",
        "{{ none }}",
        "{{ vars['n'] }}",
        "{{ vars?.n }}",
        // whitespace control, tags, comments
        "a {{- file }}",
        "{{ file -}} b",
        "{% if file %}x{% endif %}",
        "{# note #}{{ file }}",
        "{% raw %}{{ file }}{% endraw %}",
        // whitespace around a dot
        "{{ vars . n }}",
        // what is not a string, or not there
        "{{ vars }}",
        "{{ file.x }}",
        "{{ router.name }}",
        "{{ vars.odd }}",
        "{{ vars.nope }}",
        "{{ nope }}",
        "{{ __tera_context }}",
        "{{ loop }}",
    ] {
        assert!(!plain_and_equal(cmd), "{cmd:?} is not plain");
    }
}

#[test]
fn parses_as_tera_lexes() {
    assert_eq!(
        parse("a{{b}}c{{ d.e.f }}").unwrap(),
        [
            Part::Text("a"),
            Part::Path("b", None),
            Part::Text("c"),
            Part::Path("d", Some("e.f")),
        ]
    );
    assert_eq!(parse("").unwrap(), []);
    for bad in [
        "{{",
        "{{ a",
        "{{ a }",
        "{{ a. }}",
        "{{ .a }}",
        "{{ 1a }}",
        "{{ a.1 }}",
        "{{}}",
        "{{ a b }}",
        "{%",
        "{#",
        "{{ a.true }}",
        "{{ {a} }}",
    ] {
        assert_eq!(parse(bad), None, "{bad:?}");
    }
}

/// Every per-session command of the shipped drivers is plain and prints
/// what Tera prints; so are their other commands that are.
#[test]
fn the_shipped_drivers_per_session_commands_are_plain() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("drivers");
    let profiles = Profiles::load(&dir).unwrap();
    let mut per_session = 0;
    for p in profiles.iter() {
        let mut t = ctx();
        t.router.platform = p.platform.clone();
        t.router.vars.extend(p.vars.clone());
        if let Transport::SshExec(x) = &p.transport {
            for (op, spec) in [("add", &x.add), ("remove", &x.remove)] {
                for (list, steps) in [("steps", &spec.steps), ("rollback", &spec.rollback)] {
                    for (i, s) in steps.iter().enumerate() {
                        let name = command_name(&p.platform, &format!("{op}.{list}[{i}].command"));
                        if matches!(s.for_each, ForEach::Session) {
                            let tera = |c: &tera::Context| profiles.render_named(&name, c);
                            assert!(agrees(&t, &s.command, tera), "{name}");
                            per_session += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(per_session >= 3, "{per_session}");
}

/// Templates put together from pieces of text and lookups, well formed
/// or not, and with the odd character Tera treats specially.
fn template() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "{{ ",
        "{{",
        " }}",
        "}}",
        "{{- ",
        " -}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "{",
        "}",
        " ",
        "\n",
        "\t",
        "-",
        ".",
        "|",
        "'",
        "vars",
        "vars.n",
        "vars.mix",
        "vars.odd",
        ".n",
        "file",
        "name",
        "session_id",
        "router",
        "true",
        "x",
        "é",
        "1",
        "{{ file }}",
        "{{name}}",
        "{{ vars.mix }}",
        "{{\tvars.include_dir\n}}",
        "{{ router }}",
        "{{ session_id }}",
        "{{ vars.odd }}",
        "{{ vars }}",
    ]);
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the template, a plain one loads in Tera and prints what
    /// Tera prints.
    #[test]
    fn a_plain_template_is_tera_s_own_output(cmd in template()) {
        let plain = ctx_plain(&cmd);
        if plain {
            prop_assert!(plain_and_equal(&cmd), "{:?}", cmd);
        }
    }
}

/// True when `cmd` is plain in the test context, whether or not Tera
/// loads it.
fn ctx_plain(cmd: &str) -> bool {
    let t = ctx();
    Prepared::new(&t).unwrap().plain_session_cmd(cmd).is_some()
}
