//! `ckview show --json` values against TensorFlow's own, for every numeric dtype of the
//! `dtype_new` fixture (sub-byte ints and floats, float8: `tf_answers.json`, values as
//! TensorFlow's tensor gives them through ml_dtypes) and the dtypes of `dtype_zoo` that
//! `cli.rs` does not decode (float16, bfloat16, complex: golden.json's little-endian hex).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `show --json --limit 0`: the parsed document, and the text of every number in `values`
/// (serde_json's float parsing is not correctly rounded; complex pairs flattened).
fn show(ckpt: &PathBuf, key: &str) -> (Value, Vec<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_ckview"))
        .args(["show", "--json", "--limit", "0"])
        .arg(ckpt)
        .arg(key)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{key}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let start = text.find("\"values\":[").unwrap() + "\"values\":[".len();
    let mut depth = 1;
    let end = start
        + text[start..]
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '[' => 1,
                    ']' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .unwrap()
            .0;
    let values = text[start..end].replace(['[', ']'], "");
    let values = if values.is_empty() { Vec::new() } else { values.split(',').map(str::to_string).collect() };
    (serde_json::from_str(&text).unwrap(), values)
}

/// A float printed by ckview equals TensorFlow's value bit for bit (sign of zero included);
/// TensorFlow's answers write NaN and the infinities as strings.
fn assert_float(text: &str, expected: &Value, context: &str) {
    match expected {
        Value::String(special) => assert_eq!(text, format!("\"{special}\""), "{context}"),
        number => {
            let expected = number.as_f64().unwrap();
            let shown: f64 = text.parse::<f32>().map(f64::from).unwrap_or_else(|_| text.parse().unwrap());
            assert_eq!(shown.to_bits(), expected.to_bits(), "{context}: {text} vs {expected}");
        }
    }
}

#[test]
fn show_gives_tensorflows_values_for_sub_byte_and_float8_dtypes() {
    let answers = read_json(fixture_dir("dtype_new").join("tf_answers.json"));
    let ckpt = fixture_dir("dtype_new").join("new");
    let keys = answers["keys"].as_object().unwrap();
    let mut dtypes: Vec<&str> = keys.values().map(|answer| answer["dtype"].as_str().unwrap()).collect();
    dtypes.sort_unstable();
    dtypes.dedup();
    assert_eq!(
        dtypes,
        [
            "float4_e2m1fn", "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
            "int2", "int4", "uint2", "uint4"
        ]
    );
    for (key, answer) in keys {
        let (shown, texts) = show(&ckpt, key);
        assert_eq!(shown["dtype"], answer["dtype"], "{key}");
        assert_eq!(shown["shape"], answer["shape"], "{key}");
        assert_eq!(shown["size_bytes"], answer["stored_size"], "{key}");
        let expected = answer["values"].as_array().unwrap();
        assert_eq!(texts.len(), expected.len(), "{key}: {texts:?}");
        let integer = answer["dtype"].as_str().unwrap().contains("int");
        for (index, (text, value)) in texts.iter().zip(expected).enumerate() {
            let context = format!("{key}[{index}]");
            if integer {
                assert_eq!(text.parse::<i64>().unwrap(), value.as_i64().unwrap(), "{context}");
            } else {
                assert_float(text, value, &context);
            }
        }
        // Statistics over the same values: int4 -8 is the minimum, not 8.
        if integer && !expected.is_empty() {
            let numbers: Vec<i64> = expected.iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(shown["stats"]["min"].as_i64(), numbers.iter().min().copied(), "{key}");
            assert_eq!(shown["stats"]["max"].as_i64(), numbers.iter().max().copied(), "{key}");
        }
    }
}

#[test]
fn text_show_sign_extends_int4() {
    let ckpt = fixture_dir("dtype_new").join("new");
    let output = Command::new(env!("CARGO_BIN_EXE_ckview")).arg("show").arg(&ckpt).arg("int4/.ATTRIBUTES/VARIABLE_VALUE").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    // TensorFlow's values of int4: [-8, -2, -1, 0, 1, 7, 3].
    assert!(text.contains("values  [-8, -2, -1, 0, 1, 7, 3]"), "{text}");
    assert!(text.contains("min     -8"), "{text}");
}

/// An IEEE half from its bits, written here independently of the CLI's decoder.
fn half(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let (exponent, mantissa) = (i32::from(bits >> 10 & 0x1f), f64::from(bits & 0x3ff));
    sign * match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1024.0 + mantissa) * 2f64.powi(exponent - 25),
    }
}

#[test]
fn show_gives_tensorflows_values_for_the_zoos_half_bfloat16_and_complex() {
    let golden = read_json(fixture_dir("dtype_zoo").join("golden.json"));
    let ckpt = fixture_dir("dtype_zoo").join("zoo");
    for dtype in ["float16", "bfloat16", "complex64", "complex128"] {
        let key = format!("{dtype}/.ATTRIBUTES/VARIABLE_VALUE");
        let expected = &golden["tensors"][&key];
        let bytes: Vec<u8> = {
            let hex = expected["hex"].as_str().unwrap();
            (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap()).collect()
        };
        let numbers: Vec<f64> = match dtype {
            "float16" => bytes.chunks_exact(2).map(|b| half(u16::from_le_bytes([b[0], b[1]]))).collect(),
            "bfloat16" => bytes.chunks_exact(2).map(|b| f64::from(f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))).collect(),
            "complex64" => bytes.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap()))).collect(),
            _ => bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
        };
        let (shown, texts) = show(&ckpt, &key);
        assert_eq!(shown["dtype"], expected["dtype"], "{key}");
        assert_eq!(texts.len(), numbers.len(), "{key}");
        for (index, (text, number)) in texts.iter().zip(&numbers).enumerate() {
            let context = format!("{key}[{index}]");
            if number.is_nan() {
                assert_eq!(text, "\"nan\"", "{context}");
            } else if dtype == "complex128" {
                assert_eq!(text.parse::<f64>().unwrap().to_bits(), number.to_bits(), "{context}");
            } else {
                assert_float(text, &serde_json::json!(number), &context);
            }
        }
    }
}
