//! Tables and iterators (saveables that are not variables) against TensorFlow's answers
//! (`tests/fixtures/{tables,iterator,saved_model}/tf_answers.json`): their tensors live under
//! the attribute's key plus a suffix, and `tree`, `show` and `diff` find them there. And
//! `ckview verify X` passes and `ckview diff X X` is empty for every healthy checkpoint in the
//! fixtures, V1 ones included.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn answers(folder: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(folder).join("tf_answers.json")).unwrap()).unwrap()
}

fn ckview(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ckview"));
    for arg in args {
        command.arg(arg);
    }
    command.env("NO_COLOR", "1").output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)))
}

/// Every checkpoint prefix (`P` of each `P.index`) under `dir`, recursively, sorted.
fn prefixes(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            prefixes(&path, out);
        } else if let Some(prefix) = path.to_str().and_then(|text| text.strip_suffix(".index")) {
            out.push(PathBuf::from(prefix));
        }
    }
    out.sort();
}

/// Fixtures that are broken on purpose: ckview refuses their object graph.
const BROKEN: [&str; 4] = ["crafted_bad_ref", "crafted_negative_ref", "crafted_empty_graph", "crafted_corrupt_graph"];

/// Every healthy bundle of the fixtures: each prefix but those broken on purpose.
fn healthy_bundles() -> Vec<PathBuf> {
    let mut all = Vec::new();
    prefixes(&fixtures(), &mut all);
    all.retain(|prefix| !BROKEN.iter().any(|broken| prefix.components().any(|part| part.as_os_str() == *broken)));
    all
}

/// Every V1 checkpoint path of `v1/tf_answers.json` that TensorFlow's `load_checkpoint` opened
/// (single file, sharded by pattern, by save path and by file, partitioned).
fn healthy_v1_checkpoints() -> Vec<PathBuf> {
    let dir = fixtures().join("v1");
    let answers = answers("v1");
    let opened = answers["checkpoints"].as_object().unwrap().iter().filter(|(_, answer)| answer.get("load_error").is_none());
    // The V2-saved comparison (`as_v2`) is a bundle, listed by its .index.
    opened.map(|(path, _)| dir.join(path)).filter(|path| !Path::new(&format!("{}.index", path.display())).exists()).collect()
}

#[test]
fn every_healthy_checkpoint_verifies_and_compared_with_itself_has_no_changes() {
    let (bundles, v1) = (healthy_bundles(), healthy_v1_checkpoints());
    assert!(bundles.len() >= 24 && v1.len() >= 6, "only {} bundles and {} V1 checkpoints found", bundles.len(), v1.len());
    let mut failed = Vec::new();
    for checkpoint in bundles.iter().chain(&v1) {
        let verify = ckview(&[&"verify", checkpoint]);
        if verify.status.code() != Some(0) {
            failed.push(format!("verify {}: {}{}", checkpoint.display(), String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr)));
        }
        let output = ckview(&[&"diff", &"--json", checkpoint, checkpoint]);
        let identical = output.status.code() == Some(0)
            && serde_json::from_slice::<Value>(&output.stdout).is_ok_and(|document| document["identical"] == true);
        if !identical {
            failed.push(format!("diff {}: {}{}", checkpoint.display(), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)));
        }
    }
    assert!(failed.is_empty(), "not healthy:\n{}", failed.join("\n"));
}

/// The V1 pairs of `v1/`: `changed` is `partitioned` with one value of `plain_var` changed, and
/// `as_v2` is `partitioned` written by a V2 saver. Key by key, across the two formats.
#[test]
fn diff_compares_v1_checkpoints_key_by_key_across_formats() {
    let answers = answers("v1");
    let dir = fixtures().join("v1");
    let tf = |path: &str, key: &str| answers["checkpoints"][path]["tensors"][key].clone();
    // What TensorFlow reads of plain_var differs; part_var it reads only from the bundle (it
    // refuses sliced V1 tensors), and ckview reads V1's assembled as the bundle's (tests/v1.rs).
    assert_ne!(tf("changed/model.ckpt", "plain_var")["values"], tf("as_v2/model.ckpt", "plain_var")["values"]);
    assert_eq!(tf("partitioned/model.ckpt", "plain_var")["values"], tf("as_v2/model.ckpt", "plain_var")["values"]);
    for (a, b, expected) in [
        ("partitioned/model.ckpt", "as_v2/model.ckpt", BTreeSet::new()),
        ("partitioned/model.ckpt", "changed/model.ckpt", BTreeSet::from(["plain_var".to_string()])),
        ("as_v2/model.ckpt", "changed/model.ckpt", BTreeSet::from(["plain_var".to_string()])),
    ] {
        let output = ckview(&[&"diff", &"--json", &"--values", &dir.join(a), &dir.join(b)]);
        assert_eq!(output.status.code(), Some(if expected.is_empty() { 0 } else { 1 }), "{a} {b}");
        let document = json(&output);
        assert_eq!(document["compared_by"], "keys");
        assert_eq!(document["counts"]["matched"], 2, "{a} {b}");
        assert_eq!(changed_keys(&document), expected, "{a} {b}");
        for change in document["changed"].as_array().unwrap() {
            assert_eq!(change["changes"], serde_json::json!(["values"]));
            assert_eq!(change["value_diff"]["differing"], 1, "{change}");
        }
    }
}

