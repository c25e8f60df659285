//! DT_STRING payloads. Input: one flag byte (bit 0: big-endian; bit 1: the count is a full u64;
//! bit 2: retry with the computed tensor crc), the count (u16 or u64, little-endian), the masked
//! crc32c (4 bytes), then the payload.
#![no_main]

use ckview::format::crc;
use ckview::format::string_tensor::{decode_strings, StringPayloadError};
use ckview::format::writer::encode_strings;
use ckview::format::Endianness;
use libfuzzer_sys::fuzz_target;

fn check_ok(bytes: &[u8], count: u64, strings: &[&[u8]], endianness: Endianness) {
    assert_eq!(strings.len() as u64, count);
    let total: usize = strings.iter().map(|s| s.len()).sum();
    assert!(total <= bytes.len());
    // Re-encoding (canonical varints) decodes to the same strings.
    let (encoded, masked) = encode_strings(strings, endianness);
    let again = decode_strings(&encoded, count, endianness, masked).expect("a canonical encoding decodes");
    assert_eq!(again, strings);
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let endianness = if flags & 1 == 0 { Endianness::Little } else { Endianness::Big };
    let (count, rest) = if flags & 2 == 0 {
        if rest.len() < 2 {
            return;
        }
        (u64::from(u16::from_le_bytes([rest[0], rest[1]])), &rest[2..])
    } else {
        if rest.len() < 8 {
            return;
        }
        (u64::from_le_bytes(rest[..8].try_into().unwrap()), &rest[8..])
    };
    if rest.len() < 4 {
        return;
    }
    let masked = u32::from_le_bytes(rest[..4].try_into().unwrap());
    let bytes = &rest[4..];
    match decode_strings(bytes, count, endianness, masked) {
        Ok(strings) => check_ok(bytes, count, &strings, endianness),
        Err(StringPayloadError::Checksum { what: "string tensor", computed, .. }) if flags & 4 != 0 => {
            let strings = decode_strings(bytes, count, endianness, crc::mask(computed))
                .expect("the computed crc is accepted");
            check_ok(bytes, count, &strings, endianness);
        }
        Err(_) => {}
    }
});
