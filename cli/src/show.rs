//! `ckview show`: one tensor, named by its bundle key or by a node's dotted path: metadata, the
//! first elements and summary statistics.

use std::ffi::OsStr;
use std::io::Write;

use ckview::format::slice_key::{slice_key, slice_spec};
use ckview::format::v1::V1Checkpoint;
use ckview::format::{Bundle, Checkpoint, DataType, FormatError, TensorEntry, Verify};
use ckview::graph::Attribute;
use ckview::{GraphError, ObjectGraph};
use serde::Serialize;

use crate::json::{self, lossy, Float};
use crate::nearest::did_you_mean;
use crate::output::{human_bytes, printable, printable_bytes, shape_text, tensor_bytes, Out, Paint};
use crate::resolve::{nodes_named, open_checkpoint};
use crate::values::{float_text, kind, quoted_bytes, stats, Element, Kind, Stats};
use crate::{Failure, Outcome};

/// Characters of one string element shown in text output.
const STRING_CHARS: usize = 200;

/// The tensor to show: its key, and the node it belongs to (with TensorFlow's path, `None`
/// for a slot variable) when named by node.
struct Target {
    key: Vec<u8>,
    node: Option<(u32, Option<String>)>,
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

pub fn run(ckpt: &OsStr, target: &str, limit: usize, as_json: bool, out: &mut Out) -> Outcome {
    let bundle = match open_checkpoint(ckpt)? {
        Checkpoint::V2(bundle) => bundle,
        Checkpoint::V1(v1) => return run_v1(&v1, target, limit, as_json, out),
    };
    let target = resolve(&bundle, target)?;
    let key = target.key.as_slice();
    let entry = bundle.entry(key)?.ok_or_else(|| FormatError::KeyNotFound {
        path: bundle.table().path().to_path_buf(),
        key: lossy(key),
    })?;
    let values = read(&bundle, key, &entry)?;
    let slices = slices(&bundle, key, &entry)?;
    let size_bytes = tensor_bytes(&bundle, key, &entry);
    let stored = Where::Bundle(&bundle, &slices);
    print(Shown { stored, size_bytes, target: &target, entry: &entry, values: &values, shown: 0 }, limit, as_json, out)
}

/// A tensor of a V1 checkpoint, named by its key (V1 checkpoints have no object graph).
fn run_v1(v1: &V1Checkpoint, text: &str, limit: usize, as_json: bool, out: &mut Out) -> Outcome {
    let Some(tensor) = v1.tensor(text.as_bytes()) else {
        let keys: Vec<String> = v1.tensors().iter().map(|tensor| tensor.name_text()).collect();
        return Err(Failure::Error(format!(
            "{}: no tensor with key {text:?} (a V1 checkpoint has no object graph to look paths or names up in){}",
            v1.path().display(),
            did_you_mean(text, keys.iter().map(String::as_str))
        )));
    };
    let entry = tensor.metadata();
    let values = if tensor.dtype == DataType::DtString {
        Values::Strings(v1.read_strings(tensor)?)
    } else if let Some(kind) = kind(tensor.dtype) {
        let mut bytes = vec![0u8; v1.value_size(tensor)? as usize];
        v1.read_value(tensor, &mut bytes)?;
        Values::Numbers { kind, bytes }
    } else {
        Values::Opaque
    };
    let size_bytes = match &values {
        Values::Numbers { bytes, .. } => bytes.len() as u64,
        Values::Strings(strings) => strings.iter().map(|s| s.len() as u64).sum(),
        Values::Opaque => 0,
    };
    let pieces = if tensor.is_partitioned() { tensor.slices.len() } else { 0 };
    let target = Target { key: tensor.name.clone(), node: None };
    let stored = Where::V1 { files: v1.files().len(), pieces };
    print(Shown { stored, size_bytes, target: &target, entry: &entry, values: &values, shown: 0 }, limit, as_json, out)
}

/// Prints `shown`, its first `limit` elements (0: all) as values.
fn print(mut shown: Shown<'_>, limit: usize, as_json: bool, out: &mut Out) -> Outcome {
    let count = match shown.values {
        Values::Numbers { kind, bytes } => bytes.len() / kind.width(),
        Values::Strings(strings) => strings.len(),
        Values::Opaque => 0,
    };
    shown.shown = if limit == 0 { count } else { count.min(limit) };
    let summary = match shown.values {
        Values::Numbers { kind, bytes } => Some(stats(*kind, bytes)),
        _ => None,
    };
    if as_json {
        json::print(out, &shown.document(summary.as_ref()))?;
    } else {
        shown.write_text(out, summary.as_ref())?;
    }
    Ok(0)
}

/// Where a tensor's bytes are: in a bundle (with its slices, for a partitioned tensor), or in
/// the files of a V1 checkpoint (in `pieces` slices, 0 when stored whole).
enum Where<'a> {
    Bundle(&'a Bundle, &'a [Slice]),
    V1 { files: usize, pieces: usize },
}

