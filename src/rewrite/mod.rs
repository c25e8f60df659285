//! Checkpoint surgery: a new checkpoint with some objects or tensors left out, every kept tensor
//! byte-identical, that TensorFlow restores.
//!
//! [`rewrite`] reads a bundle and writes another at `out_prefix` (one data shard, the source's
//! byte order). For an object-based (TF2) checkpoint, [`RewriteOptions::drop`] and
//! [`RewriteOptions::select`] name nodes as `ckview tree` prints them (ids, paths, full names:
//! [`crate::ObjectGraph::nodes_named`]), and [`RewriteOptions::drop_slots`] removes the optimizer
//! state ([`crate::view::OptimizerState`]); the object graph is rewritten to match (`plan`). For
//! a TF1 name-based checkpoint, `drop` and `select` are keys or globs (`keys`), and so they are
//! for a V1 checkpoint, which [`rewrite_v1`] writes as a bundle (`v1`).
//!
//! Each kept tensor's stored bytes are copied in chunks with their entry (dtype, shape, slices,
//! crc32c) and the source checksums verified on the way: a damaged source is an error, never a
//! silently damaged copy. A tensor keeps its key, unless the removal changed its node's path
//! (Keras 3 names a kernel through the optimizer while there is one): then it takes the key
//! TensorFlow writes for the objects that remain (`naming`). The output is written under temporary names and renamed into place,
//! the `.index` last (`output`); on any error nothing is left at `out_prefix`. No `checkpoint`
//! state file is written, as `tf.train.Checkpoint.write` writes none.

mod error;
mod keys;
mod naming;
mod output;
mod plan;
mod v1;

pub use error::{Result, RewriteError};
pub use keys::glob_matches;
pub use v1::rewrite_v1;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::format::proto::{bundle_header_proto, BundleEntryProto, BundleHeaderProto, DataType, VersionDef};
use crate::format::slice_key::{parse_slice_key, slice_key};
use crate::format::writer::encode_strings;
use crate::format::{crc, Bundle, Endianness, FormatError, TensorEntry};
use crate::graph::{GraphError, ObjectGraph, OBJECT_GRAPH_KEY};
use output::{with_suffix, Output, CHUNK};

/// What to leave out of the rewritten checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewriteOptions {
    /// Remove the optimizer state: optimizers, their slot variables, and what only they hold.
    /// Refused for a TF1 checkpoint, which has no object graph to say what that is.
    pub drop_slots: bool,
    /// Nodes to remove with everything reached only through them (TF2), or keys and globs of
    /// tensors to remove (TF1). Each must name something.
    pub drop: Vec<String>,
    /// When not empty, keep only these nodes' subtrees and the path to them (TF2; the root's
    /// `save_counter` stays too, as `tf.train.Checkpoint` restores it), or these keys and globs
    /// (TF1). Each must name something.
    pub select: Vec<String>,
}

/// What a rewrite did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteSummary {
    /// The prefix written.
    pub prefix: PathBuf,
    /// Nodes of the object graph before and after (0 for a TF1 checkpoint).
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// Tensors (slices of partitioned tensors not counted) before and after.
    pub tensors_before: usize,
    pub tensors_after: usize,
    /// Bytes of the source's files (index and data shards) and of the output's.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Writes a copy of `source` at `out_prefix` without what `options` leaves out (see the module
/// documentation). `out_prefix` must not be the source itself; a checkpoint already there is
/// replaced (its index last).
pub fn rewrite(source: &Bundle, out_prefix: &Path, options: &RewriteOptions) -> Result<RewriteSummary> {
    let prefix = source.prefix();
    check_out_prefix(out_prefix)?;
    if same_files(prefix, out_prefix) {
        return Err(RewriteError::SameCheckpoint { prefix: prefix.to_path_buf() });
    }
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    source.table().for_each(|key, value| {
        entries.push((key.to_vec(), value.to_vec()));
        Ok(())
    })?;
    let names: Vec<Vec<u8>> = entries.iter().filter(|(key, _)| !key.is_empty() && key[0] != 0).map(|(key, _)| key.clone()).collect();
    let mut renames = HashMap::new();
    let (graph, kept_names, nodes) = match ObjectGraph::load(source) {
        Ok(graph) => {
            let plan = plan::plan(source, &graph, &names, options)?;
            let keep = |key: &Vec<u8>| {
                plan.kept_keys.contains(key) || (!plan.owned_keys.contains(key) && options.select.is_empty())
            };
            let kept: HashSet<Vec<u8>> = names.iter().filter(|key| key.as_slice() != OBJECT_GRAPH_KEY && keep(key)).cloned().collect();
            renames = plan.renames;
            (Some(plan.graph), kept, (plan.nodes_before, plan.nodes_after))
        }
        Err(GraphError::NameBasedCheckpoint { .. }) => {
            if options.drop_slots {
                return Err(RewriteError::SlotsWithoutGraph { prefix: prefix.to_path_buf() });
            }
            let keep = keys::keep_keys(prefix, &names, &options.select, &options.drop)?;
            (None, names.iter().zip(keep).filter(|(_, keep)| *keep).map(|(key, _)| key.clone()).collect(), (0, 0))
        }
        Err(error) => return Err(error.into()),
    };
    let mut out = Output::create(out_prefix)?;
    for (key, value) in &entries {
        if key.is_empty() || key.as_slice() == OBJECT_GRAPH_KEY {
            continue;
        }
        // A slice of a partitioned tensor goes where its tensor goes, under its new name.
        let (name, out_key) = if key[0] == 0 {
            match parse_slice_key(key) {
                Some((name, extents)) => {
                    let out_key = renames.get(&name).map(|renamed| slice_key(renamed, &extents)).unwrap_or_else(|| key.clone());
                    (name, out_key)
                }
                None => continue,
            }
        } else {
            (key.clone(), renames.get(key).cloned().unwrap_or_else(|| key.clone()))
        };
        if kept_names.contains(&name) {
            copy_tensor(source, &mut out, key, value, &out_key)?;
        }
    }
    let endianness = source.header().endianness;
    if let Some(graph) = &graph {
        let (bytes, crc32c) = encode_strings(&[graph], endianness);
        let offset = out.append(&bytes)?;
        let entry = BundleEntryProto { dtype: DataType::DtString as i32, shape: Some(Default::default()), offset: offset as i64, size: bytes.len() as i64, crc32c, ..Default::default() };
        out.add_entry(OBJECT_GRAPH_KEY, entry);
    }
    let (data_size, index_size) = out.finish(&bundle_header(endianness))?;
    Ok(RewriteSummary {
        prefix: out_prefix.to_path_buf(),
        nodes_before: nodes.0,
        nodes_after: nodes.1,
        tensors_before: names.len() - usize::from(graph.is_some()),
        tensors_after: kept_names.len(),
        bytes_before: source_size(source)?,
        bytes_after: data_size + index_size,
    })
}

