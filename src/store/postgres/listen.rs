//! Waking workers across instances: every transaction that queues a
//! ready job (or frees one) sends `NOTIFY peerd_jobs` when it commits;
//! each instance keeps one connection in `LISTEN peerd_jobs` and wakes its
//! worker on every notification, so a job queued through one instance is
//! claimed at once by any, without a tight polling loop.

use super::PgStore;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

/// Wait before connecting again after the listening connection failed.
const RETRY: Duration = Duration::from_secs(2);

impl PgStore {
    /// Starts the listener (on the store's own runtime; it stops with the
    /// store). `wake` is notified once per notification.
    pub fn listen_jobs(&self, wake: Arc<Notify>) {
        let config = self.pool.config().clone();
        self.pool.spawn(async move {
            loop {
                match config.connect(NoTls).await {
                    Ok((client, mut conn)) => {
                        let w = wake.clone();
                        let driver = tokio::spawn(async move {
                            let mut messages =
                                futures::stream::poll_fn(move |cx| conn.poll_message(cx));
                            while let Some(m) = messages.next().await {
                                match m {
                                    Ok(AsyncMessage::Notification(_)) => w.notify_one(),
                                    Ok(_) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "postgres LISTEN connection failed");
                                        break;
                                    }
                                }
                            }
                        });
                        match client.batch_execute("LISTEN peerd_jobs").await {
                            Ok(()) => {
                                // a notification may have been missed meanwhile
                                wake.notify_one();
                                let _ = driver.await;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "postgres LISTEN failed");
                                driver.abort();
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "postgres LISTEN connection failed"),
                }
                tokio::time::sleep(RETRY).await;
            }
        });
    }
}
