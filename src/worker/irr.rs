//! IRR prefix lists for a batch: for each session whose location filters
//! imports, the list of its family, from the cache in the store's meta area
//! when it is younger than `irr.refresh_secs`, else expanded again with
//! `bgpq4` (and cached, with its age). An empty or failed expansion never
//! gives an empty filter: by the policy's `on_empty`, the last good list is
//! used (`keep_last`), or the session is held (`hold`; also `keep_last`
//! with no good list yet): not pushed, its job retried later, and
//! `status_detail` says why. The refresh schedule re-expands cached lists.

use super::batch::token;
use super::Worker;
use crate::config::IrrSettings;
use crate::inventory::OnEmpty;
use crate::irr::{expand, CachedList, IrrObject, PrefixList, META_NS};
use crate::model::{now_ms, Job, Session};
use crate::render::Filters;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A peer's IRR object from PeeringDB (`irr_as_set`), given by the layer
/// that holds the PeeringDB data.
pub type AsSetLookup = Arc<dyn Fn(u32) -> Option<String> + Send + Sync>;

/// How the worker expands prefix lists.
#[derive(Clone)]
pub struct IrrSource {
    pub settings: IrrSettings,
    pub as_set: AsSetLookup,
}

/// What a look-up gave: a good list to push, or why there is none.
enum Outcome {
    List(PrefixList),
    Hold(String),
}

fn family(v4: bool) -> &'static str {
    if v4 {
        "IPv4"
    } else {
        "IPv6"
    }
}

impl Worker {
    /// Expands prefix lists with `irr` (without it, a filtered session is
    /// held).
    pub fn with_irr(mut self, irr: IrrSource) -> Self {
        self.irr = Some(Arc::new(irr));
        self
    }

    /// The object to expand for `asn`: its PeeringDB `irr_as_set` (the
    /// first word, `SOURCE::` kept) when valid, else `AS<asn>`.
    fn irr_object(&self, irr: &IrrSource, asn: u32) -> IrrObject {
        let set = (irr.as_set)(asn).unwrap_or_default();
        let first = set.split_whitespace().next().unwrap_or("");
        match IrrObject::parse(first) {
            Ok(o) => o,
            Err(e) => {
                if !first.is_empty() {
                    tracing::warn!(asn, error = %e, "irr_as_set not usable: expanding the ASN");
                }
                IrrObject::asn(asn)
            }
        }
    }

    fn cached(&self, asn: u32, v4: bool) -> Option<CachedList> {
        let raw = self
            .store
            .meta_get(META_NS, &CachedList::key(asn, v4))
            .ok()??;
        serde_json::from_slice(&raw).ok()
    }

    /// Expands the list of `asn` in one family now and caches the result:
    /// a good list replaces the cached one; an empty or failed one only
    /// records the error. Returns the updated cache entry.
    pub(super) async fn refresh_list(&self, irr: &IrrSource, asn: u32, v4: bool) -> CachedList {
        let obj = self.irr_object(irr, asn);
        let mut c = self.cached(asn, v4).unwrap_or_default();
        let now = now_ms();
        c.tried_ms = now;
        match expand(&irr.settings, &obj, v4).await {
            Ok(l) if !l.is_empty() => {
                c.object = obj.to_string();
                c.list = Some(l);
                c.fetched_ms = now;
                c.error = None;
            }
            Ok(_) => c.error = Some(format!("{} expansion of {obj} is empty", family(v4))),
            Err(e) => c.error = Some(format!("{} expansion of {obj} failed: {e}", family(v4))),
        }
        if let Some(e) = &c.error {
            tracing::warn!(asn, error = %e, "irr prefix list not refreshed");
            if c.object.is_empty() {
                c.object = obj.to_string();
            }
        }
        match serde_json::to_vec(&c) {
            Ok(v) => {
                if let Err(e) = self.store.meta_put(META_NS, &CachedList::key(asn, v4), &v) {
                    tracing::warn!(asn, error = %e, "caching the irr prefix list failed");
                }
            }
            Err(e) => tracing::warn!(asn, error = %e, "caching the irr prefix list failed"),
        }
        c
    }

