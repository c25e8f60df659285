//! Tensor elements from the host-order bytes `Bundle::read_value` gives: one decoder per dtype,
//! their text (numpy-like) and summary statistics.

use ckview::format::DataType;

/// How the elements of a dtype are laid out and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float32,
    Float64,
    /// A float narrower than 32 bits: `bits` wide, decoded to float32 exactly.
    Narrow(Narrow),
    /// An integer of `bits` value bits (8 x `bytes`, or 4 and 2 for the sub-byte types, which
    /// are stored one per byte in the low bits, signed ones not sign-extended).
    Int {
        bytes: usize,
        signed: bool,
        bits: u32,
    },
    Bool,
    Complex64,
    Complex128,
}

/// Narrow float formats: sign, `exponent` bits, `mantissa` bits, `bias`, and how the top
/// exponent and NaN are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Narrow {
    bytes: usize,
    /// Value bits: 8 x `bytes`, or 4 for float4 (stored in the low bits of a byte).
    bits: u32,
    exponent: u32,
    mantissa: u32,
    bias: i32,
    style: Special,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    /// IEEE: the top exponent holds infinities and NaNs.
    Ieee,
    /// `fn`: no infinities; only the all-ones pattern (per sign) is NaN.
    Finite,
    /// `fnuz`: no infinities, no negative zero; the pattern of negative zero is the one NaN.
    FiniteUnsignedZero,
    /// float4_e2m1fn: no infinities and no NaN; every pattern is a number.
    NoSpecials,
}

const fn narrow(bytes: usize, exponent: u32, mantissa: u32, bias: i32, style: Special) -> Kind {
    Kind::Narrow(Narrow { bytes, bits: bytes as u32 * 8, exponent, mantissa, bias, style })
}

/// The kind of a fixed-size dtype; `None` for strings and variants.
pub fn kind(dtype: DataType) -> Option<Kind> {
    use DataType::*;
    let int = |bytes: usize, signed| Some(Kind::Int { bytes, signed, bits: bytes as u32 * 8 });
    let sub_byte = |bits, signed| Some(Kind::Int { bytes: 1, signed, bits });
    match dtype {
        DtFloat => Some(Kind::Float32),
        DtDouble => Some(Kind::Float64),
        DtHalf => Some(narrow(2, 5, 10, 15, Special::Ieee)),
        DtBfloat16 => Some(narrow(2, 8, 7, 127, Special::Ieee)),
        DtFloat8E5m2 => Some(narrow(1, 5, 2, 15, Special::Ieee)),
        DtFloat8E4m3fn => Some(narrow(1, 4, 3, 7, Special::Finite)),
        DtFloat8E4m3fnuz => Some(narrow(1, 4, 3, 8, Special::FiniteUnsignedZero)),
        DtFloat8E4m3b11fnuz => Some(narrow(1, 4, 3, 11, Special::FiniteUnsignedZero)),
        DtFloat8E5m2fnuz => Some(narrow(1, 5, 2, 16, Special::FiniteUnsignedZero)),
        // float4_e2m1fn as ml_dtypes decodes it: bias 1, largest 6.0.
        DtFloat4E2m1fn => Some(Kind::Narrow(Narrow { bytes: 1, bits: 4, exponent: 2, mantissa: 1, bias: 1, style: Special::NoSpecials })),
        DtInt8 | DtQint8 => int(1, true),
        DtUint8 | DtQuint8 => int(1, false),
        DtInt4 => sub_byte(4, true),
        DtUint4 => sub_byte(4, false),
        DtInt2 => sub_byte(2, true),
        DtUint2 => sub_byte(2, false),
        DtInt16 | DtQint16 => int(2, true),
        DtUint16 | DtQuint16 => int(2, false),
        DtInt32 | DtQint32 => int(4, true),
        DtUint32 => int(4, false),
        DtInt64 => int(8, true),
        DtUint64 => int(8, false),
        DtBool => Some(Kind::Bool),
        DtComplex64 => Some(Kind::Complex64),
        DtComplex128 => Some(Kind::Complex128),
        DtString | DtVariant | DtResource | DtInvalid => None,
    }
}

/// One element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Element {
    /// A float and whether float32 precision is enough to print it exactly.
    Float(f64, bool),
    Int(i128),
    Bool(bool),
    /// Real and imaginary parts, and whether they are float32s.
    Complex(f64, f64, bool),
}

