//! TensorFlow 1 checkpoints in the V1 format ("SavedTensorSlices", docs/v1.md): one sstable per
//! file, or one per shard (`P-00000-of-00002`, ...), whose empty key holds a table of contents and
//! whose other keys each hold one slice of one tensor.
//!
//! [`V1Checkpoint`] lists every tensor with its dtype and full shape, as TensorFlow's
//! `get_variable_to_shape_map` does, and reads values into a caller's buffer in host byte order,
//! like [`crate::format::Bundle::read_value`]. Partitioned variables are assembled from their
//! slices (wherever each lives), and float16, uint16, complex and qint values are read too: all
//! of which TensorFlow's own V1 reader refuses. Every record is walked without a generated
//! decoder, every count checked against the bytes that hold it, before anything is allocated.

mod checkpoint;
mod values;
mod wire;

pub use checkpoint::{Checkpoint, TensorInfo};

use std::collections::BTreeMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::entry::{dtype_name, SliceExtent};
use super::error::{FormatError, Result};
use super::proto::DataType;
use super::table::Table;
use crate::io::Storage;
use wire::{fields, Value};

/// The consumer version of TensorFlow's V1 reader (`TF_CHECKPOINT_VERSION`).
const CONSUMER_VERSION: i32 = 1;
/// Largest rank TensorFlow accepts.
const MAX_RANK: usize = 254;
/// Slices of one tensor this reader accepts (in all files together).
const MAX_SLICES: usize = 4096;
/// Dimensions and extents one table of contents may list: each costs 2 bytes on disk and up to
/// 24 in memory, so this bounds the memory of a crafted table of contents at about 100 MB.
const MAX_META_ITEMS: usize = 1 << 22;
/// Shard files a pattern may name (TensorFlow writes five digits).
const MAX_FILES: u64 = 99_999;
/// Shard counts probed when a save path names no file: `P-00000-of-00001` up to this count. One
/// file per device is what TF1's sharded Saver writes; beyond this, pass the pattern.
const MAX_PROBED_SHARDS: u32 = 64;

/// One tensor of a V1 checkpoint: its name, dtype, full shape, and where its slices are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1Tensor {
    pub name: Vec<u8>,
    pub dtype: DataType,
    /// Dimension sizes, outermost first; empty for a scalar.
    pub shape: Vec<u64>,
    /// The stored slices, each with the index (in [`V1Checkpoint::files`]) of the file holding it.
    pub slices: Vec<(usize, Vec<SliceExtent>)>,
}

impl V1Tensor {
    /// Its dtype and shape as a bundle entry that points at no bytes, for code that shows
    /// metadata of either format (a V1 tensor's values are read through its checkpoint).
    pub fn metadata(&self) -> crate::format::TensorEntry {
        crate::format::TensorEntry {
            dtype: self.dtype,
            dtype_number: self.dtype as i32,
            shape: self.shape.clone(),
            shard_id: 0,
            offset: 0,
            size: 0,
            masked_crc32c: 0,
            slices: Vec::new(),
            inconsistent: None,
        }
    }

    /// The name as text (bytes that are not UTF-8 as U+FFFD).
    pub fn name_text(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Number of elements (1 for a scalar).
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Whether the tensor is stored as several slices (a partitioned variable).
    pub fn is_partitioned(&self) -> bool {
        match self.slices.as_slice() {
            [(_, extents)] => extents.iter().zip(&self.shape).any(|(extent, &dim)| {
                extent.start != 0 || extent.length.is_some_and(|length| length != dim)
            }),
            _ => true,
        }
    }
}

/// An open V1 checkpoint: its files' tables and the merged table of contents.
#[derive(Debug)]
pub struct V1Checkpoint {
    path: PathBuf,
    files: Vec<Table>,
    tensors: Vec<V1Tensor>,
}

impl V1Checkpoint {
    /// Opens the V1 checkpoint `save_path` names in `storage`:
    /// - one file (a single-file checkpoint, or one shard alone, as TensorFlow reads it);
    /// - a shard pattern `P-?????-of-00002` (what a sharded `Saver.save` returns): every shard;
    /// - the save path `P` of a sharded checkpoint, which TensorFlow cannot open: the shards
    ///   `P-00000-of-0000N` are found by probing counts N up to 64.
    pub fn open(storage: &dyn Storage, save_path: &Path) -> Result<V1Checkpoint> {
        let paths = match shard_pattern(save_path) {
            Some((base, count)) => shard_paths(&base, count),
            None => match storage.open(save_path) {
                Ok(_) => vec![save_path.to_path_buf()],
                Err(error) if error.kind() == io::ErrorKind::NotFound => probe_shards(storage, save_path)?,
                Err(source) => return Err(FormatError::Io { path: save_path.to_path_buf(), source }),
            },
        };
        V1Checkpoint::open_files(storage, save_path, &paths)
    }

