//! The panic boundary: no Rust unwinding may cross into C, whatever happens inside.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{ckview_error, report};
use super::status::ckview_status;

/// Runs `body`; a panic becomes `CKVIEW_INTERNAL_ERROR`, with a message when the caller gave
/// `error_out`.
pub(crate) fn guard(error_out: *mut *mut ckview_error, body: impl FnOnce() -> ckview_status) -> ckview_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(status) => status,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            report(error_out, ckview_status::CKVIEW_INTERNAL_ERROR, &format!("internal error in ckview: {detail}"))
        }
    }
}

/// Runs `body` for functions without an error parameter; a panic yields `on_panic`.
pub(crate) fn guard_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}
