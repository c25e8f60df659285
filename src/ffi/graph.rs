//! The object graph of a view: nodes, children, descendants, paths, attributes and slots.
//!
//! Every function here is a thin shell over [`crate::graph::ObjectGraph`]. Lists are handed out
//! as arrays borrowed from the view, one call per node: the view builds each kind of array for
//! all nodes the first time it is asked (one pass over the graph), so later calls cost nothing.

use std::ffi::c_char;
use std::ptr::null_mut;
use std::sync::OnceLock;

use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::view::ckview_view;
use super::{ckview_str, with};
use crate::view::CheckpointView;

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

/// A variable's optimizer slot: its name (`m`, `v`, `momentum`), the optimizer node that
/// recorded it, and the node of the slot variable, whose attributes hold its tensor.
#[repr(C)]
pub struct ckview_variable_slot {
    pub slot_name: ckview_str,
    pub optimizer_node_id: u32,
    pub slot_node_id: u32,
}

/// A saver registered for a node (`RegisteredSaver`).
#[repr(C)]
pub struct ckview_registered_saver {
    pub name: ckview_str,
    pub object_name: ckview_str,
}

/// A protobuf optional bool: unset, false or true.
#[repr(C)]
pub enum ckview_optional_bool {
    CKVIEW_UNSET = 0,
    CKVIEW_FALSE = 1,
    CKVIEW_TRUE = 2,
}

/// One array per node, stored end to end: node `n`'s items are `items[starts[n]..starts[n + 1]]`.
pub(crate) struct NodeTable<T> {
    starts: Vec<usize>,
    items: Vec<T>,
}

// SAFETY: the items only hold pointers into the view's immutable graph bytes, which live as long
// as the view that owns this table; nothing is ever written through them.
unsafe impl<T> Send for NodeTable<T> {}
unsafe impl<T> Sync for NodeTable<T> {}

impl<T> NodeTable<T> {
    /// Builds the table for every node of `view`; `fill` appends one node's items.
    fn build(view: &CheckpointView, fill: Fill<T>) -> NodeTable<T> {
        let num_nodes = view.num_nodes();
        let mut starts = Vec::with_capacity(num_nodes + 1);
        let mut items = Vec::new();
        starts.push(0);
        for node_id in 0..num_nodes as u32 {
            fill(view, node_id, &mut items);
            starts.push(items.len());
        }
        NodeTable { starts, items }
    }

    fn node(&self, node_id: u32) -> Option<&[T]> {
        let start = *self.starts.get(node_id as usize)?;
        let end = *self.starts.get(node_id as usize + 1)?;
        Some(&self.items[start..end])
    }
}

/// Appends the items of one node (every id passed is below the node count).
type Fill<T> = fn(&CheckpointView, u32, &mut Vec<T>);

/// Hands out node `node_id`'s array of the table in `cell`, building the table first if needed.
fn lend<T>(
    view: *const ckview_view,
    node_id: u32,
    items_out: *mut *const T,
    count_out: *mut usize,
    cell: fn(&ckview_view) -> &OnceLock<NodeTable<T>>,
    fill: Fill<T>,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a view from `ckview_open` that has not been closed, by contract.
        let Some(view) = (unsafe { view.as_ref() }) else { return CKVIEW_INVALID_ARGUMENT };
        if items_out.is_null() || count_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let table = cell(view).get_or_init(|| NodeTable::build(&view.view, fill));
        let Some(items) = table.node(node_id) else { return CKVIEW_NODE_OUT_OF_RANGE };
        // SAFETY: both out-params are non-NULL and writable by contract.
        unsafe {
            *items_out = items.as_ptr();
            *count_out = items.len();
        }
        CKVIEW_OK
    })
}

/// # The object graph
///
/// The number of nodes of the object graph; ids run from 0 (the root) to count - 1.
#[no_mangle]
pub unsafe extern "C" fn ckview_node_count(view: *const ckview_view, count_out: *mut usize) -> ckview_status {
    with(view, count_out, |view| Ok(view.view.num_nodes()))
}

