//! `tf.train.CheckpointView`: a checkpoint's bundle together with its object graph, and its
//! comparison with a live object graph (`match`, `diff`).

mod compare;
mod live;
mod optimizer;
mod tensors;

pub use compare::{Comparison, Conflict, MatchedPair};
pub use live::{ChildSink, EdgeList, LiveGraph};
pub use optimizer::{is_optimizer, OptimizerState};
pub use tensors::{attribute_tensors, is_suffixed_key, AttributeTensor};

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::format::Bundle;
use crate::io::Storage;
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
        CheckpointView::of_bundle(Bundle::open(save_path.as_ref())?)
    }

    /// [`CheckpointView::open`] on files reached through `storage`.
    pub fn open_with(save_path: impl AsRef<Path>, storage: Arc<dyn Storage>) -> Result<CheckpointView, GraphError> {
        CheckpointView::of_bundle(Bundle::open_with(save_path.as_ref(), storage)?)
    }

    /// Loads the object graph of an open bundle.
    pub fn of_bundle(bundle: Bundle) -> Result<CheckpointView, GraphError> {
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
