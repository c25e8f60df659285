//! `ckview_tensor_list`: every tensor of a reader, or of one attribute of a view, one by one
//! (`ckview_tensor_list_get`) or as columns (`ckview_tensor_list_table`).
//!
//! A reader's listing of thousands of keys is mostly read as columns (the Python package's shape
//! and dtype maps), so the list holds the columns and each entry's stored bytes, and makes a
//! `ckview_tensor` only when `ckview_tensor_list_get` first asks for it. Holding a key, a shape
//! and a tensor per key used to cost more than walking and decoding the whole index.

use std::ffi::c_char;
use std::sync::OnceLock;

use super::error::{ckview_error, report, report_error};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::tensor::{ckview_reader, ckview_tensor, status_of, Source};
use super::view::ckview_view;
use super::with;
use crate::format::Bundle;

/// Every tensor of a bundle, in key order. Opaque; free with `ckview_tensor_list_free`.
pub struct ckview_tensor_list {
    columns: Columns,
    members: Members,
}

/// Where the tensors `ckview_tensor_list_get` lends come from.
enum Members {
    /// Made when listed: an attribute's few tensors, and a V1 checkpoint's.
    Made(Vec<ckview_tensor>),
    /// A bundle's entries as stored in its index, each decoded again on its first `get`.
    Stored { bundle: *const Bundle, values: Vec<u8>, value_ends: Vec<usize>, made: Vec<OnceLock<Box<ckview_tensor>>> },
}

/// The memory behind a `ckview_tensor_table`.
#[derive(Default)]
struct Columns {
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    dtypes: Vec<i32>,
    dims: Vec<u64>,
    dim_ends: Vec<usize>,
}

impl Columns {
    fn push(&mut self, key: &[u8], dtype_number: i32, shape: &[u64]) {
        self.keys.extend_from_slice(key);
        self.key_ends.push(self.keys.len());
        self.dtypes.push(dtype_number);
        self.dims.extend_from_slice(shape);
        self.dim_ends.push(self.dims.len());
    }

    fn of(tensors: &[ckview_tensor]) -> Columns {
        let mut columns = Columns::default();
        for tensor in tensors {
            columns.push(&tensor.key, tensor.entry.dtype_number, &tensor.entry.shape);
        }
        columns
    }

    fn key(&self, index: usize) -> &[u8] {
        &self.keys[span(&self.key_ends, index)]
    }
}

/// Item `index` of a column stored as one run of bytes and the end of each item.
fn span(ends: &[usize], index: usize) -> std::ops::Range<usize> {
    (if index == 0 { 0 } else { ends[index - 1] })..ends[index]
}

impl ckview_tensor_list {
    fn made(tensors: Vec<ckview_tensor>) -> *mut ckview_tensor_list {
        let columns = Columns::of(&tensors);
        Box::into_raw(Box::new(ckview_tensor_list { columns, members: Members::Made(tensors) }))
    }

    fn count(&self) -> usize {
        self.columns.key_ends.len()
    }

    fn get(&self, index: usize) -> Result<&ckview_tensor, ckview_status> {
        match &self.members {
            Members::Made(tensors) => tensors.get(index).ok_or(CKVIEW_INDEX_OUT_OF_RANGE),
            Members::Stored { bundle, values, value_ends, made } => {
                let slot = made.get(index).ok_or(CKVIEW_INDEX_OUT_OF_RANGE)?;
                if let Some(tensor) = slot.get() {
                    return Ok(tensor);
                }
                // SAFETY: lists must be freed before their reader, by contract.
                let bundle = unsafe { &**bundle };
                let key = self.columns.key(index);
                // Decoded once already, when listed: an error here would be the library's own.
                let entry = bundle.decode_entry(key, &values[span(value_ends, index)]).map_err(|error| ckview_status::from(&error))?;
                Ok(slot.get_or_init(|| Box::new(ckview_tensor::new(bundle, key.to_vec(), entry))))
            }
        }
    }
}

/// Every tensor of a list as columns, borrowed from the list (valid until it is freed), so that
/// a caller reads the metadata of thousands of keys in one call instead of several per key.
/// Tensor `i` has the key `keys[key_ends[i-1] .. key_ends[i]]` (from 0 for `i` = 0; any bytes,
/// not NUL-terminated), the dtype `dtypes[i]` (as `ckview_tensor_dtype`) and the shape
/// `dims[dim_ends[i-1] .. dim_ends[i]]`. The pointers are never NULL, even when `count` is 0.
#[repr(C)]
pub struct ckview_tensor_table {
    pub count: usize,
    pub keys: *const c_char,
    pub key_ends: *const usize,
    pub dtypes: *const i32,
    pub dims: *const u64,
    pub dim_ends: *const usize,
}

