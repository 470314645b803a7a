//! The console in a real browser (issue 12): headless Chromium from
//! Debian's packages, driven over WebDriver ([`crate::support::webdriver`]),
//! against `peerd serve` with manual approval on the lab. An operator logs
//! in, sees a `Pending` session in the queue, approves it, watches the
//! session page go `Configured` and then `Established` on the lab's FRR
//! without reloading it, and opens its audit trail. A screenshot of each
//! page is saved under `target/console-screenshots/` (the path is
//! printed), which CI keeps.

use crate::e2e_lab::{frr_neighbors, post_one, sess, wait_gone, TOK_P1};
use crate::lab::{take_lab, Lab};
use crate::support::webdriver::Browser;
use crate::support::{fake_pdb, profile, InventoryBuilder, Options, Peerd};
use peerd::inventory::Approval;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the screenshots go: `$CARGO_TARGET_DIR` or the repository's
/// `target/`, then `console-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("console-screenshots")
}

/// Records, in `window.__seen`, every status the live part of the session
/// page shows (a mutation observer: no status is missed between polls),
/// and marks the document, so a reload would show (the mark would go).
const WATCH: &str = r#"
window.__noReload = 'still-here';
window.__seen = [];
var note = function () {
  var s = document.getElementById('status');
  var t = s ? s.textContent.trim() : '';
  if (t && window.__seen[window.__seen.length - 1] !== t) { window.__seen.push(t); }
};
note();
new MutationObserver(note).observe(document.getElementById('s-status'), {childList: true, subtree: true, characterData: true});
return window.__seen;
"#;

/// The status column of the audit trail as the page shows it now.
const TRAIL: &str = r#"
return Array.prototype.map.call(document.querySelectorAll('#s-audit tbody tr'), function (tr) {
  var td = tr.querySelectorAll('td');
  return td.length > 3 ? td[3].textContent.trim() : '';
});
"#;

