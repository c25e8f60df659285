//! Opening what the user names: a checkpoint (as a view or as a bare bundle), a node (by id or
//! by dotted path), and mapping query errors to messages that name the file.

use std::collections::HashSet;
use std::ffi::OsStr;

use ckview::format::Bundle;
use ckview::{CheckpointView, GraphError, ObjectGraph};

use crate::Failure;

/// Opens `ckpt` as a view: a TF2 checkpoint with an object graph.
pub fn open_view(ckpt: &OsStr) -> Result<CheckpointView, Failure> {
    CheckpointView::open(ckpt).map_err(|error| match error {
        // The library's message ends "read its tensors by name instead": say how.
        GraphError::NameBasedCheckpoint { .. } => Failure::Error(format!("{error} (`ckview keys` lists them)")),
        other => other.into(),
    })
}

/// Opens `ckpt` as a bundle of tensors only (TF1 name-based checkpoints too).
pub fn open_bundle(ckpt: &OsStr) -> Result<Bundle, Failure> {
    Ok(Bundle::open(std::path::Path::new(ckpt))?)
}

/// A query error (a node id out of range), with the checkpoint it concerns.
pub fn query_error(view: &CheckpointView, error: GraphError) -> Failure {
    match error {
        GraphError::NodeOutOfRange { .. } => Failure::Error(format!("{}: {error}", view.bundle().prefix().display())),
        other => other.into(),
    }
}

/// The node `spec` names: a node id (`4`) or a dotted path (`root.leaf`).
pub fn node(view: &CheckpointView, spec: &OsStr) -> Result<u32, Failure> {
    let text = spec.to_string_lossy();
    if let Ok(node_id) = text.parse::<u32>() {
        if node_id as usize >= view.num_nodes() {
            let error = GraphError::NodeOutOfRange { node_id: node_id.into(), num_nodes: view.num_nodes() };
            return Err(query_error(view, error));
        }
        return Ok(node_id);
    }
    let prefix = view.bundle().prefix().display();
    if text != "root" && !text.starts_with("root.") {
        return Err(Failure::Error(format!(
            "{prefix}: {text:?} is neither a node id nor a dotted path starting with `root`"
        )));
    }
    match nodes_at_path(view, &text).as_slice() {
        [] => Err(Failure::Error(format!("{prefix}: no node has the path {text:?}"))),
        [node_id] => Ok(*node_id),
        several => Err(Failure::Error(format!(
            "{prefix}: the path {text:?} names {} nodes ({}); give a node id instead",
            several.len(),
            several.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Every node whose TensorFlow path (`graph.path`) is `path`, in id order.
///
/// Names may contain dots, so the path is not split: it is walked from the root, following
/// each child whose `.name` continues the text, and each node reached at the end is kept when
/// its own path is the text. Every step consumes at least one byte (the dot), so the walk ends;
/// no per-node path is built, which would cost the depth of every node.
pub fn nodes_at_path(graph: &ObjectGraph, path: &str) -> Vec<u32> {
    let Some(rest) = path.strip_prefix("root") else {
        return Vec::new();
    };
    let start = path.len() - rest.len();
    let mut found = Vec::new();
    let mut seen: HashSet<(u32, usize)> = HashSet::from([(0, start)]);
    let mut stack = vec![(0u32, start)];
    while let Some((node_id, at)) = stack.pop() {
        if at == path.len() {
            found.push(node_id);
            continue;
        }
        let Some(after_dot) = path[at..].strip_prefix('.') else {
            continue;
        };
        let Ok(children) = graph.children(node_id) else {
            continue;
        };
        for (name, child) in children {
            if after_dot.starts_with(name) {
                let next = at + 1 + name.len();
                if seen.insert((child, next)) {
                    stack.push((child, next));
                }
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found.retain(|&node_id| graph.path(node_id).ok().flatten().as_deref() == Some(path));
    found
}
