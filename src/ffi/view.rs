//! `ckview_view`: opening a checkpoint and reading its object graph.
//!
//! Every function here is a thin shell: check pointers, call [`CheckpointView`], map the result.
//! Strings handed out are borrowed from the view and stay valid until `ckview_view_free`.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::ptr::null_mut;

use super::error::{ckview_error, report};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::{ckview_reader, ckview_str, with};
use crate::graph::{GraphError, Records};
use crate::view::CheckpointView;

/// An open checkpoint and its object graph. Opaque; free with `ckview_view_free`.
pub struct ckview_view {
    pub(crate) view: CheckpointView,
    /// The reader `ckview_view_reader` lends, pointing at `view`'s bundle.
    pub(crate) reader: ckview_reader,
}

/// One entry of a node's children: the local name and the child's node id.
#[repr(C)]
pub struct ckview_child {
    pub name: ckview_str,
    pub node_id: u32,
}

/// One serialized tensor of a node (`SerializedTensor`): its attribute name (e.g.
/// `VARIABLE_VALUE`), the full name of the object it came from, and its key in the bundle.
#[repr(C)]
pub struct ckview_attribute {
    pub name: ckview_str,
    pub full_name: ckview_str,
    pub checkpoint_key: ckview_str,
}

/// An optimizer slot variable recorded on an optimizer node (`SlotVariableReference`).
#[repr(C)]
pub struct ckview_slot_variable {
    pub original_variable_node_id: u32,
    pub slot_name: ckview_str,
    pub slot_variable_node_id: u32,
}

/// A saver registered for a node (`RegisteredSaver`).
#[repr(C)]
pub struct ckview_registered_saver {
    pub name: ckview_str,
    pub object_name: ckview_str,
}

/// A protobuf optional bool: unset, false or true.
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum ckview_optional_bool {
    CKVIEW_UNSET = 0,
    CKVIEW_FALSE = 1,
    CKVIEW_TRUE = 2,
}

/// Picks element `index` of a node's list, or `CKVIEW_INDEX_OUT_OF_RANGE`.
fn element<T>(list: Result<Records<'_, T>, GraphError>, index: usize) -> Result<T, ckview_status> {
    list?.get(index).ok_or(CKVIEW_INDEX_OUT_OF_RANGE)
}

/// Runs `body` on the view behind `view`, or returns `CKVIEW_INVALID_ARGUMENT` for NULL.
fn with_view(view: *const ckview_view, body: impl FnOnce(&CheckpointView) -> ckview_status) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: the caller passes NULL or a view from `ckview_open` that it has not freed.
        match unsafe { view.as_ref() } {
            Some(view) => body(&view.view),
            None => CKVIEW_INVALID_ARGUMENT,
        }
    })
}

/// Opens the checkpoint `save_path` leads to and loads its object graph.
///
/// `save_path` is a NUL-terminated path: the checkpoint prefix (`dir/ckpt-1`), a directory whose
/// `checkpoint` state file names the latest checkpoint, the `.index` file, or a data shard.
/// On success `*view_out` receives a view to free with `ckview_view_free`. On failure nothing is
/// written to `*view_out`; if `error_out` is not NULL, `*error_out` receives an error to free with
/// `ckview_error_free`. A TF1 name-based checkpoint fails with `CKVIEW_NAME_BASED_CHECKPOINT`.
#[no_mangle]
pub unsafe extern "C" fn ckview_open(
    save_path: *const c_char,
    view_out: *mut *mut ckview_view,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        if save_path.is_null() || view_out.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_open: save_path and view_out must not be NULL");
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let path = OsStr::from_bytes(unsafe { CStr::from_ptr(save_path) }.to_bytes());
        match CheckpointView::open(path) {
            Ok(view) => {
                // Box first, so that the bundle the reader points at has its final address.
                let mut boxed = Box::new(ckview_view { view, reader: ckview_reader::of_view(std::ptr::null()) });
                boxed.reader = ckview_reader::of_view(boxed.view.bundle());
                // SAFETY: `view_out` is non-NULL and writable by contract.
                unsafe { *view_out = Box::into_raw(boxed) };
                CKVIEW_OK
            }
            Err(error) => report(error_out, ckview_status::from(&error), &error.to_string()),
        }
    })
}

/// Frees a view and everything borrowed from it. NULL is accepted and ignored.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_free(view: *mut ckview_view) {
    if !view.is_null() {
        // SAFETY: `view` came from `ckview_open` and is freed once, by contract. Dropping only
        // unmaps files and frees memory, which cannot panic.
        drop(unsafe { Box::from_raw(view) });
    }
}

/// The number of nodes of the object graph; ids run from 0 (the root) to count - 1.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_node_count(view: *const ckview_view, count_out: *mut usize) -> ckview_status {
    with(view, count_out, |view| Ok(view.view.num_nodes()))
}

/// The number of children of `node_id`, as `CheckpointView.children(node_id)` counts them
/// (a name referenced twice counts once).
#[no_mangle]
pub unsafe extern "C" fn ckview_view_child_count(
    view: *const ckview_view,
    node_id: u32,
    count_out: *mut usize,
) -> ckview_status {
    with(view, count_out, |view| Ok(view.view.children(node_id)?.len()))
}

/// The `index`-th child of `node_id`, in the order of TensorFlow's `children(node_id)` dict.
/// Where a node names the same child twice, the name keeps its first place and its last node id.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_child(
    view: *const ckview_view,
    node_id: u32,
    index: usize,
    child_out: *mut ckview_child,
) -> ckview_status {
    with(view, child_out, |view| {
        let (name, node_id) = element(view.view.children(node_id), index)?;
        Ok(ckview_child { name: ckview_str::from(name), node_id })
    })
}

