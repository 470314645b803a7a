//! `peerd serve`: load settings and inventory, open the store, serve the API
//! until SIGINT/SIGTERM. At startup routers are contacted only to settle
//! NETCONF confirmed commits a previous run left pending (before the worker
//! starts; see [`crate::driver::netconf`]).

use super::{CliError, CliResult};
use crate::api::conn::Timeouts;
use crate::api::listen::{connection_cap, raise_nofile_limit, reserve, ConnSettings};
use crate::api::server::{metrics_app, normalise_base_path, serve};
use crate::api::state::AppState;
use crate::app::outbound::{Follower, Outbound};
use crate::auth::operator::OperatorVerifier;
use crate::auth::own::OwnToken;
use crate::auth::pdb::PdbVerifier;
use crate::auth::{Login, Tokens, Verifier, Verifiers};
use crate::config::{LogFormat, RemoteAuth, Settings, StoreBackend};
use crate::driver::netconf::{NetconfDriver, StoreRecords};
use crate::driver::Executors;
use crate::inventory::Inventory;
use crate::peeringdb::Syncer;
use crate::platform::Profiles;
use crate::render::{Renderer, TemplateEnv};
use crate::store::lease::{self, Keeper};
use crate::store::{PgStore, SledStore, Store, StoreError};
use crate::worker::Worker;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `peerd serve`; each overrides the settings file and `PEERD_*`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Settings file (default: ./peerd.yaml if it exists, else built-in defaults).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store (default ./data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Inventory file (default ./inventory.yaml).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Log lines: `text`, or `json` (one JSON object per line); default
    /// from the settings' `log_format`.
    #[arg(long, value_name = "FORMAT", value_parser = clap::value_parser!(LogFormat))]
    pub log_format: Option<LogFormat>,
}

/// Settings from file, then environment, then these flags.
pub fn settings(args: &ServeArgs) -> CliResult<Settings> {
    let mut s = Settings::load(args.config.as_deref())?;
    if let Some(l) = args.listen {
        s.listen = l;
    }
    if let Some(d) = &args.data_dir {
        s.data_dir = d.clone();
    }
    if let Some(i) = &args.inventory {
        s.inventory = i.clone();
    }
    if let Some(f) = args.log_format {
        s.log_format = f;
    }
    Ok(s)
}

/// Everything `serve` needs, built and checked before the port opens.
pub struct Prepared {
    pub state: AppState,
    /// The provisioning worker (started by `run` when `worker.enabled`).
    pub worker: Worker,
    /// The NETCONF transport (its pending confirmed commits are settled
    /// before the worker starts).
    pub netconf: NetconfDriver,
    pub listener: tokio::net::TcpListener,
    /// The `metrics_listen` listener, when set.
    pub metrics_listener: Option<tokio::net::TcpListener>,
    pub base: String,
}

/// Opens the store the settings name: sled in `data_dir`, or PostgreSQL
/// (`store.backend: postgres`, whose schema is migrated here; returned
/// also as itself for its LISTEN wake-ups).
pub fn open_store(settings: &Settings) -> CliResult<(Arc<dyn Store>, Option<PgStore>)> {
    match settings.store.backend {
        StoreBackend::Sled => Ok((
            Arc::new(SledStore::open_with(&settings.data_dir, &store_options(settings)).map_err(|e| match e {
                StoreError::Locked(dir) => CliError::new(format!(
                    "another peerd is using {dir} (its store; one process at a time): stop it, or give this one another --data-dir"
                )),
                e => CliError::new(format!("store in {}: {e}", settings.data_dir.display())),
            })?),
            None,
        )),
        StoreBackend::Postgres => {
            let pg = PgStore::open(&settings.store)
                .map_err(|e| CliError::new(format!("store (PostgreSQL): {e}")))?;
            Ok((Arc::new(pg.clone()), Some(pg)))
        }
    }
}

