//! Named leases on PostgreSQL ([`crate::store::Store::hold_lease`]): one
//! row per name in `peerd_leases`, taken or renewed by one atomic
//! statement, so of several instances asking at once exactly one holds it.
//! Not under the write lock: a lease never waits for the session writes.

use super::pool::{block, pg};
use super::tx::int;
use super::PgStore;
use crate::model::UnixMillis;
use crate::store::Result;

impl PgStore {
    pub(super) fn pg_hold_lease(
        &self,
        name: &str,
        owner: &str,
        now: UnixMillis,
        ttl_ms: u64,
    ) -> Result<bool> {
        let until = now.saturating_add(ttl_ms);
        let c = self.pool.get()?;
        // the row is written only when it is free, ours, or ended; the
        // conflicting insert locks it, so two askers are serialised
        let row = block(c.query_opt(
            "INSERT INTO peerd_leases (name, owner, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, until_ms = EXCLUDED.until_ms
             WHERE peerd_leases.owner = EXCLUDED.owner OR peerd_leases.until_ms < $4
             RETURNING owner",
            &[&name, &owner, &int(until), &int(now)],
        ))
        .map_err(pg)?;
        Ok(row.is_some())
    }

    pub(super) fn pg_release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let c = self.pool.get()?;
        block(c.execute(
            "DELETE FROM peerd_leases WHERE name = $1 AND owner = $2",
            &[&name, &owner],
        ))
        .map_err(pg)?;
        Ok(())
    }
}
