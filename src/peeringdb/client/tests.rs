//! Unit tests of the PeeringDB API client.

use super::*;

#[test]
fn backoff_grows_is_capped_and_jittered() {
    let o = ClientOptions {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(1000),
        ..ClientOptions::default()
    };
    for _ in 0..50 {
        let d0 = o.backoff(0);
        assert!(
            d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
            "{d0:?}"
        );
        let d2 = o.backoff(2);
        assert!(
            d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400),
            "{d2:?}"
        );
        let d9 = o.backoff(40);
        assert!(
            d9 >= Duration::from_millis(500) && d9 <= Duration::from_millis(1000),
            "{d9:?}"
        );
    }
}

#[test]
fn retry_after_seconds_only() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
}

#[test]
fn bad_base_and_key_are_refused() {
    let o = ClientOptions::default();
    assert!(PdbClient::new("ftp://x/api", None, o.clone()).is_err());
    assert!(PdbClient::new("not a url", None, o.clone()).is_err());
    let e = PdbClient::new("http://127.0.0.1/api", Some("bad\nkey"), o.clone()).unwrap_err();
    assert!(!e.to_string().contains("bad"), "the key is not echoed: {e}");
    let c = PdbClient::new("http://127.0.0.1/api/", Some("k"), o).unwrap();
    assert_eq!(c.base(), "http://127.0.0.1/api");
    assert!(c.has_api_key());
    assert!(!format!("{c:?}").contains("Api-Key k"), "key not in Debug");
}

#[test]
fn shown_urls_are_short_and_printable() {
    let q = vec![
        ("ix_id__in".to_string(), "1,2".to_string()),
        ("fields".to_string(), "id".to_string()),
    ];
    assert_eq!(
        shown_url("http://h/api/ix", &q),
        "http://h/api/ix?ix_id__in=1,2"
    );
    let long = vec![("asn__in".to_string(), "65001,".repeat(100))];
    assert!(shown_url("http://h/api/net", &long).len() <= 160);
    assert_eq!(
        excerpt(b"{\"meta\":\n{\"error\": \"x\"}}"),
        "{\"meta\": {\"error\": \"x\"}}"
    );
}

#[test]
fn retryable_errors() {
    let http = |status| PdbError::Http {
        url: String::new(),
        status,
        body: String::new(),
    };
    assert!(http(500).is_retryable() && http(503).is_retryable());
    assert!(!http(404).is_retryable() && !http(400).is_retryable());
    assert!(PdbError::RateLimited {
        url: String::new(),
        retry_after: None
    }
    .is_retryable());
    assert!(!PdbError::TooLarge {
        what: String::new(),
        limit: 1
    }
    .is_retryable());
}
