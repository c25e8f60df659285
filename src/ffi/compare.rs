//! `ckview_comparison`: match and diff against a live graph the caller enumerates through a
//! callback, or describes as edges, or against another checkpoint.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use super::error::{ckview_error, report_callback_failure};
use super::guard::guard;
use super::status::ckview_status::{self, *};
use super::view::ckview_view;
use super::{ckview_str, report};
use crate::view::{ChildSink, CheckpointView, Comparison, Conflict, EdgeList, LiveGraph, MatchedPair};

/// Receives the children of one live object; valid only during the callback it is passed to.
pub struct ckview_child_sink {
    sink: *mut ChildSink<'static>,
}

/// Lists the named children of the live object `object` by calling `ckview_child_sink_add` once
/// per child, in the object's own order, then returns 0. Any other return value aborts the
/// match or diff, which then returns `CKVIEW_CALLBACK_FAILED` with that value in its error
/// (`ckview_error_callback_code`). ckview calls it at most once per object, synchronously, on
/// the calling thread. It may call any ckview function, on the same view too, except
/// `ckview_close` of that view (the running match or diff reads it). It must not
/// unwind (throw a C++ exception or `longjmp`) through ckview: catch, return nonzero, rethrow.
pub type ckview_children_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32>;

/// One edge of a live graph given up front: `parent` has the child `child` under `name`.
#[repr(C)]
pub struct ckview_edge {
    pub parent: u64,
    pub name: ckview_str,
    pub child: u64,
}

/// The result of a match or diff. Opaque; free with `ckview_comparison_free`.
pub struct ckview_comparison {
    comparison: Comparison,
}

/// The caller's callback as a [`LiveGraph`]; its error is the nonzero code and the object.
struct CallbackGraph {
    callback: unsafe extern "C" fn(*mut c_void, u64, *mut ckview_child_sink) -> i32,
    userdata: *mut c_void,
}

impl LiveGraph for CallbackGraph {
    type Error = (i32, u64);