/// `CheckpointView.children(node_id)`: `*count_out` (name, node id) pairs at `*children_out`, in
/// the order of TensorFlow's dict. Where a node names the same child twice, the name keeps its
/// first place and its last node id. The array and its names are borrowed from the view
/// (valid until `ckview_close`); for a node without children `*count_out` is 0.
#[no_mangle]
pub unsafe extern "C" fn ckview_children(
    view: *const ckview_view,
    node_id: u32,
    children_out: *mut *const ckview_child,
    count_out: *mut usize,
) -> ckview_status {
    lend(view, node_id, children_out, count_out, |view| &view.children, |view, node_id, out| {
        let children = view.children(node_id).into_iter().flatten();
        out.extend(children.map(|(name, node_id)| ckview_child { name: ckview_str::from(name), node_id }))
    })
}

/// The memory behind `ckview_children_columns`.
pub(crate) struct ChildrenColumns {
    node_starts: Vec<usize>,
    names: Vec<u8>,
    name_ends: Vec<usize>,
    child_ids: Vec<u32>,
}

/// The children of every node at once, as columns borrowed from the view (valid until
/// `ckview_close`), for callers that pay per call (Python): node `n`'s children are the entries
/// `node_starts[n] .. node_starts[n+1]`, in `ckview_children` order; entry `i` is the child
/// `child_ids[i]` under the name `names[name_ends[i-1] .. name_ends[i]]` (from 0 for `i` = 0;
/// UTF-8, not NUL-terminated). `node_starts` has `node_count + 1` entries.
#[repr(C)]
pub struct ckview_children_columns {
    pub node_count: usize,
    pub node_starts: *const usize,
    pub names: *const c_char,
    pub name_ends: *const usize,
    pub child_ids: *const u32,
}

/// Every node's children in one call (`ckview_children_columns`), built on the first call.
#[no_mangle]
pub unsafe extern "C" fn ckview_all_children(view: *const ckview_view, table_out: *mut ckview_children_columns) -> ckview_status {
    with(view, table_out, |view| {
        let columns = view.children_columns.get_or_init(|| {
            let num_nodes = view.view.num_nodes();
            let mut columns = ChildrenColumns {
                node_starts: Vec::with_capacity(num_nodes + 1),
                names: Vec::new(),
                name_ends: Vec::new(),
                child_ids: Vec::new(),
            };
            columns.node_starts.push(0);
            for node_id in 0..num_nodes as u32 {
                for (name, child) in view.view.children(node_id).into_iter().flatten() {
                    columns.names.extend_from_slice(name.as_bytes());
                    columns.name_ends.push(columns.names.len());
                    columns.child_ids.push(child);
                }
                columns.node_starts.push(columns.child_ids.len());
            }
            columns
        });
        Ok(ckview_children_columns {
            node_count: columns.node_starts.len() - 1,
            node_starts: columns.node_starts.as_ptr(),
            names: columns.names.as_ptr().cast(),
            name_ends: columns.name_ends.as_ptr(),
            child_ids: columns.child_ids.as_ptr(),
        })
    })
}

/// `CheckpointView.descendants()`: node 0 and every node reachable from it, breadth first.
/// `*ids_out` receives an array of `*count_out` node ids borrowed from the view.
#[no_mangle]
pub unsafe extern "C" fn ckview_descendants(
    view: *const ckview_view,
    ids_out: *mut *const u32,
    count_out: *mut usize,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a view from `ckview_open` that has not been closed, by contract.
        let Some(view) = (unsafe { view.as_ref() }) else { return CKVIEW_INVALID_ARGUMENT };
        if ids_out.is_null() || count_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let ids = view.view.descendants();
        // SAFETY: both out-params are non-NULL and writable by contract.
        unsafe {
            *ids_out = ids.as_ptr();
            *count_out = ids.len();
        }
        CKVIEW_OK
    })
}

