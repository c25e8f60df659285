//! `ckview show`: one tensor, named by its bundle key or by a node's dotted path: metadata, the
//! first elements and summary statistics.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use ckview::format::{dtype_name, Bundle, DataType, FormatError, TensorEntry, Verify};
use ckview::graph::Attribute;
use ckview::{GraphError, ObjectGraph};

use crate::args::Options;
use crate::json::Json;
use crate::output::{human_bytes, printable, printable_bytes, shape_text, tensor_bytes, Out, Paint};
use crate::resolve::{nodes_at_path, open_bundle};
use crate::values::{float_text, kind, quoted_bytes, stats, Element, Kind, Stats};
use crate::{Failure, Outcome};

/// Characters of one string element shown in text output.
const STRING_CHARS: usize = 200;

/// The tensor to show: its key, and the node it belongs to when named by path.
struct Target {
    key: Vec<u8>,
    node: Option<(u32, String)>,
}

/// The values read, as far as shown.
enum Values {
    Numbers {
        kind: Kind,
        bytes: Vec<u8>,
    },
    Strings(Vec<Vec<u8>>),
    /// Variants and other dtypes without a fixed layout: not decoded.
    Opaque,
}

pub fn run(ckpt: &OsStr, target: &OsStr, options: Options, out: &mut Out) -> Outcome {
    let bundle = open_bundle(ckpt)?;
    let target = resolve(&bundle, target)?;
    let key = target.key.as_slice();
    let entry = bundle.entry(key)?.ok_or_else(|| FormatError::KeyNotFound {
        path: bundle.table().path().to_path_buf(),
        key: String::from_utf8_lossy(key).into_owned(),
    })?;
    let values = read(&bundle, key, &entry)?;
    let count = match &values {
        Values::Numbers { kind, bytes } => bytes.len() / kind.width(),
        Values::Strings(strings) => strings.len(),
        Values::Opaque => 0,
    };
    let shown = if options.limit == 0 { count } else { count.min(options.limit) };
    let summary = match &values {
        Values::Numbers { kind, bytes } => Some(stats(*kind, bytes)),
        _ => None,
    };
    if options.json {
        write_json(out, &bundle, &target, &entry, &values, shown, summary.as_ref())?;
    } else {
        write_text(out, &bundle, &target, &entry, &values, shown, summary.as_ref())?;
    }
    Ok(0)
}

/// A key of the bundle, else a dotted node path (`root.leaf.a_var`) standing for the node's
/// `VARIABLE_VALUE` tensor (or its only tensor).
fn resolve(bundle: &Bundle, target: &OsStr) -> Result<Target, Failure> {
    let key = target.as_bytes();
    if bundle.entry(key)?.is_some() {
        return Ok(Target { key: key.to_vec(), node: None });
    }
    let text = target.to_string_lossy();
    let prefix = bundle.prefix().display().to_string();
    let not_found = || Failure::Error(format!("{prefix}: no tensor with key {text:?}"));
    if text != "root" && !text.starts_with("root.") {
        return Err(not_found());
    }
    let graph = match ObjectGraph::load(bundle) {
        Ok(graph) => graph,
        Err(GraphError::NameBasedCheckpoint { .. }) => {
            return Err(Failure::Error(format!(
                "{prefix}: no tensor with key {text:?}, and no object graph to look a path up in (a TF1 \
                 name-based checkpoint; `ckview keys` lists its keys)"
            )))
        }
        Err(error) => return Err(error.into()),
    };
    let mut with_tensor = Vec::new();
    let candidates = nodes_at_path(&graph, &text);
    for &node_id in &candidates {
        let attributes: Vec<Attribute<'_>> = graph.attributes(node_id)?.collect();
        let chosen = match attributes.iter().find(|attribute| attribute.name == "VARIABLE_VALUE") {
            Some(attribute) => Some(*attribute),
            None if attributes.len() == 1 => Some(attributes[0]),
            None if attributes.is_empty() => None,
            None => {
                let keys: Vec<&str> = attributes.iter().map(|attribute| attribute.checkpoint_key).collect();
                return Err(Failure::Error(format!(
                    "{prefix}: node {text} (id {node_id}) has {} tensors and none is VARIABLE_VALUE; show one by \
                     key: {}",
                    keys.len(),
                    keys.join(", ")
                )));
            }
        };
        if let Some(attribute) = chosen {
            with_tensor.push((node_id, attribute.checkpoint_key.as_bytes().to_vec()));
        }
    }
    match (candidates.as_slice(), with_tensor.as_slice()) {
        ([], _) => Err(Failure::Error(format!("{prefix}: no tensor with key {text:?} and no node with that path"))),
        (_, [(node_id, key)]) => Ok(Target { key: key.clone(), node: Some((*node_id, text.into_owned())) }),
        ([node_id], []) => Err(Failure::Error(format!(
            "{prefix}: node {text} (id {node_id}) has no tensors; `ckview children` lists what it holds"
        ))),
        (_, _) => Err(Failure::Error(format!(
            "{prefix}: the path {text} names {} nodes; show the tensor by its key instead",
            candidates.len()
        ))),
    }
}

