//! The malformed-input suite: thousands of damaged checkpoints generated from a real fixture
//! (every truncation and every single-bit flip of an index, every byte of its data shard
//! inverted) and crafted ones for each class of damage (FORMAT.md sections 2-8), each opened and,
//! when it opens, walked completely. Every case must end in its status with no panic, within a
//! time bound, in a child process whose address space is capped (no unbounded allocation).
//!
//! The same file tests callbacks that misbehave through the C ABI and many threads sharing one
//! view. `regression_f*` tests reproduce bugs this suite found, fixed since; `finding_*` tests
//! reproduce those not fixed yet: they are ignored so that CI stays green, and pass once the
//! library is fixed (`cargo test --test malformed_suite -- --ignored finding_`).
//!
//! Run with `cargo test --release --test malformed_suite -- --nocapture` to see the counts.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::ffi::{c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ckview::ffi::*;
use ckview::format::proto::tensor_shape_proto::Dim;
use ckview::format::proto::tensor_slice_proto::extent::HasLength;
use ckview::format::proto::tensor_slice_proto::Extent;
use ckview::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SlotVariableReference};
use ckview::format::proto::trackable_object_graph::TrackableObject;
use ckview::format::proto::{
    BundleEntryProto, BundleHeaderProto, DataType, TensorShapeProto, TensorSliceProto, TrackableObjectGraph, VersionDef,
};
use ckview::format::table::Table;
use ckview::format::writer::{encode_strings, BundleWriter, TableBuilder};
use ckview::format::{crc, Bundle, Endianness, FormatError, Verify};
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview::CheckpointView;
use prost::Message;

/// Address-space cap of the child process that runs the file cases.
const MEMORY_CAP: u64 = 2 << 30;
/// Peak resident memory the child may reach.
const RSS_BOUND_KB: i64 = 1 << 20;
/// One case may take this long (debug build) before it counts as a failure.
const CASE_TIME_LIMIT: Duration = Duration::from_secs(10);
/// A case still running after this long is a hang: the child aborts and names it.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// The whole child may take this long.
const CHILD_DEADLINE: Duration = Duration::from_secs(600);
/// Tensors read per opened case, and the largest read.
const MAX_TENSORS_READ: usize = 64;
const MAX_READ_BYTES: u64 = 1 << 22;
/// Paths of deep chains add up quadratically; stop building them past this many bytes.
const MAX_PATH_BYTES: usize = 1 << 20;

const CHILD_ENV: &str = "CKVIEW_MALFORMED_SUITE_CHILD";
const REPORT_PREFIX: &str = "[suite] ";

// ---------------------------------------------------------------------------------------------
// Fixtures and scratch folders

fn fixture_prefix(folder: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(folder).join(name)
}

fn doc_prefix() -> PathBuf {
    fixture_prefix("doc_children", "tf_ckpts-1")
}

fn shard_name(prefix: &Path, shard: u32, of: u32) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(format!(".data-{shard:05}-of-{of:05}"));
    PathBuf::from(name)
}

fn index_name(prefix: &Path) -> PathBuf {
    ckview::format::bundle::index_path(prefix)
}

/// The serialized object graph of the documentation example.
fn real_graph() -> Vec<u8> {
    let bundle = Bundle::open(&doc_prefix()).unwrap();
    let entry = bundle.entry(OBJECT_GRAPH_KEY).unwrap().unwrap();
    bundle.read_strings(OBJECT_GRAPH_KEY, &entry).unwrap()[0].to_vec()
}

/// Every (key, value) of the documentation example's index, header first.
fn real_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    let table = Table::open(&ckview::io::LocalStorage::default(), &index_name(&doc_prefix())).unwrap();
    let mut entries = Vec::new();
    table
        .for_each(|key, value| {
            entries.push((key.to_vec(), value.to_vec()));
            Ok(())
        })
        .unwrap();
    entries
}

/// A folder under tmpfs (or the temp dir) for this process; `case` gives fresh sub-folders.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(label: &str) -> Scratch {
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let root = base.join(format!("ckview-suite-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Scratch { root }
    }

    /// An empty folder for one case.
    fn case(&self, name: &str) -> PathBuf {
        let dir = self.root.join(name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ---------------------------------------------------------------------------------------------
// Opening, walking and classifying

fn status_name(status: ckview_status) -> String {
    format!("{status:?}").trim_start_matches("CKVIEW_").to_string()
}

/// How one case ended: `label` is what is counted ("CHECKSUM_MISMATCH", "opened fine",
/// "opened, read CORRUPT_DATA", ...).
#[derive(Debug)]
struct Outcome {
    label: String,
    detail: String,
    /// A property of an opened view that does not hold: always a failure.
    violation: Option<String>,
}

impl Outcome {
    fn open_error(status: ckview_status, message: String) -> Outcome {
        Outcome { label: status_name(status), detail: message, violation: None }
    }
}

/// Opens `save_path` as a view; when it opens, calls every graph query on every node and reads
/// the tensors of its bundle. The label is the open error, or the first read error, or
/// "opened fine".
fn open_and_walk(save_path: &Path) -> Outcome {
    let view = match CheckpointView::open(save_path) {
        Ok(view) => view,
        Err(error) => {
            let message = error.to_string();
            let violation = message.is_empty().then(|| "an error without a message".to_string());
            return Outcome { violation, ..Outcome::open_error(ckview_status::from(&error), message) };
        }
    };
    let violation = walk_graph(&view).err();
    match walk_bundle(view.bundle()) {
        Ok(()) => Outcome { label: "opened fine".into(), detail: String::new(), violation },
        Err(error) => Outcome { label: format!("opened, read {}", status_name(ckview_status::from(&error))), detail: error.to_string(), violation },
    }
}

/// Every graph query on every node; `Err` names a property that does not hold.
fn walk_graph(view: &CheckpointView) -> Result<(), String> {
    let count = view.num_nodes();
    let descendants = view.descendants();
    if descendants.first() != Some(&0) {
        return Err("descendants do not start at the root".into());
    }
    let mut reachable = vec![false; count];
    for &node in descendants {
        let slot = reachable.get_mut(node as usize).ok_or(format!("descendant {node} out of range"))?;
        if std::mem::replace(slot, true) {
            return Err(format!("descendant {node} listed twice"));
        }
    }
    let mut path_bytes = 0;
    for node in 0..count as u32 {
        let children = view.children(node).map_err(|e| e.to_string())?;
        let mut names = HashSet::new();
        for (name, child) in children.iter() {
            if child as usize >= count || !names.insert(name) {
                return Err(format!("child {name:?} -> {child} of node {node} is out of range or repeated"));
            }
        }
        if path_bytes < MAX_PATH_BYTES {
            let path = view.path(node).map_err(|e| e.to_string())?;
            if path.is_some() != reachable[node as usize] {
                return Err(format!("node {node} has a path iff it is a descendant: violated"));
            }
            path_bytes += path.map_or(0, |path| path.len());
        }
        std::hint::black_box(view.attributes(node).map_err(|e| e.to_string())?.count());
        for slot in view.slot_variables(node).map_err(|e| e.to_string())? {
            if slot.original_variable_node_id as usize >= count || slot.slot_variable_node_id as usize >= count {
                return Err(format!("slot variable of node {node} names a node out of range"));
            }
        }
        std::hint::black_box(view.variable_slots(node).map_err(|e| e.to_string())?.count());
        std::hint::black_box(view.registered_saver(node).map_err(|e| e.to_string())?);
        std::hint::black_box(view.has_checkpoint_values(node).map_err(|e| e.to_string())?);
    }
    if view.children(count as u32).is_ok() {
        return Err("a node id past the last one is accepted".into());
    }
    Ok(())
}

/// Lists the bundle's tensors and reads up to [`MAX_TENSORS_READ`] of them; the first error.
fn walk_bundle(bundle: &Bundle) -> Result<(), FormatError> {
    for (key, entry) in bundle.tensors()?.iter().take(MAX_TENSORS_READ) {
        if entry.dtype == DataType::DtString {
            bundle.read_string_values(key, entry)?;
            continue;
        }
        bundle.size_bytes(key, entry)?;
        let size = match bundle.value_size(key, entry) {
            Ok(size) => size,
            Err(FormatError::UnsupportedDtype { .. }) => continue,
            Err(error) => return Err(error),
        };
        if size <= MAX_READ_BYTES {
            let mut out = vec![0u8; size as usize];
            bundle.read_value(key, entry, &mut out, Verify::Checksums)?;
        }
    }
    Ok(())
}

/// What a case must end in.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Any status, or a view whose walk completes (generated damage).
    Anything,
    /// An error at open, whichever.
    AnyOpenError,
    /// Exactly one of these labels.
    OneOf(&'static [&'static str]),
}

impl Expect {
    fn accepts(self, outcome: &Outcome) -> bool {
        match self {
            Expect::Anything => true,
            Expect::AnyOpenError => !outcome.label.starts_with("opened"),
            Expect::OneOf(labels) => labels.contains(&outcome.label.as_str()),
        }
    }
}

fn one(label: &'static str) -> Expect {
    Expect::OneOf(Box::leak(Box::new([label])))
}

// ---------------------------------------------------------------------------------------------
// The case runner: panics caught and counted, time measured, a watchdog for hangs

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

struct Runner {
    cases: usize,
    tally: BTreeMap<String, usize>,
    panics: Vec<String>,
    failures: Vec<String>,
    slowest: (Duration, String),
    progress: Option<PathBuf>,
    /// Milliseconds since `epoch` at which the running case started (0: none running).
    running_since: Arc<AtomicU64>,
    running_name: Arc<Mutex<String>>,
    epoch: Instant,
}

impl Runner {
    fn new(progress: Option<PathBuf>) -> Runner {
        // Panics are expected to be caught here: record their message instead of printing it.
        std::panic::set_hook(Box::new(|info| {
            *PANIC_MESSAGE.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
        }));
        let runner = Runner {
            cases: 0,
            tally: BTreeMap::new(),
            panics: Vec::new(),
            failures: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
            progress,
            running_since: Arc::new(AtomicU64::new(0)),
            running_name: Arc::new(Mutex::new(String::new())),
            epoch: Instant::now(),
        };
        let (since, name, epoch) = (Arc::clone(&runner.running_since), Arc::clone(&runner.running_name), runner.epoch);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let started = since.load(Ordering::SeqCst);
            if started != 0 && epoch.elapsed().as_millis() as u64 - started > HANG_LIMIT.as_millis() as u64 {
                eprintln!("HANG: case {:?} has run for more than {HANG_LIMIT:?}", name.lock().unwrap());
                std::process::abort();
            }
        });
        runner
    }

    fn case(&mut self, name: &str, expect: Expect, run: impl FnOnce() -> Outcome) {
        self.cases += 1;
        if let Some(progress) = &self.progress {
            let _ = std::fs::write(progress, name);
        }
        *self.running_name.lock().unwrap() = name.to_string();
        self.running_since.store((self.epoch.elapsed().as_millis() as u64).max(1), Ordering::SeqCst);
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(run));
        let elapsed = start.elapsed();
        self.running_since.store(0, Ordering::SeqCst);
        if elapsed > self.slowest.0 {
            self.slowest = (elapsed, name.to_string());
        }
        if elapsed > CASE_TIME_LIMIT {
            self.failures.push(format!("{name}: took {elapsed:?}"));
        }
        match result {
            Err(_) => {
                let message = PANIC_MESSAGE.lock().unwrap().take().unwrap_or_default();
                self.panics.push(format!("{name}: {message}"));
                *self.tally.entry("PANIC".into()).or_default() += 1;
            }
            Ok(outcome) => {
                if let Some(violation) = &outcome.violation {
                    self.failures.push(format!("{name}: {violation}"));
                }
                if !expect.accepts(&outcome) {
                    self.failures.push(format!("{name}: expected {expect:?}, got {} ({})", outcome.label, outcome.detail));
                }
                *self.tally.entry(outcome.label).or_default() += 1;
            }
        }
    }

    fn report(&self) -> String {
        let mut counts: Vec<(&String, &usize)> = self.tally.iter().filter(|(label, _)| !label.starts_with("opened")).collect();
        counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut parts: Vec<String> = counts.iter().map(|(label, count)| format!("{label} {count}")).collect();
        for (label, count) in self.tally.iter().filter(|(label, _)| label.starts_with("opened")) {
            parts.push(format!("{label} {count}"));
        }
        parts.retain(|part| !part.starts_with("PANIC"));
        parts.push(format!("panics {}", self.panics.len()));
        let mut text = format!("malformed suite: {} cases: {}\n", self.cases, parts.join(", "));
        text += &format!("slowest case: {} ({:?}); failures: {}\n", self.slowest.1, self.slowest.0, self.failures.len());
        for line in self.panics.iter().chain(&self.failures).take(40) {
            text += &format!("  {line}\n");
        }
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Crafting sstables byte by byte (valid checksums around the damage)

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One block entry exactly as given (lengths need not match the bytes).
fn raw_entry(shared: u64, non_shared: u64, value_len: u64, delta: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, shared);
    varint(&mut out, non_shared);
    varint(&mut out, value_len);
    out.extend_from_slice(delta);
    out.extend_from_slice(value);
    out
}