/// Loads and opens everything; fails with a clear message on any problem.
pub async fn prepare(settings: Settings) -> CliResult<Prepared> {
    let base = normalise_base_path(&settings.base_path).map_err(CliError)?;
    let inventory = Inventory::load(&settings.inventory)?;
    let operators = OperatorVerifier::new(settings.operator_keys_file.clone())?;
    if operators.is_empty() {
        tracing::warn!(
            file = %settings.operator_keys_file.display(),
            "no operator keys yet; create one with `peerd key add NAME`"
        );
    }
    let pdb = PdbVerifier::new(&settings.peeringdb)
        .map_err(|e| CliError::new(format!("PeeringDB client: {e}")))?
        .with_lookup_budget(settings.limits.token_lookups_per_minute);
    let (store, pg) = open_store(&settings)?;
    // operator keys, then peerd tokens, then PeeringDB access tokens
    let tokens = Tokens::new(store.clone(), settings.peeringdb.token_ttl_secs);
    let verifier: Arc<dyn Verifier> = Arc::new(Verifiers(vec![
        Arc::new(operators),
        Arc::new(tokens.clone()),
        Arc::new(pdb),
    ]));
    let login = peer_login(&settings, store.clone(), tokens)?;
    let outbound = asking_side(&settings, &inventory, store.clone())?;
    let syncer = peeringdb_data(&settings, &inventory, store.clone())?;
    let listener = crate::api::listen::bind(settings.listen)
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", settings.listen)))?;
    let metrics_listener =
        match settings.metrics_listen {
            Some(a) => Some(crate::api::listen::bind(a).map_err(|e| {
                CliError::new(format!("cannot listen on {a} (metrics_listen): {e}"))
            })?),
            None => None,
        };
    let profiles =
        Profiles::load(&settings.drivers_dir).map_err(|e| CliError::new(e.to_string()))?;
    let templates =
        TemplateEnv::load(&settings.templates_dir).map_err(|e| CliError::new(e.to_string()))?;
    let missing = templates.missing_templates(&profiles);
    if !missing.is_empty() {
        return Err(CliError::new(missing.join("\n")));
    }
    let inv = Arc::new(inventory.clone());
    let records = Arc::new(StoreRecords(store.clone()));
    let netconf = NetconfDriver::new(inv.clone(), records).with_pause_after_confirmed_commit(
        Duration::from_millis(settings.worker.netconf_pause_after_confirmed_commit_ms),
    );
    if settings.worker.netconf_pause_after_confirmed_commit_ms > 0 {
        tracing::warn!(
            ms = settings.worker.netconf_pause_after_confirmed_commit_ms,
            "TEST HOOK on: NETCONF pushes pause between the confirmed and the confirming commit"
        );
    }
    let profiles = Arc::new(profiles);
    let render = Renderer::new(Arc::new(templates), profiles.clone(), inv.clone());
    let driver = Executors::new(inv).with_netconf(netconf.clone());
    let worker_cfg = settings.worker.clone();
    let shared_store = settings.store.backend == StoreBackend::Postgres;
    let pdb = syncer.clone();
    let irr = crate::worker::IrrSource {
        settings: settings.irr.clone(),
        as_set: Arc::new(move |asn| {
            pdb.snapshot()
                .and_then(|s| s.net(asn).map(|n| n.irr_as_set.clone()))
        }),
    };
    if let Some(p) = settings.irr.problems().first() {
        return Err(CliError::new(p.clone()));
    }
    let mut state = AppState::new(settings, inventory, store.clone(), verifier)
        .with_peeringdb(syncer)
        .with_platforms(&profiles);
    if let Some(login) = login {
        state = state.with_login(login);
    }
    state = state.with_outbound(outbound);
    if let Some(pg) = &pg {
        pg.listen_jobs(state.wake.clone());
    }
    let worker = Worker::new(store, render, Arc::new(driver), worker_cfg)
        .with_signals(state.wake.clone(), state.metrics.clone())
        .with_shared_store(shared_store)
        .with_irr(irr);
    let state = state.with_worker(worker.clone());
    Ok(Prepared {
        state,
        worker,
        netconf,
        listener,
        metrics_listener,
        base,
    })
}

/// `peerd serve`. Every log line is written before it returns.
pub async fn run(args: ServeArgs) -> CliResult {
    let r = serve_daemon(args).await;
    super::logsink::flush();
    r
}

