//! The C ABI exercised from C: the header compiles as C and C++, the documentation's listing is
//! printed by a C program, every fixture's graph read through C equals TensorFlow's goldens, the
//! error contract holds, and threads share a view. Each program runs under ASan+UBSan and valgrind.

mod common;
#[path = "common/native.rs"]
mod native;

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use common::{fixture_dir, fixture_names, golden, prefix, REFUSED_AT_OPEN};
use native::{compile, compile_dlopen, root, run, Instrument};
use serde_json::Value;

const BOTH: [Instrument; 2] = [Instrument::Sanitizers, Instrument::None];

#[test]
fn header_compiles_as_c_and_cxx_with_every_warning() {
    let header = root().join("include/ckview.h");
    for (compiler, language, standard) in [("cc", "c", "-std=c99"), ("c++", "c++", "-std=c++17")] {
        let output = Command::new(compiler)
            .args([standard, "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-x", language])
            .arg(&header)
            .output()
            .unwrap_or_else(|error| panic!("{compiler}: {error}"));
        assert!(output.status.success(), "{compiler}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn c_example_prints_the_documentation_listing() {
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    for instrument in BOTH {
        let exe = compile("children", &[root().join("examples/c/children.c")], false, instrument);
        let output = run(&exe, &[&prefix("doc_children")], instrument);
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}

/// The lines `tests/c/dump_view.c` must print for a fixture, built from TensorFlow's golden.
fn expected_dump(golden: &Value) -> String {
    let mut text = String::new();
    let Some(num_nodes) = golden["num_nodes"].as_u64() else {
        return text;
    };
    writeln!(text, "nodes {num_nodes}").unwrap();
    for entry in golden["children"].as_array().unwrap() {
        for pair in entry[1].as_array().unwrap() {
            writeln!(text, "child {} {} {}", entry[0], pair[0].as_str().unwrap(), pair[1]).unwrap();
        }
    }
    for id in golden["descendants"].as_array().unwrap() {
        writeln!(text, "descendant {id}").unwrap();
    }
    for pair in golden["paths"].as_array().unwrap() {
        writeln!(text, "path {} {}", pair[0], pair[1].as_str().unwrap()).unwrap();
    }
    for (node, record) in golden["nodes"].as_array().unwrap().iter().enumerate() {
        let field = |value: &Value, name: &str| value[name].as_str().unwrap().to_string();
        for a in record["attributes"].as_array().unwrap() {
            let (name, full, key) = (field(a, "name"), field(a, "full_name"), field(a, "checkpoint_key"));
            writeln!(text, "attribute {node} {name} {full} {key}").unwrap();
        }
        for s in record["slot_variables"].as_array().unwrap() {
            let (original, slot) = (&s["original_variable_node_id"], &s["slot_variable_node_id"]);
            writeln!(text, "slot {node} {original} {} {slot}", field(s, "slot_name")).unwrap();
        }
        if let Some(saver) = record["registered_saver"].as_object() {
            let saver = Value::Object(saver.clone());
            writeln!(text, "saver {node} {} {}", field(&saver, "name"), field(&saver, "object_name")).unwrap();
        }
        for (optimizer, other) in golden["nodes"].as_array().unwrap().iter().enumerate() {
            for s in other["slot_variables"].as_array().unwrap() {
                if s["original_variable_node_id"].as_u64() == Some(node as u64) {
                    writeln!(text, "varslot {node} {} {optimizer} {}", field(s, "slot_name"), s["slot_variable_node_id"]).unwrap();
                }
            }
        }
        let flag = match record["has_checkpoint_values"].as_bool() {
            None => "unset",
            Some(true) => "true",
            Some(false) => "false",
        };
        writeln!(text, "flag {node} {flag}").unwrap();
    }
    text
}

#[test]
fn every_fixture_read_through_c_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = compile("dump_view", &[root().join("tests/c/dump_view.c")], false, instrument);
        for name in fixture_names() {
            let golden = golden(&name);
            if golden["paths"].is_null() {
                continue; // TensorFlow itself has no graph to give; tests/goldens.rs covers those
            }
            let expected = if REFUSED_AT_OPEN.contains(&name.as_str()) {
                "error CKVIEW_CORRUPT_OBJECT_GRAPH\n".to_string()
            } else {
                expected_dump(&golden)
            };
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name} ({instrument:?})");
            compared += 1;
        }
    }
    assert!(compared >= 16, "only {compared} comparisons");
}

