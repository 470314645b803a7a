//! Unit tests of the one error -> HTTP mapping.

use super::*;

#[test]
fn body_shape_is_stable() {
    let e = ApiError::invalid("sessions[2].peer_ip", "not ours");
    let v = serde_json::to_value(e.body()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"errors":[{"name":"sessions[2].peer_ip","errors":["not ours"]}]})
    );
}

#[test]
fn refusals_have_their_statuses() {
    let cases = [
        (Refusal::Invalid, 400),
        (Refusal::Forbidden, 403),
        (Refusal::NotFound, 404),
        (Refusal::Conflict, 409),
        (Refusal::Unavailable, 503),
        (Refusal::Internal, 500),
    ];
    for (r, code) in cases {
        let e = ApiError::from(AppError::new(r, "request", "no"));
        assert_eq!(e.status.as_u16(), code, "{r:?}");
        assert_eq!(e.errors, vec![FieldError::new("request", "no")]);
    }
    let e = ApiError::from(crate::store::StoreError::BadCursor);
    assert_eq!(e.status, StatusCode::BAD_REQUEST);
    assert_eq!(e.errors[0].name, "next_token");
}

#[test]
fn login_errors_keep_their_status() {
    use crate::store::StoreError;
    let status = |e: LoginError| ApiError::from(e).status.as_u16();
    assert_eq!(status(LoginError::BadState), 400);
    assert_eq!(status(LoginError::BadRequest("x".into())), 400);
    assert_eq!(status(LoginError::CodeRejected("x".into())), 400);
    assert_eq!(status(LoginError::Denied("x".into())), 403);
    assert_eq!(status(LoginError::NoNetworks), 403);
    assert_eq!(status(LoginError::Busy), 503);
    assert_eq!(status(LoginError::Unavailable("x".into())), 503);
    assert_eq!(status(LoginError::Upstream("x".into())), 502);
    assert_eq!(status(LoginError::NotConfigured("x".into())), 500);
    assert_eq!(
        status(LoginError::Token(TokenError::Invalid("x".into()))),
        502
    );
    let e = ApiError::from(LoginError::BadState);
    assert_eq!(e.errors[0].name, "state");
    let e = ApiError::from(LoginError::Token(TokenError::Store(StoreError::Backend(
        "disk on fire".into(),
    ))));
    assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!e.errors[0].errors[0].contains("disk"), "no internals");
    let e = ApiError::from(LoginError::Store(StoreError::Backend(
        "disk on fire".into(),
    )));
    assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!e.errors[0].errors[0].contains("disk"), "no internals");
}

#[test]
fn unauthorized_carries_challenge() {
    let r = ApiError::unauthorized("missing bearer token").into_response();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let h = r.headers().get(header::WWW_AUTHENTICATE).unwrap();
    assert!(h.to_str().unwrap().starts_with("Bearer"));
}