/// The keys whose tensors TensorFlow gives differently in `a` and `b` (dtype, shape or bytes).
fn keys_tensorflow_sees_change(a: &Value, b: &Value) -> BTreeSet<String> {
    let (tensors_a, tensors_b) = (a["index_entries"].as_object().unwrap(), b["index_entries"].as_object().unwrap());
    tensors_a
        .iter()
        .filter(|(key, _)| key.as_str() != "_CHECKPOINTABLE_OBJECT_GRAPH")
        .filter(|(key, entry)| {
            let other = &tensors_b[key.as_str()];
            ["dtype_enum", "shape", "stored_hex"].iter().any(|field| entry[field] != other[field])
        })
        .map(|(key, _)| key.clone())
        .collect()
}

fn changed_keys(document: &Value) -> BTreeSet<String> {
    document["changed"].as_array().unwrap().iter().map(|change| change["a"]["key"].as_str().unwrap().to_string()).collect()
}

#[test]
fn diff_sees_a_table_change_key_by_key() {
    let answers = answers("tables");
    let expected = keys_tensorflow_sees_change(&answers["checkpoints"]["before"], &answers["checkpoints"]["after"]);
    assert_eq!(expected.len(), 5, "{expected:?}");
    let dir = fixtures().join("tables");
    let output = ckview(&[&"diff", &"--json", &dir.join("before"), &dir.join("after")]);
    assert_eq!(output.status.code(), Some(1));
    let document = json(&output);
    assert_eq!(changed_keys(&document), expected);
    let words: Vec<&Value> = document["changed"].as_array().unwrap().iter().filter(|c| c["path"] == "root.words").collect();
    assert!(words.iter().all(|change| change["changes"] == serde_json::json!(["shape"]) && change["attribute"] == "table"));
    let text = String::from_utf8(ckview(&[&"diff", &dir.join("before"), &dir.join("after")]).stdout).unwrap();
    assert!(text.contains("~ root.words #1 table-keys: shape [3] -> [4]"), "{text}");
    assert!(text.contains("~ root.dense #2 table-values: values differ (float32 [8, 1])"), "{text}");
}

#[test]
fn diff_sees_an_iterator_advance() {
    let answers = answers("iterator");
    let dir = fixtures().join("iterator");
    for (a, b) in [("plain2", "plain3"), ("iter2", "iter3")] {
        let (answer_a, answer_b) = (&answers["checkpoints"][a], &answers["checkpoints"][b]);
        assert_ne!(answer_a["restore"]["next_after_restore"], answer_b["restore"]["next_after_restore"]);
        let expected = keys_tensorflow_sees_change(answer_a, answer_b);
        assert_eq!(expected, BTreeSet::from(["it/.ATTRIBUTES/ITERATOR_STATE".to_string()]));
        let output = ckview(&[&"diff", &"--json", &dir.join(a), &dir.join(b)]);
        assert_eq!(output.status.code(), Some(1), "{a} {b}");
        assert_eq!(changed_keys(&json(&output)), expected);
    }
}

#[test]
fn tree_lists_the_suffixed_tensors_with_tensorflows_dtypes_and_shapes() {
    for (folder, prefix, answer) in [
        ("tables", "before", answers("tables")["checkpoints"]["before"].clone()),
        ("tables", "after", answers("tables")["checkpoints"]["after"].clone()),
        ("iterator", "plain2", answers("iterator")["checkpoints"]["plain2"].clone()),
        ("iterator", "iter3", answers("iterator")["checkpoints"]["iter3"].clone()),
        ("saved_model", "variables/variables", answers("saved_model")["golden"].clone()),
    ] {
        let output = ckview(&[&"tree", &"--json", &fixtures().join(folder).join(prefix)]);
        assert_eq!(output.status.code(), Some(0), "{folder}/{prefix}");
        let document = json(&output);
        let mut seen = Vec::new();
        for entry in document["entries"].as_array().unwrap() {
            for tensor in entry["tensors"].as_array().into_iter().flatten() {
                assert_eq!(tensor["error"], Value::Null, "{folder}/{prefix}: {tensor}");
                let key = tensor["key"].as_str().unwrap();
                assert_eq!(tensor["dtype"], answer["dtypes"][key], "{key}");
                let listed = answer["variables"].as_array().unwrap().iter().find(|row| row[0] == key).unwrap();
                assert_eq!(tensor["shape"], listed[1], "{key}");
                seen.push(key.to_string());
            }
        }
        let mut expected: Vec<String> = answer["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row[0].as_str().unwrap().to_string())
            .filter(|key| key != "_CHECKPOINTABLE_OBJECT_GRAPH")
            .collect();
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected, "{folder}/{prefix}");
    }
}

#[test]
fn show_reaches_a_table_and_an_iterator_through_their_node() {
    let iterator = fixtures().join("iterator/plain2");
    let output = ckview(&[&"show", &"--json", &iterator, &"root.it"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["key"], "it/.ATTRIBUTES/ITERATOR_STATE");
    let tables = fixtures().join("tables/before");
    let output = ckview(&[&"show", &tables, &"root.words"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("words/.ATTRIBUTES/table-keys, words/.ATTRIBUTES/table-values"), "{error}");
    let output = ckview(&[&"show", &"--json", &tables, &"words/.ATTRIBUTES/table-values"]);
    assert_eq!(output.status.code(), Some(0));
    let values = &answers("tables")["checkpoints"]["before"]["tensor_values"]["words/.ATTRIBUTES/table-values"];
    let shown = json(&output);
    assert_eq!(&shown["values"], values, "{shown}");
}