/// Prefix-compressed entries in the given order (sorted or not) and their restart offsets.
fn encode_entries(entries: &[(Vec<u8>, Vec<u8>)], restart_interval: usize) -> (Vec<u8>, Vec<u32>) {
    let (mut out, mut restarts, mut last): (Vec<u8>, Vec<u32>, &[u8]) = (Vec::new(), Vec::new(), &[]);
    for (index, (key, value)) in entries.iter().enumerate() {
        let shared = if index % restart_interval == 0 {
            restarts.push(out.len() as u32);
            0
        } else {
            last.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        out.extend(raw_entry(shared as u64, (key.len() - shared) as u64, value.len() as u64, &key[shared..], value));
        last = key;
    }
    (out, restarts)
}

/// Block contents: the entry region, then the restart array and its length.
fn block(region: &[u8], restarts: &[u32]) -> Vec<u8> {
    let mut out = region.to_vec();
    for restart in restarts {
        out.extend_from_slice(&restart.to_le_bytes());
    }
    out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
    out
}

fn valid_block(entries: &[(Vec<u8>, Vec<u8>)], restart_interval: usize) -> Vec<u8> {
    let (region, restarts) = encode_entries(entries, restart_interval);
    block(&region, &restarts)
}

fn handle(offset: u64, size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, offset);
    varint(&mut out, size);
    out
}

/// An sstable written block by block.
#[derive(Default)]
struct RawTable {
    bytes: Vec<u8>,
}

impl RawTable {
    /// Appends a block and its trailer; `crc_xor` damages the checksum. Returns its handle.
    fn push(&mut self, contents: &[u8], compression: u8, crc_xor: u32) -> (u64, u64) {
        let offset = self.bytes.len() as u64;
        self.bytes.extend_from_slice(contents);
        self.bytes.push(compression);
        let checksum = crc::mask(crc::extend(crc::crc32c(contents), &[compression])) ^ crc_xor;
        self.bytes.extend_from_slice(&checksum.to_le_bytes());
        (offset, contents.len() as u64)
    }

    /// Appends the footer made of `handles` (padded to 40 bytes) and the magic number.
    fn finish(mut self, handles: &[u8]) -> Vec<u8> {
        let mut footer = handles.to_vec();
        footer.resize(footer.len().max(40), 0);
        footer.truncate(40);
        footer.extend_from_slice(&0xdb47_7524_8b80_fb57u64.to_le_bytes());
        self.bytes.extend_from_slice(&footer);
        self.bytes
    }
}

/// How to damage a table made of data blocks.
#[derive(Clone, Default)]
struct TablePlan {
    /// Data block contents with the separator of each.
    blocks: Vec<(Vec<u8>, Vec<u8>)>,
    /// Replaces the index block's contents.
    index_contents: Option<Vec<u8>>,
    /// (block number, compression byte, crc xor) for a data block; usize::MAX for the index.
    trailer: Option<(usize, u8, u32)>,
    /// Replaces the footer's handles.
    footer_handles: Option<Vec<u8>>,
    /// Replaces the footer's metaindex handle (never read).
    metaindex_handle: Option<Vec<u8>>,
}

impl TablePlan {
    fn one_block(contents: Vec<u8>) -> TablePlan {
        TablePlan { blocks: vec![(b"\xff".to_vec(), contents)], ..Default::default() }
    }

    fn build(&self) -> Vec<u8> {
        let mut table = RawTable::default();
        let trailer = |block: usize| match self.trailer {
            Some((which, compression, xor)) if which == block => (compression, xor),
            _ => (0, 0),
        };
        let mut index_entries = Vec::new();
        for (number, (separator, contents)) in self.blocks.iter().enumerate() {
            let (compression, xor) = trailer(number);
            let (offset, size) = table.push(contents, compression, xor);
            index_entries.push((separator.clone(), handle(offset, size)));
        }
        let metaindex = table.push(&block(&[], &[0]), 0, 0);
        let index = self.index_contents.clone().unwrap_or_else(|| valid_block(&index_entries, 1));
        let (compression, xor) = trailer(usize::MAX);
        let index = table.push(&index, compression, xor);
        let metaindex = self.metaindex_handle.clone().unwrap_or_else(|| handle(metaindex.0, metaindex.1));
        let handles = self.footer_handles.clone().unwrap_or_else(|| [metaindex, handle(index.0, index.1)].concat());
        table.finish(&handles)
    }
}

/// Writes `index` and the documentation example's data shard as `dir/ck`; returns the prefix.
fn with_real_data(dir: &Path, index: &[u8]) -> PathBuf {
    let prefix = dir.join("ck");
    std::fs::write(index_name(&prefix), index).unwrap();
    std::fs::copy(shard_name(&doc_prefix(), 0, 1), shard_name(&prefix, 0, 1)).unwrap();
    prefix
}

fn header(num_shards: i32, endianness: i32, version: Option<VersionDef>) -> Vec<u8> {
    BundleHeaderProto { num_shards, endianness, version }.encode_to_vec()
}

fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto { dim: dims.iter().map(|&size| Dim { size, name: String::new() }).collect(), unknown_rank: false })
}

fn entry(dtype: DataType, dims: &[i64], shard_id: i32, offset: i64, size: i64, crc32c: u32) -> BundleEntryProto {
    BundleEntryProto { dtype: dtype as i32, shape: shape(dims), shard_id, offset, size, crc32c, slices: vec![] }
}

fn extent(start: i64, length: Option<i64>) -> Extent {
    Extent { start, has_length: length.map(HasLength::Length) }
}

/// A bundle with the real graph and one float tensor, after `craft` had its say.
fn crafted_bundle(dir: &Path, craft: impl FnOnce(&mut BundleWriter)) -> PathBuf {
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&real_graph()]).unwrap();
    writer.add_raw(b"a_var/.ATTRIBUTES/VARIABLE_VALUE", DataType::DtFloat, &[], &5.0f32.to_le_bytes()).unwrap();
    craft(&mut writer);
    writer.finish().unwrap()
}

/// A bundle whose graph is `graph` (serialized bytes).
fn graph_bundle(dir: &Path, graph: &[u8]) -> PathBuf {
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[graph]).unwrap();
    writer.finish().unwrap()
}

fn reference(node_id: i32, name: &str) -> ObjectReference {
    ObjectReference { node_id, local_name: name.into() }
}

fn node(children: Vec<ObjectReference>) -> TrackableObject {
    TrackableObject { children, ..Default::default() }
}

fn serialize(nodes: Vec<TrackableObject>) -> Vec<u8> {
    TrackableObjectGraph { nodes }.encode_to_vec()
}

/// A DT_STRING payload of one element given as raw length bytes, with both checksums computed
/// over `length_word` (the length as TensorFlow hashes it), damaged by the xors.
fn string_payload(length_bytes: &[u8], length_word: &[u8], body: &[u8], length_crc_xor: u32, tensor_crc_xor: u32) -> (Vec<u8>, u32) {
    let running = crc::extend(0, length_word);
    let stored = (crc::mask(running) ^ length_crc_xor).to_le_bytes();
    let mut bytes = length_bytes.to_vec();
    bytes.extend_from_slice(&stored);
    bytes.extend_from_slice(body);
    let running = crc::extend(crc::extend(running, &stored), body);
    (bytes, crc::mask(running) ^ tensor_crc_xor)
}

