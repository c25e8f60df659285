//! `ckview_export_safetensors`: a reader's tensors written as safetensors, a thin shell over
//! [`crate::export`]. The caller's naming callback renames or leaves out each tensor; its
//! progress callback hears of each tensor written; a nonzero return from either stops the export
//! with `CKVIEW_CALLBACK_FAILED` and that value as `ckview_error_callback_code`.

use std::ffi::{c_char, c_void, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;

use super::error::{ckview_error, report, report_error, report_format_error};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::{ckview_reader, ckview_str};
use crate::export::{export_names, export_safetensors, ExportError, ExportOptions, ExportTensor, Naming};
use crate::format::dtype_c_name;

/// `ckview_export_options.naming`: the default naming (object paths with an object graph, keys
/// without).
pub const CKVIEW_EXPORT_NAMES_DEFAULT: u32 = 0;
/// `ckview_export_options.naming`: object paths without `root.` (`model.layer_with_weights-0.kernel`).
pub const CKVIEW_EXPORT_NAMES_PATH: u32 = 1;
/// `ckview_export_options.naming`: bundle keys.
pub const CKVIEW_EXPORT_NAMES_KEY: u32 = 2;
/// `ckview_export_options.naming`: Keras `full_name`s (`dense_a/kernel`).
pub const CKVIEW_EXPORT_NAMES_FULL_NAME: u32 = 3;
/// `ckview_export_options.flags`: leave out optimizer state (slot variables, the optimizer's
/// own variables); needs an object graph.
pub const CKVIEW_EXPORT_DROP_OPTIMIZER_STATE: u32 = 1;
/// `ckview_export_options.flags`: leave out tensors of dtypes safetensors cannot hold instead
/// of failing with `CKVIEW_UNSUPPORTED_DTYPE`.
pub const CKVIEW_EXPORT_SKIP_UNSUPPORTED: u32 = 2;

/// One tensor, as the naming callback sees it. Every string is borrowed for the callback only.
#[repr(C)]
pub struct ckview_export_tensor {
    /// The bundle key.
    pub key: ckview_str,
    /// The name the naming option gives it (written under unless the callback renames it).
    pub name: ckview_str,
    /// The object path without `root.`; empty when `has_path` is false.
    pub path: ckview_str,
    pub has_path: bool,
    /// The Keras `full_name`; empty when `has_full_name` is false.
    pub full_name: ckview_str,
    pub has_full_name: bool,
    /// TensorFlow's dtype name (`float32`), static.
    pub dtype: *const c_char,
    /// `rank` dimension sizes, outermost first.
    pub shape: *const u64,
    pub rank: usize,
    /// Whether it is optimizer state.
    pub optimizer_state: bool,
}

/// The naming callback's answer for one tensor: untouched, it keeps `tensor->name`.
pub struct ckview_export_name {
    name: Option<Option<String>>,
}

/// Chooses a tensor's output name: call `ckview_export_name_set` to rename it or
/// `ckview_export_name_skip` to leave it out (neither: its default name), then return 0. Any
/// other return value stops the export. Called once per tensor, in key order, synchronously on
/// the calling thread, before any file is written. It must not unwind through ckview.
pub type ckview_export_name_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, tensor: *const ckview_export_tensor, name: *mut ckview_export_name) -> i32>;

/// Hears that `done` of `total` bytes of values are written; returns 0 to go on, anything else
/// to stop the export (no file is left).
pub type ckview_export_progress_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, done: u64, total: u64) -> i32>;

/// How to export; a zeroed struct (or NULL) is the default: every tensor, default names, one
/// file, unsupported dtypes refused.
#[repr(C)]
pub struct ckview_export_options {
    /// `CKVIEW_EXPORT_NAMES_*`.
    pub naming: u32,
    /// `CKVIEW_EXPORT_DROP_OPTIMIZER_STATE | CKVIEW_EXPORT_SKIP_UNSUPPORTED`.
    pub flags: u32,
    /// Split into files of at most this many bytes of values (`OUT`'s stem `-00001-of-0000N.safetensors`
    /// beside it, and `OUT.index.json`); 0 for one file.
    pub max_shard_size: u64,
    /// NULL: default names for every tensor.
    pub name: ckview_export_name_callback,
    /// NULL: no progress.
    pub progress: ckview_export_progress_callback,
    /// Passed to both callbacks.
    pub userdata: *mut c_void,
}

