//! Loading a PeeringDB JSON dump for offline use.
//!
//! The file is one JSON object with a section per object type, each
//! section shaped like an API answer:
//!
//! ```json
//! {"ix":       {"meta": {...}, "data": [ ...ix objects... ]},
//!  "ixlan":    {"data": [...]},
//!  "ixpfx":    {"data": [...]},
//!  "netixlan": {"data": [...]},
//!  "net":      {"data": [...]},
//!  "fac": ..., "org": ...}
//! ```
//!
//! This is the layout of the public daily PeeringDB dumps (every object
//! type, as `/api/<type>` returns it); other sections are ignored, as are
//! unknown fields. `meta` is optional; when a section's `meta.generated`
//! (seconds since the epoch) is present, the oldest one is the snapshot's
//! `taken_at`, otherwise the load time is. The five sections above are
//! required. The data is restricted to the inventory's exchanges and the
//! networks present there, giving the same [`Snapshot`] an online sync of
//! the same data gives.

use super::snapshot::Snapshot;
use super::types::{Envelope, Ix, IxLan, IxPfx, Net, NetIxLan, RawData};
use super::{inventory_ix_ids, PdbError, Result};
use crate::inventory::Inventory;
use crate::model::{now_ms, UnixMillis};
use serde::Deserialize;
use std::io::{BufReader, Read};
use std::path::Path;

/// Largest dump file accepted (a full PeeringDB dump is a few hundred MB).
pub const MAX_DUMP_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Deserialize)]
struct Dump {
    ix: Envelope<Ix>,
    ixlan: Envelope<IxLan>,
    ixpfx: Envelope<IxPfx>,
    netixlan: Envelope<NetIxLan>,
    net: Envelope<Net>,
}

/// Loads `path` (at most [`MAX_DUMP_BYTES`]) for the inventory's exchanges.
pub fn load_dump(path: &Path, inventory: &Inventory) -> Result<Snapshot> {
    load_dump_limited(path, inventory, MAX_DUMP_BYTES)
}

/// [`load_dump`] with an explicit size limit.
pub fn load_dump_limited(path: &Path, inventory: &Inventory, limit: u64) -> Result<Snapshot> {
    let shown = path.display().to_string();
    let err = |msg: String| PdbError::Dump {
        path: shown.clone(),
        msg,
    };
    let file = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| err(format!("cannot stat: {e}")))?
        .len();
    if len > limit {
        return Err(PdbError::TooLarge { what: shown, limit });
    }
    // `take` also bounds a file that grows while it is read.
    let reader = BufReader::new(file.take(limit));
    let dump: Dump =
        serde_json::from_reader(reader).map_err(|e| err(format!("not a PeeringDB dump: {e}")))?;
    let taken_at = generated(&dump).unwrap_or_else(now_ms);
    let raw = RawData {
        ix: dump.ix.data,
        ixlan: dump.ixlan.data,
        ixpfx: dump.ixpfx.data,
        netixlan: dump.netixlan.data,
        net: dump.net.data,
    };
    let wanted = inventory_ix_ids(inventory);
    let snap = Snapshot::build(&wanted, raw, format!("dump {shown}"), taken_at);
    super::sync::check(&snap, inventory);
    Ok(snap)
}

/// The oldest `meta.generated` of the sections, in ms.
fn generated(d: &Dump) -> Option<UnixMillis> {
    [
        &d.ix.meta,
        &d.ixlan.meta,
        &d.ixpfx.meta,
        &d.netixlan.meta,
        &d.net.meta,
    ]
    .iter()
    .filter_map(|m| m.get("generated")?.as_f64())
    .filter(|s| s.is_finite() && *s > 0.0)
    .map(|s| (s * 1000.0) as UnixMillis)
    .min()
}

#[cfg(test)]
mod tests;
