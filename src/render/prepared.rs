//! The Tera contexts of one batch, built once and only when a template
//! needs them: every neighbor is turned into a Tera value once, and the
//! batch's context, each session's own (BIRD's one file per session) and
//! the `for_each: session` command contexts are put together from those
//! values (Tera shares arrays and maps, so this copies no neighbor). Each
//! neighbor's names (`session_id`, `name`, `file`) are values made once
//! ([`Ids`]) and shared by the `once` command context, the `for_each:
//! session` one and the neighbor's own value. A read or a step that
//! renders only commands (an ssh-exec verify, which the poller renders for
//! every router each poll; a removal on BIRD) builds no neighbor value at
//! all. The per-neighbor contexts (a session's own, and a `for_each:
//! session` command's) are one context each, filled in place for each
//! neighbor in turn: replacing a few values costs less than a copy of the
//! context per neighbor, and leaves nothing per neighbor to drop. A
//! session's own context holds only the names its platform's templates
//! can read ([`Reads`]). A `for_each: session` command made only of text
//! and lookups is printed without Tera ([`Prepared::plain_session_cmd`],
//! see `plain.rs`), and then its context is never filled.

use super::context::{command_vars, NeighborCtx, TemplateCtx};
use super::error::RenderError;
use super::plain::{Plain, Slot};
use super::reads::Reads;
use super::values::{neighbor_values, value, Ids};
use std::cell::{OnceCell, RefCell};
use tera::{Context, Value};

/// The contexts of one batch ([`TemplateCtx`] as Tera sees it; its
/// `ipv4` and `ipv6` are split here from `neighbors`, whatever the typed
/// context holds in them).
pub struct Prepared<'a> {
    pub t: &'a TemplateCtx,
    /// Each neighbor's names as values (what the command contexts show of
    /// it), shared by every context.
    ids: Vec<Ids>,
    /// The neighbors as Tera values, and what a content template sees for
    /// the whole batch; built on first use.
    values: OnceCell<Values>,
    /// A `once` step's command context.
    once: Context,
    /// A `for_each: session` step's command context, filled in place with
    /// the neighbor being rendered: only what the command can read
    /// ([`Reads`]), made on first use (and again for a command that reads
    /// other names).
    session_cmd: RefCell<Option<(Reads, Context)>>,
    /// What every `for_each: session` command context holds: `vars` and
    /// `router`.
    cmd_base: Context,
    /// The batch context narrowed to one neighbor, filled in place: a
    /// copy of the batch context without what the template cannot read
    /// ([`Reads`]), made on first use (and again for a template that
    /// reads other names).
    one: RefCell<Option<(Reads, Context)>>,
    /// `[]`, shared.
    empty: Value,
}

/// The neighbors' values and the batch context made of them.
struct Values {
    neighbors: Vec<Value>,
    batch: Context,
}

