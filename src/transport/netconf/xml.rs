//! A small, bounded XML element tree over quick-xml, namespace-resolved, for
//! reading NETCONF messages (pure code). Also the escaping helpers used when
//! building requests.
//!
//! Limits: nesting depth ([`MAX_DEPTH`]) and element count
//! ([`MAX_ELEMENTS`]); the message size is already bounded by the framing.
//! DTDs are refused and only the predefined entities and character
//! references are resolved, so no entity expansion can blow up.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 128;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// An XML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed (or uses something refused here, such as a DTD).
    #[error("malformed XML at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset in the document.
        offset: u64,
        /// What went wrong.
        reason: String,
    },
    /// A bound was exceeded.
    #[error("XML document too large: {0}")]
    TooLarge(&'static str),
    /// No root element.
    #[error("XML document has no root element")]
    Empty,
}

/// An attribute with its resolved namespace (none for unprefixed ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI, if prefixed.
    pub namespace: Option<String>,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// An element with its resolved namespace, attributes, child elements and
/// its own text (the concatenation of its direct text nodes, unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI, if any.
    pub namespace: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes (namespace declarations excluded).
    pub attributes: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text content, unescaped, untrimmed.
    pub text: String,
    /// Byte range of the content between the start and end tags in the
    /// source document (empty for `<x/>`).
    pub inner: Range<usize>,
}

impl Element {
    /// True if this element has local name `name` in namespace `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(ns)
    }

    /// The first child with local name `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child with local name `name` in namespace `ns`.
    pub fn child_ns(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// All children with local name `name` (any namespace).
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }

    /// This element's own text, trimmed.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The value of the attribute with local name `name` (any namespace).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Every element reached by following `path` (local names, any
    /// namespace) from this element's children.
    pub fn find_all<'a>(&'a self, path: &[&str]) -> Vec<&'a Element> {
        let mut level = vec![self];
        for step in path {
            level = level
                .into_iter()
                .flat_map(|e| e.children.iter().filter(|c| c.name == *step))
                .collect();
        }
        level
    }

    /// Like [`find_all`](Self::find_all), with a namespace per step.
    pub fn find_all_ns<'a>(&'a self, path: &[(&str, &str)]) -> Vec<&'a Element> {
        let mut level = vec![self];
        for (ns, step) in path {
            level = level
                .into_iter()
                .flat_map(|e| e.children.iter().filter(|c| c.is(ns, step)))
                .collect();
        }
        level
    }
}

/// Escape text for element content or attribute values.
pub fn escape(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn malformed(offset: u64, reason: impl Into<String>) -> XmlError {
    XmlError::Malformed {
        offset,
        reason: reason.into(),
    }
}

fn namespace_of(r: ResolveResult<'_>, offset: u64) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(ns.into_inner().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(malformed(offset, format!("undeclared prefix {p:?}"))),
    }
}

fn resolve_ref(name: &str, offset: u64) -> Result<char, XmlError> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let num = name
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                .ok_or_else(|| malformed(offset, format!("unknown entity &{name};")))?
                .map_err(|_| malformed(offset, format!("bad character reference &{name};")))?;
            return char::from_u32(num)
                .filter(|c| *c != '\0')
                .ok_or_else(|| malformed(offset, format!("bad character reference &{name};")));
        }
    };
    Ok(c)
}

fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    offset: u64,
) -> Result<Element, XmlError> {
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let namespace = namespace_of(ns, offset)?;
    let mut attributes = Vec::new();
    for a in start.attributes() {
        let a = a.map_err(|e| malformed(offset, e.to_string()))?;
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| malformed(offset, e.to_string()))?;
        attributes.push(Attribute {
            namespace: namespace_of(ans, offset)?,
            name: alocal.into_inner().to_string(),
            value: value.into_owned(),
        });
    }
    Ok(Element {
        namespace,
        name: local.into_inner().to_string(),
        attributes,
        children: Vec::new(),
        text: String::new(),
        inner: 0..0,
    })
}

/// Parse a whole document (one root element; declaration, comments and
/// processing instructions are skipped).
pub fn parse(input: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_reader(input.as_bytes());
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| XmlError::Malformed {
            offset: reader.error_position(),
            reason: e.to_string(),
        })?;
        let after = reader.buffer_position();
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() {
                    return Err(malformed(before, "content after the root element"));
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge("too many elements"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooLarge("elements nested too deeply"));
                }
                let is_empty = matches!(event, Event::Empty(_));
                // NsReader keeps an empty element's declarations in scope
                // until the next read, so resolution works for both kinds.
                let mut el = open(&reader, s, before)?;
                let here = usize::try_from(after).unwrap_or(usize::MAX);
                el.inner = here..here;
                if is_empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| malformed(before, "unmatched end tag"))?;
                el.inner.end = usize::try_from(before).unwrap_or(usize::MAX);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed(before, "text outside the root element")),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(el) => el.text.push_str(&c.xml10_content()),
                None => return Err(malformed(before, "CDATA outside the root element")),
            },
            Event::GeneralRef(r) => {
                let c = resolve_ref(&r.xml10_content(), before)?;
                match stack.last_mut() {
                    Some(el) => el.text.push(c),
                    None => return Err(malformed(before, "reference outside the root element")),
                }
            }
            Event::DocType(_) => return Err(malformed(before, "DTDs are not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(input.len() as u64, "unclosed element"));
    }
    root.ok_or(XmlError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_text_and_spans() {
        let doc = r#"<?xml version="1.0"?>
<a:r xmlns:a="urn:a" xmlns="urn:d" x="1&amp;2"><c>t&lt;1&#x41;</c><e/><!-- c --><f a:y="v"><g>x</g></f></a:r>"#;
        let r = parse(doc).unwrap();
        assert!(r.is("urn:a", "r"));
        assert_eq!(r.attr("x"), Some("1&2"));
        let c = r.child("c").unwrap();
        assert!(c.is("urn:d", "c"));
        assert_eq!(c.text(), "t<1A");
        assert!(r.child("e").unwrap().is("urn:d", "e"));
        let f = r.child("f").unwrap();
        assert_eq!(f.attributes[0].namespace.as_deref(), Some("urn:a"));
        assert_eq!(&doc[f.inner.clone()], "<g>x</g>");
        assert_eq!(r.find_all(&["f", "g"]).len(), 1);
        assert_eq!(
            r.find_all_ns(&[("urn:d", "f"), ("urn:d", "g")])[0].text(),
            "x"
        );
    }

    #[test]
    fn empty_element_namespace_declarations_apply() {
        let r = parse(r#"<r><x xmlns="urn:x" xmlns:p="urn:p" p:a="1"/><y/></r>"#).unwrap();
        let x = r.child("x").unwrap();
        assert_eq!(x.namespace.as_deref(), Some("urn:x"));
        assert_eq!(x.attributes[0].namespace.as_deref(), Some("urn:p"));
        assert_eq!(r.child("y").unwrap().namespace, None);
    }

    #[test]
    fn refuses_bad_documents() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<a>&foo;</a>",
            "<p:a/>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a>&#0;</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(&deep),
            Err(XmlError::TooLarge("elements nested too deeply"))
        );
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(escape(r#"<a&"'>"#), "&lt;a&amp;&quot;&apos;&gt;");
    }
}
