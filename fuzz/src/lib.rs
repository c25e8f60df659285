//! Helpers shared by the fuzz targets: a per-process scratch folder on tmpfs (the library opens
//! paths, not byte slices), a splitter that cuts one fuzz input into several files, and walks that
//! call every read-only query of a graph, a bundle and a view while checking what must hold for
//! any input that opened.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ckview::format::{Bundle, DataType, Verify};
use ckview::graph::{GraphError, ObjectGraph};

/// Tensors larger than this are not read into a buffer (their size still is computed).
const MAX_READ_BYTES: u64 = 1 << 22;
/// At most this many tensors of one bundle are read per input.
const MAX_TENSORS_READ: usize = 64;
/// Paths of deep chains add up quadratically; stop building them past this many bytes.
const MAX_PATH_BYTES: usize = 1 << 20;

/// A folder of this process under `/dev/shm` (tmpfs: no disk writes), removed at exit.
pub struct Scratch {
    dir: PathBuf,
}

extern "C" fn remove_scratch() {
    if let Some(scratch) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(&scratch.dir);
    }
}

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

impl Scratch {
    /// The scratch folder of this process, emptied: nothing a previous input wrote survives.
    pub fn fresh() -> &'static Scratch {
        let scratch = SCRATCH.get_or_init(|| {
            let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
            let dir = base.join(format!("ckview-fuzz-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch folder");
            // SAFETY: registering a plain function with no captured state.
            unsafe { libc::atexit(remove_scratch) };
            Scratch { dir }
        });
        for entry in std::fs::read_dir(&scratch.dir).expect("scratch folder is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
        scratch
    }

    /// `name` inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `bytes` to `name`; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("tmpfs write");
        path
    }
}

/// Cuts `data` into at most `max_parts` pieces: each piece but the last is preceded by its length
/// as a little-endian u32 (clamped to what is left); the last piece is the rest.
pub fn split(data: &[u8], max_parts: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() + 1 < max_parts && rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let len = len.min(rest.len() - 4);
        parts.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    parts.push(rest);
    parts
}

/// The inverse of [`split`], for building seeds.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        if index + 1 < parts.len() {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(part);
    }
    out
}

/// Calls every query of `graph` on every node (and one past the last), checking:
/// descendants start at the root, are unique and in range; children ids are in range; a node has
/// a path exactly when it is a descendant, and the root's path is `root`; out-of-range ids are
/// `NodeOutOfRange`.
pub fn walk_graph(graph: &ObjectGraph) {
    let count = graph.num_nodes();
    assert!(count >= 1, "an opened graph has a root");
    let descendants = graph.descendants();
    assert_eq!(descendants.first(), Some(&0), "descendants start at the root");
    let mut reachable = vec![false; count];
    for &node in descendants {
        assert!((node as usize) < count, "descendant {node} out of range");
        assert!(!reachable[node as usize], "descendant {node} listed twice");
        reachable[node as usize] = true;
    }
    let mut path_bytes = 0usize;
    let mut slot_total = 0usize;
    let mut variable_slot_total = 0usize;
    for node in 0..count as u32 {
        let children = graph.children(node).expect("in range");
        let mut names = HashSet::new();
        for (name, child) in children.iter() {
            assert!((child as usize) < count, "child {child} of {node} out of range");
            assert!(names.insert(name), "children of {node} repeat the name {name:?}");
        }
        assert_eq!(children.len(), names.len());
        let _ = children.get(children.len());
        if path_bytes < MAX_PATH_BYTES {
            let path = graph.path(node).expect("in range");
            assert_eq!(path.is_some(), reachable[node as usize], "path of {node} vs descendants");
            if node == 0 {
                assert_eq!(path.as_deref(), Some("root"));
            }
            path_bytes += path.map_or(0, |path| path.len());
        }
        for attribute in graph.attributes(node).expect("in range") {
            std::hint::black_box((attribute.name.len(), attribute.full_name.len(), attribute.checkpoint_key.len()));
        }
        for slot in graph.slot_variables(node).expect("in range") {
            assert!((slot.original_variable_node_id as usize) < count);
            assert!((slot.slot_variable_node_id as usize) < count);
            slot_total += 1;
        }
        for slot in graph.variable_slots(node).expect("in range") {
            assert!((slot.optimizer_node_id as usize) < count);
            assert_eq!(slot.slot.original_variable_node_id, node);
            variable_slot_total += 1;
        }
        std::hint::black_box(graph.registered_saver(node).expect("in range"));
        std::hint::black_box(graph.has_checkpoint_values(node).expect("in range"));
    }
    assert_eq!(slot_total, variable_slot_total, "every slot variable is listed under its variable");
    let beyond = count as u32;
    for result in [graph.children(beyond).map(|_| ()), graph.path(beyond).map(|_| ()), graph.attributes(beyond).map(|_| ())] {
        assert!(matches!(result, Err(GraphError::NodeOutOfRange { .. })), "node {beyond} must be out of range");
    }
}

/// Lists the bundle's tensors and reads (a bounded number of) them every way the library offers.
pub fn walk_bundle(bundle: &Bundle) {
    let _ = bundle.header();
    let Ok(tensors) = bundle.tensors() else { return };
    for (key, entry) in tensors.iter().take(MAX_TENSORS_READ) {
        let again = bundle.entry(key);
        if let Ok(Some(found)) = &again {
            assert_eq!(found, entry, "entry() and tensors() disagree on {key:?}");
        }
        let _ = bundle.size_bytes(key, entry);
        if entry.dtype == DataType::DtString {
            if let Ok(strings) = bundle.read_string_values(key, entry) {
                assert_eq!(strings.len() as u64, entry.num_elements());
            }
            continue;
        }
        let Ok(size) = bundle.value_size(key, entry) else { continue };
        let _ = bundle.borrow_value(key, entry, Verify::Skip);
        let _ = bundle.borrow_value(key, entry, Verify::Checksums);
        if size <= MAX_READ_BYTES {
            let mut out = vec![0u8; size as usize];
            let _ = bundle.read_value(key, entry, &mut out, Verify::Checksums);
            let _ = bundle.read_value(key, entry, &mut out, Verify::Skip);
            if size > 0 {
                let short = &mut out[..size as usize - 1];
                assert!(bundle.read_value(key, entry, short, Verify::Skip).is_err(), "a short buffer must be refused");
            }
        }
    }
}
