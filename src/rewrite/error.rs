//! The rewrite layer's error.

use std::io;
use std::path::PathBuf;

use crate::format::FormatError;
use crate::graph::GraphError;

/// An error rewriting a checkpoint. Whatever it is, nothing is left at the output path.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The source's files are unreadable, malformed, or a stored checksum does not match.
    #[error(transparent)]
    Format(#[from] FormatError),

    /// The source's object graph is unreadable or malformed.
    #[error(transparent)]
    Graph(#[from] GraphError),

    /// A `drop` or `select` path names no node of the object graph.
    #[error("{prefix}: no node has the id, path or full_name {spec:?} (`ckview tree` lists them)")]
    NoSuchNode { prefix: PathBuf, spec: String },

    /// A `drop` or `select` pattern of a TF1 checkpoint matches no key.
    #[error("{prefix}: no key matches {pattern:?} (`ckview keys` lists them)")]
    NoSuchKey { prefix: PathBuf, pattern: String },

    /// A `drop` path names the root, which would leave no checkpoint.
    #[error("{prefix}: {spec:?} is the root of the object graph, which cannot be dropped")]
    DropsRoot { prefix: PathBuf, spec: String },

    /// `drop_slots` on a checkpoint without an object graph, which alone says what a slot is.
    #[error(
        "{prefix} is a TF1 name-based checkpoint: without an object graph nothing says which \
         tensors are optimizer slots; drop them by key instead (such as `--drop '*/Adam*'`, or \
         `--drop '*/adam_m' --drop '*/adam_v'` for BERT)"
    )]
    SlotsWithoutGraph { prefix: PathBuf },

    /// The output prefix names no file: it is empty or ends with a path separator.
    #[error("{path}: the output is a checkpoint prefix such as dir/ckpt-1, not a directory")]
    NotAPrefix { path: PathBuf },

    /// The output prefix is the source checkpoint itself.
    #[error("{prefix}: the output is the checkpoint being read; write to another prefix")]
    SameCheckpoint { prefix: PathBuf },

    /// Writing, syncing or renaming an output file failed.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Shorthand for results of this layer.
pub type Result<T> = std::result::Result<T, RewriteError>;
