//! `ckview_reader` and `ckview_tensor`: the keys of a bundle, their metadata and their values.
//!
//! A reader reads any V2 bundle, TF1 name-based checkpoints included, and TF1 V1 checkpoints
//! ("SavedTensorSlices", docs/v1.md). A view has one too (`ckview_reader_of_view`, always V2). Tensor handles point into their reader: free them before it.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use super::error::{ckview_error, report, report_format_error};
use super::io::{ckview_open_options, OpenRequest};
use super::guard::{guard, guard_value};
use super::status::ckview_status::{self, *};
use super::view::ckview_view;
use super::{ckview_str, with};
use crate::format::{dtype_c_name, element_size, Bundle, Checkpoint, DataType, FormatError, Strings, TensorEntry, V1Checkpoint, Verify};

/// Reading flag: skip crc32c verification (for a tensor read repeatedly). 0 verifies everything.
pub const CKVIEW_READ_SKIP_CHECKSUMS: u32 = 1;

/// The tensors of a bundle, by key. Opaque; free with `ckview_reader_free` (unless borrowed
/// from a view with `ckview_reader_of_view`).
pub struct ckview_reader {
    source: ReaderSource,
}

/// A reader owns its checkpoint (a bundle or a V1 checkpoint), or reads the bundle of the view
/// that holds it. One per open: the size difference of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum ReaderSource {
    Owned(Checkpoint),
    /// Points at the bundle inside the same boxed `ckview_view`, which never moves.
    OfView(*const Bundle),
}

// SAFETY: a `Bundle` is Sync; the pointer is only read, while the view that holds it lives.
unsafe impl Send for ckview_reader {}
unsafe impl Sync for ckview_reader {}

impl ckview_reader {
    /// The reader of the view whose bundle is at `bundle` (NULL until the view has its address).
    pub(crate) fn of_view(bundle: *const Bundle) -> ckview_reader {
        ckview_reader { source: ReaderSource::OfView(bundle) }
    }

    /// What an export reads: the bundle (named through its object graph when it has one) or
    /// the V1 checkpoint.
    pub(crate) fn export_source(&self) -> crate::export::Source<'_> {
        match &self.source {
            ReaderSource::Owned(checkpoint) => checkpoint.into(),
            // SAFETY: the view holding this reader owns the bundle and outlives the reader.
            ReaderSource::OfView(bundle) => crate::export::Source::Bundle(unsafe { &**bundle }),
        }
    }

    /// The checkpoint the reader reads: its own, or the bundle of the view that holds it (which
    /// outlives the reader).
    pub(super) fn source(&self) -> Source {
        match &self.source {
            ReaderSource::Owned(Checkpoint::V2(bundle)) => Source::V2(bundle),
            ReaderSource::Owned(Checkpoint::V1(v1)) => Source::V1(v1),
            // SAFETY: the view holding this reader owns the bundle and outlives the reader.
            ReaderSource::OfView(bundle) => Source::V2(unsafe { &**bundle }),
        }
    }
}

/// The checkpoint a reader or tensor reads.
#[derive(Clone, Copy)]
pub(super) enum Source {
    V2(*const Bundle),
    V1(*const V1Checkpoint),
}

/// What a V1 checkpoint lacks, as a status with a message.
fn not_in_v1(error_out: *mut *mut ckview_error, what: &str) -> ckview_status {
    report(error_out, CKVIEW_UNSUPPORTED, &format!("{what}: not available for a V1 checkpoint (SavedTensorSlices)"))
}

/// One tensor's key and metadata. Opaque; free with `ckview_tensor_free` (unless borrowed from
/// a `ckview_tensor_list`). Valid only while its reader (or view) is open.
pub struct ckview_tensor {
    source: Source,
    pub(super) key: Vec<u8>,
    pub(super) entry: TensorEntry,
    slices: Vec<Vec<ckview_slice_extent>>,
}

/// The elements of a string tensor, read into memory the list owns. Opaque; free with
/// `ckview_string_list_free`.
pub struct ckview_string_list {
    strings: Vec<ckview_str>,
    _values: Strings,
}

/// One dimension of a stored slice: `length` is -1 for "the whole dimension".
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ckview_slice_extent {
    pub start: u64,
    pub length: i64,
}

impl ckview_tensor {
    pub(super) fn new(bundle: &Bundle, key: Vec<u8>, entry: TensorEntry) -> ckview_tensor {
        ckview_tensor::with_source(Source::V2(bundle), key, entry)
    }