impl Kind {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Kind::Float32 => 4,
            Kind::Float64 | Kind::Complex64 => 8,
            Kind::Complex128 => 16,
            Kind::Narrow(narrow) => narrow.bytes,
            Kind::Int { bytes, .. } => bytes,
            Kind::Bool => 1,
        }
    }

    /// Whether the values print as float32s (the dtype holds no more precision than that).
    pub fn is_single(self) -> bool {
        matches!(self, Kind::Float32 | Kind::Narrow(_) | Kind::Complex64)
    }

    /// Decodes the element stored in `bytes` (exactly `width()` bytes, host order).
    pub fn decode(self, bytes: &[u8]) -> Element {
        let array = |n: usize| -> [u8; 8] {
            let mut out = [0u8; 8];
            out[..n].copy_from_slice(&bytes[..n]);
            out
        };
        let f32_at = |at: usize| f32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let f64_at = |at: usize| f64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        match self {
            Kind::Float32 => Element::Float(f32_at(0).into(), true),
            Kind::Float64 => Element::Float(f64_at(0), false),
            Kind::Narrow(narrow) => {
                let bits = match narrow.bytes {
                    1 => u32::from(bytes[0]),
                    _ => u32::from(u16::from_ne_bytes([bytes[0], bytes[1]])),
                };
                Element::Float(narrow.to_f32(bits).into(), true)
            }
            Kind::Int { bits, signed, .. } if bits < 8 => {
                // The low `bits` of the byte; a signed value's top bit is its sign.
                let value = u32::from(bytes[0]) & ((1 << bits) - 1);
                let value = if signed && value >> (bits - 1) == 1 { i128::from(value) - (1 << bits) } else { i128::from(value) };
                Element::Int(value)
            }
            Kind::Int { bytes: n, signed, .. } => {
                let raw = array(n);
                let value = match (n, signed) {
                    (1, true) => i128::from(raw[0] as i8),
                    (1, false) => i128::from(raw[0]),
                    (2, true) => i128::from(i16::from_ne_bytes([raw[0], raw[1]])),
                    (2, false) => i128::from(u16::from_ne_bytes([raw[0], raw[1]])),
                    (4, true) => i128::from(i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]])),
                    (4, false) => i128::from(u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]])),
                    (_, true) => i128::from(i64::from_ne_bytes(raw)),
                    (_, false) => i128::from(u64::from_ne_bytes(raw)),
                };
                Element::Int(value)
            }
            Kind::Bool => Element::Bool(bytes[0] != 0),
            Kind::Complex64 => Element::Complex(f32_at(0).into(), f32_at(4).into(), true),
            Kind::Complex128 => Element::Complex(f64_at(0), f64_at(8), false),
        }
    }
}

impl Narrow {
    /// The exact float32 value of a narrow float's bit pattern.
    fn to_f32(self, bits: u32) -> f32 {
        let total = self.bits;
        let bits = bits & ((1 << total) - 1);
        let negative = bits >> (total - 1) & 1 == 1;
        let exponent = (bits >> self.mantissa) & ((1 << self.exponent) - 1);
        let mantissa = bits & ((1 << self.mantissa) - 1);
        let top = (1 << self.exponent) - 1;
        let sign: f64 = if negative { -1.0 } else { 1.0 };
        match self.style {
            Special::Ieee if exponent == top => {
                return if mantissa != 0 {
                    f32::NAN
                } else if negative {
                    f32::NEG_INFINITY
                } else {
                    f32::INFINITY
                };
            }
            Special::Finite if exponent == top && mantissa == (1 << self.mantissa) - 1 => return f32::NAN,
            Special::FiniteUnsignedZero if negative && exponent == 0 && mantissa == 0 => return f32::NAN,
            _ => {}
        }
        let fraction = f64::from(mantissa) / f64::from(1u32 << self.mantissa);
        let magnitude = if exponent == 0 {
            fraction * 2f64.powi(1 - self.bias)
        } else {
            (1.0 + fraction) * 2f64.powi(exponent as i32 - self.bias)
        };
        (sign * magnitude) as f32 // exact: every narrow value is a float32
    }
}

/// A float as numpy would name its specials, else the shortest text that reads back exactly.
pub fn float_text(value: f64, single: bool) -> String {
    if value.is_nan() {
        "nan".into()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.into()
    } else if single {
        format!("{:?}", value as f32)
    } else {
        format!("{value:?}")
    }
}

impl Element {
    /// numpy-like text: `1.5`, `-3`, `True`, `1.0+2.0j`.
    pub fn text(self) -> String {
        match self {
            Element::Float(value, single) => float_text(value, single),
            Element::Int(value) => value.to_string(),
            Element::Bool(value) => if value { "True" } else { "False" }.into(),
            Element::Complex(re, im, single) => {
                let imaginary = float_text(im, single);
                let sign = if imaginary.starts_with('-') { "" } else { "+" };
                format!("{}{sign}{imaginary}j", float_text(re, single))
            }
        }
    }
}

/// Summary statistics of a tensor's elements.
#[derive(Clone, Debug, PartialEq)]
pub enum Stats {
    /// Numbers: min, max and mean over the elements that are not NaN, and how many are NaN.
    /// `None` when no element counts (empty, or all NaN).
    Numbers { range: Option<(Element, Element, f64)>, nan: u64 },
    /// Booleans: how many are true.
    Bools { true_count: u64 },
    /// Complex numbers: no order, so only the mean (real, imaginary).
    Complex { mean: Option<(f64, f64)> },
}

