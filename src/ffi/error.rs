//! `ckview_error`: an owned error the caller reads and frees, instead of thread-local state
//! (which would force Go callers to pin OS threads).

use std::ffi::{c_char, CString};

use super::guard::guard_value;
use super::status::ckview_status;
use crate::format::FormatError;
use crate::graph::GraphError;
use crate::io::caller_code;

/// An error returned through an `error_out` parameter: its status and a readable message.
pub struct ckview_error {
    status: ckview_status,
    message: CString,
    /// The nonzero value a children callback returned, for `CKVIEW_CALLBACK_FAILED`.
    callback_code: i32,
}

impl ckview_error {
    /// Builds an error; interior NUL bytes in `message` are replaced so it stays one C string.
    pub(crate) fn new(status: ckview_status, message: &str) -> ckview_error {
        let message = CString::new(message.replace('\0', "\\0")).expect("NUL bytes were replaced");
        ckview_error { status, message, callback_code: 0 }
    }
}

/// Stores `error` in `*error_out` when the caller asked for details, and returns its status.
pub(crate) fn report(error_out: *mut *mut ckview_error, status: ckview_status, message: &str) -> ckview_status {
    if !error_out.is_null() {
        // SAFETY: the caller passed either NULL or a writable `ckview_error **`.
        unsafe { *error_out = Box::into_raw(Box::new(ckview_error::new(status, message))) };
    }
    status
}

/// Stores a library error in `*error_out` when the caller asked for details, and returns its
/// status.
pub(crate) fn report_error(error_out: *mut *mut ckview_error, error: &GraphError) -> ckview_status {
    match error {
        GraphError::Format(format) => report_format_error(error_out, format),
        other => report(error_out, ckview_status::from(other), &other.to_string()),
    }
}

/// [`report_error`] for the on-disk layer, with the code of the caller's I/O callback when one
/// failed.
pub(crate) fn report_format_error(error_out: *mut *mut ckview_error, error: &FormatError) -> ckview_status {
    let status = ckview_status::from(error);
    if !error_out.is_null() {
        let code = match error {
            FormatError::Io { source, .. } | FormatError::NotFound { failure: Some(source), .. } => caller_code(source).unwrap_or(0),
            _ => 0,
        };
        let error = ckview_error { callback_code: code, ..ckview_error::new(status, &error.to_string()) };
        // SAFETY: the caller passed either NULL or a writable `ckview_error **`.
        unsafe { *error_out = Box::into_raw(Box::new(error)) };
    }
    status
}

/// Records the nonzero value a caller's callback returned in an error just reported.
///
/// # Safety
/// `error` is an error this library built and has not freed.
pub(crate) unsafe fn set_callback_code(error: *mut ckview_error, code: i32) {
    // SAFETY: by this function's contract.
    if let Some(error) = unsafe { error.as_mut() } {
        error.callback_code = code;
    }
}

/// Reports that the caller's children callback returned `code` for `object`.
pub(crate) fn report_callback_failure(error_out: *mut *mut ckview_error, code: i32, object: u64) -> ckview_status {
    let status = ckview_status::CKVIEW_CALLBACK_FAILED;
    if !error_out.is_null() {
        let message = format!("the children callback returned {code} for object {object}");
        let error = ckview_error { callback_code: code, ..ckview_error::new(status, &message) };
        // SAFETY: the caller passed either NULL or a writable `ckview_error **`.
        unsafe { *error_out = Box::into_raw(Box::new(error)) };
    }
    status
}

/// # Errors and statuses
///
/// The status the error carries. `CKVIEW_INVALID_ARGUMENT` for a NULL `error`.
#[no_mangle]
pub extern "C" fn ckview_error_status(error: *const ckview_error) -> ckview_status {
    // SAFETY: the caller passes NULL or an error this library returned and has not freed.
    guard_value(ckview_status::CKVIEW_INTERNAL_ERROR, || match unsafe { error.as_ref() } {
        Some(error) => error.status,
        None => ckview_status::CKVIEW_INVALID_ARGUMENT,
    })
}

/// The error's message: UTF-8, NUL-terminated, one or more sentences naming the file and the
/// problem. Valid until `ckview_error_free(error)`. An empty string for a NULL `error`.
#[no_mangle]
pub extern "C" fn ckview_error_message(error: *const ckview_error) -> *const c_char {
    // SAFETY: the caller passes NULL or an error this library returned and has not freed.
    match unsafe { error.as_ref() } {
        Some(error) => error.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// The nonzero value the caller's callback returned: the children callback's for
/// `CKVIEW_CALLBACK_FAILED`, an I/O callback's for `CKVIEW_IO_ERROR` (and for `CKVIEW_NOT_FOUND` when
/// an open callback failed on a path ckview tried); 0 for any other error
/// and for NULL.
#[no_mangle]
pub extern "C" fn ckview_error_callback_code(error: *const ckview_error) -> i32 {
    // SAFETY: the caller passes NULL or an error this library returned and has not freed.
    unsafe { error.as_ref() }.map_or(0, |error| error.callback_code)
}

/// Frees an error. NULL is accepted and ignored.
#[no_mangle]
pub extern "C" fn ckview_error_free(error: *mut ckview_error) {
    if !error.is_null() {
        // SAFETY: `error` came from `Box::into_raw` in `report` and is freed once, by contract.
        drop(unsafe { Box::from_raw(error) });
    }
}
