//! The `ckview` command line against TensorFlow's goldens (`tests/fixtures/*/golden.json`):
//! children, descendants, paths, key listings and values as TensorFlow wrote them; diff and
//! verify on checkpoints whose differences and damage the test makes itself; errors, help,
//! colours, closed pipes and a graph 100 000 levels deep.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ckview::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SerializedTensor};
use ckview::format::proto::trackable_object_graph::TrackableObject;
use ckview::format::proto::{DataType, TrackableObjectGraph};
use ckview::format::writer::BundleWriter;
use ckview::format::{Bundle, Verify};
use ckview::graph::OBJECT_GRAPH_KEY;
use prost::Message;
use serde_json::Value;

/// Fixtures ckview refuses to open as a view (TensorFlow fails on them later, or wrongly).
const REFUSED: [&str; 4] = ["crafted_bad_ref", "crafted_negative_ref", "crafted_empty_graph", "crafted_corrupt_graph"];
const COMMANDS: [&str; 7] = ["tree", "keys", "children", "descendants", "show", "diff", "verify"];

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir(name).join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every fixture with a golden, sorted.
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir(""))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("golden.json").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");
    names
}

/// Fixtures TensorFlow opens as a view and ckview too.
fn views() -> Vec<String> {
    fixtures()
        .into_iter()
        .filter(|name| golden(name)["view_error"].is_null() && !REFUSED.contains(&name.as_str()))
        .collect()
}

fn prefix(name: &str) -> PathBuf {
    fixture_dir(name).join(golden(name)["prefix"].as_str().unwrap())
}

/// A fresh folder in the temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("ckview-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn ckview(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    ckview_env(args, &[])
}

