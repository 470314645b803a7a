//! Reading server messages (pure code): `<hello>` (capabilities, session-id)
//! and `<rpc-reply>` (message-id, `<ok/>`, `<data>`, the `<rpc-error>` list
//! as typed [`RpcError`]s that keep the device's own text).

use std::fmt;

use super::xml::{self, Element};
use super::{NetconfError, BASE_NS};

/// `error-type` of an `<rpc-error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorType {
    /// Secure transport layer.
    Transport,
    /// Messages layer.
    Rpc,
    /// Operations layer.
    Protocol,
    /// Content layer.
    Application,
    /// Something else the server sent.
    Other(String),
}

impl ErrorType {
    fn parse(s: &str) -> Self {
        match s {
            "transport" => ErrorType::Transport,
            "rpc" => ErrorType::Rpc,
            "protocol" => ErrorType::Protocol,
            "application" => ErrorType::Application,
            other => ErrorType::Other(other.to_string()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::Transport => "transport",
            ErrorType::Rpc => "rpc",
            ErrorType::Protocol => "protocol",
            ErrorType::Application => "application",
            ErrorType::Other(s) => s,
        }
    }
}

/// `error-tag` of an `<rpc-error>` (RFC 6241 Appendix A).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ErrorTag {
    InUse,
    InvalidValue,
    TooBig,
    MissingAttribute,
    BadAttribute,
    UnknownAttribute,
    MissingElement,
    BadElement,
    UnknownElement,
    UnknownNamespace,
    AccessDenied,
    LockDenied,
    ResourceDenied,
    RollbackFailed,
    DataExists,
    DataMissing,
    OperationNotSupported,
    OperationFailed,
    PartialOperation,
    MalformedMessage,
    /// A tag not in RFC 6241.
    Other(String),
}

const TAGS: &[(&str, ErrorTag)] = &[
    ("in-use", ErrorTag::InUse),
    ("invalid-value", ErrorTag::InvalidValue),
    ("too-big", ErrorTag::TooBig),
    ("missing-attribute", ErrorTag::MissingAttribute),
    ("bad-attribute", ErrorTag::BadAttribute),
    ("unknown-attribute", ErrorTag::UnknownAttribute),
    ("missing-element", ErrorTag::MissingElement),
    ("bad-element", ErrorTag::BadElement),
    ("unknown-element", ErrorTag::UnknownElement),
    ("unknown-namespace", ErrorTag::UnknownNamespace),
    ("access-denied", ErrorTag::AccessDenied),
    ("lock-denied", ErrorTag::LockDenied),
    ("resource-denied", ErrorTag::ResourceDenied),
    ("rollback-failed", ErrorTag::RollbackFailed),
    ("data-exists", ErrorTag::DataExists),
    ("data-missing", ErrorTag::DataMissing),
    ("operation-not-supported", ErrorTag::OperationNotSupported),
    ("operation-failed", ErrorTag::OperationFailed),
    ("partial-operation", ErrorTag::PartialOperation),
    ("malformed-message", ErrorTag::MalformedMessage),
];

impl ErrorTag {
    fn parse(s: &str) -> Self {
        TAGS.iter()
            .find(|(n, _)| *n == s)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| ErrorTag::Other(s.to_string()))
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorTag::Other(s) => s,
            tag => TAGS
                .iter()
                .find(|(_, t)| t == tag)
                .map(|(n, _)| *n)
                .unwrap_or("unknown"),
        }
    }
}

impl fmt::Display for ErrorTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `error-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The operation failed.
    Error,
    /// The operation succeeded with a warning.
    Warning,
}

/// One `<error-info>` child: its local name and text (for example
/// `session-id`, `bad-element`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Local name of the child element.
    pub name: String,
    /// Its trimmed text.
    pub value: String,
}

/// One `<rpc-error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// `error-type`.
    pub error_type: ErrorType,
    /// `error-tag`.
    pub tag: ErrorTag,
    /// `error-severity`.
    pub severity: Severity,
    /// `error-app-tag`.
    pub app_tag: Option<String>,
    /// `error-path`.
    pub path: Option<String>,
    /// `error-message`: the device's own text.
    pub message: Option<String>,
    /// `error-info` children. May echo rejected values (`bad-value`), so it
    /// is never part of [`Display`](fmt::Display) output.
    pub info: Vec<ErrorInfo>,
}

