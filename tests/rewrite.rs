//! `ckview::rewrite` on checkpoints TensorFlow wrote: TensorFlow 2.21 (`.venv/bin/python`)
//! restores every output into a fresh model with `assert_existing_objects_matched()` and the same
//! weights, reads TF1 outputs with `tf.train.load_checkpoint`; every kept tensor is the source's
//! bytes; and a failure leaves nothing behind.

mod common;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use ckview::format::{Bundle, DataType, FormatError, TensorEntry};
use ckview::io::{LocalStorage, RandomAccess, Storage};
use ckview::rewrite::{rewrite, RewriteError, RewriteOptions};
use ckview::CheckpointView;
use common::fixture_dir;
use serde_json::{json, Value};

/// A fresh, empty folder for one test's outputs.
fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-rewrite-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The adam_trained fixture's checkpoints (tests/fixtures/adam_models.py).
fn adam(kind: &str) -> PathBuf {
    let folder = fixture_dir("adam_trained").join(kind);
    if kind == "tf1" {
        folder.join("model.ckpt")
    } else {
        folder.join("ckpt-1")
    }
}

fn options(drop_slots: bool, drop: &[&str], select: &[&str]) -> RewriteOptions {
    RewriteOptions { drop_slots, drop: drop.iter().map(|s| s.to_string()).collect(), select: select.iter().map(|s| s.to_string()).collect() }
}

/// Every tensor of a bundle (slices included) with its entry and stored bytes.
fn stored(bundle: &Bundle) -> BTreeMap<Vec<u8>, (TensorEntry, Vec<u8>)> {
    let mut all = BTreeMap::new();
    let mut raw = Vec::new();
    bundle.table().for_each(|key, value| {
        raw.push((key.to_vec(), value.to_vec()));
        Ok(())
    })
    .unwrap();
    for (key, value) in raw.into_iter().filter(|(key, _)| !key.is_empty()) {
        let entry = bundle.decode_entry(&key, &value).unwrap();
        let bytes = if entry.slices.is_empty() { bundle.read_stored(&key, &entry).unwrap() } else { Vec::new() };
        all.insert(key, (entry, bytes));
    }
    all
}

/// The full_name of each attribute key of a checkpoint's object graph (none for TF1).
fn full_names(bundle: &Bundle) -> BTreeMap<Vec<u8>, String> {
    let Ok(graph) = ckview::ObjectGraph::load(bundle) else { return BTreeMap::new() };
    (0..graph.num_nodes() as u32)
        .flat_map(|node| graph.attributes(node).unwrap().map(|a| (a.checkpoint_key.as_bytes().to_vec(), a.full_name.to_string())).collect::<Vec<_>>())
        .collect()
}

/// Every tensor of `out` is the source's: same dtype, shape, slices, crc32c and bytes; and each
/// one's checksums verify as `ckview verify` checks them. A tensor whose key the rewrite changed
/// (its node's path changed) is found in the source by its full_name.
fn assert_copied(source: &Bundle, out: &Bundle) {
    let before = stored(source);
    let after = stored(out);
    let by_full_name: BTreeMap<String, Vec<u8>> = full_names(source).into_iter().map(|(key, name)| (name, key)).collect();
    let out_names = full_names(out);
    for (key, (entry, bytes)) in &after {
        if key.as_slice() == ckview::graph::OBJECT_GRAPH_KEY {
            continue;
        }
        let source_key = if before.contains_key(key) { key } else { &by_full_name[&out_names[key]] };
        let (original, original_bytes) = before.get(source_key).unwrap_or_else(|| panic!("{key:?} is not in the source"));
        assert_eq!((entry.dtype, &entry.shape, &entry.slices, entry.masked_crc32c), (original.dtype, &original.shape, &original.slices, original.masked_crc32c), "{key:?}");
        assert_eq!(bytes, original_bytes, "{key:?}");
        if entry.slices.is_empty() {
            match entry.dtype {
                DataType::DtString => drop(out.read_strings(key, entry).unwrap()),
                _ => out.check_stored_checksum(key, entry).unwrap(),
            }
        }
    }
}

/// Runs tests/python/tf_restore.py on `jobs`: TensorFlow's verdict on each output.
fn tensorflow(jobs: &Value) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: TensorFlow 2.21 is the oracle of these tests (.ci/run installs it)", python.display());
    let mut child = Command::new(python)
        .arg(root.join("tests/python/tf_restore.py"))
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), jobs).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "tf_restore.py failed");
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
}

