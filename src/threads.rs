//! A second thread for work that splits in two, for the layers that have such work: a large read
//! or checksum, a large object graph's decode and checks, a large index's listing, an export's
//! plan and header. The library keeps no thread pool: a helper is started for the call and
//! joined before it returns, and where none can be started (a process at its thread limit, a
//! single core) the calling thread does both halves itself.

use std::cell::Cell;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

thread_local! {
    /// Whether this thread is one that ckview started for a call.
    static HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is one that ckview started ([`spawn_helper`]): the C ABI's panic
/// hook keeps its panics quiet, as it does those of a thread inside a ckview call.
pub(crate) fn is_helper() -> bool {
    HELPER.with(Cell::get)
}

/// Starts `body` on a thread of `scope` named `name`, marked as ckview's own.
pub(crate) fn spawn_helper<'scope, 'env, T: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    name: &str,
    body: impl FnOnce() -> T + Send + 'scope,
) -> std::io::Result<ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new().name(name.into()).spawn_scoped(scope, move || {
        HELPER.with(|helper| helper.set(true));
        body()
    })
}

/// Reads, copies and checksums of this many bytes or more are split over two threads: below it,
/// starting and joining a thread costs more than the half it saves (the 37 MB object graph of a
/// 300k-node model is split; a model's typical tensor is not).
pub(crate) const SPLIT_BYTES_FROM: usize = 16 << 20;

/// Whether this process may run on more than one core (asked once: the answer reads cgroup
/// files).
fn several_cores() -> bool {
    static SEVERAL: OnceLock<bool> = OnceLock::new();
    *SEVERAL.get_or_init(|| !cfg!(miri) && std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1))
}

/// Runs `first` on this thread and `second` on a helper at the same time, and returns both
/// results. A panic in either is resumed here, after both have finished.
pub(crate) fn join<A, B>(first: impl FnOnce() -> A, second: impl FnOnce() -> B + Send) -> (A, B)
where
    B: Send,
{
    if !several_cores() {
        let a = first();
        return (a, second());
    }
    // Taken by the helper, or by this thread when no helper could be started (a failed spawn
    // drops the helper's closure without running it, so `second` is still here).
    let second = Mutex::new(Some(second));
    let run_second = || {
        let taken = second.lock().unwrap_or_else(PoisonError::into_inner).take();
        taken.map(|second| second())
    };
    std::thread::scope(|scope| {
        let helper = spawn_helper(scope, "ckview-helper", run_second);
        let a = first();
        let b = match helper {
            Ok(helper) => helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => run_second(),
        };
        (a, b.expect("`second` runs exactly once, on the helper or here"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_once_and_return_their_results() {
        let data: Vec<u64> = (0..1000).collect();
        let (low, high) = data.split_at(500);
        let (a, b) = join(|| low.iter().sum::<u64>(), || high.iter().sum::<u64>());
        assert_eq!(a + b, data.iter().sum::<u64>());
    }

    // A panic on the helper reaches the caller, quietly: `ffi::guard`'s test, the one test of
    // this binary that may panic (its hook counts every panic it is shown).
}
