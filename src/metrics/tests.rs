use super::*;
use crate::model::{Job, JobKind, Lease, SessionStatus};

/// Every sample line `name{labels} value` of `text` whose labels include
/// all of `want`.
fn value(text: &str, name: &str, want: &[(&str, &str)]) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let (labels, v) = match rest.strip_prefix('{') {
            Some(r) => {
                let (labels, v) = r.split_once("} ")?;
                (labels, v)
            }
            None => ("", rest.strip_prefix(' ')?),
        };
        want.iter()
            .all(|(k, val)| labels.split(',').any(|p| p == format!("{k}=\"{val}\"")))
            .then(|| v.to_string())
    })
}

/// Every line is a comment or `name{labels} number`, and every sample's
/// family was declared with `# TYPE` before it.
fn well_formed(text: &str) {
    let mut declared = std::collections::HashSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{l}");
            assert!(declared.insert(name.to_string()), "declared twice: {name}");
            continue;
        }
        if l.starts_with("# HELP ") {
            continue;
        }
        let name_end = l.find(['{', ' ']).unwrap();
        let name = &l[..name_end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
            .unwrap_or(name);
        assert!(declared.contains(family), "undeclared family: {l}");
        let v = l.rsplit(' ').next().unwrap();
        assert!(v.parse::<f64>().is_ok(), "not a number: {l}");
    }
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(expo::escape(r#"a"b\c"#), r#"a\"b\\c"#);
    assert_eq!(expo::escape("a\nb"), "a\\nb");
}

#[test]
fn pushes_count_by_outcome_and_only_successes_are_applies() {
    let m = Metrics::default();
    m.record_push(
        "r1",
        "add",
        PushResult::Transient,
        2,
        Duration::from_millis(30),
    );
    m.record_push(
        "r1",
        "add",
        PushResult::Success,
        2,
        Duration::from_millis(700),
    );
    m.record_push(
        "r1",
        "remove",
        PushResult::Permanent,
        1,
        Duration::from_secs(3),
    );
    assert_eq!(m.applies("r1"), 1);
    assert_eq!(m.pushes("r1", PushResult::Transient), 1);
    let last = m.last_push("r1").unwrap();
    assert_eq!(
        (last.result, last.op, last.sessions),
        (PushResult::Permanent, "remove", 1)
    );
    let text = m.render();
    well_formed(&text);
    let get = |name, l: &[(&str, &str)]| value(&text, name, l);
    assert_eq!(
        get(
            "peerd_pushes_total",
            &[("router", "r1"), ("op", "add"), ("outcome", "success")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        get(
            "peerd_pushes_total",
            &[("op", "remove"), ("outcome", "permanent")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        get("peerd_router_applies_total", &[("router", "r1")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        get("peerd_push_duration_seconds_count", &[("router", "r1")]).as_deref(),
        Some("3")
    );
    assert_eq!(
        get(
            "peerd_push_duration_seconds_bucket",
            &[("router", "r1"), ("le", "1")]
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        get(
            "peerd_push_duration_seconds_bucket",
            &[("router", "r1"), ("le", "+Inf")]
        )
        .as_deref(),
        Some("3")
    );
}

#[test]
fn http_requests_by_route_template_and_refusals_by_reason() {
    let m = Metrics::default();
    m.record_http(
        "/sessions/{session_id}",
        "GET",
        200,
        Duration::from_millis(3),
    );
    m.record_http(
        "/sessions/{session_id}",
        "GET",
        404,
        Duration::from_millis(2),
    );
    m.record_http("unmatched", "BREW", 404, Duration::from_millis(1));
    m.record_refused("expired");
    m.record_refused("expired");
    let text = m.render();
    well_formed(&text);
    assert_eq!(m.http_requests("/sessions/{session_id}"), 2);
    assert_eq!(
        value(
            &text,
            "peerd_http_requests_total",
            &[("route", "/sessions/{session_id}"), ("status", "404")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        value(
            &text,
            "peerd_http_requests_total",
            &[("route", "unmatched"), ("method", "other")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        value(
            &text,
            "peerd_http_request_duration_seconds_count",
            &[("route", "/sessions/{session_id}")]
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        value(&text, "peerd_auth_refused_total", &[("reason", "expired")]).as_deref(),
        Some("2")
    );
    assert_eq!(
        value(&text, "peerd_auth_refused_total", &[("reason", "unknown")]).as_deref(),
        Some("0")
    );
}

#[test]
fn polls_and_heartbeats() {
    let m = Metrics::default();
    assert!(m.worker_last_beat().is_none());
    assert!(m.poll_beats().is_none());
    m.worker_beat();
    m.poller_started(&["r1".to_string()]);
    assert!(m.worker_last_beat().is_some());
    assert_eq!(m.poll_beats().unwrap().len(), 1);
    let bgp = BgpCounts {
        established: 2,
        not_established: 1,
        down_max_prefix: 1,
        absent: 0,
    };
    m.record_poll("r1", true, Some(bgp));
    m.record_poll("r1", false, None);
    let text = m.render();
    well_formed(&text);
    assert_eq!(
        value(
            &text,
            "peerd_bgp_neighbors",
            &[("router", "r1"), ("state", "established")]
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(
        value(&text, "peerd_poll_failures_total", &[("router", "r1")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        value(
            &text,
            "peerd_bgp_sessions_down_max_prefix",
            &[("router", "r1")]
        )
        .as_deref(),
        Some("1")
    );
    assert!(!m.last_poll("r1").unwrap().ok);
}

fn job(id: u64, kind: JobKind, created: u64, not_before: u64, lease_until: Option<u64>) -> Job {
    Job {
        job_id: id,
        kind,
        session_id: format!("s{id}"),
        router: "r1".into(),
        attempts: 0,
        not_before_ms: not_before,
        lease: lease_until.map(|until_ms| Lease {
            owner: "w".into(),
            token: 1,
            until_ms,
        }),
        last_error: None,
        created_ms: created,
    }
}

#[test]
fn store_gauges() {
    let g = Gauges {
        now_ms: 100_000,
        routers: vec!["r1".into(), "r2".into()],
        sessions: vec![
            ("r1".into(), SessionStatus::Configured, 3),
            ("r3".into(), SessionStatus::Failed, 1),
        ],
        jobs: vec![
            job(1, JobKind::Provision, 40_000, 90_000, None),
            job(2, JobKind::Provision, 70_000, 200_000, None),
            job(3, JobKind::Deprovision, 95_000, 95_000, Some(150_000)),
        ],
        pdb: Some(PdbGauges {
            taken_at_ms: Some(40_000),
            last_success_ms: Some(40_000),
            failures: 2,
            last_failed: true,
            interval_secs: 3600,
        }),
    };
    let text = g.render();
    well_formed(&text);
    let get = |name, l: &[(&str, &str)]| value(&text, name, l);
    assert_eq!(
        get(
            "peerd_sessions",
            &[("router", "r1"), ("status", "Configured")]
        )
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        get("peerd_sessions", &[("router", "r2"), ("status", "Pending")]).as_deref(),
        Some("0")
    );
    // a router no longer in the inventory still shows what it holds
    assert_eq!(
        get("peerd_sessions", &[("router", "r3"), ("status", "Failed")]).as_deref(),
        Some("1")
    );
    assert_eq!(
        get(
            "peerd_queue_jobs",
            &[("kind", "provision"), ("state", "ready")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        get(
            "peerd_queue_jobs",
            &[("kind", "provision"), ("state", "waiting")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        get(
            "peerd_queue_jobs",
            &[("kind", "deprovision"), ("state", "leased")]
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(get("peerd_queue_depth", &[]).as_deref(), Some("3"));
    assert_eq!(
        get("peerd_queue_oldest_job_age_seconds", &[]).as_deref(),
        Some("60.000")
    );
    assert_eq!(
        get("peerd_peeringdb_data_age_seconds", &[]).as_deref(),
        Some("60")
    );
    assert_eq!(
        get("peerd_peeringdb_sync_failures_total", &[]).as_deref(),
        Some("2")
    );
    assert_eq!(
        get("peerd_peeringdb_last_sync_failed", &[]).as_deref(),
        Some("1")
    );
}

#[test]
fn recent_pushes_are_bounded_and_keep_the_last_failure() {
    let m = Metrics::default();
    assert!(m.recent_pushes("r1").is_empty());
    let long = "x".repeat(2 * MAX_ERROR_CHARS);
    m.record_push_result(
        "r1",
        "add",
        PushResult::Transient,
        1,
        Duration::from_millis(5),
        Some(&format!("connect refused\u{1b}[31m {long}")),
    );
    for _ in 0..RECENT_PUSHES {
        m.record_push(
            "r1",
            "add",
            PushResult::Success,
            1,
            Duration::from_millis(2),
        );
    }
    let recent = m.recent_pushes("r1");
    assert_eq!(recent.len(), RECENT_PUSHES);
    assert!(recent.iter().all(|p| p.push.result == PushResult::Success));
    // the failure left the list but is still the last failure
    let f = m.last_failure("r1").unwrap();
    assert_eq!(f.push.result, PushResult::Transient);
    let e = f.error.unwrap();
    assert!(e.starts_with("connect refused") && !e.contains('\u{1b}'));
    assert_eq!(e.chars().count(), MAX_ERROR_CHARS);
    m.record_push_result(
        "r1",
        "remove",
        PushResult::Permanent,
        2,
        Duration::from_millis(9),
        Some("refused"),
    );
    let newest = &m.recent_pushes("r1")[0];
    assert_eq!(
        (newest.push.op, newest.error.as_deref()),
        ("remove", Some("refused"))
    );
}
