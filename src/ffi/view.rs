//! `ckview_view`: opening a checkpoint, and freeing it.
//!
//! A view owns the bundle and the object graph; every string and array handed out by the graph
//! functions (`graph.rs`) is borrowed from it and stays valid until `ckview_close`.

use std::ffi::c_char;
use std::sync::OnceLock;

use super::error::{ckview_error, report, report_error};
use super::io::{ckview_open_options, OpenRequest};
use super::graph::{ckview_attribute, ckview_child, ckview_slot_variable, ckview_variable_slot, NodeTable};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::ckview_reader;
use crate::view::CheckpointView;

/// An open checkpoint and its object graph. Opaque; free with `ckview_close`.
pub struct ckview_view {
    pub(crate) view: CheckpointView,
    /// The reader `ckview_reader_of_view` lends, pointing at `view`'s bundle.
    pub(crate) reader: ckview_reader,
    /// The per-node arrays the graph functions lend, each built on first use.
    pub(crate) children: OnceLock<NodeTable<ckview_child>>,
    pub(crate) attributes: OnceLock<NodeTable<ckview_attribute>>,
    pub(crate) slot_variables: OnceLock<NodeTable<ckview_slot_variable>>,
    pub(crate) variable_slots: OnceLock<NodeTable<ckview_variable_slot>>,
    /// The path of every descendant, concatenated, and where each ends (`ckview_descendant_paths`).
    pub(crate) paths: OnceLock<(Vec<u8>, Vec<usize>)>,
    /// Every node's children as columns (`ckview_children_columns`).
    pub(crate) children_columns: OnceLock<super::graph::ChildrenColumns>,
}

/// # Opening and closing a checkpoint
///
/// Opens the checkpoint `save_path` leads to and loads its object graph.
///
/// `save_path` is a NUL-terminated path: the checkpoint prefix (`dir/ckpt-1`), a directory whose
/// `checkpoint` state file names the latest checkpoint, the `.index` file, or a data shard.
/// Files are read with positioned reads, never mapped: a file that fails or shrinks gives
/// `CKVIEW_IO_ERROR`, not a signal. On success `*view_out` receives a view to free with
/// `ckview_close`. On failure nothing is written to `*view_out`; if `error_out` is not NULL,
/// `*error_out` receives an error to free with `ckview_error_free`. A TF1 name-based checkpoint
/// fails with `CKVIEW_NAME_BASED_CHECKPOINT` (read its tensors with `ckview_reader_open`).
#[no_mangle]
pub unsafe extern "C" fn ckview_open(
    save_path: *const c_char,
    view_out: *mut *mut ckview_view,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    unsafe { ckview_open_with(save_path, std::ptr::null(), view_out, error_out) }
}

/// `ckview_open` with options (NULL: the defaults): `CKVIEW_OPEN_MMAP` to memory-map data
/// shards for `ckview_tensor_borrow`, or `io` to read through the caller's own storage.
#[no_mangle]
pub unsafe extern "C" fn ckview_open_with(
    save_path: *const c_char,
    options: *const ckview_open_options,
    view_out: *mut *mut ckview_view,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        if view_out.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_open: view_out must not be NULL");
        }
        // SAFETY: the caller's arguments, as the header describes them.
        let request = match unsafe { OpenRequest::new("ckview_open", save_path, options, error_out) } {
            Ok(request) => request,
            Err(status) => return status,
        };
        match CheckpointView::open_with(request.path, request.storage) {
            Ok(view) => {
                // Box first, so that the bundle the reader points at has its final address.
                let mut boxed = Box::new(ckview_view {
                    view,
                    reader: ckview_reader::of_view(std::ptr::null()),
                    children: OnceLock::new(),
                    attributes: OnceLock::new(),
                    slot_variables: OnceLock::new(),
                    variable_slots: OnceLock::new(),
                    paths: OnceLock::new(),
                    children_columns: OnceLock::new(),
                });
                boxed.reader = ckview_reader::of_view(boxed.view.bundle());
                // SAFETY: `view_out` is non-NULL and writable by contract.
                unsafe { *view_out = Box::into_raw(boxed) };
                CKVIEW_OK
            }
            Err(error) => report_error(error_out, &error),
        }
    })
}

/// Frees a view and everything borrowed from it (strings, arrays, its reader). NULL is accepted
/// and ignored. No other call may be running on the view, or on anything borrowed from it.
#[no_mangle]
pub unsafe extern "C" fn ckview_close(view: *mut ckview_view) {
    if !view.is_null() {
        // SAFETY: `view` came from `ckview_open` and is freed once, by contract. Dropping only
        // unmaps files and frees memory, which cannot panic.
        drop(unsafe { Box::from_raw(view) });
    }
}
