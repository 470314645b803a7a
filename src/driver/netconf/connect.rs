//! How the NETCONF executor reaches a router: a [`Connector`] opens the
//! byte stream (in production SSH with the host key pinned, and its
//! `netconf` subsystem), and [`Conn`] is one NETCONF session over it.

use crate::transport::netconf::NetconfSession;
use crate::transport::ssh::{self, SshSession, SshTarget};
use crate::transport::TransportError;
use futures::future::BoxFuture;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Longest wait for `<close-session>` at the end of a session.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A byte stream a NETCONF session runs over.
pub trait NcStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> NcStream for T {}

/// An open transport to a router's NETCONF server.
pub struct Transport {
    pub stream: Box<dyn NcStream>,
    /// The SSH connection carrying the stream, closed after the session.
    pub ssh: Option<SshSession>,
}

/// Opens the byte stream to a router's NETCONF server.
pub trait Connector: Send + Sync + 'static {
    fn open(&self, target: &SshTarget) -> BoxFuture<'static, Result<Transport, TransportError>>;
}

/// The production connector: SSH (host key pinned) and its `netconf`
/// subsystem.
pub struct SshConnector;

impl Connector for SshConnector {
    fn open(&self, target: &SshTarget) -> BoxFuture<'static, Result<Transport, TransportError>> {
        let target = target.clone();
        Box::pin(async move {
            let session = ssh::connect(&target).await?;
            match session.subsystem("netconf").await {
                Ok(stream) => Ok(Transport {
                    stream: Box::new(stream),
                    ssh: Some(session),
                }),
                Err(e) => {
                    session.close().await;
                    Err(e)
                }
            }
        })
    }
}

/// One NETCONF session and the SSH connection under it.
pub(super) struct Conn {
    pub(super) nc: NetconfSession<Box<dyn NcStream>>,
    pub(super) ssh: Option<SshSession>,
}

impl Conn {
    pub(super) async fn close(self) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.nc.close()).await;
        if let Some(s) = self.ssh {
            s.close().await;
        }
    }
}
