//! Building NETCONF requests (pure code): `<hello>`, the `<rpc>` envelope
//! and the operations of RFC 6241 we use. Every value is escaped; XML
//! payloads supplied by the caller (config, subtree filters) are checked to
//! be well-formed before they are wrapped, so a broken template can never
//! break the envelope.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::Duration;

use super::xml::{self, escape};
use super::{NetconfError, BASE_NS};

/// A configuration datastore (in platform profiles: `candidate`,
/// `running`, `startup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Datastore {
    /// `<running/>`.
    Running,
    /// `<candidate/>` (`:candidate`).
    Candidate,
    /// `<startup/>` (`:startup`).
    Startup,
}

impl Datastore {
    /// The element name.
    pub fn as_str(self) -> &'static str {
        match self {
            Datastore::Running => "running",
            Datastore::Candidate => "candidate",
            Datastore::Startup => "startup",
        }
    }
}

impl std::fmt::Display for Datastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<default-operation>` of edit-config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultOperation {
    /// `merge` (the protocol default).
    #[default]
    Merge,
    /// `replace`.
    Replace,
    /// `none`: only nodes with an explicit `nc:operation` change.
    None,
}

impl DefaultOperation {
    /// The value as the protocol writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultOperation::Merge => "merge",
            DefaultOperation::Replace => "replace",
            DefaultOperation::None => "none",
        }
    }
}

/// `<test-option>` of edit-config (`:validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOption {
    /// `test-then-set`.
    TestThenSet,
    /// `set`.
    Set,
    /// `test-only` (`:validate:1.1`).
    TestOnly,
}

impl TestOption {
    fn as_str(self) -> &'static str {
        match self {
            TestOption::TestThenSet => "test-then-set",
            TestOption::Set => "set",
            TestOption::TestOnly => "test-only",
        }
    }
}

/// `<error-option>` of edit-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorOption {
    /// `stop-on-error` (the protocol default).
    StopOnError,
    /// `continue-on-error`.
    ContinueOnError,
    /// `rollback-on-error` (`:rollback-on-error`).
    RollbackOnError,
}

impl ErrorOption {
    /// The value as the protocol writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOption::StopOnError => "stop-on-error",
            ErrorOption::ContinueOnError => "continue-on-error",
            ErrorOption::RollbackOnError => "rollback-on-error",
        }
    }
}

/// An `<edit-config>` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditConfig<'a> {
    /// Target datastore.
    pub target: Datastore,
    /// Rendered XML: the content of `<config>` (the top-level data nodes, in
    /// their own namespaces), or a whole `<config>` element in the base
    /// namespace. The prefix `nc` is declared for the base namespace (see
    /// [`envelope`]), so `nc:operation="delete"` works in both forms.
    pub config: &'a str,
    /// `<default-operation>`, if not the server default.
    pub default_operation: Option<DefaultOperation>,
    /// `<test-option>`, if any.
    pub test_option: Option<TestOption>,
    /// `<error-option>`, if any.
    pub error_option: Option<ErrorOption>,
}

impl<'a> EditConfig<'a> {
    /// A merge of `config` into `target` with server defaults otherwise.
    pub fn new(target: Datastore, config: &'a str) -> Self {
        EditConfig {
            target,
            config,
            default_operation: None,
            test_option: None,
            error_option: None,
        }
    }
}

/// A `<commit>` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// A plain commit (also confirms a pending non-persistent confirmed commit
    /// of this session).
    Plain,
    /// A confirmed commit (`:confirmed-commit`).
    Confirmed {
        /// `<confirm-timeout>` (whole seconds, at least 1); server default 600 s.
        timeout: Option<Duration>,
        /// `<persist>` token (`:confirmed-commit:1.1`): lets any later session
        /// confirm or cancel it, and keeps it alive when this session ends.
        persist: Option<String>,
    },
    /// A confirming commit for a persistent confirmed commit (`<persist-id>`).
    Confirming {
        /// The `<persist>` token of the confirmed commit.
        persist_id: String,
    },
}

/// A `<filter>` for get / get-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter<'a> {
    /// `type="subtree"` with this XML content (well-formed, with its own
    /// namespace declarations).
    Subtree(&'a str),
    /// `type="xpath"` (`:xpath`) with this expression; `namespaces` binds the
    /// prefixes it uses.
    XPath {
        /// The `select` expression.
        select: &'a str,
        /// `(prefix, namespace URI)` pairs declared on `<filter>`.
        namespaces: &'a [(&'a str, &'a str)],
    },
}

/// Our `<hello>` advertising `capabilities`.
pub fn hello(capabilities: &[&str]) -> String {
    let mut s =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE_NS}"><capabilities>"#);
    for c in capabilities {
        let _ = write!(s, "<capability>{}</capability>", escape(c));
    }
    s.push_str("</capabilities></hello>");
    s
}

/// The `<rpc>` envelope around an operation. It declares the base namespace
/// both as default and as prefix `nc`, so payloads may use `nc:operation`.
pub fn envelope(message_id: &str, operation: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rpc message-id="{}" xmlns="{BASE_NS}" xmlns:nc="{BASE_NS}">{operation}</rpc>"#,
        escape(message_id)
    )
}

