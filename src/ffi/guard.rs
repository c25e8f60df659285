//! The panic boundary: no Rust unwinding may cross into C, whatever happens inside, and the
//! library prints nothing to the host's standard error, even for a bug: Rust's default panic
//! hook would, with a backtrace under `RUST_BACKTRACE`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::{Once, OnceLock};

use super::error::{ckview_error, report};
use super::status::ckview_status;

thread_local! {
    /// How many ckview calls are running on this thread (callbacks may nest them).
    static INSIDE: Cell<u32> = const { Cell::new(0) };
}

/// The panic hook that was in place before ckview's, which it calls for panics outside ckview.
static HOST_HOOK: OnceLock<Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send>> = OnceLock::new();

/// Runs `body` inside the boundary: panics caught, and kept quiet. The first call wraps the
/// process's panic hook so that it stays silent while this thread is inside ckview, and on the
/// helper threads ckview starts, and calls the host's own hook everywhere else. The wrapper captures nothing, so installing it
/// allocates nothing (a library unloaded with `dlclose` leaves no allocation behind).
fn quietly<T>(body: impl FnOnce() -> T) -> std::thread::Result<T> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let _ = HOST_HOOK.set(std::panic::take_hook());
        std::panic::set_hook(Box::new(|info| {
            // A helper thread ckview started runs for a ckview call on another thread.
            if INSIDE.with(Cell::get) == 0 && !crate::threads::is_helper() {
                if let Some(host_hook) = HOST_HOOK.get() {
                    host_hook(info);
                }
            }
        }));
    });
    INSIDE.with(|inside| inside.set(inside.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(body));
    INSIDE.with(|inside| inside.set(inside.get() - 1));
    result
}

/// Runs `body`; a panic becomes `CKVIEW_INTERNAL_ERROR`, with a message when the caller gave
/// `error_out`.
pub(crate) fn guard(error_out: *mut *mut ckview_error, body: impl FnOnce() -> ckview_status) -> ckview_status {
    match quietly(body) {
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
    quietly(body).unwrap_or(on_panic)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The only test of this binary that enters the boundary, so it can install its hook first.
    #[test]
    fn panics_inside_are_statuses_and_silent_while_the_host_hook_still_runs_outside() {
        static HOST_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);
        std::panic::set_hook(Box::new(|_| {
            HOST_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        }));
        let status = guard(std::ptr::null_mut(), || panic!("a bug inside ckview"));
        assert_eq!(status, ckview_status::CKVIEW_INTERNAL_ERROR);
        assert_eq!(guard_value(7, || -> i32 { panic!("again") }), 7);
        // On a helper thread: resumed on the caller's thread, a status there, and silent.
        let status = guard(std::ptr::null_mut(), || {
            let (_, second) = crate::threads::join(|| 1, || -> u32 { panic!("a bug on a helper thread") });
            assert_eq!(second, 0, "unreachable: the helper panicked");
            ckview_status::CKVIEW_OK
        });
        assert_eq!(status, ckview_status::CKVIEW_INTERNAL_ERROR);
        assert_eq!(HOST_HOOK_CALLS.load(Ordering::SeqCst), 0, "the host's hook ran for a panic inside ckview");
        let _ = std::panic::catch_unwind(|| panic!("the host's own panic"));
        assert_eq!(HOST_HOOK_CALLS.load(Ordering::SeqCst), 1, "the host's hook must still see its own panics");
    }
}