    /// A V1 tensor, its metadata in an entry with no location (and no slices: those of a V1
    /// tensor are not listed through the C ABI).
    pub(super) fn of_v1(v1: &V1Checkpoint, name: &[u8]) -> Option<ckview_tensor> {
        let tensor = v1.tensor(name)?;
        let entry = tensor.metadata();
        Some(ckview_tensor::with_source(Source::V1(v1), tensor.name.clone(), entry))
    }

    fn with_source(source: Source, key: Vec<u8>, entry: TensorEntry) -> ckview_tensor {
        let slices = entry
            .slices
            .iter()
            .map(|slice| {
                slice
                    .iter()
                    .map(|extent| ckview_slice_extent { start: extent.start, length: extent.length.map_or(-1, |l| l as i64) })
                    .collect()
            })
            .collect();
        ckview_tensor { source, key, entry, slices }
    }

    /// The tensor's bundle, or `None` for a V1 tensor.
    fn bundle(&self) -> Option<&Bundle> {
        match self.source {
            // SAFETY: tensors must be freed before their reader, by contract.
            Source::V2(bundle) => Some(unsafe { &*bundle }),
            Source::V1(_) => None,
        }
    }

    /// The tensor's V1 checkpoint and its tensor there, or `None` for a V2 tensor.
    fn v1(&self) -> Option<(&V1Checkpoint, &crate::format::v1::V1Tensor)> {
        match self.source {
            Source::V2(_) => None,
            Source::V1(v1) => {
                // SAFETY: tensors must be freed before their reader, by contract.
                let v1 = unsafe { &*v1 };
                v1.tensor(&self.key).map(|tensor| (v1, tensor))
            }
        }
    }
}

pub(super) fn status_of(error: &FormatError, error_out: *mut *mut ckview_error) -> ckview_status {
    report_format_error(error_out, error)
}

/// # Tensors
///
/// Opens the bundle `save_path` leads to (prefix, directory, `.index` or data shard) for
/// reading tensors by key; unlike `ckview_open` it needs no object graph, so TF1 name-based
/// checkpoints open too. Where no bundle is found, a TF1 V1 checkpoint ("SavedTensorSlices":
/// its file, one shard, `P-?????-of-N` or a sharded save path) opens instead: its tensors list
/// and read the same way, but `ckview_tensor_shard`, `ckview_tensor_slice_count`,
/// `ckview_tensor_slice` and `ckview_tensor_borrow` answer `CKVIEW_UNSUPPORTED`. Local files,
/// read with positioned reads (no memory maps).
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_open(
    save_path: *const c_char,
    reader_out: *mut *mut ckview_reader,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    unsafe { ckview_reader_open_with(save_path, std::ptr::null(), reader_out, error_out) }
}

/// `ckview_reader_open` with options (NULL: the defaults): memory maps for
/// `ckview_tensor_borrow`, or the caller's own storage (`ckview_open_options`).
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_open_with(
    save_path: *const c_char,
    options: *const ckview_open_options,
    reader_out: *mut *mut ckview_reader,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        if reader_out.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_reader_open: reader_out must not be NULL");
        }
        // SAFETY: the caller's arguments, as the header describes them.
        let request = match unsafe { OpenRequest::new("ckview_reader_open", save_path, options, error_out) } {
            Ok(request) => request,
            Err(status) => return status,
        };
        match Checkpoint::open_with(request.path, request.storage) {
            Ok(checkpoint) => {
                // SAFETY: non-NULL and writable by contract.
                unsafe { *reader_out = Box::into_raw(Box::new(ckview_reader { source: ReaderSource::Owned(checkpoint) })) };
                CKVIEW_OK
            }
            Err(error) => status_of(&error, error_out),
        }
    })
}

/// Frees a reader from `ckview_reader_open`. NULL is accepted. Never pass a borrowed reader.
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_free(reader: *mut ckview_reader) {
    if !reader.is_null() {
        // SAFETY: from `ckview_reader_open`, freed once, by contract.
        drop(unsafe { Box::from_raw(reader) });
    }
}

/// The reader of a view's bundle, borrowed: valid until `ckview_close(view)`; do not free it.
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_of_view(view: *const ckview_view, reader_out: *mut *const ckview_reader) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a live view, by contract.
        match (unsafe { view.as_ref() }, reader_out.is_null()) {
            (Some(view), false) => {
                // SAFETY: non-NULL out-param, by the match.
                unsafe { *reader_out = &view.reader };
                CKVIEW_OK
            }
            _ => CKVIEW_INVALID_ARGUMENT,
        }
    })
}

