//! The C ABI (`include/ckview.h`, generated from this module by cbindgen).
//!
//! Conventions, the same for every function:
//! - every function returns a `ckview_status` (0 = `CKVIEW_OK`) unless it cannot fail;
//! - out-parameters are written only on success; a NULL required pointer is `CKVIEW_INVALID_ARGUMENT`;
//! - functions with rich failure causes take `ckview_error **error_out` (may be NULL);
//! - every handle has one `*_free` function that accepts NULL;
//! - no panic unwinds into the caller: it becomes `CKVIEW_INTERNAL_ERROR`.

#![allow(non_camel_case_types)]

mod compare;
mod error;
mod guard;
mod status;
mod tensor;
mod view;

use std::ffi::c_char;
use std::ptr::null_mut;

use error::report;
use guard::guard;

pub use compare::*;
pub use error::*;
pub use status::*;
pub use tensor::*;
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

/// The major version of the library this header describes. While it is 0, a minor version
/// change may break the ABI; a program that loads the library with `dlopen` compares these with
/// what `ckview_version()` returns before calling anything else.
pub const CKVIEW_VERSION_MAJOR: u32 = 0;
/// The minor version of the library this header describes.
pub const CKVIEW_VERSION_MINOR: u32 = 1;
/// The patch version of the library this header describes.
pub const CKVIEW_VERSION_PATCH: u32 = 0;

/// The library's version, `MAJOR.MINOR.PATCH`, as a static NUL-terminated string. Programs that
/// load the library with `dlopen` can check it before calling anything else.
#[no_mangle]
pub extern "C" fn ckview_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_version_macros_follow_the_crate_version() {
        let version = format!("{}.{}.{}", super::CKVIEW_VERSION_MAJOR, super::CKVIEW_VERSION_MINOR, super::CKVIEW_VERSION_PATCH);
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
    }
}