/// (kind, label, options, whether the fresh model must be matched completely)
fn cases() -> Vec<(&'static str, &'static str, RewriteOptions, bool)> {
    vec![
        ("keras3", "copy", options(false, &[], &[]), true),
        ("keras3", "drop_slots", options(true, &[], &[]), true),
        // A compiled model tracks its optimizer (root.model.optimizer): selecting the model keeps
        // it; with --drop-slots it goes.
        ("keras3", "select_model", options(true, &[], &["root.model"]), true),
        ("legacy", "copy", options(false, &[], &[]), true),
        ("legacy", "drop_slots", options(true, &[], &[]), true),
        ("legacy", "select_model", options(true, &[], &["root.model"]), true),
        ("legacy", "drop_optimizer", options(false, &["root.optimizer"], &[]), true),
        // The second Dense layer goes: TensorFlow must say so, and restore the first.
        ("legacy", "drop_layer", options(false, &["root.model.layer_with_weights-1"], &[]), false),
        ("legacy", "select_layer", options(false, &[], &["root.model.layer_with_weights-0"]), false),
    ]
}

#[test]
fn tensorflow_restores_every_rewrite_into_a_fresh_model() {
    let dir = scratch("restore");
    let mut jobs = Vec::new();
    for (kind, label, options, _) in cases() {
        let source = Bundle::open(&adam(kind)).unwrap();
        let out = dir.join(format!("{kind}-{label}"));
        let summary = rewrite(&source, &out, &options).unwrap();
        println!(
            "{kind} {label}: {} -> {} nodes, {} -> {} tensors, {} -> {} bytes",
            summary.nodes_before, summary.nodes_after, summary.tensors_before, summary.tensors_after, summary.bytes_before, summary.bytes_after
        );
        assert_copied(&source, &Bundle::open(&out).unwrap());
        CheckpointView::open(&out).unwrap();
        jobs.push(json!({"kind": kind, "source": adam(kind), "out": out}));
    }
    let verdicts = tensorflow(&Value::Array(jobs));
    for ((kind, label, options, complete), verdict) in cases().into_iter().zip(verdicts) {
        let variables = verdict["variables"].as_array().unwrap();
        assert!(variables.len() >= 4, "{kind} {label}: {verdict}");
        let keys: Vec<&str> = verdict["keys"].as_array().unwrap().iter().map(|key| key.as_str().unwrap()).collect();
        if complete {
            assert_eq!(verdict["error"], Value::Null, "{kind} {label}: TensorFlow did not match every object");
            if label != "copy" {
                // The model's tensors have the keys TensorFlow writes for the model alone.
                let model_keys: Vec<&str> = keys.iter().copied().filter(|key| *key != "_CHECKPOINTABLE_OBJECT_GRAPH" && !key.starts_with("save_counter/")).collect();
                let tf_keys: Vec<&str> = verdict["model_keys"].as_array().unwrap().iter().map(|key| key.as_str().unwrap()).collect();
                assert_eq!(model_keys, tf_keys, "{kind} {label}");
            }
            for variable in variables {
                assert_eq!(variable[1], true, "{kind} {label}: {variable} was not restored to the source's value");
                assert_eq!(variable[2], false, "{kind} {label}: {variable} kept its fresh value");
            }
        } else {
            assert!(verdict["error"].as_str().is_some_and(|error| !error.is_empty()), "{kind} {label}: {verdict}");
            let restored = variables.iter().filter(|variable| variable[1] == true).count();
            assert!(restored > 0 && restored < variables.len(), "{kind} {label}: {verdict}");
            for variable in variables {
                assert_ne!(variable[1], variable[2], "{kind} {label}: {variable}");
            }
        }
        for dropped in &options.drop {
            // root.a.b's tensors have keys a/b/...: none is left.
            let key_prefix = format!("{}/", dropped.trim_start_matches("root.").replace('.', "/"));
            assert!(!keys.iter().any(|key| key.starts_with(&key_prefix) || key.contains(&format!(".OPTIMIZER_SLOT/{key_prefix}"))), "{kind} {label}: {keys:?}");
        }
        if options.drop_slots || !options.select.is_empty() {
            // What is left is what the model restored (and the counter tf.train.Checkpoint keeps
            // unless --select leaves it out): no optimizer state.
            let tensors = keys.iter().filter(|key| **key != "_CHECKPOINTABLE_OBJECT_GRAPH" && !key.starts_with("save_counter/")).count();
            let restored = variables.iter().filter(|variable| variable[1] == true).count();
            assert_eq!(tensors, restored, "{kind} {label}: {keys:?}");
            assert!(!keys.iter().any(|key| key.contains(".OPTIMIZER_SLOT")), "{kind} {label}: {keys:?}");
        }
        if label == "copy" {
            let source = common::fixture_dir("adam_trained");
            let answers: Value = serde_json::from_str(&std::fs::read_to_string(source.join("tf_answers.json")).unwrap()).unwrap();
            let listed: Vec<&str> = answers["checkpoints"][kind]["variables"].as_array().unwrap().iter().map(|pair| pair[0].as_str().unwrap()).collect();
            assert_eq!(keys, listed, "{kind}: a plain rewrite keeps every key TensorFlow listed");
        }
    }
}

