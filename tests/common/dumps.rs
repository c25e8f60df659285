//! What the C and C++ dump programs (`tests/c/dump_*.c`, `bindings/cpp/tests/dump_*.cpp`,
//! `test_compare`) must print for a fixture, built from TensorFlow's goldens.

use std::fmt::Write;
use std::path::PathBuf;

use serde_json::Value;

use crate::common::{golden, REFUSED_AT_OPEN};

/// The lines `dump_view` prints: the graph, or the status ckview refuses it with.
pub fn view_dump(name: &str) -> String {
    let golden = golden(name);
    if REFUSED_AT_OPEN.contains(&name) {
        return "error CKVIEW_CORRUPT_OBJECT_GRAPH\n".into();
    }
    if golden["view_error"].is_object() {
        // TensorFlow's CheckpointView refused it too: a TF1 name-based checkpoint.
        return "error CKVIEW_NAME_BASED_CHECKPOINT\n".into();
    }
    let mut text = String::new();
    let field = |value: &Value, name: &str| value[name].as_str().unwrap().to_string();
    writeln!(text, "nodes {}", golden["num_nodes"]).unwrap();
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
    let nodes = golden["nodes"].as_array().unwrap();
    for (node, record) in nodes.iter().enumerate() {
        for a in record["attributes"].as_array().unwrap() {
            let (name, full, key) = (field(a, "name"), field(a, "full_name"), field(a, "checkpoint_key"));
            writeln!(text, "attribute {node} {name} {full} {key}").unwrap();
        }
        for s in record["slot_variables"].as_array().unwrap() {
            let (original, slot) = (&s["original_variable_node_id"], &s["slot_variable_node_id"]);
            writeln!(text, "slot {node} {original} {} {slot}", field(s, "slot_name")).unwrap();
        }
        let saver = &record["registered_saver"];
        if saver.is_object() {
            writeln!(text, "saver {node} {} {}", field(saver, "name"), field(saver, "object_name")).unwrap();
        }
        // A variable's slots, seen from the variable: every optimizer's slot_variables naming it.
        for (optimizer, other) in nodes.iter().enumerate() {
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

/// The lines `dump_tensors` prints, from TensorFlow's list_variables, dtypes and values.
pub fn tensor_dump(golden: &Value) -> String {
    let mut text = String::new();
    let variables = golden["variables"].as_array().unwrap();
    for pair in variables {
        let key = pair[0].as_str().unwrap();
        let dims: Vec<String> = pair[1].as_array().unwrap().iter().map(Value::to_string).collect();
        writeln!(text, "key {key} {} [{}]", golden["dtypes"][key].as_str().unwrap(), dims.join(",")).unwrap();
    }
    let or_dash = |hex: &str| if hex.is_empty() { "-".to_string() } else { hex.to_string() };
    for pair in variables {
        let key = pair[0].as_str().unwrap();
        let Some(tensor) = golden["tensors"].get(key) else { continue };
        match tensor.get("strings_hex") {
            Some(strings) => {
                write!(text, "strings {key}").unwrap();
                for element in strings.as_array().unwrap() {
                    write!(text, " {}", or_dash(element.as_str().unwrap())).unwrap();
                }
                writeln!(text).unwrap();
            }
            None => writeln!(text, "value {key} {}", or_dash(tensor["hex"].as_str().unwrap())).unwrap(),
        }
    }
    text
}

/// The live graph TensorFlow compared a fixture against, written as "PARENT\tCHILD\tNAME" lines
/// to a file named for `program` (so that suites running at once never share one), and what
/// `test_compare` must print for it.
pub fn live_graph(name: &str, program: &str) -> (PathBuf, String) {
    let golden = golden(name);
    let mut edges = String::new();
    for (parent, object) in golden["trackable_tree"].as_array().unwrap().iter().enumerate() {
        for pair in object["children"].as_array().unwrap() {
            writeln!(edges, "{parent}\t{}\t{}", pair[1], pair[0].as_str().unwrap()).unwrap();
        }
    }
    let folder = crate::native::build_library().join("native-tests");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{program}-{name}.edges"));
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