    fn children(&mut self, object: u64, sink: &mut ChildSink<'_>) -> Result<(), (i32, u64)> {
        let mut handle = ckview_child_sink { sink: (sink as *mut ChildSink<'_>).cast() };
        // SAFETY: the caller's callback, called as its contract says; `handle` outlives the call.
        match unsafe { (self.callback)(self.userdata, object, &mut handle) } {
            0 => Ok(()),
            code => Err((code, object)),
        }
    }
}

/// Checks the view and output pointers, runs `compare`, and hands out the result.
fn run_comparison(
    view: *const ckview_view,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
    compare: impl FnOnce(&CheckpointView) -> Result<Comparison, ckview_status>,
) -> ckview_status {
    guard(error_out, || {
        // SAFETY: NULL or a live view from `ckview_open`, by contract.
        let Some(view) = (unsafe { view.as_ref() }) else {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "the view must not be NULL");
        };
        if comparison_out.is_null() {
            return report(error_out, CKVIEW_INVALID_ARGUMENT, "comparison_out must not be NULL");
        }
        match compare(&view.view) {
            Ok(comparison) => {
                // SAFETY: non-NULL and writable by contract.
                unsafe { *comparison_out = Box::into_raw(Box::new(ckview_comparison { comparison })) };
                CKVIEW_OK
            }
            Err(status) => status,
        }
    })
}

/// Runs match or diff with the caller's callback.
fn with_callback(
    view: *const ckview_view,
    root: u64,
    children: ckview_children_callback,
    userdata: *mut c_void,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
    diff: bool,
) -> ckview_status {
    run_comparison(view, comparison_out, error_out, |view| {
        let Some(callback) = children else {
            return Err(report(error_out, CKVIEW_INVALID_ARGUMENT, "the children callback must not be NULL"));
        };
        let mut live = CallbackGraph { callback, userdata };
        let result = if diff { view.diff_live(root, &mut live) } else { view.match_live(root, &mut live) };
        result.map_err(|(code, object)| report_callback_failure(error_out, code, object))
    })
}

/// # Match and diff against a live object graph
///
/// `CheckpointView.match(root)`: which checkpoint node restores into which live object. The
/// caller's objects are `uint64_t` handles of its choosing (equal handles = the same object);
/// `children(userdata, object, sink)` lists an object's children. The result's matched pairs
/// start with (0, root); its "only in" lists are empty; its conflicts list every checkpoint node
/// reached as two different objects (TensorFlow only logs those).
#[no_mangle]
pub unsafe extern "C" fn ckview_match(
    view: *const ckview_view,
    root: u64,
    children: ckview_children_callback,
    userdata: *mut c_void,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    with_callback(view, root, children, userdata, comparison_out, error_out, false)
}

/// `CheckpointView.diff(root)`: the match, the reachable checkpoint nodes no object matched (in
/// `descendants()` order) and the live objects no node matched (breadth first from `root`, each
/// once). Each live object's children are asked for at most once.
#[no_mangle]
pub unsafe extern "C" fn ckview_diff(
    view: *const ckview_view,
    root: u64,
    children: ckview_children_callback,
    userdata: *mut c_void,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    with_callback(view, root, children, userdata, comparison_out, error_out, true)
}

/// Runs match or diff on a live graph given as `edge_count` edges; an object's children are its
/// edges in the order given.
fn with_edges(
    view: *const ckview_view,
    root: u64,
    edges: *const ckview_edge,
    edge_count: usize,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
    diff: bool,
) -> ckview_status {
    run_comparison(view, comparison_out, error_out, |view| {
        let edges: &[ckview_edge] = match (edges.is_null(), edge_count) {
            (_, 0) => &[],
            (true, _) => return Err(report(error_out, CKVIEW_INVALID_ARGUMENT, "edges is NULL but edge_count is not 0")),
            // SAFETY: the caller promises `edge_count` edges at `edges`.
            (false, _) => unsafe { std::slice::from_raw_parts(edges, edge_count) },
        };
        let mut triples = Vec::with_capacity(edges.len());
        for (index, edge) in edges.iter().enumerate() {
            // SAFETY: each edge's name points to `len` readable bytes, by contract.
            let Some(name) = (unsafe { bytes(edge.name.ptr, edge.name.len) }) else {
                return Err(report(error_out, CKVIEW_INVALID_ARGUMENT, &format!("edge {index} has a NULL name of nonzero length")));
            };
            triples.push((edge.parent, name, edge.child));
        }
        let mut live = EdgeList::new(triples);
        let result = if diff { view.diff_live(root, &mut live) } else { view.match_live(root, &mut live) };
        Ok(result.unwrap_or_else(|never| match never {}))
    })
}

/// `ckview_match` on a live graph given as edges (for runtimes where callbacks are awkward).
#[no_mangle]
pub unsafe extern "C" fn ckview_match_edges(
    view: *const ckview_view,
    root: u64,
    edges: *const ckview_edge,
    edge_count: usize,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    with_edges(view, root, edges, edge_count, comparison_out, error_out, false)
}

/// `ckview_diff` on a live graph given as edges.
#[no_mangle]
pub unsafe extern "C" fn ckview_diff_edges(
    view: *const ckview_view,
    root: u64,
    edges: *const ckview_edge,
    edge_count: usize,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    with_edges(view, root, edges, edge_count, comparison_out, error_out, true)
}

/// Diffs the structure of checkpoint `view` against checkpoint `other`: `other`'s node ids play
/// the live objects, so a node matches when it has the same name at the same position. Only in
/// checkpoint = only in `view`; only in live = node ids only in `other`.
#[no_mangle]
pub unsafe extern "C" fn ckview_diff_view(
    view: *const ckview_view,
    other: *const ckview_view,
    comparison_out: *mut *mut ckview_comparison,
    error_out: *mut *mut ckview_error,
) -> ckview_status {
    run_comparison(view, comparison_out, error_out, |view| {
        // SAFETY: NULL or a live view from `ckview_open`, by contract.
        match unsafe { other.as_ref() } {
            Some(other) => Ok(view.diff_checkpoint(&other.view)),
            None => Err(report(error_out, CKVIEW_INVALID_ARGUMENT, "the other view must not be NULL")),
        }
    })
}

/// Adds one child of the object being listed. `name` is `name_len` bytes (UTF-8 to match
/// checkpoint names; copied, so it may be freed after the call); it may be NULL when
/// `name_len` is 0. A name given twice for one object keeps its first place and its last child.
#[no_mangle]
pub unsafe extern "C" fn ckview_child_sink_add(
    sink: *mut ckview_child_sink,
    name: *const c_char,
    name_len: usize,
    child: u64,
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: a sink passed to the callback that is running now, by contract.
        let Some(sink) = (unsafe { sink.as_mut() }).and_then(|sink| unsafe { sink.sink.as_mut() }) else {
            return CKVIEW_INVALID_ARGUMENT;
        };
        match unsafe { bytes(name, name_len) } {
            Some(name) => {
                sink.add(name, child);
                CKVIEW_OK
            }
            None => CKVIEW_INVALID_ARGUMENT,
        }
    })
}

