//! Character-set and length checks for peer-supplied text.
//!
//! Peer text may end up inside a router config line (a TCP-MD5 password in
//! vtysh, BIRD, Junos XML...) or in a log line. These checks keep out every
//! character that could end a token, a quoted string, a statement or a
//! block in the platforms' syntaxes, and bound lengths. Messages never echo
//! the offending value.

/// Characters refused in every free-text field: quotes, braces, semicolons
/// and backslash (control characters are refused as well).
pub const FORBIDDEN_CHARS: &[char] = &['"', '\'', '{', '}', ';', '\\'];

/// Characters refused in a session secret besides whitespace and control
/// characters: the free-text set plus `#` (comment in FRR/BIRD/EOS), and
/// `` ` ``, `$`, `<`, `>`, `&` (shell and XML metacharacters).
pub const SECRET_FORBIDDEN_CHARS: &[char] =
    &['"', '\'', '{', '}', ';', '\\', '#', '`', '$', '<', '>', '&'];

/// Longest TCP-MD5 key (RFC 2385 keys are at most 80 octets on Linux).
pub const SECRET_MAX: usize = 80;

/// Longest accepted `return_url`.
pub const RETURN_URL_MAX: usize = 512;

/// Printable ASCII (space included) without [`FORBIDDEN_CHARS`], at most
/// `max` bytes long. Empty is accepted; callers that need a value say so.
pub fn check_text(s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("longer than {max} characters"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err("may not contain control characters (newline, NUL, ...)".into());
    }
    if !s.is_ascii() {
        return Err("must be printable ASCII".into());
    }
    if s.chars().any(|c| FORBIDDEN_CHARS.contains(&c)) {
        return Err("may not contain quotes, braces, semicolons or backslashes".into());
    }
    Ok(())
}

/// A TCP-MD5 secret: 1..=[`SECRET_MAX`] printable ASCII characters, no
/// whitespace, none of [`SECRET_FORBIDDEN_CHARS`].
pub fn check_secret(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("may not be empty".into());
    }
    if s.len() > SECRET_MAX {
        return Err(format!(
            "longer than {SECRET_MAX} characters (TCP-MD5 limit)"
        ));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("may not contain whitespace or control characters".into());
    }
    if s.chars().any(|c| !c.is_ascii_graphic()) {
        return Err("must be printable ASCII".into());
    }
    if s.chars().any(|c| SECRET_FORBIDDEN_CHARS.contains(&c)) {
        return Err(format!(
            "may not contain any of {}",
            SECRET_FORBIDDEN_CHARS.iter().collect::<String>()
        ));
    }
    Ok(())
}

/// An absolute `http://` or `https://` URL with a host, no user info, at
/// most [`RETURN_URL_MAX`] bytes, and only characters URLs may hold (and
/// none of [`FORBIDDEN_CHARS`]).
pub fn check_return_url(s: &str) -> Result<(), String> {
    check_text(s, RETURN_URL_MAX)?;
    if s.chars()
        .any(|c| c == ' ' || matches!(c, '<' | '>' | '`' | '^' | '|'))
    {
        return Err("may not contain spaces or characters URLs never hold".into());
    }
    let lower = s.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return Err("must be an http:// or https:// URL".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("may not contain user information".into());
    }
    let (host, port) = split_host_port(authority).ok_or("has an invalid host or port")?;
    if host.is_empty() {
        return Err("must name a host".into());
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err("has an invalid port".into());
        }
        if p.parse::<u32>()
            .map(|n| n == 0 || n > 65535)
            .unwrap_or(true)
        {
            return Err("has an invalid port".into());
        }
    }
    Ok(())
}

/// Splits `host[:port]` or `[v6]:port`. `None` when the host has characters
/// a host name or address literal cannot have.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        return Some((v6, port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    ok.then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text() {
        assert!(check_text("pdb:ix:42", 32).is_ok());
        assert!(check_text("", 32).is_ok());
        assert!(check_text("a b", 32).is_ok());
        for bad in [
            "a\nb", "a\rb", "a\0b", "a\"b", "a'b", "a{b", "a}b", "a;b", "a\\b", "a\u{7f}b", "é",
        ] {
            assert!(check_text(bad, 32).is_err(), "{bad:?}");
        }
        assert!(check_text(&"x".repeat(33), 32).is_err());
    }

    #[test]
    fn secrets() {
        assert!(check_secret("lab-md5-secret").is_ok());
        assert!(check_secret(&"x".repeat(80)).is_ok());
        assert!(check_secret(&"x".repeat(81)).is_err());
        assert!(check_secret("").is_err());
        for bad in [
            "a b", "a\tb", "a\nb", "a\0b", "a\"b", "a'b", "a{b", "a}b", "a;b", "a\\b", "a#b",
            "a`b", "a$b", "a<b", "a>b", "a&b", "ä",
        ] {
            assert!(check_secret(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn return_urls() {
        for good in [
            "https://peering.example.net/api",
            "http://example.net",
            "https://example.net:8443/p?x=1",
            "HTTPS://[2001:db8::1]:443/api",
        ] {
            assert!(check_return_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.net/",
            "https://",
            "https://user:pw@example.net/",
            "https://exa mple.net/",
            "https://example.net:99999/",
            "https://example.net:x/",
            "https://example.net/\n",
            "https://example.net/\"",
            "https://example.net/;rm",
            "https://[zz]/",
            "javascript:alert(1)",
        ] {
            assert!(check_return_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.net/{}", "a".repeat(RETURN_URL_MAX));
        assert!(check_return_url(&long).is_err());
    }
}
