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

/// The tensor name and extents of a slice key; `None` for any other key.
pub fn parse_slice_key(key: &[u8]) -> Option<(Vec<u8>, Vec<SliceExtent>)> {
    let mut rest = key.strip_prefix(&[0x00])?;
    let mut name = Vec::new();
    // The name ends at 0x00 0x01; 0x00 and 0xff inside it are escaped by the byte after them.
    loop {
        let (byte, step) = match rest {
            [0x00, 0x01, ..] => break,
            [0x00, 0xff, ..] => (0x00, 2),
            [0xff, 0x00, ..] => (0xff, 2),
            [0x00 | 0xff, ..] | [] => return None,
            [byte, ..] => (*byte, 1),
        };
        name.push(byte);
        rest = &rest[step..];
    }
    rest = &rest[2..];
    let rank = take_unsigned(&mut rest)?;
    let mut extents = Vec::new();
    for _ in 0..rank {
        let start = u64::try_from(take_signed(&mut rest)?).ok()?;
        let length = match take_signed(&mut rest)? {
            FULL_EXTENT => None,
            length => Some(u64::try_from(length).ok()?),
        };
        extents.push(SliceExtent { start, length });
    }
    rest.is_empty().then_some((name, extents))
}

/// A slice as TensorFlow's `TensorSlice::DebugString` writes it: `start,length` per dimension
/// joined by `:`, `-` for a whole dimension (`0,10:-`).
pub fn slice_spec(extents: &[SliceExtent]) -> String {
    let dims: Vec<String> = extents
        .iter()
        .map(|extent| match extent.length {
            Some(length) => format!("{},{length}", extent.start),
            None => "-".into(),
        })
        .collect();
    dims.join(":")
}

/// A key as a person reads it: a slice key as `name slice 0,10:0,3`, any other key as its
/// text (bytes that are not UTF-8 as U+FFFD). Never the raw bytes of a slice key.
pub fn readable_key(key: &[u8]) -> String {
    match parse_slice_key(key) {
        Some((name, extents)) => format!("{} slice {}", String::from_utf8_lossy(&name), slice_spec(&extents)),
        None => String::from_utf8_lossy(key).into_owned(),
    }
}

fn take_unsigned(rest: &mut &[u8]) -> Option<u64> {
    let (&count, tail) = rest.split_first()?;
    let count = usize::from(count);
    if count > 8 || tail.len() < count {
        return None;
    }
    let value = tail[..count].iter().fold(0u64, |value, &byte| value << 8 | u64::from(byte));
    *rest = &tail[count..];
    Some(value)
}

/// The inverse of [`put_signed`]: the header's run of equal bits gives the byte count.
fn take_signed(rest: &mut &[u8]) -> Option<i64> {
    let first = *rest.first()?;
    let negative = first & 0x80 == 0;
    let head = u16::from_be_bytes([first, rest.get(1).copied().unwrap_or(if negative { 0xff } else { 0x00 })]);
    let n = if negative { head.leading_zeros() } else { head.leading_ones() } as usize;
    if n == 0 || n > 10 || rest.len() < n {
        return None;
    }
    let encoded = rest[..n].iter().fold(0u128, |value, &byte| value << 8 | u128::from(byte));
    let value_bits = 7 * n as u32 - 1;
    let low = (encoded & ((1u128 << value_bits) - 1)) as i128;
    let value = if negative { low - (1i128 << value_bits) } else { low };
    *rest = &rest[n..];
    i64::try_from(value).ok()
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

    #[test]
    fn slice_keys_parse_back_and_read_as_tensorflow_writes_slices() {
        let extents = [SliceExtent { start: 25000, length: Some(3) }, SliceExtent { start: 0, length: None }];
        let key = slice_key(b"a\x00b\xffc", &extents);
        assert_eq!(parse_slice_key(&key), Some((b"a\x00b\xffc".to_vec(), extents.to_vec())));
        for value in [0, 1, 63, 64, -1, -64, -65, 25000, i64::MAX, i64::MIN + 1] {
            let mut bytes = signed(value);
            bytes.push(0x42);
            let mut rest = bytes.as_slice();
            assert_eq!(take_signed(&mut rest), Some(value), "{value}");
            assert_eq!(rest, [0x42]);
        }
        let emb = [SliceExtent { start: 0, length: Some(10) }, SliceExtent { start: 0, length: Some(3) }];
        assert_eq!(readable_key(&slice_key(b"emb", &emb)), "emb slice 0,10:0,3");
        assert_eq!(slice_spec(&extents), "25000,3:-");
        assert_eq!(readable_key(b"plain/key"), "plain/key");
        assert_eq!(parse_slice_key(b"plain"), None);
        assert_eq!(parse_slice_key(&key[..key.len() - 1]), None);
    }
}
