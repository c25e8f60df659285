//! A small streaming JSON writer: compact output, commas placed for the caller, strings escaped
//! the way serde_json escapes them (so that documents are byte-for-byte predictable).

use std::io::{self, Write};

/// Writes one JSON document to `out`. Containers are opened and closed explicitly; inside an
/// object, call [`Json::key`] before each value.
pub struct Json<W: Write> {
    out: W,
    /// One flag per open container: whether it already holds an element.
    filled: Vec<bool>,
    /// A key was just written: the next value belongs to it and takes no comma.
    after_key: bool,
}

impl<W: Write> Json<W> {
    pub fn new(out: W) -> Self {
        Json { out, filled: Vec::new(), after_key: false }
    }

    /// Writes the comma that separates this element from the previous one, if any.
    fn separate(&mut self) -> io::Result<()> {
        if self.after_key {
            self.after_key = false;
            return Ok(());
        }
        if let Some(filled) = self.filled.last_mut() {
            if *filled {
                self.out.write_all(b",")?;
            }
            *filled = true;
        }
        Ok(())
    }

    pub fn begin_object(&mut self) -> io::Result<()> {
        self.separate()?;
        self.filled.push(false);
        self.out.write_all(b"{")
    }

    pub fn end_object(&mut self) -> io::Result<()> {
        self.filled.pop();
        self.out.write_all(b"}")
    }

    pub fn begin_array(&mut self) -> io::Result<()> {
        self.separate()?;
        self.filled.push(false);
        self.out.write_all(b"[")
    }

    pub fn end_array(&mut self) -> io::Result<()> {
        self.filled.pop();
        self.out.write_all(b"]")
    }

    /// The name of the next member of the current object.
    pub fn key(&mut self, name: &str) -> io::Result<()> {
        self.separate()?;
        write_escaped(&mut self.out, name)?;
        self.out.write_all(b":")?;
        self.after_key = true;
        Ok(())
    }

    pub fn string(&mut self, text: &str) -> io::Result<()> {
        self.separate()?;
        write_escaped(&mut self.out, text)
    }

    /// A string that may not be UTF-8: invalid sequences become U+FFFD.
    pub fn bytes_lossy(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.string(&String::from_utf8_lossy(bytes))
    }

    pub fn uint(&mut self, value: u64) -> io::Result<()> {
        self.separate()?;
        write!(self.out, "{value}")
    }

    pub fn int(&mut self, value: i64) -> io::Result<()> {
        self.separate()?;
        write!(self.out, "{value}")
    }

    /// A float: finite values as JSON numbers (shortest text that reads back as the same
    /// value), NaN and infinities as the strings "nan", "inf" and "-inf".
    pub fn float(&mut self, value: f64) -> io::Result<()> {
        self.float_text(value, &format!("{value:?}"))
    }

    /// A float32: printed with float32's shortest round-trip text.
    pub fn float32(&mut self, value: f32) -> io::Result<()> {
        self.float_text(f64::from(value), &format!("{value:?}"))
    }

    fn float_text(&mut self, value: f64, text: &str) -> io::Result<()> {
        if value.is_nan() {
            self.string("nan")
        } else if value.is_infinite() {
            self.string(if value > 0.0 { "inf" } else { "-inf" })
        } else {
            self.separate()?;
            self.out.write_all(text.as_bytes())
        }
    }

    pub fn boolean(&mut self, value: bool) -> io::Result<()> {
        self.separate()?;
        self.out.write_all(if value { b"true" } else { b"false" })
    }

    pub fn null(&mut self) -> io::Result<()> {
        self.separate()?;
        self.out.write_all(b"null")
    }

    /// `key` then a string.
    pub fn field_str(&mut self, key: &str, value: &str) -> io::Result<()> {
        self.key(key)?;
        self.string(value)
    }

    /// `key` then an unsigned integer.
    pub fn field_uint(&mut self, key: &str, value: u64) -> io::Result<()> {
        self.key(key)?;
        self.uint(value)
    }

    /// `key` then an array of unsigned integers (a shape, a list of node ids).
    pub fn field_uints(&mut self, key: &str, values: impl IntoIterator<Item = u64>) -> io::Result<()> {
        self.key(key)?;
        self.uints(values)
    }

    pub fn uints(&mut self, values: impl IntoIterator<Item = u64>) -> io::Result<()> {
        self.begin_array()?;
        for value in values {
            self.uint(value)?;
        }
        self.end_array()
    }

    /// Ends the document with a newline and hands back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

/// Writes `text` as a JSON string literal: `"` and `\` escaped, control characters as `\n`,
/// `\t`, ... or `\u00XX`; everything else as UTF-8.
pub fn write_escaped(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.write_all(&bytes[plain_from..at])?;
        match escape {
            Some(escape) => out.write_all(escape)?,
            None => write!(out, "\\u{byte:04x}")?,
        }
        plain_from = at + 1;
    }
    out.write_all(&bytes[plain_from..])?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(build: impl FnOnce(&mut Json<&mut Vec<u8>>) -> io::Result<()>) -> String {
        let mut bytes = Vec::new();
        let mut json = Json::new(&mut bytes);
        build(&mut json).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn places_commas_and_escapes() {
        let text = render(|json| {
            json.begin_object()?;
            json.field_str("a\"b", "x\ny\u{1}\u{e9}")?;
            json.field_uints("shape", [2, 3])?;
            json.key("empty")?;
            json.begin_array()?;
            json.end_array()?;
            json.key("f")?;
            json.begin_array()?;
            json.float32(1.5)?;
            json.float(f64::NAN)?;
            json.float(-0.0)?;
            json.end_array()?;
            json.end_object()
        });
        assert_eq!(text, "{\"a\\\"b\":\"x\\ny\\u0001\u{e9}\",\"shape\":[2,3],\"empty\":[],\"f\":[1.5,\"nan\",-0.0]}");
    }
}
