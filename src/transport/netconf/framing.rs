//! NETCONF message framing over SSH (RFC 6242): the base:1.0 end-of-message
//! delimiter (`]]>]]>`) and base:1.1 chunked framing (§4.2), as pure code.
//!
//! [`FrameDecoder`] is incremental: feed it bytes as they arrive, split
//! anywhere, and take complete messages out. It enforces a maximum message
//! size and the strict chunked grammar; after any error it stays failed,
//! because a byte stream that lost its framing cannot be resynchronised.
//! [`encode_eom`] and [`encode_chunked`] build frames.
//!
//! This file depends on `std` and `thiserror` only, so the fuzz crate in
//! `fuzz/` compiles it on its own (see [`fuzz_decode`]).

use std::fmt;

/// The base:1.0 end-of-message delimiter.
pub const EOM_DELIMITER: &[u8] = b"]]>]]>";

/// Largest chunk size the chunked grammar allows (RFC 6242 §4.2).
pub const MAX_CHUNK_SIZE: u64 = 4_294_967_295;

/// The framing in use on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// base:1.0: each message is followed by `]]>]]>`. Always used for `<hello>`.
    EndOfMessage,
    /// base:1.1: `\n#<len>\n<data>` chunks, ended by `\n##\n`.
    Chunked,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framing::EndOfMessage => "base:1.0 end-of-message",
            Framing::Chunked => "base:1.1 chunked",
        })
    }
}

/// A framing violation. Fatal for the session: the stream is out of step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A message (or a chunk header announcing one) exceeds the bound.
    #[error("NETCONF message exceeds the {max}-byte limit")]
    Oversize {
        /// The configured maximum message size in bytes.
        max: usize,
    },
    /// The chunked grammar was violated.
    #[error("bad chunked framing at byte {offset} of the stream: {reason}")]
    BadChunk {
        /// Stream offset of the offending byte.
        offset: u64,
        /// What was expected.
        reason: &'static str,
    },
    /// An empty message cannot be sent with chunked framing.
    #[error("cannot frame an empty message")]
    EmptyMessage,
    /// The message contains the base:1.0 delimiter, so it cannot be sent
    /// with end-of-message framing.
    #[error("message contains the end-of-message delimiter ]]>]]>")]
    DelimiterInMessage,
    /// The decoder failed earlier and cannot continue.
    #[error("framing failed earlier: {0}")]
    Poisoned(Box<FramingError>),
}

/// Where the chunked decoder is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Expecting the LF that starts a chunk header or the end-of-chunks.
    Lf,
    /// Expecting `#`.
    Hash,
    /// After `LF #`: a non-zero digit (chunk size) or `#` (end of chunks).
    SizeOrEnd,
    /// Inside the chunk size digits.
    Size { value: u64, digits: u8 },
    /// Inside chunk data, this many bytes still to copy.
    Data { remaining: u64 },
    /// After `LF # #`: expecting the final LF.
    EndLf,
}

/// Incremental decoder for either framing. See the module docs.
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    max_message: usize,
    /// Bytes received and not yet consumed.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (for error messages).
    offset: u64,
    /// End-of-message mode: how far `buf` was already searched.
    eom_scanned: usize,
    /// Chunked mode: the message being assembled and the grammar state.
    msg: Vec<u8>,
    chunks: u32,
    state: ChunkState,
    failed: Option<FramingError>,
}

impl FrameDecoder {
    /// A decoder for `framing` that rejects messages longer than
    /// `max_message` bytes (payload bytes, framing excluded).
    pub fn new(framing: Framing, max_message: usize) -> Self {
        FrameDecoder {
            framing,
            max_message,
            buf: Vec::new(),
            offset: 0,
            eom_scanned: 0,
            msg: Vec::new(),
            chunks: 0,
            state: ChunkState::Lf,
            failed: None,
        }
    }