/// Everything printed about one tensor.
struct Shown<'a> {
    stored: Where<'a>,
    size_bytes: u64,
    target: &'a Target,
    entry: &'a TensorEntry,
    values: &'a Values,
    /// How many elements are printed.
    shown: usize,
}

/// One stored slice of a partitioned tensor.
#[derive(Serialize)]
struct Slice {
    /// TensorFlow's text for it: `0,10:0,3` (start,length per dimension; `-` for all of one).
    slice: String,
    #[serde(flatten)]
    stored: Stored,
}

/// Where an unpartitioned tensor's bytes are.
#[derive(Serialize)]
struct Stored {
    shard: u32,
    offset: u64,
    size: u64,
    masked_crc32c: u32,
}

impl Stored {
    fn of(entry: &TensorEntry) -> Stored {
        Stored { shard: entry.shard_id, offset: entry.offset, size: entry.size, masked_crc32c: entry.masked_crc32c }
    }
}

fn slices(bundle: &Bundle, key: &[u8], entry: &TensorEntry) -> Result<Vec<Slice>, Failure> {
    let mut slices = Vec::with_capacity(entry.slices.len());
    for extents in &entry.slices {
        let slice = slice_spec(extents);
        let stored = bundle.entry(&slice_key(key, extents))?.ok_or_else(|| {
            Failure::Error(format!("{}: slice {slice} of {} is missing", bundle.prefix().display(), printable_bytes(key)))
        })?;
        slices.push(Slice { slice, stored: Stored::of(&stored) });
    }
    Ok(slices)
}