/// The path of every node of `ckview_descendants`, in that order, borrowed from the view (valid
/// until `ckview_close`): one call instead of one `ckview_path` per node. Path `i` (of node
/// `ids[i]` of `ckview_descendants`) is `paths[path_ends[i-1] .. path_ends[i]]` (from 0 for
/// `i` = 0), UTF-8, not NUL-terminated; `*count_out` is the number of descendants. Built on the
/// first call; the pointers are never NULL.
#[no_mangle]
pub unsafe extern "C" fn ckview_descendant_paths(
    view: *const ckview_view,
    paths_out: *mut *const c_char,
    path_ends_out: *mut *const usize,
    count_out: *mut usize,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a view from `ckview_open` that has not been closed, by contract.
        let Some(view) = (unsafe { view.as_ref() }) else { return CKVIEW_INVALID_ARGUMENT };
        if paths_out.is_null() || path_ends_out.is_null() || count_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        if view.paths.get().is_none() {
            let mut paths = Vec::new();
            let mut ends = Vec::with_capacity(view.view.descendants().len());
            for &node in view.view.descendants() {
                match view.view.path(node) {
                    Ok(Some(path)) => paths.extend_from_slice(path.as_bytes()),
                    Ok(None) => {} // descendants are reachable: never happens
                    Err(error) => return ckview_status::from(&error),
                }
                ends.push(paths.len());
            }
            let _ = view.paths.set((paths, ends)); // another thread may have set the same first
        }
        let Some((paths, ends)) = view.paths.get() else { return CKVIEW_INTERNAL_ERROR };
        // SAFETY: the three out-params are non-NULL and writable by contract.
        unsafe {
            *paths_out = paths.as_ptr().cast();
            *path_ends_out = ends.as_ptr();
            *count_out = ends.len();
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
pub unsafe extern "C" fn ckview_path(
    view: *const ckview_view,
    node_id: u32,
    buffer: *mut c_char,
    buffer_len: usize,
    path_len_out: *mut usize,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a view from `ckview_open` that has not been closed, by contract.
        let Some(view) = (unsafe { view.as_ref() }) else { return CKVIEW_INVALID_ARGUMENT };
        if path_len_out.is_null() || (buffer.is_null() && buffer_len != 0) {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let path = match view.view.path(node_id) {
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

/// The serialized tensors (attributes) of `node_id`, in stored order: `*count_out` of them at
/// `*attributes_out`, borrowed from the view. Read a tensor through its `checkpoint_key` with
/// `ckview_reader_find`.
#[no_mangle]
pub unsafe extern "C" fn ckview_attributes(
    view: *const ckview_view,
    node_id: u32,
    attributes_out: *mut *const ckview_attribute,
    count_out: *mut usize,
) -> ckview_status {
    lend(view, node_id, attributes_out, count_out, |view| &view.attributes, |view, node_id, out| {
        let attributes = view.attributes(node_id).into_iter().flatten();
        out.extend(attributes.map(|attribute| ckview_attribute {
            name: ckview_str::from(attribute.name),
            full_name: ckview_str::from(attribute.full_name),
            checkpoint_key: ckview_str::from(attribute.checkpoint_key),
        }))
    })
}

/// The optimizer slot variables recorded on `node_id` (legacy Keras optimizers record them on
/// the optimizer's node), in stored order, borrowed from the view. Both node ids of each are
/// below the node count.
#[no_mangle]
pub unsafe extern "C" fn ckview_slot_variables(
    view: *const ckview_view,
    node_id: u32,
    slots_out: *mut *const ckview_slot_variable,
    count_out: *mut usize,
) -> ckview_status {
    lend(view, node_id, slots_out, count_out, |view| &view.slot_variables, |view, node_id, out| {
        let slots = view.slot_variables(node_id).into_iter().flatten();
        out.extend(slots.map(|slot| ckview_slot_variable {
            original_variable_node_id: slot.original_variable_node_id,
            slot_name: ckview_str::from(slot.slot_name),
            slot_variable_node_id: slot.slot_variable_node_id,
        }))
    })
}

/// The optimizer slots of the variable `node_id`, seen from the variable: for each, the slot's
/// name, the optimizer that recorded it and the slot variable's node (read its tensor through
/// that node's attributes). Borrowed from the view.
#[no_mangle]
pub unsafe extern "C" fn ckview_variable_slots(
    view: *const ckview_view,
    node_id: u32,
    slots_out: *mut *const ckview_variable_slot,
    count_out: *mut usize,
) -> ckview_status {
    lend(view, node_id, slots_out, count_out, |view| &view.variable_slots, |view, node_id, out| {
        let slots = view.variable_slots(node_id).into_iter().flatten();
        out.extend(slots.map(|slot| ckview_variable_slot {
            slot_name: ckview_str::from(slot.slot.slot_name),
            optimizer_node_id: slot.optimizer_node_id,
            slot_node_id: slot.slot.slot_variable_node_id,
        }))
    })
}

/// The saver registered for `node_id`: `*present_out` receives whether there is one, and when
/// there is, `*saver_out` receives it (`saver_out` is left alone otherwise, and may be NULL to
/// ask only whether there is one).
#[no_mangle]
pub unsafe extern "C" fn ckview_saver(
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
pub unsafe extern "C" fn ckview_has_checkpoint_values(
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