/// Looks up the tensor stored under the `key_len` bytes of `key`: `CKVIEW_KEY_NOT_FOUND` when
/// there is none. Reads one index block, not the whole index.
#[no_mangle]
pub unsafe extern "C" fn ckview_reader_find(
    reader: *const ckview_reader,
    key: *const c_char,
    key_len: usize,
    tensor_out: *mut *mut ckview_tensor,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live reader, by contract.
        let (Some(reader), false, false) = (unsafe { reader.as_ref() }, key.is_null() && key_len > 0, tensor_out.is_null()) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "reader, key and tensor_out must not be NULL");
        };
        // SAFETY: `key_len` readable bytes at `key`, by contract.
        let key = if key_len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(key.cast::<u8>(), key_len) } };
        let bundle = match reader.source() {
            // SAFETY: the reader's own checkpoint.
            Source::V2(bundle) => unsafe { &*bundle },
            Source::V1(v1) => {
                // SAFETY: the reader's own checkpoint.
                let v1 = unsafe { &*v1 };
                let Some(tensor) = ckview_tensor::of_v1(v1, key) else {
                    return status_of(&v1.require(key).unwrap_err(), error_out);
                };
                // SAFETY: non-NULL and writable by contract.
                unsafe { *tensor_out = Box::into_raw(Box::new(tensor)) };
                return CKVIEW_OK;
            }
        };
        let found = match bundle.entry(key) {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                let error = FormatError::KeyNotFound {
                    path: bundle.table().path().to_path_buf(),
                    key: String::from_utf8_lossy(key).into_owned(),
                };
                return status_of(&error, error_out);
            }
            Err(error) => return status_of(&error, error_out),
        };
        // SAFETY: non-NULL and writable by contract.
        unsafe { *tensor_out = Box::into_raw(Box::new(ckview_tensor::new(bundle, key.to_vec(), found))) };
        CKVIEW_OK
    })
}

/// Frees a tensor from `ckview_reader_find`. NULL is accepted. Never pass one from a list.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_free(tensor: *mut ckview_tensor) {
    if !tensor.is_null() {
        // SAFETY: from `ckview_reader_find`, freed once, by contract.
        drop(unsafe { Box::from_raw(tensor) });
    }
}

/// The tensor's key, borrowed from the tensor.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_key(tensor: *const ckview_tensor, key_out: *mut ckview_str) -> ckview_status {
    with(tensor, key_out, |t| {
        Ok(ckview_str::from(t.key.as_slice()))
    })
}

/// The tensor's dtype as TensorFlow's `DataType` number (`DT_FLOAT` = 1, ...), as stored: a
/// number ckview does not know is passed on (`ckview_dtype_name` gives `"unknown"` for it, and
/// reading the values gives `CKVIEW_UNSUPPORTED_DTYPE`).
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_dtype(tensor: *const ckview_tensor, dtype_out: *mut i32) -> ckview_status {
    with(tensor, dtype_out, |t| Ok(t.entry.dtype_number))
}

/// Bytes per element of a `DataType` number (4 for `DT_FLOAT`, 16 for `DT_COMPLEX128`); 0 for
/// strings, variants and numbers that are not a dtype, which have no fixed size.
#[no_mangle]
pub extern "C" fn ckview_dtype_size(dtype: i32) -> usize {
    guard_value(0, || DataType::try_from(dtype).ok().and_then(element_size).unwrap_or(0) as usize)
}

/// TensorFlow's name of a `DataType` number (`"float32"`, `"bfloat16"`, `"string"`), static and
/// NUL-terminated; `"unknown"` for a number that is not a dtype.
#[no_mangle]
pub extern "C" fn ckview_dtype_name(dtype: i32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || DataType::try_from(dtype).map_or(c"unknown", dtype_c_name).as_ptr())
}

/// The tensor's shape: `*rank_out` dimensions at `*dims_out`, borrowed from the tensor (for a
/// scalar, rank 0, `*dims_out` must not be read).
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_shape(
    tensor: *const ckview_tensor,
    dims_out: *mut *const u64,
    rank_out: *mut usize,
) -> ckview_status {
    with(tensor, dims_out, |t| {
        if rank_out.is_null() {
            return Err(CKVIEW_INVALID_ARGUMENT);
        }
        // SAFETY: non-NULL rank_out, by the check above.
        unsafe { *rank_out = t.entry.shape.len() };
        Ok(t.entry.shape.as_ptr())
    })
}

