//! The Tera contexts of one batch, built once: every neighbor is turned
//! into a Tera value once, and the batch's context, each session's own
//! (BIRD's one file per session) and the command contexts are put
//! together from those values (Tera shares arrays and maps, so this copies
//! no neighbor). Rendering a batch used to build a whole context from the
//! typed one for every template it rendered.

use super::context::{command_vars, NeighborCtx, OnceCommandCtx, TemplateCtx};
use super::error::RenderError;
use crate::platform::error_chain;
use tera::{Context, Value};

/// The contexts of one batch ([`TemplateCtx`] as Tera sees it; its
/// `ipv4` and `ipv6` are split here from `neighbors`, whatever the typed
/// context holds in them).
pub struct Prepared<'a> {
    pub t: &'a TemplateCtx,
    /// What a content template sees for the whole batch.
    batch: Context,
    neighbors: Vec<Value>,
    /// A `once` step's command context.
    once: Context,
    /// A `for_each: session` step's command context, less the session.
    session_cmd: Context,
}

fn value<T: serde::Serialize>(v: &T) -> Result<Value, RenderError> {
    Value::try_from_serializable(v).map_err(|e| RenderError::Command(error_chain(&e)))
}

fn context<T: serde::Serialize>(v: &T) -> Result<Context, RenderError> {
    Context::from_serialize(v).map_err(|e| RenderError::Command(error_chain(&e)))
}

impl<'a> Prepared<'a> {
    pub fn new(t: &'a TemplateCtx) -> Result<Prepared<'a>, RenderError> {
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
        let once = context(&OnceCommandCtx {
            vars: command_vars(&t.router),
            router: t.router.name.clone(),
            session_ids: t.neighbors.iter().map(|n| n.session_id.clone()).collect(),
            names: t.neighbors.iter().map(|n| n.name.clone()).collect(),
            files: t.neighbors.iter().map(|n| n.file.clone()).collect(),
        })?;
        let mut session_cmd = Context::new();
        session_cmd.insert_value("vars", value(&command_vars(&t.router))?);
        session_cmd.insert("router", &t.router.name);
        Ok(Prepared {
            t,
            batch,
            neighbors,
            once,
            session_cmd,
        })
    }

    /// The whole batch.
    pub fn batch(&self) -> &Context {
        &self.batch
    }

    /// The batch narrowed to its `i`th neighbor, which is also `neighbor`.
    pub fn one(&self, i: usize) -> Context {
        let mut c = self.batch.clone();
        let (n, v) = (&self.t.neighbors[i], self.neighbors[i].clone());
        let only = |f: &str| -> Value {
            if n.family == f {
                Value::from(vec![v.clone()])
            } else {
                Value::from(Vec::<Value>::new())
            }
        };
        c.insert_value("ipv4", only("ipv4"));
        c.insert_value("ipv6", only("ipv6"));
        c.insert_value("neighbors", Value::from(vec![v.clone()]));
        c.insert_value("neighbor", v);
        c
    }

    /// A `once` step's command context: plain tokens only.
    pub fn once(&self) -> &Context {
        &self.once
    }

    /// A `for_each: session` step's command context for `n`.
    pub fn session_cmd(&self, n: &NeighborCtx) -> Context {
        let mut c = self.session_cmd.clone();
        c.insert("session_id", &n.session_id);
        c.insert("name", &n.name);
        c.insert("file", &n.file);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::context::{SessionCommandCtx, TemplateCtx};

    /// The prepared contexts are exactly what serialising the typed ones
    /// gives.
    #[test]
    fn the_same_as_the_typed_contexts() {
        let envs = crate::render::tests::sample_contexts();
        for t in &envs {
            let p = Prepared::new(t).unwrap();
            assert_eq!(p.batch(), &Context::from_serialize(t).unwrap());
            for (i, n) in t.neighbors.iter().enumerate() {
                let mut one: TemplateCtx = crate::render::context::template_ctx(
                    crate::platform::Op::Add,
                    t.local_as,
                    t.router.clone(),
                    vec![n.clone()],
                );
                one.op = t.op;
                one.neighbor = Some(n.clone());
                assert_eq!(p.one(i), Context::from_serialize(&one).unwrap());
                let cmd = SessionCommandCtx {
                    vars: command_vars(&t.router),
                    router: t.router.name.clone(),
                    session_id: n.session_id.clone(),
                    name: n.name.clone(),
                    file: n.file.clone(),
                };
                assert_eq!(p.session_cmd(n), Context::from_serialize(&cmd).unwrap());
            }
        }
    }
}