/// `len` bytes at `ptr`, or `None` for a NULL pointer with a nonzero length.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> Option<&'a [u8]> {
    match (ptr.is_null(), len) {
        (_, 0) => Some(&[]),
        (true, _) => None,
        // SAFETY: the caller promises `len` readable bytes at `ptr`.
        (false, _) => Some(unsafe { std::slice::from_raw_parts(ptr.cast(), len) }),
    }
}

/// Hands out a borrowed array of the comparison.
fn borrow_list<T>(
    comparison: *const ckview_comparison,
    items_out: *mut *const T,
    count_out: *mut usize,
    pick: impl FnOnce(&Comparison) -> &[T],
) -> ckview_status {
    guard(null_mut(), || {
        // SAFETY: NULL or a live comparison, by contract; out-params checked below.
        let Some(comparison) = (unsafe { comparison.as_ref() }) else {
            return CKVIEW_INVALID_ARGUMENT;
        };
        if items_out.is_null() || count_out.is_null() {
            return CKVIEW_INVALID_ARGUMENT;
        }
        let items = pick(&comparison.comparison);
        // SAFETY: both out-params are non-NULL and writable by contract.
        unsafe {
            *items_out = items.as_ptr();
            *count_out = items.len();
        }
        CKVIEW_OK
    })
}

/// The matched (node id, object) pairs, in the insertion order of TensorFlow's match dict.
/// `*pairs_out` is borrowed from the comparison and valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn ckview_comparison_matched(
    comparison: *const ckview_comparison,
    pairs_out: *mut *const MatchedPair,
    count_out: *mut usize,
) -> ckview_status {
    borrow_list(comparison, pairs_out, count_out, |c| &c.matched)
}

/// Checkpoint node ids no live object matched, in `descendants()` order (diff only).
#[no_mangle]
pub unsafe extern "C" fn ckview_comparison_only_in_checkpoint(
    comparison: *const ckview_comparison,
    node_ids_out: *mut *const u32,
    count_out: *mut usize,
) -> ckview_status {
    borrow_list(comparison, node_ids_out, count_out, |c| &c.only_in_checkpoint)
}

/// Live objects no checkpoint node matched, breadth first from the root, each once (diff only).
#[no_mangle]
pub unsafe extern "C" fn ckview_comparison_only_in_live(
    comparison: *const ckview_comparison,
    objects_out: *mut *const u64,
    count_out: *mut usize,
) -> ckview_status {
    borrow_list(comparison, objects_out, count_out, |c| &c.only_in_live)
}

/// Every checkpoint node reached as two different live objects, in the order met.
#[no_mangle]
pub unsafe extern "C" fn ckview_comparison_conflicts(
    comparison: *const ckview_comparison,
    conflicts_out: *mut *const Conflict,
    count_out: *mut usize,
) -> ckview_status {
    borrow_list(comparison, conflicts_out, count_out, |c| &c.conflicts)
}

/// Frees a comparison. NULL is accepted and ignored.
#[no_mangle]
pub unsafe extern "C" fn ckview_comparison_free(comparison: *mut ckview_comparison) {
    if !comparison.is_null() {
        // SAFETY: from `Box::into_raw` in `run_comparison`, freed once by contract.
        drop(unsafe { Box::from_raw(comparison) });
    }
}