/// The sizes the issue asks for: a model trained with Adam, before and after `--drop-slots`.
#[test]
fn drop_slots_shrinks_an_adam_trained_checkpoint() {
    let dir = scratch("sizes");
    for kind in ["keras3", "legacy"] {
        let source = Bundle::open(&adam(kind)).unwrap();
        let summary = rewrite(&source, &dir.join(kind), &options(true, &[], &[])).unwrap();
        let on_disk: u64 = ["ckpt-1.index", "ckpt-1.data-00000-of-00001"].iter().map(|name| std::fs::metadata(adam(kind).with_file_name(name)).unwrap().len()).sum();
        assert_eq!(summary.bytes_before, on_disk);
        let written = std::fs::metadata(dir.join(format!("{kind}.index"))).unwrap().len()
            + std::fs::metadata(dir.join(format!("{kind}.data-00000-of-00001"))).unwrap().len();
        assert_eq!(summary.bytes_after, written);
        println!("{kind}: --drop-slots {} -> {} bytes, {} -> {} tensors", summary.bytes_before, summary.bytes_after, summary.tensors_before, summary.tensors_after);
        // Adam keeps two moments per weight: the weights are well under half of what was there.
        assert!(summary.bytes_after * 2 < summary.bytes_before, "{summary:?}");
    }
}

#[test]
fn tf1_rewrites_select_and_drop_by_key_and_tensorflow_reads_them() {
    let dir = scratch("tf1");
    let source = Bundle::open(&adam("tf1")).unwrap();
    let cases = [("drop_adam", options(false, &["*/Adam*"], &[])), ("select_dense", options(false, &[], &["dense/*"])), ("select_one", options(false, &[], &["global_step"]))];
    let mut jobs = Vec::new();
    for (label, options) in &cases {
        let out = dir.join(label);
        rewrite(&source, &out, options).unwrap();
        assert_copied(&source, &Bundle::open(&out).unwrap());
        jobs.push(json!({"kind": "tf1", "source": adam("tf1"), "out": out}));
    }
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(fixture_dir("adam_trained").join("tf_answers.json")).unwrap()).unwrap();
    let listed: Vec<String> = answers["checkpoints"]["tf1"]["variables"].as_array().unwrap().iter().map(|pair| pair[0].as_str().unwrap().to_string()).collect();
    let verdicts = tensorflow(&Value::Array(jobs));
    let expected: [Vec<&String>; 3] = [
        listed.iter().filter(|key| !key.contains("/Adam")).collect(),
        listed.iter().filter(|key| key.starts_with("dense/")).collect(),
        listed.iter().filter(|key| *key == "global_step").collect(),
    ];
    for (((label, _), verdict), expected) in cases.iter().zip(&verdicts).zip(expected) {
        let keys: Vec<&str> = verdict["keys"].as_array().unwrap().iter().map(|key| key.as_str().unwrap()).collect();
        assert!(!expected.is_empty() && expected.len() < listed.len(), "{label}");
        assert_eq!(keys, expected, "{label}");
        assert!(verdict["equal"].as_object().unwrap().values().all(|equal| equal == true), "{label}: {verdict}");
    }
}

