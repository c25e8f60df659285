//! `ckview keys`: every tensor of the bundle, as `tf.train.list_variables` lists them, with
//! dtype, shape, size and shard. Needs no object graph, so TF1 checkpoints work too.

use std::ffi::OsStr;
use std::io::Write;

use ckview::format::dtype_name;

use crate::args::Options;
use crate::json::Json;
use crate::output::{human_bytes, plural, printable_bytes, shape_text, tensor_bytes, Out, Paint};
use crate::resolve::open_bundle;
use crate::Outcome;

pub fn run(ckpt: &OsStr, pattern: Option<&OsStr>, options: Options, out: &mut Out) -> Outcome {
    let bundle = open_bundle(ckpt)?;
    let pattern = pattern.map(|pattern| pattern.to_string_lossy().into_owned());
    let mut tensors = bundle.tensors()?;
    if let Some(pattern) = &pattern {
        tensors.retain(|(key, _)| matches(pattern, &String::from_utf8_lossy(key)));
    }
    let sizes: Vec<u64> = tensors.iter().map(|(key, entry)| tensor_bytes(&bundle, key, entry)).collect();
    if options.json {
        let mut json = Json::new(&mut *out);
        json.begin_array()?;
        for ((key, entry), &size) in tensors.iter().zip(&sizes) {
            json.begin_object()?;
            json.key("key")?;
            json.bytes_lossy(key)?;
            json.field_str("dtype", dtype_name(entry.dtype))?;
            json.field_uints("shape", entry.shape.iter().copied())?;
            json.field_uint("size_bytes", size)?;
            json.key("shard")?;
            if entry.slices.is_empty() {
                json.uint(entry.shard_id.into())?;
            } else {
                json.null()?;
            }
            json.field_uint("slices", entry.slices.len() as u64)?;
            json.end_object()?;
        }
        json.end_array()?;
        json.finish()?;
        return Ok(0);
    }
    let rows: Vec<[String; 5]> = tensors
        .iter()
        .zip(&sizes)
        .map(|((key, entry), &size)| {
            let shard = match entry.slices.len() {
                0 => entry.shard_id.to_string(),
                1 => "1 slice".to_string(),
                count => format!("{count} slices"),
            };
            [
                printable_bytes(key),
                dtype_name(entry.dtype).to_string(),
                shape_text(&entry.shape),
                human_bytes(size),
                shard,
            ]
        })
        .collect();
    let header = ["KEY", "DTYPE", "SHAPE", "SIZE", "SHARD"].map(String::from);
    let mut widths = [0usize; 5];
    for row in rows.iter().chain([&header]) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    write_row(out, &header, &widths, true)?;
    for row in &rows {
        write_row(out, row, &widths, false)?;
    }
    let total: u64 = sizes.iter().sum();
    out.paint(Paint::Dim, format!("{}, {}", plural(rows.len() as u64, "tensor"), human_bytes(total)))?;
    writeln!(out)?;
    Ok(0)
}

fn write_row(out: &mut Out, row: &[String; 5], widths: &[usize; 5], header: bool) -> std::io::Result<()> {
    let paints =
        if header { [Paint::Dim; 5] } else { [Paint::Bold, Paint::Cyan, Paint::Cyan, Paint::Green, Paint::Dim] };
    for (column, cell) in row.iter().enumerate() {
        out.paint(paints[column], cell)?;
        if column + 1 < row.len() {
            let pad = widths[column] - cell.chars().count() + 2;
            write!(out, "{:pad$}", "")?;
        }
    }
    writeln!(out)
}

/// Whether `key` is kept by `pattern`: a glob over the whole key when the pattern has `*`
/// (any run of characters, `/` included) or `?` (one character); else a substring.
pub fn matches(pattern: &str, key: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return key.contains(pattern);
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let key: Vec<char> = key.chars().collect();
    let (mut p, mut k) = (0, 0);
    // Where the last `*` was, and the key position it currently stands for the end of.
    let mut star: Option<(usize, usize)> = None;
    while k < key.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, k));
                p += 1;
            }
            Some(&c) if c == '?' || c == key[k] => {
                p += 1;
                k += 1;
            }
            _ => match star {
                // Let the last star swallow one more character and retry from there.
                Some((star_p, star_k)) => {
                    star = Some((star_p, star_k + 1));
                    p = star_p + 1;
                    k = star_k + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_and_substrings() {
        assert!(matches("kernel", "model/layer/kernel/.ATTRIBUTES/VARIABLE_VALUE"));
        assert!(!matches("bias", "model/layer/kernel"));
        assert!(matches("model/*kernel*", "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"));
        assert!(!matches("model/*kernel", "model/layer/kernel/x"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "abbc"));
        assert!(matches("*", ""));
        assert!(matches("*ü*", "mapping/ünicöde"));
        assert!(matches("**a*b", "xxaab"));
    }
}
