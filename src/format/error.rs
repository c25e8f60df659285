//! The on-disk layer's error: every way a file can fail to be a valid tensor bundle.

use std::io;
use std::path::PathBuf;

/// An error reading the files of a checkpoint. Each variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// `save_path` does not lead to a checkpoint; `tried` lists every path looked at, and
    /// `failure` the last error opening one of them that was not "no such file" (a permission,
    /// a network, the caller's storage), which may be why.
    #[error("no checkpoint found at {path}: tried {}{}", list_paths(tried), failure.as_ref().map(|e| format!(" (the last open failed: {e})")).unwrap_or_default())]
    NotFound { path: PathBuf, tried: Vec<PathBuf>, failure: Option<io::Error> },

    /// The operating system refused to open or map a file.
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    /// The file is too short for a footer or lacks the table magic number.
    #[error("{path} is not a checkpoint index (not an sstable): {reason}")]
    NotATable { path: PathBuf, reason: String },

    /// The table's blocks, handles or keys are malformed.
    #[error("{path} is a corrupt checkpoint index: {reason}")]
    CorruptTable { path: PathBuf, reason: String },

    /// A stored crc32c does not match the bytes it covers.
    #[error("checksum mismatch in {path} ({what}): stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch { path: PathBuf, what: String, stored: u32, computed: u32 },

    /// The bundle header asks for a reader newer than this one, or rules this one out.
    #[error("{path}: unsupported bundle version: {reason}")]
    UnsupportedVersion { path: PathBuf, reason: String },

    /// A valid file using a feature this reader refuses (a partitioned string tensor, ...).
    #[error("{path}: unsupported: {reason}")]
    Unsupported { path: PathBuf, reason: String },

    /// The header or a tensor entry decodes to something impossible.
    #[error("{path}: corrupt entry for key {key:?}: {reason}")]
    CorruptEntry { path: PathBuf, key: String, reason: String },

    /// A tensor's bytes in a data shard do not have the layout its entry promises.
    #[error("{path}: corrupt data for key {key:?}: {reason}")]
    CorruptData { path: PathBuf, key: String, reason: String },

    /// The tensor's dtype has no fixed element size (strings, variants) or cannot be read here.
    #[error("{path}: tensor {key:?} has dtype {dtype}, which cannot be read as fixed-size values")]
    UnsupportedDtype { path: PathBuf, key: String, dtype: String },

    /// The caller's buffer cannot hold the tensor.
    #[error("the buffer for tensor {key:?} holds {given} bytes but the tensor needs {needed}")]
    BufferTooSmall { key: String, needed: u64, given: u64 },

    /// `save_path` is a file of another kind (HDF5 weights, a Keras archive, a SavedModel's or a
    /// TF1 MetaGraph's graph); `instead` says what to pass.
    #[error("{path} is {what}, not a TensorFlow checkpoint: {instead}")]
    NotACheckpoint { path: PathBuf, what: String, instead: String },

    /// The bundle has no entry with this key.
    #[error("{path}: no tensor with key {key:?}")]
    KeyNotFound { path: PathBuf, key: String },
}

fn list_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|path| path.display().to_string()).collect();
    names.join(", ")
}

impl FormatError {
    /// `bytes` could not be allocated to read tensor `key` of `path`.
    pub fn out_of_memory(path: &std::path::Path, key: &str, bytes: u64) -> FormatError {
        FormatError::Io {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::OutOfMemory, format!("cannot allocate {bytes} bytes to read tensor {key:?}")),
        }
    }
}

/// Shorthand for results of this layer.
pub type Result<T> = std::result::Result<T, FormatError>;