async fn serve_daemon(args: ServeArgs) -> CliResult {
    let settings = settings(&args)?;
    super::init_serve_logging(settings.log_format);
    // before the store opens and fills its cache
    if super::memory::huge_pages(settings.store.huge_pages) {
        tracing::debug!("transparent huge pages off (store.huge_pages: false)");
    }
    // first, before the store, listener and routers take descriptors
    let conn = conn_settings(&settings);
    let p = prepare(settings).await?;
    let addr = p.listener.local_addr()?;
    let inv = &p.state.inventory;
    tracing::info!(
        asn = inv.asn,
        routers = inv.routers.len(),
        locations = inv.locations.len(),
        approval = ?inv.policy.approval,
        data_dir = %p.state.settings.data_dir.display(),
        "peerd starting"
    );
    // The one line scripts and tests wait for; the log lines before it
    // are written first.
    super::logsink::flush();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "peerd listening on http://{addr}{}", p.base)?;
        if let Some(m) = &p.metrics_listener {
            writeln!(out, "peerd metrics on http://{}/metrics", m.local_addr()?)?;
        }
        out.flush()?;
    }
    let store = p.state.store.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Background work done once across instances sharing the store: each
    // loop runs while it holds its lease (sled: this process alone).
    let lease_ms = p.state.settings.worker.lease_ms;
    let keep = |name: &str| {
        Keeper::spawn(
            store.clone(),
            name,
            p.worker.owner().to_string(),
            lease_ms,
            p.state.metrics.clone(),
            stop_rx.clone(),
        )
    };
    // the PeeringDB schedule (sync_interval_secs; none when 0)
    let pdb_sync = match &p.state.peeringdb {
        Some(s) if !s.interval().is_zero() => s.spawn_leased(keep(lease::PEERINGDB_SYNC)),
        _ => None,
    };
    let mut background = Vec::new();
    // Settle NETCONF confirmed commits left pending by a previous run first;
    // the worker starts after that (it re-runs their jobs).
    let netconf = p.netconf.clone();
    let recovery = async move {
        let s = netconf.recover_all().await;
        if s != Default::default() {
            tracing::info!(
                confirmed = s.confirmed,
                cancelled = s.cancelled,
                nothing_pending = s.nothing_pending,
                dropped = s.dropped,
                failed = s.failed,
                "settled NETCONF confirmed commits left pending by the previous run"
            );
        }
    };
    if p.state.settings.worker.enabled {
        let routers = inv.routers.iter().map(|r| r.name.clone()).collect();
        let window = inv.policy.time_window_secs;
        let worker = p.worker.clone();
        let stop = stop_rx.clone();
        background.push(tokio::spawn(async move {
            recovery.await;
            worker.run(stop).await
        }));
        background.push(tokio::spawn(p.worker.clone().run_poller(
            routers,
            window,
            stop_rx.clone(),
        )));
        // maintenance windows: start, hold, end, restore
        let tick = p.state.settings.worker.maintenance_tick_ms.max(100);
        background.push(tokio::spawn(crate::app::maintenance::run(
            store.clone(),
            p.worker.waker(),
            std::time::Duration::from_millis(tick),
            keep(lease::MAINTENANCE),
            stop_rx.clone(),
        )));
        if p.state.settings.irr.refresh_secs > 0 {
            background.push(tokio::spawn(
                p.worker
                    .clone()
                    .run_irr_refresh(keep(lease::IRR_REFRESH), stop_rx.clone()),
            ));
        }
    } else {
        tracing::warn!("worker disabled (worker.enabled: false): approved sessions stay queued");
        background.push(tokio::spawn(recovery));
    }
    // the asking side follows its open requests (and provisions our end
    // through the worker's queue once a remote accepts)
    if let Some(ob) = p.state.outbound.clone() {
        let follower = Follower::new(p.state.app(), ob);
        let lease = keep(lease::OUTBOUND_FOLLOWER);
        background.push(tokio::spawn(follower.run(lease, stop_rx.clone())));
    }
    if let Some(l) = p.metrics_listener {
        let mut stop = stop_rx.clone();
        let app = metrics_app(p.state.clone());
        background.push(tokio::spawn(async move {
            let until_stopped = async move {
                while !*stop.borrow() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = crate::api::listen::serve(l, app, conn, until_stopped).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        }));
    }
    serve(p.listener, p.state, conn, shutdown_signal()).await?;
    if let Some(t) = pdb_sync {
        t.abort();
    }
    let _ = stop_tx.send(true);
    for t in background {
        let _ = t.await;
    }
    store.durable().await?;
    tracing::info!("peerd stopped");
    Ok(())
}

/// The store's settings.
pub fn store_options(s: &Settings) -> crate::store::sled_store::SledOptions {
    crate::store::sled_store::SledOptions {
        cache_bytes: s.store.cache_mb.max(1).saturating_mul(1 << 20),
    }
}