/// Statistics over every element of `bytes` (host order, `kind.width()` bytes each).
pub fn stats(kind: Kind, bytes: &[u8]) -> Stats {
    let elements = bytes.chunks_exact(kind.width()).map(|chunk| kind.decode(chunk));
    match kind {
        Kind::Bool => {
            Stats::Bools { true_count: elements.filter(|element| *element == Element::Bool(true)).count() as u64 }
        }
        Kind::Complex64 | Kind::Complex128 => {
            let (mut re_sum, mut im_sum, mut count) = (0f64, 0f64, 0u64);
            for element in elements {
                if let Element::Complex(re, im, _) = element {
                    re_sum += re;
                    im_sum += im;
                    count += 1;
                }
            }
            Stats::Complex { mean: (count > 0).then(|| (re_sum / count as f64, im_sum / count as f64)) }
        }
        Kind::Int { .. } => {
            let (mut min, mut max, mut sum, mut count) = (i128::MAX, i128::MIN, 0i128, 0u64);
            for element in elements {
                if let Element::Int(value) = element {
                    min = min.min(value);
                    max = max.max(value);
                    sum += value;
                    count += 1;
                }
            }
            let range = (count > 0).then(|| (Element::Int(min), Element::Int(max), sum as f64 / count as f64));
            Stats::Numbers { range, nan: 0 }
        }
        _ => {
            let single = kind.is_single();
            let (mut min, mut max, mut sum, mut count, mut nan) = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0u64, 0u64);
            for element in elements {
                if let Element::Float(value, _) = element {
                    if value.is_nan() {
                        nan += 1;
                        continue;
                    }
                    min = min.min(value);
                    max = max.max(value);
                    sum += value;
                    count += 1;
                }
            }
            let range =
                (count > 0).then(|| (Element::Float(min, single), Element::Float(max, single), sum / count as f64));
            Stats::Numbers { range, nan }
        }
    }
}

/// A string element for a terminal: quoted, with `"`, `\`, control characters and bytes that
/// are not UTF-8 escaped (`\n`, `\x00`, `\xff`); longer than `max` characters, cut with `…`.
pub fn quoted_bytes(bytes: &[u8], max: usize) -> String {
    let mut text = String::from("\"");
    let mut shown = 0;
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            if shown == max {
                text.push_str(&format!("…\" ({} bytes)", bytes.len()));
                return text;
            }
            shown += 1;
            match character {
                '"' => text.push_str("\\\""),
                '\\' => text.push_str("\\\\"),
                c => crate::output::push_escaped(&mut text, c),
            }
        }
        for byte in chunk.invalid() {
            if shown == max {
                text.push_str(&format!("…\" ({} bytes)", bytes.len()));
                return text;
            }
            shown += 1;
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text.push('"');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_floats_decode_exactly() {
        let Some(Kind::Narrow(half)) = kind(DataType::DtHalf) else { panic!() };
        assert_eq!(half.to_f32(0x3c00), 1.0);
        assert_eq!(half.to_f32(0xc000), -2.0);
        assert_eq!(half.to_f32(0x7bff), 65504.0);
        assert_eq!(half.to_f32(0x0001), 2f32.powi(-24));
        assert!(half.to_f32(0x7e00).is_nan());
        assert_eq!(half.to_f32(0xfc00), f32::NEG_INFINITY);
        let Some(Kind::Narrow(bf16)) = kind(DataType::DtBfloat16) else { panic!() };
        assert_eq!(bf16.to_f32(0x3f80), 1.0);
        assert_eq!(bf16.to_f32(0x7f62), f32::from_bits(0x7f62_0000));
        let Some(Kind::Narrow(e4m3)) = kind(DataType::DtFloat8E4m3fn) else { panic!() };
        assert_eq!(e4m3.to_f32(0x7e), 448.0);
        assert!(e4m3.to_f32(0x7f).is_nan());
        let Some(Kind::Narrow(fnuz)) = kind(DataType::DtFloat8E4m3fnuz) else { panic!() };
        assert!(fnuz.to_f32(0x80).is_nan());
        assert_eq!(fnuz.to_f32(0x7f), 240.0);
    }

    #[test]
    fn texts_and_stats() {
        assert_eq!(Element::Complex(1.0, -2.5, true).text(), "1.0-2.5j");
        assert_eq!(Element::Float(f64::from(0.1f32), true).text(), "0.1");
        let bytes: Vec<u8> = [1.0f32, f32::NAN, -3.0].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let Stats::Numbers { range: Some((min, max, mean)), nan } = stats(Kind::Float32, &bytes) else { panic!() };
        assert_eq!((min, max, mean, nan), (Element::Float(-3.0, true), Element::Float(1.0, true), -1.0, 1));
        assert_eq!(quoted_bytes(b"a\"\x00\xff\xc3\xa9", 10), "\"a\\\"\\x00\\xffé\"");
        assert_eq!(quoted_bytes(b"abcdef", 3), "\"abc…\" (6 bytes)");
    }
}
