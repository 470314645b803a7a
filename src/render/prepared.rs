//! The Tera contexts of one batch, built once and only when a template
//! needs them: every neighbor is turned into a Tera value once, and the
//! batch's context, each session's own (BIRD's one file per session) and
//! the `for_each: session` command contexts are put together from those
//! values (Tera shares arrays and maps, so this copies no neighbor). A
//! read that renders only a command (an ssh-exec verify, which the poller
//! renders for every router each poll) builds no neighbor value at all:
//! its `once` context takes the names from the typed neighbors. The
//! per-neighbor contexts (a session's own, and a `for_each: session`
//! command's) are one context each, filled in place for each neighbor in
//! turn: replacing four values costs less than a copy of the context per
//! neighbor, and leaves nothing per neighbor to drop.

use super::context::{command_vars, TemplateCtx};
use super::error::RenderError;
use crate::platform::error_chain;
use std::cell::{OnceCell, RefCell};
use tera::value::Key;
use tera::{Context, Value};

/// The contexts of one batch ([`TemplateCtx`] as Tera sees it; its
/// `ipv4` and `ipv6` are split here from `neighbors`, whatever the typed
/// context holds in them).
pub struct Prepared<'a> {
    pub t: &'a TemplateCtx,
    /// The neighbors as Tera values, and what a content template sees for
    /// the whole batch; built on first use.
    values: OnceCell<Values>,
    /// A `once` step's command context.
    once: Context,
    /// A `for_each: session` step's command context, filled in place with
    /// the neighbor being rendered.
    session_cmd: RefCell<Context>,
    /// The batch context narrowed to one neighbor, filled in place; a
    /// copy of the batch context made on first use.
    one: OnceCell<RefCell<Context>>,
    /// `[]`, shared.
    empty: Value,
}

/// The neighbors' values and the batch context made of them.
struct Values {
    neighbors: Vec<Value>,
    batch: Context,
}

fn value<T: serde::Serialize>(v: &T) -> Result<Value, RenderError> {
    Value::try_from_serializable(v).map_err(|e| RenderError::Command(error_chain(&e)))
}

impl<'a> Prepared<'a> {
    pub fn new(t: &'a TemplateCtx) -> Result<Prepared<'a>, RenderError> {
        let vars = value(&command_vars(&t.router))?;
        let router = Value::from(t.router.name.as_str());
        // the `once` context is `OnceCommandCtx`
        let list = |f: fn(&super::context::NeighborCtx) -> &str| -> Value {
            Value::from(
                t.neighbors
                    .iter()
                    .map(|n| Value::from(f(n)))
                    .collect::<Vec<_>>(),
            )
        };
        let mut once = Context::new();
        once.insert_value("vars", vars.clone());
        once.insert_value("router", router.clone());
        once.insert_value("session_ids", list(|n| &n.session_id));
        once.insert_value("names", list(|n| &n.name));
        once.insert_value("files", list(|n| &n.file));
        let mut session_cmd = Context::new();
        session_cmd.insert_value("vars", vars);
        session_cmd.insert_value("router", router);
        Ok(Prepared {
            t,
            values: OnceCell::new(),
            once,
            session_cmd: RefCell::new(session_cmd),
            one: OnceCell::new(),
            empty: Value::from(Vec::<Value>::new()),
        })
    }

    /// The neighbors' values and the batch context, built once.
    fn values(&self) -> Result<&Values, RenderError> {
        if let Some(v) = self.values.get() {
            return Ok(v);
        }
        let t = self.t;
        let neighbors = t
            .neighbors
            .iter()
            .map(value)
            .collect::<Result<Vec<_>, _>>()?;
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
    /// also `neighbor`.
    pub fn with_one<R>(&self, i: usize, f: impl FnOnce(&Context) -> R) -> Result<R, RenderError> {
        let all = self.values()?;
        let cell = self.one.get_or_init(|| RefCell::new(all.batch.clone()));
        let mut c = cell.borrow_mut();
        let (n, v) = (&self.t.neighbors[i], &all.neighbors[i]);
        let single = Value::from(vec![v.clone()]);
        let only = |f: &str| -> Value {
            if n.family == f {
                single.clone()
            } else {
                self.empty.clone()
            }
        };
        c.insert_value("ipv4", only("ipv4"));
        c.insert_value("ipv6", only("ipv6"));
        c.insert_value("neighbors", single.clone());
        c.insert_value("neighbor", v.clone());
        Ok(f(&c))
    }

    /// A `once` step's command context: plain tokens only.
    pub fn once(&self) -> &Context {
        &self.once
    }

    /// Runs `f` with a `for_each: session` step's command context for
    /// the `i`th neighbor (`SessionCommandCtx`).
    pub fn with_session_cmd<R>(
        &self,
        i: usize,
        f: impl FnOnce(&Context) -> R,
    ) -> Result<R, RenderError> {
        let v = &self.values()?.neighbors[i];
        let mut c = self.session_cmd.borrow_mut();
        for k in ["session_id", "name", "file"] {
            c.insert_value(k, field(v, k)?);
        }
        Ok(f(&c))
    }
}

/// Field `k` of a neighbor's value (shared, not copied).
fn field(v: &Value, k: &'static str) -> Result<Value, RenderError> {
    v.as_map()
        .and_then(|m| m.get(&Key::Str(k)))
        .cloned()
        .ok_or_else(|| RenderError::Command(format!("a neighbor has no {k}")))
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
                assert!(p.with_one(i, |c| c == &want).unwrap(), "neighbor {i}");
                let cmd = SessionCommandCtx {
                    vars: command_vars(&t.router),
                    router: t.router.name.clone(),
                    session_id: n.session_id.clone(),
                    name: n.name.clone(),
                    file: n.file.clone(),
                };
                let want = Context::from_serialize(&cmd).unwrap();
                assert!(
                    p.with_session_cmd(i, |c| c == &want).unwrap(),
                    "neighbor {i}"
                );
            }
        }
    }
}
