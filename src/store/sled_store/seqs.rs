//! [`Seqs`]: a sorted map from session `seq` to a small value, kept as
//! chunks of at most [`CHUNK`] entries (a two-level B-tree with wide
//! leaves), for the in-memory listing index (`index.rs`).
//!
//! Sessions are created in `seq` order, so nearly every insert is an
//! append to the last chunk, and a full chunk stays full: about the
//! entry's own size a session, where a `BTreeMap` leaf is half empty
//! after appends and carries its node headers. An insert in the middle
//! (a chunk over twice [`CHUNK`] splits) or a removal moves at most one
//! chunk's entries.

/// Entries a chunk takes before the next append opens a new one.
const CHUNK: usize = 256;

/// Sorted `seq -> V`; no chunk is empty.
#[derive(Debug)]
pub struct Seqs<V> {
    chunks: Vec<Vec<(u64, V)>>,
    len: usize,
}

impl<V> Default for Seqs<V> {
    fn default() -> Self {
        Seqs {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<V: Copy> Seqs<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first chunk whose last seq is `>= seq` (`chunks.len()`: none).
    fn chunk_of(&self, seq: u64) -> usize {
        self.chunks
            .partition_point(|c| c.last().is_none_or(|(s, _)| *s < seq))
    }

    pub fn get(&self, seq: u64) -> Option<V> {
        let c = self.chunks.get(self.chunk_of(seq))?;
        let j = c.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        Some(c[j].1)
    }

    /// Sets `seq`'s value; answers the one it replaces.
    pub fn insert(&mut self, seq: u64, v: V) -> Option<V> {
        let i = self.chunk_of(seq);
        let Some(c) = self.chunks.get_mut(i) else {
            // after every seq here: append
            match self.chunks.last_mut() {
                Some(last) if last.len() < CHUNK => last.push((seq, v)),
                _ => self.chunks.push(vec![(seq, v)]),
            }
            self.len += 1;
            return None;
        };
        match c.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(j) => Some(std::mem::replace(&mut c[j].1, v)),
            Err(j) => {
                c.insert(j, (seq, v));
                if c.len() > 2 * CHUNK {
                    let mut tail = c.split_off(c.len() / 2);
                    c.shrink_to_fit();
                    tail.shrink_to_fit();
                    self.chunks.insert(i + 1, tail);
                }
                self.len += 1;
                None
            }
        }
    }

    pub fn remove(&mut self, seq: u64) -> Option<V> {
        let i = self.chunk_of(seq);
        let c = self.chunks.get_mut(i)?;
        let j = c.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        let (_, v) = c.remove(j);
        if c.is_empty() {
            self.chunks.remove(i);
        } else if c.capacity() > 4 * c.len().max(8) {
            c.shrink_to_fit();
        }
        self.len -= 1;
        Some(v)
    }

    /// The entries from `from` on, ascending.
    pub fn from(&self, from: u64) -> impl Iterator<Item = (u64, V)> + '_ {
        let i = self.chunk_of(from);
        let start = self
            .chunks
            .get(i)
            .map_or(0, |c| c.partition_point(|(s, _)| *s < from));
        self.chunks
            .get(i..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(k, c)| {
                let skip = if k == 0 { start } else { 0 };
                c.get(skip..).unwrap_or_default().iter().copied()
            })
    }

    /// Heap bytes held (capacity), for tests of the size.
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<(u64, V)>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<(u64, V)>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A cheap deterministic sequence (no dependency on a random crate).
    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 33
    }

    #[test]
    fn behaves_as_a_btreemap_under_appends_inserts_and_removals() {
        let mut s: Seqs<u32> = Seqs::default();
        let mut m: BTreeMap<u64, u32> = BTreeMap::new();
        let mut x = 7;
        for n in 0..3000u64 {
            assert_eq!(s.insert(n * 2, n as u32), m.insert(n * 2, n as u32));
        }
        for _ in 0..6000 {
            let k = lcg(&mut x) % 7000;
            match lcg(&mut x) % 3 {
                0 => assert_eq!(s.remove(k), m.remove(&k)),
                _ => assert_eq!(s.insert(k, k as u32), m.insert(k, k as u32)),
            }
            assert_eq!(s.len(), m.len());
        }
        for from in [0, 1, 999, 4000, 6999, 7000, u64::MAX] {
            let a: Vec<_> = s.from(from).collect();
            let b: Vec<_> = m.range(from..).map(|(k, v)| (*k, *v)).collect();
            assert_eq!(a, b, "from {from}");
        }
        for k in 0..7001 {
            assert_eq!(s.get(k), m.get(&k).copied());
        }
        assert!(s
            .chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= 2 * CHUNK + 1));
        for k in m.keys() {
            s.remove(*k);
        }
        assert!(s.is_empty() && s.chunks.is_empty());
        assert_eq!(s.from(0).count(), 0);
    }

    #[test]
    fn appends_fill_chunks_to_the_brim() {
        let mut s: Seqs<()> = Seqs::default();
        for n in 1..=100_000u64 {
            s.insert(n, ());
        }
        // 8 bytes an entry, and a little for the chunk list and the last chunk
        assert!(s.heap_bytes() < 100_000 * 8 + 20_000, "{}", s.heap_bytes());
    }
}
