//! `ckview keys`: every tensor of the bundle, as `tf.train.list_variables` lists them, with
//! dtype, shape, size and shard. Needs no object graph, so TF1 checkpoints work too, V1
//! checkpoints ("SavedTensorSlices", no shard column) included.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;

use ckview::format::v1::V1Checkpoint;
use ckview::format::{dtype_name, Bundle, Checkpoint, DataType};
use ckview::ObjectGraph;
use serde::Serialize;

use crate::json::{self, lossy};
use crate::output::{human_bytes, plural, printable, printable_bytes, shape_text, tensor_bytes, Out, Paint};
use crate::resolve::open_checkpoint;
use crate::Outcome;

/// One tensor, as `keys --json` lists it.
#[derive(Serialize)]
struct KeyRow<'g> {
    key: String,
    dtype: std::borrow::Cow<'static, str>,
    shape: &'g [u64],
    size_bytes: u64,
    shard: Option<u32>,
    slices: usize,
    /// The `full_name` the object graph records for the key; `None` without a graph.
    full_name: Option<&'g str>,
}

pub fn run(ckpt: &OsStr, pattern: Option<&str>, as_json: bool, out: &mut Out) -> Outcome {
    match open_checkpoint(ckpt)? {
        Checkpoint::V2(bundle) => run_bundle(&bundle, pattern, as_json, out),
        Checkpoint::V1(v1) => run_v1(&v1, pattern, as_json, out),
    }
}

/// The tensors of a V1 checkpoint: no shards, no full names.
fn run_v1(v1: &V1Checkpoint, pattern: Option<&str>, as_json: bool, out: &mut Out) -> Outcome {
    let tensors: Vec<_> =
        v1.tensors().iter().filter(|tensor| pattern.is_none_or(|pattern| matches(pattern, &tensor.name_text()))).collect();
    let rows: Vec<KeyRow<'_>> = tensors
        .iter()
        .map(|tensor| KeyRow {
            key: lossy(&tensor.name),
            dtype: dtype_name(tensor.dtype).into(),
            shape: &tensor.shape,
            // Strings: the bytes of their elements.
            size_bytes: match tensor.dtype {
                DataType::DtString => v1.read_strings(tensor).map_or(0, |strings| strings.iter().map(|s| s.len() as u64).sum()),
                _ => v1.value_size(tensor).unwrap_or(0),
            },
            shard: None,
            slices: if tensor.is_partitioned() { tensor.slices.len() } else { 0 },
            full_name: None,
        })
        .collect();
    let keys: Vec<&[u8]> = tensors.iter().map(|tensor| tensor.name.as_slice()).collect();
    print(&keys, &rows, as_json, out)
}

fn run_bundle(bundle: &Bundle, pattern: Option<&str>, as_json: bool, out: &mut Out) -> Outcome {
    // TF1 checkpoints and refused graphs have no full names; their keys still list.
    let graph = ObjectGraph::load(&bundle).ok();
    let full_names = graph.as_ref().map(full_names_by_key).unwrap_or_default();
    let mut tensors = bundle.tensors()?;
    if let Some(pattern) = pattern {
        tensors.retain(|(key, _)| {
            matches(pattern, &String::from_utf8_lossy(key))
                || full_names.get(key.as_slice()).is_some_and(|name| matches(pattern, name))
        });
    }
    let rows: Vec<KeyRow<'_>> = tensors
        .iter()
        .map(|(key, entry)| KeyRow {
            key: lossy(key),
            dtype: entry.dtype_label(),
            shape: &entry.shape,
            size_bytes: tensor_bytes(bundle, key, entry),
            shard: entry.slices.is_empty().then_some(entry.shard_id),
            slices: entry.slices.len(),
            full_name: full_names.get(key.as_slice()).copied(),
        })
        .collect();
    let keys: Vec<&[u8]> = tensors.iter().map(|(key, _)| key.as_slice()).collect();
    print(&keys, &rows, as_json, out)
}

/// The rows as JSON or as a table; `keys[i]` is the key of `rows[i]`.
fn print(keys: &[&[u8]], rows: &[KeyRow<'_>], as_json: bool, out: &mut Out) -> Outcome {
    if as_json {
        json::print(out, &rows)?;
        return Ok(0);
    }
    let with_names = rows.iter().any(|row| row.full_name.is_some());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .zip(keys)
        .map(|(row, key)| {
            let shard = match row.slices {
                0 => row.shard.map_or_else(|| "-".to_string(), |shard| shard.to_string()),
                1 => "1 slice".to_string(),
                count => format!("{count} slices"),
            };
            let mut cells =
                vec![printable_bytes(key), row.dtype.to_string(), shape_text(row.shape), human_bytes(row.size_bytes), shard];
            if with_names {
                cells.push(printable(row.full_name.unwrap_or("")).into_owned());
            }
            cells
        })
        .collect();
    let mut header: Vec<String> = ["KEY", "DTYPE", "SHAPE", "SIZE", "SHARD"].map(String::from).to_vec();
    if with_names {
        header.push("FULL NAME".into());
    }
    let mut widths = vec![0usize; header.len()];
    for row in cells.iter().chain([&header]) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    write_row(out, &header, &widths, true)?;
    for row in &cells {
        write_row(out, row, &widths, false)?;
    }
    let total: u64 = rows.iter().map(|row| row.size_bytes).sum();
    out.paint(Paint::Dim, format!("{}, {}", plural(rows.len() as u64, "tensor"), human_bytes(total)))?;
    writeln!(out)?;
    Ok(0)
}

/// The `full_name` of every serialized tensor, by its bundle key.
fn full_names_by_key(graph: &ObjectGraph) -> HashMap<&[u8], &str> {
    (0..graph.num_nodes() as u32)
        .filter_map(|node_id| graph.attributes(node_id).ok())
        .flatten()
        .filter(|attribute| !attribute.full_name.is_empty())
        .map(|attribute| (attribute.checkpoint_key.as_bytes(), attribute.full_name))
        .collect()
}

fn write_row(out: &mut Out, row: &[String], widths: &[usize], header: bool) -> std::io::Result<()> {
    const PAINTS: [Paint; 6] = [Paint::Bold, Paint::Cyan, Paint::Cyan, Paint::Green, Paint::Dim, Paint::Blue];
    for (column, cell) in row.iter().enumerate() {
        out.paint(if header { Paint::Dim } else { PAINTS[column] }, cell)?;
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