/// Lists every tensor in key order, as `tf.train.list_variables` does (the header and the
/// per-slice keys of partitioned tensors are left out). Reads the whole index.
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_list(
    reader: *const ckview_reader,
    list_out: *mut *mut ckview_tensor_list,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live reader, by contract.
        let (Some(reader), false) = (unsafe { reader.as_ref() }, list_out.is_null()) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "reader and list_out must not be NULL");
        };
        let list = match reader.source() {
            Source::V2(bundle) => {
                let (mut columns, mut values, mut value_ends) = (Columns::default(), Vec::new(), Vec::new());
                // SAFETY: the reader's own checkpoint.
                let listed = unsafe { &*bundle }.for_each_tensor_stored(|key, value, entry| {
                    columns.push(key, entry.dtype_number, &entry.shape);
                    values.extend_from_slice(value);
                    value_ends.push(values.len());
                });
                if let Err(error) = listed {
                    return status_of(&error, error_out);
                }
                let made = (0..value_ends.len()).map(|_| OnceLock::new()).collect();
                Box::into_raw(Box::new(ckview_tensor_list { columns, members: Members::Stored { bundle, values, value_ends, made } }))
            }
            Source::V1(v1) => {
                // SAFETY: the reader's own checkpoint.
                let v1 = unsafe { &*v1 };
                ckview_tensor_list::made(v1.tensors().iter().filter_map(|tensor| ckview_tensor::of_v1(v1, &tensor.name)).collect())
            }
        };
        // SAFETY: non-NULL and writable by contract.
        unsafe { *list_out = list };
        CKVIEW_OK
    })
}

/// The tensors of attribute `attribute_index` of `node_id` (an index into the array
/// `ckview_attributes` lends), as a list to free with `ckview_tensor_list_free`; they read
/// through the view's reader and are valid while the view is open.
///
/// A variable's attribute has one tensor, under its `checkpoint_key`. A saveable that is not a
/// variable stores its tensors under the `checkpoint_key` plus a suffix each: `-keys` and
/// `-values` of a `MutableHashTable` or `DenseHashTable`; those are listed in key order (a
/// tensor's suffix is its key minus the `checkpoint_key`). The list is empty when the bundle has
/// neither: the attribute's tensor is missing. `CKVIEW_NODE_OUT_OF_RANGE` for a node id at or
/// past the node count, `CKVIEW_INDEX_OUT_OF_RANGE` for an attribute index at or past the
/// node's attribute count.
#[no_mangle]
pub unsafe extern "C" fn ckview_attribute_tensors(
    view: *const ckview_view,
    node_id: u32,
    attribute_index: usize,
    list_out: *mut *mut ckview_tensor_list,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a view that has not been closed, by contract.
        let (Some(view), false) = (unsafe { view.as_ref() }, list_out.is_null()) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "view and list_out must not be NULL");
        };
        let attributes = match view.view.attribute_tensors(node_id) {
            Ok(attributes) => attributes,
            Err(error) => return report_error(error_out, &error),
        };
        let Some((_, tensors)) = attributes.into_iter().nth(attribute_index) else {
            return report(error_out, CKVIEW_INDEX_OUT_OF_RANGE, &format!("node {node_id} has no attribute {attribute_index}"));
        };
        let bundle = view.view.bundle();
        let tensors = tensors
            .into_iter()
            .filter_map(|tensor| Some(ckview_tensor::new(bundle, tensor.key.into_bytes(), tensor.entry?)))
            .collect();
        // SAFETY: non-NULL and writable by contract.
        unsafe { *list_out = ckview_tensor_list::made(tensors) };
        CKVIEW_OK
    })
}

/// The number of tensors in a list.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_list_count(list: *const ckview_tensor_list, count_out: *mut usize) -> ckview_status {
    with(list, count_out, |list| Ok(list.count()))
}

/// The `index`-th tensor of a list, borrowed: valid until the list is freed; do not free it.
/// Any number of threads may ask for tensors of one list at once.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_list_get(
    list: *const ckview_tensor_list,
    index: usize,
    tensor_out: *mut *const ckview_tensor,
) -> ckview_status {
    with(list, tensor_out, |list| list.get(index).map(|tensor| tensor as *const ckview_tensor))
}

/// Every tensor of the list at once, as columns borrowed from the list (`ckview_tensor_table`):
/// what `ckview_tensor_key`, `ckview_tensor_dtype` and `ckview_tensor_shape` give for each
/// tensor, in the list's order. Made with the list: this call copies nothing.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_list_table(
    list: *const ckview_tensor_list,
    table_out: *mut ckview_tensor_table,
) -> ckview_status {
    with(list, table_out, |list| {
        let columns = &list.columns;
        // Empty vectors have dangling, non-NULL pointers: never NULL, as documented.
        Ok(ckview_tensor_table {
            count: list.count(),
            keys: columns.keys.as_ptr().cast(),
            key_ends: columns.key_ends.as_ptr(),
            dtypes: columns.dtypes.as_ptr(),
            dims: columns.dims.as_ptr(),
            dim_ends: columns.dim_ends.as_ptr(),
        })
    })
}

/// Frees a tensor list and the tensors borrowed from it. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_list_free(list: *mut ckview_tensor_list) {
    if !list.is_null() {
        // SAFETY: from `ckview_reader_list` or `ckview_attribute_tensors`, freed once, by contract.
        drop(unsafe { Box::from_raw(list) });
    }
}
