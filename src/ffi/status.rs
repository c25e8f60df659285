//! The status codes every exported function returns, and how library errors map onto them.

use std::ffi::{c_char, c_int};

use crate::format::FormatError;
use crate::graph::GraphError;

/// The outcome of a call. 0 is success; numbers are never reused for another meaning.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ckview_status {
    /// Success.
    CKVIEW_OK = 0,
    /// A required pointer was NULL, or an argument is not acceptable.
    CKVIEW_INVALID_ARGUMENT = 1,
    /// `save_path` leads to no checkpoint; the message lists what was tried.
    CKVIEW_NOT_FOUND = 2,
    /// The operating system refused to open or map a file.
    CKVIEW_IO_ERROR = 3,
    /// The index file is not an sstable (too short, or no magic number).
    CKVIEW_NOT_A_TABLE = 4,
    /// The index file's blocks, handles or keys are malformed.
    CKVIEW_CORRUPT_TABLE = 5,
    /// A stored crc32c does not match the bytes it covers.
    CKVIEW_CHECKSUM_MISMATCH = 6,
    /// The bundle was written for a newer reader, or rules this one out.
    CKVIEW_UNSUPPORTED_VERSION = 7,
    /// A valid file that uses something this library does not read (a partitioned string tensor, ...).
    CKVIEW_UNSUPPORTED = 8,
    /// The bundle header or a tensor entry is malformed (negative sizes, bad shapes, ...).
    CKVIEW_CORRUPT_ENTRY = 9,
    /// A tensor's stored bytes do not have the layout its entry promises.
    CKVIEW_CORRUPT_DATA = 10,
    /// No tensor has the requested key.
    CKVIEW_KEY_NOT_FOUND = 11,
    /// A TF1 name-based checkpoint: it has no object graph to view.
    CKVIEW_NAME_BASED_CHECKPOINT = 12,
    /// The object graph does not decode, or refers to nodes that do not exist.
    CKVIEW_CORRUPT_OBJECT_GRAPH = 13,
    /// The node id is not below the view's node count.
    CKVIEW_NODE_OUT_OF_RANGE = 14,
    /// The index is not below the count of the list it selects from.
    CKVIEW_INDEX_OUT_OF_RANGE = 15,
    /// The caller's buffer is too small; the needed size was written.
    CKVIEW_BUFFER_TOO_SMALL = 16,
    /// The node exists but cannot be reached from the root, so it has no path.
    CKVIEW_NODE_UNREACHABLE = 17,
    /// The caller's children callback returned nonzero; `ckview_error_callback_code` gives the value.
    CKVIEW_CALLBACK_FAILED = 18,
    /// The tensor's dtype has no fixed element size (strings, variants) or is not readable as asked.
    CKVIEW_UNSUPPORTED_DTYPE = 19,
    /// `save_path` is a file of another kind (HDF5, a Keras archive, saved_model.pb, a TF1
    /// `.meta`); the message says what to pass instead.
    CKVIEW_NOT_A_CHECKPOINT = 20,
    /// Two tensors of an export would be written under one name.
    CKVIEW_DUPLICATE_NAME = 21,
    /// A bug in ckview (a caught panic). Please report it with the message.
    CKVIEW_INTERNAL_ERROR = 255,
}

impl From<&FormatError> for ckview_status {
    fn from(error: &FormatError) -> Self {
        use ckview_status::*;
        match error {
            FormatError::NotFound { .. } => CKVIEW_NOT_FOUND,
            FormatError::NotACheckpoint { .. } => CKVIEW_NOT_A_CHECKPOINT,
            FormatError::Io { .. } => CKVIEW_IO_ERROR,
            FormatError::NotATable { .. } => CKVIEW_NOT_A_TABLE,
            FormatError::CorruptTable { .. } => CKVIEW_CORRUPT_TABLE,
            FormatError::ChecksumMismatch { .. } => CKVIEW_CHECKSUM_MISMATCH,
            FormatError::UnsupportedVersion { .. } => CKVIEW_UNSUPPORTED_VERSION,
            FormatError::Unsupported { .. } => CKVIEW_UNSUPPORTED,
            FormatError::CorruptEntry { .. } => CKVIEW_CORRUPT_ENTRY,
            FormatError::CorruptData { .. } => CKVIEW_CORRUPT_DATA,
            FormatError::KeyNotFound { .. } => CKVIEW_KEY_NOT_FOUND,
            FormatError::UnsupportedDtype { .. } => CKVIEW_UNSUPPORTED_DTYPE,
            FormatError::BufferTooSmall { .. } => CKVIEW_BUFFER_TOO_SMALL,
        }
    }
}

impl From<&GraphError> for ckview_status {
    fn from(error: &GraphError) -> Self {
        match error {
            GraphError::Format(format) => format.into(),
            GraphError::NameBasedCheckpoint { .. } => ckview_status::CKVIEW_NAME_BASED_CHECKPOINT,
            GraphError::CorruptObjectGraph { .. } => ckview_status::CKVIEW_CORRUPT_OBJECT_GRAPH,
            GraphError::NodeOutOfRange { .. } => ckview_status::CKVIEW_NODE_OUT_OF_RANGE,
        }
    }
}

impl From<GraphError> for ckview_status {
    fn from(error: GraphError) -> Self {
        ckview_status::from(&error)
    }
}

/// The name of a status as a static NUL-terminated string (`"CKVIEW_OK"`, ...); `"unknown status"`
/// for a number that is not a status. Never NULL; the string must not be freed.
#[no_mangle]
pub extern "C" fn ckview_status_name(status: c_int) -> *const c_char {
    let name: &'static [u8] = match status {
        0 => b"CKVIEW_OK\0",
        1 => b"CKVIEW_INVALID_ARGUMENT\0",
        2 => b"CKVIEW_NOT_FOUND\0",
        3 => b"CKVIEW_IO_ERROR\0",
        4 => b"CKVIEW_NOT_A_TABLE\0",
        5 => b"CKVIEW_CORRUPT_TABLE\0",
        6 => b"CKVIEW_CHECKSUM_MISMATCH\0",
        7 => b"CKVIEW_UNSUPPORTED_VERSION\0",
        8 => b"CKVIEW_UNSUPPORTED\0",
        9 => b"CKVIEW_CORRUPT_ENTRY\0",
        10 => b"CKVIEW_CORRUPT_DATA\0",
        11 => b"CKVIEW_KEY_NOT_FOUND\0",
        12 => b"CKVIEW_NAME_BASED_CHECKPOINT\0",
        13 => b"CKVIEW_CORRUPT_OBJECT_GRAPH\0",
        14 => b"CKVIEW_NODE_OUT_OF_RANGE\0",
        15 => b"CKVIEW_INDEX_OUT_OF_RANGE\0",
        16 => b"CKVIEW_BUFFER_TOO_SMALL\0",
        17 => b"CKVIEW_NODE_UNREACHABLE\0",
        18 => b"CKVIEW_CALLBACK_FAILED\0",
        19 => b"CKVIEW_UNSUPPORTED_DTYPE\0",
        20 => b"CKVIEW_NOT_A_CHECKPOINT\0",
        21 => b"CKVIEW_DUPLICATE_NAME\0",
        255 => b"CKVIEW_INTERNAL_ERROR\0",
        _ => b"unknown status\0",
    };
    name.as_ptr().cast()
}
