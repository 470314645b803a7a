//! Byte-level pieces that the stored forms of `record.rs` and `audit.rs`
//! share: LEB128 varints, length-prefixed strings, and a reader that
//! checks every bound (a short or damaged value gives `None`, never a
//! panic).

/// Appends `n` as a LEB128 varint (7 bits a byte, low first).
pub fn put_var(w: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        w.push((n as u8) | 0x80);
        n >>= 7;
    }
    w.push(n as u8);
}

/// Appends `s` as its varint length and its UTF-8.
pub fn put_str(w: &mut Vec<u8>, s: &str) {
    put_var(w, s.len() as u64);
    w.extend_from_slice(s.as_bytes());
}

/// True if a stored value is JSON, as layouts 1 to 3 wrote every value.
pub fn is_json(v: &[u8]) -> bool {
    v.first() == Some(&b'{')
}

/// Bounds-checked reads over a stored value's bytes.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    pub fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    /// 8 bytes, big-endian.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A varint of at most ten bytes.
    pub fn var(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }
    /// A varint length and that many bytes.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.var()?).ok()?;
        self.take(n)
    }
    /// A varint length and that much UTF-8.
    pub fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    /// True when every byte was read.
    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_strings_read_back_and_short_input_is_none() {
        let mut w = Vec::new();
        for n in [0, 127, 128, 300, u64::MAX] {
            put_var(&mut w, n);
        }
        put_str(&mut w, "rtr1 ☃");
        let mut r = Reader(&w);
        for n in [0, 127, 128, 300, u64::MAX] {
            assert_eq!(r.var(), Some(n));
        }
        assert_eq!(r.string().as_deref(), Some("rtr1 ☃"));
        assert!(r.is_done());
        assert_eq!(Reader(&[0x80]).var(), None);
        assert_eq!(Reader(&[0xff; 11]).var(), None);
        assert_eq!(Reader(&[3, b'a']).string(), None);
    }
}
