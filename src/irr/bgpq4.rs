//! Running `bgpq4`: the I/O edge of IRR filters. A subprocess with a fixed
//! argv (no shell): `[-h host:port] [-S sources] [-p] -j -4|-6 [-R len]
//! -l peerd -- OBJECT`, the object validated ([`IrrObject`]) and passed as
//! one argument after `--`. Its time and output are bounded; it is killed
//! when either bound is passed. Parsing is [`super::parse_bgpq4_json`].

use super::{parse_bgpq4_json, IrrObject, PrefixList};
use crate::config::IrrSettings;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Why an expansion did not give a list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Bgpq4Error {
    #[error("irr settings: {0}")]
    Settings(String),
    #[error("bgpq4 could not be started: {0}")]
    Spawn(String),
    #[error("bgpq4 took longer than {0}s")]
    Timeout(u64),
    #[error("bgpq4 output is larger than {0} bytes")]
    TooLarge(usize),
    #[error("bgpq4 failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error(transparent)]
    Parse(#[from] super::ParseError),
}

/// The argv (without the program) for expanding `obj` in one family.
pub fn argv(cfg: &IrrSettings, obj: &IrrObject, v4: bool) -> Vec<String> {
    let mut a = vec!["-h".to_string(), format!("{}:{}", cfg.host, cfg.port)];
    if !cfg.sources.is_empty() {
        a.push("-S".into());
        a.push(cfg.sources.join(","));
    }
    if cfg.allow_private_asns {
        a.push("-p".into());
    }
    a.push("-j".into());
    a.push(if v4 { "-4" } else { "-6" }.into());
    if let Some(r) = if v4 {
        cfg.more_specifics_v4
    } else {
        cfg.more_specifics_v6
    } {
        a.push("-R".into());
        a.push(r.to_string());
    }
    a.extend(["-l".into(), "peerd".into(), "--".into(), obj.to_string()]);
    a
}

/// Printable, bounded text of a child's stderr (it may echo the server).
fn clean(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    s.trim().to_string()
}

/// Expands `obj` into the prefix list of one family (`v4`). An empty list
/// is returned as such: the caller decides what empty means.
pub async fn expand(
    cfg: &IrrSettings,
    obj: &IrrObject,
    v4: bool,
) -> Result<PrefixList, Bgpq4Error> {
    if let Some(p) = cfg.problems().into_iter().next() {
        return Err(Bgpq4Error::Settings(p));
    }
    let mut child = tokio::process::Command::new(&cfg.bgpq4)
        .args(argv(cfg, obj, v4))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Bgpq4Error::Spawn(e.to_string()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let max = cfg.max_output_bytes;
    let run = async {
        // stderr on its own task, so a full stderr pipe never blocks stdout
        let err_task = tokio::spawn(async move {
            let mut err = Vec::new();
            let _ = stderr.take(4096).read_to_end(&mut err).await;
            err
        });
        let mut out = Vec::new();
        stdout
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .await
            .map_err(|e| Bgpq4Error::Spawn(e.to_string()))?;
        if out.len() > max {
            err_task.abort();
            return Err(Bgpq4Error::TooLarge(max));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| Bgpq4Error::Spawn(e.to_string()))?;
        let err = err_task.await.unwrap_or_default();
        Ok((status, out, err))
    };
    let (status, out, err) =
        match tokio::time::timeout(Duration::from_secs(cfg.timeout_secs), run).await {
            Ok(r) => r?,
            Err(_) => return Err(Bgpq4Error::Timeout(cfg.timeout_secs)),
        };
    if !status.success() {
        return Err(Bgpq4Error::Failed {
            status: status.to_string(),
            stderr: clean(&err),
        });
    }
    let text = String::from_utf8(out)
        .map_err(|_| Bgpq4Error::Parse(super::ParseError::Json("output is not UTF-8".into())))?;
    Ok(parse_bgpq4_json(&text, v4)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_is_fixed_and_ends_with_the_object() {
        let cfg = IrrSettings {
            host: "127.0.0.1".into(),
            port: 4343,
            sources: vec!["RIPE".into(), "RADB".into()],
            allow_private_asns: true,
            more_specifics_v6: Some(48),
            ..Default::default()
        };
        let obj = IrrObject::parse("AS65001:AS-FOO").unwrap();
        assert_eq!(
            argv(&cfg, &obj, false),
            [
                "-h",
                "127.0.0.1:4343",
                "-S",
                "RIPE,RADB",
                "-p",
                "-j",
                "-6",
                "-R",
                "48",
                "-l",
                "peerd",
                "--",
                "AS65001:AS-FOO"
            ]
        );
        let v4 = argv(&IrrSettings::default(), &IrrObject::asn(65001), true);
        assert_eq!(
            v4,
            [
                "-h",
                "rr.ntt.net:43",
                "-j",
                "-4",
                "-l",
                "peerd",
                "--",
                "AS65001"
            ]
        );
    }

    #[tokio::test]
    async fn a_missing_program_or_bad_settings_is_an_error() {
        let obj = IrrObject::asn(65001);
        let cfg = IrrSettings {
            bgpq4: "/nonexistent/bgpq4".into(),
            ..Default::default()
        };
        assert!(matches!(
            expand(&cfg, &obj, true).await,
            Err(Bgpq4Error::Spawn(_))
        ));
        let cfg = IrrSettings {
            host: "a b".into(),
            ..Default::default()
        };
        assert!(matches!(
            expand(&cfg, &obj, true).await,
            Err(Bgpq4Error::Settings(_))
        ));
    }

    /// A stand-in program: a script that ignores its arguments.
    fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[tokio::test]
    async fn output_and_time_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let obj = IrrObject::asn(65001);
        let cfg = IrrSettings {
            bgpq4: script(&dir, "chatty", "exec yes"),
            max_output_bytes: 1000,
            ..Default::default()
        };
        assert_eq!(
            expand(&cfg, &obj, true).await,
            Err(Bgpq4Error::TooLarge(1000))
        );
        let cfg = IrrSettings {
            bgpq4: script(&dir, "hang", "exec sleep 30"),
            timeout_secs: 1,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        assert_eq!(expand(&cfg, &obj, true).await, Err(Bgpq4Error::Timeout(1)));
        assert!(t.elapsed() < Duration::from_secs(10));
        let cfg = IrrSettings {
            bgpq4: script(&dir, "fails", "echo 'ERROR: no\tway' >&2; exit 3"),
            ..Default::default()
        };
        match expand(&cfg, &obj, true).await {
            Err(Bgpq4Error::Failed { stderr, .. }) => assert_eq!(stderr, "ERROR: no way"),
            other => panic!("{other:?}"),
        }
        let cfg = IrrSettings {
            bgpq4: script(
                &dir,
                "ok",
                "echo '{\"peerd\": [{\"prefix\": \"192.0.2.0/24\", \"exact\": true}]}'",
            ),
            ..Default::default()
        };
        assert_eq!(expand(&cfg, &obj, true).await.unwrap().len(), 1);
    }
}
