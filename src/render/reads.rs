//! Which top-level names of the content context ([`super::context::TemplateCtx`]:
//! `op`, `local_as`, `router`, `neighbors`, `ipv4`, `ipv6`, `neighbor`) a
//! platform's templates may read, decided from the template text when the
//! templates are loaded, and which names of a `for_each: session` command
//! context a command may read. A per-session context (BIRD's one file per
//! session, and its commands) then leaves out the names its templates
//! cannot read: each name left out is a value not put together for every
//! neighbor, and every name Tera looks up is found among fewer.
//!
//! The test is lexical and errs on the side of reading: a name may be read
//! when it appears as a word anywhere in one of the platform's templates
//! (text, comments and strings included) other than right after a `.` (an
//! attribute, as in `neighbor.local_as`, reads no top-level name). Whatever
//! reaches names any other way makes every name readable: a template that
//! names Tera's own variables (`__tera_context` dumps the whole context),
//! or includes or extends another template (whose text would count too),
//! and components (which can read their caller's names) anywhere in the
//! set. The templates use Tera's default delimiters (`TemplateEnv` sets no
//! others).

use std::collections::BTreeMap;

/// A set of the top-level names of one kind of context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Bit `i` for `names[i]`.
    mask: u8,
    names: &'static [&'static str],
}

/// The content context's names.
const CONTENT: [&str; 7] = [
    "op",
    "local_as",
    "router",
    "neighbors",
    "ipv4",
    "ipv6",
    "neighbor",
];

/// A `for_each: session` command context's names
/// ([`super::context::SessionCommandCtx`]).
const SESSION_COMMAND: [&str; 5] = ["vars", "router", "session_id", "name", "file"];

/// Tags that make a template's reads undecidable from its own text (the
/// word right after `{%`; elsewhere they are plain words).
const OPAQUE: [&str; 4] = ["include", "extends", "component", "import"];

impl Reads {
    /// Every name of the content context.
    pub(crate) const ALL: Reads = Reads::all(&CONTENT);

    const fn all(names: &'static [&'static str]) -> Reads {
        Reads {
            mask: ((1u16 << names.len()) - 1) as u8,
            names,
        }
    }

    /// True unless `name` is one of the context's names that no template
    /// reads (a name this module does not know is always kept).
    pub(crate) fn may_read(self, name: &str) -> bool {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.mask & (1 << i) != 0,
            None => true,
        }
    }

    /// The context's names not read, to leave out.
    pub(crate) fn unread(self) -> impl Iterator<Item = &'static str> {
        self.names
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.mask & (1 << i) == 0)
            .map(|(_, n)| *n)
    }
}

/// What a `for_each: session` command template may read of its context.
/// A component call (`<Name ...>`) could read its caller's names: a
/// command holding a `<` may read every name.
pub(crate) fn command_reads(text: &str) -> Reads {
    if text.contains('<') {
        return Reads::all(&SESSION_COMMAND);
    }
    reads_of(text, &SESSION_COMMAND)
}

/// What each platform's templates may read: `templates` are
/// `(<platform>/<file>, what its text may read)` ([`text_reads`]);
/// `components` is true when the set defines any component. A platform
/// with no template is absent.
pub(crate) fn platform_reads<'a>(
    templates: impl IntoIterator<Item = (&'a str, Reads)>,
    components: bool,
) -> BTreeMap<String, Reads> {
    let mut out: BTreeMap<String, Reads> = BTreeMap::new();
    for (name, r) in templates {
        let platform = name.split_once('/').map_or(name, |(p, _)| p);
        let r = if components { Reads::ALL } else { r };
        let e = out.entry(platform.to_string()).or_insert(Reads {
            mask: 0,
            names: &CONTENT,
        });
        e.mask |= r.mask;
    }
    out
}

/// What one content template's text may read.
pub(crate) fn text_reads(text: &str) -> Reads {
    reads_of(text, &CONTENT)
}