    /// The framing currently decoded.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Switch framing for the following messages (after the hello exchange).
    /// Bytes already buffered are decoded with the new framing.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.eom_scanned = 0;
        self.msg.clear();
        self.chunks = 0;
        self.state = ChunkState::Lf;
    }

    /// True when no partial message is buffered (only whitespace, at most).
    pub fn is_idle(&self) -> bool {
        self.msg.is_empty()
            && self.state == ChunkState::Lf
            && self.buf.iter().all(|b| b.is_ascii_whitespace())
    }

    /// Append received bytes. Call [`next_message`](Self::next_message)
    /// until it returns `None` before pushing more, so the buffer stays
    /// bounded by one message plus one read.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Take the next complete message, if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        if let Some(e) = &self.failed {
            return Err(FramingError::Poisoned(Box::new(e.clone())));
        }
        let r = match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        };
        if let Err(e) = &r {
            self.failed = Some(e.clone());
            self.buf = Vec::new();
            self.msg = Vec::new();
        }
        r
    }

    /// Push `data` and return every message it completes.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<Vec<u8>>, FramingError> {
        self.push(data);
        let mut out = Vec::new();
        while let Some(m) = self.next_message()? {
            out.push(m);
        }
        Ok(out)
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.offset += n as u64;
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let d = EOM_DELIMITER.len();
        // A delimiter may straddle the previous search boundary.
        let from = self.eom_scanned.saturating_sub(d - 1);
        let found = self.buf[from..]
            .windows(d)
            .position(|w| w == EOM_DELIMITER)
            .map(|p| p + from);
        match found {
            Some(end) => {
                if end > self.max_message {
                    return Err(FramingError::Oversize {
                        max: self.max_message,
                    });
                }
                let msg = self.buf[..end].to_vec();
                self.consume(end + d);
                self.eom_scanned = 0;
                Ok(Some(msg))
            }
            None => {
                // Everything but a possible delimiter prefix is message body.
                if self.buf.len() > self.max_message + d - 1 {
                    return Err(FramingError::Oversize {
                        max: self.max_message,
                    });
                }
                self.eom_scanned = self.buf.len();
                Ok(None)
            }
        }
    }

    fn bad(&self, at: usize, reason: &'static str) -> FramingError {
        FramingError::BadChunk {
            offset: self.offset + at as u64,
            reason,
        }
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let mut i = 0usize;
        let result = loop {
            if i >= self.buf.len() {
                break Ok(None);
            }
            match self.state {
                ChunkState::Data { remaining } => {
                    let avail = self.buf.len() - i;
                    let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(avail);
                    self.msg.extend_from_slice(&self.buf[i..i + take]);
                    i += take;
                    let remaining = remaining - take as u64;
                    self.state = if remaining == 0 {
                        ChunkState::Lf
                    } else {
                        ChunkState::Data { remaining }
                    };
                    continue;
                }
                state => {
                    let b = self.buf[i];
                    self.state = match (state, b) {
                        (ChunkState::Lf, b'\n') => ChunkState::Hash,
                        (ChunkState::Lf, _) => break Err(self.bad(i, "expected LF")),
                        (ChunkState::Hash, b'#') => ChunkState::SizeOrEnd,
                        (ChunkState::Hash, _) => break Err(self.bad(i, "expected '#'")),
                        (ChunkState::SizeOrEnd, b'#') => {
                            if self.chunks == 0 {
                                break Err(self.bad(i, "end-of-chunks before any chunk"));
                            }
                            ChunkState::EndLf
                        }
                        (ChunkState::SizeOrEnd, b'1'..=b'9') => ChunkState::Size {
                            value: u64::from(b - b'0'),
                            digits: 1,
                        },
                        (ChunkState::SizeOrEnd, _) => {
                            break Err(self.bad(i, "expected a chunk size (1-9 first) or '#'"))
                        }
                        (ChunkState::Size { value, digits }, b'0'..=b'9') => {
                            let value = value * 10 + u64::from(b - b'0');
                            if digits >= 10 || value > MAX_CHUNK_SIZE {
                                break Err(self.bad(i, "chunk size above 4294967295"));
                            }
                            ChunkState::Size {
                                value,
                                digits: digits + 1,
                            }
                        }
                        (ChunkState::Size { value, .. }, b'\n') => {
                            if self.msg.len() as u64 + value > self.max_message as u64 {
                                break Err(FramingError::Oversize {
                                    max: self.max_message,
                                });
                            }
                            self.chunks += 1;
                            ChunkState::Data { remaining: value }
                        }
                        (ChunkState::Size { .. }, _) => {
                            break Err(self.bad(i, "expected a digit or LF in chunk size"))
                        }
                        (ChunkState::EndLf, b'\n') => {
                            i += 1;
                            self.state = ChunkState::Lf;
                            self.chunks = 0;
                            break Ok(Some(std::mem::take(&mut self.msg)));
                        }
                        (ChunkState::EndLf, _) => break Err(self.bad(i, "expected LF after '##'")),
                        (ChunkState::Data { .. }, _) => unreachable!("handled above"),
                    };
                    i += 1;
                }
            }
        };
        if result.is_ok() {
            self.consume(i);
        }
        result
    }
}