    /// Opens exactly the files `paths` as the shards of one checkpoint called `path`.
    pub fn open_files(storage: &dyn Storage, path: &Path, paths: &[PathBuf]) -> Result<V1Checkpoint> {
        let mut files = Vec::with_capacity(paths.len().min(1024));
        let mut merged: BTreeMap<Vec<u8>, V1Tensor> = BTreeMap::new();
        for (index, file_path) in paths.iter().enumerate() {
            let table = Table::open(storage, file_path)?;
            let meta = table.get(b"")?.ok_or_else(|| FormatError::CorruptEntry {
                path: file_path.clone(),
                key: String::new(),
                reason: "no table of contents (empty key): not a V1 checkpoint".into(),
            })?;
            let entries = decode_meta(&meta).map_err(|failure| failure.into_error(file_path))?;
            for entry in entries {
                merge(&mut merged, entry, index, file_path)?;
            }
            files.push(table);
        }
        Ok(V1Checkpoint { path: path.to_path_buf(), files, tensors: merged.into_values().collect() })
    }

    /// The path the checkpoint was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files read, in shard order.
    pub fn files(&self) -> Vec<&Path> {
        self.files.iter().map(Table::path).collect()
    }

    /// The bytes of its files, together.
    pub fn size(&self) -> u64 {
        self.files.iter().map(Table::file_size).sum()
    }

    /// Every tensor, sorted by name (TensorFlow's `list_variables` order).
    pub fn tensors(&self) -> &[V1Tensor] {
        &self.tensors
    }

    /// The tensor called `name`, if there is one.
    pub fn tensor(&self, name: &[u8]) -> Option<&V1Tensor> {
        self.tensors.binary_search_by(|tensor| tensor.name.as_slice().cmp(name)).ok().map(|at| &self.tensors[at])
    }

