//! Request extractors whose failures are [`ApiError`]s, so axum's plain-text
//! rejections never reach a client: the bearer-token caller ([`Auth`],
//! [`Operator`]), JSON bodies ([`ApiJson`], [`JsonBody`]) with the size limit
//! and unknown fields refused, and query strings ([`ApiQuery`]).

use super::error::ApiError;
use super::state::AppState;
use crate::auth::AuthError;
use crate::model::Caller;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The authenticated caller. 401 without a valid bearer token, 400 with
/// more than one `Authorization` header, 503 when the authority cannot be
/// asked, 429 past the caller's rate or past the client address's budget of
/// PeeringDB lookups (with `Retry-After`), 403 for a viewer's operator key
/// on any method but `GET` and `HEAD` (it reads, never changes).
pub struct Auth(pub Caller);

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let st = AppState::from_ref(state);
        let refused = |reason: &'static str, e: ApiError| {
            st.metrics.record_refused(reason);
            e
        };
        let token = match bearer(&parts.headers) {
            Ok(t) => t,
            Err(e)
                if e.status == StatusCode::UNAUTHORIZED
                    && !parts.headers.contains_key(header::AUTHORIZATION) =>
            {
                return Err(refused("missing", e))
            }
            Err(e) => return Err(refused("malformed", e)),
        };
        let caller = match st.verifier.verify(token, client_ip(parts)).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(refused("unknown", ApiError::invalid_token("unknown token"))),
            Err(e) => {
                let reason = refusal_reason(&e);
                let answer = match e {
                    AuthError::Invalid(m) => ApiError::invalid_token(m),
                    AuthError::Unavailable(m) => ApiError::unavailable(m),
                    e @ AuthError::RateLimited(wait) => {
                        ApiError::rate_limited_for(e.to_string(), wait.as_secs())
                    }
                };
                return Err(refused(reason, answer));
            }
        };
        if !st.limiter.allow(&caller.principal) {
            return Err(refused("rate_limited", ApiError::rate_limited()));
        }
        let reads = matches!(parts.method, Method::GET | Method::HEAD);
        if !caller.may_change() && !reads {
            return Err(refused(
                "read_only",
                ApiError::from(crate::app::AppError::read_only()),
            ));
        }
        Ok(Auth(caller))
    }
}

/// The `reason` label of a refused token (see
/// [`crate::metrics::REFUSAL_REASONS`]), from the verifiers' refusals.
pub fn refusal_reason(e: &AuthError) -> &'static str {
    match e {
        AuthError::Unavailable(_) => "unavailable",
        AuthError::RateLimited(_) => "lookup_budget",
        AuthError::Invalid(m) => {
            let m = m.to_ascii_lowercase();
            if m.contains("expired") {
                "expired"
            } else if m.contains("revoked") {
                "revoked"
            } else if m.contains("malformed") {
                "malformed"
            } else if m.contains("unknown") {
                "unknown"
            } else {
                "invalid"
            }
        }
    }
}

/// The client's address: the TCP peer of the connection (set by the
/// accept loop; no forwarded-for header is trusted). Unspecified when the
/// request did not come over a connection (tests calling the router).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The bearer token of a request (not yet verified); 401 without one, 400
/// with more than one `Authorization` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    if headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .nth(1)
        .is_some()
    {
        return Err(ApiError::invalid(
            "request",
            "more than one Authorization header; send exactly one",
        ));
    }
    let raw = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let raw = raw
        .to_str()
        .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?;
    match raw.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Ok(t.trim()),
        _ => Err(ApiError::unauthorized(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

/// An authenticated operator (operator API key); 403 for anyone else.
pub struct Operator(pub Caller);

impl<S> FromRequestParts<S> for Operator
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Auth(c) = Auth::from_request_parts(parts, state).await?;
        if !c.is_operator {
            AppState::from_ref(state)
                .metrics
                .record_refused("not_operator");
            return Err(ApiError::forbidden(
                "request",
                "admin routes need an operator key",
            ));
        }
        Ok(Operator(c))
    }
}

/// A JSON body as bytes: content type checked, size bounded (413, at once
/// when `Content-Length` says so).
pub struct JsonBody(pub Bytes);

impl<S> FromRequest<S> for JsonBody
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).settings.limits.max_body_bytes;
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        // A declared length past the limit is refused before any of the
        // body is read (the answer then closes the connection).
        let declared = axum::body::HttpBody::size_hint(req.body()).lower();
        if declared > limit as u64 {
            return Err(ApiError::too_large(limit));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(limit)
            } else {
                ApiError::invalid("request", "the request body could not be read")
            }
        })?;
        if bytes.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        Ok(JsonBody(bytes))
    }
}

/// A typed JSON body. The target types refuse unknown fields; errors name
/// the field path (`prefix` + serde's path).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(b) = JsonBody::from_request(req, state).await?;
        Ok(ApiJson(parse_json(&b, "")?))
    }
}

/// Parses JSON, turning serde's failure into a 400 that names the field:
/// `prefix` joined with the path serde reached (`sessions[2].peer_ip`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], prefix: &str) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let v: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let name = field_name(prefix, &path);
        ApiError::invalid(name, clean_message(&e.into_inner()))
    })?;
    Ok(v)
}