/// Frame `msg` for base:1.0. Fails when the delimiter would be ambiguous
/// (the message contains `]]>]]>`, or ends so that it forms one with the
/// delimiter).
pub fn encode_eom(msg: &[u8]) -> Result<Vec<u8>, FramingError> {
    let mut out = Vec::with_capacity(msg.len() + EOM_DELIMITER.len());
    out.extend_from_slice(msg);
    out.extend_from_slice(EOM_DELIMITER);
    let first = out
        .windows(EOM_DELIMITER.len())
        .position(|w| w == EOM_DELIMITER);
    if first != Some(msg.len()) {
        return Err(FramingError::DelimiterInMessage);
    }
    Ok(out)
}

/// Frame `msg` for base:1.1 in chunks of at most `chunk_size` bytes
/// (clamped to 1..=[`MAX_CHUNK_SIZE`]).
pub fn encode_chunked(msg: &[u8], chunk_size: usize) -> Result<Vec<u8>, FramingError> {
    if msg.is_empty() {
        return Err(FramingError::EmptyMessage);
    }
    let size = chunk_size.clamp(1, usize::try_from(MAX_CHUNK_SIZE).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(msg.len() + 16 * (msg.len() / size + 1) + 4);
    for chunk in msg.chunks(size) {
        out.extend_from_slice(format!("\n#{}\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(b"\n##\n");
    Ok(out)
}

/// Frame `msg` with `framing`.
pub fn encode(framing: Framing, msg: &[u8], chunk_size: usize) -> Result<Vec<u8>, FramingError> {
    match framing {
        Framing::EndOfMessage => encode_eom(msg),
        Framing::Chunked => encode_chunked(msg, chunk_size),
    }
}

/// Message bound used by [`fuzz_decode`].
pub const FUZZ_MAX_MESSAGE: usize = 4096;

/// The decoder fuzz entry point (used by `fuzz/fuzz_targets/framing.rs` and
/// by unit tests on a corpus). The first byte picks the framing and the
/// split pattern; the rest is fed in pieces. Panics only if an invariant
/// breaks: a returned message above the bound, or a decoder that keeps
/// working after an error.
pub fn fuzz_decode(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let framing = if ctl & 1 == 0 {
        Framing::EndOfMessage
    } else {
        Framing::Chunked
    };
    let mut dec = FrameDecoder::new(framing, FUZZ_MAX_MESSAGE);
    let step = usize::from(ctl >> 1).max(1);
    let mut failed = false;
    for piece in rest.chunks(step) {
        match dec.decode(piece) {
            Ok(msgs) => {
                assert!(!failed, "decoder produced output after an error");
                for m in msgs {
                    assert!(m.len() <= FUZZ_MAX_MESSAGE, "message above the bound");
                }
            }
            Err(_) => failed = true,
        }
    }
    // Re-encoding what decodes must decode to the same thing.
    let mut dec = FrameDecoder::new(framing, FUZZ_MAX_MESSAGE);
    if let Ok(msgs) = dec.decode(rest) {
        for m in msgs {
            if let Ok(framed) = encode(framing, &m, step) {
                let mut again = FrameDecoder::new(framing, FUZZ_MAX_MESSAGE);
                let back = again.decode(&framed).expect("re-encoded frame decodes");
                assert_eq!(back, vec![m], "re-encoded frame round trip");
            }
        }
    }
}

#[cfg(test)]
mod tests;
