//! The console's templates and assets, compiled into the binary: Tera over
//! `templates/*.html` (HTML-escaped automatically; nothing is marked safe),
//! the stylesheet and the small script (`assets/`), and the helpers that
//! shape values for the templates (times, ages).
//!
//! Times are rendered as `<time datetime="...Z">` in UTC; the script shows
//! them in the browser's time zone. Without JavaScript they stay in UTC.

use serde::Serialize;

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("sessions.html", include_str!("templates/sessions.html")),
    ("session.html", include_str!("templates/session.html")),
    (
        "router_read.html",
        include_str!("templates/router_read.html"),
    ),
    ("routers.html", include_str!("templates/routers.html")),
    ("tokens.html", include_str!("templates/tokens.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// The stylesheet.
pub const CSS: &str = include_str!("assets/console.css");
/// The script: local times, live updates, select-all, confirmations.
pub const JS: &str = include_str!("assets/console.js");

/// The parsed templates and the assets' version tags.
pub struct Views {
    tera: tera::Tera,
    /// First hex digits of the assets' SHA-256 (their URLs carry them, so
    /// a browser may cache them for good).
    pub css_tag: String,
    pub js_tag: String,
}

fn tag(text: &str) -> String {
    hex::encode(crate::auth::token_hash(text))[..12].to_string()
}

impl Views {
    /// Parses every template (a broken one is a bug: the tests render
    /// each page).
    pub fn new() -> Result<Views, String> {
        let mut tera = tera::Tera::new();
        tera.autoescape_on([".html"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| format!("console templates: {}", crate::platform::error_chain(&e)))?;
        Ok(Views {
            tera,
            css_tag: tag(CSS),
            js_tag: tag(JS),
        })
    }

    /// Renders `name` with `ctx` (an object).
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String, String> {
        let c = tera::Context::from_serialize(ctx).map_err(|e| e.to_string())?;
        self.tera
            .render(name, &c)
            .map_err(|e| format!("{name}: {}", crate::platform::error_chain(&e)))
    }
}

/// A time for a template: `<time datetime="{iso}">{text}</time>`, and how
/// long ago it was.
#[derive(Clone, Debug, Serialize)]
pub struct Time {
    pub iso: String,
    pub text: String,
    pub ago: String,
}

/// `ms` (epoch milliseconds) as a [`Time`], seen at `now`.
pub fn time(ms: u64, now: u64) -> Time {
    let iso = crate::wire::rfc3339(ms);
    let text = format!("{} UTC", iso[..19].replace('T', " "));
    Time {
        iso,
        text,
        ago: ago(now.saturating_sub(ms)),
    }
}

/// A duration in words: `12 s`, `5 min`, `3 h`, `2 d`.
pub fn ago(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_times_read_well() {
        Views::new().unwrap();
        let t = time(1_718_000_000_123, 1_718_000_062_123);
        assert_eq!(t.iso, "2024-06-10T06:13:20.123Z");
        assert_eq!(t.text, "2024-06-10 06:13:20 UTC");
        assert_eq!(t.ago, "62 s");
        assert_eq!(ago(7_200_000), "2 h");
        assert_eq!(ago(3 * 86_400_000), "3 d");
    }
}