/// What `text` may read of the context whose names are `names`.
fn reads_of(text: &str, names: &'static [&'static str]) -> Reads {
    if text.contains("__tera_") {
        return Reads::all(names);
    }
    let mut r = 0u8;
    for (start, w) in words(text) {
        let before = text[..start].trim_end();
        if before.ends_with('.') {
            // an attribute
            continue;
        }
        // a tag's own word: `{% include`, `{%- extends`, ...
        let tag = before
            .strip_suffix(['-', '+'])
            .unwrap_or(before)
            .trim_end()
            .ends_with("{%");
        if tag && OPAQUE.contains(&w) {
            return Reads::all(names);
        }
        if let Some(i) = names.iter().position(|n| *n == w) {
            r |= 1 << i;
        }
    }
    Reads { mask: r, names }
}

/// The identifier-like words of `text` (ASCII letters, digits and `_`,
/// anything else a boundary), each with where it starts.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !word(b[i]) {
            i += 1;
        }
        let start = i;
        while i < b.len() && word(b[i]) {
            i += 1;
        }
        // ASCII boundaries on both sides: char boundaries
        (i > start).then(|| (start, &text[start..i]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(text: &str) -> Vec<&'static str> {
        CONTENT
            .iter()
            .copied()
            .filter(|n| text_reads(text).may_read(n))
            .collect()
    }

    #[test]
    fn names_as_words_are_read_attributes_are_not() {
        assert_eq!(
            reads("{{ neighbor.local_as }} {{ neighbor . ipv4 }}{{ router.vars.op }}"),
            ["router", "neighbor"]
        );
        assert_eq!(
            reads("{% for n in neighbors %}{{ n.address }}{% endfor %}{{ local_as }}"),
            ["local_as", "neighbors"]
        );
        // a comment, a string or a longer word: read when the word stands alone
        assert_eq!(
            reads("{# ipv6 #}{{ 'op' }}{{ ipv4x }}{{ x_ipv4 }}"),
            ["op", "ipv6"]
        );
        assert_eq!(reads("neighbors_v4 neighborsé"), ["neighbors"]);
        assert_eq!(reads("plain text"), Vec::<&str>::new());
    }

    /// A set-but-maybe-unset name is still read: the word is there.
    #[test]
    fn a_set_name_is_still_read() {
        assert_eq!(
            reads("{% if x %}{% set ipv4 = [] %}{% endif %}{{ ipv4 | length }}"),
            ["ipv4"]
        );
    }

    #[test]
    fn what_reaches_names_otherwise_reads_everything() {
        for t in [
            "{{ __tera_context }}",
            "{% include \"frr/x.tera\" %}",
            "{%- include \"frr/x.tera\" %}",
            "{%+  extends \"base\" %}",
            "{% component Button(label) %}{% endcomponent Button %}",
        ] {
            assert_eq!(text_reads(t), Reads::ALL, "{t}");
        }
        // the words elsewhere are text
        assert_eq!(
            reads("{# under the include directory #} import {{ neighbor.import_policy }}"),
            ["neighbor"]
        );
        let m = platform_reads([("bird2/a.tera", text_reads("{{ neighbor.name }}"))], true);
        assert_eq!(m["bird2"], Reads::ALL);
    }

    #[test]
    fn commands_read_their_own_names() {
        let r =
            command_reads("rm -f {{ vars.include_dir }}/{{ file }} {{ vars.x }}/{{ file }}.tmp");
        assert_eq!(
            r.unread().collect::<Vec<_>>(),
            ["router", "session_id", "name"]
        );
        assert!(r.may_read("vars") && r.may_read("file"));
        // `neighbor` is a content name, not a command's: never left out
        assert!(r.may_read("neighbor"));
        for t in [
            "{{ <Cmd /> }}",
            "x {{ __tera_context }}",
            "{% include \"a\" %}",
        ] {
            assert_eq!(command_reads(t).unread().count(), 0, "{t}");
        }
    }

    #[test]
    fn a_platform_reads_what_any_of_its_templates_reads() {
        let m = platform_reads(
            [
                ("bird2/a.tera", text_reads("{{ neighbor.name }}")),
                ("bird2/b.tera", text_reads("{{ router.name }}")),
                ("frr/c.tera", text_reads("{{ ipv6 }}")),
            ],
            false,
        );
        assert_eq!(
            m["bird2"].unread().collect::<Vec<_>>(),
            ["op", "local_as", "neighbors", "ipv4", "ipv6"]
        );
        assert!(m["frr"].may_read("ipv6") && !m["frr"].may_read("neighbor"));
        assert!(m["frr"].may_read("some_new_name"));
    }
}
