//! The library's version, for programs that check it before calling anything else.

use std::ffi::c_char;

/// The major version of the library this header describes. While it is 0, a minor version
/// change may break the ABI; a program that loads the library with `dlopen` compares these with
/// what `ckview_version()` returns before calling anything else.
pub const CKVIEW_VERSION_MAJOR: u32 = 0;
/// The minor version of the library this header describes.
pub const CKVIEW_VERSION_MINOR: u32 = 1;
/// The patch version of the library this header describes.
pub const CKVIEW_VERSION_PATCH: u32 = 0;

/// # Version
///
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