/// Raises the descriptor limit and sizes the HTTP connection cap below it
/// (with a reserve for routers, the store and PeeringDB); logs both.
fn conn_settings(s: &Settings) -> ConnSettings {
    let timeouts = Timeouts {
        header_read: Duration::from_secs(s.limits.header_read_timeout_secs.max(1)),
        idle: Duration::from_secs(s.limits.idle_timeout_secs.max(1)),
    };
    let nofile = match raise_nofile_limit() {
        Ok(l) => {
            tracing::info!(
                soft = l.soft,
                hard = l.hard,
                was = l.before,
                "descriptor limit (RLIMIT_NOFILE)"
            );
            l.soft
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the descriptor limit; assuming 1024");
            1024
        }
    };
    let (max_connections, lowered) = connection_cap(s.limits.max_connections, nofile);
    if lowered {
        tracing::warn!(
            configured = s.limits.max_connections,
            max_connections,
            "limits.max_connections lowered to leave descriptors for routers and the store"
        );
    }
    tracing::info!(
        max_connections,
        reserved = reserve(nofile),
        header_read_timeout_secs = timeouts.header_read.as_secs(),
        idle_timeout_secs = timeouts.idle.as_secs(),
        "HTTP connection limits"
    );
    ConnSettings {
        max_connections,
        timeouts,
    }
}

/// The PeeringDB login, or `None` when `peeringdb.client_id` is empty.
/// A login that is half configured (no redirect URL, the client secret's
/// variable unset) stops the start with a clear message.
fn peer_login(
    settings: &Settings,
    store: Arc<dyn Store>,
    tokens: Tokens,
) -> CliResult<Option<Arc<Login>>> {
    if settings.peeringdb.client_id.trim().is_empty() {
        tracing::info!("peer login disabled (peeringdb.client_id is empty)");
        return Ok(None);
    }
    let login = Login::from_settings(&settings.peeringdb, store, tokens)
        .map_err(|e| CliError::new(format!("peer login: {e}")))?;
    Ok(Some(Arc::new(login)))
}

/// The asking side: the remote peers (checked against the inventory), their
/// HTTP client and, when the PeeringDB login is configured, our own
/// PeeringDB token.
fn asking_side(
    settings: &Settings,
    inventory: &Inventory,
    store: Arc<dyn Store>,
) -> CliResult<Arc<Outbound>> {
    let o = &settings.outbound;
    let issues = o.issues(inventory.asn, &inventory.location_ids());
    if !issues.is_empty() {
        let lines: Vec<String> = issues.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        return Err(CliError::new(format!("settings: {}", lines.join("; "))));
    }
    let own = if settings.peeringdb.client_id.trim().is_empty() {
        None
    } else {
        let own =
            OwnToken::from_settings_with_env(&settings.peeringdb, inventory.asn, store, |k| {
                std::env::var(k).ok()
            })
            .map_err(|e| CliError::new(format!("our PeeringDB login: {e}")))?;
        Some(Arc::new(own))
    };
    if o.remotes.iter().any(|r| r.auth == RemoteAuth::Peeringdb) && own.is_none() {
        tracing::warn!("a remote peer uses auth: peeringdb, but the PeeringDB login is not configured (peeringdb.client_id)");
    }
    if !o.remotes.is_empty() {
        tracing::info!(
            remotes = o.remotes.len(),
            "asking side: remote peers configured"
        );
    }
    let ob = Outbound::new(o, inventory.asn, own).map_err(CliError::new)?;
    Ok(Arc::new(ob))
}

/// The PeeringDB data: the snapshot kept in the store is put in use at
/// once; `run` starts the sync schedule.
fn peeringdb_data(
    settings: &Settings,
    inventory: &Inventory,
    store: Arc<dyn Store>,
) -> CliResult<Arc<Syncer>> {
    let syncer = Syncer::new(&settings.peeringdb, Arc::new(inventory.clone()), store)
        .map_err(|e| CliError::new(format!("PeeringDB data: {e}")))?;
    let pdb = &settings.peeringdb;
    match syncer.load_from_store() {
        Ok(true) => {}
        Ok(false) if pdb.sync_interval_secs == 0 => tracing::warn!(
            "no PeeringDB data and no sync schedule (sync_interval_secs: 0): locations and requests are checked against the inventory alone; load a dump with `peerd peeringdb load FILE` (daemon stopped) or sync with `peerd peeringdb sync`"
        ),
        Ok(false) if pdb.sync_at_start => {
            tracing::info!(api_base = %pdb.api_base, "no PeeringDB data yet; syncing now")
        }
        Ok(false) => tracing::info!(
            api_base = %pdb.api_base,
            first_sync_in = %crate::peeringdb::sync::human(Duration::from_secs(pdb.sync_interval_secs)),
            "no PeeringDB data yet; sync_at_start is off"
        ),
        Err(e) => tracing::warn!(error = %e, "stored PeeringDB data not usable; a sync replaces it"),
    }
    Ok(Arc::new(syncer))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