impl RpcError {
    /// The value of an `error-info` child by local name.
    pub fn info(&self, name: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.value.as_str())
    }

    fn from_element(e: &Element) -> Self {
        let text = |n: &str| {
            e.child(n)
                .map(|c| c.text().to_string())
                .filter(|s| !s.is_empty())
        };
        RpcError {
            error_type: ErrorType::parse(e.child_text("error-type").unwrap_or("")),
            tag: ErrorTag::parse(e.child_text("error-tag").unwrap_or("")),
            severity: match e.child_text("error-severity") {
                Some("warning") => Severity::Warning,
                _ => Severity::Error,
            },
            app_tag: text("error-app-tag"),
            path: text("error-path"),
            message: text("error-message"),
            info: e
                .child("error-info")
                .map(|i| {
                    i.children
                        .iter()
                        .map(|c| ErrorInfo {
                            name: c.name.clone(),
                            value: c.text().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// `<tag>: <message> (path <path>)`: the device's message, without
/// `error-info`.
impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.tag)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        if let Some(a) = &self.app_tag {
            write!(f, " [{a}]")?;
        }
        if let Some(p) = &self.path {
            write!(f, " (path {p})")?;
        }
        Ok(())
    }
}

/// The content of a `<data>` reply: the parsed `<data>` element (its
/// children are the top-level nodes) and its raw inner XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The `<data>` element.
    pub element: Element,
    /// The XML between `<data>` and `</data>`, as the server sent it.
    /// Namespace declarations made on ancestors are not repeated in it.
    pub xml: String,
}

/// A parsed `<rpc-reply>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcReply {
    /// The `message-id` attribute, if present.
    pub message_id: Option<String>,
    /// `<ok/>` was present.
    pub ok: bool,
    /// `<data>` if present.
    pub data: Option<Data>,
    /// Every `<rpc-error>`, warnings included.
    pub errors: Vec<RpcError>,
}

impl RpcReply {
    /// True if any `<rpc-error>` has severity `error`.
    pub fn has_errors(&self) -> bool {
        self.errors.iter().any(|e| e.severity == Severity::Error)
    }

    /// Warnings (errors of severity `warning`).
    pub fn warnings(&self) -> impl Iterator<Item = &RpcError> {
        self.errors
            .iter()
            .filter(|e| e.severity == Severity::Warning)
    }
}

/// A server `<hello>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Capability URIs as sent.
    pub capabilities: Vec<String>,
    /// `session-id`.
    pub session_id: u32,
}

/// A message the server may send after the hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// An `<rpc-reply>`.
    Reply(Box<RpcReply>),
    /// A `<notification>` (RFC 5277): not requested by us, skipped.
    Notification,
}

fn protocol(msg: impl Into<String>) -> NetconfError {
    NetconfError::Protocol(msg.into())
}

