//! The object-graph layer's error.

use std::path::PathBuf;

use crate::format::FormatError;

/// An error loading or querying the object graph of a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The files themselves are unreadable or malformed.
    #[error(transparent)]
    Format(#[from] FormatError),

    /// The bundle has no `_CHECKPOINTABLE_OBJECT_GRAPH` key: TensorFlow raises ValueError here.
    #[error(
        "{prefix} is a TF1 name-based checkpoint (written by tf.compat.v1.train.Saver): it has no \
         object graph (key _CHECKPOINTABLE_OBJECT_GRAPH), so it cannot be viewed as objects; read \
         its tensors by name instead"
    )]
    NameBasedCheckpoint { prefix: PathBuf },

    /// The object graph is present but does not decode or refers to nodes that do not exist.
    #[error("{prefix}: corrupt object graph: {reason}")]
    CorruptObjectGraph { prefix: PathBuf, reason: String },

    /// A caller asked about a node id the graph does not have.
    #[error("node id {node_id} is out of range: the object graph has {num_nodes} nodes")]
    NodeOutOfRange { node_id: u64, num_nodes: usize },
}

/// Shorthand for results of this layer.
pub type Result<T> = std::result::Result<T, GraphError>;
