//! The database schema: versioned migrations embedded in the binary,
//! applied at start under an advisory lock (so two instances starting at
//! once apply each migration once), and a refusal to run against a
//! database whose schema is newer than this binary knows.
//!
//! Records are kept as JSON (`body`, the same serde form as the sled
//! store's values) next to the columns that are looked up, ordered or
//! filtered on.

use super::pool::{block, pg};
use crate::store::{Result, StoreError};
use tokio_postgres::Client;

/// Advisory lock held while migrations run.
pub const MIGRATE_LOCK: i64 = 0x7065_6572_6400_0001;

/// The migrations, in order; version n is `MIGRATIONS[n - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: sessions, address holders, requests, jobs, audit, metadata.
    r#"
CREATE SEQUENCE peerd_session_seq;
CREATE SEQUENCE peerd_job_id;
CREATE SEQUENCE peerd_audit_n;
CREATE TABLE peerd_sessions (
    seq BIGINT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    local_asn BIGINT NOT NULL,
    router TEXT NOT NULL,
    status TEXT NOT NULL,
    direction TEXT NOT NULL,
    body JSONB NOT NULL
);
CREATE INDEX peerd_sessions_owner ON peerd_sessions (local_asn, seq);
CREATE TABLE peerd_holders (
    router TEXT NOT NULL,
    address TEXT NOT NULL,
    session_id TEXT NOT NULL,
    ord BIGSERIAL,
    PRIMARY KEY (router, address, session_id)
);
CREATE INDEX peerd_holders_session ON peerd_holders (session_id);
CREATE TABLE peerd_requests (
    request_id TEXT PRIMARY KEY,
    body JSONB NOT NULL
);
CREATE TABLE peerd_jobs (
    job_id BIGINT PRIMARY KEY,
    session_id TEXT NOT NULL,
    router TEXT NOT NULL,
    not_before_ms BIGINT NOT NULL,
    lease_until_ms BIGINT,
    body JSONB NOT NULL
);
CREATE INDEX peerd_jobs_session ON peerd_jobs (session_id, job_id);
CREATE INDEX peerd_jobs_ready ON peerd_jobs (not_before_ms, job_id) WHERE lease_until_ms IS NULL;
CREATE INDEX peerd_jobs_leased ON peerd_jobs (lease_until_ms) WHERE lease_until_ms IS NOT NULL;
CREATE TABLE peerd_audit (
    n BIGINT PRIMARY KEY,
    session_id TEXT NOT NULL,
    body JSONB NOT NULL
);
CREATE INDEX peerd_audit_session ON peerd_audit (session_id, n);
CREATE TABLE peerd_meta (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (ns, key)
);
"#,
    // 2: named leases (background work once across instances).
    r#"
CREATE TABLE peerd_leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
"#,
    // 3: bodies as JSON text, not JSONB: peerd reads and writes them whole
    // (two queries look at one key each), and an API request writes four
    // bodies, each parsed into JSONB by the server (and rendered back on
    // every read) under the write lock.
    r#"
ALTER TABLE peerd_sessions ALTER COLUMN body TYPE JSON USING body::json;
ALTER TABLE peerd_requests ALTER COLUMN body TYPE JSON USING body::json;
ALTER TABLE peerd_jobs ALTER COLUMN body TYPE JSON USING body::json;
ALTER TABLE peerd_audit ALTER COLUMN body TYPE JSON USING body::json;
"#,
    // 4: listings by router and by status (and the poller's read of a
    // router's live sessions) through an index, not a walk of every seq.
    r#"
CREATE INDEX peerd_sessions_router ON peerd_sessions (router, seq);
CREATE INDEX peerd_sessions_status ON peerd_sessions (status, seq);
"#,
];

/// The schema version this binary writes.
pub fn latest() -> i32 {
    MIGRATIONS.len() as i32
}

/// Brings the schema up to [`latest`]; refuses a newer one.
pub fn migrate(client: &mut Client) -> Result<i32> {
    block(client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])).map_err(pg)?;
    let out = migrate_locked(client);
    // Unlock even after a failure (the session ends with the client anyway).
    let _ = block(client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]));
    out
}

fn migrate_locked(client: &mut Client) -> Result<i32> {
    block(client.batch_execute(
        "CREATE TABLE IF NOT EXISTS peerd_schema_migrations (
             version INT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    ))
    .map_err(pg)?;
    let row = block(client.query_one(
        "SELECT COALESCE(MAX(version), 0) FROM peerd_schema_migrations",
        &[],
    ))
    .map_err(pg)?;
    let current: i32 = row.get(0);
    if current > latest() {
        return Err(StoreError::Backend(format!(
            "the database's schema is version {current}, newer than this peerd knows ({}): upgrade peerd",
            latest()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i32 + 1;
        let tx = block(client.transaction()).map_err(pg)?;
        block(tx.batch_execute(sql)).map_err(pg)?;
        block(tx.execute(
            "INSERT INTO peerd_schema_migrations (version) VALUES ($1)",
            &[&version],
        ))
        .map_err(pg)?;
        block(tx.commit()).map_err(pg)?;
        tracing::info!(version, "store schema migrated");
    }
    Ok(latest())
}