/// `CheckpointView.descendants()`: node 0 and every node reachable from it, breadth first.
/// `*ids_out` receives an array of `*count_out` node ids borrowed from the view.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_descendants(
    view: *const ckview_view,
    ids_out: *mut *const u32,
    count_out: *mut usize,
) -> ckview_status {
    with_view(view, |view| {
        if ids_out.is_null() || count_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let ids = view.descendants();
        // SAFETY: both out-params are non-NULL and writable by contract.
        unsafe {
            *ids_out = ids.as_ptr();
            *count_out = ids.len();
        }
        CKVIEW_OK
    })
}

/// The dotted path of `node_id` as TensorFlow builds it (`root`, `root.leaf.a_var`,
/// `root.vars.0`), copied into `buffer` like `snprintf`: `*path_len_out` always receives the full
/// length in bytes (without NUL); when `buffer_len` is larger than that, the path and a NUL are
/// written and `CKVIEW_OK` returned, else `CKVIEW_BUFFER_TOO_SMALL` and nothing is written.
/// `buffer` may be NULL when `buffer_len` is 0, to query the length. A node that cannot be reached
/// from the root has no path: `CKVIEW_NODE_UNREACHABLE`.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_path(
    view: *const ckview_view,
    node_id: u32,
    buffer: *mut c_char,
    buffer_len: usize,
    path_len_out: *mut usize,
) -> ckview_status {
    with_view(view, |view| {
        if path_len_out.is_null() || (buffer.is_null() && buffer_len != 0) {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let path = match view.path(node_id) {
            Ok(Some(path)) => path,
            Ok(None) => return CKVIEW_NODE_UNREACHABLE,
            Err(error) => return ckview_status::from(&error),
        };
        // SAFETY: `path_len_out` is non-NULL; `buffer` holds `buffer_len` writable bytes.
        unsafe {
            *path_len_out = path.len();
            if buffer_len <= path.len() {
                return CKVIEW_BUFFER_TOO_SMALL;
            }
            std::ptr::copy_nonoverlapping(path.as_ptr(), buffer.cast::<u8>(), path.len());
            *buffer.add(path.len()) = 0;
        }
        CKVIEW_OK
    })
}

/// The number of serialized tensors (attributes) of `node_id`.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_attribute_count(
    view: *const ckview_view,
    node_id: u32,
    count_out: *mut usize,
) -> ckview_status {
    with(view, count_out, |view| Ok(view.view.attributes(node_id)?.len()))
}

/// The `index`-th attribute of `node_id`, in stored order.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_attribute(
    view: *const ckview_view,
    node_id: u32,
    index: usize,
    attribute_out: *mut ckview_attribute,
) -> ckview_status {
    with(view, attribute_out, |view| {
        let attribute = element(view.view.attributes(node_id), index)?;
        Ok(ckview_attribute {
            name: ckview_str::from(attribute.name),
            full_name: ckview_str::from(attribute.full_name),
            checkpoint_key: ckview_str::from(attribute.checkpoint_key),
        })
    })
}

/// The number of optimizer slot variables recorded on `node_id` (legacy Keras optimizers record
/// them on the optimizer's node).
#[no_mangle]
pub unsafe extern "C" fn ckview_view_slot_variable_count(
    view: *const ckview_view,
    node_id: u32,
    count_out: *mut usize,
) -> ckview_status {
    with(view, count_out, |view| Ok(view.view.slot_variables(node_id)?.len()))
}

/// The `index`-th slot variable recorded on `node_id`. Both node ids in it are checked to be
/// below the node count.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_slot_variable(
    view: *const ckview_view,
    node_id: u32,
    index: usize,
    slot_out: *mut ckview_slot_variable,
) -> ckview_status {
    with(view, slot_out, |view| {
        let slot = element(view.view.slot_variables(node_id), index)?;
        Ok(ckview_slot_variable {
            original_variable_node_id: slot.original_variable_node_id,
            slot_name: ckview_str::from(slot.slot_name),
            slot_variable_node_id: slot.slot_variable_node_id,
        })
    })
}

/// The saver registered for `node_id`: `*present_out` receives whether there is one, and when
/// there is, `*saver_out` receives it (`saver_out` is left alone otherwise, and may be NULL to
/// ask only whether there is one).
#[no_mangle]
pub unsafe extern "C" fn ckview_view_registered_saver(
    view: *const ckview_view,
    node_id: u32,
    present_out: *mut bool,
    saver_out: *mut ckview_registered_saver,
) -> ckview_status {
    with(view, present_out, |view| {
        let saver = view.view.registered_saver(node_id)?;
        if let Some(saver) = saver.filter(|_| !saver_out.is_null()) {
            // SAFETY: `saver_out` is non-NULL and writable by contract.
            unsafe {
                saver_out.write(ckview_registered_saver {
                    name: ckview_str::from(saver.name),
                    object_name: ckview_str::from(saver.object_name),
                })
            };
        }
        Ok(saver.is_some())
    })
}

/// The node's `has_checkpoint_values` flag, which writers may leave unset.
#[no_mangle]
pub unsafe extern "C" fn ckview_view_has_checkpoint_values(
    view: *const ckview_view,
    node_id: u32,
    value_out: *mut ckview_optional_bool,
) -> ckview_status {
    with(view, value_out, |view| {
        Ok(match view.view.has_checkpoint_values(node_id)? {
            None => ckview_optional_bool::CKVIEW_UNSET,
            Some(false) => ckview_optional_bool::CKVIEW_FALSE,
            Some(true) => ckview_optional_bool::CKVIEW_TRUE,
        })
    })
}