/// A bundle key; else a node id (`14`, `#14`), a path `tree` prints or a full_name, standing
/// for the node's `VARIABLE_VALUE` tensor (or its only tensor).
fn resolve(bundle: &Bundle, text: &str) -> Result<Target, Failure> {
    if bundle.entry(text.as_bytes())?.is_some() {
        return Ok(Target { key: text.as_bytes().to_vec(), node: None });
    }
    let prefix = bundle.prefix().display().to_string();
    let keys = || -> Result<Vec<String>, Failure> { Ok(bundle.tensors()?.iter().map(|(key, _)| lossy(key)).collect()) };
    let graph = match ObjectGraph::load(bundle) {
        Ok(graph) => graph,
        Err(GraphError::NameBasedCheckpoint { .. }) => {
            let keys = keys()?;
            return Err(Failure::Error(format!(
                "{prefix}: no tensor with key {text:?} (a TF1 name-based checkpoint has no object graph to look \
                 paths or names up in){}",
                did_you_mean(text, keys.iter().map(String::as_str))
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let candidates = nodes_named(&graph, text)?;
    if candidates.is_empty() {
        let keys = keys()?;
        let paths: Vec<String> =
            graph.descendants().iter().filter_map(|&node_id| graph.path(node_id).ok().flatten()).collect();
        let names = keys.iter().chain(&paths).map(String::as_str).chain(graph.full_names());
        return Err(Failure::Error(format!(
            "{prefix}: no tensor with key {text:?}, and no node with that id, path or full_name{}",
            did_you_mean(text, names)
        )));
    }
    let mut with_tensor = Vec::new();
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
            // A table or an iterator stores its attribute under suffixed keys (`-keys`,
            // `-values`, `_STATE`): one of them is the tensor; several are named to choose from.
            let siblings: Vec<&str> =
                attributes.iter().map(|other| other.checkpoint_key).filter(|&key| key != attribute.checkpoint_key).collect();
            let stored = ckview::view::attribute_tensors(bundle, attribute.checkpoint_key, &siblings)?;
            match stored.as_slice() {
                [one] => with_tensor.push((node_id, one.key.as_bytes().to_vec())),
                several => {
                    let keys: Vec<&str> = several.iter().map(|tensor| tensor.key.as_str()).collect();
                    return Err(Failure::Error(format!(
                        "{prefix}: node {text} (id {node_id}) stores its {} under {} keys; show one by key: {}",
                        attribute.name,
                        keys.len(),
                        keys.join(", ")
                    )));
                }
            }
        }
    }
    match (candidates.as_slice(), with_tensor.as_slice()) {
        (_, [(node_id, key)]) => Ok(Target { key: key.clone(), node: Some((*node_id, graph.path(*node_id)?)) }),
        ([node_id], []) => Err(Failure::Error(format!(
            "{prefix}: node {text} (id {node_id}) has no tensors; `ckview children` lists what it holds"
        ))),
        (_, _) => Err(Failure::Error(format!(
            "{prefix}: {text:?} names {} nodes ({}); show one by node id or key instead",
            candidates.len(),
            candidates.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn read(bundle: &Bundle, key: &[u8], entry: &TensorEntry) -> Result<Values, Failure> {
    if entry.dtype == DataType::DtString {
        let strings = bundle.read_string_values(key, entry)?;
        return Ok(Values::Strings(strings.iter().map(<[u8]>::to_vec).collect()));
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

impl Shown<'_> {
    fn write_text(&self, out: &mut Out, summary: Option<&Stats>) -> std::io::Result<()> {
        let (entry, target) = (self.entry, self.target);
        let line = |out: &mut Out, label: &str, text: String| -> std::io::Result<()> {
            out.paint(Paint::Dim, format!("{label:<8}"))?;
            writeln!(out, "{text}")
        };
        out.paint(Paint::Dim, format!("{:<8}", "key"))?;
        out.paint(Paint::Bold, printable_bytes(&target.key))?;
        writeln!(out)?;
        if let Some((node_id, path)) = &target.node {
            let path = path.as_deref().map_or_else(|| "a slot variable".into(), printable);
            line(out, "node", format!("#{node_id} {path}"))?;
        }
        line(out, "dtype", entry.dtype_label().into_owned())?;
        let elements = entry.num_elements();
        let noun = if elements == 1 { "element" } else { "elements" };
        line(out, "shape", format!("{} ({elements} {noun})", shape_text(&entry.shape)))?;
        line(out, "size", human_bytes(self.size_bytes))?;
        let (bundle, slices) = match self.stored {
            Where::Bundle(bundle, slices) => (bundle, slices),
            Where::V1 { files, pieces } => {
                let file_text = if files == 1 { "1 file".to_string() } else { format!("{files} files") };
                let text = match pieces {
                    0 => format!("V1 checkpoint ({file_text})"),
                    pieces => format!("V1 checkpoint ({file_text}), partitioned into {pieces} slices"),
                };
                line(out, "stored", text)?;
                return self.write_values(out, summary);
            }
        };
        let shard_text = |stored: &Stored| {
            format!(
                "shard {} ({}), offset {}, {} bytes, masked crc32c {:#010x}",
                stored.shard,
                bundle.shard_path(stored.shard).file_name().unwrap_or_default().to_string_lossy(),
                stored.offset,
                stored.size,
                stored.masked_crc32c
            )
        };
        if entry.slices.is_empty() {
            line(out, "stored", shard_text(&Stored::of(entry)))?;
        } else {
            line(out, "stored", format!("partitioned into {} slices", entry.slices.len()))?;
            for slice in slices {
                let name = printable_bytes(&target.key);
                line(out, "", format!("{name} slice {}: {}", slice.slice, shard_text(&slice.stored)))?;
            }
        }
        self.write_values(out, summary)
    }

    /// The `values` line and the summary lines.
    fn write_values(&self, out: &mut Out, summary: Option<&Stats>) -> std::io::Result<()> {
        let (entry, shown) = (self.entry, self.shown);
        let line = |out: &mut Out, label: &str, text: String| -> std::io::Result<()> {
            out.paint(Paint::Dim, format!("{label:<8}"))?;
            writeln!(out, "{text}")
        };
        let elements = entry.num_elements();
        let texts: Vec<String> = match self.values {
            Values::Numbers { kind, bytes } => (0..shown).map(|index| element(*kind, bytes, index).text()).collect(),
            Values::Strings(strings) => {
                strings[..shown].iter().map(|string| quoted_bytes(string, STRING_CHARS)).collect()
            }
            Values::Opaque => {
                let why = format!("not decoded ({} values have no fixed layout)", entry.dtype_label());
                return line(out, "values", why);
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
                let single = matches!(self.values, Values::Numbers { kind: Kind::Complex64, .. });
                line(out, "mean", Element::Complex(*re, *im, single).text())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The `show --json` document of docs/cli.md.
    fn document(&self, summary: Option<&Stats>) -> ShowJson<'_> {
        let (entry, target) = (self.entry, self.target);
        let (values, values_hex, count) = match self.values {
            Values::Numbers { kind, bytes } => {
                let shown = (0..self.shown).map(|index| Value::from(element(*kind, bytes, index))).collect();
                (Some(shown), None, bytes.len() / kind.width())
            }
            Values::Strings(strings) => {
                let shown = &strings[..self.shown];
                let hex = shown.iter().map(|string| string.iter().map(|byte| format!("{byte:02x}")).collect()).collect();
                (Some(shown.iter().map(|string| Value::Text(lossy(string))).collect()), Some(hex), strings.len())
            }
            Values::Opaque => (None, None, 0),
        };
        let complex64 = matches!(self.values, Values::Numbers { kind: Kind::Complex64, .. });
        let stats = summary.map(|summary| match summary {
            Stats::Numbers { range, nan } => {
                let single = matches!(range, Some((Element::Float(_, true), ..)));
                StatsJson::Numbers {
                    min: range.map(|(min, ..)| Value::from(min)),
                    max: range.map(|(_, max, _)| Value::from(max)),
                    mean: range.map(|(.., mean)| Float::new(mean, single)),
                    nan_count: *nan,
                }
            }
            Stats::Bools { true_count } => StatsJson::Bools { true_count: *true_count },
            Stats::Complex { mean } => StatsJson::Complex {
                mean: mean.map(|(re, im)| [Float::new(re, complex64), Float::new(im, complex64)]),
            },
        });
        ShowJson {
            key: lossy(&target.key),
            node: target.node.as_ref().map(|(id, path)| NodeJson { id: *id, path: path.as_deref() }),
            dtype: entry.dtype_label(),
            shape: &entry.shape,
            num_elements: entry.num_elements(),
            size_bytes: self.size_bytes,
            stored: match self.stored {
                Where::Bundle(..) => entry.slices.is_empty().then(|| Stored::of(entry)),
                Where::V1 { .. } => None,
            },
            slices: match self.stored {
                Where::Bundle(..) => entry.slices.len(),
                Where::V1 { pieces, .. } => pieces,
            },
            slice_list: match self.stored {
                Where::Bundle(_, slices) => slices,
                Where::V1 { .. } => &[],
            },
            values,
            values_hex,
            truncated: self.shown < count,
            stats,
        }
    }
}

#[derive(Serialize)]
struct ShowJson<'a> {
    key: String,
    node: Option<NodeJson<'a>>,
    dtype: std::borrow::Cow<'static, str>,
    shape: &'a [u64],
    num_elements: u64,
    size_bytes: u64,
    stored: Option<Stored>,
    slices: usize,
    slice_list: &'a [Slice],
    values: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values_hex: Option<Vec<String>>,
    truncated: bool,
    stats: Option<StatsJson>,
}

#[derive(Serialize)]
struct NodeJson<'a> {
    id: u32,
    path: Option<&'a str>,
}

/// One element: a number in its dtype's precision, `true`/`false`, `[re, im]`, or a string.
#[derive(Serialize)]
#[serde(untagged)]
enum Value {
    Float(Float),
    Signed(i64),
    Unsigned(u64),
    Bool(bool),
    Complex([Float; 2]),
    Text(String),
}

impl From<Element> for Value {
    fn from(element: Element) -> Value {
        match element {
            Element::Float(value, single) => Value::Float(Float::new(value, single)),
            // Every integer dtype fits one of the two.
            Element::Int(value) if value < 0 => Value::Signed(value as i64),
            Element::Int(value) => Value::Unsigned(value as u64),
            Element::Bool(value) => Value::Bool(value),
            Element::Complex(re, im, single) => Value::Complex([Float::new(re, single), Float::new(im, single)]),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum StatsJson {
    Numbers { min: Option<Value>, max: Option<Value>, mean: Option<Float>, nan_count: u64 },
    Bools { true_count: u64 },
    Complex { mean: Option<[Float; 2]> },
}
