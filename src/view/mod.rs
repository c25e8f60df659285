//! `tf.train.CheckpointView`: a checkpoint's bundle together with its object graph, and its
//! comparison with a live object graph (`match`, `diff`).

mod compare;
mod live;

pub use compare::{Comparison, Conflict, MatchedPair};
pub use live::{ChildSink, EdgeList, LiveGraph};

use std::ops::Deref;
use std::path::Path;

use crate::format::Bundle;
use crate::graph::{GraphError, ObjectGraph};

/// An open checkpoint viewed as objects. Immutable after `open`: share it freely between threads.
///
/// It dereferences to its [`ObjectGraph`], so `view.children(0)` and `view.descendants()` read as
/// they do in TensorFlow.
#[derive(Debug)]
pub struct CheckpointView {
    bundle: Bundle,
    graph: ObjectGraph,
}

impl CheckpointView {
    /// Opens the checkpoint `save_path` leads to (a prefix, a directory with a `checkpoint`
    /// state file, `P.index` or a data shard) and loads its object graph.
    ///
    /// A TF1 name-based checkpoint fails with [`GraphError::NameBasedCheckpoint`].
    pub fn open(save_path: impl AsRef<Path>) -> Result<CheckpointView, GraphError> {
        let bundle = Bundle::open(save_path.as_ref())?;
        let graph = ObjectGraph::load(&bundle)?;
        Ok(CheckpointView { bundle, graph })
    }

    /// The tensor bundle behind the view.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The object graph.
    pub fn graph(&self) -> &ObjectGraph {
        &self.graph
    }
}

impl Deref for CheckpointView {
    type Target = ObjectGraph;

    fn deref(&self) -> &ObjectGraph {
        &self.graph
    }
}