/// A partitioned TF1 tensor selected by key keeps its slices: ckview assembles the same values
/// from the copy, and TensorFlow lists it with its full shape (and refuses get_tensor on both).
#[test]
fn a_partitioned_tensor_selected_by_key_keeps_its_slices() {
    let dir = scratch("partitioned");
    let source = Bundle::open(&fixture_dir("partitioned/model.ckpt")).unwrap();
    let out = dir.join("part");
    let summary = rewrite(&source, &out, &options(false, &[], &["part_var"])).unwrap();
    assert_eq!((summary.tensors_before, summary.tensors_after), (2, 1));
    let copy = Bundle::open(&out).unwrap();
    assert_copied(&source, &copy);
    let (entry, original) = (copy.entry(b"part_var").unwrap().unwrap(), source.entry(b"part_var").unwrap().unwrap());
    assert_eq!(entry.slices.len(), 3);
    let size = source.value_size(b"part_var", &original).unwrap() as usize;
    let (mut a, mut b) = (vec![0u8; size], vec![0u8; size]);
    source.read_value(b"part_var", &original, &mut a, ckview::format::Verify::Checksums).unwrap();
    copy.read_value(b"part_var", &entry, &mut b, ckview::format::Verify::Checksums).unwrap();
    assert_eq!(a, b);
    let verdict = &tensorflow(&json!([{"kind": "tf1", "source": fixture_dir("partitioned/model.ckpt"), "out": out}]))[0];
    assert_eq!(verdict["keys"], json!(["part_var"]), "{verdict}");
    assert_eq!(verdict["equal"]["part_var"], true, "{verdict}");
}

