//! Little-endian fixed-width integers and LEB128 varints, read from untrusted bytes.
//!
//! Every reader returns `None` instead of reading past the end, so callers turn a short input
//! into their own error with context.

/// A forward-only reader over a byte slice.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts reading at the first byte of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    /// Reads an unsigned LEB128 value of at most 10 bytes that fits in 64 bits.
    #[inline]
    pub fn varint64(&mut self) -> Option<u64> {
        // Tags, lengths and ids are nearly always one byte.
        match self.bytes.get(self.pos) {
            Some(&byte) if byte < 0x80 => {
                self.pos += 1;
                Some(u64::from(byte))
            }
            _ => self.varint64_slow(),
        }
    }

    fn varint64_slow(&mut self) -> Option<u64> {
        // Node ids and message lengths of a large graph take two or three bytes: read without
        // the loop while the bytes are there.
        if let Some(&[first, second, third]) = self.bytes.get(self.pos..).and_then(<[u8]>::first_chunk::<3>) {
            if first >= 0x80 {
                let low = u64::from(first & 0x7f) | u64::from(second & 0x7f) << 7;
                if second < 0x80 {
                    self.pos += 2;
                    return Some(low);
                }
                if third < 0x80 {
                    self.pos += 3;
                    return Some(low | u64::from(third) << 14);
                }
            }
        }
        let mut value: u64 = 0;
        for index in 0..10 {
            let byte = *self.bytes.get(self.pos + index)?;
            let payload = u64::from(byte & 0x7f);
            // The tenth byte may only carry the single remaining bit.
            if index == 9 && payload > 1 {
                return None;
            }
            value |= payload << (7 * index);
            if byte & 0x80 == 0 {
                self.pos += index + 1;
                return Some(value);
            }
        }
        None
    }

    /// Reads a varint that must fit in 32 bits (LevelDB's `varint32`: at most 5 bytes).
    pub fn varint32(&mut self) -> Option<u32> {
        let start = self.pos;
        let value = self.varint64()?;
        if self.pos - start > 5 {
            self.pos = start;
            return None;
        }
        match u32::try_from(value) {
            Ok(value) => Some(value),
            Err(_) => {
                self.pos = start;
                None
            }
        }
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let taken = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(taken)
    }
}

/// The little-endian u32 stored at `bytes[at..at + 4]`.
pub fn fixed32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let word: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(word))
}

/// The little-endian u64 stored at `bytes[at..at + 8]`.
pub fn fixed64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let end = at.checked_add(8)?;
    let word: [u8; 8] = bytes.get(at..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length of varint, as prost writes it, read back with the cursor at the right place:
    /// followed by more bytes (the unrolled two- and three-byte reads) and at the very end.
    #[test]
    fn varints_of_every_length_read_back() {
        let values = (0..64).flat_map(|bit| [1u64 << bit, (1u64 << bit) - 1, (1u64 << bit) + 1]).chain([u64::MAX, 300_000, 16_383, 16_384, 2_097_151]);
        for value in values {
            let mut encoded = Vec::new();
            prost::encoding::encode_varint(value, &mut encoded);
            for trailer in [&[][..], &[0x05, 0x80, 0x80][..]] {
                let bytes = [encoded.as_slice(), trailer].concat();
                let mut cursor = Cursor::new(&bytes);
                assert_eq!(cursor.varint64(), Some(value), "{value} followed by {trailer:?}");
                assert_eq!(cursor.position(), encoded.len(), "{value}");
                // Cut short, it is no varint.
                assert_eq!(Cursor::new(&encoded[..encoded.len() - 1]).varint64(), None, "{value} truncated");
            }
        }
    }

    #[test]
    fn varints_decode_and_reject_overlong_input() {
        let mut cursor = Cursor::new(&[0x9f, 0x06, 0x00]);
        assert_eq!(cursor.varint64(), Some(799));
        assert_eq!(cursor.varint32(), Some(0));
        assert_eq!(cursor.varint64(), None);

        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Cursor::new(&max).varint64(), Some(u64::MAX));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(Cursor::new(&too_big).varint64(), None);
        let endless = [0x80; 11];
        assert_eq!(Cursor::new(&endless).varint64(), None);
        // 2^32 does not fit a varint32; the cursor stays where it was.
        let mut wide = Cursor::new(&[0x80, 0x80, 0x80, 0x80, 0x10]);
        assert_eq!(wide.varint32(), None);
        assert_eq!(wide.position(), 0);
    }

    #[test]
    fn fixed_width_reads_stay_in_bounds() {
        let bytes = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(fixed32_at(&bytes, 4), Some(2));
        assert_eq!(fixed32_at(&bytes, 5), None);
        assert_eq!(fixed64_at(&bytes, 0), Some(0x2_0000_0001));
        assert_eq!(fixed32_at(&bytes, usize::MAX), None);
    }
}
