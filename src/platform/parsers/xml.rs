//! A small, bounded XML tree for reading NETCONF replies: element local
//! names (namespaces ignored), their text and children. Enough to find
//! neighbors and their leaves in get-config / get answers.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 128;
/// Most elements accepted.
const MAX_ELEMENTS: usize = 1_000_000;

/// One element: its local name, concatenated text and children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a `/`-separated path of child names.
    pub fn at(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |e, step| e.child(step))
    }

    /// The trimmed text at `path`, if present and non-empty.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path)
            .map(|e| e.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// Every element named `name` at any depth (this one included), in
    /// document order.
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        if self.name == name {
            out.push(self);
        }
        for c in &self.children {
            c.find_all(name, out);
        }
    }
}

/// Parses `xml` into a synthetic root (name `""`) holding the top-level
/// elements. Refuses malformed XML and documents beyond the bounds.
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut count = 0usize;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(s) => {
                count += 1;
                if stack.len() > MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err("XML nested too deep or too large".into());
                }
                stack.push(Element {
                    name: local(s.local_name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(s) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err("XML too large".into());
                }
                let e = Element {
                    name: local(s.local_name().as_ref()),
                    ..Element::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(e);
                }
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err("malformed XML: unbalanced end tag".into());
                }
                let done = stack.pop().expect("checked above");
                if let Some(top) = stack.last_mut() {
                    top.children.push(done);
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let raw = format!("&{};", r.xml10_content());
                let v = quick_xml::escape::unescape(&raw)
                    .map_err(|e| format!("malformed XML entity {raw}: {e}"))?
                    .into_owned();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&v);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("malformed XML: unclosed element".into());
    }
    Ok(stack.pop().expect("root"))
}

fn local(name: &str) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_text_and_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data><bgp xmlns="urn:x"><neighbor><address>192.0.2.2</address><description>a &amp; b &#x3C;c&gt;</description><e/></neighbor></bgp></data></rpc-reply>"#,
        )
        .unwrap();
        let n = root.at("rpc-reply/data/bgp/neighbor").unwrap();
        assert_eq!(n.text_at("address"), Some("192.0.2.2"));
        assert_eq!(n.text_at("description"), Some("a & b <c>"));
        assert!(n.child("e").is_some());
        let mut all = Vec::new();
        root.find_all("neighbor", &mut all);
        assert_eq!(all.len(), 1);
    }

    #[test]
    fn prefixed_names_are_local() {
        let root = parse(r#"<nc:data xmlns:nc="urn:x"><oc:a xmlns:oc="urn:y">1</oc:a></nc:data>"#)
            .unwrap();
        assert_eq!(root.text_at("data/a"), Some("1"));
    }

    #[test]
    fn refuses_malformed() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse(&"<a>".repeat(MAX_DEPTH + 2)).is_err());
    }
}