/// A bundle whose graph entry points at `payload` (stored first in the shard) with `crc32c`.
fn payload_bundle(dir: &Path, payload: &[u8], crc32c: u32) -> PathBuf {
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_raw(b"zz_payload", DataType::DtUint8, &[payload.len() as u64], payload).unwrap();
    writer.add_entry(OBJECT_GRAPH_KEY, entry(DataType::DtString, &[], 0, 0, payload.len() as i64, crc32c));
    writer.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The cases

/// Every truncation and every single-bit flip of the documentation example's index (its data
/// shard beside it), and every byte of its data shard inverted.
fn generated_cases(runner: &mut Runner, scratch: &Scratch) {
    let source = doc_prefix();
    let index = std::fs::read(index_name(&source)).unwrap();
    let data = std::fs::read(shard_name(&source, 0, 1)).unwrap();
    let dir = scratch.case("generated");
    let prefix = with_real_data(&dir, &index);
    for length in 0..index.len() {
        std::fs::write(index_name(&prefix), &index[..length]).unwrap();
        runner.case(&format!("index truncated to {length} bytes"), Expect::AnyOpenError, || open_and_walk(&prefix));
    }
    for at in 0..index.len() {
        for bit in 0..8 {
            let mut damaged = index.clone();
            damaged[at] ^= 1 << bit;
            std::fs::write(index_name(&prefix), &damaged).unwrap();
            runner.case(&format!("index byte {at} bit {bit} flipped"), Expect::Anything, || open_and_walk(&prefix));
        }
    }
    std::fs::write(index_name(&prefix), &index).unwrap();
    for at in 0..data.len() {
        let mut damaged = data.clone();
        damaged[at] ^= 0xff;
        std::fs::write(shard_name(&prefix, 0, 1), &damaged).unwrap();
        runner.case(&format!("data byte {at} inverted"), Expect::Anything, || open_and_walk(&prefix));
    }
}

/// Damaged sstables: blocks, restarts, keys, handles, trailers, footers.
fn table_cases(runner: &mut Runner, scratch: &Scratch) {
    let entries = real_entries();
    let all = valid_block(&entries, 16);
    let last_key = entries.last().unwrap().0.clone();
    let plain = |contents: Vec<u8>| TablePlan::one_block(contents);
    let mut cases: Vec<(&str, Expect, TablePlan)> = vec![
        ("sanity: the real entries re-assembled", one("opened fine"), plain(all.clone())),
        (
            "sanity: two data blocks",
            one("opened fine"),
            TablePlan {
                blocks: vec![(entries[2].0.clone(), valid_block(&entries[..3], 16)), (last_key.clone(), valid_block(&entries[3..], 16))],
                ..Default::default()
            },
        ),
        ("restart interval 1", one("opened fine"), plain(valid_block(&entries, 1))),
    ];
    // Keys: duplicated or out of order inside a block, across blocks, separators wrong.
    let mut duplicated = entries.clone();
    duplicated.insert(2, entries[2].clone());
    cases.push(("duplicate key in a block", one("CORRUPT_TABLE"), plain(valid_block(&duplicated, 16))));
    let mut unsorted = entries.clone();
    unsorted.swap(2, 3);
    cases.push(("unsorted keys in a block", one("CORRUPT_TABLE"), plain(valid_block(&unsorted, 16))));
    cases.push((
        "duplicate key across data blocks",
        one("opened, read CORRUPT_TABLE"),
        TablePlan {
            blocks: vec![(entries[2].0.clone(), valid_block(&entries[..3], 16)), (last_key.clone(), valid_block(&entries[2..], 16))],
            ..Default::default()
        },
    ));
    cases.push((
        "keys decreasing across data blocks",
        one("opened, read CORRUPT_TABLE"),
        TablePlan {
            blocks: vec![
                (entries[3].0.clone(), valid_block(&entries[..4], 16)),
                (last_key.clone(), valid_block(&[entries[2].clone(), entries[4].clone()], 16)),
            ],
            ..Default::default()
        },
    ));
    cases.push((
        "index separators out of order",
        one("CORRUPT_TABLE"),
        TablePlan {
            blocks: vec![(last_key.clone(), valid_block(&entries[..3], 16)), (entries[2].0.clone(), valid_block(&entries[3..], 16))],
            ..Default::default()
        },
    ));
    cases.push((
        "keys beyond their block's separator",
        one("CORRUPT_TABLE"),
        TablePlan { blocks: vec![(entries[1].0.clone(), all.clone())], ..Default::default() },
    ));
    cases.push(("no data block at all", one("CORRUPT_ENTRY"), TablePlan::default()));
    cases.push((
        "an empty data block (one restart) first",
        one("CORRUPT_ENTRY"),
        TablePlan { blocks: vec![(Vec::new(), block(&[], &[0])), (last_key.clone(), all.clone())], ..Default::default() },
    ));
    // Restart arrays.
    let (region, restarts) = encode_entries(&entries, 16);
    let second_entry = raw_entry(0, entries[0].0.len() as u64, entries[0].1.len() as u64, &entries[0].0, &entries[0].1).len() as u32;
    cases.push(("restart count beyond the block", one("CORRUPT_TABLE"), plain([region.clone(), 0x4000_0000u32.to_le_bytes().to_vec()].concat())));
    cases.push(("restart count u32::MAX", one("CORRUPT_TABLE"), plain([region.clone(), u32::MAX.to_le_bytes().to_vec()].concat())));
    cases.push(("no restart points", one("CORRUPT_TABLE"), plain(block(&region, &[]))));
    cases.push(("first restart not at 0", one("CORRUPT_TABLE"), plain(block(&region, &[second_entry]))));
    cases.push(("restart in the middle of an entry", one("CORRUPT_TABLE"), plain(block(&region, &[0, 3]))));
    cases.push(("restart past the entries", one("CORRUPT_TABLE"), plain(block(&region, &[0, region.len() as u32 + 8]))));
    cases.push(("restart u32::MAX", one("CORRUPT_TABLE"), plain(block(&region, &[0, u32::MAX]))));
    cases.push(("restarts out of order", one("CORRUPT_TABLE"), plain(block(&region, &[second_entry, 0]))));
    // Interval 16 shares key prefixes after the first entry: declare a sharing entry a restart.
    let sharing_entry = {
        let (mut at, mut found) = (0u32, None);
        for (index, (key, value)) in entries.iter().enumerate() {
            let shared = if index == 0 { 0 } else { entries[index - 1].0.iter().zip(key).take_while(|(a, b)| a == b).count() };
            if shared > 0 && found.is_none() {
                found = Some(at);
            }
            at += raw_entry(shared as u64, (key.len() - shared) as u64, value.len() as u64, &key[shared..], value).len() as u32;
        }
        found.expect("the fixture has keys sharing a prefix")
    };
    cases.push(("restart on a prefix-sharing entry", one("CORRUPT_TABLE"), plain(block(&region, &[0, sharing_entry]))));
    let _ = restarts;
    cases.push(("no entries but two restart points (F1)", one("CORRUPT_TABLE"), plain(block(&[], &[0, 0]))));
    cases.push(("no entries but restart u32::MAX", one("CORRUPT_TABLE"), plain(block(&[], &[0, u32::MAX, 7]))));
    cases.push(("block of 3 bytes", one("CORRUPT_TABLE"), plain(vec![0, 0, 0])));
    cases.push(("block of 0 bytes", one("CORRUPT_TABLE"), plain(Vec::new())));
    // Entry headers.
    let first = &entries[0];
    let bad_entry = |bytes: Vec<u8>| plain(block(&bytes, &[0]));
    cases.push(("oversized varint in an entry header", one("CORRUPT_TABLE"), bad_entry(vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0])));
    cases.push(("varint32 past u32 in an entry header", one("CORRUPT_TABLE"), bad_entry(vec![0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0])));
    cases.push(("value length past the block", one("CORRUPT_TABLE"), bad_entry(raw_entry(0, 0, 1000, b"", &first.1))));
    cases.push(("value length u32::MAX", one("CORRUPT_TABLE"), bad_entry(raw_entry(0, 0, u32::MAX as u64, b"", &first.1))));
    cases.push(("key length past the block", one("CORRUPT_TABLE"), bad_entry(raw_entry(0, 500, 0, b"abc", b""))));
    cases.push((
        "shared prefix longer than the previous key",
        one("CORRUPT_TABLE"),
        bad_entry([raw_entry(0, 0, first.1.len() as u64, b"", &first.1), raw_entry(3, 1, 0, b"x", b"")].concat()),
    ));
    cases.push(("entry header cut short", one("CORRUPT_TABLE"), bad_entry(vec![0x00, 0x80])));
    // Trailers and handles.
    cases.push(("data block checksum wrong", one("CHECKSUM_MISMATCH"), TablePlan { trailer: Some((0, 0, 1)), ..plain(all.clone()) }));
    cases.push(("index block checksum wrong", one("CHECKSUM_MISMATCH"), TablePlan { trailer: Some((usize::MAX, 0, 0x8000_0000)), ..plain(all.clone()) }));
    // Raw bytes labelled snappy (checksum resealed): they do not decompress to a valid block.
    cases.push(("raw data block labelled snappy", one("CORRUPT_TABLE"), TablePlan { trailer: Some((0, 1, 0)), ..plain(all.clone()) }));
    cases.push(("raw index block labelled snappy", one("CORRUPT_TABLE"), TablePlan { trailer: Some((usize::MAX, 1, 0)), ..plain(all.clone()) }));
    cases.push(("unknown compression type", one("CORRUPT_TABLE"), TablePlan { trailer: Some((0, 9, 0)), ..plain(all.clone()) }));
    let index_with = |value: Vec<u8>| TablePlan { index_contents: Some(valid_block(&[(b"\xff".to_vec(), value)], 1)), ..plain(all.clone()) };
    cases.push(("index entry without a handle", one("CORRUPT_TABLE"), index_with(Vec::new())));
    cases.push(("index entry with half a handle", one("CORRUPT_TABLE"), index_with(vec![0x80])));
    cases.push(("data handle past the end", one("CORRUPT_TABLE"), index_with(handle(0, 1 << 20))));
    cases.push(("data handle size overflowing with the trailer", one("CORRUPT_TABLE"), index_with(handle(0, u64::MAX - 2))));
    cases.push(("data handle offset u64::MAX", one("CORRUPT_TABLE"), index_with(handle(u64::MAX, 1))));
    cases.push(("data handle with an 11-byte varint", one("CORRUPT_TABLE"), index_with([vec![0xff; 10], vec![0x01, 0x05]].concat())));
    cases.push(("data handle pointing at the footer", Expect::OneOf(&["CHECKSUM_MISMATCH", "CORRUPT_TABLE"]), {
        let size = plain(all.clone()).build().len() as u64;
        index_with(handle(size - 48, 20))
    }));
    let footer = |handles: Vec<u8>| TablePlan { footer_handles: Some(handles), ..plain(all.clone()) };
    cases.push(("footer with an 11-byte varint", one("CORRUPT_TABLE"), footer([vec![0, 0], vec![0xff; 10], vec![0x7f]].concat())));
    cases.push(("footer handles u64::MAX", one("CORRUPT_TABLE"), footer([handle(0, 0), handle(u64::MAX, u64::MAX)].concat())));
    cases.push(("footer handle past the end", one("CORRUPT_TABLE"), footer([handle(0, 0), handle(1 << 40, 8)].concat())));
    cases.push(("footer index handle of 0 bytes at 0", one("CHECKSUM_MISMATCH"), footer([handle(0, 0), handle(0, 0)].concat())));
    cases.push((
        "footer metaindex handle garbage (never read)",
        one("opened fine"),
        TablePlan { metaindex_handle: Some(handle(u64::MAX, u64::MAX)), ..plain(all.clone()) },
    ));
    for (name, expect, plan) in cases {
        let dir = scratch.case(name);
        let prefix = with_real_data(&dir, &plan.build());
        runner.case(&format!("table: {name}"), expect, || open_and_walk(&prefix));
    }
    // Footers and magic numbers.
    let good = plain(all).build();
    for (name, bytes, expect) in [
        ("47-byte file", good[good.len() - 47..].to_vec(), "NOT_A_TABLE"),
        ("48 zero bytes", vec![0; 48], "NOT_A_TABLE"),
        ("magic off by one bit", { let mut b = good.clone(); *b.last_mut().unwrap() ^= 0x80; b }, "NOT_A_TABLE"),
        ("footer alone", good[good.len() - 48..].to_vec(), "CORRUPT_TABLE"),
    ] {
        let dir = scratch.case(name);
        let prefix = with_real_data(&dir, &bytes);
        runner.case(&format!("table: {name}"), one(expect), || open_and_walk(&prefix));
    }
}

