//! DT_STRING payloads (FORMAT.md section 5): N varint lengths, a masked checksum of those lengths,
//! then the N strings back to back. One running crc over all three parts is the entry's crc32c.

use super::coding::Cursor;
use super::crc;
use super::Endianness;

/// Why a string payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum StringPayloadError {
    /// The bytes do not have the layout of `count` strings.
    Malformed(String),
    /// A checksum does not match; `what` says which of the two.
    Checksum { what: &'static str, stored: u32, computed: u32 },
}

/// Splits `bytes` into `count` strings, verifying both checksums against `masked_crc32c`.
pub fn decode_strings(
    bytes: &[u8],
    count: u64,
    endianness: Endianness,
    masked_crc32c: u32,
) -> Result<Vec<&[u8]>, StringPayloadError> {
    use StringPayloadError::Malformed;
    // Every length takes at least one byte: bound the allocation by what is there.
    if count > bytes.len() as u64 {
        return Err(Malformed(format!("{count} strings cannot fit in {} bytes", bytes.len())));
    }
    let mut cursor = Cursor::new(bytes);
    let mut lengths = Vec::with_capacity(count as usize);
    let mut running = 0u32;
    let mut total: u64 = 0;
    for index in 0..count {
        let length = cursor
            .varint64()
            .ok_or_else(|| Malformed(format!("length of string {index} is missing or malformed")))?;
        running = extend_with_length(running, length, endianness);
        total = total.checked_add(length).ok_or_else(|| Malformed("string lengths overflow".into()))?;
        lengths.push(length);
    }
    let stored_bytes = cursor.take(4).ok_or_else(|| Malformed("the length checksum is missing".into()))?;
    let stored_word: [u8; 4] = stored_bytes.try_into().expect("took 4 bytes");
    let stored = match endianness {
        Endianness::Little => u32::from_le_bytes(stored_word),
        Endianness::Big => u32::from_be_bytes(stored_word),
    };
    if crc::unmask(stored) != running {
        return Err(StringPayloadError::Checksum {
            what: "string lengths",
            stored: crc::unmask(stored),
            computed: running,
        });
    }
    running = crc::extend(running, stored_bytes);
    let body = cursor.rest();
    if total != body.len() as u64 {
        return Err(Malformed(format!(
            "string lengths add up to {total} bytes but {} follow them",
            body.len()
        )));
    }
    running = crc::extend(running, body);
    if running != crc::unmask(masked_crc32c) {
        return Err(StringPayloadError::Checksum {
            what: "string tensor",
            stored: crc::unmask(masked_crc32c),
            computed: running,
        });
    }
    let mut start = 0usize;
    Ok(lengths
        .into_iter()
        .map(|length| {
            let piece = &body[start..start + length as usize];
            start += length as usize;
            piece
        })
        .collect())
}

/// Continues the running crc of a string payload with one element's length, hashed as TensorFlow
/// hashes it: a uint32 (a uint64 past 2^32 - 1) in the writer's byte order, not the varint bytes.
pub(crate) fn extend_with_length(running: u32, length: u64, endianness: Endianness) -> u32 {
    match u32::try_from(length) {
        Ok(short) => crc::extend(running, &word_bytes32(short, endianness)),
        Err(_) => crc::extend(running, &word_bytes64(length, endianness)),
    }
}

/// A u32 in the writer's byte order: the stored form of the length checksum.
pub(crate) fn word_bytes32(value: u32, endianness: Endianness) -> [u8; 4] {
    match endianness {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    }
}

fn word_bytes64(value: u64, endianness: Endianness) -> [u8; 8] {
    match endianness {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::writer::encode_strings as encode;

    #[test]
    fn round_trips_both_byte_orders() {
        let strings: [&[u8]; 3] = [b"", "h\u{e9}llo".as_bytes(), &[0u8; 200]];
        for endianness in [Endianness::Little, Endianness::Big] {
            let (bytes, crc) = encode(&strings, endianness);
            assert_eq!(decode_strings(&bytes, 3, endianness, crc).unwrap(), strings.to_vec());
        }
    }

    #[test]
    fn every_damage_is_refused() {
        let (bytes, crc) = encode(&[b"abc", b"de"], Endianness::Little);
        assert!(matches!(decode_strings(&bytes, 2, Endianness::Little, crc ^ 1), Err(StringPayloadError::Checksum { what: "string tensor", .. })));
        let mut flipped = bytes.clone();
        flipped[2] ^= 1; // inside the length checksum
        assert!(matches!(decode_strings(&flipped, 2, Endianness::Little, crc), Err(StringPayloadError::Checksum { what: "string lengths", .. })));
        assert!(matches!(decode_strings(&bytes[..bytes.len() - 1], 2, Endianness::Little, crc), Err(StringPayloadError::Malformed(_))));
        assert!(matches!(decode_strings(&bytes, u64::MAX, Endianness::Little, crc), Err(StringPayloadError::Malformed(_))));
        assert!(matches!(decode_strings(&bytes, 2, Endianness::Big, crc), Err(StringPayloadError::Checksum { .. })));
    }
}
