//! A started subsystem as a byte stream.

use russh::client;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A started subsystem as a byte stream (`AsyncRead + AsyncWrite`). Bytes
/// the server sent before it confirmed the start are delivered first.
pub struct SubsystemStream {
    early: Vec<u8>,
    pos: usize,
    inner: russh::ChannelStream<client::Msg>,
}

impl SubsystemStream {
    pub(super) fn new(early: Vec<u8>, inner: russh::ChannelStream<client::Msg>) -> Self {
        SubsystemStream {
            early,
            pos: 0,
            inner,
        }
    }
}

impl std::fmt::Debug for SubsystemStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubsystemStream").finish_non_exhaustive()
    }
}

impl AsyncRead for SubsystemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pos < self.early.len() {
            let n = buf.remaining().min(self.early.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.early[start..start + n]);
            self.pos += n;
            if self.pos == self.early.len() {
                self.early = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SubsystemStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