/// The header entry, tensor entries and the object graph's entry.
fn entry_cases(runner: &mut Runner, scratch: &Scratch) {
    let version = |producer, min_consumer, bad: Vec<i32>| Some(VersionDef { producer, min_consumer, bad_consumers: bad });
    let headers: Vec<(&str, Vec<u8>, &str)> = vec![
        ("header undecodable", vec![0xff], "CORRUPT_ENTRY"),
        ("header truncated varint", vec![0x08], "CORRUPT_ENTRY"),
        ("zero shards", header(0, 0, None), "CORRUPT_ENTRY"),
        ("negative shards", header(-1, 0, None), "CORRUPT_ENTRY"),
        ("i32::MAX shards", header(i32::MAX, 0, None), "UNSUPPORTED"),
        ("100001 shards", header(100_001, 0, None), "UNSUPPORTED"),
        ("endianness 2", header(1, 2, None), "CORRUPT_ENTRY"),
        ("endianness -1", header(1, -1, None), "CORRUPT_ENTRY"),
        ("min_consumer 2", header(1, 0, version(1, 2, vec![])), "UNSUPPORTED_VERSION"),
        ("bad consumer 1", header(1, 0, version(1, 0, vec![0, 1])), "UNSUPPORTED_VERSION"),
        ("negative producer", header(1, 0, version(-1, 0, vec![])), "UNSUPPORTED_VERSION"),
        ("no version (accepted)", header(1, 0, None), "opened fine"),
        ("big-endian header over little-endian data", header(1, 1, version(1, 0, vec![])), "CHECKSUM_MISMATCH"),
        ("two shards, the second missing", header(2, 0, version(1, 0, vec![])), "opened fine"),
    ];
    let real = real_entries();
    for (name, header_value, expect) in headers {
        let dir = scratch.case(name);
        let mut table = TableBuilder::default();
        table.add(b"", &header_value);
        for (key, value) in &real[1..] {
            table.add(key, value);
        }
        let prefix = dir.join("ck");
        std::fs::write(index_name(&prefix), table.finish()).unwrap();
        let data = std::fs::read(shard_name(&doc_prefix(), 0, 1)).unwrap();
        let shards = BundleHeaderProto::decode(header_value.as_slice()).map_or(1, |h| h.num_shards.clamp(1, 2) as u32);
        std::fs::write(shard_name(&prefix, 0, shards), &data).unwrap();
        runner.case(&format!("header: {name}"), one(expect), || open_and_walk(&prefix));
    }
    {
        let dir = scratch.case("header missing");
        let mut table = TableBuilder::default();
        for (key, value) in &real[1..] {
            table.add(key, value);
        }
        let prefix = with_real_data(&dir, &table.finish());
        runner.case("header: missing", one("CORRUPT_ENTRY"), || open_and_walk(&prefix));
    }

    // The object graph's entry replaced.
    let graph_cases: Vec<(&str, BundleEntryProto, &str)> = vec![
        ("negative dimension", entry(DataType::DtString, &[-1], 0, 0, 10, 0), "CORRUPT_ENTRY"),
        ("dimension i64::MIN", entry(DataType::DtString, &[i64::MIN], 0, 0, 10, 0), "CORRUPT_ENTRY"),
        ("rank 255", entry(DataType::DtString, &[1; 255], 0, 0, 10, 0), "CORRUPT_ENTRY"),
        ("element count overflow", entry(DataType::DtString, &[1 << 40, 1 << 40], 0, 0, 10, 0), "CORRUPT_ENTRY"),
        ("element count just past i64::MAX", entry(DataType::DtString, &[1 << 62, 2], 0, 0, 10, 0), "CORRUPT_ENTRY"),
        ("negative size", entry(DataType::DtString, &[], 0, 0, -5, 0), "CORRUPT_ENTRY"),
        ("negative offset", entry(DataType::DtString, &[], 0, -1, 5, 0), "CORRUPT_ENTRY"),
        ("offset i64::MIN", entry(DataType::DtString, &[], 0, i64::MIN, 5, 0), "CORRUPT_ENTRY"),
        ("shard id 1 of 1", entry(DataType::DtString, &[], 1, 0, 5, 0), "CORRUPT_ENTRY"),
        ("shard id -1", entry(DataType::DtString, &[], -1, 0, 5, 0), "CORRUPT_ENTRY"),
        ("shard id i32::MAX", entry(DataType::DtString, &[], i32::MAX, 0, 5, 0), "CORRUPT_ENTRY"),
        ("offset + size at u64 edge", entry(DataType::DtString, &[], 0, i64::MAX, i64::MAX, 0), "CORRUPT_DATA"),
        ("offset past the shard", entry(DataType::DtString, &[], 0, 1 << 40, 4, 0), "CORRUPT_DATA"),
        ("size past the shard", entry(DataType::DtString, &[], 0, 0, 1 << 30, 0), "CORRUPT_DATA"),
        ("size 0", entry(DataType::DtString, &[], 0, 0, 0, 0), "CORRUPT_DATA"),
        ("dtype 0 (invalid)", entry(DataType::DtInvalid, &[], 0, 0, 5, 0), "CORRUPT_ENTRY"),
        ("dtype resource", entry(DataType::DtResource, &[], 0, 0, 5, 0), "CORRUPT_ENTRY"),
        ("dtype float", entry(DataType::DtFloat, &[], 0, 0, 4, 0), "CORRUPT_OBJECT_GRAPH"),
        ("shape [1]", entry(DataType::DtString, &[1], 0, 0, 5, 0), "CORRUPT_OBJECT_GRAPH"),
        ("shape [0]", entry(DataType::DtString, &[0], 0, 0, 4, 0), "CORRUPT_OBJECT_GRAPH"),
        ("unknown rank", BundleEntryProto { shape: Some(TensorShapeProto { dim: vec![], unknown_rank: true }), ..entry(DataType::DtString, &[], 0, 0, 5, 0) }, "CORRUPT_ENTRY"),
        ("sliced, shard 7 of 1 (F2)", BundleEntryProto { slices: vec![TensorSliceProto { extent: vec![] }], ..entry(DataType::DtString, &[], 7, 0, 4, 0) }, "CORRUPT_OBJECT_GRAPH"),
        ("slice of another rank", BundleEntryProto { slices: vec![TensorSliceProto { extent: vec![extent(0, None)] }], ..entry(DataType::DtString, &[], 0, 0, 5, 0) }, "CORRUPT_ENTRY"),
    ];
    for (name, graph_entry, expect) in graph_cases {
        let dir = scratch.case(name);
        let prefix = crafted_bundle(&dir, |writer| writer.add_entry(OBJECT_GRAPH_KEY, graph_entry));
        runner.case(&format!("graph entry: {name}"), one(expect), || open_and_walk(&prefix));
    }
    for (name, dtype) in [("unknown dtype 99", 99), ("dtype -1", -1), ("ref dtype 101", 101)] {
        let dir = scratch.case(name);
        let prefix = crafted_bundle(&dir, |writer| {
            writer.add_entry(OBJECT_GRAPH_KEY, BundleEntryProto { dtype, ..entry(DataType::DtString, &[], 0, 0, 5, 0) })
        });
        // A dtype number ckview does not know leaves the entry listable (`unknown(N)`): the graph
        // key then holds something that is not a string scalar.
        runner.case(&format!("graph entry: {name}"), one("CORRUPT_OBJECT_GRAPH"), || open_and_walk(&prefix));
    }
    {
        let dir = scratch.case("undecodable graph entry");
        let mut table = TableBuilder::default();
        table.add(b"", &real[0].1);
        table.add(OBJECT_GRAPH_KEY, &[0x0a, 0xff, 0xff]);
        let prefix = with_real_data(&dir, &table.finish());
        runner.case("graph entry: undecodable", one("CORRUPT_ENTRY"), || open_and_walk(&prefix));
    }
    {
        let dir = scratch.case("no graph key");
        let mut table = TableBuilder::default();
        table.add(b"", &real[0].1);
        let prefix = with_real_data(&dir, &table.finish());
        runner.case("graph entry: missing (TF1 name-based)", one("NAME_BASED_CHECKPOINT"), || open_and_walk(&prefix));
    }
}

/// DT_STRING payloads of the graph: lengths, checksums, sizes.
fn string_cases(runner: &mut Runner, scratch: &Scratch) {
    let graph = real_graph();
    let len_word = (graph.len() as u32).to_le_bytes();
    let mut minimal = Vec::new();
    varint(&mut minimal, graph.len() as u64);
    let overlong = {
        // The same length with a redundant continuation byte, which TensorFlow's reader accepts.
        let mut bytes = minimal.clone();
        *bytes.last_mut().unwrap() |= 0x80;
        bytes.push(0);
        bytes
    };
    let cases: Vec<(&str, (Vec<u8>, u32), &str)> = vec![
        ("sanity: valid payload", string_payload(&minimal, &len_word, &graph, 0, 0), "opened fine"),
        ("non-minimal length varint", string_payload(&overlong, &len_word, &graph, 0, 0), "opened fine"),
        ("length checksum wrong", string_payload(&minimal, &len_word, &graph, 1, 0), "CHECKSUM_MISMATCH"),
        ("tensor checksum wrong", string_payload(&minimal, &len_word, &graph, 0, 4), "CHECKSUM_MISMATCH"),
        ("length 11-byte varint", string_payload(&[vec![0xff; 10], vec![0x01]].concat(), &len_word, &graph, 0, 0), "CORRUPT_DATA"),
        ("length never ends", (vec![0x80; 64], 0), "CORRUPT_DATA"),
        ("length past the body", string_payload(&[0xe8, 0x07], &1000u32.to_le_bytes(), &graph[..100], 0, 0), "CORRUPT_DATA"),
        ("length u64::MAX", string_payload(&[vec![0xff; 9], vec![0x01]].concat(), &u64::MAX.to_le_bytes(), &graph, 0, 0), "CORRUPT_DATA"),
        ("length 2^32 (hashed as u64)", string_payload(&[0x80, 0x80, 0x80, 0x80, 0x10], &(1u64 << 32).to_le_bytes(), &graph, 0, 0), "CORRUPT_DATA"),
        ("body longer than the length", string_payload(&[0x05], &5u32.to_le_bytes(), &graph, 0, 0), "CORRUPT_DATA"),
        ("no length checksum", (minimal.clone(), 0), "CORRUPT_DATA"),
        ("empty payload", (Vec::new(), 0), "CORRUPT_DATA"),
        ("valid payload, empty graph", string_payload(&[0], &0u32.to_le_bytes(), b"", 0, 0), "CORRUPT_OBJECT_GRAPH"),
    ];
    for (name, (payload, crc32c), expect) in cases {
        let dir = scratch.case(name);
        let prefix = payload_bundle(&dir, &payload, crc32c);
        runner.case(&format!("string payload: {name}"), one(expect), || open_and_walk(&prefix));
    }
}

/// Object graphs: node ids, cycles, chains, wire damage.
fn graph_cases(runner: &mut Runner, scratch: &Scratch) {
    let real = real_graph();
    let slot = |original, slot_node| TrackableObject {
        slot_variables: vec![SlotVariableReference { original_variable_node_id: original, slot_name: "m".into(), slot_variable_node_id: slot_node }],
        ..Default::default()
    };
    const CHAIN: usize = 100_000;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("no nodes", Vec::new(), "CORRUPT_OBJECT_GRAPH"),
        ("child id = node count", serialize(vec![node(vec![reference(1, "a")])]), "CORRUPT_OBJECT_GRAPH"),
        ("child id -1", serialize(vec![node(vec![reference(-1, "a")]), node(vec![])]), "CORRUPT_OBJECT_GRAPH"),
        ("child id i32::MAX", serialize(vec![node(vec![reference(i32::MAX, "a")])]), "CORRUPT_OBJECT_GRAPH"),
        ("child id i32::MIN", serialize(vec![node(vec![reference(i32::MIN, "a")])]), "CORRUPT_OBJECT_GRAPH"),
        ("slot variable id out of range", serialize(vec![slot(0, 5)]), "CORRUPT_OBJECT_GRAPH"),
        ("slot original id negative", serialize(vec![slot(-3, 0)]), "CORRUPT_OBJECT_GRAPH"),
        ("slot variables naming the root", serialize(vec![slot(0, 0)]), "opened fine"),
        ("root is its own child", serialize(vec![node(vec![reference(0, "root")])]), "opened fine"),
        ("every node its own child", serialize((0..100).map(|id| node(vec![reference(id, "me"), reference((id + 1) % 100, "next")])).collect()), "opened fine"),
        ("two-node cycle", serialize(vec![node(vec![reference(1, "a")]), node(vec![reference(0, "back"), reference(1, "self")])]), "opened fine"),
        ("unreachable nodes", serialize(vec![node(vec![]), node(vec![reference(2, "x")]), node(vec![reference(1, "y")])]), "opened fine"),
        (
            "chain of 100000 nodes",
            serialize((0..CHAIN).map(|id| node(vec![reference(((id + 1) % CHAIN) as i32, "n")])).collect()),
            "opened fine",
        ),
        ("one name 100000 times", serialize(vec![node((0..100_000).map(|id| reference(id % 2, "same")).collect()), node(vec![])]), "opened fine"),
        ("100000 children of the root", serialize(vec![node((0..100_000).map(|id| reference(id % 3, &id.to_string())).collect()), node(vec![]), node(vec![])]), "opened fine"),
        ("1000000 empty nodes", vec![0x0a, 0x00].repeat(1_000_000), "opened fine"),
        ("invalid UTF-8 name", vec![0x0a, 0x07, 0x0a, 0x05, 0x08, 0x00, 0x12, 0x01, 0xff], "CORRUPT_OBJECT_GRAPH"),
        ("invalid UTF-8 attribute", vec![0x0a, 0x05, 0x12, 0x03, 0x0a, 0x01, 0xc3], "CORRUPT_OBJECT_GRAPH"),
        ("node id as bytes", vec![0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x00], "CORRUPT_OBJECT_GRAPH"),
        ("node as a varint", vec![0x08, 0x01], "CORRUPT_OBJECT_GRAPH"),
        ("node length past the end", vec![0x0a, 0x05, 0x0a], "CORRUPT_OBJECT_GRAPH"),
        ("node length u64::MAX", [vec![0x0a], vec![0xff; 9], vec![0x01]].concat(), "CORRUPT_OBJECT_GRAPH"),
        ("11-byte varint tag", vec![0xff; 11], "CORRUPT_OBJECT_GRAPH"),
        ("field number 0", vec![0x00, 0x00], "CORRUPT_OBJECT_GRAPH"),
        ("group wire type", vec![0x0b, 0x0c], "CORRUPT_OBJECT_GRAPH"),
        ("wire type 7", vec![0x0f], "CORRUPT_OBJECT_GRAPH"),
        ("fixed64 cut short", vec![0x09, 0x00], "CORRUPT_OBJECT_GRAPH"),
        ("node id 2^32 (truncated to 0)", vec![0x0a, 0x0a, 0x0a, 0x08, 0x08, 0x80, 0x80, 0x80, 0x80, 0x10, 0x12, 0x00], "opened fine"),
        ("unknown fields everywhere", [real.clone(), vec![0xf8, 0x06, 0x01, 0x92, 0x07, 0x02, 0xff, 0xff]].concat(), "opened fine"),
        ("BoolValue of the wrong type", vec![0x0a, 0x04, 0x2a, 0x02, 0x0a, 0x00], "CORRUPT_OBJECT_GRAPH"),
        ("real graph cut by one byte", real[..real.len() - 1].to_vec(), "CORRUPT_OBJECT_GRAPH"),
    ];
    for (name, graph, expect) in cases {
        let dir = scratch.case(name);
        let prefix = graph_bundle(&dir, &graph);
        runner.case(&format!("graph: {name}"), one(expect), || open_and_walk(&prefix));
    }
}

