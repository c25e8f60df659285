//! A protobuf wire-format walker over untrusted bytes: the fields of a message as borrowed
//! values, never more memory than the message's own bytes. The V1 reader decodes its records
//! with it, so that a crafted record cannot make a generated decoder allocate many times the
//! bytes it holds.

use crate::format::coding::Cursor;

/// The value of one field, by wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of `message` in order, as (field number, value); the first malformed field ends the
/// walk with an error (and nothing after it).
pub(super) fn fields(message: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), String>> + '_ {
    let mut cursor = Cursor::new(message);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || cursor.rest().is_empty() {
            return None;
        }
        let field = next_field(&mut cursor);
        failed = field.is_err();
        Some(field)
    })
}

fn next_field<'a>(cursor: &mut Cursor<'a>) -> Result<(u32, Value<'a>), String> {
    let at = cursor.position();
    let truncated = || format!("truncated protobuf field at byte {at}");
    let tag = cursor.varint64().ok_or_else(truncated)?;
    let number = u32::try_from(tag >> 3).ok().filter(|number| (1..1 << 29).contains(number));
    let number = number.ok_or_else(|| format!("invalid protobuf field number at byte {at}"))?;
    let value = match tag & 7 {
        0 => Value::Varint(cursor.varint64().ok_or_else(truncated)?),
        1 => {
            let bytes = cursor.take(8).ok_or_else(truncated)?;
            Value::Fixed64(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
        }
        2 => {
            let len = cursor.varint64().ok_or_else(truncated)?;
            let len = usize::try_from(len).map_err(|_| truncated())?;
            Value::Bytes(cursor.take(len).ok_or_else(truncated)?)
        }
        5 => {
            let bytes = cursor.take(4).ok_or_else(truncated)?;
            Value::Fixed32(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
        }
        wire => return Err(format!("unsupported protobuf wire type {wire} at byte {at}")),
    };
    Ok((number, value))
}

/// The varints packed one after another in `bytes`, each as it was read; an error at the first
/// that does not parse.
pub(super) fn packed_varints(bytes: &[u8]) -> impl Iterator<Item = Result<u64, String>> + '_ {
    let mut cursor = Cursor::new(bytes);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || cursor.rest().is_empty() {
            return None;
        }
        let value = cursor.varint64().ok_or_else(|| "truncated varint in a packed field".to_string());
        failed = value.is_err();
        Some(value)
    })
}

/// A varint field's value as protobuf's `int64`/`int32` reads it: the two's-complement bits.
pub(super) fn as_i64(value: u64) -> i64 {
    value as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_every_wire_type_and_stops_at_damage() {
        let message = [0x08, 0x96, 0x01, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x02, b'h', b'i', 0x25, 1, 0, 0, 0];
        let walked: Vec<_> = fields(&message).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            walked,
            [(1, Value::Varint(150)), (2, Value::Fixed64(1)), (3, Value::Bytes(b"hi")), (4, Value::Fixed32(1))]
        );
        assert!(fields(&[0x1a, 0x05, b'h']).any(|field| field.is_err()));
        assert!(fields(&[0x0b]).any(|field| field.is_err()), "groups are refused");
        assert!(fields(&[0x00, 0x00]).any(|field| field.is_err()), "field 0 is refused");
        assert_eq!(packed_varints(&[0x01, 0x80, 0x01]).collect::<Result<Vec<_>, _>>().unwrap(), [1, 128]);
        assert!(packed_varints(&[0x80]).any(|value| value.is_err()));
    }
}
