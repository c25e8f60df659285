//! The index key of one stored slice of a partitioned tensor (FORMAT.md section 7): an
//! order-preserving encoding of (name, rank, start and length of each dimension), so that all
//! slices of a tensor sort together, after the header and before every plain name.

use super::entry::SliceExtent;

/// TensorFlow's length for "the whole dimension".
const FULL_EXTENT: i64 = -1;

/// The key under which the slice `extents` of tensor `name` is stored.
pub fn slice_key(name: &[u8], extents: &[SliceExtent]) -> Vec<u8> {
    let mut key = vec![0x00]; // the number 0: no bytes follow its length byte
    for &byte in name {
        match byte {
            0x00 => key.extend_from_slice(&[0x00, 0xff]),
            0xff => key.extend_from_slice(&[0xff, 0x00]),
            _ => key.push(byte),
        }
    }
    key.extend_from_slice(&[0x00, 0x01]);
    put_unsigned(&mut key, extents.len() as u64);
    for extent in extents {
        put_signed(&mut key, extent.start as i64);
        put_signed(&mut key, extent.length.map_or(FULL_EXTENT, |length| length as i64));
    }
    key
}

/// An unsigned number: one byte holding the count of big-endian bytes that follow (none for 0).
fn put_unsigned(key: &mut Vec<u8>, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&byte| byte == 0).count();
    key.push((8 - skip) as u8);
    key.extend_from_slice(&bytes[skip..]);
}

/// A signed number in `n` bytes: n+1 header bits (n copies of the sign's bit, 1 for >= 0, then
/// one bit of the opposite value) followed by the low 7n-1 bits of its two's complement, with
/// the smallest `n` that holds the value.
fn put_signed(key: &mut Vec<u8>, value: i64) {
    let n = (1..=10u32)
        .find(|&n| {
            let bits = 7 * n - 1;
            bits >= 64 || (-(1i128 << bits)..(1i128 << bits)).contains(&i128::from(value))
        })
        .expect("ten bytes hold any i64");
    let value_bits = 7 * n - 1;
    let header: u128 = if value >= 0 { ((1u128 << n) - 1) << 1 } else { 1 };
    let encoded = (header << value_bits) | ((value as i128 as u128) & ((1u128 << value_bits) - 1));
    key.extend_from_slice(&encoded.to_be_bytes()[16 - n as usize..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_signed(&mut out, value);
        out
    }

    #[test]
    fn signed_numbers_match_the_documented_bytes() {
        assert_eq!(signed(0), [0x80]);
        assert_eq!(signed(11), [0x8b]);
        assert_eq!(signed(-1), [0x7f]);
        assert_eq!(signed(25000), [0xe0, 0x61, 0xa8]);
        assert_eq!(signed(63), [0xbf]);
        assert_eq!(signed(64), [0xc0, 0x40]);
        assert_eq!(signed(-64), [0x40]);
        assert_eq!(signed(i64::MAX).len(), 10);
        assert_eq!(signed(i64::MAX)[..2], [0xff, 0xc0]);
    }

    #[test]
    fn names_are_escaped_and_terminated() {
        let extents = [SliceExtent { start: 2, length: Some(3) }, SliceExtent { start: 0, length: None }];
        let key = slice_key(b"a\x00b\xffc", &extents);
        assert_eq!(key, [0x00, b'a', 0x00, 0xff, b'b', 0xff, 0x00, b'c', 0x00, 0x01, 0x01, 0x02, 0x82, 0x83, 0x80, 0x7f]);
    }
}