fn datastore(tag: &str, ds: Datastore) -> String {
    format!("<{tag}><{}/></{tag}>", ds.as_str())
}

/// `<lock>`.
pub fn lock(target: Datastore) -> String {
    format!("<lock>{}</lock>", datastore("target", target))
}

/// `<unlock>`.
pub fn unlock(target: Datastore) -> String {
    format!("<unlock>{}</unlock>", datastore("target", target))
}

/// `<discard-changes/>`.
pub fn discard_changes() -> String {
    "<discard-changes/>".to_string()
}

/// `<close-session/>`.
pub fn close_session() -> String {
    "<close-session/>".to_string()
}

/// `<validate>` of a datastore.
pub fn validate(source: Datastore) -> String {
    format!("<validate>{}</validate>", datastore("source", source))
}

/// Fails unless `fragment` is well-formed XML content for inside `<rpc>`.
pub fn check_fragment(fragment: &str) -> Result<(), NetconfError> {
    is_well_formed_fragment(fragment).map(drop)
}

fn is_well_formed_fragment(fragment: &str) -> Result<xml::Element, NetconfError> {
    // The same namespace context as inside `envelope`.
    xml::parse(&format!(
        r#"<wrap xmlns="{BASE_NS}" xmlns:nc="{BASE_NS}">{fragment}</wrap>"#
    ))
    .map_err(|e| NetconfError::Request(format!("payload is not well-formed XML: {e}")))
}

/// `<edit-config>`. Fails if the payload is not well-formed XML.
pub fn edit_config(req: &EditConfig<'_>) -> Result<String, NetconfError> {
    let wrapped = is_well_formed_fragment(req.config)?;
    let whole_config = wrapped.children.len() == 1
        && wrapped.children[0].is(BASE_NS, "config")
        && wrapped.text.trim().is_empty();
    let mut s = format!("<edit-config>{}", datastore("target", req.target));
    if let Some(op) = req.default_operation {
        let _ = write!(s, "<default-operation>{}</default-operation>", op.as_str());
    }
    if let Some(t) = req.test_option {
        let _ = write!(s, "<test-option>{}</test-option>", t.as_str());
    }
    if let Some(e) = req.error_option {
        let _ = write!(s, "<error-option>{}</error-option>", e.as_str());
    }
    if whole_config {
        s.push_str(req.config);
    } else {
        let _ = write!(s, "<config>{}</config>", req.config);
    }
    s.push_str("</edit-config>");
    Ok(s)
}

/// `<commit>`.
pub fn commit(c: &Commit) -> String {
    match c {
        Commit::Plain => "<commit/>".to_string(),
        Commit::Confirmed { timeout, persist } => {
            let mut s = "<commit><confirmed/>".to_string();
            if let Some(t) = timeout {
                let _ = write!(
                    s,
                    "<confirm-timeout>{}</confirm-timeout>",
                    t.as_secs().max(1)
                );
            }
            if let Some(p) = persist {
                let _ = write!(s, "<persist>{}</persist>", escape(p));
            }
            s.push_str("</commit>");
            s
        }
        Commit::Confirming { persist_id } => {
            format!(
                "<commit><persist-id>{}</persist-id></commit>",
                escape(persist_id)
            )
        }
    }
}

/// `<cancel-commit>` (`:confirmed-commit:1.1`), with the persist token when
/// cancelling a persistent confirmed commit.
pub fn cancel_commit(persist_id: Option<&str>) -> String {
    match persist_id {
        Some(p) => format!(
            "<cancel-commit><persist-id>{}</persist-id></cancel-commit>",
            escape(p)
        ),
        None => "<cancel-commit/>".to_string(),
    }
}