impl<'a> Prepared<'a> {
    pub fn new(t: &'a TemplateCtx) -> Result<Prepared<'a>, RenderError> {
        let vars = value(&command_vars(&t.router))?;
        let router = Value::from(t.router.name.as_str());
        // the `once` context is `OnceCommandCtx`
        let ids: Vec<Ids> = t.neighbors.iter().map(Ids::of).collect();
        let list = |f: fn(&Ids) -> &Value| -> Value {
            Value::from(ids.iter().map(|i| f(i).clone()).collect::<Vec<_>>())
        };
        let mut once = Context::new();
        once.insert_value("vars", vars.clone());
        once.insert_value("router", router.clone());
        once.insert_value("session_ids", list(|i| &i.session_id));
        once.insert_value("names", list(|i| &i.name));
        once.insert_value("files", list(|i| &i.file));
        let mut cmd_base = Context::new();
        cmd_base.insert_value("vars", vars);
        cmd_base.insert_value("router", router);
        Ok(Prepared {
            t,
            ids,
            values: OnceCell::new(),
            once,
            session_cmd: RefCell::new(None),
            cmd_base,
            one: RefCell::new(None),
            empty: Value::from(Vec::<Value>::new()),
        })
    }

    /// The neighbors' values and the batch context, built once.
    fn values(&self) -> Result<&Values, RenderError> {
        if let Some(v) = self.values.get() {
            return Ok(v);
        }
        let t = self.t;
        let neighbors = neighbor_values(&t.neighbors, &self.ids)?;
        let family = |f: &str| -> Value {
            let v: Vec<Value> = t
                .neighbors
                .iter()
                .zip(&neighbors)
                .filter(|(n, _)| n.family == f)
                .map(|(_, v)| v.clone())
                .collect();
            Value::from(v)
        };
        let mut batch = Context::new();
        batch.insert("op", t.op);
        batch.insert("local_as", &t.local_as);
        batch.insert_value("router", value(&t.router)?);
        batch.insert_value("ipv4", family("ipv4"));
        batch.insert_value("ipv6", family("ipv6"));
        batch.insert_value("neighbors", Value::from(neighbors.clone()));
        if let Some(n) = &t.neighbor {
            batch.insert_value("neighbor", value(n)?);
        }
        Ok(self.values.get_or_init(|| Values { neighbors, batch }))
    }

    /// The whole batch.
    pub fn batch(&self) -> Result<&Context, RenderError> {
        Ok(&self.values()?.batch)
    }

    /// Runs `f` with the batch narrowed to its `i`th neighbor, which is
    /// also `neighbor`, for a template that reads `reads` of it.
    pub fn with_one<R>(
        &self,
        i: usize,
        reads: Reads,
        f: impl FnOnce(&Context) -> R,
    ) -> Result<R, RenderError> {
        let all = self.values()?;
        let mut cell = self.one.borrow_mut();
        let c = narrowed(&mut cell, reads, &all.batch);
        let (n, v) = (&self.t.neighbors[i], &all.neighbors[i]);
        let lists = ["ipv4", "ipv6", "neighbors"]
            .into_iter()
            .any(|k| reads.may_read(k));
        if lists {
            let single = Value::from(vec![v.clone()]);
            for k in ["ipv4", "ipv6"] {
                if reads.may_read(k) {
                    let l = if n.family == k {
                        single.clone()
                    } else {
                        self.empty.clone()
                    };
                    c.insert_value(k, l);
                }
            }
            if reads.may_read("neighbors") {
                c.insert_value("neighbors", single);
            }
        }
        if reads.may_read("neighbor") {
            c.insert_value("neighbor", v.clone());
        }
        Ok(f(c))
    }

    /// A `once` step's command context: plain tokens only.
    pub fn once(&self) -> &Context {
        &self.once
    }

    /// Runs `f` with a `for_each: session` step's command context for
    /// the `i`th neighbor (`SessionCommandCtx`), for a command that reads
    /// `reads` of it.
    pub fn with_session_cmd<R>(
        &self,
        i: usize,
        reads: Reads,
        f: impl FnOnce(&Context) -> R,
    ) -> Result<R, RenderError> {
        let mut cell = self.session_cmd.borrow_mut();
        let c = narrowed(&mut cell, reads, &self.cmd_base);
        let ids = &self.ids[i];
        for (k, v) in SESSION_NAMES
            .into_iter()
            .zip([&ids.session_id, &ids.name, &ids.file])
        {
            if reads.may_read(k) {
                c.insert_value(k, v.clone());
            }
        }
        Ok(f(c))
    }

    /// A `for_each: session` command as a [`Plain`] template, if it is
    /// one and each of its lookups finds a string in the command context
    /// (`session_id`, `name` and `file` being each neighbor's own, see
    /// [`session_text`]): printed for neighbor `i` with
    /// `plain.render(|k| session_text(&t.neighbors[i], k))`, it is what
    /// Tera prints with [`Prepared::with_session_cmd`]'s context.
    pub fn plain_session_cmd(&self, text: &str) -> Option<Plain> {
        Plain::compile(text, |root, attrs| {
            if let Some(k) = SESSION_NAMES.iter().position(|n| *n == root) {
                // a neighbor's names are strings: no attributes
                return attrs.is_none().then_some(Slot::Item(k));
            }
            let v = self.cmd_base.get(root)?;
            let v = match attrs {
                Some(a) => v.get_from_path(a)?,
                None => v,
            };
            v.as_str().map(Slot::Text)
        })
    }
}

/// The names a `for_each: session` command context holds for each
/// neighbor, in [`Slot::Item`]'s numbering.
const SESSION_NAMES: [&str; 3] = ["session_id", "name", "file"];

/// The neighbor's text of [`SESSION_NAMES`]`[k]` (what its [`Ids`] hold).
pub fn session_text(n: &NeighborCtx, k: usize) -> &str {
    match k {
        0 => &n.session_id,
        1 => &n.name,
        _ => &n.file,
    }
}

/// The context kept in `slot` for a template that reads `reads`: `base`
/// without the names it cannot read, made again only when `reads`
/// changes (the values it then gets are replaced in place).
fn narrowed<'c>(
    slot: &'c mut Option<(Reads, Context)>,
    reads: Reads,
    base: &Context,
) -> &'c mut Context {
    if matches!(slot, Some((r, _)) if *r != reads) {
        *slot = None;
    }
    &mut slot
        .get_or_insert_with(|| {
            let mut c = base.clone();
            for k in reads.unread() {
                c.remove(k);
            }
            (reads, c)
        })
        .1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::context::{OnceCommandCtx, SessionCommandCtx, TemplateCtx};

    /// The prepared contexts are exactly what serialising the typed ones
    /// gives.
    #[test]
    fn the_same_as_the_typed_contexts() {
        let envs = crate::render::tests::sample_contexts();
        for t in &envs {
            let p = Prepared::new(t).unwrap();
            assert_eq!(p.batch().unwrap(), &Context::from_serialize(t).unwrap());
            let once = OnceCommandCtx {
                vars: command_vars(&t.router),
                router: t.router.name.clone(),
                session_ids: t.neighbors.iter().map(|n| n.session_id.clone()).collect(),
                names: t.neighbors.iter().map(|n| n.name.clone()).collect(),
                files: t.neighbors.iter().map(|n| n.file.clone()).collect(),
            };
            assert_eq!(p.once(), &Context::from_serialize(&once).unwrap());
            for (i, n) in t.neighbors.iter().enumerate() {
                let mut one: TemplateCtx = crate::render::context::template_ctx(
                    crate::platform::Op::Add,
                    t.local_as,
                    t.router.clone(),
                    vec![n.clone()],
                );
                one.op = t.op;
                one.neighbor = Some(n.clone());
                let want = Context::from_serialize(&one).unwrap();
                assert!(
                    p.with_one(i, Reads::ALL, |c| c == &want).unwrap(),
                    "neighbor {i}"
                );
                // a template that reads only some names gets exactly
                // those, as the whole context has them
                for text in ["{{ neighbor.name }}{{ router.name }}", "{{ ipv6 }}{{ op }}"] {
                    let r = crate::render::reads::text_reads(text);
                    let mut pruned = want.clone();
                    for k in r.unread() {
                        pruned.remove(k);
                    }
                    assert!(pruned.contains_key("neighbor") == r.may_read("neighbor"));
                    assert!(p.with_one(i, r, |c| c == &pruned).unwrap(), "{text}");
                }
                assert!(p.with_one(i, Reads::ALL, |c| c == &want).unwrap());
                let cmd = SessionCommandCtx {
                    vars: command_vars(&t.router),
                    router: t.router.name.clone(),
                    session_id: n.session_id.clone(),
                    name: n.name.clone(),
                    file: n.file.clone(),
                };
                let want = Context::from_serialize(&cmd).unwrap();
                let all = crate::render::reads::command_reads("{{ <X /> }}");
                assert!(
                    p.with_session_cmd(i, all, |c| c == &want).unwrap(),
                    "neighbor {i}"
                );
                // a command that reads only some names gets exactly those
                for text in ["rm {{ vars.d }}/{{ file }}", "x {{ name }} {{ router }}"] {
                    let r = crate::render::reads::command_reads(text);
                    let mut pruned = want.clone();
                    for k in r.unread() {
                        pruned.remove(k);
                    }
                    assert!(
                        p.with_session_cmd(i, r, |c| c == &pruned).unwrap(),
                        "{text}"
                    );
                }
                assert!(p.with_session_cmd(i, all, |c| c == &want).unwrap());
            }
        }
    }
}