/// Plain rewrites of the other fixtures TensorFlow wrote: sharded, partitioned, strings, tables,
/// iterators, cycles, big-endian: every tensor copied as it was, the graph as ckview reads it, and
/// each copy read by TensorFlow's load_checkpoint as it reads the source.
#[test]
fn every_fixture_rewrites_to_the_same_tensors_and_graph() {
    let dir = scratch("fixtures");
    let fixtures = [
        "sharded/sharded",
        "partitioned/model.ckpt",
        "dtype_zoo/zoo",
        "big_endian/zoo",
        "cycles_and_shared/graph",
        "doc_children/tf_ckpts-1",
        "tables/after",
        "iterator/iter3",
        "tf1_name_based/model.ckpt",
    ];
    let mut jobs = Vec::new();
    for name in fixtures {
        let source = Bundle::open(&fixture_dir(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
        let out = dir.join(name.replace('/', "-"));
        rewrite(&source, &out, &RewriteOptions::default()).unwrap_or_else(|error| panic!("{name}: {error}"));
        let written = Bundle::open(&out).unwrap();
        assert_eq!(written.header().endianness, source.header().endianness);
        assert_copied(&source, &written);
        let keys = |bundle: &Bundle| bundle.tensors().unwrap().into_iter().map(|(key, _)| key).collect::<Vec<_>>();
        assert_eq!(keys(&written), keys(&source), "{name}");
        jobs.push(json!({"kind": "tf1", "source": fixture_dir(name), "out": out}));
        if let Ok(view) = CheckpointView::of_bundle(source) {
            let copy = CheckpointView::open(&out).unwrap();
            let paths = |view: &CheckpointView| view.descendants().iter().map(|&node| view.path(node).unwrap()).collect::<Vec<_>>();
            assert_eq!(paths(&copy), paths(&view), "{name}");
            // Recomputed as TensorFlow computes it when saving: the same flags TensorFlow wrote.
            let flags = |view: &CheckpointView| view.descendants().iter().map(|&node| view.has_checkpoint_values(node).unwrap()).collect::<Vec<_>>();
            assert_eq!(flags(&copy), flags(&view), "{name}");
        }
    }
    // TensorFlow reads every copy as it reads the source, key by key.
    for ((name, verdict), job) in fixtures.iter().zip(tensorflow(&Value::Array(jobs.clone()))).zip(&jobs) {
        let equal = verdict["equal"].as_object().unwrap();
        assert!(!equal.is_empty() && equal.values().all(|same| same == true), "{name}: {verdict} ({job})");
        assert_eq!(verdict["dtypes_equal"], true, "{name}");
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn mistakes_are_errors_that_write_nothing() {
    let dir = scratch("mistakes");
    let legacy = Bundle::open(&adam("legacy")).unwrap();
    let tf1 = Bundle::open(&adam("tf1")).unwrap();
    let out = dir.join("out");
    let error = rewrite(&legacy, &out, &options(false, &["root.model.no_such_layer"], &[])).unwrap_err();
    assert!(matches!(error, RewriteError::NoSuchNode { ref spec, .. } if spec == "root.model.no_such_layer"), "{error}");
    let error = rewrite(&legacy, &out, &options(false, &[], &["#999"])).unwrap_err();
    assert!(matches!(error, RewriteError::Graph(_)), "{error}");
    let error = rewrite(&legacy, &out, &options(false, &["root"], &[])).unwrap_err();
    assert!(matches!(error, RewriteError::DropsRoot { .. }), "{error}");
    let error = rewrite(&tf1, &out, &options(true, &[], &[])).unwrap_err();
    assert!(matches!(error, RewriteError::SlotsWithoutGraph { .. }), "{error}");
    let error = rewrite(&tf1, &out, &options(false, &["dense/no_such_key"], &[])).unwrap_err();
    assert!(matches!(error, RewriteError::NoSuchKey { .. }), "{error}");
    assert_eq!(files_in(&dir), Vec::<String>::new());
    // The output may not be the input, by any name.
    for same in [adam("legacy"), adam("legacy").parent().unwrap().join("../legacy/ckpt-1")] {
        let error = rewrite(&legacy, &same, &RewriteOptions::default()).unwrap_err();
        assert!(matches!(error, RewriteError::SameCheckpoint { .. }), "{error}");
    }
    for directory in [format!("{}/", dir.display()), String::new(), "..".into()] {
        let error = rewrite(&legacy, Path::new(&directory), &RewriteOptions::default()).unwrap_err();
        assert!(matches!(error, RewriteError::NotAPrefix { .. }), "{directory:?}: {error}");
    }
    // A directory that cannot be made (a file is in the way) is a write error.
    std::fs::write(dir.join("file"), b"").unwrap();
    let error = rewrite(&legacy, &dir.join("file/out"), &RewriteOptions::default()).unwrap_err();
    assert!(matches!(error, RewriteError::Write { .. }), "{error}");
    assert_eq!(files_in(&dir), ["file"]);
    // Missing directories are made, as TensorFlow makes them (and removed on a failure: below).
    rewrite(&legacy, &dir.join("new/nested/out"), &RewriteOptions::default()).unwrap();
    assert_eq!(files_in(&dir.join("new/nested")), ["out.data-00000-of-00001", "out.index"]);
    assert_eq!(files_in(&dir), ["file", "new"]);
}

#[test]
fn a_damaged_source_fails_the_rewrite_and_leaves_nothing() {
    let dir = scratch("damaged");
    let source_dir = dir.join("source");
    std::fs::create_dir(&source_dir).unwrap();
    for name in ["ckpt-1.index", "ckpt-1.data-00000-of-00001"] {
        std::fs::copy(adam("legacy").with_file_name(name), source_dir.join(name)).unwrap();
    }
    let data = source_dir.join("ckpt-1.data-00000-of-00001");
    let mut bytes = std::fs::read(&data).unwrap();
    // One bit of the last float tensor's data: the copy, not the object graph, meets it.
    let source = Bundle::open(&source_dir.join("ckpt-1")).unwrap();
    let (key, entry) = source.tensors().unwrap().into_iter().filter(|(_, entry)| entry.dtype == DataType::DtFloat && entry.size > 0).last().unwrap();
    bytes[entry.offset as usize] ^= 0x40;
    std::fs::write(&data, &bytes).unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    // Into directories the rewrite makes: they go too.
    let error = rewrite(&Bundle::open(&source_dir.join("ckpt-1")).unwrap(), &out_dir.join("new/deeper/model"), &RewriteOptions::default()).unwrap_err();
    assert!(matches!(error, RewriteError::Format(FormatError::ChecksumMismatch { .. })), "{key:?}: {error}");
    assert_eq!(files_in(&out_dir), Vec::<String>::new());
}

/// A storage whose data shards fail every read outside one range (the object graph's), as a
/// disk or a network can.
#[derive(Debug)]
struct FailingStorage {
    local: LocalStorage,
    healthy: (u64, u64),
}

#[derive(Debug)]
struct FailingFile(Arc<dyn RandomAccess>, (u64, u64));

impl RandomAccess for FailingFile {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let (start, end) = self.1;
        if offset < start || offset + buf.len() as u64 > end {
            return Err(io::Error::other("the disk went away"));
        }
        self.0.read_exact_at(offset, buf)
    }
}

impl Storage for FailingStorage {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        let file = self.local.open(path)?;
        Ok(if path.to_string_lossy().contains(".data-") { Arc::new(FailingFile(file, self.healthy)) } else { file })
    }
}

#[test]
fn a_read_failure_midway_leaves_nothing() {
    let dir = scratch("io");
    let graph = Bundle::open(&adam("legacy")).unwrap().entry(ckview::graph::OBJECT_GRAPH_KEY).unwrap().unwrap();
    let storage = FailingStorage { local: LocalStorage::default(), healthy: (graph.offset, graph.offset + graph.size) };
    let source = Bundle::open_with(&adam("legacy"), Arc::new(storage)).unwrap();
    CheckpointView::open_with(adam("legacy"), Arc::new(FailingStorage { local: LocalStorage::default(), healthy: (graph.offset, graph.offset + graph.size) })).unwrap();
    let error = rewrite(&source, &dir.join("model"), &RewriteOptions::default()).unwrap_err();
    assert!(matches!(error, RewriteError::Format(FormatError::Io { .. })), "{error}");
    assert_eq!(files_in(&dir), Vec::<String>::new());
}

/// A graph where a variable is named through the optimizer (`optimizer/w`), reached by the model
/// too; with `unowned`, the bundle also holds a tensor no node names under `model/w`'s key.
fn shared_variable_checkpoint(dir: &Path, unowned: bool) -> PathBuf {
    use ckview::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SerializedTensor};
    use ckview::format::proto::trackable_object_graph::TrackableObject;
    use ckview::format::proto::TrackableObjectGraph;
    use ckview::format::writer::BundleWriter;
    use prost::Message;
    let reference = |node_id, name: &str| ObjectReference { node_id, local_name: name.into() };
    let key = "optimizer/w/.ATTRIBUTES/VARIABLE_VALUE";
    let graph = TrackableObjectGraph {
        nodes: vec![
            TrackableObject { children: vec![reference(1, "optimizer"), reference(2, "model")], ..Default::default() },
            TrackableObject { children: vec![reference(3, "w")], ..Default::default() },
            TrackableObject { children: vec![reference(3, "w")], ..Default::default() },
            TrackableObject {
                attributes: vec![SerializedTensor { name: "VARIABLE_VALUE".into(), full_name: "w".into(), checkpoint_key: key.into() }],
                ..Default::default()
            },
        ],
    };
    let prefix = dir.join(if unowned { "unowned" } else { "plain" });
    let mut writer = BundleWriter::create(&prefix).unwrap();
    writer.add_strings(ckview::graph::OBJECT_GRAPH_KEY, &[], &[&graph.encode_to_vec()]).unwrap();
    writer.add_raw(key.as_bytes(), DataType::DtFloat, &[2], &[0, 0, 128, 63, 0, 0, 0, 64]).unwrap();
    if unowned {
        writer.add_raw(b"model/w/.ATTRIBUTES/VARIABLE_VALUE", DataType::DtFloat, &[1], &[0, 0, 64, 64]).unwrap();
    }
    writer.finish().unwrap()
}

#[test]
fn a_renamed_key_never_lands_on_a_key_that_stays() {
    let dir = scratch("collision");
    let drop_optimizer = options(false, &["root.optimizer"], &[]);
    for unowned in [false, true] {
        let source = Bundle::open(&shared_variable_checkpoint(&dir, unowned)).unwrap();
        let out = dir.join(format!("out-{unowned}"));
        rewrite(&source, &out, &drop_optimizer).unwrap();
        let copy = Bundle::open(&out).unwrap();
        let keys: Vec<String> = copy.tensors().unwrap().into_iter().map(|(key, _)| String::from_utf8(key).unwrap()).collect();
        let view = CheckpointView::open(&out).unwrap();
        let w = view.nodes_at_path("root.model.w")[0];
        let key = view.attributes(w).unwrap().next().unwrap().checkpoint_key.to_string();
        if unowned {
            // Renaming w would overwrite the other tensor: both keep their keys.
            assert_eq!(keys, ["_CHECKPOINTABLE_OBJECT_GRAPH", "model/w/.ATTRIBUTES/VARIABLE_VALUE", "optimizer/w/.ATTRIBUTES/VARIABLE_VALUE"]);
            assert_eq!(key, "optimizer/w/.ATTRIBUTES/VARIABLE_VALUE");
        } else {
            assert_eq!(keys, ["_CHECKPOINTABLE_OBJECT_GRAPH", "model/w/.ATTRIBUTES/VARIABLE_VALUE"]);
            assert_eq!(key, "model/w/.ATTRIBUTES/VARIABLE_VALUE");
        }
        assert_copied(&source, &copy);
    }
}
