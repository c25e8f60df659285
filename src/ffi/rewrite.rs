//! `ckview_rewrite`: checkpoint surgery for C, a thin shell over [`crate::rewrite`].

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::error::{ckview_error, report, report_error, report_format_error};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::tensor::Source;
use super::{ckview_reader, ckview_str};
use crate::rewrite::{rewrite, rewrite_v1, RewriteError, RewriteOptions};

/// Rewrite flag: leave out the optimizer state (optimizers, their slot variables, and what only
/// they hold). Refused for a TF1 name-based checkpoint.
pub const CKVIEW_REWRITE_DROP_SLOTS: u32 = 1;

/// What `ckview_rewrite` leaves out. All strings are UTF-8, borrowed for the call only.
#[repr(C)]
pub struct ckview_rewrite_options {
    /// `CKVIEW_REWRITE_DROP_SLOTS`, or 0.
    pub flags: u32,
    /// Nodes to leave out with everything reached only through them: ids (`14`, `#14`), dotted
    /// paths or full names as `ckview tree` prints them. For a TF1 checkpoint: keys or globs
    /// (`*`, `?`). `drop_count` strings at `drop` (NULL when 0).
    pub drop: *const ckview_str,
    pub drop_count: usize,
    /// When `select_count` is not 0: keep only these nodes' subtrees and the path to them (and
    /// the root's `save_counter`); for a TF1 checkpoint, these keys or globs.
    pub select: *const ckview_str,
    pub select_count: usize,
}

/// What `ckview_rewrite` did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ckview_rewrite_summary {
    /// Nodes of the object graph before and after (0 and 0 for a TF1 checkpoint).
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// Tensors before and after (slices of partitioned tensors not counted).
    pub tensors_before: usize,
    pub tensors_after: usize,
    /// Bytes of the source's files (index and data shards), and of the files written.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// The strings of one options array, or a message saying why they cannot be read.
///
/// # Safety
/// `strings` is NULL with `count` 0, or points at `count` valid `ckview_str`s.
unsafe fn strings(strings: *const ckview_str, count: usize, what: &str) -> Result<Vec<String>, String> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if strings.is_null() {
        return Err(format!("ckview_rewrite: {what} is NULL but {what}_count is {count}"));
    }
    // SAFETY: by contract, `count` readable elements.
    let items = unsafe { std::slice::from_raw_parts(strings, count) };
    items
        .iter()
        .map(|item| {
            if item.ptr.is_null() {
                return Err(format!("ckview_rewrite: a string of {what} is NULL"));
            }
            // SAFETY: by contract, `len` readable bytes at `ptr`.
            let bytes = unsafe { std::slice::from_raw_parts(item.ptr.cast::<u8>(), item.len) };
            String::from_utf8(bytes.to_vec()).map_err(|_| format!("ckview_rewrite: a string of {what} is not UTF-8"))
        })
        .collect()
}

/// Reports a rewrite error with its status.
fn report_rewrite_error(error_out: *mut *mut ckview_error, error: &RewriteError) -> ckview_status {
    let status = match error {
        RewriteError::Format(format) => return report_format_error(error_out, format),
        RewriteError::Graph(graph) => return report_error(error_out, graph),
        RewriteError::NoSuchKey { .. } => CKVIEW_KEY_NOT_FOUND,
        RewriteError::SlotsWithoutGraph { .. } => CKVIEW_NAME_BASED_CHECKPOINT,
        RewriteError::Write { .. } => CKVIEW_IO_ERROR,
        RewriteError::NoSuchNode { .. } | RewriteError::DropsRoot { .. } | RewriteError::SameCheckpoint { .. } | RewriteError::NotAPrefix { .. } => {
            CKVIEW_INVALID_ARGUMENT
        }
    };
    report(error_out, status, &error.to_string())
}

/// # Rewriting a checkpoint
///
/// Writes a new checkpoint at the prefix `out_prefix` (NUL-terminated: `OUT.index` and
/// `OUT.data-00000-of-00001`, no `checkpoint` state file) holding what `reader`'s checkpoint
/// holds except what `options` leaves out (NULL: nothing, a plain copy). Pass a reader from
/// `ckview_reader_open`, or `ckview_reader_of_view` for an open view. For an object-based
/// checkpoint the object graph is rewritten to match (removed nodes, the references to them and
/// their tensors gone, node ids renumbered), so that TensorFlow restores it; every tensor kept is
/// copied byte for byte with its stored checksum, which is verified on the way. The files are
/// written under temporary names in `out_prefix`'s directory (made when missing) and renamed, the
/// `.index` last; on any failure nothing is left there.
///
/// On success, `*summary_out` (when not NULL) receives the counts and sizes. Statuses besides
/// the reader's own (`CKVIEW_CHECKSUM_MISMATCH` for a damaged source, `CKVIEW_IO_ERROR` for a
/// failed read or write, ...): `CKVIEW_INVALID_ARGUMENT` for a NULL `reader` or `out_prefix`, a
/// path that names no node, the root in `drop`, an `out_prefix` that is the checkpoint read or
/// names a directory (`dir/`);
/// `CKVIEW_KEY_NOT_FOUND` for a TF1 pattern matching no key; `CKVIEW_NAME_BASED_CHECKPOINT` for
/// `CKVIEW_REWRITE_DROP_SLOTS` on a TF1 checkpoint. A V1 checkpoint (SavedTensorSlices) is
/// written as a V2 bundle, its tensors chosen by key as a TF1 bundle's are.
#[no_mangle]
pub unsafe extern "C" fn ckview_rewrite(
    reader: *const ckview_reader,
    out_prefix: *const c_char,
    options: *const ckview_rewrite_options,
    summary_out: *mut ckview_rewrite_summary,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live reader, by contract.
        let Some(reader) = (unsafe { reader.as_ref() }) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_rewrite: reader must not be NULL");
        };
        if out_prefix.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_rewrite: out_prefix must not be NULL");
        }
        // SAFETY: a NUL-terminated string, by contract.
        let out = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(out_prefix) }.to_bytes()));
        let mut request = RewriteOptions::default();
        // SAFETY: NULL or a valid options struct, by contract.
        if let Some(options) = unsafe { options.as_ref() } {
            request.drop_slots = options.flags & CKVIEW_REWRITE_DROP_SLOTS != 0;
            // SAFETY: the arrays the struct describes.
            let lists = unsafe { (strings(options.drop, options.drop_count, "drop"), strings(options.select, options.select_count, "select")) };
            match lists {
                (Ok(drop), Ok(select)) => (request.drop, request.select) = (drop, select),
                (Err(message), _) | (_, Err(message)) => return report(error_out, CKVIEW_INVALID_ARGUMENT, &message),
            }
        }
        let written = match reader.source() {
            // SAFETY: the reader's own checkpoint, alive while the reader is.
            Source::V2(bundle) => rewrite(unsafe { &*bundle }, out, &request),
            // SAFETY: as above.
            Source::V1(v1) => rewrite_v1(unsafe { &*v1 }, out, &request),
        };
        match written {
            Ok(summary) => {
                if !summary_out.is_null() {
                    let written = ckview_rewrite_summary {
                        nodes_before: summary.nodes_before,
                        nodes_after: summary.nodes_after,
                        tensors_before: summary.tensors_before,
                        tensors_after: summary.tensors_after,
                        bytes_before: summary.bytes_before,
                        bytes_after: summary.bytes_after,
                    };
                    // SAFETY: non-NULL and writable, by contract.
                    unsafe { summary_out.write(written) };
                }
                CKVIEW_OK
            }
            Err(error) => report_rewrite_error(error_out, &error),
        }
    })
}