/// What an export wrote, filled in by `ckview_export_safetensors`.
#[repr(C)]
#[derive(Default)]
pub struct ckview_export_report {
    pub tensors: u64,
    /// Bytes of values, headers not counted.
    pub bytes: u64,
    /// Safetensors files written (more than 1 only with `max_shard_size`, plus the index).
    pub files: u64,
    pub skipped_unsupported: u64,
    pub dropped_optimizer_state: u64,
    /// Left out by the naming callback.
    pub deselected: u64,
}

/// Tensors' output names and keys, from `ckview_export_names`. Opaque; free with
/// `ckview_export_names_free`.
pub struct ckview_export_name_list {
    entries: Vec<(String, String)>,
}

/// Sets the name the tensor is written under: `len` bytes of UTF-8 at `name` (copied).
/// `CKVIEW_INVALID_ARGUMENT` for NULL arguments or text that is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_name_set(answer: *mut ckview_export_name, name: *const c_char, len: usize) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: the answer passed to the running callback, by contract.
        let Some(answer) = (unsafe { answer.as_mut() }) else { return CKVIEW_INVALID_ARGUMENT };
        let bytes: &[u8] = match (name.is_null(), len) {
            (_, 0) => &[],
            (true, _) => return CKVIEW_INVALID_ARGUMENT,
            // SAFETY: the caller promises `len` readable bytes.
            (false, _) => unsafe { std::slice::from_raw_parts(name.cast(), len) },
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                answer.name = Some(Some(text.to_string()));
                CKVIEW_OK
            }
            Err(_) => CKVIEW_INVALID_ARGUMENT,
        }
    })
}

/// Leaves the tensor out of the export. `CKVIEW_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_name_skip(answer: *mut ckview_export_name) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: the answer passed to the running callback, by contract.
        let Some(answer) = (unsafe { answer.as_mut() }) else { return CKVIEW_INVALID_ARGUMENT };
        answer.name = Some(None);
        CKVIEW_OK
    })
}

/// The library's options from the caller's, callbacks wrapped.
fn options_of(options: Option<&ckview_export_options>) -> Result<ExportOptions<'static>, String> {
    let Some(options) = options else { return Ok(ExportOptions::default()) };
    let naming = match options.naming {
        CKVIEW_EXPORT_NAMES_DEFAULT => None,
        CKVIEW_EXPORT_NAMES_PATH => Some(Naming::Path),
        CKVIEW_EXPORT_NAMES_KEY => Some(Naming::Key),
        CKVIEW_EXPORT_NAMES_FULL_NAME => Some(Naming::FullName),
        other => return Err(format!("unknown naming {other}")),
    };
    let known = CKVIEW_EXPORT_DROP_OPTIMIZER_STATE | CKVIEW_EXPORT_SKIP_UNSUPPORTED;
    if options.flags & !known != 0 {
        return Err(format!("unknown flags {:#x}", options.flags & !known));
    }
    let userdata = options.userdata as usize;
    let name = options.name.map(|callback| {
        Box::new(move |tensor: &ExportTensor| {
            let shape = tensor.shape.as_slice();
            let described = ckview_export_tensor {
                key: tensor.key.as_str().into(),
                name: tensor.name.as_str().into(),
                path: tensor.path.as_deref().unwrap_or("").into(),
                has_path: tensor.path.is_some(),
                full_name: tensor.full_name.as_deref().unwrap_or("").into(),
                has_full_name: tensor.full_name.is_some(),
                dtype: dtype_c_name(tensor.dtype).as_ptr(),
                shape: if shape.is_empty() { std::ptr::NonNull::dangling().as_ptr() } else { shape.as_ptr() },
                rank: shape.len(),
                optimizer_state: tensor.optimizer_state,
            };
            let mut answer = ckview_export_name { name: None };
            // SAFETY: the caller's callback, called as its contract says; both outlive the call.
            match unsafe { callback(userdata as *mut c_void, &described, &mut answer) } {
                0 => Ok(answer.name.unwrap_or_else(|| Some(tensor.name.clone()))),
                code => Err(ExportError::Stopped { code }),
            }
        }) as Box<_>
    });
    let progress = options.progress.map(|callback| {
        Box::new(move |done: u64, total: u64| {
            // SAFETY: the caller's callback, called as its contract says.
            match unsafe { callback(userdata as *mut c_void, done, total) } {
                0 => Ok(()),
                code => Err(ExportError::Stopped { code }),
            }
        }) as Box<_>
    });
    Ok(ExportOptions {
        naming,
        drop_optimizer_state: options.flags & CKVIEW_EXPORT_DROP_OPTIMIZER_STATE != 0,
        skip_unsupported: options.flags & CKVIEW_EXPORT_SKIP_UNSUPPORTED != 0,
        max_shard_size: (options.max_shard_size > 0).then_some(options.max_shard_size),
        name,
        progress,
    })
}

