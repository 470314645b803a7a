//! The Tera 2 environment over `templates/<platform>/*.tera`.
//!
//! Undefined values are errors (Tera 2's default, kept). Templates whose
//! name ends in `.xml.tera` are XML-escaped automatically.

use super::context::TemplateCtx;
use super::error::RenderError;
use super::reads::{platform_reads, text_reads, Reads};
use crate::platform::{error_chain, Profiles};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Largest template file accepted.
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// The Tera environment over the templates directory.
#[derive(Clone)]
pub struct TemplateEnv {
    tera: tera::Tera,
    names: BTreeSet<String>,
    /// What each platform's templates may read of the content context.
    reads: BTreeMap<String, Reads>,
}

impl std::fmt::Debug for TemplateEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateEnv")
            .field("templates", &self.names)
            .finish()
    }
}

/// XML escaping for `.xml.tera` templates: `& < > " '`.
pub fn xml_escape(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for b in input.bytes() {
        match b {
            b'&' => out.write_all(b"&amp;")?,
            b'<' => out.write_all(b"&lt;")?,
            b'>' => out.write_all(b"&gt;")?,
            b'"' => out.write_all(b"&quot;")?,
            b'\'' => out.write_all(b"&apos;")?,
            _ => out.write_all(&[b])?,
        }
    }
    Ok(())
}

impl TemplateEnv {
    /// Loads every `<platform>/<file>.tera` under `dir`; the template name
    /// is `<platform>/<file>.tera`.
    pub fn load(dir: &Path) -> Result<TemplateEnv, RenderError> {
        let io = |p: &Path, e: std::io::Error| RenderError::Load(format!("{}: {e}", p.display()));
        let mut items = Vec::new();
        let mut subdirs: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for sub in subdirs {
            let platform = sub
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let mut files: Vec<_> = std::fs::read_dir(&sub)
                .map_err(|e| io(&sub, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()) == Some("tera"))
                .collect();
            files.sort();
            for f in files {
                let len = std::fs::metadata(&f).map_err(|e| io(&f, e))?.len();
                if len > MAX_TEMPLATE_BYTES {
                    return Err(RenderError::Load(format!(
                        "{}: larger than {MAX_TEMPLATE_BYTES} bytes",
                        f.display()
                    )));
                }
                let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
                let file = f.file_name().and_then(|s| s.to_str()).unwrap_or_default();
                items.push((format!("{platform}/{file}"), text));
            }
        }
        Self::from_templates(items).map_err(|e| match e {
            RenderError::Load(m) => RenderError::Load(format!("{}: {m}", dir.display())),
            other => other,
        })
    }

    /// Builds from `(name, text)` pairs (`name` = `<platform>/<file>.tera`).
    pub fn from_templates<N: AsRef<str>, T: AsRef<str>>(
        items: impl IntoIterator<Item = (N, T)>,
    ) -> Result<TemplateEnv, RenderError> {
        let mut tera = tera::Tera::new();
        tera.autoescape_on([".xml.tera"]);
        tera.set_escape_fn(xml_escape);
        let mut names = BTreeSet::new();
        let mut reads = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in items {
            let name = name.as_ref();
            match tera.add_raw_template(name, text.as_ref()) {
                Ok(()) => {
                    names.insert(name.to_string());
                    reads.push((name.to_string(), text_reads(text.as_ref())));
                }
                Err(e) => errors.push(format!("{name}: {}", error_chain(&e))),
            }
        }
        let components = tera.get_component_names().next().is_some();
        let reads = platform_reads(reads.iter().map(|(n, r)| (n.as_str(), *r)), components);
        if errors.is_empty() {
            Ok(TemplateEnv { tera, names, reads })
        } else {
            Err(RenderError::Load(errors.join("\n")))
        }
    }

    /// True when `<platform>/<file>` was loaded.
    pub fn contains(&self, platform: &str, file: &str) -> bool {
        self.names.contains(&format!("{platform}/{file}"))
    }

    /// What the templates of `platform` may read of the content context
    /// (see `reads.rs`).
    pub(crate) fn reads(&self, platform: &str) -> Reads {
        self.reads.get(platform).copied().unwrap_or(Reads::ALL)
    }

    /// Template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Every template a profile refers to that is not loaded, as messages
    /// naming the profile file and key path.
    pub fn missing_templates(&self, profiles: &Profiles) -> Vec<String> {
        let mut out = Vec::new();
        for p in profiles.iter() {
            for (path, file) in p.template_refs() {
                if !self.contains(&p.platform, &file) {
                    out.push(format!(
                        "{}: {path}: template templates/{}/{file} does not exist",
                        p.file, p.platform
                    ));
                }
            }
        }
        out
    }

    /// Renders `templates/<platform>/<file>` with `ctx`.
    pub fn render(
        &self,
        platform: &str,
        file: &str,
        ctx: &TemplateCtx,
    ) -> Result<String, RenderError> {
        let c = tera::Context::from_serialize(ctx).map_err(|e| RenderError::Template {
            name: format!("{platform}/{file}"),
            msg: error_chain(&e),
        })?;
        self.render_with(platform, file, &c)
    }

    /// Renders `templates/<platform>/<file>` with a Tera context built from
    /// a [`TemplateCtx`] (see `prepared.rs`).
    pub(crate) fn render_with(
        &self,
        platform: &str,
        file: &str,
        c: &tera::Context,
    ) -> Result<String, RenderError> {
        self.render_loaded(&self.loaded(platform, file)?, c)
    }

    /// The name of `templates/<platform>/<file>`, if it is loaded: what
    /// [`TemplateEnv::render_loaded`] takes (a step that renders a file
    /// once a session looks its name up once).
    pub(crate) fn loaded(&self, platform: &str, file: &str) -> Result<String, RenderError> {
        let name = format!("{platform}/{file}");
        if self.names.contains(&name) {
            Ok(name)
        } else {
            Err(RenderError::Template {
                name,
                msg: "no such template".into(),
            })
        }
    }

    /// Renders the template [`TemplateEnv::loaded`] named.
    pub(crate) fn render_loaded(
        &self,
        name: &str,
        c: &tera::Context,
    ) -> Result<String, RenderError> {
        self.tera
            .render(name, c)
            .map_err(|e| RenderError::Template {
                msg: error_chain(&e),
                name: name.to_string(),
            })
    }
}