/// Parse the server's `<hello>`.
pub fn parse_hello(msg: &str) -> Result<ServerHello, NetconfError> {
    let root = xml::parse(msg)?;
    if !root.is(BASE_NS, "hello") {
        return Err(protocol(format!(
            "expected <hello> in {BASE_NS}, got <{}>",
            root.name
        )));
    }
    let caps = root
        .child_ns(BASE_NS, "capabilities")
        .ok_or_else(|| protocol("server <hello> has no <capabilities>"))?;
    let capabilities: Vec<String> = caps
        .children
        .iter()
        .filter(|c| c.name == "capability")
        .map(|c| c.text().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let session_id = root
        .child_ns(BASE_NS, "session-id")
        .ok_or_else(|| protocol("server <hello> has no <session-id>"))?
        .text()
        .parse::<u32>()
        .ok()
        .filter(|id| *id != 0)
        .ok_or_else(|| protocol("server <hello> has an invalid <session-id>"))?;
    if !capabilities
        .iter()
        .any(|c| c == super::CAP_BASE_10 || c == super::CAP_BASE_11)
    {
        return Err(protocol("server advertises neither base:1.0 nor base:1.1"));
    }
    Ok(ServerHello {
        capabilities,
        session_id,
    })
}

/// Parse a message received after the hello exchange.
pub fn parse_message(msg: &str) -> Result<ServerMessage, NetconfError> {
    let root = xml::parse(msg)?;
    if root.name == "notification" {
        return Ok(ServerMessage::Notification);
    }
    if !root.is(BASE_NS, "rpc-reply") {
        return Err(protocol(format!(
            "expected <rpc-reply>, got <{}> (namespace {:?})",
            root.name, root.namespace
        )));
    }
    let mut reply = RpcReply {
        message_id: root.attr("message-id").map(str::to_string),
        ok: false,
        data: None,
        errors: Vec::new(),
    };
    for c in &root.children {
        match c.name.as_str() {
            "ok" => reply.ok = true,
            "rpc-error" => reply.errors.push(RpcError::from_element(c)),
            "data" if reply.data.is_none() => {
                reply.data = Some(Data {
                    element: c.clone(),
                    xml: msg.get(c.inner.clone()).unwrap_or("").to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(ServerMessage::Reply(Box::new(reply)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello() {
        let h = parse_hello(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<hello xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <capabilities>
    <capability>urn:ietf:params:netconf:base:1.0</capability>
    <capability>urn:ietf:params:netconf:base:1.1</capability>
    <capability>urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&amp;also-supported=trim</capability>
  </capabilities>
  <session-id>7</session-id>
</hello>"#,
        )
        .unwrap();
        assert_eq!(h.session_id, 7);
        assert_eq!(h.capabilities.len(), 3);
        assert!(h.capabilities[2].ends_with("explicit&also-supported=trim"));
    }

    #[test]
    fn hello_must_be_complete() {
        let base = r#"<capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities>"#;
        let ns = r#"xmlns="urn:ietf:params:xml:ns:netconf:base:1.0""#;
        for bad in [
            format!("<hello {ns}>{base}</hello>"),
            format!("<hello {ns}>{base}<session-id>0</session-id></hello>"),
            format!("<hello {ns}>{base}<session-id>x</session-id></hello>"),
            format!("<hello>{base}<session-id>1</session-id></hello>"),
            format!("<hello {ns}><capabilities/><session-id>1</session-id></hello>"),
            format!("<rpc-reply {ns}/>"),
        ] {
            assert!(parse_hello(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reply_with_errors_keeps_device_text() {
        let msg = r#"<rpc-reply message-id="3" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
 <rpc-error>
  <error-type>application</error-type>
  <error-tag>data-missing</error-tag>
  <error-severity>error</error-severity>
  <error-app-tag>instance-required</error-app-tag>
  <error-path>/nc:config/lbgp:bgp/lbgp:neighbor[lbgp:address="192.0.2.9"]/lbgp:peer-as</error-path>
  <error-message xml:lang="en">missing mandatory peer-as &lt;here&gt;</error-message>
  <error-info><bad-value>s3cret</bad-value><error-number>310</error-number></error-info>
 </rpc-error>
 <rpc-error><error-type>protocol</error-type><error-tag>x-vendor</error-tag><error-severity>warning</error-severity></rpc-error>
</rpc-reply>"#;
        let ServerMessage::Reply(r) = parse_message(msg).unwrap() else {
            panic!("not a reply")
        };
        assert_eq!(r.message_id.as_deref(), Some("3"));
        assert!(!r.ok && r.has_errors());
        let e = &r.errors[0];
        assert_eq!(e.error_type, ErrorType::Application);
        assert_eq!(e.tag, ErrorTag::DataMissing);
        assert_eq!(
            e.message.as_deref(),
            Some("missing mandatory peer-as <here>")
        );
        assert_eq!(e.info("error-number"), Some("310"));
        let shown = e.to_string();
        assert!(shown.starts_with(
            "data-missing: missing mandatory peer-as <here> [instance-required] (path /nc:config"
        ));
        assert!(
            !shown.contains("s3cret"),
            "error-info must not be displayed"
        );
        assert_eq!(r.errors[1].tag, ErrorTag::Other("x-vendor".into()));
        assert_eq!(r.warnings().count(), 1);
    }

    #[test]
    fn reply_ok_and_data() {
        let msg = r#"<nc:rpc-reply xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="9"><nc:data><bgp xmlns="urn:x"><neighbor><address>192.0.2.2</address></neighbor></bgp></nc:data></nc:rpc-reply>"#;
        let ServerMessage::Reply(r) = parse_message(msg).unwrap() else {
            panic!("not a reply")
        };
        let d = r.data.unwrap();
        assert_eq!(
            d.xml,
            r#"<bgp xmlns="urn:x"><neighbor><address>192.0.2.2</address></neighbor></bgp>"#
        );
        let n = d
            .element
            .find_all_ns(&[("urn:x", "bgp"), ("urn:x", "neighbor")]);
        assert_eq!(n[0].child_text("address"), Some("192.0.2.2"));
        let ok = r#"<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><ok/></rpc-reply>"#;
        assert!(matches!(parse_message(ok).unwrap(), ServerMessage::Reply(r) if r.ok));
    }

    #[test]
    fn foreign_messages() {
        assert!(parse_message("<rpc-reply/>").is_err());
        assert!(
            parse_message(r#"<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>"#).is_err()
        );
        let n = r#"<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2024-01-01T00:00:00Z</eventTime></notification>"#;
        assert_eq!(parse_message(n).unwrap(), ServerMessage::Notification);
    }

    #[test]
    fn tags_round_trip() {
        for (name, tag) in TAGS {
            assert_eq!(ErrorTag::parse(name), *tag);
            assert_eq!(tag.as_str(), *name);
        }
    }
}
