//! The redo journal that makes a batch atomic without a sled transaction.
//!
//! The writer applies a batch as plain inserts and removes, which sled
//! lets run while a `flush()` writes the log (a transaction cannot: in
//! 0.34.7 it takes a process-wide lock exclusively, which a flush holds
//! shared for its whole disk write). Atomicity comes from this journal:
//! before the first write of a batch, every write of it goes into the
//! `journal` tree as a few chunks under the batch's number; after the
//! last, the chunks are removed. sled recovers a prefix of its log (it
//! never recovers a later write without every earlier one), so after a
//! crash either no write of a batch is recovered (its chunks may be, in
//! part), or all its chunks are and [`replay`] at open writes the batch
//! again, whole. Writing it again is harmless: a chunk holds the values
//! to write, not changes to make.
//!
//! Encoding and decoding are pure; [`write`] and [`replay`] do the I/O.
//!
//! | key                          | value                          |
//! |------------------------------|--------------------------------|
//! | batch (u64) + chunk (u32)    | last (u8) + writes             |
//!
//! A write is `tree (u8) + key length (u32) + key + kind (u8: 0 remove,
//! 1 insert) [+ value length (u32) + value]`, integers big-endian.

use super::super::{Result, StoreError};
use super::backend;
use sled::IVec;
use std::collections::BTreeMap;

/// A chunk holds about this much (far below sled's threshold for a value
/// stored as a file of its own, about 128 KiB with its default segments).
const CHUNK: usize = 32 << 10;

/// One write of a batch: tree index, key, and the value (`None`: remove).
pub type Write<'a> = (u8, &'a [u8], Option<&'a [u8]>);

/// The journal key of chunk `chunk` of batch `batch`.
pub fn key(batch: u64, chunk: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&batch.to_be_bytes());
    k[8..].copy_from_slice(&chunk.to_be_bytes());
    k
}

fn split_key(k: &[u8]) -> Option<(u64, u32)> {
    let b = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let c = u32::from_be_bytes(k.get(8..12)?.try_into().ok()?);
    (k.len() == 12).then_some((b, c))
}

/// The chunks of a batch's writes, in order; the last one says so.
pub fn encode<'a>(writes: impl Iterator<Item = Write<'a>>) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut cur = vec![0u8];
    for (t, k, v) in writes {
        if cur.len() > 1 && cur.len() + 10 + k.len() + v.map_or(0, <[u8]>::len) > CHUNK {
            chunks.push(std::mem::replace(&mut cur, vec![0u8]));
        }
        cur.push(t);
        cur.extend_from_slice(&(k.len() as u32).to_be_bytes());
        cur.extend_from_slice(k);
        match v {
            None => cur.push(0),
            Some(v) => {
                cur.push(1);
                cur.extend_from_slice(&(v.len() as u32).to_be_bytes());
                cur.extend_from_slice(v);
            }
        }
    }
    cur[0] = 1;
    chunks.push(cur);
    chunks
}

/// The writes of one chunk, and whether it is the batch's last.
pub fn decode(chunk: &[u8]) -> Result<(bool, Vec<Write<'_>>)> {
    let bad = || StoreError::Corrupt("journal chunk".into());
    let (&last, mut rest) = chunk.split_first().ok_or_else(bad)?;
    let mut take = |n: usize| -> Result<&[u8]> {
        if rest.len() < n {
            return Err(bad());
        }
        let (a, b) = rest.split_at(n);
        rest = b;
        Ok(a)
    };
    let mut out = Vec::new();
    let len = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    // a chunk ends where a write ends
    while let Ok(t) = take(1) {
        let t = t[0];
        let kl = len(take(4)?);
        let k = take(kl)?;
        let v = match take(1)?[0] {
            0 => None,
            1 => {
                let vl = len(take(4)?);
                Some(take(vl)?)
            }
            _ => return Err(bad()),
        };
        out.push((t, k, v));
    }
    Ok((last == 1, out))
}

/// Writes `chunks` under `batch` and returns their keys (to remove once
/// the batch is applied).
pub fn write(journal: &sled::Tree, batch: u64, chunks: Vec<Vec<u8>>) -> Result<Vec<[u8; 12]>> {
    let mut keys = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.into_iter().enumerate() {
        let k = key(batch, i as u32);
        journal.insert(k, c).map_err(backend)?;
        keys.push(k);
    }
    Ok(keys)
}