/// Tensors that open fine and fail when read: checksums, bools, sizes, slices, shards.
fn tensor_cases(runner: &mut Runner, scratch: &Scratch) {
    type Craft = Box<dyn Fn(&mut BundleWriter)>;
    let floats = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let sliced = |dims: &[i64], slices: Vec<Vec<Extent>>| BundleEntryProto {
        slices: slices.into_iter().map(|extent| TensorSliceProto { extent }).collect(),
        ..entry(DataType::DtFloat, dims, 0, 0, 0, 0)
    };
    let halves = move |writer: &mut BundleWriter, first: Vec<Extent>, second: Vec<Extent>| {
        writer.add_entry(b"p", sliced(&[4], vec![first.clone(), second.clone()]));
    };
    let slice_key = |extents: &[(u64, Option<u64>)]| {
        let extents: Vec<ckview::format::SliceExtent> = extents.iter().map(|&(start, length)| ckview::format::SliceExtent { start, length }).collect();
        ckview::format::slice_key::slice_key(b"p", &extents)
    };
    let cases: Vec<(&str, Craft, &str)> = vec![
        ("sanity: a partitioned tensor in two halves", Box::new(move |w| {
            halves(w, vec![extent(0, Some(2))], vec![extent(2, Some(2))]);
            w.add_raw(&slice_key(&[(0, Some(2))]), DataType::DtFloat, &[2], &floats(&[1.0, 2.0])).unwrap();
            w.add_raw(&slice_key(&[(2, Some(2))]), DataType::DtFloat, &[2], &floats(&[3.0, 4.0])).unwrap();
        }), "opened fine"),
        ("float tensor checksum wrong", Box::new(|w| {
            w.add_raw(b"t", DataType::DtFloat, &[2], &[0; 8]).unwrap();
            w.add_entry(b"u", entry(DataType::DtFloat, &[], 0, 0, 4, 12345));
        }), "opened, read CHECKSUM_MISMATCH"),
        ("bool byte 2", Box::new(|w| w.add_raw(b"t", DataType::DtBool, &[3], &[0, 1, 2]).unwrap()), "opened, read CORRUPT_DATA"),
        ("numeric size not matching the shape", Box::new(|w| w.add_entry(b"t", entry(DataType::DtFloat, &[3], 0, 0, 8, 0))), "opened, read CORRUPT_ENTRY"),
        ("tensor in shard 5 of 1", Box::new(|w| w.add_entry(b"t", entry(DataType::DtFloat, &[], 5, 0, 4, 0))), "opened, read CORRUPT_ENTRY"),
        ("tensor past the shard", Box::new(|w| w.add_entry(b"t", entry(DataType::DtFloat, &[], 0, 1 << 40, 4, 0))), "opened, read CORRUPT_DATA"),
        ("string tensor, lengths not matching", Box::new(|w| {
            let (payload, checksum) = string_payload(&[5], &5u32.to_le_bytes(), b"ab", 0, 0);
            // The writer put the graph's payload and a_var's 4 bytes first.
            let base = encode_strings(&[&real_graph()], Endianness::Little).0.len() as i64 + 4;
            w.add_raw(b"t_raw", DataType::DtUint8, &[payload.len() as u64], &payload).unwrap();
            w.add_entry(b"u", entry(DataType::DtString, &[], 0, base, payload.len() as i64, checksum));
        }), "opened, read CORRUPT_DATA"),
        ("overlapping slices", Box::new(move |w| halves(w, vec![extent(0, Some(3))], vec![extent(2, Some(2))])), "opened, read CORRUPT_ENTRY"),
        ("slices leaving a hole", Box::new(move |w| halves(w, vec![extent(0, Some(1))], vec![extent(2, Some(2))])), "opened, read CORRUPT_ENTRY"),
        ("a slice missing", Box::new(move |w| halves(w, vec![extent(0, Some(2))], vec![extent(2, Some(2))])), "opened, read CORRUPT_ENTRY"),
        ("a slice of another dtype", Box::new(move |w| {
            halves(w, vec![extent(0, Some(2))], vec![extent(2, Some(2))]);
            w.add_raw(&slice_key(&[(0, Some(2))]), DataType::DtInt32, &[2], &[0; 8]).unwrap();
            w.add_raw(&slice_key(&[(2, Some(2))]), DataType::DtFloat, &[2], &[0; 8]).unwrap();
        }), "opened, read CORRUPT_ENTRY"),
        ("a slice of another shape", Box::new(move |w| {
            halves(w, vec![extent(0, Some(2))], vec![extent(2, Some(2))]);
            w.add_raw(&slice_key(&[(0, Some(2))]), DataType::DtFloat, &[1], &[0; 4]).unwrap();
            w.add_raw(&slice_key(&[(2, Some(2))]), DataType::DtFloat, &[2], &[0; 8]).unwrap();
        }), "opened, read CORRUPT_ENTRY"),
        ("a slice past the dimension", Box::new(move |w| halves(w, vec![extent(0, Some(2))], vec![extent(2, Some(3))])), "opened, read CORRUPT_ENTRY"),
        ("a slice starting at i64::MAX", Box::new(move |w| halves(w, vec![extent(i64::MAX, Some(i64::MAX))], vec![extent(0, None)])), "opened, read CORRUPT_ENTRY"),
        ("a negative slice start", Box::new(move |w| halves(w, vec![extent(-1, Some(2))], vec![extent(2, Some(2))])), "opened, read CORRUPT_ENTRY"),
        ("a negative slice length", Box::new(move |w| halves(w, vec![extent(0, Some(-2))], vec![extent(2, Some(2))])), "opened, read CORRUPT_ENTRY"),
        ("byte size past int64 (F3)", Box::new(|w| {
            w.add_entry(b"p", BundleEntryProto { slices: vec![TensorSliceProto { extent: vec![extent(0, None)] }], ..entry(DataType::DtFloat, &[(1 << 62) + 1], 0, 0, 0, 0) });
        }), "opened, read CORRUPT_ENTRY"),
        ("slice volumes summing past u64 (F3)", Box::new(|w| {
            let whole = || TensorSliceProto { extent: vec![extent(0, None)] };
            w.add_entry(b"p", BundleEntryProto { slices: vec![whole(), whole(), whole(), whole(), whole()], ..entry(DataType::DtInt8, &[1 << 62], 0, 0, 0, 0) });
        }), "opened, read CORRUPT_ENTRY"),
        ("4096 slices of rank 254 (F6)", Box::new(|w| {
            let mut dims = vec![1i64; 253];
            dims.push(4096);
            let slices = (0..4096)
                .map(|index| TensorSliceProto { extent: (0..253).map(|_| extent(0, None)).chain([extent(index, Some(1))]).collect() })
                .collect();
            w.add_entry(b"p", BundleEntryProto { slices, ..entry(DataType::DtFloat, &dims, 0, 0, 0, 0) });
        }), "opened, read CORRUPT_ENTRY"),
        ("4097 slices", Box::new(move |w| {
            w.add_entry(b"p", sliced(&[4097], (0..4097).map(|i| vec![extent(i, Some(1))]).collect()));
        }), "opened, read CORRUPT_ENTRY"),
        ("header says two shards, files named for one", Box::new(|w| {
            w.header_mut().num_shards = 2;
            w.add_entry(b"t", entry(DataType::DtFloat, &[], 1, 0, 4, 0));
        }), "IO_ERROR"),
    ];
    for (name, craft, expect) in cases {
        let dir = scratch.case(name);
        let prefix = crafted_bundle(&dir, |writer| craft(writer));
        runner.case(&format!("tensor: {name}"), one(expect), || open_and_walk(&prefix));
    }
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Missing, empty and misplaced files; directories and special files where files belong; state
/// files.
fn file_cases(runner: &mut Runner, scratch: &Scratch) {
    type Setup = Box<dyn Fn(&Path) -> PathBuf>;
    let valid = |dir: &Path| crafted_bundle(dir, |_| {});
    let cases: Vec<(&str, Setup, &str)> = vec![
        ("sanity: valid bundle", Box::new(move |d| valid(d)), "opened fine"),
        ("data shard missing", Box::new(move |d| { let p = valid(d); std::fs::remove_file(shard_name(&p, 0, 1)).unwrap(); p }), "IO_ERROR"),
        ("data shard empty", Box::new(move |d| { let p = valid(d); std::fs::write(shard_name(&p, 0, 1), b"").unwrap(); p }), "CORRUPT_DATA"),
        ("data shard a directory", Box::new(move |d| { let p = valid(d); let s = shard_name(&p, 0, 1); std::fs::remove_file(&s).unwrap(); std::fs::create_dir(&s).unwrap(); p }), "IO_ERROR"),
        ("data shard a symlink to /dev/null", Box::new(move |d| { let p = valid(d); let s = shard_name(&p, 0, 1); std::fs::remove_file(&s).unwrap(); std::os::unix::fs::symlink("/dev/null", &s).unwrap(); p }), "IO_ERROR"),
        ("data shard a dangling symlink", Box::new(move |d| { let p = valid(d); let s = shard_name(&p, 0, 1); std::fs::remove_file(&s).unwrap(); std::os::unix::fs::symlink(d.join("nowhere"), &s).unwrap(); p }), "IO_ERROR"),
        ("index empty", Box::new(move |d| { let p = valid(d); std::fs::write(index_name(&p), b"").unwrap(); p }), "NOT_A_TABLE"),
        ("index a directory", Box::new(move |d| { let p = valid(d); std::fs::remove_file(index_name(&p)).unwrap(); std::fs::create_dir(index_name(&p)).unwrap(); p }), "NOT_FOUND"),
        ("index a symlink loop", Box::new(move |d| { let p = valid(d); std::fs::remove_file(index_name(&p)).unwrap(); std::os::unix::fs::symlink(index_name(&p), index_name(&p)).unwrap(); p }), "NOT_FOUND"),
        ("index missing", Box::new(move |d| { let p = valid(d); std::fs::remove_file(index_name(&p)).unwrap(); p }), "NOT_FOUND"),
        ("nothing at the path", Box::new(|d| d.join("nothing")), "NOT_FOUND"),
        ("empty path", Box::new(|_| PathBuf::new()), "NOT_FOUND"),
        ("the .index as save_path", Box::new(move |d| index_name(&valid(d))), "opened fine"),
        ("the data shard as save_path", Box::new(move |d| shard_name(&valid(d), 0, 1)), "opened fine"),
        ("a directory without a state file", Box::new(move |d| { valid(d); d.to_path_buf() }), "NOT_FOUND"),
        ("a state file naming the checkpoint", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), "model_checkpoint_path: \"ck\"\n").unwrap(); d.to_path_buf() }), "opened fine"),
        ("a state file naming nothing", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), "model_checkpoint_path: \"gone\"\n").unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a state file of binary junk", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), [0xff, 0x00, 0x22, 0x5c]).unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a state file with an unterminated string", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), "model_checkpoint_path: \"ck").unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a state file with a bad octal escape", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), "model_checkpoint_path: \"\\777\"").unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a state file that is a directory", Box::new(move |d| { valid(d); std::fs::create_dir(d.join("checkpoint")).unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a V1 (single sstable) file", Box::new(|d| { let mut t = TableBuilder::default(); t.add(b"w", b"x"); std::fs::write(d.join("v1"), t.finish()).unwrap(); d.join("v1") }), "UNSUPPORTED"),
        ("data shard a FIFO (F4)", Box::new(move |d| { let p = valid(d); let s = shard_name(&p, 0, 1); std::fs::remove_file(&s).unwrap(); mkfifo(&s); p }), "IO_ERROR"),
        ("state file a FIFO (F4)", Box::new(move |d| { valid(d); mkfifo(&d.join("checkpoint")); d.to_path_buf() }), "NOT_FOUND"),
        ("save_path a FIFO (F4)", Box::new(|d| { mkfifo(&d.join("fifo")); d.join("fifo") }), "NOT_FOUND"),
        ("state file a symlink to /dev/zero (F5)", Box::new(move |d| { valid(d); std::os::unix::fs::symlink("/dev/zero", d.join("checkpoint")).unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("state file of 2 MiB", Box::new(move |d| { valid(d); std::fs::write(d.join("checkpoint"), format!("model_checkpoint_path: \"ck\"\n{}", "# padding\n".repeat(200_000))).unwrap(); d.to_path_buf() }), "NOT_FOUND"),
        ("a directory as save_path named like a prefix", Box::new(move |d| { valid(d); std::fs::create_dir(d.join("ck.data-00000-of-00001.d")).unwrap(); d.join("ck.data-00000-of-00001.d") }), "NOT_FOUND"),
    ];
    for (name, setup, expect) in cases {
        let dir = scratch.case(name);
        let save_path = setup(&dir);
        runner.case(&format!("files: {name}"), one(expect), || open_and_walk(&save_path));
    }
}

/// Peak resident memory of this process, in kB.
fn peak_rss_kb() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss
}