#[test]
fn error_contract_holds_in_c() {
    for instrument in BOTH {
        let exe = compile("test_errors", &[root().join("tests/c/test_errors.c")], false, instrument);
        let output = run(&exe, &[&fixture_dir("")], instrument);
        let summary = String::from_utf8_lossy(&output.stdout);
        assert!(summary.trim_end().ends_with(", 0 failed"), "{summary}");
    }
}

#[test]
fn threads_share_one_view() {
    // valgrind serialises threads and would prove little; the sanitizers run them for real.
    let exe = compile("test_threads", &[root().join("tests/c/test_threads.c")], false, Instrument::Sanitizers);
    let output = run(&exe, &[Path::new(&prefix("cycles_and_shared"))], Instrument::Sanitizers);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "8 passed, 0 failed");
}

/// The live graph of a fixture's golden as "PARENT\tCHILD\tNAME" lines, and what
/// `tests/c/test_compare.c` must print for it.
fn live_graph_files(name: &str) -> (std::path::PathBuf, String) {
    let golden = golden(name);
    let mut edges = String::new();
    for (parent, object) in golden["trackable_tree"].as_array().unwrap().iter().enumerate() {
        for pair in object["children"].as_array().unwrap() {
            writeln!(edges, "{parent}\t{}\t{}", pair[1], pair[0].as_str().unwrap()).unwrap();
        }
    }
    let path = native::library_dir().join(format!("native-tests/{name}.edges"));
    std::fs::write(&path, edges).unwrap();
    let mut expected = String::new();
    for pair in golden["match"].as_array().unwrap() {
        writeln!(expected, "matched {} {}", pair[0], pair[1]).unwrap();
    }
    for id in golden["diff_only_in_checkpoint"].as_array().unwrap() {
        writeln!(expected, "only_in_checkpoint {id}").unwrap();
    }
    for object in golden["diff_only_in_trackable"].as_array().unwrap() {
        writeln!(expected, "only_in_live {object}").unwrap();
    }
    (path, expected)
}

#[test]
fn match_and_diff_through_c_equal_tensorflow() {
    for instrument in BOTH {
        let exe = compile("test_compare", &[root().join("tests/c/test_compare.c")], false, instrument);
        for name in ["doc_children", "doc_diff", "cycles_and_shared"] {
            let (edges, expected) = live_graph_files(name);
            for mode in ["callback", "edges"] {
                let output = run(&exe, &[&prefix(name), &edges, Path::new(mode)], instrument);
                assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name} {mode} ({instrument:?})");
            }
        }
    }
}

/// What `tests/c/dump_tensors.c` must print, from TensorFlow's `list_variables`, dtypes and values.
fn expected_tensor_dump(golden: &Value) -> String {
    let mut text = String::new();
    for pair in golden["variables"].as_array().unwrap() {
        let key = pair[0].as_str().unwrap();
        let dims: Vec<String> = pair[1].as_array().unwrap().iter().map(Value::to_string).collect();
        writeln!(text, "key {key} {} [{}]", golden["dtypes"][key].as_str().unwrap(), dims.join(",")).unwrap();
    }
    for pair in golden["variables"].as_array().unwrap() {
        let key = pair[0].as_str().unwrap();
        let Some(tensor) = golden["tensors"].get(key) else { continue };
        match tensor.get("strings_hex") {
            Some(strings) => {
                let words: Vec<&str> = strings.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).map(|s| if s.is_empty() { "-" } else { s }).collect();
                writeln!(text, "strings {key}{}", words.iter().map(|w| format!(" {w}")).collect::<String>()).unwrap();
            }
            None => {
                let hex = tensor["hex"].as_str().unwrap();
                writeln!(text, "value {key} {}", if hex.is_empty() { "-" } else { hex }).unwrap();
            }
        }
    }
    text
}

#[test]
fn every_tensor_read_through_c_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = compile("dump_tensors", &[root().join("tests/c/dump_tensors.c")], false, instrument);
        for name in fixture_names() {
            let golden = golden(&name);
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(String::from_utf8_lossy(&output.stdout), expected_tensor_dump(&golden), "{name} ({instrument:?})");
            compared += 1;
        }
    }
    assert!(compared >= 20);
}

#[test]
fn dlopen_alone_runs_the_documentation_example() {
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    let library = native::build_library().join("libckview.so");
    for instrument in BOTH {
        let exe = compile_dlopen("test_dlopen", &[root().join("tests/c/test_dlopen.c")], instrument);
        let needed = Command::new("readelf").arg("-d").arg(&exe).output().unwrap();
        assert!(!String::from_utf8_lossy(&needed.stdout).contains("libckview"), "no link-time dependency");
        let output = run(&exe, &[&library, &prefix("doc_children")], instrument);
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}
