//! Object-graph benchmarks on synthetic checkpoints of growing size: open, children of every
//! node, descendants, paths, match and diff through the C ABI's callbacks, the flat key listing,
//! and the resident memory of an open view.
//!
//!     cargo bench --bench graph                    # sizes 1k, 10k, 100k, 300k, 1M
//!     cargo bench --bench graph -- 300000          # chosen sizes
//!     cargo bench --bench graph -- --memory 300000 # peak RSS of one open view (own process)
//!
//! One line per size and operation: `graph NODES OPERATION SECONDS NS_PER_NODE`.

use std::ffi::{c_void, CString};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ckview::ffi::*;
use ckview::format::Bundle;
use ckview_synthetic::{write_model, ModelShape};
use ckview::CheckpointView;

/// The checkpoint of `nodes` nodes, generated once into target/bench-data.
fn checkpoint(nodes: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join(format!("graph-{nodes}"));
    if !ckview::format::bundle::index_path(&prefix).is_file() {
        write_model(&prefix, ModelShape { nodes, ..ModelShape::default() }).unwrap();
    }
    prefix
}

/// The fastest of a few runs (at least 3, or about a second's worth).
fn time<T>(mut run: impl FnMut() -> T) -> Duration {
    let mut best = Duration::MAX;
    let started = Instant::now();
    for round in 0.. {
        let start = Instant::now();
        std::hint::black_box(run());
        best = best.min(start.elapsed());
        if round >= 2 && started.elapsed() > Duration::from_secs(1) {
            break;
        }
    }
    best
}

/// A live object graph in memory: object i has `children[i]`. It mirrors the checkpoint, with
/// every 100th name changed and one extra child per 100 objects, so diff has work to report.
struct Live {
    children: Vec<Vec<(Vec<u8>, u64)>>,
}

impl Live {
    fn mirror(view: &CheckpointView) -> Live {
        let extra_base = view.num_nodes() as u64;
        let mut children: Vec<Vec<(Vec<u8>, u64)>> = (0..view.num_nodes() as u32)
            .map(|node| {
                view.children(node)
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(index, (name, child))| {
                        let mut name = name.as_bytes().to_vec();
                        if (node as usize + index) % 100 == 0 {
                            name.extend_from_slice(b"_renamed");
                        }
                        (name, u64::from(child))
                    })
                    .collect()
            })
            .collect();
        let count = children.len();
        for (index, list) in children.iter_mut().enumerate().step_by(100) {
            list.push((b"added".to_vec(), extra_base + index as u64));
        }
        children.resize(count + count, Vec::new());
        Live { children }
    }
}

unsafe extern "C" fn list_children(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
    let live = unsafe { &*(userdata as *const Live) };
    for (name, child) in live.children.get(object as usize).map(Vec::as_slice).unwrap_or_default() {
        unsafe { ckview_child_sink_add(sink, name.as_ptr().cast(), name.len(), *child) };
    }
    0
}

fn report(nodes: usize, operation: &str, elapsed: Duration) {
    println!("graph {nodes} {operation} {:.9} {:.1}", elapsed.as_secs_f64(), elapsed.as_nanos() as f64 / nodes as f64);
}

fn bench(nodes: usize) {
    let prefix = checkpoint(nodes);
    let view = CheckpointView::open(&prefix).unwrap();
    let nodes = view.num_nodes();
    report(nodes, "open", time(|| CheckpointView::open(&prefix).unwrap()));
    report(nodes, "children_all", time(|| (0..nodes as u32).map(|n| view.children(n).unwrap().iter().count()).sum::<usize>()));
    report(nodes, "descendants", time(|| view.descendants().iter().map(|&n| n as u64).sum::<u64>()));
    report(nodes, "paths_all", time(|| view.descendants().iter().map(|&n| view.path(n).unwrap().map_or(0, |p| p.len())).sum::<usize>()));
    report(nodes, "list_keys", time(|| Bundle::open(&prefix).unwrap().tensors().unwrap().len()));

    let c_path = CString::new(prefix.to_str().unwrap()).unwrap();
    let mut c_view = std::ptr::null_mut();
    assert_eq!(unsafe { ckview_open(c_path.as_ptr(), &mut c_view, std::ptr::null_mut()) }, ckview_status::CKVIEW_OK);
    let live = Live::mirror(&view);
    for (operation, run) in [("match_c", ckview_match as unsafe extern "C" fn(_, _, _, _, _, _) -> _), ("diff_c", ckview_diff)] {
        let elapsed = time(|| {
            let mut comparison = std::ptr::null_mut();
            let status = unsafe {
                run(c_view, 0, Some(list_children), &live as *const Live as *mut c_void, &mut comparison, std::ptr::null_mut())
            };
            assert_eq!(status, ckview_status::CKVIEW_OK);
            unsafe { ckview_comparison_free(comparison) };
        });
        report(nodes, operation, elapsed);
    }
    unsafe { ckview_close(c_view) };
}

/// Resident memory (kB) of this process from /proc/self/status.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    if let [flag, nodes] = args.as_slice() {
        if flag == "--memory" {
            let prefix = checkpoint(nodes.parse().unwrap());
            let graph_bytes = {
                let bundle = Bundle::open(&prefix).unwrap();
                bundle.entry(ckview::graph::OBJECT_GRAPH_KEY).unwrap().unwrap().size
            };
            let before = status_kb("VmRSS:");
            let view = CheckpointView::open(&prefix).unwrap();
            let peak = status_kb("VmHWM:");
            println!(
                "memory {} nodes: object graph {:.1} MB, resident before open {:.1} MB, peak with the view open {:.1} MB, added by the view {:.1} MB",
                view.num_nodes(),
                graph_bytes as f64 / 1e6,
                before as f64 / 1e3,
                peak as f64 / 1e3,
                (peak - before) as f64 / 1e3
            );
            return;
        }
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000, 100_000, 300_000, 1_000_000]
    } else {
        args.iter().map(|arg| arg.parse().expect("sizes are numbers")).collect()
    };
    for nodes in sizes {
        bench(nodes);
    }
}