/// Runs every file case; returns the report and whether all passed.
fn run_file_cases(progress: Option<PathBuf>) -> (String, bool) {
    let scratch = Scratch::new("files");
    let mut runner = Runner::new(progress);
    let started = Instant::now();
    generated_cases(&mut runner, &scratch);
    table_cases(&mut runner, &scratch);
    entry_cases(&mut runner, &scratch);
    string_cases(&mut runner, &scratch);
    graph_cases(&mut runner, &scratch);
    tensor_cases(&mut runner, &scratch);
    file_cases(&mut runner, &scratch);
    let rss = peak_rss_kb();
    let mut report = runner.report();
    report += &format!("took {:.1?}; peak RSS {} MiB (bound {} MiB, address space capped at {} MiB)\n", started.elapsed(), rss / 1024, RSS_BOUND_KB / 1024, MEMORY_CAP >> 20);
    let ok = runner.panics.is_empty() && runner.failures.is_empty() && rss < RSS_BOUND_KB;
    (report, ok)
}

// ---------------------------------------------------------------------------------------------
// Child processes: the file cases run in one with a capped address space and a deadline

/// Runs the ignored test `test` of this binary in a child process with its address space capped
/// at `cap` bytes, killed after `deadline`. Returns (exited successfully, its stdout, its stderr,
/// whether it had to be killed).
fn run_capped_child(test: &str, cap: u64, deadline: Duration, progress: &Path) -> (bool, String, String, bool) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, progress)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: cap, rlim_max: cap };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("the test binary runs itself");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let start = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            killed = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), out_reader.join().unwrap(), err_reader.join().unwrap(), killed)
}

#[test]
fn malformed_files_end_in_statuses_within_bounds() {
    let scratch = Scratch::new("parent");
    let progress = scratch.root.join("progress");
    let (success, stdout, stderr, killed) = run_capped_child("suite_child_process", MEMORY_CAP, CHILD_DEADLINE, &progress);
    // libtest prints "test name ... " before the test's own output, on the same line.
    for line in stdout.lines().filter_map(|line| line.split_once(REPORT_PREFIX).map(|(_, text)| text)) {
        println!("{line}");
    }
    let last_case = std::fs::read_to_string(&progress).unwrap_or_default();
    assert!(!killed, "the suite ran past {CHILD_DEADLINE:?}; last case started: {last_case}");
    assert!(
        success,
        "the suite's child process failed (a panic that escaped, an abort on a hang, or an allocation past the {} MiB cap); \
         last case started: {last_case}\nstderr:\n{}",
        MEMORY_CAP >> 20,
        stderr.chars().rev().take(4000).collect::<String>().chars().rev().collect::<String>()
    );
}

#[test]
#[ignore = "the body of malformed_files_end_in_statuses_within_bounds, which runs it in a memory-capped child process"]
fn suite_child_process() {
    let progress = std::env::var_os(CHILD_ENV).map(PathBuf::from);
    let (report, ok) = run_file_cases(progress);
    for line in report.lines() {
        println!("{REPORT_PREFIX}{line}");
    }
    assert!(ok, "the malformed suite failed:\n{report}");
}

// ---------------------------------------------------------------------------------------------
// The C ABI: callbacks that misbehave, concurrency

/// A view opened through the C ABI, freed on drop; shareable between threads (the header says
/// a view may be used by any number of threads at once).
struct CView(*mut ckview_view);

unsafe impl Send for CView {}
unsafe impl Sync for CView {}

impl CView {
    fn open(prefix: &Path) -> CView {
        let path = CString::new(prefix.as_os_str().as_bytes()).unwrap();
        let mut view = null_mut();
        let mut error = null_mut();
        let status = unsafe { ckview_open(path.as_ptr(), &mut view, &mut error) };
        assert_eq!(status, ckview_status::CKVIEW_OK, "{}", unsafe { CStr::from_ptr(ckview_error_message(error)) }.to_string_lossy());
        CView(view)
    }
}

impl Drop for CView {
    fn drop(&mut self) {
        unsafe { ckview_close(self.0) };
    }
}

/// A live graph mirroring a checkpoint: object `i` is node `i` with the same named children.
struct Mirror {
    children: Vec<Vec<(Vec<u8>, u64)>>,
}

impl Mirror {
    fn of(prefix: &Path) -> Mirror {
        let view = CheckpointView::open(prefix).unwrap();
        let children = (0..view.num_nodes() as u32)
            .map(|node| view.children(node).unwrap().iter().map(|(name, child)| (name.as_bytes().to_vec(), u64::from(child))).collect())
            .collect();
        Mirror { children }
    }

    unsafe fn report(&self, object: u64, sink: *mut ckview_child_sink) {
        for (name, child) in self.children.get(object as usize).map(Vec::as_slice).unwrap_or_default() {
            let status = unsafe { ckview_child_sink_add(sink, name.as_ptr().cast(), name.len(), *child) };
            assert_eq!(status, ckview_status::CKVIEW_OK);
        }
    }
}

unsafe extern "C" fn mirror_children(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
    unsafe { (*(userdata as *const Mirror)).report(object, sink) };
    0
}

/// A match or diff result copied out of the C ABI.
#[derive(Debug, PartialEq, Eq)]
struct Result3 {
    matched: Vec<(u32, u64)>,
    only_in_checkpoint: Vec<u32>,
    only_in_live: Vec<u64>,
    conflicts: Vec<(u32, u64, u64)>,
}

/// Calls one of the functions that lend an array of the view, and the array it lent (empty on
/// failure). The array lives as long as the view; the caller keeps it no longer.
unsafe fn lent<'v, T>(call: impl FnOnce(*mut *const T, *mut usize) -> ckview_status) -> (ckview_status, &'v [T]) {
    let (mut items, mut count) = (std::ptr::null(), 0usize);
    let status = call(&mut items, &mut count);
    if status != ckview_status::CKVIEW_OK || count == 0 {
        return (status, &[]);
    }
    (status, unsafe { std::slice::from_raw_parts(items, count) })
}

/// Runs ckview_diff (or _match) and copies the result, or returns the status, the
/// callback code and the message.
unsafe fn compare_c(
    view: *const ckview_view,
    root: u64,
    callback: ckview_children_callback,
    userdata: *mut c_void,
    diff: bool,
) -> Result<Result3, (ckview_status, i32, String)> {
    let mut comparison = null_mut();
    let mut error = null_mut();
    type Compare = unsafe extern "C" fn(*const ckview_view, u64, ckview_children_callback, *mut c_void, *mut *mut ckview_comparison, *mut *mut ckview_error) -> ckview_status;
    let run: Compare = if diff { ckview_diff } else { ckview_match };
    let status = unsafe { run(view, root, callback, userdata, &mut comparison, &mut error) };
    if status != ckview_status::CKVIEW_OK {
        assert!(comparison.is_null(), "comparison_out written on failure");
        let failure = unsafe {
            (
                status,
                ckview_error_callback_code(error),
                CStr::from_ptr(ckview_error_message(error)).to_string_lossy().into_owned(),
            )
        };
        ckview_error_free(error);
        return Err(failure);
    }
    unsafe fn list<T: Copy>(comparison: *const ckview_comparison, get: unsafe extern "C" fn(*const ckview_comparison, *mut *const T, *mut usize) -> ckview_status) -> Vec<T> {
        let (mut items, mut count) = (null(), 0usize);
        assert_eq!(unsafe { get(comparison, &mut items, &mut count) }, ckview_status::CKVIEW_OK);
        if count == 0 {
            return Vec::new();
        }
        unsafe { std::slice::from_raw_parts(items, count) }.to_vec()
    }
    let result = unsafe {
        Result3 {
            matched: list(comparison, ckview_comparison_matched).iter().map(|p| (p.node_id, p.object)).collect(),
            only_in_checkpoint: list(comparison, ckview_comparison_only_in_checkpoint),
            only_in_live: list(comparison, ckview_comparison_only_in_live),
            conflicts: list(comparison, ckview_comparison_conflicts).iter().map(|c| (c.node_id, c.matched_object, c.other_object)).collect(),
        }
    };
    unsafe { ckview_comparison_free(comparison) };
    Ok(result)
}

/// A callback that reports an object's mirror children, then fails on `fail_on`.
struct Failing {
    mirror: Mirror,
    fail_on: u64,
    code: i32,
    calls: Cell<usize>,
}

unsafe extern "C" fn failing_children(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
    let failing = unsafe { &*(userdata as *const Failing) };
    failing.calls.set(failing.calls.get() + 1);
    unsafe { failing.mirror.report(object, sink) };
    if object == failing.fail_on {
        failing.code
    } else {
        0
    }
}

#[test]
fn callback_errors_stop_match_and_diff_with_their_code() {
    let prefix = doc_prefix();
    let view = CView::open(&prefix);
    for (fail_on, code) in [(0u64, 7), (3, -1), (4, i32::MIN), (1, i32::MAX)] {
        for diff in [false, true] {
            let failing = Failing { mirror: Mirror::of(&prefix), fail_on, code, calls: Cell::new(0) };
            let result = unsafe { compare_c(view.0, 0, Some(failing_children), &failing as *const Failing as *mut c_void, diff) };
            let (status, callback_code, message) = result.expect_err("a failing callback fails the call");
            assert_eq!(status, ckview_status::CKVIEW_CALLBACK_FAILED);
            assert_eq!(callback_code, code);
            assert!(message.contains(&code.to_string()) && message.contains(&fail_on.to_string()), "{message}");
        }
    }
    // A NULL callback, a NULL sink, a NULL name with a length.
    let mut comparison = null_mut();
    let status = unsafe { ckview_diff(view.0, 0, None, null_mut(), &mut comparison, null_mut()) };
    assert_eq!(status, ckview_status::CKVIEW_INVALID_ARGUMENT);
    assert_eq!(unsafe { ckview_child_sink_add(null_mut(), c"a".as_ptr(), 1, 1) }, ckview_status::CKVIEW_INVALID_ARGUMENT);
    unsafe extern "C" fn null_name(userdata: *mut c_void, _: u64, sink: *mut ckview_child_sink) -> i32 {
        let status = unsafe { ckview_child_sink_add(sink, null(), 5, 1) };
        unsafe { *(userdata as *mut ckview_status) = status };
        status as i32
    }
    let mut seen = ckview_status::CKVIEW_OK;
    let result = unsafe { compare_c(view.0, 0, Some(null_name), &mut seen as *mut ckview_status as *mut c_void, true) };
    assert_eq!(seen, ckview_status::CKVIEW_INVALID_ARGUMENT);
    assert_eq!(result.unwrap_err().0, ckview_status::CKVIEW_CALLBACK_FAILED);
}

