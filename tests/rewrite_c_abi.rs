//! `ckview_rewrite` from C (tests/c/test_rewrite.c) under AddressSanitizer, UBSan and valgrind:
//! its summaries equal the Rust API's, mistakes write nothing, and TensorFlow 2.21 restores what
//! C wrote into a fresh model.

mod common;
#[path = "common/native.rs"]
#[allow(dead_code)]
mod native;

use std::path::Path;
use std::process::{Command, Stdio};

use ckview::format::Bundle;
use ckview::rewrite::{rewrite, RewriteOptions};
use common::fixture_dir;
use native::{compile, root, run, Instrument};
use serde_json::{json, Value};

#[test]
fn c_rewrites_equal_rusts_and_tensorflow_restores_them() {
    let source = fixture_dir("adam_trained").join("legacy/ckpt-1");
    let tf1 = fixture_dir("adam_trained").join("tf1/model.ckpt");
    for instrument in [Instrument::Sanitizers, Instrument::None] {
        let dir = std::env::temp_dir().join(format!("ckview-rewrite-c-{}-{instrument:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let exe = compile("test_rewrite", &[root().join("tests/c/test_rewrite.c")], false, instrument);
        let output = String::from_utf8(run(&exe, &[&source, &tf1, &dir], instrument).stdout).unwrap();
        // The same rewrites through the Rust API, for the numbers C must report.
        let reference = dir.join("reference");
        std::fs::create_dir(&reference).unwrap();
        let expected = [
            ("c-drop-slots", &source, RewriteOptions { drop_slots: true, ..Default::default() }),
            ("c-select-model", &source, RewriteOptions { drop_slots: true, select: vec!["root.model".into()], ..Default::default() }),
            ("c-tf1", &tf1, RewriteOptions { drop: vec!["*/Adam*".into()], ..Default::default() }),
        ];
        let mut lines = output.lines();
        for (name, from, options) in &expected {
            let s = rewrite(&Bundle::open(from).unwrap(), &reference.join(name), options).unwrap();
            let line = format!(
                "{name} nodes {} {} tensors {} {} bytes {} {}",
                s.nodes_before, s.nodes_after, s.tensors_before, s.tensors_after, s.bytes_before, s.bytes_after
            );
            assert_eq!(lines.next(), Some(line.as_str()), "{output}");
            // Byte for byte the files Rust wrote.
            for suffix in [".index", ".data-00000-of-00001"] {
                let read = |dir: &Path| std::fs::read(dir.join(format!("{name}{suffix}"))).unwrap();
                assert_eq!(read(&dir), read(&reference), "{name}{suffix}");
            }
        }
        let mut written: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        written.sort();
        let mut expected_files = vec!["reference".to_string()];
        for name in ["c-copy", "c-drop-slots", "c-select-model", "c-tf1"] {
            expected_files.push(format!("{name}.data-00000-of-00001"));
            expected_files.push(format!("{name}.index"));
        }
        expected_files.sort();
        assert_eq!(written, expected_files, "a failed rewrite left something");
        if instrument == Instrument::None {
            restored_by_tensorflow(&source, &dir);
        }
    }
}

fn restored_by_tensorflow(source: &Path, dir: &Path) {
    let python = root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: TensorFlow 2.21 is the oracle of these tests", python.display());
    let jobs: Vec<Value> = ["c-drop-slots", "c-select-model", "c-copy"].iter().map(|name| json!({"kind": "legacy", "source": source, "out": dir.join(name)})).collect();
    let mut child = Command::new(python).arg(root().join("tests/python/tf_restore.py")).env("TF_CPP_MIN_LOG_LEVEL", "3").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &jobs).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "tf_restore.py failed");
    for verdict in serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap() {
        assert_eq!(verdict["error"], Value::Null, "{verdict}");
        assert!(verdict["variables"].as_array().unwrap().iter().all(|variable| variable[1] == true), "{verdict}");
    }
}

/// The C++ binding's `ReaderRef::rewrite` (bindings/cpp/tests/test_rewrite.cpp): the same
/// summaries as the Rust API, mistakes as `ckview::Error`s with the C statuses.
#[test]
fn cpp_rewrites_equal_rusts() {
    let source = fixture_dir("adam_trained").join("legacy/ckpt-1");
    let tf1 = fixture_dir("adam_trained").join("tf1/model.ckpt");
    for instrument in [Instrument::Sanitizers, Instrument::None] {
        let dir = std::env::temp_dir().join(format!("ckview-rewrite-cpp-{}-{instrument:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let exe = compile("test_rewrite_cpp", &[root().join("bindings/cpp/tests/test_rewrite.cpp")], true, instrument);
        let output = String::from_utf8(run(&exe, &[&source, &tf1, &dir], instrument).stdout).unwrap();
        let expected = [
            ("cpp-drop-slots", &source, RewriteOptions { drop_slots: true, ..Default::default() }),
            ("cpp-select-model", &source, RewriteOptions { drop_slots: true, select: vec!["root.model".into()], ..Default::default() }),
            ("cpp-tf1", &tf1, RewriteOptions { drop: vec!["*/Adam*".into()], ..Default::default() }),
        ];
        let reference = dir.join("reference");
        std::fs::create_dir(&reference).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        for ((name, from, options), line) in expected.iter().zip(&lines) {
            let s = rewrite(&Bundle::open(from).unwrap(), &reference.join(name), options).unwrap();
            let want = format!("{name} nodes {} {} tensors {} {} bytes {} {}", s.nodes_before, s.nodes_after, s.tensors_before, s.tensors_after, s.bytes_before, s.bytes_after);
            assert_eq!(*line, want, "{output}");
        }
        assert_eq!(lines.len(), expected.len(), "{output}");
        assert!(!dir.join("never.index").exists() && !dir.join("never.data-00000-of-00001").exists());
    }
}