fn read(bundle: &Bundle, key: &[u8], entry: &TensorEntry) -> Result<Values, Failure> {
    if entry.dtype == DataType::DtString {
        let strings = bundle.read_string_values(key, entry)?;
        return Ok(Values::Strings(strings.into_iter().map(<[u8]>::to_vec).collect()));
    }
    let Some(kind) = kind(entry.dtype) else {
        return Ok(Values::Opaque);
    };
    let size = bundle.value_size(key, entry)?;
    let size = usize::try_from(size).map_err(|_| Failure::Error(format!("tensor of {size} bytes is too large")))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| {
        Failure::Error(format!("cannot allocate {} to read {}", human_bytes(size as u64), printable_bytes(key)))
    })?;
    bytes.resize(size, 0);
    bundle.read_value(key, entry, &mut bytes, Verify::Checksums)?;
    Ok(Values::Numbers { kind, bytes })
}

fn element(kind: Kind, bytes: &[u8], index: usize) -> Element {
    let width = kind.width();
    kind.decode(&bytes[index * width..(index + 1) * width])
}

fn write_text(
    out: &mut Out,
    bundle: &Bundle,
    target: &Target,
    entry: &TensorEntry,
    values: &Values,
    shown: usize,
    summary: Option<&Stats>,
) -> std::io::Result<()> {
    let line = |out: &mut Out, label: &str, text: String| -> std::io::Result<()> {
        out.paint(Paint::Dim, format!("{label:<8}"))?;
        writeln!(out, "{text}")
    };
    out.paint(Paint::Dim, format!("{:<8}", "key"))?;
    out.paint(Paint::Bold, printable_bytes(&target.key))?;
    writeln!(out)?;
    if let Some((node_id, path)) = &target.node {
        line(out, "node", format!("{} (id {node_id})", printable(path)))?;
    }
    line(out, "dtype", dtype_name(entry.dtype).to_string())?;
    let elements = entry.num_elements();
    let noun = if elements == 1 { "element" } else { "elements" };
    line(out, "shape", format!("{} ({elements} {noun})", shape_text(&entry.shape)))?;
    line(out, "size", human_bytes(tensor_bytes(bundle, &target.key, entry)))?;
    let stored = if entry.slices.is_empty() {
        format!(
            "shard {} ({}), offset {}, {} bytes, masked crc32c {:#010x}",
            entry.shard_id,
            bundle.shard_path(entry.shard_id).file_name().unwrap_or_default().to_string_lossy(),
            entry.offset,
            entry.size,
            entry.masked_crc32c
        )
    } else {
        format!("partitioned into {} slices", entry.slices.len())
    };
    line(out, "stored", stored)?;
    let texts: Vec<String> = match values {
        Values::Numbers { kind, bytes } => (0..shown).map(|index| element(*kind, bytes, index).text()).collect(),
        Values::Strings(strings) => strings[..shown].iter().map(|string| quoted_bytes(string, STRING_CHARS)).collect(),
        Values::Opaque => {
            return line(
                out,
                "values",
                format!("not decoded ({} values have no fixed layout)", dtype_name(entry.dtype)),
            );
        }
    };
    let count = elements as usize;
    let more = if shown < count { format!(", ...]  (first {shown} of {count})") } else { "]".into() };
    line(out, "values", format!("[{}{more}", texts.join(", ")))?;
    match summary {
        Some(Stats::Numbers { range, nan }) => {
            if let Some((min, max, mean)) = range {
                let single = matches!(min, Element::Float(_, true));
                line(out, "min", min.text())?;
                line(out, "max", max.text())?;
                line(out, "mean", float_text(*mean, single))?;
            }
            if *nan > 0 {
                line(out, "nan", format!("{nan} of {count}"))?;
            }
        }
        Some(Stats::Bools { true_count }) => line(out, "true", format!("{true_count} of {count}"))?,
        Some(Stats::Complex { mean: Some((re, im)) }) => {
            let single = matches!(values, Values::Numbers { kind: Kind::Complex64, .. });
            line(out, "mean", Element::Complex(*re, *im, single).text())?;
        }
        _ => {}
    }
    Ok(())
}

