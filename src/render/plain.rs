//! Plain command templates: a command made only of literal text and
//! `{{ a }}` / `{{ a.b.c }}` lookups (no filters, tests, functions,
//! operators, literals, tags, comments or whitespace control) is put
//! together by concatenation, without Tera, and prints exactly what Tera
//! prints for it: the command contexts hold only strings (and `vars`, a
//! map of strings), Tera prints a string as it is in a template that is
//! not escaped (the command templates' Tera escapes none, see
//! `Profiles::from_texts`), and text between tags is copied as it is.
//!
//! [`parse`] accepts only that form, lexed as Tera 2 lexes it (text runs
//! to the first `{{`, `{%` or `{#`; whitespace inside `{{ }}` is skipped;
//! identifiers are `[A-Za-z_][A-Za-z0-9_]*`); anything else is `None`, and
//! so is a lookup that resolves to no string ([`Plain::compile`]): the
//! caller then renders with Tera, which gives its own output or error.

/// A piece of a plain template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part<'t> {
    /// Literal text.
    Text(&'t str),
    /// A lookup: its first name and the attributes after it (`b.c` of
    /// `a.b.c`), if any.
    Path(&'t str, Option<&'t str>),
}

/// Names that are not variables where a lookup starts (literals,
/// operators, the loop) or anywhere in a path (Tera lexes `true` and
/// `false` as booleans).
const NOT_NAMES: [&str; 10] = [
    "true", "True", "false", "False", "none", "None", "null", "not", "loop", "super",
];

/// `text` as literal text and lookups, if it is a plain template.
pub(crate) fn parse(text: &str) -> Option<Vec<Part<'_>>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Tera's text runs to the first of `{{`, `{%` or `{#`
        let start = b[i..]
            .windows(2)
            .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
            .map(|p| i + p);
        let Some(start) = start else {
            out.push(Part::Text(&text[i..]));
            break;
        };
        if start > i {
            out.push(Part::Text(&text[i..start]));
        }
        if b[start + 1] != b'{' {
            return None;
        }
        let (part, end) = lookup(text, start + 2)?;
        out.push(part);
        i = end;
    }
    Some(out)
}

/// The lookup whose `{{` ends at `i`, and where its `}}` ends.
fn lookup(text: &str, mut i: usize) -> Option<(Part<'_>, usize)> {
    let b = text.as_bytes();
    // `{{-` trims whitespace: not plain
    i += b[i..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    let first = ident(b, i)?;
    let root = &text[i..first];
    let mut end = first;
    while b.get(end) == Some(&b'.') {
        end = ident(b, end + 1)?;
    }
    let attrs = (end > first).then(|| &text[first + 1..end]);
    let mut names = std::iter::once(root).chain(attrs.into_iter().flat_map(|a| a.split('.')));
    if root.starts_with("__") || names.any(|n| NOT_NAMES.contains(&n)) {
        return None;
    }
    end += b[end..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    // `-}}` trims whitespace: not plain (and not `}}`)
    (b.get(end..end + 2) == Some(b"}}")).then_some((Part::Path(root, attrs), end + 2))
}

/// Where the identifier starting at `i` ends, if one starts there.
fn ident(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return None,
    }
    let len = b[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    Some(i + len)
}

/// What a lookup resolves to: text that is the same for every item (a
/// neighbor), or the item's own text number `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot<'p> {
    Text(&'p str),
    Item(usize),
}

/// A plain template with its lookups resolved: fixed text (what a
/// lookup of [`Slot::Text`] printed joined with the text around it) and
/// the items' own texts in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plain {
    pieces: Vec<Piece>,
    /// The bytes of the fixed text.
    fixed: usize,
}

/// Fixed text, or an item's own text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Item(usize),
}

impl Plain {
    /// `text` compiled, each lookup resolved by `resolve`, if `text` is
    /// plain and every lookup resolves.
    pub(crate) fn compile<'t>(
        text: &'t str,
        mut resolve: impl FnMut(&'t str, Option<&'t str>) -> Option<Slot<'t>>,
    ) -> Option<Plain> {
        let mut pieces = Vec::new();
        let mut fixed = 0;
        for part in parse(text)? {
            let slot = match part {
                Part::Text(t) => Slot::Text(t),
                Part::Path(root, attrs) => resolve(root, attrs)?,
            };
            match (slot, pieces.last_mut()) {
                (Slot::Text(t), Some(Piece::Text(prev))) => {
                    prev.push_str(t);
                    fixed += t.len();
                }
                (Slot::Text(t), _) => {
                    pieces.push(Piece::Text(t.to_string()));
                    fixed += t.len();
                }
                (Slot::Item(n), _) => pieces.push(Piece::Item(n)),
            }
        }
        Some(Plain { pieces, fixed })
    }

    /// The template printed for an item whose texts `item` gives.
    pub(crate) fn render<'i>(&self, item: impl Fn(usize) -> &'i str) -> String {
        let len = self.fixed
            + self
                .pieces
                .iter()
                .map(|p| match p {
                    Piece::Item(n) => item(*n).len(),
                    Piece::Text(_) => 0,
                })
                .sum::<usize>();
        let mut out = String::with_capacity(len);
        for p in &self.pieces {
            out.push_str(match p {
                Piece::Text(t) => t,
                Piece::Item(n) => item(*n),
            });
        }
        out
    }
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