/// Reports an export error with its status.
fn report_export_error(error_out: *mut *mut ckview_error, error: &ExportError) -> ckview_status {
    match error {
        ExportError::Format(format) => report_format_error(error_out, format),
        ExportError::Graph(graph) => report_error(error_out, graph),
        ExportError::Stopped { code } => {
            let status = report(error_out, CKVIEW_CALLBACK_FAILED, &error.to_string());
            if !error_out.is_null() {
                // SAFETY: `report` just stored a live error there.
                unsafe { super::error::set_callback_code(*error_out, *code) };
            }
            status
        }
        ExportError::UnsupportedDtypes { .. } => report(error_out, CKVIEW_UNSUPPORTED_DTYPE, &error.to_string()),
        ExportError::DuplicateName { .. } => report(error_out, CKVIEW_DUPLICATE_NAME, &error.to_string()),
        ExportError::InvalidName { .. } | ExportError::InvalidOption(_) => report(error_out, CKVIEW_INVALID_ARGUMENT, &error.to_string()),
        ExportError::Write { .. } => report(error_out, CKVIEW_IO_ERROR, &error.to_string()),
        ExportError::Safetensors { .. } => report(error_out, CKVIEW_UNSUPPORTED, &error.to_string()),
    }
}

/// The common arguments: a reader, options, and the C strings.
unsafe fn prepare<'r>(
    function: &str,
    reader: *const ckview_reader,
    options: *const ckview_export_options,
    error_out: *mut *mut ckview_error,
) -> Result<(&'r ckview_reader, ExportOptions<'static>), ckview_status> {
    // SAFETY: by contract NULL or a live reader.
    let Some(reader) = (unsafe { reader.as_ref() }) else {
        return Err(report(error_out, CKVIEW_INVALID_ARGUMENT, &format!("{function}: reader must not be NULL")));
    };
    // SAFETY: by contract NULL or a readable options struct.
    let options = options_of(unsafe { options.as_ref() })
        .map_err(|reason| report(error_out, CKVIEW_INVALID_ARGUMENT, &format!("{function}: {reason}")))?;
    Ok((reader, options))
}