fn json_element(json: &mut Json<&mut Out>, element: Element) -> std::io::Result<()> {
    let float = |json: &mut Json<&mut Out>, value: f64, single: bool| {
        if single {
            json.float32(value as f32)
        } else {
            json.float(value)
        }
    };
    match element {
        Element::Float(value, single) => float(json, value, single),
        Element::Int(value) if value < 0 => json.int(value as i64),
        Element::Int(value) => json.uint(value as u64),
        Element::Bool(value) => json.boolean(value),
        Element::Complex(re, im, single) => {
            json.begin_array()?;
            float(json, re, single)?;
            float(json, im, single)?;
            json.end_array()
        }
    }
}

fn write_json(
    out: &mut Out,
    bundle: &Bundle,
    target: &Target,
    entry: &TensorEntry,
    values: &Values,
    shown: usize,
    summary: Option<&Stats>,
) -> std::io::Result<()> {
    let mut json = Json::new(out);
    json.begin_object()?;
    json.key("key")?;
    json.bytes_lossy(&target.key)?;
    json.key("node")?;
    match &target.node {
        Some((node_id, path)) => {
            json.begin_object()?;
            json.field_uint("id", (*node_id).into())?;
            json.field_str("path", path)?;
            json.end_object()?;
        }
        None => json.null()?,
    }
    json.field_str("dtype", dtype_name(entry.dtype))?;
    json.field_uints("shape", entry.shape.iter().copied())?;
    json.field_uint("num_elements", entry.num_elements())?;
    json.field_uint("size_bytes", tensor_bytes(bundle, &target.key, entry))?;
    json.key("stored")?;
    if entry.slices.is_empty() {
        json.begin_object()?;
        json.field_uint("shard", entry.shard_id.into())?;
        json.field_uint("offset", entry.offset)?;
        json.field_uint("size", entry.size)?;
        json.field_uint("masked_crc32c", entry.masked_crc32c.into())?;
        json.end_object()?;
    } else {
        json.null()?;
    }
    json.field_uint("slices", entry.slices.len() as u64)?;
    json.key("values")?;
    match values {
        Values::Numbers { kind, bytes } => {
            json.begin_array()?;
            for index in 0..shown {
                json_element(&mut json, element(*kind, bytes, index))?;
            }
            json.end_array()?;
        }
        Values::Strings(strings) => {
            json.begin_array()?;
            for string in &strings[..shown] {
                json.bytes_lossy(string)?;
            }
            json.end_array()?;
            json.key("values_hex")?;
            json.begin_array()?;
            for string in &strings[..shown] {
                json.string(&string.iter().map(|byte| format!("{byte:02x}")).collect::<String>())?;
            }
            json.end_array()?;
        }
        Values::Opaque => json.null()?,
    }
    let count = match values {
        Values::Numbers { kind, bytes } => bytes.len() / kind.width(),
        Values::Strings(strings) => strings.len(),
        Values::Opaque => 0,
    };
    json.key("truncated")?;
    json.boolean(shown < count)?;
    json.key("stats")?;
    match summary {
        Some(Stats::Numbers { range, nan }) => {
            json.begin_object()?;
            let (min, max, mean) = match range {
                Some((min, max, mean)) => (Some(*min), Some(*max), Some(*mean)),
                None => (None, None, None),
            };
            for (name, value) in [("min", min), ("max", max)] {
                json.key(name)?;
                match value {
                    Some(value) => json_element(&mut json, value)?,
                    None => json.null()?,
                }
            }
            json.key("mean")?;
            match (mean, min) {
                (Some(mean), Some(Element::Float(_, true))) => json.float32(mean as f32)?,
                (Some(mean), _) => json.float(mean)?,
                (None, _) => json.null()?,
            }
            json.field_uint("nan_count", *nan)?;
            json.end_object()?;
        }
        Some(Stats::Bools { true_count }) => {
            json.begin_object()?;
            json.field_uint("true_count", *true_count)?;
            json.end_object()?;
        }
        Some(Stats::Complex { mean }) => {
            json.begin_object()?;
            json.key("mean")?;
            let single = matches!(values, Values::Numbers { kind: Kind::Complex64, .. });
            match mean {
                Some((re, im)) => json_element(&mut json, Element::Complex(*re, *im, single))?,
                None => json.null()?,
            }
            json.end_object()?;
        }
        None => json.null()?,
    }
    json.end_object()?;
    json.finish()?;
    Ok(())
}
