//! The export layer's error.

use std::path::PathBuf;

use crate::format::FormatError;
use crate::graph::GraphError;

/// Why an export wrote nothing. Whatever the cause, no output file is left behind, and a file
/// that was already at the output path is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The checkpoint's files are unreadable or malformed (a checksum, a missing slice, ...).
    #[error(transparent)]
    Format(#[from] FormatError),

    /// The object graph is corrupt (a name-based checkpoint is no error: it is named by key).
    #[error(transparent)]
    Graph(#[from] GraphError),

    /// Tensors of dtypes that safetensors cannot hold (strings, variants, complex128, quantized
    /// and sub-byte types), each as (bundle key, dtype name), in key order.
    #[error("{} cannot be written to safetensors: {}; leave them out to export the rest", count(.tensors.len()), list(.tensors))]
    UnsupportedDtypes { tensors: Vec<(String, String)> },

    /// Two tensors would be written under one name.
    #[error("tensors {first:?} and {second:?} would both be named {name:?}; rename one of them")]
    DuplicateName { name: String, first: String, second: String },

    /// A name safetensors cannot take (`__metadata__` is its header's metadata).
    #[error("tensor {key:?} cannot be named {name:?}: {reason}")]
    InvalidName { key: String, name: String, reason: String },

    /// An option that does not fit this checkpoint (path names for a checkpoint without an
    /// object graph, ...).
    #[error("{0}")]
    InvalidOption(String),

    /// Writing, renaming or removing an output file failed.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },

    /// The safetensors writer refused the tensors (a header over its size limit, ...).
    #[error("cannot write {path}: {message}")]
    Safetensors { path: PathBuf, message: String },

    /// The caller's naming or progress function stopped the export with this code.
    #[error("the export was stopped by the caller (code {code})")]
    Stopped { code: i32 },
}

fn count(tensors: usize) -> String {
    if tensors == 1 {
        "1 tensor has a dtype that".into()
    } else {
        format!("{tensors} tensors have dtypes that")
    }
}

fn list(tensors: &[(String, String)]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = tensors.iter().take(SHOWN).map(|(key, dtype)| format!("{key} ({dtype})")).collect();
    if tensors.len() > SHOWN {
        text.push(format!("and {} more", tensors.len() - SHOWN));
    }
    text.join(", ")
}
