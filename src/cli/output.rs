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

/// Seconds since the epoch of an RFC 3339 time (`2024-05-01T12:03:04.123Z`,
/// or with a `+02:00` offset).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

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
