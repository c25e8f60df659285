//! The `--json` documents: serde types serialized by serde_json, compact, one line, and the
//! few value types the schemas of docs/cli.md need beyond serde's defaults.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use crate::output::Out;
use crate::Failure;

/// Writes `document` as one compact line.
pub fn print(out: &mut Out, document: &impl Serialize) -> Result<(), Failure> {
    serde_json::to_writer(&mut *out, document).map_err(|error| match error.io_error_kind() {
        Some(kind) => Failure::Output(io::Error::new(kind, error)),
        None => Failure::Error(format!("cannot write the JSON document: {error}")),
    })?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A float in the tensor's precision: finite values as JSON numbers with the fewest digits that
/// read back as the same float32 or float64, NaN and the infinities as "nan", "inf", "-inf".
#[derive(Clone, Copy, Debug)]
pub enum Float {
    Single(f32),
    Double(f64),
}

impl Float {
    pub fn new(value: f64, single: bool) -> Float {
        if single {
            Float::Single(value as f32)
        } else {
            Float::Double(value)
        }
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wide = match *self {
            Float::Single(value) => f64::from(value),
            Float::Double(value) => value,
        };
        if wide.is_nan() {
            serializer.serialize_str("nan")
        } else if wide.is_infinite() {
            serializer.serialize_str(if wide > 0.0 { "inf" } else { "-inf" })
        } else {
            match *self {
                Float::Single(value) => serializer.serialize_f32(value),
                Float::Double(value) => serializer.serialize_f64(value),
            }
        }
    }
}

/// Bytes that should be UTF-8 (keys, names): invalid sequences become U+FFFD.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::Float;

    #[test]
    fn floats_keep_their_precision_and_name_their_specials() {
        let text = serde_json::to_string(&[
            Float::Single(0.1),
            Float::Double(0.1),
            Float::Single(f32::NAN),
            Float::Double(f64::NEG_INFINITY),
            Float::Single(-0.0),
        ])
        .unwrap();
        assert_eq!(text, r#"[0.1,0.1,"nan","-inf",-0.0]"#);
    }
}
