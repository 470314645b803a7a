//! Loading the platform profiles: every `drivers/<platform>.yaml` read,
//! parsed ([`Profile::parse`]) and checked ([`super::check`]), and their
//! command templates compiled, so a broken profile is refused at start-up
//! (and by `peerd check`) with the file and key of each problem.

use super::check::validate;
use super::profile::Profile;
use std::collections::BTreeMap;
use std::path::Path;

/// Largest profile file accepted.
const MAX_PROFILE_BYTES: u64 = 256 * 1024;

/// Profile loading failure: every problem, each naming its file and key path.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{dir}: cannot read the profiles directory: {err}")]
    ReadDir { dir: String, err: std::io::Error },
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// All loaded platform profiles, with their command templates compiled.
#[derive(Clone)]
pub struct Profiles {
    profiles: BTreeMap<String, Profile>,
    /// Command templates, named `<platform>/<key path>`.
    commands: tera::Tera,
}

impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles")
            .field("platforms", &self.profiles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Profiles {
    /// Loads every `*.yaml` in `dir` (the platform name is the file stem).
    pub fn load(dir: &Path) -> Result<Profiles, ProfileError> {
        let read_err = |err| ProfileError::ReadDir {
            dir: dir.display().to_string(),
            err,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("yaml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut texts = Vec::new();
        let mut errors = Vec::new();
        for path in files {
            let file = path.display().to_string();
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_PROFILE_BYTES => {
                    errors.push(format!("{file}: larger than {MAX_PROFILE_BYTES} bytes"));
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    errors.push(format!("{file}: cannot read: {e}"));
                    continue;
                }
            }
            match std::fs::read_to_string(&path) {
                Ok(t) => texts.push((stem, file, t)),
                Err(e) => errors.push(format!("{file}: cannot read: {e}")),
            }
        }
        if texts.is_empty() && errors.is_empty() {
            errors.push(format!(
                "{}: no platform profiles (*.yaml) found",
                dir.display()
            ));
        }
        match Self::from_texts(
            texts
                .iter()
                .map(|(s, f, t)| (s.as_str(), f.as_str(), t.as_str())),
        ) {
            Ok(p) if errors.is_empty() => Ok(p),
            Ok(_) => Err(ProfileError::Invalid(errors)),
            Err(ProfileError::Invalid(mut more)) => {
                errors.append(&mut more);
                Err(ProfileError::Invalid(errors))
            }
            Err(e) => Err(e),
        }
    }

    /// Builds from `(platform, file name for errors, YAML text)` triples.
    pub fn from_texts<'a>(
        items: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<Profiles, ProfileError> {
        let mut profiles = BTreeMap::new();
        let mut commands = tera::Tera::new();
        commands.autoescape_on(Vec::<&str>::new());
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for (platform, file, text) in items {
            let p = match Profile::parse(platform, file, text) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(format!("{file}: {e}"));
                    continue;
                }
            };
            for issue in validate(&p) {
                errors.push(format!("{file}: {}: {}", issue.path, issue.problem));
            }
            for (path, cmd) in p.command_refs() {
                sources.push((
                    format!("{platform}/{path}"),
                    cmd.to_string(),
                    file.to_string(),
                    path,
                ));
            }
            profiles.insert(platform.to_string(), p);
        }
        for (name, src, file, path) in &sources {
            if let Err(e) = commands.add_raw_template(name, src) {
                errors.push(format!("{file}: {path}: not a valid command template: {e}"));
            }
        }
        if errors.is_empty() {
            Ok(Profiles { profiles, commands })
        } else {
            Err(ProfileError::Invalid(errors))
        }
    }

    pub fn get(&self, platform: &str) -> Option<&Profile> {
        self.profiles.get(platform)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    pub fn platforms(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Renders the command template at `path` (e.g. `add.steps[0].command`)
    /// of `platform` with a context of safe tokens.
    pub fn render_command(
        &self,
        platform: &str,
        path: &str,
        ctx: &tera::Context,
    ) -> Result<String, String> {
        self.render_named(&command_name(platform, path), ctx)
    }

    /// [`Profiles::render_command`] by the template's [`command_name`]
    /// (built once for a step that renders once a session).
    pub fn render_named(&self, name: &str, ctx: &tera::Context) -> Result<String, String> {
        self.commands.render(name, ctx).map_err(|e| {
            let (platform, path) = name.split_once('/').unwrap_or((name, ""));
            format!("{}: {path}: {}", self.file_of(platform), error_chain(&e))
        })
    }

    fn file_of<'a>(&'a self, platform: &'a str) -> &'a str {
        self.profiles
            .get(platform)
            .map(|p| p.file.as_str())
            .unwrap_or(platform)
    }
}

/// The name of the command template at `path` (e.g.
/// `add.steps[0].command`) of `platform`.
pub fn command_name(platform: &str, path: &str) -> String {
    format!("{platform}/{path}")
}

/// An error and its sources, one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::profile::{Transport, TransportKind};
    use crate::transport::netconf::{Datastore, ErrorOption};

    const FRR: &str = r#"
transport: ssh-exec
add:
  steps:
    - command: vtysh -f /dev/stdin
      stdin: add.vtysh.tera
remove:
  steps:
    - command: vtysh -f /dev/stdin
      stdin: remove.vtysh.tera
verify:
  command: vtysh -c 'show running-config bgpd'
  parser: frr-running-config
state:
  command: vtysh -c 'show bgp neighbors json'
  parser: frr-neighbors-json
"#;

    fn load(text: &str) -> Result<Profiles, String> {
        Profiles::from_texts([("frr", "drivers/frr.yaml", text)]).map_err(|e| e.to_string())
    }

    #[test]
    fn good_profile_loads() {
        let p = load(FRR).unwrap();
        let f = p.get("frr").unwrap();
        assert_eq!(f.kind(), TransportKind::SshExec);
        let Transport::SshExec(s) = &f.transport else {
            panic!("not ssh-exec: {f:?}")
        };
        assert_eq!(s.add.steps[0].expect_exit, vec![0]);
        assert_eq!(s.add.steps[0].timeout_secs, 60);
        let cmd = p
            .render_command("frr", "verify.command", &tera::Context::new())
            .unwrap();
        assert_eq!(cmd, "vtysh -c 'show running-config bgpd'");
    }

    #[test]
    fn tcp_md5_is_on_unless_the_profile_says_not() {
        assert!(load(FRR).unwrap().get("frr").unwrap().tcp_md5);
        let p = load(&format!("tcp_md5: false\n{FRR}")).unwrap();
        assert!(!p.get("frr").unwrap().tcp_md5);
        let e = load(&format!("tcp_md5: sometimes\n{FRR}")).unwrap_err();
        assert!(e.contains("tcp_md5"), "{e}");
    }

    #[test]
    fn prefix_lists_are_off_unless_the_profile_says_so() {
        assert!(!load(FRR).unwrap().get("frr").unwrap().prefix_lists);
        let p = load(&format!("prefix_lists: true\n{FRR}")).unwrap();
        assert!(p.get("frr").unwrap().prefix_lists);
        let e = load(&format!("prefix_lists: maybe\n{FRR}")).unwrap_err();
        assert!(e.contains("prefix_lists"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = load(&FRR.replace(
            "      stdin: add.vtysh.tera",
            "      stdin: add.vtysh.tera\n      colour: red",
        ))
        .unwrap_err();
        assert!(
            e.contains("drivers/frr.yaml") && e.contains("colour"),
            "{e}"
        );
    }

    #[test]
    fn unknown_parser_names_key_path() {
        let e = load(&FRR.replace("parser: frr-neighbors-json", "parser: frr-magic")).unwrap_err();
        assert!(
            e.contains("drivers/frr.yaml: state.parser: unknown parser \"frr-magic\""),
            "{e}"
        );
    }

    #[test]
    fn parser_must_fit_its_use() {
        let e = load(&FRR.replace("parser: frr-running-config", "parser: frr-summary-json"))
            .unwrap_err();
        assert!(
            e.contains("verify.parser") && e.contains("cannot be used for verify"),
            "{e}"
        );
    }

    #[test]
    fn transport_specific_sections_are_checked() {
        // an ssh-exec profile relabelled netconf: its first ssh-exec key
        let e = load(&FRR.replace("transport: ssh-exec", "transport: netconf")).unwrap_err();
        assert!(
            e.contains("drivers/frr.yaml: ") && e.contains("unknown field `steps`"),
            "{e}"
        );
        assert!(
            e.contains("`steps` is only allowed with transport: ssh-exec; this profile has transport: netconf"),
            "{e}"
        );
        // netconf settings in an ssh-exec profile
        let e = load(&FRR.replace("transport: ssh-exec", "transport: ssh-exec\nnetconf: {}"))
            .unwrap_err();
        assert!(
            e.contains("drivers/frr.yaml: ") && e.contains("unknown field `netconf`"),
            "{e}"
        );
        assert!(
            e.contains("`netconf` is only allowed with transport: netconf; this profile has transport: ssh-exec"),
            "{e}"
        );
        // a NETCONF read in an ssh-exec profile
        let e = load(&FRR.replace(
            "command: vtysh -c 'show running-config bgpd'",
            "get_config: {filter: f.xml.tera}",
        ))
        .unwrap_err();
        assert!(
            e.contains("unknown field `get_config`")
                && e.contains("only allowed with transport: netconf"),
            "{e}"
        );
        // a netconf profile needs its settings
        let e = load("transport: netconf\nadd: {config: a.xml.tera}\nremove: {config: r.xml.tera}\nverify: {get_config: {filter: f.xml.tera}, parser: lab-bgp-config}\n").unwrap_err();
        assert!(
            e.contains("drivers/frr.yaml: ") && e.contains("missing field `netconf`"),
            "{e}"
        );
        for t in ["telnet", "ssh-cli"] {
            let e =
                load(&FRR.replace("transport: ssh-exec", &format!("transport: {t}"))).unwrap_err();
            assert!(
                e.contains("drivers/frr.yaml") && e.contains(&format!("unknown variant `{t}`")),
                "{e}"
            );
        }
    }

    #[test]
    fn netconf_settings_are_checked() {
        let nc = "transport: netconf\nnetconf: {SETTINGS}\nadd: {config: add.xml.tera}\n\
                  remove: {config: remove.xml.tera}\n\
                  verify: {get_config: {filter: f.xml.tera}, parser: lab-bgp-config}\n";
        let load = |settings: &str| {
            Profiles::from_texts([(
                "nc",
                "drivers/nc.yaml",
                nc.replace("SETTINGS", settings).as_str(),
            )])
            .map_err(|e| e.to_string())
        };
        let p = load("").unwrap();
        let Transport::Netconf(n) = &p.get("nc").unwrap().transport else {
            panic!("not netconf")
        };
        assert_eq!(n.netconf.target, Datastore::Candidate);
        assert_eq!(n.netconf.error_option, ErrorOption::RollbackOnError);
        let e = load("target: startup").unwrap_err();
        assert!(
            e.contains("drivers/nc.yaml: netconf.target: startup cannot be edited"),
            "{e}"
        );
        let e = load("target: running").unwrap_err();
        assert!(
            e.contains("netconf.confirmed_commit_secs: a confirmed commit needs target: candidate"),
            "{e}"
        );
        assert!(load("target: running, confirmed_commit_secs: 0").is_ok());
    }

    #[test]
    fn netconf_verify_reads_running_with_get_config() {
        let nc = "transport: netconf\nnetconf: {}\nadd: {config: add.xml.tera}\n\
                  remove: {config: remove.xml.tera}\nverify:\n  VERIFY\n  parser: lab-bgp-config\n";
        let load = |verify: &str| {
            Profiles::from_texts([(
                "nc",
                "drivers/nc.yaml",
                nc.replace("VERIFY", verify).as_str(),
            )])
            .map_err(|e| e.to_string())
        };
        assert!(load("get_config: {filter: f.xml.tera}").is_ok());
        for bad in [
            "get_config: {source: candidate, filter: f.xml.tera}",
            "get: {filter: f.xml.tera}",
            "rpc: r.xml.tera",
        ] {
            let e = load(bad).unwrap_err();
            assert!(
                e.contains("drivers/nc.yaml: verify: a netconf platform verifies with get_config of source: running"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn bad_template_names_and_commands_are_refused() {
        let e = load(&FRR.replace("stdin: add.vtysh.tera", "stdin: ../../etc/passwd")).unwrap_err();
        assert!(
            e.contains("add.steps[0].stdin") && e.contains("not a template file name"),
            "{e}"
        );
        let e = load(&FRR.replace(
            "command: vtysh -f /dev/stdin\n      stdin: add",
            "command: \"vtysh {{ oops\"\n      stdin: add",
        ))
        .unwrap_err();
        assert!(
            e.contains("add.steps[0].command: not a valid command template"),
            "{e}"
        );
    }

    #[test]
    fn missing_required_sections() {
        let e = load("transport: ssh-exec\nadd: {}\nremove: {}\nverify: {parser: bird-protocols, command: x}\n").unwrap_err();
        assert!(e.contains("add.steps: at least one step"), "{e}");
        assert!(e.contains("remove.steps: at least one step"), "{e}");
    }

    #[test]
    fn load_reads_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("frr.yaml"), FRR).unwrap();
        std::fs::write(dir.path().join("README.txt"), "ignored").unwrap();
        let p = Profiles::load(dir.path()).unwrap();
        assert_eq!(p.platforms().collect::<Vec<_>>(), vec!["frr"]);
        std::fs::write(dir.path().join("bad.yaml"), "transport: [").unwrap();
        let e = Profiles::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("bad.yaml"), "{e}");
    }
}