/// The next batch number: one past the highest in the journal.
pub fn next_batch(journal: &sled::Tree) -> Result<u64> {
    Ok(match journal.last().map_err(backend)? {
        Some((k, _)) => split_key(&k).map_or(0, |(b, _)| b + 1),
        None => 0,
    })
}

/// Writes again every batch whose chunks are all in the journal, in
/// order, through `put` (tree, key, value); drops every chunk after.
/// Answers how many batches it wrote again.
pub fn replay(
    journal: &sled::Tree,
    mut put: impl FnMut(u8, &[u8], Option<&[u8]>) -> Result<()>,
) -> Result<usize> {
    let mut batches: BTreeMap<u64, Vec<(u32, IVec)>> = BTreeMap::new();
    for kv in journal.iter() {
        let (k, v) = kv.map_err(backend)?;
        let (b, c) = split_key(&k).ok_or_else(|| StoreError::Corrupt("journal key".into()))?;
        batches.entry(b).or_default().push((c, v));
    }
    let mut replayed = 0;
    for (b, chunks) in &batches {
        // whole: chunks 0..=n in order, and the last says it is
        let in_order = chunks.iter().enumerate().all(|(i, (c, _))| *c == i as u32);
        let ends = match chunks.last() {
            Some((_, v)) => decode(v)?.0,
            None => false,
        };
        if in_order && ends {
            for (_, v) in chunks {
                for (t, k, val) in decode(v)?.1 {
                    put(t, k, val)?;
                }
            }
            replayed += 1;
        }
        for (c, _) in chunks {
            journal.remove(key(*b, *c)).map_err(backend)?;
        }
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write with its bytes owned.
    type Owned = (u8, Vec<u8>, Option<Vec<u8>>);

    fn sample(n: usize) -> Vec<Owned> {
        (0..n)
            .map(|i| {
                let v = (i % 3 != 0).then(|| vec![i as u8; i % 700]);
                ((i % 12) as u8, format!("key-{i}").into_bytes(), v)
            })
            .collect()
    }

    fn chunks_of(w: &[Owned]) -> Vec<Vec<u8>> {
        encode(w.iter().map(|(t, k, v)| (*t, k.as_slice(), v.as_deref())))
    }

    #[test]
    fn writes_come_back_in_order_across_chunks_and_only_the_last_says_so() {
        let w = sample(400);
        let chunks = chunks_of(&w);
        assert!(chunks.len() > 1, "400 writes fill more than one chunk");
        assert!(chunks.iter().all(|c| c.len() <= CHUNK + 800));
        let mut back = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let (last, ws) = decode(c).unwrap();
            assert_eq!(last, i + 1 == chunks.len());
            back.extend(
                ws.into_iter()
                    .map(|(t, k, v)| (t, k.to_vec(), v.map(<[u8]>::to_vec))),
            );
        }
        assert_eq!(back, w);
    }

    #[test]
    fn a_truncated_or_unknown_chunk_is_corrupt_not_a_panic() {
        let c = chunks_of(&sample(5)).remove(0);
        for n in 2..c.len() {
            let r = decode(&c[..n]);
            // a cut at a write's end decodes fewer writes; anywhere else fails
            if let Ok((_, ws)) = r {
                assert!(ws.len() < 5);
            }
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[1, 0, 0, 0, 0, 1, b'k', 7]).is_err());
    }

    #[test]
    fn replay_writes_whole_batches_again_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let j = db.open_tree("journal").unwrap();
        let w = sample(400);
        let chunks = chunks_of(&w);
        let n = chunks.len();
        // batch 3: whole; batch 4: its last chunk never written
        write(&j, 3, chunks.clone()).unwrap();
        write(&j, 4, chunks[..n - 1].to_vec()).unwrap();
        assert_eq!(next_batch(&j).unwrap(), 5);
        let mut got = Vec::new();
        let replayed = replay(&j, |t, k, v| {
            got.push((t, k.to_vec(), v.map(<[u8]>::to_vec)));
            Ok(())
        })
        .unwrap();
        assert_eq!(replayed, 1);
        assert_eq!(got, w);
        assert!(j.is_empty());
        assert_eq!(next_batch(&j).unwrap(), 0);
    }
}