#[test]
fn callbacks_with_odd_children_terminate_with_tensorflow_semantics() {
    let prefix = doc_prefix();
    let view = CView::open(&prefix);
    let mirror = Mirror::of(&prefix);
    let baseline = unsafe { compare_c(view.0, 0, Some(mirror_children), &mirror as *const Mirror as *mut c_void, true) }.unwrap();
    assert!(baseline.only_in_checkpoint.is_empty() && baseline.only_in_live.is_empty());

    // Names that are not UTF-8 (or hold NUL) never match a checkpoint name, and are not lost.
    unsafe extern "C" fn odd_names(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
        unsafe { (*(userdata as *const Mirror)).report(object, sink) };
        if object == 0 {
            for (index, name) in [&b"\xff\xfe"[..], b"a_var\0", b"\xc3", b""].iter().enumerate() {
                unsafe { ckview_child_sink_add(sink, name.as_ptr().cast(), name.len(), 1000 + index as u64) };
            }
        }
        0
    }
    let odd = unsafe { compare_c(view.0, 0, Some(odd_names), &mirror as *const Mirror as *mut c_void, true) }.unwrap();
    assert_eq!(odd.matched, baseline.matched);
    assert_eq!(odd.only_in_live, vec![1000, 1001, 1002, 1003]);

    // A callback that never reports a child: only the root matches.
    unsafe extern "C" fn silent(_: *mut c_void, _: u64, _: *mut ckview_child_sink) -> i32 {
        0
    }
    let lonely = unsafe { compare_c(view.0, 42, Some(silent), null_mut(), true) }.unwrap();
    assert_eq!(lonely.matched, vec![(0, 42)]);
    let descendants = CheckpointView::open(&prefix).unwrap().descendants()[1..].to_vec();
    assert_eq!(lonely.only_in_checkpoint, descendants);
    assert!(lonely.only_in_live.is_empty());

    // A million children of the root: all unmatched, each listed once.
    unsafe extern "C" fn million(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
        unsafe { (*(userdata as *const Mirror)).report(object, sink) };
        if object == 0 {
            let mut name = Vec::with_capacity(16);
            for index in 0..1_000_000u64 {
                name.clear();
                name.extend_from_slice(b"extra_");
                name.extend_from_slice(index.to_string().as_bytes());
                unsafe { ckview_child_sink_add(sink, name.as_ptr().cast(), name.len(), 1_000_000 + index) };
            }
        }
        0
    }
    let start = Instant::now();
    let wide = unsafe { compare_c(view.0, 0, Some(million), &mirror as *const Mirror as *mut c_void, true) }.unwrap();
    assert_eq!(wide.matched, baseline.matched);
    assert_eq!(wide.only_in_live.len(), 1_000_000);
    assert!(start.elapsed() < Duration::from_secs(60), "a million children took {:?}", start.elapsed());

    // The same child under a hundred thousand names, and one name given many times (the last wins).
    unsafe extern "C" fn aliases(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
        if object == 0 {
            for index in 0..100_000u32 {
                let name = format!("alias{index}");
                unsafe { ckview_child_sink_add(sink, name.as_ptr().cast(), name.len(), 77) };
            }
            for child in [9u64, 8, 7] {
                unsafe { ckview_child_sink_add(sink, c"vars".as_ptr(), 4, child) };
            }
        }
        unsafe { (*(userdata as *const Mirror)).report(object, sink) };
        0
    }
    let aliased = unsafe { compare_c(view.0, 0, Some(aliases), &mirror as *const Mirror as *mut c_void, true) }.unwrap();
    assert_eq!(aliased.only_in_live.iter().filter(|&&object| object == 77).count(), 1);
    assert!(!aliased.only_in_live.contains(&9) && !aliased.only_in_live.contains(&7));

    // A live graph that is one long chain, and one where every object is its own child.
    unsafe extern "C" fn chain(_: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
        if object < 200_000 {
            unsafe { ckview_child_sink_add(sink, c"next".as_ptr(), 4, object + 1) };
            unsafe { ckview_child_sink_add(sink, c"me".as_ptr(), 2, object) };
        }
        0
    }
    let long = unsafe { compare_c(view.0, 0, Some(chain), null_mut(), true) }.unwrap();
    assert_eq!(long.only_in_live.len(), 200_000);
}

/// Calls back into the library from inside the callback: counts, and a whole nested match.
struct Reentrant {
    view: *const ckview_view,
    mirror: Mirror,
    nested: Cell<usize>,
}

unsafe extern "C" fn reentrant_children(userdata: *mut c_void, object: u64, sink: *mut ckview_child_sink) -> i32 {
    let state = unsafe { &*(userdata as *const Reentrant) };
    let (status, children) = unsafe { lent(|items, count| ckview_children(state.view, 0, items, count)) };
    if status != ckview_status::CKVIEW_OK || children.len() != state.mirror.children[0].len() {
        return 91;
    }
    if object <= 1 {
        let mirror = &state.mirror as *const Mirror as *mut c_void;
        let Ok(nested) = (unsafe { compare_c(state.view, 0, Some(mirror_children), mirror, object == 1) }) else { return 92 };
        if nested.matched.first() != Some(&(0, 0)) {
            return 93;
        }
        state.nested.set(state.nested.get() + 1);
    }
    unsafe { state.mirror.report(object, sink) };
    0
}

#[test]
fn callbacks_may_call_back_into_the_same_view() {
    let prefix = doc_prefix();
    let view = CView::open(&prefix);
    let state = Reentrant { view: view.0, mirror: Mirror::of(&prefix), nested: Cell::new(0) };
    let expected = unsafe { compare_c(view.0, 0, Some(mirror_children), &state.mirror as *const Mirror as *mut c_void, true) }.unwrap();
    for diff in [false, true] {
        state.nested.set(0);
        let result = unsafe { compare_c(view.0, 0, Some(reentrant_children), &state as *const Reentrant as *mut c_void, diff) };
        let result = result.unwrap_or_else(|failure| panic!("re-entrant callback failed: {failure:?}"));
        assert_eq!(result.matched, expected.matched);
        assert_eq!(state.nested.get(), 2, "objects 0 and 1 each ran a nested match");
    }
}

/// Everything a read-only caller can ask of a view through the C ABI, as one comparable value.
unsafe fn fingerprint(view: *const ckview_view) -> Vec<u64> {
    use ckview_status::CKVIEW_OK;
    let mut out = Vec::new();
    let text = |s: ckview_str| -> u64 {
        let bytes = if s.len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) } };
        u64::from(crc::crc32c(bytes)) << 8 | s.len as u64 & 0xff
    };
    let mut nodes = 0usize;
    assert_eq!(unsafe { ckview_node_count(view, &mut nodes) }, CKVIEW_OK);
    out.push(nodes as u64);
    let (mut ids, mut count) = (null(), 0usize);
    assert_eq!(unsafe { ckview_descendants(view, &mut ids, &mut count) }, CKVIEW_OK);
    out.extend(unsafe { std::slice::from_raw_parts(ids, count) }.iter().map(|&id| u64::from(id)));
    for node in 0..nodes as u32 + 1 {
        let (status, children) = unsafe { lent(|items, count| ckview_children(view, node, items, count)) };
        out.push(status as u64);
        out.extend(children.iter().flat_map(|child| [text(child.name), u64::from(child.node_id)]));
        let mut buffer = [0 as std::ffi::c_char; 256];
        let mut length = 0usize;
        out.push(unsafe { ckview_path(view, node, buffer.as_mut_ptr(), buffer.len(), &mut length) } as u64);
        out.push(length as u64);
        let (status, attributes) = unsafe { lent(|items, count| ckview_attributes(view, node, items, count)) };
        out.push(status as u64);
        out.extend(attributes.iter().flat_map(|a| [text(a.name), text(a.full_name), text(a.checkpoint_key)]));
        let (status, slots) = unsafe { lent(|items, count| ckview_slot_variables(view, node, items, count)) };
        out.push(status as u64);
        out.extend(slots.iter().flat_map(|slot| [u64::from(slot.original_variable_node_id), text(slot.slot_name), u64::from(slot.slot_variable_node_id)]));
        let (status, variable_slots) = unsafe { lent(|items, count| ckview_variable_slots(view, node, items, count)) };
        out.push(status as u64);
        out.extend(variable_slots.iter().flat_map(|slot| [text(slot.slot_name), u64::from(slot.optimizer_node_id), u64::from(slot.slot_node_id)]));
        let mut present = false;
        let empty = ckview_str { ptr: null(), len: 0 };
        let mut saver = ckview_registered_saver { name: empty, object_name: empty };
        out.push(unsafe { ckview_saver(view, node, &mut present, &mut saver) } as u64);
        out.push(u64::from(present));
        let mut flag = ckview_optional_bool::CKVIEW_UNSET;
        out.push(unsafe { ckview_has_checkpoint_values(view, node, &mut flag) } as u64);
        out.push(flag as u64);
    }
    // Every tensor: metadata, and its value or strings.
    let mut reader = null();
    assert_eq!(unsafe { ckview_reader_of_view(view, &mut reader) }, CKVIEW_OK);
    let mut list = null_mut();
    assert_eq!(unsafe { ckview_reader_list(reader, &mut list, null_mut()) }, CKVIEW_OK);
    let mut tensors = 0usize;
    assert_eq!(unsafe { ckview_tensor_list_count(list, &mut tensors) }, CKVIEW_OK);
    for index in 0..tensors {
        let mut tensor = null();
        assert_eq!(unsafe { ckview_tensor_list_get(list, index, &mut tensor) }, CKVIEW_OK);
        let (mut dtype, mut size) = (0i32, 0u64);
        assert_eq!(unsafe { ckview_tensor_dtype(tensor, &mut dtype) }, CKVIEW_OK);
        assert_eq!(unsafe { ckview_tensor_size_bytes(tensor, &mut size) }, CKVIEW_OK);
        out.extend([dtype as u64, size]);
        if dtype == DataType::DtString as i32 {
            let mut strings = null_mut();
            out.push(unsafe { ckview_tensor_read_strings(tensor, &mut strings, null_mut()) } as u64);
            let mut count = 0usize;
            unsafe { ckview_string_list_count(strings, &mut count) };
            out.push(count as u64);
            unsafe { ckview_string_list_free(strings) };
        } else if size <= 1 << 20 {
            let mut buffer = vec![0u8; size as usize];
            out.push(unsafe { ckview_tensor_read(tensor, buffer.as_mut_ptr().cast(), buffer.len(), 0, null_mut()) } as u64);
            out.push(u64::from(crc::crc32c(&buffer)));
        }
    }
    unsafe { ckview_tensor_list_free(list) };
    out
}