fn field_name(prefix: &str, path: &str) -> String {
    let path = if path == "." || path == "?" { "" } else { path };
    match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "request".into(),
        (true, false) => path.trim_start_matches('.').to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{}", path.trim_start_matches('.')),
    }
}

/// serde_json's message without the "at line 1 column 7" tail, bounded.
fn clean_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let mut m: String = msg.chars().filter(|c| !c.is_control()).take(300).collect();
    if e.is_eof() || e.is_syntax() {
        m = format!("malformed JSON: {m}");
    }
    m
}

/// A typed query string; 400 with the error body on failure.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                let text = e.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let name = query_field(text).unwrap_or_else(|| "request".into());
                ApiError::invalid(name, format!("query string: {}", truncate(text, 300)))
            })
    }
}

/// Best effort: the parameter named in a query-string error, either as
/// the `name: problem` prefix or as a `` `name` `` quoted in the message.
fn query_field(msg: &str) -> Option<String> {
    let plain = |f: &str| {
        !f.is_empty() && f.len() <= 40 && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if let Some((head, _)) = msg.split_once(": ") {
        if plain(head) {
            return Some(head.to_string());
        }
    }
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    let f = &msg[start..end];
    plain(f).then(|| f.to_string())
}

/// A path parameter; anything that does not decode is simply not found.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| ApiError::not_found("resource"))
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        a: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        asn: Option<u32>,
    }

    async fn query_error(q: &str) -> ApiError {
        let req = axum::http::Request::builder()
            .uri(format!("/x?{q}"))
            .body(())
            .unwrap();
        let (mut parts, _) = req.into_parts();
        match ApiQuery::<Q>::from_request_parts(&mut parts, &()).await {
            Ok(_) => panic!("{q} accepted"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn query_errors_name_the_parameter() {
        let e = query_error("asn=abc").await;
        assert_eq!(e.errors[0].name, "asn", "{e}");
        let e = query_error("colour=blue").await;
        assert_eq!(e.errors[0].name, "colour", "{e}");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }

    /// The reasons come from what the real verifiers say.
    #[tokio::test]
    async fn refusal_reasons_of_the_verifiers() {
        use crate::auth::{Tokens, Verifier, Verifiers};
        use std::sync::atomic::{AtomicU64, Ordering as O};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn crate::store::Store> =
            Arc::new(crate::store::SledStore::open(dir.path()).unwrap());
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = now.clone();
        let tokens = Tokens::new(store, 60).with_clock(Arc::new(move || clock.load(O::SeqCst)));
        let chain = Verifiers(vec![Arc::new(tokens.clone())]);
        let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let reason = |r: Result<Option<crate::model::Caller>, AuthError>| match r {
            Ok(None) => "unknown",
            Ok(Some(_)) => "accepted",
            Err(e) => refusal_reason(&e),
        };
        assert_eq!(reason(chain.verify("bad token!", from).await), "malformed");
        assert_eq!(reason(chain.verify("pd_x", from).await), "malformed");
        let revoked = tokens.issue("pdb:1", [64600].into()).await.unwrap();
        tokens.revoke(revoked.token.expose()).await.unwrap();
        assert_eq!(
            reason(chain.verify(revoked.token.expose(), from).await),
            "revoked"
        );
        let expired = tokens.issue("pdb:1", [64600].into()).await.unwrap();
        assert_eq!(
            reason(chain.verify(expired.token.expose(), from).await),
            "accepted"
        );
        now.fetch_add(61_000, O::SeqCst);
        assert_eq!(
            reason(chain.verify(expired.token.expose(), from).await),
            "expired"
        );
        let other = format!("pd_{}", "a".repeat(43));
        let r = chain.verify(&other, from).await;
        assert!(matches!(reason(r), "unknown" | "malformed"));
        assert_eq!(
            refusal_reason(&AuthError::Unavailable("x".into())),
            "unavailable"
        );
        assert_eq!(
            refusal_reason(&AuthError::RateLimited(std::time::Duration::from_secs(1))),
            "lookup_budget"
        );
        assert_eq!(
            refusal_reason(&AuthError::Invalid(
                "PeeringDB did not accept the access token".into()
            )),
            "invalid"
        );
    }

    #[test]
    fn one_authorization_header_only() {
        let mut h = axum::http::HeaderMap::new();
        h.append(header::AUTHORIZATION, "Bearer a".parse().unwrap());
        assert_eq!(bearer(&h).unwrap(), "a");
        h.append(header::AUTHORIZATION, "Bearer b".parse().unwrap());
        let e = bearer(&h).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.errors[0].name, "request");
    }

    #[test]
    fn names_follow_the_path() {
        let e = parse_json::<Vec<Item>>(br#"[{"a":1},{"a":"x"}]"#, "sessions").unwrap_err();
        assert_eq!(e.errors[0].name, "sessions[1].a");
        let e = parse_json::<Vec<Item>>(br#"[{"a":1,"b":2}]"#, "sessions").unwrap_err();
        assert!(
            e.errors[0].name.starts_with("sessions[0]"),
            "{:?}",
            e.errors
        );
        assert!(
            e.errors[0].errors[0].contains("unknown field"),
            "{:?}",
            e.errors
        );
        let e = parse_json::<Item>(b"{", "").unwrap_err();
        assert_eq!(e.errors[0].name, "request");
        assert!(!e.errors[0].errors[0].contains("line"));
    }
}
