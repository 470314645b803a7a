//! A tiny W3C WebDriver client over reqwest, for the console's browser
//! test: it starts Debian's `chromedriver` (package chromium-driver) on a
//! free loopback port in a process group of its own, opens one headless
//! Chromium session (`--headless=new`, `--no-sandbox`: CI runs as root)
//! and speaks the handful of commands the test needs. Dropping it kills
//! that process group (chromedriver and the browsers it started), by the
//! id of the process it started, nothing else.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromedriver binary (`PEERD_CHROMEDRIVER` overrides).
fn chromedriver() -> String {
    std::env::var("PEERD_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// The Chromium binary (`PEERD_CHROMIUM` overrides).
fn chromium() -> String {
    std::env::var("PEERD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// One browser session.
pub struct Browser {
    child: Child,
    http: reqwest::Client,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width` x `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        for bin in [chromedriver(), chromium()] {
            assert!(
                Path::new(&bin).exists(),
                "{bin} is missing: install the Debian packages chromium and chromium-driver \
                 (tests/lab/lib.sh ensure_packages does)"
            );
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = Command::new(chromedriver());
        cmd.arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn().expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            child,
            http,
            base,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = b
                .http
                .get(format!("{}/status", b.base))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--lang=en-US",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", b._profile.path().display()),
                ]
            }
        }}});
        let v = b.raw("POST", "/session", Some(caps)).await;
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self
            .http
            .request(m, &url)
            .json(&body.unwrap_or(json!({})))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    /// A command of this session (`/session/{id}{path}`).
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The element `css` selects, if there is one now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let r = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        v["value"][ELEMENT].as_str().map(|s| Element(s.to_string()))
    }

    /// The element `css` selects, waiting up to `secs` for it.
    pub async fn find(&self, css: &str, secs: u64) -> Element {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} on {} within {secs} s",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), None)
            .await;
    }

    /// Finds what `css` selects and clicks it; again when the page
    /// replaced it in between (a live part refreshed: a stale element).
    pub async fn click_css(&self, css: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let e = self.find(css, secs).await;
            let url = format!(
                "{}/session/{}/element/{}/click",
                self.base, self.session, e.0
            );
            let r = self
                .http
                .post(url)
                .json(&json!({}))
                .send()
                .await
                .expect("click");
            if r.status().is_success() {
                return;
            }
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert!(
                v["value"]["error"] == "stale element reference" && Instant::now() < deadline,
                "click {css}: {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The element's rendered text; `None` if it went away meanwhile.
    pub async fn text(&self, e: &Element) -> Option<String> {
        let url = format!(
            "{}/session/{}/element/{}/text",
            self.base, self.session, e.0
        );
        let r = self.http.get(url).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        v["value"].as_str().map(str::to_string)
    }

    /// The text of what `css` selects now ("" when nothing), found again
    /// when a live refresh replaced it in between.
    pub async fn text_of(&self, css: &str) -> String {
        for _ in 0..20 {
            let Some(e) = self.try_find(css).await else {
                return String::new();
            };
            if let Some(t) = self.text(&e).await {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} kept going stale");
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn execute(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Saves a PNG of the viewport as `dir/name`; its path.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("screenshot"))
            .expect("base64");
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        println!("console screenshot: {}", path.display());
        path
    }

    /// Ends the browser session.
    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        self.kill_group();
    }

    fn kill_group(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signals the process group of the chromedriver this
            // value started (its id is the group's id).
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_group();
    }
}
