//! A neighbor's Tera value, built straight from its typed context
//! ([`NeighborCtx`]) with what is the same for many neighbors of a batch
//! built once and shared: the value is exactly what serialising the typed
//! context gives (the same fields, the same values), only cheaper to build
//! and to drop. Its location, a map of its own, is one value for every
//! neighbor at that location (Tera shares maps, so a neighbor holds it
//! without a copy).

use super::context::{LocationCtx, NeighborCtx};
use super::error::RenderError;
use crate::platform::error_chain;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::sync::Arc;
use tera::Value;

/// `v` as a Tera value.
pub(crate) fn value<T: Serialize>(v: &T) -> Result<Value, RenderError> {
    Value::try_from_serializable(v).map_err(|e| RenderError::Command(error_chain(&e)))
}

/// A neighbor's names as values: what the command contexts show of it
/// (`session_id`, `name`, `file`), built once and shared by them and the
/// neighbor's own value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ids {
    pub session_id: Value,
    pub name: Value,
    pub file: Value,
}

impl Ids {
    pub(crate) fn of(n: &NeighborCtx) -> Ids {
        Ids {
            session_id: Value::from(n.session_id.as_str()),
            name: Value::from(n.name.as_str()),
            file: Value::from(n.file.as_str()),
        }
    }
}

/// The neighbors' values, in order (`ids` are theirs, in the same order),
/// each location's value built once.
pub(crate) fn neighbor_values(
    neighbors: &[NeighborCtx],
    ids: &[Ids],
) -> Result<Vec<Value>, RenderError> {
    // a batch is for one router, so it spans few locations: a short list
    // searched in order, the last one found first
    let mut locations: Vec<(&Arc<LocationCtx>, Value)> = Vec::new();
    let mut out = Vec::with_capacity(neighbors.len());
    for (n, ids) in neighbors.iter().zip(ids) {
        let same = |l: &Arc<LocationCtx>| Arc::ptr_eq(l, &n.location) || *l == n.location;
        let i = match locations.iter().rposition(|(l, _)| same(l)) {
            Some(i) => i,
            None => {
                locations.push((&n.location, value(&*n.location)?));
                locations.len() - 1
            }
        };
        out.push(value(&Shared {
            n,
            ids,
            location: &locations[i].1,
        })?);
    }
    Ok(out)
}

/// A neighbor serialised as [`NeighborCtx`]'s derived `Serialize` does,
/// with its names and location given as values already built.
struct Shared<'a> {
    n: &'a NeighborCtx,
    ids: &'a Ids,
    location: &'a Value,
}

impl Serialize for Shared<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // every field named: a field added to `NeighborCtx` does not
        // compile here until it is serialised too
        let NeighborCtx {
            session_id: _,
            name: _,
            file: _,
            address,
            peer_as,
            local_address,
            local_as,
            family,
            description,
            md5,
            max_prefix,
            import_policy,
            export_policy,
            location: _,
            peer_type,
            local_role,
            peer_role,
            form,
            prefix_filter,
            prefix_list,
        } = self.n;
        let mut m = s.serialize_struct("NeighborCtx", 20)?;
        m.serialize_field("session_id", &self.ids.session_id)?;
        m.serialize_field("name", &self.ids.name)?;
        m.serialize_field("file", &self.ids.file)?;
        m.serialize_field("address", address)?;
        m.serialize_field("peer_as", peer_as)?;
        m.serialize_field("local_address", local_address)?;
        m.serialize_field("local_as", local_as)?;
        m.serialize_field("family", family)?;
        m.serialize_field("description", description)?;
        m.serialize_field("md5", md5)?;
        m.serialize_field("max_prefix", max_prefix)?;
        m.serialize_field("import_policy", import_policy)?;
        m.serialize_field("export_policy", export_policy)?;
        m.serialize_field("location", self.location)?;
        m.serialize_field("peer_type", peer_type)?;
        m.serialize_field("local_role", local_role)?;
        m.serialize_field("peer_role", peer_role)?;
        m.serialize_field("form", form)?;
        m.serialize_field("prefix_filter", prefix_filter)?;
        m.serialize_field("prefix_list", prefix_list)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each neighbor's value is what serialising its typed context gives,
    /// and neighbors at one location share its value.
    #[test]
    fn the_same_as_serialising_the_typed_context() {
        let mut seen = 0;
        for t in crate::render::tests::sample_contexts() {
            let ids: Vec<_> = t.neighbors.iter().map(Ids::of).collect();
            let vs = neighbor_values(&t.neighbors, &ids).unwrap();
            assert_eq!(vs.len(), t.neighbors.len());
            for (n, v) in t.neighbors.iter().zip(&vs) {
                assert_eq!(v, &value(n).unwrap(), "{}", n.session_id);
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    /// Neighbors at different locations get each their own location.
    #[test]
    fn locations_are_not_mixed_up() {
        let t = crate::render::tests::sample_contexts().remove(0);
        let mut ns = vec![t.neighbors[0].clone(), t.neighbors[0].clone()];
        let other = Arc::make_mut(&mut ns[1].location);
        other.id = "pdb:ix:7".into();
        other.name = "Other".into();
        let mut third = t.neighbors[0].clone();
        third.form = "drain";
        third.md5 = None;
        third.prefix_list = Some(crate::render::context::PrefixListCtx {
            name: format!("{}_in", third.name),
            entries: vec![crate::render::context::PrefixEntryCtx {
                prefix: "192.0.2.0/24".into(),
                ge: None,
                le: Some(24),
                min_len: 24,
                max_len: 24,
            }],
        });
        ns.push(third);
        let ids: Vec<_> = ns.iter().map(Ids::of).collect();
        let vs = neighbor_values(&ns, &ids).unwrap();
        for (n, v) in ns.iter().zip(&vs) {
            assert_eq!(v, &value(n).unwrap());
        }
    }
}