/// The number of elements (1 for a scalar).
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_num_elements(tensor: *const ckview_tensor, count_out: *mut u64) -> ckview_status {
    with(tensor, count_out, |t| Ok(t.entry.num_elements()))
}

/// The tensor's size in bytes: for a fixed-size dtype, exactly what `ckview_tensor_read`
/// writes (elements times element size, also for a partitioned tensor); for strings and
/// variants, the bytes stored. Before answering it checks that the stored bytes exist (within
/// their shards, every slice present), so the size is safe to allocate: a crafted entry that
/// claims more than the files hold fails here with `CKVIEW_CORRUPT_DATA` or
/// `CKVIEW_CORRUPT_ENTRY`. For a V1 string tensor, the bytes of its elements (read to count them).
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_size_bytes(tensor: *const ckview_tensor, size_out: *mut u64) -> ckview_status {
    with(tensor, size_out, |t| {
        let size = match (t.bundle(), t.v1()) {
            (Some(bundle), _) => bundle.size_bytes(&t.key, &t.entry),
            (None, Some((v1, tensor))) if tensor.dtype == DataType::DtString => {
                v1.read_strings(tensor).map(|strings| strings.iter().map(|s| s.len() as u64).sum())
            }
            (None, Some((v1, tensor))) => v1.value_size(tensor),
            (None, None) => return Err(CKVIEW_INTERNAL_ERROR),
        };
        size.map_err(|error| ckview_status::from(&error))
    })
}

/// The data shard holding the tensor's bytes (meaningless for a partitioned tensor, whose
/// slices each have their own). A V1 tensor: `CKVIEW_UNSUPPORTED`.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_shard(tensor: *const ckview_tensor, shard_out: *mut u32) -> ckview_status {
    with(tensor, shard_out, |t| t.bundle().map(|_| t.entry.shard_id).ok_or(CKVIEW_UNSUPPORTED))
}

/// The number of stored slices of a partitioned tensor (0 for a tensor stored whole). A V1
/// tensor: `CKVIEW_UNSUPPORTED`.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_slice_count(tensor: *const ckview_tensor, count_out: *mut usize) -> ckview_status {
    with(tensor, count_out, |t| t.bundle().map(|_| t.slices.len()).ok_or(CKVIEW_UNSUPPORTED))
}

/// The `index`-th slice: one extent per dimension (`*rank_out` of them), borrowed from the tensor.
/// A V1 tensor: `CKVIEW_UNSUPPORTED`.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_slice(
    tensor: *const ckview_tensor,
    index: usize,
    extents_out: *mut *const ckview_slice_extent,
    rank_out: *mut usize,
) -> ckview_status {
    with(tensor, extents_out, |t| {
        t.bundle().ok_or(CKVIEW_UNSUPPORTED)?;
        let slice = t.slices.get(index).ok_or(CKVIEW_INDEX_OUT_OF_RANGE)?;
        if rank_out.is_null() {
            return Err(CKVIEW_INVALID_ARGUMENT);
        }
        // SAFETY: non-NULL rank_out, by the check above.
        unsafe { *rank_out = slice.len() };
        Ok(slice.as_ptr())
    })
}

fn verify_of(flags: u32) -> Option<Verify> {
    match flags {
        0 => Some(Verify::Checksums),
        CKVIEW_READ_SKIP_CHECKSUMS => Some(Verify::Skip),
        _ => None,
    }
}

/// Reads a fixed-size tensor into `buffer`, which must hold at least `ckview_tensor_size_bytes`
/// bytes (`CKVIEW_BUFFER_TOO_SMALL` otherwise); exactly that many are written, row-major, in the
/// host's byte order, with partitioned tensors assembled. The crc32c of every stored byte is
/// verified unless `flags` has `CKVIEW_READ_SKIP_CHECKSUMS` (a V1 checkpoint has only the
/// checksums of its table blocks, always verified). Strings and variants:
/// `CKVIEW_UNSUPPORTED_DTYPE`.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_read(
    tensor: *const ckview_tensor,
    buffer: *mut c_void,
    buffer_len: usize,
    flags: u32,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live tensor, by contract.
        let (Some(tensor), Some(verify)) = (unsafe { tensor.as_ref() }, verify_of(flags)) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "tensor must not be NULL and flags must be 0 or CKVIEW_READ_SKIP_CHECKSUMS");
        };
        if buffer.is_null() && buffer_len > 0 {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "buffer is NULL but buffer_len is not 0");
        }
        // SAFETY: `buffer_len` writable bytes at `buffer`, by contract.
        let out = if buffer_len == 0 { &mut [][..] } else { unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), buffer_len) } };
        let read = match (tensor.bundle(), tensor.v1()) {
            (Some(bundle), _) => bundle.read_value(&tensor.key, &tensor.entry, out, verify),
            (None, Some((v1, v1_tensor))) => v1.read_value(v1_tensor, out),
            (None, None) => return report(error_out, CKVIEW_INTERNAL_ERROR, "the V1 tensor is gone from its checkpoint"),
        };
        match read {
            Ok(()) => CKVIEW_OK,
            Err(error) => status_of(&error, error_out),
        }
    })
}