    async fn lookup(&self, asn: u32, v4: bool, on_empty: OnEmpty) -> Outcome {
        let Some(irr) = self.irr.clone() else {
            return Outcome::Hold("prefix filter on, and peerd has no IRR settings".into());
        };
        let refresh_ms = irr.settings.refresh_secs.saturating_mul(1000);
        let fresh = |c: &CachedList| {
            c.good(v4).is_some()
                && (refresh_ms == 0 || now_ms().saturating_sub(c.fetched_ms) < refresh_ms)
        };
        let c = match self.cached(asn, v4) {
            Some(c) if fresh(&c) => c,
            _ => self.refresh_list(&irr, asn, v4).await,
        };
        let last_good = c.good(v4).cloned();
        match (c.error, last_good) {
            (None, Some(l)) => Outcome::List(l),
            (Some(_), Some(l)) if on_empty == OnEmpty::KeepLast => Outcome::List(l),
            (Some(e), Some(_)) => Outcome::Hold(format!("{e}; on_empty is hold")),
            (Some(e), None) => Outcome::Hold(format!("{e}; no earlier list")),
            (None, None) => Outcome::Hold(format!("no {} prefix list", family(v4))),
        }
    }

    /// The prefix lists of `work`'s filtered sessions; the sessions held
    /// are taken out of `work` (their jobs rescheduled, their detail set).
    pub(super) async fn prefix_filters(
        &self,
        router: &str,
        work: Vec<(Job, Session)>,
    ) -> (Vec<(Job, Session)>, Filters) {
        let inv = self.render.inv.clone();
        // A platform that renders no prefix list: no expansion; the render
        // refuses its filtered sessions (nothing is pushed without a filter).
        let renders_lists = inv
            .router(router)
            .and_then(|r| self.render.profiles.get(&r.platform))
            .is_some_and(|p| p.prefix_lists);
        if !renders_lists {
            return (work, Filters::new());
        }
        let mut filters = Filters::new();
        let mut seen: HashMap<(u32, bool), Outcome> = HashMap::new();
        let mut keep = Vec::with_capacity(work.len());
        for (job, s) in work {
            let Some(f) = inv
                .location(&s.location.id)
                .and_then(|l| l.filter(&inv.policy))
                .copied()
            else {
                keep.push((job, s));
                continue;
            };
            let (asn, v4) = (s.local_asn.0, s.local_ip.is_ipv4());
            if let Entry::Vacant(e) = seen.entry((asn, v4)) {
                e.insert(self.lookup(asn, v4, f.on_empty).await);
            }
            match &seen[&(asn, v4)] {
                Outcome::List(l) => {
                    filters.insert(s.session_id.clone(), l.clone());
                    keep.push((job, s));
                }
                Outcome::Hold(why) => self.hold(router, &job, &s, why),
            }
        }
        (keep, filters)
    }

    fn hold(&self, router: &str, job: &Job, s: &Session, why: &str) {
        let delay = self.cfg.backoff_max_ms.max(1000);
        let detail = format!(
            "held, not pushed to router {router}: IRR prefix filter: {why}; retrying in {}s",
            delay.div_ceil(1000)
        );
        tracing::warn!(session = %s.session_id, router, detail, "irr hold");
        self.metrics
            .irr_holds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = self
            .store
            .fail(job.job_id, token(job), now_ms() + delay, why)
        {
            tracing::warn!(job = job.job_id, error = %e, "could not reschedule job");
        }
        if let Err(e) = self.store.set_detail(&s.session_id, Some(detail), "worker") {
            tracing::warn!(session = %s.session_id, error = %e, "could not record detail");
        }
    }

    /// The refresh schedule: every cached list older than
    /// `irr.refresh_secs` is expanded again (a failure keeps the last good
    /// list). Pushes take the refreshed list.
    pub async fn run_irr_refresh(
        self,
        lease: crate::store::lease::Keeper,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let Some(irr) = self.irr.clone() else { return };
        if irr.settings.refresh_secs == 0 {
            return;
        }
        let every = Duration::from_secs((irr.settings.refresh_secs / 4).clamp(10, 3600));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() { break; }
                }
            }
            // instances sharing a store refresh once (the cache is shared)
            if !lease.held() {
                continue;
            }
            let entries = match self.store.meta_list(META_NS) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the irr cache failed");
                    continue;
                }
            };
            let due = irr.settings.refresh_secs.saturating_mul(1000);
            for (key, raw) in entries {
                let Ok(c) = serde_json::from_slice::<CachedList>(&raw) else {
                    continue;
                };
                if now_ms().saturating_sub(c.tried_ms) < due {
                    continue;
                }
                let parsed = key
                    .strip_prefix("as")
                    .and_then(|k| k.split_once('-'))
                    .and_then(|(a, f)| Some((a.parse::<u32>().ok()?, f == "v4")));
                if let Some((asn, v4)) = parsed {
                    self.refresh_list(&irr, asn, v4).await;
                }
            }
        }
    }
}
