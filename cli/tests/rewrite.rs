//! `ckview rewrite` on the adam_trained fixture (models TensorFlow trained with Adam): the output
//! verifies, TensorFlow 2.21 restores it into a fresh model (tests/python/tf_restore.py), the
//! summary gives the sizes on disk, and every mistake is one line that writes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn adam(kind: &str) -> PathBuf {
    let folder = root().join("tests/fixtures/adam_trained").join(kind);
    if kind == "tf1" {
        folder.join("model.ckpt")
    } else {
        folder.join("ckpt-1")
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-cli-rewrite-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ckview(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ckview")).args(args.iter().map(|arg| arg.as_ref())).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn size(prefix: &Path) -> u64 {
    let name = prefix.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(prefix.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&format!("{name}.")))
        .map(|entry| entry.metadata().unwrap().len())
        .sum()
}

/// TensorFlow's verdict on each job (see tests/python/tf_restore.py).
fn tensorflow(jobs: &Value) -> Vec<Value> {
    let python = root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: TensorFlow 2.21 is the oracle of these tests", python.display());
    let mut child = Command::new(python)
        .arg(root().join("tests/python/tf_restore.py"))
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), jobs).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "tf_restore.py failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn drop_slots_writes_a_smaller_checkpoint_that_verifies_and_tensorflow_restores() {
    let dir = scratch("drop-slots");
    let mut jobs = Vec::new();
    for kind in ["keras3", "legacy"] {
        let out = dir.join(kind).join("ckpt-1");
        std::fs::create_dir(dir.join(kind)).unwrap();
        let output = ckview(&[&"--json", &"rewrite", &adam(kind), &out, &"--drop-slots"]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary["bytes_before"], size(&adam(kind)), "{summary}");
        assert_eq!(summary["bytes_after"], size(&out), "{summary}");
        println!("{kind}: ckview rewrite --drop-slots: {} -> {} bytes", summary["bytes_before"], summary["bytes_after"]);
        let verify = ckview(&[&"verify", &out]);
        assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
        // No slot is left under any variable.
        let tree = ckview(&[&"--json", &"tree", &out]);
        let tree: Value = serde_json::from_slice(&tree.stdout).unwrap();
        assert_eq!(tree["totals"]["slot_variables"], 0);
        jobs.push(json!({"kind": kind, "source": adam(kind), "out": out}));
        // The text summary names the output and both sizes.
        let again = dir.join(kind).join("text");
        let output = ckview(&[&"rewrite", &adam(kind), &again, &"--drop-slots"]);
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(&again.display().to_string()) && text.contains(&format!("-> {} bytes", size(&again))), "{text}");
    }
    for verdict in tensorflow(&Value::Array(jobs)) {
        assert_eq!(verdict["error"], Value::Null, "{verdict}");
        assert!(verdict["variables"].as_array().unwrap().iter().all(|variable| variable[1] == true), "{verdict}");
    }
}

#[test]
fn select_and_drop_take_what_tree_prints_and_tf1_keys() {
    let dir = scratch("select");
    // By node id, as tree prints it: #2 is the legacy fixture's optimizer.
    let out = dir.join("by-id");
    let output = ckview(&[&"--json", &"rewrite", &adam("legacy"), &out, &"--drop", &"#2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let children = ckview(&[&"--json", &"children", &out]);
    let children: Value = serde_json::from_slice(&children.stdout).unwrap();
    let source: Value = serde_json::from_slice(&ckview(&[&"--json", &"children", &adam("legacy")]).stdout).unwrap();
    assert_eq!(source["optimizer"], 2, "the fixture's optimizer is node 2");
    assert!(children.get("optimizer").is_none() && children.get("model").is_some(), "{children}");
    let out = dir.join("tf1");
    let output = ckview(&[&"rewrite", &adam("tf1"), &out, &"--drop", &"*/Adam*"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let keys: Value = serde_json::from_slice(&ckview(&[&"--json", &"keys", &out]).stdout).unwrap();
    let all: Value = serde_json::from_slice(&ckview(&[&"--json", &"keys", &adam("tf1")]).stdout).unwrap();
    let names = |keys: &Value| keys.as_array().unwrap().iter().map(|key| key["key"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let expected: Vec<String> = names(&all).into_iter().filter(|key| !key.contains("/Adam")).collect();
    assert_eq!(names(&keys), expected);
    assert_eq!(ckview(&[&"verify", &out]).status.code(), Some(0));
    // A V1 file (SavedTensorSlices) becomes a bundle with the same keys, shapes and dtypes.
    let v1 = root().join("tests/fixtures/v1/partitioned/model.ckpt");
    let out = dir.join("from-v1");
    let output = ckview(&[&"--json", &"rewrite", &v1, &out]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((summary["nodes_before"].clone(), summary["tensors_before"].clone()), (json!(0), summary["tensors_after"].clone()));
    assert!(dir.join("from-v1.index").exists());
    let listed = |path: &Path| -> Vec<Value> {
        let keys: Value = serde_json::from_slice(&ckview(&[&"--json", &"keys", &path]).stdout).unwrap();
        keys.as_array().unwrap().iter().map(|key| json!([key["key"], key["dtype"], key["shape"]])).collect()
    };
    assert_eq!(listed(&out), listed(&v1));
    assert_eq!(ckview(&[&"verify", &out]).status.code(), Some(0));
}

#[test]
fn mistakes_are_one_line_and_write_nothing() {
    let dir = scratch("mistakes");
    let out = dir.join("out");
    let cases: [(&[&dyn AsRef<std::ffi::OsStr>], &str); 6] = [
        (&[&"rewrite", &adam("legacy"), &out, &"--drop", &"root.model.layer_with_weights-9"], "root.model.layer_with_weights-0"),
        (&[&"rewrite", &adam("legacy"), &adam("legacy")], "the output is the checkpoint being read"),
        (&[&"rewrite", &adam("legacy"), &out, &"--drop", &"root"], "cannot be dropped"),
        (&[&"rewrite", &adam("tf1"), &out, &"--drop-slots"], "drop them by key"),
        (&[&"rewrite", &adam("tf1"), &out, &"--select", &"no/such/key"], "no key matches"),
        (&[&"rewrite", &root().join("tests/fixtures/v1/model.ckpt"), &out, &"--drop", &"no/such/key"], "no key matches"),
    ];
    for (args, says) in cases {
        let output = ckview(args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("ckview: error: ") && text.contains(says), "{says}: {text}");
        assert!(output.stdout.is_empty());
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "something was written");
}

/// The README's "Drop the optimizer state" walk-through prints what the README shows.
#[test]
fn the_readme_walk_through_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let marker = "<!-- output of: examples/shell/drop_optimizer_state.sh -->\n```\n";
    let start = readme.find(marker).expect("README.md shows the walk-through's output") + marker.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let python = root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: TensorFlow 2.21 runs the walk-through", python.display());
    let _ = std::fs::remove_dir_all(root().join("target/small"));
    let output = Command::new("sh")
        .arg("examples/shell/drop_optimizer_state.sh")
        .current_dir(root())
        .env("CKVIEW", env!("CARGO_BIN_EXE_ckview"))
        .env("PYTHON", python)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), shown);
}