fn ckview_env(args: &[&dyn AsRef<std::ffi::OsStr>], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ckview"));
    command.args(args.iter().map(|arg| arg.as_ref())).env_remove("NO_COLOR");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed (exit 0, nothing on stderr) and print one JSON document.
fn json(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Value {
    let output = ckview(args);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(output.stderr.is_empty(), "stderr: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap()).collect()
}

/// A failure: exit status 2 (or `code`), exactly one line on stderr, no panic, no stdout.
fn assert_one_line_error(output: &Output, context: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{context}: {text}");
    assert_eq!(text.lines().count(), 1, "{context}: {text:?}");
    assert!(text.starts_with("ckview: error: "), "{context}: {text:?}");
    assert!(!text.contains("panicked"), "{context}: {text:?}");
    assert!(output.stdout.is_empty(), "{context}: stdout {:?}", stdout(output));
}

#[test]
fn children_and_descendants_are_tensorflows_in_order() {
    let mut compared = 0;
    for name in views() {
        let golden = golden(&name);
        let ckpt = prefix(&name);
        for node in golden["children"].as_array().unwrap() {
            let id = node[0].as_u64().unwrap().to_string();
            // serde_json's maps sort their keys, so the order is checked on the text itself.
            let members: Vec<String> = node[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| format!("{}:{}", serde_json::to_string(&pair[0]).unwrap(), pair[1]))
                .collect();
            let expected = format!("{{{}}}\n", members.join(","));
            let output = ckview(&[&"children", &"--json", &ckpt, &id]);
            assert_eq!(output.status.code(), Some(0), "{name} node {id}: {}", stderr(&output));
            assert_eq!(stdout(&output), expected, "{name} node {id}");
            // The text form: `name: id` per line, same order.
            let text = stdout(&ckview(&[&"children", &ckpt, &id]));
            let lines: Vec<String> = node[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| format!("{}: {}", pair[0].as_str().unwrap(), pair[1]))
                .collect();
            assert_eq!(text.lines().collect::<Vec<_>>(), lines, "{name} node {id} (text)");
            compared += 1;
        }
        assert_eq!(json(&[&"descendants", &"--json", &ckpt]), golden["descendants"], "{name}");
        let text = stdout(&ckview(&[&"descendants", &ckpt]));
        let ids: Vec<u64> = text.lines().map(|line| line.parse().unwrap()).collect();
        assert_eq!(serde_json::json!(ids), golden["descendants"], "{name} (text)");
    }
    assert!(compared >= 80, "only {compared} nodes compared");
}

#[test]
fn children_takes_a_dotted_path_and_defaults_to_the_root() {
    let dir = fixture_dir("doc_children");
    assert_eq!(json(&[&"children", &"--json", &dir]), json(&[&"children", &"--json", &dir, &"0"]));
    let leaf = json(&[&"children", &"--json", &dir, &"root.leaf"]);
    assert_eq!(leaf, serde_json::json!({"a_var": 8, "b_var": 9, "vars": 10}));
    // A name with a dot in it is still one step.
    let mapping = json(&[&"children", &"--json", &prefix("cycles_and_shared"), &"root.mapping"]);
    assert_eq!(mapping["with.dot"], 11);
    let listing = std::fs::read_to_string(dir.join("listing.txt")).unwrap();
    let names: Vec<&str> = listing.lines().map(|line| line.split('\'').nth(1).unwrap()).collect();
    let printed = stdout(&ckview(&[&"children", &dir]));
    assert_eq!(printed.lines().map(|line| line.split(':').next().unwrap()).collect::<Vec<_>>(), names);
}

#[test]
fn keys_are_list_variables_with_tensorflows_dtypes() {
    for name in fixtures() {
        let golden = golden(&name);
        let listed = json(&[&"keys", &"--json", &prefix(&name)]);
        let pairs: Vec<Value> =
            listed.as_array().unwrap().iter().map(|row| serde_json::json!([row["key"], row["shape"]])).collect();
        assert_eq!(Value::from(pairs), golden["variables"], "{name}");
        for row in listed.as_array().unwrap() {
            let key = row["key"].as_str().unwrap();
            assert_eq!(row["dtype"], golden["dtypes"][key], "{name}: {key}");
            if let Some(hex) = golden["tensors"][key]["hex"].as_str() {
                assert_eq!(row["size_bytes"].as_u64().unwrap() as usize, hex.len() / 2, "{name}: {key}");
            }
            assert!(row["shard"].is_u64() == (row["slices"] == 0), "{name}: {key}: {row}");
        }
    }
}

#[test]
fn keys_filters_by_substring_or_glob_and_every_path_form_works() {
    let model = prefix("keras_adam");
    let keys = |pattern: &str| -> Vec<String> {
        json(&[&"keys", &"--json", &model, &pattern])
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["key"].as_str().unwrap().to_string())
            .collect()
    };
    let kernels = keys("kernel");
    assert_eq!(kernels.len(), 6);
    assert!(kernels.iter().all(|key| key.contains("kernel")));
    assert_eq!(
        keys("model/*/kernel/.ATTRIBUTES/*"),
        [
            "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
            "model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE"
        ]
    );
    assert_eq!(keys("optimizer/beta_?/*").len(), 2);
    assert!(keys("no such thing").is_empty());
    // A prefix, the directory (state file), the .index, a data shard: the same listing.
    let dir = fixture_dir("manager");
    let expected = json(&[&"keys", &"--json", &dir.join("ckpt-3")]);
    for form in [dir.clone(), dir.join("ckpt-3.index"), dir.join("ckpt-3.data-00000-of-00001")] {
        assert_eq!(json(&[&"keys", &"--json", &form]), expected, "{}", form.display());
    }
    let text = stdout(&ckview(&[&"keys", &prefix("tf1_name_based")]));
    assert!(text.contains("scope/beta") && text.contains("int64") && text.contains("[2, 2]"), "{text}");
}

/// Checks `show --json` of one golden tensor: metadata, and every element against the hex.
fn check_show(name: &str, target: &str, key: &str) {
    check_show_in(name, &prefix(name), target, key);
}

fn check_show_in(name: &str, ckpt: &Path, target: &str, key: &str) {
    let golden = golden(name);
    let expected = &golden["tensors"][key];
    let shown = json(&[&"show", &"--json", &"--limit", &"0", &ckpt, &target]);
    assert_eq!(shown["key"], key, "{name}: {target}");
    assert_eq!(shown["dtype"], expected["dtype"], "{name}: {key}");
    assert_eq!(shown["shape"], expected["shape"], "{name}: {key}");
    assert_eq!(shown["truncated"], false);
    if let Some(strings) = expected.get("strings_hex") {
        assert_eq!(shown["values_hex"], *strings, "{name}: {key}");
        return;
    }
    // serde_json's float parsing is not correctly rounded: read the numbers' own text.
    let output = stdout(&ckview(&[&"show", &"--json", &"--limit", &"0", &ckpt, &target]));
    let start = output.find("\"values\":[").unwrap() + "\"values\":[".len();
    let list = &output[start..start + output[start..].find(']').unwrap()];
    let values: Vec<&str> = if list.is_empty() { Vec::new() } else { list.split(',').collect() };
    let bytes = hex_bytes(expected["hex"].as_str().unwrap());
    let dtype = expected["dtype"].as_str().unwrap();
    let width = match dtype {
        "float32" | "int32" | "uint32" => 4,
        "float64" | "int64" | "uint64" => 8,
        "int8" | "uint8" | "bool" => 1,
        "int16" | "uint16" => 2,
        other => panic!("no decoder for {other} in this test"),
    };
    assert_eq!(values.len(), bytes.len() / width, "{name}: {key}");
    for (value, chunk) in values.iter().zip(bytes.chunks_exact(width)) {
        let mut wide = [0u8; 8];
        wide[..width].copy_from_slice(chunk);
        let context = format!("{name}: {key}: {value} vs {chunk:02x?}");
        match dtype {
            "float32" => {
                let expected = f32::from_le_bytes(chunk.try_into().unwrap());
                assert_eq!(value.parse::<f32>().unwrap().to_bits(), expected.to_bits(), "{context}");
            }
            "float64" => {
                assert_eq!(value.parse::<f64>().unwrap().to_bits(), f64::from_le_bytes(wide).to_bits(), "{context}")
            }
            "bool" => assert_eq!(*value == "true", chunk[0] == 1, "{context}"),
            _ if dtype.starts_with('u') => {
                assert_eq!(value.parse::<u64>().unwrap(), u64::from_le_bytes(wide), "{context}")
            }
            _ => {
                let shift = 64 - 8 * width as u32;
                let signed = i64::from_le_bytes(wide) << shift >> shift;
                assert_eq!(value.parse::<i64>().unwrap(), signed, "{context}");
            }
        }
    }
}

#[test]
fn show_prints_tensorflows_values() {
    for dtype in [
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
        "scalar_f32",
        "scalar_i64",
    ] {
        let key = format!("{dtype}/.ATTRIBUTES/VARIABLE_VALUE");
        check_show("dtype_zoo", &key, &key);
        check_show("dtype_zoo", &format!("root.{dtype}"), &key);
    }
    for strings in ["string", "string_2d", "string_scalar", "empty_string_0"] {
        let key = format!("{strings}/.ATTRIBUTES/VARIABLE_VALUE");
        check_show("dtype_zoo", &key, &key);
    }
    check_show(
        "keras_adam",
        "root.model.layer_with_weights-0.kernel",
        "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
    );
    check_show("cycles_and_shared", "root.mapping.with.dot", "mapping/with..dot/.ATTRIBUTES/VARIABLE_VALUE");
    check_show("sharded", "w1/.ATTRIBUTES/VARIABLE_VALUE", "w1/.ATTRIBUTES/VARIABLE_VALUE");
    check_show("sharded", "root.w3", "w3/.ATTRIBUTES/VARIABLE_VALUE");
    check_show("partitioned", "part_var", "part_var");
    check_show("tf1_name_based", "scope/beta", "scope/beta");
    // The big-endian copy of the zoo holds the zoo's values (it has no golden of its own).
    let big_endian = fixture_dir("big_endian").join("zoo");
    for dtype in ["float64", "int16", "uint32"] {
        check_show_in(
            "dtype_zoo",
            &big_endian,
            &format!("root.{dtype}"),
            &format!("{dtype}/.ATTRIBUTES/VARIABLE_VALUE"),
        );
    }
}

#[test]
fn show_summarizes_in_text() {
    // dtype_zoo's float32 is [1.5, -2.25, 0, FLT_MAX, -FLT_MIN, 1e-45], its int32 holds INT32_MIN.
    let zoo = prefix("dtype_zoo");
    let text = stdout(&ckview(&[&"show", &zoo, &"root.float32"]));
    assert!(text.contains("[1.5, -2.25, 0.0, 3.4028235e38"), "{text}");
    assert!(text.lines().any(|line| line.starts_with("min") && line.ends_with("-2.25")), "{text}");
    assert!(text.lines().any(|line| line.starts_with("max") && line.ends_with("3.4028235e38")), "{text}");
    assert!(text.contains("[2, 3] (6 elements)"), "{text}");
    let text = stdout(&ckview(&[&"show", &zoo, &"int32/.ATTRIBUTES/VARIABLE_VALUE", &"-n", &"2"]));
    assert!(text.contains("[-2147483648, -3, ...]  (first 2 of 6)"), "{text}");
    let text = stdout(&ckview(&[&"show", &zoo, &"root.string"]));
    assert!(text.contains("\"with\\x00nul\"") && text.contains("\"héllo\""), "{text}");
    let shown = json(&[&"show", &"--json", &zoo, &"root.bool"]);
    assert_eq!(shown["stats"]["true_count"], 3);
    // A node without tensors, a path that does not exist, a TF1 checkpoint asked for a path.
    for (ckpt, target) in [
        (fixture_dir("doc_children"), "root.leaf"),
        (fixture_dir("doc_children"), "root.nope"),
        (prefix("tf1_name_based"), "root.alpha"),
        (zoo.clone(), "nope"),
    ] {
        assert_one_line_error(&ckview(&[&"show", &ckpt, &target]), target);
    }
}

/// Paths of a golden, by node id.
fn golden_paths(golden: &Value) -> Vec<(u64, String)> {
    golden["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_u64().unwrap(), pair[1].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn diff_finds_the_nodes_the_goldens_paths_disagree_on() {
    let a = golden("doc_children");
    let b = golden("doc_diff");
    let (paths_a, paths_b) = (golden_paths(&a), golden_paths(&b));
    let only = |these: &[(u64, String)], those: &[(u64, String)]| -> BTreeSet<(u64, String)> {
        these.iter().filter(|(_, path)| !those.iter().any(|(_, other)| other == path)).cloned().collect()
    };
    let output = ckview(&[&"diff", &"--json", &fixture_dir("doc_children"), &fixture_dir("doc_diff")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let diff: Value = serde_json::from_slice(&output.stdout).unwrap();
    let listed = |name: &str| -> BTreeSet<(u64, String)> {
        diff[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| (node["node"].as_u64().unwrap(), node["path"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(listed("only_in_a"), only(&paths_a, &paths_b));
    assert_eq!(listed("only_in_b"), only(&paths_b, &paths_a));
    assert!(!listed("only_in_b").is_empty());
    assert_eq!(diff["identical"], false);
    assert_eq!(diff["matched"].as_array().unwrap().len(), paths_a.len() - listed("only_in_a").len());
    // Text: one `+` line per node only in B, exit status 1 as well.
    let output = ckview(&[&"diff", &fixture_dir("doc_children"), &fixture_dir("doc_diff")]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).lines().filter(|line| line.starts_with("+ ")).count(), listed("only_in_b").len());
}

#[test]
fn diff_of_a_checkpoint_with_itself_is_empty() {
    for name in views() {
        let output = ckview(&[&"diff", &"--json", &prefix(&name), &prefix(&name)]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        let diff: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(diff["identical"], true, "{name}");
        for list in ["only_in_a", "only_in_b", "changed", "conflicts"] {
            assert_eq!(diff[list], serde_json::json!([]), "{name}: {list}");
        }
        assert_eq!(
            diff["matched"].as_array().unwrap().len(),
            golden(&name)["descendants"].as_array().unwrap().len(),
            "{name}"
        );
    }
}

/// Rewrites doc_children with `change` applied to each tensor (key, dtype, shape, bytes).
fn rewritten(
    dir: &Path,
    change: impl Fn(&[u8], DataType, Vec<u64>, Vec<u8>) -> (DataType, Vec<u64>, Vec<u8>),
) -> PathBuf {
    let bundle = Bundle::open(&prefix("doc_children")).unwrap();
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    for (key, entry) in bundle.tensors().unwrap() {
        if entry.dtype == DataType::DtString {
            let strings = bundle.read_string_values(&key, &entry).unwrap();
            writer.add_strings(&key, &entry.shape, &strings.as_slices()).unwrap();
        } else {
            let mut bytes = vec![0u8; bundle.value_size(&key, &entry).unwrap() as usize];
            bundle.read_value(&key, &entry, &mut bytes, Verify::Checksums).unwrap();
            let (dtype, shape, bytes) = change(&key, entry.dtype, entry.shape.clone(), bytes);
            writer.add_raw(&key, dtype, &shape, &bytes).unwrap();
        }
    }
    writer.finish().unwrap()
}

#[test]
fn diff_reports_changed_values_dtypes_and_shapes() {
    let original = prefix("doc_children");
    let (same_dir, changed_dir) = (scratch("diff-same"), scratch("diff-changed"));
    let copy = rewritten(&same_dir, |_, dtype, shape, bytes| (dtype, shape, bytes));
    assert_eq!(ckview(&[&"diff", &original, &copy]).status.code(), Some(0), "an identical rewrite");
    let changed = rewritten(&changed_dir, |key, dtype, shape, bytes| match key {
        b"leaf/a_var/.ATTRIBUTES/VARIABLE_VALUE" => (dtype, shape, 42.0f32.to_le_bytes().to_vec()),
        b"b_var/.ATTRIBUTES/VARIABLE_VALUE" => (DataType::DtDouble, shape, 1.0f64.to_le_bytes().to_vec()),
        b"vars/0/.ATTRIBUTES/VARIABLE_VALUE" => (dtype, vec![2], [bytes.clone(), bytes].concat()),
        _ => (dtype, shape, bytes),
    });
    let output = ckview(&[&"diff", &"--json", &original, &changed]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let diff: Value = serde_json::from_slice(&output.stdout).unwrap();
    let changes: Vec<(String, Value)> = diff["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| (change["path"].as_str().unwrap().to_string(), change["changes"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            ("root.b_var".to_string(), serde_json::json!(["dtype"])),
            ("root.vars.0".to_string(), serde_json::json!(["shape"])),
            ("root.leaf.a_var".to_string(), serde_json::json!(["values"])),
        ]
    );
    assert_eq!(diff["only_in_a"], serde_json::json!([]));
    let text = stdout(&ckview(&[&"diff", &original, &changed]));
    assert!(text.contains("~ root.b_var #2: dtype float32 -> float64"), "{text}");
    assert!(text.contains("~ root.leaf.a_var #8: values differ"), "{text}");
}

#[test]
fn verify_passes_on_every_fixture() {
    let mut names = fixtures();
    names.push("big_endian".into());
    for name in names {
        let ckpt = if name == "big_endian" { fixture_dir(&name).join("zoo") } else { prefix(&name) };
        let output = ckview(&[&"verify", &ckpt]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}{}", stdout(&output), stderr(&output));
        assert!(output.stderr.is_empty(), "{name}: no progress bar when stderr is not a terminal");
        let report = json(&[&"verify", &"--json", &ckpt]);
        assert_eq!(report["ok"], true, "{name}");
        assert_eq!(report["tensors"].as_u64().unwrap() as usize, Bundle::open(&ckpt).unwrap().tensors().unwrap().len());
    }
}

#[test]
fn verify_reports_every_damaged_tensor() {
    let dir = scratch("verify");
    for file in ["zoo.index", "zoo.data-00000-of-00001"] {
        std::fs::copy(fixture_dir("dtype_zoo").join(file), dir.join(file)).unwrap();
    }
    let ckpt = dir.join("zoo");
    let bundle = Bundle::open(&ckpt).unwrap();
    let damaged = ["float32/.ATTRIBUTES/VARIABLE_VALUE", "string/.ATTRIBUTES/VARIABLE_VALUE"];
    let offsets: Vec<u64> = damaged
        .iter()
        .map(|key| {
            let entry = bundle.entry(key.as_bytes()).unwrap().unwrap();
            entry.offset + entry.size - 1 // the last byte: inside the data either way
        })
        .collect();
    drop(bundle);
    let data = dir.join("zoo.data-00000-of-00001");
    let mut bytes = std::fs::read(&data).unwrap();
    for offset in offsets {
        bytes[offset as usize] ^= 0x01;
    }
    std::fs::write(&data, bytes).unwrap();
    let output = ckview(&[&"verify", &ckpt]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let bad: Vec<&str> = text.lines().filter(|line| line.starts_with("BAD ")).collect();
    assert_eq!(bad.len(), 2, "{text}");
    for (line, key) in bad.iter().zip(damaged) {
        assert!(line.starts_with(&format!("BAD {key}: ")) && line.contains("checksum"), "{line}");
    }
    let report: Value = serde_json::from_slice(&ckview(&[&"verify", &"--json", &ckpt]).stdout).unwrap();
    assert_eq!(report["ok"], false);
    let keys: Vec<&str> = report["bad"].as_array().unwrap().iter().map(|bad| bad["key"].as_str().unwrap()).collect();
    assert_eq!(keys, damaged);
    // The other commands still read the undamaged tensors; show refuses the damaged one.
    assert_eq!(ckview(&[&"keys", &ckpt]).status.code(), Some(0));
    assert_one_line_error(&ckview(&[&"show", &ckpt, &"root.float32"]), "damaged tensor");
}

#[test]
fn a_corrupt_entry_is_one_bad_tensor_and_the_rest_still_reads() {
    use ckview::format::proto::tensor_shape_proto::Dim;
    use ckview::format::proto::{BundleEntryProto, TensorShapeProto};
    let bundle = Bundle::open(&prefix("doc_children")).unwrap();
    let dir = scratch("corrupt-entry");
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    let broken = b"leaf/a_var/.ATTRIBUTES/VARIABLE_VALUE";
    let tensors = bundle.tensors().unwrap();
    for (key, entry) in &tensors {
        if key.as_slice() == broken {
            let shape = TensorShapeProto { dim: vec![Dim { size: -1, name: String::new() }], unknown_rank: false };
            writer.add_entry(
                key,
                BundleEntryProto { dtype: DataType::DtFloat as i32, shape: Some(shape), ..Default::default() },
            );
        } else if entry.dtype == DataType::DtString {
            writer.add_strings(key, &entry.shape, &bundle.read_string_values(key, entry).unwrap().as_slices()).unwrap();
        } else {
            let mut bytes = vec![0u8; bundle.value_size(key, entry).unwrap() as usize];
            bundle.read_value(key, entry, &mut bytes, Verify::Checksums).unwrap();
            writer.add_raw(key, entry.dtype, &entry.shape, &bytes).unwrap();
        }
    }
    let ckpt = writer.finish().unwrap();
    let output = ckview(&[&"verify", &ckpt]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let bad: Vec<&str> = text.lines().filter(|line| line.starts_with("BAD ")).collect();
    assert_eq!(bad.len(), 1, "{text}");
    assert!(bad[0].contains("leaf/a_var") && bad[0].contains("negative dimension"), "{}", bad[0]);
    assert!(text.contains(&format!("1 of {} tensors is bad", tensors.len())), "{text}");
    let tree = ckview(&[&"tree", &ckpt]);
    assert_eq!(tree.status.code(), Some(0), "{}", stderr(&tree));
    let line = stdout(&tree).lines().find(|line| line.contains("root.leaf.a_var")).unwrap().to_string();
    assert!(line.contains("unreadable") && line.contains("negative dimension"), "{line}");
    assert!(stdout(&tree).contains("root.leaf.b_var #9  float32 []  4 B"));
    assert_one_line_error(&ckview(&[&"show", &ckpt, &"root.leaf.a_var"]), "show a corrupt entry");
}

#[test]
fn malformed_inputs_fail_with_one_line() {
    let dir = scratch("malformed");
    let empty_dir = dir.join("no_checkpoint");
    std::fs::create_dir_all(&empty_dir).unwrap();
    std::fs::write(dir.join("zero.index"), b"").unwrap();
    let index = std::fs::read(prefix("doc_children").with_extension("index")).unwrap();
    std::fs::write(dir.join("truncated.index"), &index[..index.len() / 2]).unwrap();
    std::fs::copy(
        fixture_dir("doc_children").join("tf_ckpts-1.data-00000-of-00001"),
        dir.join("truncated.data-00000-of-00001"),
    )
    .unwrap();
    let bad_paths = [dir.join("missing"), empty_dir, dir.join("zero"), dir.join("zero.index"), dir.join("truncated")];
    for path in &bad_paths {
        for command in COMMANDS {
            let output = match command {
                "show" => ckview(&[&command, path, &"a_var/.ATTRIBUTES/VARIABLE_VALUE"]),
                "diff" => ckview(&[&command, path, &prefix("doc_children")]),
                _ => ckview(&[&command, path]),
            };
            assert_one_line_error(&output, &format!("{command} {}", path.display()));
        }
        let output = ckview(&[&"diff", &prefix("doc_children"), path]);
        assert_one_line_error(&output, &format!("diff with {}", path.display()));
    }
    for name in REFUSED {
        for command in ["tree", "children", "descendants"] {
            assert_one_line_error(&ckview(&[&command, &prefix(name)]), &format!("{command} {name}"));
        }
        // The bundle itself is sound: its keys list and its tensors verify.
        assert_eq!(ckview(&[&"keys", &prefix(name)]).status.code(), Some(0), "{name}");
    }
    for name in ["tf1_name_based", "partitioned"] {
        for command in ["tree", "children", "descendants"] {
            let output = ckview(&[&command, &prefix(name)]);
            assert_one_line_error(&output, &format!("{command} {name}"));
            assert!(stderr(&output).contains("name-based"), "{}", stderr(&output));
        }
    }
    let doc = fixture_dir("doc_children");
    for args in [
        vec!["children", "NODE", "99"],
        vec!["children", "NODE", "-1"],
        vec!["children", "NODE", "root.nope"],
        vec!["children", "NODE", "leaf"],
        vec!["frobnicate", "NODE"],
        vec!["tree"],
        vec!["tree", "NODE", "extra"],
        vec!["tree", "--bogus", "NODE"],
        vec!["show", "NODE", "x", "--limit", "many"],
        vec!["keys", "--color", "purple", "NODE"],
        vec![],
    ] {
        let args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            args.iter()
                .map(|arg| {
                    if *arg == "NODE" {
                        &doc as &dyn AsRef<std::ffi::OsStr>
                    } else {
                        arg as &dyn AsRef<std::ffi::OsStr>
                    }
                })
                .collect();
        assert_one_line_error(
            &ckview(&args),
            &format!("{:?}", args.iter().map(|a| a.as_ref().to_owned()).collect::<Vec<_>>()),
        );
    }
}

#[test]
fn help_and_version() {
    let overview = ckview(&[&"--help"]);
    assert_eq!(overview.status.code(), Some(0));
    let text = stdout(&overview);
    for command in COMMANDS {
        assert!(text.contains(&format!("\n  {command} ")), "{command} missing from:\n{text}");
        for form in [
            vec![command, "--help"],
            vec![command, "-h"],
            vec!["help", command],
            vec![command, "x", "--bogus", "--help"],
        ] {
            let args: Vec<&dyn AsRef<std::ffi::OsStr>> =
                form.iter().map(|arg| arg as &dyn AsRef<std::ffi::OsStr>).collect();
            let output = ckview(&args);
            assert_eq!(output.status.code(), Some(0), "{form:?}");
            let help = stdout(&output);
            assert!(help.contains("Example:") && help.contains(&format!("\n  ckview {command} ")), "{form:?}:\n{help}");
            assert!(help.contains(&format!("Usage: ckview {command}")), "{help}");
        }
    }
    assert_eq!(stdout(&ckview(&[&"-h"])), text);
    let version = ckview(&[&"--version"]);
    assert_eq!(stdout(&version), format!("ckview {}\n", env!("CARGO_PKG_VERSION")));
}

/// Every command, with arguments that make it succeed (diff: exit 1 is success here too).
fn every_command() -> Vec<Vec<String>> {
    let doc = fixture_dir("doc_children").display().to_string();
    let diff = fixture_dir("doc_diff").display().to_string();
    let keras = prefix("keras_adam").display().to_string();
    [
        vec!["tree", &keras],
        vec!["keys", &keras],
        vec!["children", &doc],
        vec!["descendants", &doc],
        vec!["show", &keras, "root.optimizer.iter"],
        vec!["diff", &doc, &diff],
        vec!["verify", &keras],
    ]
    .iter()
    .map(|args| args.iter().map(|arg| arg.to_string()).collect())
    .collect()
}

#[test]
fn colours_only_when_asked_and_never_with_no_color() {
    for args in every_command() {
        let with = |extra: &[&str], env: &[(&str, &str)]| -> Output {
            let all: Vec<&dyn AsRef<std::ffi::OsStr>> = args
                .iter()
                .map(|arg| arg as &dyn AsRef<std::ffi::OsStr>)
                .chain(extra.iter().map(|arg| arg as &dyn AsRef<std::ffi::OsStr>))
                .collect();
            ckview_env(&all, env)
        };
        let piped = with(&[], &[]);
        assert!(!piped.stdout.contains(&0x1b), "{args:?}: colour in a pipe");
        // `descendants` prints bare ids, which have nothing to colour.
        if args[0] != "descendants" {
            assert!(with(&["--color=always"], &[]).stdout.contains(&0x1b), "{args:?}: --color=always");
            assert!(with(&["--color=always"], &[("NO_COLOR", "")]).stdout.contains(&0x1b), "{args:?}: empty NO_COLOR");
        }
        assert!(!with(&["--color", "always"], &[("NO_COLOR", "1")]).stdout.contains(&0x1b), "{args:?}: NO_COLOR");
        let json_output = with(&["--json", "--color=always"], &[]);
        assert!(!json_output.stdout.contains(&0x1b), "{args:?}: JSON is never coloured");
        let document: Result<Value, _> = serde_json::from_slice(&json_output.stdout);
        assert!(document.is_ok(), "{args:?}: one JSON document: {}", stdout(&json_output));
        assert_eq!(json_output.stdout.iter().filter(|&&byte| byte == b'\n').count(), 1, "{args:?}: one line");
        assert_eq!(piped.status.code(), json_output.status.code(), "{args:?}");
    }
}

#[test]
fn tree_of_the_readme_shows_every_tensorflow_path_and_the_totals() {
    // README runs it from the repository's root.
    let output = Command::new(env!("CARGO_BIN_EXE_ckview"))
        .args(["tree", "tests/fixtures/doc_children"])
        .current_dir(fixture_dir("../.."))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for (_, path) in golden_paths(&golden("doc_children")) {
        assert!(
            text.lines().any(|line| line.trim_start().starts_with(&format!("{path} #"))),
            "{path} missing from\n{text}"
        );
    }
    assert!(text.contains("root.root -> root (cycle)"), "{text}");
    let last = text.lines().last().unwrap();
    assert_eq!(last, "totals: 13 nodes (13 reachable), 9 variables, 9 parameters, 40 B");
}

/// The totals TensorFlow's golden implies: the variables are the reachable nodes with a
/// VARIABLE_VALUE, then the slot variables (recorded by any node) of reachable variables;
/// parameters are their elements. Returns (variables, of them slots, parameters).
fn golden_totals(golden: &Value) -> (u64, u64, u64) {
    let nodes = golden["nodes"].as_array().unwrap();
    let reachable: BTreeSet<u64> =
        golden["descendants"].as_array().unwrap().iter().map(|id| id.as_u64().unwrap()).collect();
    let elements = |id: u64| -> Option<u64> {
        let attributes = nodes[id as usize]["attributes"].as_array().unwrap();
        let value = attributes.iter().find(|attribute| attribute["name"] == "VARIABLE_VALUE")?;
        let shape = &golden["tensors"][value["checkpoint_key"].as_str().unwrap()]["shape"];
        Some(shape.as_array().unwrap().iter().map(|dim| dim.as_u64().unwrap()).product())
    };
    let (mut counted, mut slots, mut parameters) = (BTreeSet::new(), 0, 0);
    for &id in &reachable {
        if let Some(count) = elements(id) {
            counted.insert(id);
            parameters += count;
        }
    }
    for owner in nodes {
        for slot in owner["slot_variables"].as_array().unwrap() {
            let (variable, slot_node) =
                (slot["original_variable_node_id"].as_u64().unwrap(), slot["slot_variable_node_id"].as_u64().unwrap());
            if reachable.contains(&variable) && !counted.contains(&slot_node) {
                if let Some(count) = elements(slot_node) {
                    counted.insert(slot_node);
                    slots += 1;
                    parameters += count;
                }
            }
        }
    }
    (counted.len() as u64, slots, parameters)
}

#[test]
fn tree_json_places_every_node_at_its_tensorflow_path() {
    for name in views() {
        let golden = golden(&name);
        let tree = json(&[&"tree", &"--json", &prefix(&name)]);
        let entries = tree["entries"].as_array().unwrap();
        for (id, path) in golden_paths(&golden) {
            let placed =
                entries.iter().filter(|entry| entry["kind"] == "node" && entry["node"] == id).collect::<Vec<_>>();
            assert_eq!(placed.len(), 1, "{name}: node {id} expanded once");
            assert_eq!(placed[0]["path"], path, "{name}: node {id}");
        }
        let totals = &tree["totals"];
        assert_eq!(totals["nodes"], golden["num_nodes"], "{name}");
        assert_eq!(
            totals["reachable_nodes"].as_u64().unwrap() as usize,
            golden["descendants"].as_array().unwrap().len(),
            "{name}"
        );
        let (variables, slots, parameters) = golden_totals(&golden);
        assert_eq!(
            (totals["variables"].as_u64().unwrap(), totals["parameters"].as_u64().unwrap()),
            (variables, parameters),
            "{name}"
        );
        assert_eq!(totals["slot_variables"].as_u64().unwrap(), slots, "{name}");
        // Every edge of every reachable node appears once: expanded, shared or cycle. A node that
        // TensorFlow reaches through a child name given twice (whose dict keeps the other child)
        // has no edge of its own and is shown at top level: one entry more.
        let edges: usize = golden["children"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|node| golden["descendants"].as_array().unwrap().contains(&node[0]))
            .map(|node| node[1].as_array().unwrap().len())
            .sum();
        let paths: std::collections::HashMap<u64, String> = golden_paths(&golden).into_iter().collect();
        let without_edge = paths
            .iter()
            .filter(|(&id, path)| {
                id != 0
                    && !golden["children"].as_array().unwrap().iter().any(|node| {
                        let parent = paths.get(&node[0].as_u64().unwrap());
                        node[1].as_array().unwrap().iter().any(|pair| {
                            pair[1] == id && parent.is_some_and(|parent| format!("{parent}.{}", pair[0].as_str().unwrap()) == **path)
                        })
                    })
            })
            .count();
        assert_eq!(entries.len(), 1 + edges + without_edge, "{name}");
    }
    // Slots hang under their variable, shared objects and cycles are marked.
    let keras = json(&[&"tree", &"--json", &prefix("keras_adam")]);
    let kernel = keras["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["path"] == "root.model.layer_with_weights-0.kernel")
        .unwrap();
    let slots: Vec<&str> =
        kernel["slots"].as_array().unwrap().iter().map(|slot| slot["slot"].as_str().unwrap()).collect();
    assert_eq!(slots, ["m", "v"]);
    assert_eq!(kernel["slots"][0]["tensor"]["shape"], serde_json::json!([3, 4]));
    let text = stdout(&ckview(&[&"tree", &prefix("cycles_and_shared")]));
    assert!(text.contains("root.second -> root.first (shared)"), "{text}");
    assert!(text.contains("root.a.b.a -> root.a (cycle)"), "{text}");
}

#[test]
fn tree_text_shows_every_tensorflow_path_of_every_fixture() {
    for name in views() {
        let text = stdout(&ckview(&[&"tree", &prefix(&name)]));
        for (_, path) in golden_paths(&golden(&name)) {
            assert!(
                text.contains(&format!("{path} #")) || text.contains(&format!("path: {path})")),
                "{name}: {path} missing from\n{text}"
            );
        }
        assert!(text.lines().last().unwrap().starts_with("totals: "), "{name}");
    }
}

/// A chain `root.n.n.n...` of `depth` nodes whose last node holds a variable and an edge back
/// to the root.
fn deep_chain(dir: &Path, depth: usize) -> PathBuf {
    let mut nodes: Vec<TrackableObject> = (0..depth)
        .map(|id| TrackableObject {
            children: if id + 1 < depth {
                vec![ObjectReference { node_id: id as i32 + 1, local_name: "n".into() }]
            } else {
                vec![]
            },
            ..Default::default()
        })
        .collect();
    let last = nodes.last_mut().unwrap();
    last.children.push(ObjectReference { node_id: 0, local_name: "back".into() });
    last.attributes.push(SerializedTensor {
        name: "VARIABLE_VALUE".into(),
        full_name: "v".into(),
        checkpoint_key: "v/.ATTRIBUTES/VARIABLE_VALUE".into(),
    });
    let graph = TrackableObjectGraph { nodes }.encode_to_vec();
    let mut writer = BundleWriter::create(&dir.join("deep")).unwrap();
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&graph]).unwrap();
    writer.add_raw(b"v/.ATTRIBUTES/VARIABLE_VALUE", DataType::DtFloat, &[3], &[0u8; 12]).unwrap();
    writer.finish().unwrap()
}

#[test]
fn a_graph_100_000_levels_deep_prints_without_recursion() {
    const DEPTH: usize = 100_000;
    let dir = scratch("deep");
    let ckpt = deep_chain(&dir, DEPTH);
    let output = ckview(&[&"tree", &ckpt]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + DEPTH + 2, "header, one line per node, the edge back, totals");
    assert_eq!(
        *lines.last().unwrap(),
        format!("totals: {DEPTH} nodes ({DEPTH} reachable), 1 variable, 3 parameters, 12 B")
    );
    assert!(lines.iter().all(|line| line.len() < 400), "deep lines are shortened");
    let back = lines[lines.len() - 2];
    assert!(back.contains("[depth 100000]") && back.ends_with("(cycle)"), "{back}");
    let tree = json(&[&"tree", &"--json", &ckpt]);
    assert_eq!(tree["entries"].as_array().unwrap().len(), DEPTH + 1);
    assert_eq!(tree["entries"][DEPTH - 1]["depth"], DEPTH - 1);
    assert_eq!(json(&[&"descendants", &"--json", &ckpt]).as_array().unwrap().len(), DEPTH);
    // A node 40 000 levels down is found by path without building every node's path (the
    // path stays under the 128 KiB limit of one command-line argument).
    let deep = format!("root{}", ".n".repeat(40_000));
    assert_eq!(json(&[&"children", &"--json", &ckpt, &deep]), serde_json::json!({"n": 40_001}));
    assert_eq!(
        json(&[&"show", &"--json", &ckpt, &"v/.ATTRIBUTES/VARIABLE_VALUE"])["values"],
        serde_json::json!([0.0, 0.0, 0.0])
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = scratch("pipe");
    let ckpt = deep_chain(&dir, 50_000);
    for command in ["tree", "descendants"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ckview"))
            .args([command, ckpt.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
        drop(child.stdout.take()); // like `| head -c 64`
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{command}: {}", stderr(&output));
        assert!(output.stderr.is_empty(), "{command}: {}", stderr(&output));
    }
}

/// `args` as the `&dyn AsRef<OsStr>` list the helpers take.
fn args_of(args: &[String]) -> Vec<&dyn AsRef<std::ffi::OsStr>> {
    args.iter().map(|arg| arg as &dyn AsRef<std::ffi::OsStr>).collect()
}

#[test]
fn global_options_go_anywhere_and_help_comes_from_either_side() {
    for args in every_command() {
        let (command, operands) = args.split_first().unwrap();
        let before: Vec<String> = ["--json".to_string(), command.clone()].into_iter().chain(operands.to_vec()).collect();
        let after: Vec<String> = args.iter().cloned().chain(["--json".to_string()]).collect();
        let (first, second) = (ckview(&args_of(&before)), ckview(&args_of(&after)));
        assert_eq!(first.status.code(), second.status.code(), "{args:?}");
        assert_eq!(stdout(&first), stdout(&second), "{args:?}");
        assert!(serde_json::from_slice::<Value>(&first.stdout).is_ok(), "{args:?}: {}", stdout(&first));
        // `ckview -h tree` is tree's help; its examples name no file of this repository.
        let help = stdout(&ckview(&[&"-h", command]));
        assert!(help.contains(&format!("Usage: ckview {command}")), "{help}");
        assert_eq!(help, stdout(&ckview(&[command, &"-h"])));
        let long_help = stdout(&ckview(&[&"help", command]));
        let examples = &long_help[long_help.find("Example:").unwrap()..];
        assert!(!examples.contains("tests/fixtures") && examples.contains("CKPT"), "{examples}");
    }
}

#[test]
fn mistyped_commands_options_paths_and_keys_get_suggestions() {
    let keras = prefix("keras_adam");
    for (args, suggestion) in [
        (vec!["tre".to_string(), keras.display().to_string()], "'tree'"),
        (vec!["tree".to_string(), keras.display().to_string(), "--jsno".to_string()], "'--json'"),
        (
            vec!["show".to_string(), keras.display().to_string(), "root.model.layer_with_weights-0.kernal".to_string()],
            "\"root.model.layer_with_weights-0.kernel\"",
        ),
        (vec!["children".to_string(), keras.display().to_string(), "dense_a/kernl".to_string()], "\"dense_a/kernel\""),
        (vec!["show".to_string(), prefix("tf1_name_based").display().to_string(), "scope/bta".to_string()], "\"scope/beta\""),
    ] {
        let output = ckview(&args_of(&args));
        assert_one_line_error(&output, &format!("{args:?}"));
        assert!(stderr(&output).contains(suggestion), "{args:?}: {}", stderr(&output));
    }
    // ckpt-1 was deleted by max_to_keep=2: the state file TensorFlow wrote names what is left.
    let state = &golden("manager")["checkpoint_state"];
    let output = ckview(&[&"tree", &fixture_dir("manager").join("ckpt-1")]);
    assert_one_line_error(&output, "a deleted checkpoint");
    for kept in state["all_model_checkpoint_paths"].as_array().unwrap() {
        let kept = fixture_dir("manager").join(kept.as_str().unwrap());
        assert!(stderr(&output).contains(&kept.display().to_string()), "{}", stderr(&output));
    }
}

/// The key of a node's VARIABLE_VALUE in TensorFlow's golden.
fn golden_value_key(golden: &Value, node: u64) -> String {
    let attributes = golden["nodes"][node as usize]["attributes"].as_array().unwrap();
    let value = attributes.iter().find(|attribute| attribute["name"] == "VARIABLE_VALUE").unwrap();
    value["checkpoint_key"].as_str().unwrap().to_string()
}

#[test]
fn show_takes_node_ids_every_path_tree_prints_and_full_names() {
    for name in ["keras_adam", "cycles_and_shared"] {
        let golden = golden(name);
        let ckpt = prefix(name);
        let tree = json(&[&"tree", &"--json", &ckpt]);
        let mut shown = 0;
        for entry in tree["entries"].as_array().unwrap() {
            let node = entry["node"].as_u64().unwrap();
            let is_variable =
                golden["nodes"][node as usize]["attributes"].as_array().unwrap().iter().any(|a| a["name"] == "VARIABLE_VALUE");
            if !is_variable {
                continue;
            }
            // A shared entry's own path (the second path of its node) and the node's id, with or
            // without `#`, all show the node's VARIABLE_VALUE.
            let key = golden_value_key(&golden, node);
            for target in [entry["path"].as_str().unwrap().to_string(), node.to_string(), format!("#{node}")] {
                let document = json(&[&"show", &"--json", &ckpt, &target]);
                assert_eq!(document["key"], key.as_str(), "{name}: {target}");
                assert_eq!(document["node"]["id"], node, "{name}: {target}");
                shown += 1;
            }
        }
        assert!(shown >= 6, "{name}: {shown}");
    }
    let cycles = json(&[&"show", &"--json", &prefix("cycles_and_shared"), &"root.second"]);
    assert_eq!(cycles["node"]["path"], "root.first");
    // Slot variables have no path: their ids and full names reach them.
    let keras = golden("keras_adam");
    for (node, attributes) in keras["nodes"].as_array().unwrap().iter().enumerate() {
        for attribute in attributes["attributes"].as_array().unwrap() {
            let full_name = attribute["full_name"].as_str().unwrap();
            let document = json(&[&"show", &"--json", &prefix("keras_adam"), &full_name]);
            assert_eq!(document["key"], attribute["checkpoint_key"], "{full_name}");
            assert_eq!(document["node"]["id"], node, "{full_name}");
        }
    }
    // A full_name several nodes share (TensorFlow's default `Variable`) is refused, naming them.
    let output = ckview(&[&"show", &fixture_dir("doc_children"), &"Variable"]);
    assert_one_line_error(&output, "an ambiguous full_name");
    assert!(stderr(&output).contains("#1, #2"), "{}", stderr(&output));
}

#[test]
fn tree_and_keys_show_and_match_full_names() {
    let golden = golden("keras_adam");
    let ckpt = prefix("keras_adam");
    let text = stdout(&ckview(&[&"tree", &ckpt]));
    let tree = json(&[&"tree", &"--json", &ckpt]);
    for entry in tree["entries"].as_array().unwrap().iter().filter(|entry| entry["kind"] == "node") {
        let node = entry["node"].as_u64().unwrap() as usize;
        let tensors = entry["tensors"].as_array().unwrap();
        for (tensor, attribute) in tensors.iter().zip(golden["nodes"][node]["attributes"].as_array().unwrap()) {
            assert_eq!(tensor["full_name"], attribute["full_name"], "node {node}");
        }
        if let Some(tensor) = tensors.first() {
            let line = text.lines().find(|line| line.trim_start().starts_with(&format!("{} #", entry["path"].as_str().unwrap())));
            let full_name = tensor["full_name"].as_str().unwrap();
            assert!(line.unwrap().ends_with(&format!("({full_name})")), "{line:?}");
        }
    }
    // Paths and full names agree in doc_children (`Variable` is TensorFlow's default): none shown.
    let doc = stdout(&ckview(&[&"tree", &fixture_dir("doc_children")]));
    assert!(doc.lines().all(|line| !line.ends_with(')') || line.ends_with("(cycle)")), "{doc}");
    // `keys dense_a` finds the layer's variables and their slots by full name alone.
    let listed = json(&[&"keys", &"--json", &ckpt, &"dense_a"]);
    let mut expected: Vec<&str> = golden["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|node| node["attributes"].as_array().unwrap())
        .filter(|attribute| attribute["full_name"].as_str().unwrap().contains("dense_a"))
        .map(|attribute| attribute["checkpoint_key"].as_str().unwrap())
        .collect();
    expected.sort();
    let keys: Vec<&str> = listed.as_array().unwrap().iter().map(|row| row["key"].as_str().unwrap()).collect();
    assert_eq!(keys, expected);
    assert_eq!(expected.len(), 6, "kernel, bias and two slots of each");
    assert!(keys.iter().all(|key| !key.contains("dense_a")), "matched by full name, not by key");
}

#[test]
fn slices_of_partitioned_tensors_read_as_tensorflow_names_them() {
    let ckpt = prefix("partitioned");
    let shown = json(&[&"show", &"--json", &ckpt, &"part_var"]);
    let slices = shown["slice_list"].as_array().unwrap();
    assert_eq!(slices.len(), shown["slices"].as_u64().unwrap() as usize);
    // The slices tile TensorFlow's shape: rows start,length each, every column.
    let shape = &golden("partitioned")["tensors"]["part_var"]["shape"];
    let (rows, columns) = (shape[0].as_u64().unwrap(), shape[1].as_u64().unwrap());
    let mut next_row = 0;
    for slice in slices {
        let spec = slice["slice"].as_str().unwrap();
        let (row, column) = spec.split_once(':').unwrap();
        assert_eq!(column, format!("0,{columns}"), "{spec}");
        let (start, length) = row.split_once(',').unwrap();
        assert_eq!(start.parse::<u64>().unwrap(), next_row, "{spec}");
        next_row += length.parse::<u64>().unwrap();
    }
    assert_eq!(next_row, rows);
    let text = stdout(&ckview(&[&"show", &ckpt, &"part_var"]));
    assert!(text.contains(&format!("part_var slice {}:", slices[0]["slice"].as_str().unwrap())), "{text}");
    // A damaged slice is reported by name and extents, never by the raw bytes of its key.
    let dir = scratch("slice");
    for file in ["model.ckpt.index", "model.ckpt.data-00000-of-00001"] {
        std::fs::copy(fixture_dir("partitioned").join(file), dir.join(file)).unwrap();
    }
    let data = dir.join("model.ckpt.data-00000-of-00001");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[slices[1]["offset"].as_u64().unwrap() as usize] ^= 1;
    std::fs::write(&data, bytes).unwrap();
    let output = ckview(&[&"verify", &dir.join("model.ckpt")]);
    assert_eq!(output.status.code(), Some(1));
    let bad = stdout(&output).lines().find(|line| line.starts_with("BAD ")).unwrap().to_string();
    assert!(bad.contains(&format!("part_var slice {}", slices[1]["slice"].as_str().unwrap())), "{bad}");
    assert!(!bad.contains("\\x00"), "{bad}");
}

/// The float32 values of a golden tensor.
fn golden_f32s(golden: &Value, key: &str) -> Vec<f32> {
    hex_bytes(golden["tensors"][key]["hex"].as_str().unwrap())
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect()
}

#[test]
fn diff_counts_limits_and_measures_changed_values() {
    let original = prefix("doc_children");
    let dir = scratch("diff-values");
    let changed = rewritten(&dir, |key, dtype, shape, bytes| match key {
        b"leaf/a_var/.ATTRIBUTES/VARIABLE_VALUE" => (dtype, shape, 42.0f32.to_le_bytes().to_vec()),
        b"b_var/.ATTRIBUTES/VARIABLE_VALUE" => (dtype, shape, f32::NAN.to_le_bytes().to_vec()),
        b"vars/0/.ATTRIBUTES/VARIABLE_VALUE" => (dtype, vec![2], [bytes.clone(), bytes].concat()),
        _ => (dtype, shape, bytes),
    });
    let golden = golden("doc_children");
    let output = ckview(&[&"diff", &"--json", &"--values", &original, &changed]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let diff: Value = serde_json::from_slice(&output.stdout).unwrap();
    let change = |path: &str| diff["changed"].as_array().unwrap().iter().find(|c| c["path"] == path).unwrap().clone();
    let a_var = change("root.leaf.a_var");
    let before = golden_f32s(&golden, "leaf/a_var/.ATTRIBUTES/VARIABLE_VALUE")[0];
    let measured = &a_var["value_diff"];
    assert_eq!(measured["max_abs_diff"].as_f64().unwrap(), (42.0 - f64::from(before)).abs());
    assert_eq!(measured["max_rel_diff"].as_f64().unwrap(), (42.0 - f64::from(before)).abs() / f64::from(before).abs());
    assert_eq!((measured["differing"].as_u64(), measured["nan_a"].as_u64(), measured["nan_b"].as_u64()), (Some(1), Some(0), Some(0)));
    assert_eq!(change("root.b_var")["value_diff"]["nan_b"], 1);
    assert_eq!(change("root.vars.0")["value_diff"], Value::Null, "shapes differ: nothing to measure");
    assert_eq!(diff["counts"]["changes"], serde_json::json!({"shape": 1, "values": 2}));
    let text = stdout(&ckview(&[&"diff", &"--values", &original, &changed]));
    assert!(text.contains("~ root.b_var #2: values differ (float32 []), max abs diff 0.0, max rel diff 0.0, 1 elements differ, NaN 0 in A, 1 in B"), "{text}");
    // --stat: the counts and nothing else; --limit: at most N per list, exact counts.
    let stat = stdout(&ckview(&[&"diff", &"--stat", &fixture_dir("doc_children"), &fixture_dir("doc_diff")]));
    let full: Value =
        serde_json::from_slice(&ckview(&[&"diff", &"--json", &fixture_dir("doc_children"), &fixture_dir("doc_diff")]).stdout)
            .unwrap();
    assert!(!stat.lines().any(|line| line.starts_with("- ") || line.starts_with("+ ")), "{stat}");
    let counts = &full["counts"];
    let summary = format!(
        "{} nodes matched, {} only in A, {} only in B, {} changed",
        counts["matched"], counts["only_in_a"], counts["only_in_b"], counts["changed"]
    );
    assert_eq!(stat.lines().last().unwrap(), summary);
    assert_eq!(counts["only_in_b"].as_u64().unwrap() as usize, full["only_in_b"].as_array().unwrap().len());
    let limited = ckview(&[&"diff", &"--json", &"--limit", &"2", &fixture_dir("doc_children"), &fixture_dir("doc_diff")]);
    assert_eq!(limited.status.code(), Some(1));
    let limited: Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(limited["counts"], full["counts"]);
    assert_eq!(limited["truncated"], true);
    assert_eq!(limited["only_in_b"].as_array().unwrap()[..], full["only_in_b"].as_array().unwrap()[..2]);
}

#[test]
fn diff_of_two_tf1_checkpoints_compares_them_key_by_key() {
    let original = prefix("tf1_name_based");
    let golden = golden("tf1_name_based");
    let bundle = Bundle::open(&original).unwrap();
    let dir = scratch("tf1-diff");
    let mut writer = BundleWriter::create(&dir.join("model.ckpt")).unwrap();
    let alpha = golden_f32s(&golden, "alpha");
    for (key, entry) in bundle.tensors().unwrap() {
        let mut bytes = vec![0u8; bundle.value_size(&key, &entry).unwrap() as usize];
        bundle.read_value(&key, &entry, &mut bytes, Verify::Checksums).unwrap();
        if key == b"alpha" {
            // A conversion's rounding error on the last element.
            let mut values = alpha.clone();
            *values.last_mut().unwrap() += 0.25;
            bytes = values.iter().flat_map(|value| value.to_le_bytes()).collect();
        }
        if key != b"gamma" {
            writer.add_raw(&key, entry.dtype, &entry.shape, &bytes).unwrap();
        }
    }
    let copy = writer.finish().unwrap();
    let output = ckview(&[&"diff", &"--json", &"--values", &original, &copy]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let diff: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(diff["compared_by"], "keys");
    assert_eq!(diff["only_in_a"], serde_json::json!([{"node": null, "path": null, "key": "gamma"}]));
    let changed = diff["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!((changed[0]["a"]["key"].as_str(), changed[0]["changes"].clone()), (Some("alpha"), serde_json::json!(["values"])));
    let last = *alpha.last().unwrap();
    let expected = f64::from(last + 0.25) - f64::from(last);
    assert_eq!(changed[0]["value_diff"]["max_abs_diff"].as_f64().unwrap(), expected.abs());
    assert_eq!(ckview(&[&"diff", &original, &original]).status.code(), Some(0));
    let text = stdout(&ckview(&[&"diff", &original, &copy]));
    assert!(text.contains("- gamma") && text.contains("~ alpha: values differ"), "{text}");
}

#[test]
fn completions_and_the_manual_page() {
    let bash = ckview(&[&"completions", &"bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = stdout(&bash);
    assert!(COMMANDS.iter().all(|command| script.contains(command)) && script.contains("--json"), "{script}");
    let man = stdout(&ckview(&[&"man"]));
    assert!(man.contains(".TH ckview 1") && COMMANDS.iter().all(|command| man.contains(command)), "{man}");
}

/// The library stays small: none of the command line's crates are its dependencies (regular
/// expressions too: the library's export takes a naming function, the command line's regexes).
#[test]
fn the_library_depends_on_none_of_the_command_lines_crates() {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", "ckview", "-e", "normal", "--prefix", "none"])
        .current_dir(fixture_dir("../.."))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let listed = stdout(&output);
    let crates: BTreeSet<&str> = listed.lines().filter_map(|line| line.split_whitespace().next()).collect();
    assert!(crates.contains("ckview") && crates.contains("prost"), "{listed}");
    // serde and serde_json are the library's since export: the safetensors crate writes its
    // header with them (and they write model.safetensors.index.json).
    for name in ["clap", "clap_builder", "indicatif", "anstream", "strsim", "object_store", "tokio", "reqwest", "regex"] {
        assert!(!crates.contains(name), "the library depends on {name}:\n{listed}");
    }
}

// ---- V1 checkpoints ("SavedTensorSlices") ------------------------------------------------

fn v1_answers() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir("v1").join("tf_answers.json")).unwrap()).unwrap()
}

#[test]
fn keys_of_v1_checkpoints_list_as_tensorflow_lists_them() {
    let answers = v1_answers();
    for (path, answer_key) in [
        ("model.ckpt", "model.ckpt"),
        ("partitioned/model.ckpt", "partitioned/model.ckpt"),
        ("sharded/model.ckpt-?????-of-00002", "sharded/model.ckpt-?????-of-00002"),
        ("sharded/model.ckpt", "sharded/model.ckpt-?????-of-00002"),
        ("sharded/model.ckpt-00001-of-00002", "sharded/model.ckpt-00001-of-00002"),
    ] {
        let answer = &answers["checkpoints"][answer_key];
        let listed = json(&[&"keys", &"--json", &fixture_dir("v1").join(path)]);
        let rows = listed.as_array().unwrap();
        let got: Vec<(String, String, Value)> =
            rows.iter().map(|row| (row["key"].as_str().unwrap().into(), row["dtype"].as_str().unwrap().into(), row["shape"].clone())).collect();
        let expected: Vec<(String, String, Value)> = answer["list_variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let key = pair[0].as_str().unwrap();
                (key.into(), answer["dtype_map"][key].as_str().unwrap().into(), pair[1].clone())
            })
            .collect();
        assert_eq!(got, expected, "{path}");
        assert!(rows.iter().all(|row| row["shard"].is_null() && row["full_name"].is_null()), "{path}");
    }
    let text = stdout(&ckview(&[&"keys", &fixture_dir("v1").join("partitioned/model.ckpt")]));
    assert!(text.contains("3 slices") && text.contains("2 tensors, 172 B"), "{text}");
}

#[test]
fn show_of_v1_tensors_reads_what_tensorflow_reads() {
    let answers = v1_answers();
    let answer = &answers["checkpoints"]["model.ckpt"];
    for (key, tf) in answer["tensors"].as_object().unwrap() {
        let shown = json(&[&"show", &"--json", &fixture_dir("v1").join("model.ckpt"), key]);
        assert_eq!(shown["dtype"], answer["dtype_map"][key], "{key}");
        assert_eq!(shown["shape"], answer["shape_map"][key], "{key}");
        if let Some(strings) = tf.get("strings_hex") {
            assert_eq!(&shown["values_hex"], strings, "{key}");
        } else if let Some(values) = tf.get("values") {
            let bools = values.as_array().unwrap().iter().all(Value::is_boolean);
            if bools {
                assert_eq!(&shown["values"], values, "{key}");
            } else {
                let got: Vec<f64> = shown["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                let want: Vec<f64> = values.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                assert_eq!(got, want, "{key}");
            }
        }
    }
    // The partitioned variable assembled: arange(40) - 20 as a 10x4 matrix.
    let part = json(&[&"show", &"--json", &"--limit", &"0", &fixture_dir("v1").join("partitioned/model.ckpt"), &"part_var"]);
    let values: Vec<f64> = part["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(values, (0..40).map(|i| i as f64 - 20.0).collect::<Vec<_>>());
    assert_eq!(part["slices"], 3);
    let missing = ckview(&[&"show", &fixture_dir("v1").join("model.ckpt"), &"f32_vex"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("did you mean \"f32_vec\""), "{}", stderr(&missing));
}

#[test]
fn verify_reads_every_tensor_of_a_v1_checkpoint() {
    for (path, tensors) in [("model.ckpt", 17), ("partitioned/model.ckpt", 2), ("sharded/model.ckpt", 3)] {
        let report = json(&[&"verify", &"--json", &fixture_dir("v1").join(path)]);
        assert_eq!((report["ok"].as_bool(), report["tensors"].as_u64()), (Some(true), Some(tensors)), "{path}: {report}");
    }
    let text = stdout(&ckview(&[&"verify", &fixture_dir("v1").join("partitioned/model.ckpt")]));
    assert!(text.starts_with("OK 2 tensors, 172 B"), "{text}");
}
