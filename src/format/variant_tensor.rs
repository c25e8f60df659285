//! DT_VARIANT payloads (FORMAT.md section 5), as TensorFlow's `WriteVariantTensor` lays them out:
//! per element a varint64 length, that many bytes of a serialized `VariantTensorDataProto`, then a
//! 4-byte masked running checksum. The running crc32c covers each length as a uint64 in the
//! writer's byte order (not the varint bytes), the element bytes, and every earlier stored
//! checksum; the entry's crc32c is the mask of the final running crc. Checked against the tf.data
//! iterator checkpoints TensorFlow 2.21 writes (`tests/fixtures/iterator`).

use super::coding::Cursor;
use super::crc;
use super::string_tensor::StringPayloadError;
use super::Endianness;

/// Splits `bytes` into `count` serialized variant elements, verifying every per-element checksum
/// and the entry's `masked_crc32c`.
pub fn decode_variants(
    bytes: &[u8],
    count: u64,
    endianness: Endianness,
    masked_crc32c: u32,
) -> Result<Vec<&[u8]>, StringPayloadError> {
    use StringPayloadError::Malformed;
    // Every element takes at least 5 bytes (a length and its checksum): bound the allocation.
    if count > bytes.len() as u64 / 5 {
        return Err(Malformed(format!("{count} variant elements cannot fit in {} bytes", bytes.len())));
    }
    let mut cursor = Cursor::new(bytes);
    let mut elements = Vec::with_capacity(count as usize);
    let mut running = 0u32;
    for index in 0..count {
        let length = cursor
            .varint64()
            .ok_or_else(|| Malformed(format!("length of variant element {index} is missing or malformed")))?;
        let length_bytes = match endianness {
            Endianness::Little => length.to_le_bytes(),
            Endianness::Big => length.to_be_bytes(),
        };
        running = crc::extend(running, &length_bytes);
        let element = usize::try_from(length)
            .ok()
            .and_then(|length| cursor.take(length))
            .ok_or_else(|| Malformed(format!("variant element {index} of {length} bytes runs past the payload")))?;
        running = crc::extend(running, element);
        let stored_bytes = cursor
            .take(4)
            .ok_or_else(|| Malformed(format!("the checksum of variant element {index} is missing")))?;
        let word: [u8; 4] = stored_bytes.try_into().expect("took 4 bytes");
        let stored = match endianness {
            Endianness::Little => u32::from_le_bytes(word),
            Endianness::Big => u32::from_be_bytes(word),
        };
        if crc::unmask(stored) != running {
            return Err(StringPayloadError::Checksum { what: "variant element", stored: crc::unmask(stored), computed: running });
        }
        running = crc::extend(running, stored_bytes);
        elements.push(element);
    }
    if !cursor.rest().is_empty() {
        return Err(Malformed(format!("{} bytes follow the last variant element", cursor.rest().len())));
    }
    if running != crc::unmask(masked_crc32c) {
        return Err(StringPayloadError::Checksum {
            what: "variant tensor",
            stored: crc::unmask(masked_crc32c),
            computed: running,
        });
    }
    Ok(elements)
}

/// Lays out `elements` as TensorFlow does; returns the bytes and the entry's masked crc32c (for
/// tests and crafted bundles).
pub fn encode_variants(elements: &[&[u8]], endianness: Endianness) -> (Vec<u8>, u32) {
    let mut out = Vec::new();
    let mut running = 0u32;
    for element in elements {
        let length = element.len() as u64;
        let mut rest = length;
        while rest >= 0x80 {
            out.push(rest as u8 | 0x80);
            rest >>= 7;
        }
        out.push(rest as u8);
        let length_bytes = match endianness {
            Endianness::Little => length.to_le_bytes(),
            Endianness::Big => length.to_be_bytes(),
        };
        running = crc::extend(crc::extend(running, &length_bytes), element);
        out.extend_from_slice(element);
        let stored = match endianness {
            Endianness::Little => crc::mask(running).to_le_bytes(),
            Endianness::Big => crc::mask(running).to_be_bytes(),
        };
        out.extend_from_slice(&stored);
        running = crc::extend(running, &stored);
    }
    (out, crc::mask(running))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_byte_orders_and_refuses_damage() {
        let elements: [&[u8]; 3] = [b"", b"\x0a\x03abc", &[7u8; 300]];
        for endianness in [Endianness::Little, Endianness::Big] {
            let (bytes, crc) = encode_variants(&elements, endianness);
            assert_eq!(decode_variants(&bytes, 3, endianness, crc).unwrap(), elements.to_vec());
            for at in 0..bytes.len() {
                let mut flipped = bytes.clone();
                flipped[at] ^= 0x10;
                assert!(decode_variants(&flipped, 3, endianness, crc).is_err(), "byte {at}");
            }
            assert!(decode_variants(&bytes, 2, endianness, crc).is_err());
            assert!(decode_variants(&bytes, u64::MAX, endianness, crc).is_err());
            assert!(decode_variants(&bytes[..bytes.len() - 1], 3, endianness, crc).is_err());
        }
    }
}