#[tokio::test]
#[ignore = "lab"]
async fn an_operator_approves_in_the_browser_and_watches_it_come_up() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let inv = InventoryBuilder::lab(&lab)
        .policy(|p| p.approval = Approval::Manual)
        .yaml();
    // the poller reads BGP states every 2 s: Configured lasts long enough
    // to be seen most of the time (the trail shows it in any case)
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P1, profile(21, &[(65002, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(inv);
    o.worker_yaml =
        "  tick_ms: 100\n  poll_interval_ms: 2000\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n"
            .into();
    let p = Peerd::start(&o).await;
    let peer = lab.get("PEER1_V4").to_string();
    let id = post_one(
        &p,
        TOK_P1,
        sess(65002, &peer, lab.get("RTR_V4"), "pdb:ix:1", None),
    )
    .await;
    let r = p.get(&format!("/sessions/{id}"), TOK_P1).await;
    assert_eq!(r.body["status"], "Pending", "{}", r.text);
    let p = Arc::new(p);
    // whatever happens in the browser, the session leaves the lab's FRR
    let run = tokio::spawn(in_the_browser(p.clone(), id.clone(), peer)).await;
    p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    wait_gone(&p, TOK_P1, &id, 60).await;
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Logs in, approves session `id` (at `peer`) from the queue, watches its
/// page, opens its trail and the other pages, with screenshots.
async fn in_the_browser(p: Arc<Peerd>, id: String, peer: String) {
    let lab = Lab::load();
    let shots = screenshot_dir();
    let b = Browser::start(1200, 860).await;
    let ui = format!("{}/ui", p.url);

    // log in (the console sends us to the login page first)
    b.goto(&format!("{ui}/queue")).await;
    let key = b.find("#key", 10).await;
    assert!(b.url().await.contains("/ui/login"), "{}", b.url().await);
    b.screenshot(&shots, "01-login.png").await;
    b.type_into(&key, &p.key).await;
    b.click_css("form.login button[type=submit]", 5).await;

    // the queue (where we asked to go), with the Pending session
    // (the queue's rows are a live part: refreshed every second, so
    // elements in them are found again rather than kept)
    b.find(&format!("#q-{id}"), 15).await;
    assert!(b.url().await.ends_with("/ui/queue"), "{}", b.url().await);
    let text = b.text_of(&format!("#q-{id}")).await;
    assert!(text.contains("AS65002") && text.contains(&peer), "{text}");
    assert!(b.text_of("#nav-queue").await.starts_with('1'));
    b.screenshot(&shots, "02-queue.png").await;

    // approve it
    b.click_css(&format!("#approve-{id}"), 10).await;
    b.find(".flash-ok", 15).await;
    assert!(b.text_of(".flash-ok").await.contains("Approved 1 session"));
    b.screenshot(&shots, "03-approved.png").await;

    // its page, left open: Configured, then Established, without a reload
    b.goto(&format!("{ui}/sessions/{id}")).await;
    b.find("#status", 10).await;
    b.execute(WATCH).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut shot_configured = false;
    let seen = loop {
        let seen: Vec<String> =
            serde_json::from_value(b.execute("return window.__seen;").await).unwrap_or_default();
        let trail: Vec<String> = serde_json::from_value(b.execute(TRAIL).await).unwrap_or_default();
        let configured = seen.iter().any(|s| s == "Configured")
            || trail.iter().any(|s| s.ends_with("→ Configured"));
        if !shot_configured && configured {
            b.screenshot(&shots, "04-configured.png").await;
            shot_configured = true;
        }
        if seen.last().map(String::as_str) == Some("Established") {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "the page showed {seen:?}, its trail {trail:?}; the API says {}",
            p.get(&format!("/sessions/{id}"), TOK_P1).await.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let still = b.execute("return window.__noReload || null;").await;
    assert_eq!(still, Value::from("still-here"), "the page was reloaded");
    // the status line changed in place, from what it was to Established;
    // the trail, updated in place too, has Configured and then Established
    assert!(seen.len() >= 2, "the status line showed only {seen:?}");
    let trail: Vec<String> = serde_json::from_value(b.execute(TRAIL).await).unwrap();
    let configured = trail.iter().position(|s| s.ends_with("→ Configured"));
    let established = trail.iter().position(|s| s == "Configured → Established");
    assert!(
        configured.is_some() && established.is_some() && configured < established,
        "the trail on the page: {trail:?}"
    );
    println!(
        "console: the status line showed {seen:?}{}",
        if seen.iter().any(|s| s == "Configured") {
            ""
        } else {
            " (Configured lasted less than a refresh; the trail shows it)"
        }
    );
    if !shot_configured {
        b.screenshot(&shots, "04-configured.png").await;
    }
    b.screenshot(&shots, "05-established.png").await;
    // on the lab's FRR
    assert!(
        frr_neighbors(&lab).contains(&peer),
        "{:?}",
        frr_neighbors(&lab)
    );

    // its audit trail
    b.click_css("#to-audit", 5).await;
    let audit = b.text_of("#s-audit").await;
    for want in [
        "operator:noc",
        "Pending → Approved",
        "Configured",
        "Established",
    ] {
        assert!(audit.contains(want), "{want} not in the trail:\n{audit}");
    }
    b.screenshot(&shots, "06-audit.png").await;

    // the other pages
    for (path, css, name) in [
        ("/", "#main h1", "07-overview.png"),
        ("/sessions", "table.sessions", "08-sessions.png"),
        ("/routers", "#main h1", "09-routers.png"),
        ("/tokens", "#main h1", "10-tokens.png"),
    ] {
        b.goto(&format!("{ui}{path}")).await;
        b.find(css, 10).await;
        assert!(b.title().await.contains("peerd"));
        b.screenshot(&shots, name).await;
    }
    println!("console screenshots in {}", shots.display());
    b.quit().await;
}