/// The tensor's stored bytes without a copy: `*data_out` points into the memory-mapped shard and
/// stays valid while the reader (or view) is open. Only for an unsliced fixed-size tensor whose
/// bytes need no conversion (same byte order as the host, or one-byte elements); otherwise
/// `CKVIEW_UNSUPPORTED` and the caller reads it instead (always, for a V1 tensor). Verifying
/// (flags 0) reads every byte once; with `CKVIEW_READ_SKIP_CHECKSUMS` the call costs the same
/// for any size.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_borrow(
    tensor: *const ckview_tensor,
    data_out: *mut *const c_void,
    len_out: *mut usize,
    flags: u32,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live tensor, by contract.
        let (Some(tensor), Some(verify), false) = (unsafe { tensor.as_ref() }, verify_of(flags), data_out.is_null() || len_out.is_null()) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "tensor, data_out and len_out must not be NULL; flags must be 0 or CKVIEW_READ_SKIP_CHECKSUMS");
        };
        let Some(bundle) = tensor.bundle() else { return not_in_v1(error_out, "ckview_tensor_borrow") };
        match bundle.borrow_value(&tensor.key, &tensor.entry, verify) {
            Ok(bytes) => {
                // SAFETY: both out-params are non-NULL and writable by contract.
                unsafe {
                    *data_out = if bytes.is_empty() { c"".as_ptr().cast() } else { bytes.as_ptr().cast() };
                    *len_out = bytes.len();
                }
                CKVIEW_OK
            }
            Err(error) => status_of(&error, error_out),
        }
    })
}

/// The elements of a DT_STRING tensor, row-major, both of its checksums verified.
#[no_mangle]
pub unsafe extern "C" fn ckview_tensor_read_strings(
    tensor: *const ckview_tensor,
    list_out: *mut *mut ckview_string_list,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live tensor, by contract.
        let (Some(tensor), false) = (unsafe { tensor.as_ref() }, list_out.is_null()) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "tensor and list_out must not be NULL");
        };
        let values = match (tensor.bundle(), tensor.v1()) {
            (Some(bundle), _) => bundle.read_string_values(&tensor.key, &tensor.entry),
            (None, Some((v1, v1_tensor))) => v1.read_strings(v1_tensor).map(Strings::from),
            (None, None) => return report(error_out, CKVIEW_INTERNAL_ERROR, "the V1 tensor is gone from its checkpoint"),
        };
        match values {
            Ok(values) => {
                // The views point into `values`, which the list owns and never changes.
                let strings = values.iter().map(ckview_str::from).collect();
                // SAFETY: non-NULL and writable by contract.
                unsafe { *list_out = Box::into_raw(Box::new(ckview_string_list { strings, _values: values })) };
                CKVIEW_OK
            }
            Err(error) => status_of(&error, error_out),
        }
    })
}

/// The number of strings in a list.
#[no_mangle]
pub unsafe extern "C" fn ckview_string_list_count(list: *const ckview_string_list, count_out: *mut usize) -> ckview_status {
    with(list, count_out, |list| Ok(list.strings.len()))
}

/// The `index`-th string (any bytes, not NUL-terminated), borrowed from the list.
#[no_mangle]
pub unsafe extern "C" fn ckview_string_list_get(list: *const ckview_string_list, index: usize, string_out: *mut ckview_str) -> ckview_status {
    with(list, string_out, |list| list.strings.get(index).copied().ok_or(CKVIEW_INDEX_OUT_OF_RANGE))
}

/// Frees a string list. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn ckview_string_list_free(list: *mut ckview_string_list) {
    if !list.is_null() {
        // SAFETY: from `ckview_tensor_read_strings`, freed once, by contract.
        drop(unsafe { Box::from_raw(list) });
    }
}
