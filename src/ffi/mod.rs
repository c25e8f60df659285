//! The C ABI (`include/ckview.h`, generated from this module by cbindgen).
//!
//! Conventions, the same for every function:
//! - every function returns a `ckview_status` (0 = `CKVIEW_OK`) unless it cannot fail;
//! - out-parameters are written only on success; a NULL required pointer is `CKVIEW_INVALID_ARGUMENT`;
//! - functions with rich failure causes take `ckview_error **error_out` (may be NULL);
//! - every handle has one `*_free` function that accepts NULL;
//! - no panic unwinds into the caller: it becomes `CKVIEW_INTERNAL_ERROR`.

#![allow(non_camel_case_types)]

// In the order a user learns them, which is also the order of the generated header.
mod view;
mod io;
mod graph;
mod compare;
mod tensor;
mod tensor_list;
mod export;
mod rewrite;
mod error;
mod status;
mod version;
mod guard;

use std::ffi::c_char;
use std::ptr::null_mut;

use error::report;
use guard::guard;

pub use compare::*;
pub use error::*;
pub use export::*;
pub use graph::*;
pub use io::*;
pub use rewrite::*;
pub use status::*;
pub use tensor::*;
pub use tensor_list::*;
pub use version::*;
pub use view::*;

/// A string borrowed from the library: `len` bytes of UTF-8 at `ptr`, not NUL-terminated
/// (names may contain any character). `ptr` is never NULL, even when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ckview_str {
    pub ptr: *const c_char,
    pub len: usize,
}

impl From<&[u8]> for ckview_str {
    fn from(bytes: &[u8]) -> Self {
        // An empty Rust slice's pointer is dangling; hand C a real one.
        let ptr = if bytes.is_empty() { c"".as_ptr() } else { bytes.as_ptr().cast() };
        ckview_str { ptr, len: bytes.len() }
    }
}

impl From<&str> for ckview_str {
    fn from(text: &str) -> Self {
        ckview_str::from(text.as_bytes())
    }
}

/// The common shape of an accessor: `handle` and `out` must not be NULL; `answer` computes the
/// value written to `out`, or the status to return instead. Runs inside the panic boundary.
pub(crate) fn with<H, T>(handle: *const H, out: *mut T, answer: impl FnOnce(&H) -> Result<T, ckview_status>) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: by contract `handle` is NULL or a live handle of this library.
        let Some(handle) = (unsafe { handle.as_ref() }) else { return ckview_status::CKVIEW_INVALID_ARGUMENT };
        if out.is_null() {
            return ckview_status::CKVIEW_INVALID_ARGUMENT;
        }
        match answer(handle) {
            Ok(value) => {
                // SAFETY: non-NULL, and by contract writable memory for a `T`.
                unsafe { out.write(value) };
                ckview_status::CKVIEW_OK
            }
            Err(status) => status,
        }
    })
}