fn filter(f: &Filter<'_>) -> Result<String, NetconfError> {
    match f {
        Filter::Subtree(content) => {
            is_well_formed_fragment(content)?;
            Ok(format!(r#"<filter type="subtree">{content}</filter>"#))
        }
        Filter::XPath { select, namespaces } => {
            let mut s = r#"<filter type="xpath""#.to_string();
            for (prefix, ns) in namespaces.iter() {
                let ok = prefix.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic()
                        || c == '_'
                        || (i > 0 && (c.is_ascii_digit() || c == '-' || c == '.'))
                }) && !prefix.is_empty();
                if !ok {
                    return Err(NetconfError::Request(format!(
                        "invalid XML prefix {prefix:?}"
                    )));
                }
                let _ = write!(s, r#" xmlns:{prefix}="{}""#, escape(ns));
            }
            let _ = write!(s, r#" select="{}"/>"#, escape(select));
            Ok(s)
        }
    }
}

/// `<get-config>` of `source`, optionally filtered.
pub fn get_config(source: Datastore, f: Option<&Filter<'_>>) -> Result<String, NetconfError> {
    let mut s = format!("<get-config>{}", datastore("source", source));
    if let Some(f) = f {
        s.push_str(&filter(f)?);
    }
    s.push_str("</get-config>");
    Ok(s)
}

/// `<get>`, optionally filtered.
pub fn get(f: Option<&Filter<'_>>) -> Result<String, NetconfError> {
    match f {
        Some(f) => Ok(format!("<get>{}</get>", filter(f)?)),
        None => Ok("<get/>".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> xml::Element {
        xml::parse(s).expect("well-formed")
    }

    #[test]
    fn envelope_and_hello_are_well_formed() {
        let h = parse(&hello(&["urn:ietf:params:netconf:base:1.0", "a&b"]));
        assert!(h.is(BASE_NS, "hello"));
        assert_eq!(h.find_all(&["capabilities", "capability"])[1].text(), "a&b");
        let r = parse(&envelope("4\"2", &lock(Datastore::Candidate)));
        assert_eq!(r.attr("message-id"), Some("4\"2"));
        assert!(r.find_all(&["lock", "target", "candidate"])[0].is(BASE_NS, "candidate"));
    }

    #[test]
    fn edit_config_wraps_content_and_accepts_whole_config() {
        let mut req = EditConfig::new(
            Datastore::Candidate,
            r#"<bgp xmlns="urn:x"><neighbor nc:operation="delete"><address>192.0.2.2</address></neighbor></bgp>"#,
        );
        req.default_operation = Some(DefaultOperation::None);
        req.test_option = Some(TestOption::TestThenSet);
        req.error_option = Some(ErrorOption::RollbackOnError);
        let e = parse(&envelope("1", &edit_config(&req).unwrap()));
        let ec = e.child("edit-config").unwrap();
        let names: Vec<&str> = ec.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "target",
                "default-operation",
                "test-option",
                "error-option",
                "config"
            ]
        );
        assert_eq!(ec.child_text("default-operation"), Some("none"));
        let n = ec.find_all(&["config", "bgp", "neighbor"])[0];
        assert_eq!(n.attributes[0].namespace.as_deref(), Some(BASE_NS));
        assert_eq!(n.attr("operation"), Some("delete"));

        let whole = format!(r#"<config xmlns="{BASE_NS}"><bgp xmlns="urn:x"/></config>"#);
        let s = edit_config(&EditConfig::new(Datastore::Running, &whole)).unwrap();
        assert_eq!(s.matches("<config").count(), 1);
        assert!(
            parse(&envelope("1", &s))
                .find_all(&["edit-config", "config", "bgp"])
                .len()
                == 1
        );
    }

    #[test]
    fn broken_payloads_are_refused() {
        for bad in ["<bgp>", "</config><x>", "<a></b>", "<x:y/>"] {
            let r = edit_config(&EditConfig::new(Datastore::Candidate, bad));
            assert!(matches!(r, Err(NetconfError::Request(_))), "{bad}");
        }
        assert!(get_config(Datastore::Running, Some(&Filter::Subtree("<a>"))).is_err());
        let ns = [("a b", "urn:x")];
        assert!(get(Some(&Filter::XPath {
            select: "/a",
            namespaces: &ns
        }))
        .is_err());
    }

    #[test]
    fn commits() {
        assert_eq!(commit(&Commit::Plain), "<commit/>");
        let c = commit(&Commit::Confirmed {
            timeout: Some(Duration::from_secs(30)),
            persist: Some("p<1>".into()),
        });
        assert_eq!(
            c,
            "<commit><confirmed/><confirm-timeout>30</confirm-timeout><persist>p&lt;1&gt;</persist></commit>"
        );
        assert_eq!(
            commit(&Commit::Confirming {
                persist_id: "p".into()
            }),
            "<commit><persist-id>p</persist-id></commit>"
        );
        assert_eq!(cancel_commit(None), "<cancel-commit/>");
        assert_eq!(
            cancel_commit(Some("a&b")),
            "<cancel-commit><persist-id>a&amp;b</persist-id></cancel-commit>"
        );
    }

    #[test]
    fn filters() {
        let s = get_config(
            Datastore::Running,
            Some(&Filter::Subtree(r#"<bgp xmlns="urn:x"/>"#)),
        )
        .unwrap();
        let e = parse(&envelope("1", &s));
        let f = e.find_all(&["get-config", "filter"])[0];
        assert_eq!(f.attr("type"), Some("subtree"));
        assert!(f.child_ns("urn:x", "bgp").is_some());
        let ns = [("b", "urn:x")];
        let s = get(Some(&Filter::XPath {
            select: "/b:bgp/b:neighbor[b:address='192.0.2.2']",
            namespaces: &ns,
        }))
        .unwrap();
        let f = parse(&envelope("1", &s)).find_all(&["get", "filter"])[0].clone();
        assert_eq!(
            f.attr("select"),
            Some("/b:bgp/b:neighbor[b:address='192.0.2.2']")
        );
        assert_eq!(get(None).unwrap(), "<get/>");
        assert_eq!(
            validate(Datastore::Candidate),
            "<validate><source><candidate/></source></validate>"
        );
    }
}