/// # Export to safetensors
///
/// Writes the tensors of `reader` (from `ckview_reader_open`, or a view's from
/// `ckview_reader_of_view`) to the safetensors file `out_path` (NUL-terminated), with `options`
/// (NULL: the defaults). Values are verified, partitioned tensors assembled, big-endian bundles
/// swapped; each file's `__metadata__` records the checkpoint (`tensorflow_checkpoint`) and each
/// tensor's key (`tensorflow_key:NAME`). Every file is written under a temporary name and
/// renamed once all are complete: on any failure no output is left and a file already at
/// `out_path` is untouched. Fails with `CKVIEW_UNSUPPORTED_DTYPE` (listing them) for dtypes
/// safetensors cannot hold unless `CKVIEW_EXPORT_SKIP_UNSUPPORTED`, `CKVIEW_DUPLICATE_NAME` when
/// two tensors would get one name, `CKVIEW_CALLBACK_FAILED` when a callback stops it,
/// `CKVIEW_IO_ERROR` when writing fails. `report_out` (may be NULL) receives the counts.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_safetensors(
    reader: *const ckview_reader,
    out_path: *const c_char,
    options: *const ckview_export_options,
    report_out: *mut ckview_export_report,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: the caller's arguments, as the header describes them.
        let (reader, options) = match unsafe { prepare("ckview_export_safetensors", reader, options, error_out) } {
            Ok(prepared) => prepared,
            Err(status) => return status,
        };
        if out_path.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_export_safetensors: out_path must not be NULL");
        }
        // SAFETY: a NUL-terminated string, by contract.
        let out = Path::new(OsStr::from_bytes(unsafe { CStr::from_ptr(out_path) }.to_bytes()));
        match export_safetensors(reader.export_source(), out, options) {
            Ok(report) => {
                if !report_out.is_null() {
                    let counts = ckview_export_report {
                        tensors: report.tensors as u64,
                        bytes: report.bytes,
                        files: report.files.len() as u64,
                        skipped_unsupported: report.skipped_unsupported.len() as u64,
                        dropped_optimizer_state: report.dropped_optimizer_state as u64,
                        deselected: report.deselected as u64,
                    };
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { report_out.write(counts) };
                }
                CKVIEW_OK
            }
            Err(error) => report_export_error(error_out, &error),
        }
    })
}

/// The tensors `ckview_export_safetensors` would write with `options` (NULL: the defaults), in
/// key order, each with its output name and bundle key, without writing or reading any value:
/// for a caller that loads them under those names itself. `max_shard_size` and `progress` play
/// no part. On success `*names_out` receives a list to free with `ckview_export_names_free`.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_names(
    reader: *const ckview_reader,
    options: *const ckview_export_options,
    names_out: *mut *mut ckview_export_name_list,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: the caller's arguments, as the header describes them.
        let (reader, options) = match unsafe { prepare("ckview_export_names", reader, options, error_out) } {
            Ok(prepared) => prepared,
            Err(status) => return status,
        };
        if names_out.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "ckview_export_names: names_out must not be NULL");
        }
        match export_names(reader.export_source(), options) {
            Ok(names) => {
                let entries = names.into_iter().map(|(name, tensor)| (name, tensor.key)).collect();
                // SAFETY: non-NULL and writable by contract.
                unsafe { *names_out = Box::into_raw(Box::new(ckview_export_name_list { entries })) };
                CKVIEW_OK
            }
            Err(error) => report_export_error(error_out, &error),
        }
    })
}

/// The number of tensors in the list; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_names_count(names: *const ckview_export_name_list) -> usize {
    // SAFETY: NULL or a live list, by contract.
    unsafe { names.as_ref() }.map_or(0, |names| names.entries.len())
}

/// Entry `index`: its output name and its bundle key, borrowed from the list until
/// `ckview_export_names_free`. `CKVIEW_INDEX_OUT_OF_RANGE` past the end.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_names_get(
    names: *const ckview_export_name_list,
    index: usize,
    name_out: *mut ckview_str,
    key_out: *mut ckview_str,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a live list, by contract.
        let Some(names) = (unsafe { names.as_ref() }) else { return CKVIEW_INVALID_ARGUMENT };
        if name_out.is_null() || key_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let Some((name, key)) = names.entries.get(index) else { return CKVIEW_INDEX_OUT_OF_RANGE };
        // SAFETY: non-NULL and writable by contract.
        unsafe {
            name_out.write(name.as_str().into());
            key_out.write(key.as_str().into());
        }
        ckview_status::CKVIEW_OK
    })
}

/// Frees a list from `ckview_export_names`. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn ckview_export_names_free(names: *mut ckview_export_name_list) {
    if !names.is_null() {
        // SAFETY: from `ckview_export_names`, freed once, by contract.
        drop(unsafe { Box::from_raw(names) });
    }
}
