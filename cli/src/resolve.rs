//! Opening what the user names: a checkpoint (as a view or as a bare bundle), a node (by id,
//! dotted path or full_name), and turning lookup failures into messages that help.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

use ckview::format::locate::listed_checkpoints;
use ckview::format::{Checkpoint, FormatError};
use ckview::io::{LocalStorage, Storage};
use ckview::{CheckpointView, GraphError, ObjectGraph};

use crate::nearest::did_you_mean;
use crate::storage::{is_url, ObjectStorage};
use crate::Failure;

/// Where `ckpt` lives: an object store for a URL (`s3://`, `gs://`, `az://`, `http(s)://`),
/// else the local filesystem.
fn storage_for(ckpt: &OsStr) -> Result<Arc<dyn Storage>, Failure> {
    match ckpt.to_str() {
        Some(url) if is_url(ckpt) => Ok(Arc::new(ObjectStorage::for_url(url).map_err(Failure::Error)?)),
        _ => Ok(Arc::new(LocalStorage::default())),
    }
}

/// Opens `ckpt` as a view: a TF2 checkpoint with an object graph.
pub fn open_view(ckpt: &OsStr) -> Result<CheckpointView, Failure> {
    let storage = storage_for(ckpt)?;
    CheckpointView::open_with(ckpt, storage.clone()).map_err(|error| match error {
        // The library's message ends "read its tensors by name instead": say how.
        GraphError::NameBasedCheckpoint { .. } => Failure::Error(format!("{error} (`ckview keys` lists them)")),
        GraphError::Format(error) => missing_checkpoint(&*storage, ckpt, error),
        other => other.into(),
    })
}


/// Opens `ckpt` as a checkpoint of tensors only: a bundle (TF1 name-based checkpoints too), else
/// a TF1 V1 checkpoint ("SavedTensorSlices": its file, a shard, `P-?????-of-N`, a save path).
pub fn open_checkpoint(ckpt: &OsStr) -> Result<Checkpoint, Failure> {
    let storage = storage_for(ckpt)?;
    Checkpoint::open_with(Path::new(ckpt), storage.clone()).map_err(|error| missing_checkpoint(&*storage, ckpt, error))
}

/// A prefix that is not there may have been removed by `CheckpointManager(max_to_keep=...)`:
/// then the `checkpoint` state file of its directory names the ones that remain.
fn missing_checkpoint(storage: &dyn Storage, ckpt: &OsStr, error: FormatError) -> Failure {
    let FormatError::NotFound { .. } = error else {
        return error.into();
    };
    let path = Path::new(ckpt);
    let dir = match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
        Some(parent) => parent,
        None => return error.into(),
    };
    let kept: Vec<String> = listed_checkpoints(storage, dir).iter().map(|kept| kept.display().to_string()).collect();
    if kept.is_empty() {
        return error.into();
    }
    Failure::Error(format!(
        "{error}; the checkpoint file in {} names only {} (older checkpoints are deleted by max_to_keep)",
        dir.display(),
        kept.join(", ")
    ))
}

/// A query error (a node id out of range), with the checkpoint it concerns.
pub fn query_error(view: &CheckpointView, error: GraphError) -> Failure {
    match error {
        GraphError::NodeOutOfRange { .. } => Failure::Error(format!("{}: {error}", view.bundle().prefix().display())),
        other => other.into(),
    }
}

/// The nodes `spec` names: a node id (`14`, or `#14` as `tree` prints it), any dotted path
/// `tree` prints (`root.leaf`, a shared object's second path), else a tensor's full_name
/// (`conv1_conv/kernel`). Empty when it names nothing.
pub fn nodes_named(graph: &ObjectGraph, spec: &str) -> Result<Vec<u32>, GraphError> {
    graph.nodes_named(spec)
}

/// Why `spec` names no node, with the nearest paths and full names.
pub fn no_such_node(graph: &ObjectGraph, prefix: &Path, spec: &str) -> Failure {
    let paths: Vec<String> =
        graph.descendants().iter().filter_map(|&node_id| graph.path(node_id).ok().flatten()).collect();
    let full_names = graph.full_names();
    let candidates = paths.iter().map(String::as_str).chain(full_names.iter().copied());
    Failure::Error(format!(
        "{}: no node has the id, path or full_name {spec:?}{}",
        prefix.display(),
        did_you_mean(spec, candidates)
    ))
}

/// The one node `spec` names (see [`nodes_named`]).
pub fn node(view: &CheckpointView, spec: &str) -> Result<u32, Failure> {
    let prefix = view.bundle().prefix();
    match nodes_named(view, spec).map_err(|error| query_error(view, error))?.as_slice() {
        [] => Err(no_such_node(view, prefix, spec)),
        [node_id] => Ok(*node_id),
        several => Err(Failure::Error(format!(
            "{}: {spec:?} names {} nodes ({}); give a node id instead",
            prefix.display(),
            several.len(),
            several.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ")
        ))),
    }
}