    /// The tensor called `name`, or `KeyNotFound`.
    pub fn require(&self, name: &[u8]) -> Result<&V1Tensor> {
        self.tensor(name).ok_or_else(|| FormatError::KeyNotFound {
            path: self.path.clone(),
            key: String::from_utf8_lossy(name).into_owned(),
        })
    }
}

/// `(P, N)` for a pattern `P-?????-of-N`.
fn shard_pattern(path: &Path) -> Option<(PathBuf, u64)> {
    let bytes = path.as_os_str().as_bytes();
    let at = bytes.windows(10).rposition(|window| window == b"-?????-of-")?;
    let digits = &bytes[at + 10..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 8 {
        return None;
    }
    let count: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (1..=MAX_FILES).contains(&count).then(|| (PathBuf::from(std::ffi::OsStr::from_bytes(&bytes[..at])), count))
}

/// `P-00000-of-0000N` ... for `count` shards.
fn shard_paths(base: &Path, count: u64) -> Vec<PathBuf> {
    (0..count)
        .map(|shard| {
            let mut name = base.as_os_str().to_owned();
            name.push(format!("-{shard:05}-of-{count:05}"));
            PathBuf::from(name)
        })
        .collect()
}

/// The shards of the sharded checkpoint saved at `base`, found by their first file.
fn probe_shards(storage: &dyn Storage, base: &Path) -> Result<Vec<PathBuf>> {
    let mut tried = vec![base.to_path_buf()];
    let mut failure = None;
    for count in 1..=MAX_PROBED_SHARDS {
        let paths = shard_paths(base, u64::from(count));
        match storage.open(&paths[0]) {
            Ok(_) => return Ok(paths),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => failure = Some(error),
        }
        tried.push(paths[0].clone());
    }
    Err(FormatError::NotFound { path: base.to_path_buf(), tried, failure })
}

/// One tensor as one file's table of contents lists it.
struct MetaEntry {
    name: Vec<u8>,
    dtype: DataType,
    shape: Vec<u64>,
    slices: Vec<Vec<SliceExtent>>,
}

/// Why a table of contents was refused.
enum MetaFailure {
    Corrupt { key: String, reason: String },
    Version(String),
}

impl MetaFailure {
    fn into_error(self, path: &Path) -> FormatError {
        match self {
            MetaFailure::Corrupt { key, reason } => FormatError::CorruptEntry { path: path.to_path_buf(), key, reason },
            MetaFailure::Version(reason) => FormatError::UnsupportedVersion { path: path.to_path_buf(), reason },
        }
    }
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> MetaFailure {
    MetaFailure::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: reason.into() }
}

/// Decodes the `SavedTensorSlices { meta }` record under the empty key.
fn decode_meta(record: &[u8]) -> std::result::Result<Vec<MetaEntry>, MetaFailure> {
    let mut meta = None;
    for field in fields(record) {
        match field.map_err(|reason| corrupt(b"", reason))? {
            (1, Value::Bytes(_)) if meta.is_some() => return Err(corrupt(b"", "the table of contents is given twice")),
            (1, Value::Bytes(bytes)) => meta = Some(bytes),
            (1 | 2, _) => return Err(corrupt(b"", "the empty key holds no V1 table of contents (a V2 bundle header?)")),
            _ => {}
        }
    }
    let meta = meta.ok_or_else(|| corrupt(b"", "the empty key holds no table of contents"))?;
    let mut entries = Vec::new();
    let mut items = 0usize;
    for field in fields(meta) {
        match field.map_err(|reason| corrupt(b"", reason))? {
            (1, Value::Bytes(bytes)) => entries.push(decode_tensor_meta(bytes, &mut items)?),
            (2, Value::Bytes(bytes)) => check_versions(bytes)?,
            (1 | 2, _) => return Err(corrupt(b"", "malformed table of contents")),
            _ => {}
        }
    }
    Ok(entries)
}

/// TensorFlow's version rule for checkpoints: producer >= 0, min_consumer <= 1, and 1 not a bad
/// consumer.
fn check_versions(bytes: &[u8]) -> std::result::Result<(), MetaFailure> {
    for field in fields(bytes) {
        let (number, value) = field.map_err(|reason| corrupt(b"", format!("versions: {reason}")))?;
        let as_int = |value: Value<'_>| match value {
            Value::Varint(raw) => Some(raw as i32),
            _ => None,
        };
        match (number, value) {
            (1, value) if as_int(value).is_some_and(|producer| producer < 0) => {
                return Err(MetaFailure::Version(format!("negative producer version {}", as_int(value).unwrap_or(0))));
            }
            (2, value) if as_int(value).is_some_and(|min| min > CONSUMER_VERSION) => {
                return Err(MetaFailure::Version(format!(
                    "needs a reader of version {} or newer; this one is {CONSUMER_VERSION}",
                    as_int(value).unwrap_or(0)
                )));
            }
            (3, Value::Varint(raw)) if raw as i32 == CONSUMER_VERSION => {
                return Err(MetaFailure::Version(format!("reader version {CONSUMER_VERSION} is listed as bad")));
            }
            (3, Value::Bytes(packed)) => {
                for raw in wire::packed_varints(packed) {
                    if raw.map_err(|reason| corrupt(b"", reason))? as i32 == CONSUMER_VERSION {
                        return Err(MetaFailure::Version(format!("reader version {CONSUMER_VERSION} is listed as bad")));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes one `SavedSliceMeta`: name, full shape, dtype and slices, each checked.
fn decode_tensor_meta(bytes: &[u8], items: &mut usize) -> std::result::Result<MetaEntry, MetaFailure> {
    let (mut name, mut shape_bytes, mut dtype, mut slice_bytes) = (Vec::new(), None, 0i32, Vec::new());
    for field in fields(bytes) {
        match field.map_err(|reason| corrupt(b"", reason))? {
            (1, Value::Bytes(text)) => name = text.to_vec(),
            (2, Value::Bytes(shape)) => shape_bytes = Some(shape),
            (3, Value::Varint(raw)) => dtype = raw as i32,
            (4, Value::Bytes(slice)) => {
                if slice_bytes.len() == MAX_SLICES {
                    return Err(corrupt(&name, format!("more than {MAX_SLICES} slices")));
                }
                slice_bytes.push(slice);
            }
            (1..=4, _) => return Err(corrupt(&name, "a field of the wrong wire type")),
            _ => {}
        }
    }
    let shape = decode_shape(shape_bytes.unwrap_or_default(), items).map_err(|reason| corrupt(&name, reason))?;
    let dtype = DataType::try_from(dtype).map_err(|_| corrupt(&name, format!("unknown dtype {dtype}")))?;
    if matches!(dtype, DataType::DtInvalid | DataType::DtResource | DataType::DtVariant) {
        return Err(corrupt(&name, format!("dtype {} cannot be stored in a V1 checkpoint", dtype_name(dtype))));
    }
    let elements = shape.iter().try_fold(1u64, |count, &dim| count.checked_mul(dim)).filter(|&count| count <= i64::MAX as u64);
    let elements = elements.ok_or_else(|| corrupt(&name, "element count overflows int64"))?;
    let width = super::entry::element_size(dtype).unwrap_or(1);
    if !matches!(elements.checked_mul(width), Some(bytes) if bytes <= i64::MAX as u64) {
        return Err(corrupt(&name, "byte size overflows int64"));
    }
    let slices = slice_bytes
        .into_iter()
        .map(|slice| decode_slice(slice, &shape, items))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|reason| corrupt(&name, reason))?;
    Ok(MetaEntry { name, dtype, shape, slices })
}

fn count_item(items: &mut usize) -> std::result::Result<(), String> {
    *items += 1;
    if *items > MAX_META_ITEMS {
        return Err(format!("the table of contents lists more than {MAX_META_ITEMS} dimensions and extents"));
    }
    Ok(())
}

/// A `TensorShapeProto`: every dimension >= 0, rank <= 254, a known rank.
fn decode_shape(bytes: &[u8], items: &mut usize) -> std::result::Result<Vec<u64>, String> {
    let mut shape = Vec::new();
    for field in fields(bytes) {
        match field? {
            (2, Value::Bytes(dim)) => {
                if shape.len() == MAX_RANK {
                    return Err(format!("rank exceeds {MAX_RANK}"));
                }
                count_item(items)?;
                let mut size = 0i64;
                for field in fields(dim) {
                    match field? {
                        (1, Value::Varint(raw)) => size = wire::as_i64(raw),
                        (1, _) => return Err("malformed dimension".into()),
                        _ => {}
                    }
                }
                shape.push(u64::try_from(size).map_err(|_| format!("negative dimension {size}"))?);
            }
            (3, Value::Varint(unknown)) if unknown != 0 => return Err("stored tensor has unknown rank".into()),
            (2 | 3, Value::Bytes(_) | Value::Varint(_)) => {}
            (2 | 3, _) => return Err("malformed shape".into()),
            _ => {}
        }
    }
    Ok(shape)
}

/// A `TensorSliceProto` checked against the full shape: one extent per dimension, each inside it.
pub(crate) fn decode_slice(bytes: &[u8], shape: &[u64], items: &mut usize) -> std::result::Result<Vec<SliceExtent>, String> {
    let mut extents = Vec::new();
    for field in fields(bytes) {
        match field? {
            (1, Value::Bytes(extent)) => {
                if extents.len() == shape.len() {
                    return Err(format!("a slice of more dimensions than the tensor's {}", shape.len()));
                }
                count_item(items)?;
                let (mut start, mut length) = (0i64, None);
                for field in fields(extent) {
                    match field? {
                        (1, Value::Varint(raw)) => start = wire::as_i64(raw),
                        (2, Value::Varint(raw)) => length = Some(wire::as_i64(raw)),
                        (1 | 2, _) => return Err("malformed slice extent".into()),
                        _ => {}
                    }
                }
                let dim = shape[extents.len()];
                let start = u64::try_from(start).map_err(|_| format!("negative slice start {start}"))?;
                let length = length
                    .map(|length| u64::try_from(length).map_err(|_| format!("negative slice length {length}")))
                    .transpose()?;
                let end = start.checked_add(length.unwrap_or(0)).ok_or("slice end overflows")?;
                if end > dim || (length.is_none() && start != 0) {
                    return Err(format!("slice [{start}, {end}) leaves a dimension of size {dim}"));
                }
                extents.push(SliceExtent { start, length });
            }
            (1, _) => return Err("malformed slice".into()),
            _ => {}
        }
    }
    if extents.len() != shape.len() {
        return Err(format!("slice of rank {} for a tensor of rank {}", extents.len(), shape.len()));
    }
    Ok(extents)
}

/// Adds one file's listing of a tensor to the checkpoint's: the same dtype and shape everywhere.
fn merge(merged: &mut BTreeMap<Vec<u8>, V1Tensor>, entry: MetaEntry, file: usize, path: &Path) -> Result<()> {
    let key = String::from_utf8_lossy(&entry.name).into_owned();
    let corrupt = |reason: String| FormatError::CorruptEntry { path: path.to_path_buf(), key: key.clone(), reason };
    let tensor = merged.entry(entry.name.clone()).or_insert_with(|| V1Tensor {
        name: entry.name,
        dtype: entry.dtype,
        shape: entry.shape.clone(),
        slices: Vec::new(),
    });
    if tensor.dtype != entry.dtype || tensor.shape != entry.shape {
        return Err(corrupt(format!(
            "listed as {} {:?} and elsewhere as {} {:?}",
            dtype_name(entry.dtype),
            entry.shape,
            dtype_name(tensor.dtype),
            tensor.shape
        )));
    }
    if tensor.slices.len() + entry.slices.len() > MAX_SLICES {
        return Err(corrupt(format!("more than {MAX_SLICES} slices")));
    }
    tensor.slices.extend(entry.slices.into_iter().map(|extents| (file, extents)));
    Ok(())
}