#[test]
fn many_threads_share_one_view() {
    const THREADS: usize = 8;
    for (folder, name) in [("keras_adam", "model"), ("doc_children", "tf_ckpts-1"), ("cycles_and_shared", "graph"), ("sharded", "sharded")] {
        let prefix = fixture_prefix(folder, name);
        let view = Arc::new(CView::open(&prefix));
        let expected = Arc::new(unsafe { fingerprint(view.0) });
        let mirror = Arc::new(Mirror::of(&prefix));
        let expected_diff =
            Arc::new(unsafe { compare_c(view.0, 0, Some(mirror_children), Arc::as_ptr(&mirror) as *mut c_void, true) }.unwrap());
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (view, expected, mirror, expected_diff) = (Arc::clone(&view), Arc::clone(&expected), Arc::clone(&mirror), Arc::clone(&expected_diff));
                std::thread::spawn(move || {
                    for round in 0..10 {
                        if (thread + round) % 2 == 0 {
                            assert_eq!(unsafe { fingerprint(view.0) }, *expected, "thread {thread} round {round}");
                        } else {
                            let userdata = Arc::as_ptr(&mirror) as *mut c_void;
                            let diff = unsafe { compare_c(view.0, 0, Some(mirror_children), userdata, true) }.unwrap();
                            assert_eq!(diff, *expected_diff);
                            let matched = unsafe { compare_c(view.0, 0, Some(mirror_children), userdata, false) }.unwrap();
                            assert_eq!(matched.matched, expected_diff.matched);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a thread sharing the view failed");
        }
    }
}

#[test]
fn match_and_diff_in_parallel_on_one_rust_view() {
    let view = Arc::new(CheckpointView::open(fixture_prefix("keras_adam", "model")).unwrap());
    let other = Arc::new(CheckpointView::open(doc_prefix()).unwrap());
    let expected = view.diff_checkpoint(&other);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (view, other, expected) = (Arc::clone(&view), Arc::clone(&other), expected.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(view.diff_checkpoint(&other), expected);
                    let itself = view.diff_checkpoint(&view);
                    assert!(itself.conflicts.is_empty() && itself.matched.iter().all(|p| u64::from(p.node_id) == p.object));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Findings: bugs this suite and the fuzz targets' review found. F1-F6 were fixed in commit
// 5b522fc and their tests are regression tests now; `finding_*` tests are open findings,
// ignored so that CI stays green until the fix lands.

/// Opens `prefix` with panics caught: `Err(message)` for a panic.
fn open_catching(save_path: &Path) -> Result<Result<(), ckview_status>, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(|| CheckpointView::open(save_path).map(|_| ()).map_err(|error| ckview_status::from(&error)));
    std::panic::set_hook(previous);
    result.map_err(|payload| {
        payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default()
    })
}

/// Fixed in 5b522fc. F1 (src/format/table.rs, `Block::seek`/`restart_key`): a data block with an empty entry
/// region but two or more restart points passes `Block::parse` (which checks entries only when
/// there are some), and the binary search of `seek` then decodes an entry that does not exist:
/// `expect("checked by parse")` panics. `Table::get` of the header reaches it from
/// `CheckpointView::open`.
#[test]
fn regression_f1_empty_block_with_two_restarts() {
    let scratch = Scratch::new("f1");
    let dir = scratch.case("f1");
    let plan = TablePlan { blocks: vec![(b"\xff".to_vec(), block(&[], &[0, 0]))], ..Default::default() };
    let prefix = with_real_data(&dir, &plan.build());
    assert_eq!(open_catching(&prefix), Ok(Err(ckview_status::CKVIEW_CORRUPT_TABLE)));
}

/// Fixed in 5b522fc. F2 (src/graph/mod.rs `ObjectGraph::load`, src/format/bundle.rs `Bundle::shard`): an object
/// graph entry that carries `slices` skips `TensorEntry::decode`'s shard-id check (done only for
/// unsliced entries), and `load` reads it anyway: `self.shards[shard_id]` panics out of bounds.
#[test]
fn regression_f2_sliced_graph_entry_with_bad_shard() {
    let scratch = Scratch::new("f2");
    let dir = scratch.case("f2");
    let prefix = crafted_bundle(&dir, |writer| {
        writer.add_entry(
            OBJECT_GRAPH_KEY,
            BundleEntryProto { slices: vec![TensorSliceProto { extent: vec![] }], ..entry(DataType::DtString, &[], 7, 0, 4, 0) },
        )
    });
    let result = open_catching(&prefix);
    assert!(matches!(result, Ok(Err(ckview_status::CKVIEW_CORRUPT_OBJECT_GRAPH | ckview_status::CKVIEW_CORRUPT_ENTRY))), "{result:?}");
}

/// Fixed in 5b522fc. F3 (src/format/entry.rs `TensorEntry::decode`, src/format/values.rs): the byte size
/// `elements * element size` is checked only for unsliced entries, and the slices' volumes are
/// added without a check. For a partitioned float tensor of shape [2^62 + 1],
/// `read_value` multiplies first and overflows (`num_elements() * width`); for shape [2^62] in
/// four whole-tensor slices, `pieces` (behind `value_size`, `size_bytes` and
/// `ckview_tensor_size_bytes`) overflows summing the volumes. Builds with overflow checks (debug,
/// the fuzz targets) panic, `CKVIEW_INTERNAL_ERROR` through the C ABI; release builds wrap and
/// happen to fail later with `CORRUPT_ENTRY`.
#[test]
fn regression_f3_partitioned_tensor_sizes_overflow() {
    let scratch = Scratch::new("f3");
    let dir = scratch.case("f3");
    let whole = || TensorSliceProto { extent: vec![extent(0, None)] };
    let prefix = crafted_bundle(&dir, |writer| {
        writer.add_entry(b"odd", BundleEntryProto { slices: vec![whole()], ..entry(DataType::DtFloat, &[(1 << 62) + 1], 0, 0, 0, 0) });
        writer.add_entry(b"four", BundleEntryProto { slices: vec![whole(), whole(), whole(), whole()], ..entry(DataType::DtFloat, &[1 << 62], 0, 0, 0, 0) });
    });
    let bundle = Bundle::open(&prefix).unwrap();
    // Refused when the entry is decoded, or when its size is asked or it is read: a status either way.
    for key in [&b"odd"[..], b"four"] {
        let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), FormatError> {
            let found = bundle.entry(key)?.expect("the entry exists");
            bundle.value_size(key, &found)?;
            bundle.read_value(key, &found, &mut [0u8; 16], Verify::Checksums)
        }));
        let label = String::from_utf8_lossy(key);
        assert!(matches!(outcome, Ok(Err(_))), "tensor {label} must fail with a status, got {:?}", outcome.map(|r| r.map_err(|e| e.to_string())));
    }
}

/// Fixed in 5b522fc. F4 (src/format/mapped.rs `MappedFile::open`, src/format/locate.rs `latest_in_state_file`):
/// files are opened with a plain blocking `open(2)` before their type is checked, so a FIFO in
/// place of the data shard (or of the `checkpoint` state file, or given as save_path) blocks
/// `ckview_open` forever. A checkpoint unpacked from an untrusted archive can hold a FIFO.
#[test]
fn regression_f4_fifo_in_a_checkpoint() {
    let scratch = Scratch::new("f4");
    let progress = scratch.root.join("progress");
    let (success, _, stderr, killed) = run_capped_child("fifo_child", MEMORY_CAP, Duration::from_secs(20), &progress);
    assert!(!killed, "opening a checkpoint with a FIFO blocked for 20 s; stuck in: {}", std::fs::read_to_string(&progress).unwrap_or_default());
    assert!(success, "{stderr}");
}

#[test]
#[ignore = "run by regression_f4_fifo_in_a_checkpoint in a child process it can kill"]
fn fifo_child() {
    let progress = PathBuf::from(std::env::var_os(CHILD_ENV).unwrap_or_default());
    let scratch = Scratch::new("fifo");
    let cases: [(&str, Box<dyn Fn(&Path) -> PathBuf>); 3] = [
        ("data shard", Box::new(|d: &Path| { let p = crafted_bundle(d, |_| {}); let s = shard_name(&p, 0, 1); std::fs::remove_file(&s).unwrap(); mkfifo(&s); p })),
        ("state file", Box::new(|d: &Path| { crafted_bundle(d, |_| {}); mkfifo(&d.join("checkpoint")); d.to_path_buf() })),
        ("save_path", Box::new(|d: &Path| { let p = d.join("v1"); mkfifo(&p); p })),
    ];
    for (name, setup) in cases {
        let _ = std::fs::write(&progress, format!("a FIFO as the {name}"));
        let save_path = setup(&scratch.case(name));
        assert!(CheckpointView::open(&save_path).is_err());
    }
}

/// Fixed in 5b522fc. F5 (src/format/locate.rs `latest_in_state_file`): the `checkpoint` state file is read whole
/// with `std::fs::read`, without checking that it is a regular file or bounding its size: when
/// it is a symlink to /dev/zero, `ckview_open(dir)` allocates until the allocator fails (in a
/// process capped at 1 GiB: about 1 GiB, then `NOT_FOUND`; uncapped: the machine's memory).
#[test]
fn regression_f5_state_file_symlinked_to_dev_zero() {
    let scratch = Scratch::new("f5");
    let progress = scratch.root.join("progress");
    let (success, _, stderr, killed) = run_capped_child("dev_zero_child", 1 << 30, Duration::from_secs(60), &progress);
    assert!(!killed && success, "opening a folder whose state file is /dev/zero used too much memory or time (killed: {killed}):\n{stderr}");
}

#[test]
#[ignore = "run by regression_f5_state_file_symlinked_to_dev_zero in a capped child"]
fn dev_zero_child() {
    let scratch = Scratch::new("zero");
    let dir = scratch.case("zero");
    crafted_bundle(&dir, |_| {});
    std::os::unix::fs::symlink("/dev/zero", dir.join("checkpoint")).unwrap();
    let before = peak_rss_kb();
    assert!(CheckpointView::open(&dir).is_err());
    let grown = peak_rss_kb() - before;
    assert!(grown < 64 << 10, "reading a state file grew the peak RSS by {} MiB", grown >> 10);
}

/// Fixed in 5b522fc. F6 (src/format/values.rs `pieces` / `pairwise_disjoint`): the overlap check of a partitioned
/// tensor compares every pair of slices over every dimension, up to 4096²/2 pairs × 254
/// dimensions, about 2·10⁹ steps, on every `value_size`, `size_bytes` and `read_value` of the
/// tensor. A 2 MB index entry (4096 slices of a rank-254 tensor, differing only in the last
/// dimension) costs 2.5 s of CPU per call in a release build (over a minute in debug).
#[test]
fn regression_f6_many_slices_of_high_rank() {
    let scratch = Scratch::new("f6");
    let dir = scratch.case("f6");
    let mut dims = vec![1i64; 253];
    dims.push(4096);
    let slices: Vec<TensorSliceProto> = (0..4096)
        .map(|index| {
            let mut extents: Vec<Extent> = (0..253).map(|_| extent(0, None)).collect();
            extents.push(extent(index, Some(1)));
            TensorSliceProto { extent: extents }
        })
        .collect();
    let prefix = crafted_bundle(&dir, |writer| writer.add_entry(b"p", BundleEntryProto { slices, ..entry(DataType::DtFloat, &dims, 0, 0, 0, 0) }));
    let bundle = Bundle::open(&prefix).unwrap();
    let found = bundle.entry(b"p").unwrap().unwrap();
    let start = Instant::now();
    assert!(bundle.value_size(b"p", &found).is_err(), "the slices are missing");
    assert!(start.elapsed() < Duration::from_millis(500), "one value_size took {:?}", start.elapsed());
}

/// F7 (src/format/table.rs `Table::for_each`): a key must also sort after the previous block's
/// index separator (the separator bounds every key of its block from above and every later key
/// from below). `for_each` checks keys against their own block's separator and the previous
/// block's last key only, so a table whose first separator is too large scans cleanly while
/// `get` (which picks the block by separator) cannot find the keys of the second block:
/// `tensors()` and `ckview_reader_list` list tensors that `entry()` and `ckview_reader_find`
/// report as missing, instead of `CORRUPT_TABLE`.
#[test]
fn finding_keys_below_the_previous_separator_are_listed_but_not_found() {
    let scratch = Scratch::new("f7");
    let dir = scratch.case("f7");
    let entries = real_entries();
    let last_key = entries.last().unwrap().0.clone();
    let plan = TablePlan {
        blocks: vec![(last_key.clone(), valid_block(&entries[..2], 16)), ([last_key, vec![0xff]].concat(), valid_block(&entries[2..], 16))],
        ..Default::default()
    };
    let prefix = with_real_data(&dir, &plan.build());
    let bundle = Bundle::open(&prefix).expect("header and graph are in the first block");
    if let Ok(tensors) = bundle.tensors() {
        for (key, _) in tensors {
            let found = bundle.entry(&key).map(|entry| entry.is_some());
            assert!(matches!(found, Ok(true)), "{:?} is listed but entry() gives {found:?}", String::from_utf8_lossy(&key));
        }
    }
}
