//! The C++ binding (`bindings/cpp/ckview.hpp`) exercised from C++: its programs and examples are
//! built with every warning an error and run under ASan+UBSan and under valgrind, and what they
//! print is compared with TensorFlow's goldens (`tests/fixtures/*/golden.json`).

mod common;
#[path = "common/dumps.rs"]
mod dumps;
#[path = "common/native.rs"]
#[allow(dead_code)] // helpers for the C tests (compile_dlopen) go unused here
mod native;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture_dir, fixture_names, golden, prefix};
use native::{compile, root, run, Instrument};

const BOTH: [Instrument; 2] = [Instrument::Sanitizers, Instrument::None];

fn cpp(relative: &str) -> PathBuf {
    root().join("bindings/cpp").join(relative)
}

/// Builds a C++ program of the binding; executables are prefixed `cpp_` so that they never
/// collide with the C tests' programs in the same folder.
fn build(name: &str, source: &str, instrument: Instrument) -> PathBuf {
    compile(&format!("cpp_{name}"), &[cpp(source)], true, instrument)
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every C++ file of the binding, for the stricter warning check.
fn cpp_sources() -> Vec<PathBuf> {
    let mut sources = Vec::new();
    for folder in ["tests", "examples"] {
        for entry in std::fs::read_dir(cpp(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "cpp") {
                sources.push(path);
            }
        }
    }
    sources.sort();
    sources
}

#[test]
fn header_and_programs_compile_with_strict_warnings() {
    let sources = cpp_sources();
    assert!(sources.len() >= 6, "{sources:?}");
    for source in sources {
        let output = Command::new("c++")
            .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"])
            .args(["-Wshadow", "-Wconversion", "-Wsign-conversion", "-Wold-style-cast", "-Wnon-virtual-dtor", "-Wcast-qual"])
            .arg(format!("-I{}", root().join("include").display()))
            .arg(format!("-I{}", root().join("bindings/cpp").display()))
            .arg(&source)
            .output()
            .expect("c++ runs");
        assert!(output.status.success(), "{}: {}", source.display(), String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn children_example_prints_the_documentation_listing() {
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    for instrument in BOTH {
        let exe = build("children", "examples/children.cpp", instrument);
        let output = run(&exe, &[&prefix("doc_children")], instrument);
        assert_eq!(stdout(&output), expected, "{instrument:?}");
    }
}

#[test]
fn diff_module_tree_example_equals_tensorflow() {
    // The example's module tree is the documentation's root2; TensorFlow diffed the same tree.
    let golden = golden("doc_diff");
    let paths: std::collections::HashMap<u64, &str> = golden["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_u64().unwrap(), pair[1].as_str().unwrap()))
        .collect();
    let mut expected = String::new();
    for id in golden["diff_only_in_checkpoint"].as_array().unwrap() {
        let id = id.as_u64().unwrap();
        writeln!(expected, "only in checkpoint: {id} {}", paths[&id]).unwrap();
    }
    for index in golden["diff_only_in_trackable"].as_array().unwrap() {
        let object = &golden["trackable_tree"][index.as_u64().unwrap() as usize];
        writeln!(expected, "only in live: {}", object["path"].as_str().unwrap()).unwrap();
    }
    assert!(expected.starts_with("only in checkpoint: 4 root.leaf\n"), "{expected}");
    for instrument in BOTH {
        let exe = build("diff_module_tree", "examples/diff_module_tree.cpp", instrument);
        let output = run(&exe, &[&prefix("doc_diff")], instrument);
        assert_eq!(stdout(&output), expected, "{instrument:?}");
        if instrument == Instrument::Sanitizers {
            // A ckview::Error reaches main with the library's status and message.
            let output = Command::new(&exe).arg(fixture_dir("tf1_name_based").join("model.ckpt")).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{stderr}");
            assert!(stderr.starts_with("CKVIEW_NAME_BASED_CHECKPOINT: ") && stderr.contains("TF1 name-based"), "{stderr}");
        }
    }
}


#[test]
fn every_fixture_read_through_cpp_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = build("dump_view", "tests/dump_view.cpp", instrument);
        for name in fixture_names() {
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(stdout(&output), dumps::view_dump(&name), "{name} ({instrument:?})");
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} comparisons");
}


#[test]
fn every_tensor_read_through_cpp_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = build("dump_tensors", "tests/dump_tensors.cpp", instrument);
        for name in fixture_names() {
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(stdout(&output), dumps::tensor_dump(&golden(&name)), "{name} ({instrument:?})");
            compared += 1;
        }
        // The big-endian rewrite of dtype_zoo holds the same values; borrow() must refuse its
        // multi-byte tensors and read() must swap them (the program checks both).
        let big_endian = fixture_dir("big_endian").join("zoo");
        let output = run(&exe, &[&big_endian], instrument);
        assert_eq!(stdout(&output), dumps::tensor_dump(&golden("dtype_zoo")), "big_endian ({instrument:?})");
    }
    assert!(compared >= 20);
}


#[test]
fn match_and_diff_through_cpp_equal_tensorflow() {
    for instrument in BOTH {
        let exe = build("test_compare", "tests/test_compare.cpp", instrument);
        for name in ["doc_children", "doc_diff", "cycles_and_shared"] {
            let (edges, expected) = dumps::live_graph(name, "cpp");
            for mode in ["callback", "edges"] {
                let output = run(&exe, &[&prefix(name), &edges, Path::new(mode)], instrument);
                assert_eq!(stdout(&output), expected, "{name} {mode} ({instrument:?})");
            }
        }
    }
}

#[test]
fn binding_contract_holds() {
    // Errors and statuses, exceptions thrown by callables, move semantics, tensor reads, threads.
    for instrument in BOTH {
        let exe = build("test_binding", "tests/test_binding.cpp", instrument);
        let output = run(&exe, &[&fixture_dir("")], instrument);
        let summary = stdout(&output);
        assert!(summary.trim_end().ends_with(" passed, 0 failed"), "{summary}");
        let passed: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
        assert!(passed >= 100, "{summary}");
    }
}

#[test]
fn storage_contract_holds() {
    // OpenOptions and ckview::Storage: reads like local files, the Storage outlives every File,
    // exceptions thrown by a File's read_at after N reads (every N) come back as themselves.
    for instrument in BOTH {
        let exe = build("test_storage", "tests/test_storage.cpp", instrument);
        let output = run(&exe, &[&fixture_dir("")], instrument);
        let summary = stdout(&output);
        assert!(summary.trim_end().ends_with(" passed, 0 failed"), "{summary}");
        let passed: usize = summary.split_whitespace().next().unwrap().parse().unwrap();
        assert!(passed >= 100, "{summary}");
    }
}
