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

use error::report;

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

impl From<&str> for ckview_str {
    fn from(text: &str) -> Self {
        // An empty Rust string's pointer is dangling; hand C a real one.
        let ptr = if text.is_empty() { c"".as_ptr() } else { text.as_ptr().cast() };
        ckview_str { ptr, len: text.len() }
    }
}

/// The library's version, `MAJOR.MINOR.PATCH`, as a static NUL-terminated string. Programs that
/// load the library with `dlopen` can check it before calling anything else.
#[no_mangle]
pub extern "C" fn ckview_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