/// Refuses an output that names a directory (`dir/`, `dir/.`) rather than a prefix.
fn check_out_prefix(out_prefix: &Path) -> Result<()> {
    let text = out_prefix.as_os_str().as_encoded_bytes();
    if out_prefix.file_name().is_none() || text.ends_with(b"/") || text.ends_with(b"/.") {
        return Err(RewriteError::NotAPrefix { path: out_prefix.to_path_buf() });
    }
    Ok(())
}

/// The header of a one-shard bundle in `endianness`.
fn bundle_header(endianness: Endianness) -> BundleHeaderProto {
    BundleHeaderProto {
        num_shards: 1,
        endianness: match endianness {
            Endianness::Little => bundle_header_proto::Endianness::Little as i32,
            Endianness::Big => bundle_header_proto::Endianness::Big as i32,
        },
        version: Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: Vec::new() }),
    }
}

/// Copies one entry and its stored bytes, verifying the source's checksums.
fn copy_tensor(source: &Bundle, out: &mut Output, key: &[u8], value: &[u8], out_key: &[u8]) -> Result<()> {
    let entry: TensorEntry = source.decode_entry(key, value)?;
    let mut proto = BundleEntryProto::decode(value).map_err(|error| FormatError::CorruptEntry {
        path: crate::format::bundle::index_path(source.prefix()),
        key: crate::format::slice_key::readable_key(key),
        reason: error.to_string(),
    })?;
    proto.shard_id = 0;
    if !entry.slices.is_empty() {
        // A partitioned tensor's own entry has no bytes: its slices do.
        out.add_entry(out_key, proto);
        return Ok(());
    }
    match entry.dtype {
        DataType::DtString => drop(source.read_strings(key, &entry)?),
        DataType::DtVariant => source.check_stored_checksum(key, &entry)?,
        _ => {}
    }
    let range = source.stored_range(key, &entry)?;
    let start = out.offset();
    let mut buffer = vec![0u8; CHUNK.min(range.size as usize)];
    let (mut running, mut done) = (0u32, 0u64);
    while done < range.size {
        let piece = &mut buffer[..CHUNK.min((range.size - done) as usize)];
        source.read_range(range, done, piece)?;
        running = crc::extend(running, piece);
        out.append(piece)?;
        done += piece.len() as u64;
    }
    let stored = crc::unmask(entry.masked_crc32c);
    if !matches!(entry.dtype, DataType::DtString | DataType::DtVariant) && running != stored {
        return Err(FormatError::ChecksumMismatch {
            path: source.shard_path(entry.shard_id),
            what: format!("tensor {:?}", crate::format::slice_key::readable_key(key)),
            stored,
            computed: running,
        }
        .into());
    }
    proto.offset = start as i64;
    out.add_entry(out_key, proto);
    Ok(())
}

/// The bytes of the source's index and data shards.
fn source_size(source: &Bundle) -> Result<u64> {
    let storage = source.storage();
    let mut paths = vec![crate::format::bundle::index_path(source.prefix())];
    paths.extend((0..source.header().num_shards).map(|shard| source.shard_path(shard)));
    let mut total = 0;
    for path in paths {
        let file = storage.open(&path).map_err(|source| FormatError::Io { path: path.clone(), source })?;
        total += file.size();
    }
    Ok(total)
}

/// Whether writing `out` would replace the files of `prefix`: the same index, or the same
/// first data shard (a one-shard source), once both paths are resolved.
fn same_files(prefix: &Path, out: &Path) -> bool {
    let same = |a: PathBuf, b: PathBuf| match (std::fs::canonicalize(&a), std::fs::canonicalize(&b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    prefix == out
        || same(with_suffix(prefix, ".index"), with_suffix(out, ".index"))
        || same(with_suffix(prefix, ".data-00000-of-00001"), with_suffix(out, ".data-00000-of-00001"))
}
