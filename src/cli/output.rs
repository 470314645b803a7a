//! How commands print: `--format text` (aligned tables, lines) or
//! `--format json` (one pretty-printed JSON document on stdout), and the
//! API's UTC times (RFC 3339) shown in the local time zone.

use serde::Serialize;

/// The output format of a command.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Tables and lines for people.
    #[default]
    #[value(alias = "table")]
    Text,
    /// One JSON document (what the API answered, or the command's result).
    Json,
}

impl Format {
    pub fn is_json(self) -> bool {
        self == Format::Json
    }
}

/// Prints `v` as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("peerd: error: cannot print JSON: {e}"),
    }
}

/// Left-aligned columns, two spaces apart.
pub fn print_table(head: &[&str], rows: &[Vec<String>]) {
    print!("{}", table(head, rows));
}

/// [`print_table`]'s text.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<width$}", c, width = w.get(i).copied().unwrap_or(0)))
            .collect();
        format!("{}\n", s.join("  ").trim_end())
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(|s| s.as_str()).collect()));
    }
    out
}

pub use crate::wire::parse_rfc3339;

/// An API time (RFC 3339, UTC) in the local time zone:
/// `2024-05-01 14:03:04 +0200`. Text that is not such a time is returned
/// as it is.
pub fn local_time(s: &str) -> String {
    match parse_rfc3339(s).and_then(format_local) {
        Some(t) => t,
        None => s.to_string(),
    }
}

#[cfg(unix)]
extern "C" {
    /// POSIX `tzset` (reads `TZ` and the zone data; the libc crate has no
    /// binding for it).
    fn tzset();
}

#[cfg(unix)]
fn format_local(secs: i64) -> Option<String> {
    #[allow(clippy::useless_conversion)] // time_t is not i64 everywhere
    let t: libc::time_t = secs.try_into().ok()?;
    // SAFETY: an all-zero `tm` is a valid value for localtime_r to fill.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: tzset reads TZ and the zone files; localtime_r writes only
    // the `tm` passed, and both pointers are valid for the call.
    let ok = unsafe {
        tzset();
        !libc::localtime_r(&t, &mut tm).is_null()
    };
    if !ok {
        return None;
    }
    let off = tm.tm_gmtoff;
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        tm.tm_year as i64 + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        off / 3600,
        (off % 3600) / 60
    ))
}

#[cfg(not(unix))]
fn format_local(_secs: i64) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-05-01T12:03:04.123Z"),
            Some(1_714_564_984)
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T14:03:04+02:00"),
            Some(1_714_564_984)
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T10:03:04.5-02:00"),
            Some(1_714_564_984)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-05-01T12:03:04",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(local_time("not a time"), "not a time");
    }

    #[test]
    fn local_time_is_the_same_instant() {
        let shown = local_time("2024-05-01T12:03:04.123Z");
        // `2024-05-01 14:03:04 +0200`: back to UTC it is the same second
        let (dt, off) = shown.rsplit_once(' ').unwrap();
        let iso = format!("{}T{}{}:{}", &dt[..10], &dt[11..], &off[..3], &off[3..]);
        assert_eq!(parse_rfc3339(&iso), Some(1_714_564_984), "{shown}");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "BB"],
            &[vec!["xxx".into(), "y".into()], vec!["".into(), "".into()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\n\n");
    }
}
