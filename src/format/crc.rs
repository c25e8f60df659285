//! crc32c (Castagnoli) and the masking that every checksum stored by TensorFlow goes through.
//!
//! The `crc32c` crate picks the SSE4.2 / ARMv8 instruction at run time, falling back to tables.

/// Added after rotating, so that a crc of data that itself contains crcs does not cancel out.
const MASK_DELTA: u32 = 0xa282_ead8;

/// crc32c of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Continues a running crc32c with more bytes. From 16 MiB up (the body of a large string
/// tensor such as a 300k-node object graph) the two halves are summed at once on two cores.
pub fn extend(crc: u32, bytes: &[u8]) -> u32 {
    extend_in_halves_from(crc, bytes, crate::threads::SPLIT_BYTES_FROM)
}

fn extend_in_halves_from(crc: u32, bytes: &[u8], split_from: usize) -> u32 {
    if bytes.len() < split_from {
        return crc32c::crc32c_append(crc, bytes);
    }
    let (front, back) = bytes.split_at(bytes.len() / 2);
    let (front_crc, back_crc) = crate::threads::join(|| crc32c::crc32c_append(crc, front), || crc32c::crc32c(back));
    combine(front_crc, back_crc, back.len())
}

/// The crc32c of `a` followed by `b`, from the crc32c of each and the length of `b`.
pub fn combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    crc32c::crc32c_combine(crc_a, crc_b, len_b)
}

/// The stored form of a checksum: `rotr(crc, 15) + 0xa282ead8`.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(extend(crc32c(b"1234"), b"56789"), 0xE306_9283);
        // Summed in two halves at once, the same as in one pass, whatever the length's parity.
        let bytes: Vec<u8> = (0..1001u32).map(|at| (at * 7 + at / 13) as u8).collect();
        for length in [0, 1, 2, 1000, 1001] {
            assert_eq!(extend_in_halves_from(5, &bytes[..length], 0), crc32c::crc32c_append(5, &bytes[..length]));
        }
        // An empty tensor's stored checksum (FORMAT.md section 5).
        assert_eq!(mask(crc32c(b"")), 0xa282_ead8);
        for value in [0, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(unmask(mask(value)), value);
        }
    }
}
