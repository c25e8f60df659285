//! Helpers shared by the integration tests: where the fixtures are and how to read their goldens.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// Graphs TensorFlow cannot walk (it raises IndexError on a dangling node id or an empty graph,
/// DecodeError on bad bytes) or walks wrongly (node id -1 read as "the last node", Python
/// indexing): ckview refuses them at open with one clear status instead.
pub const REFUSED_AT_OPEN: [&str; 4] =
    ["crafted_bad_ref", "crafted_negative_ref", "crafted_empty_graph", "crafted_corrupt_graph"];

/// `tests/fixtures/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Every fixture folder that holds a `golden.json`, sorted by name.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir(""))
        .expect("tests/fixtures exists")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("golden.json").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the fixtures are missing: found only {names:?}");
    names
}

/// TensorFlow's answers for a fixture, as written by `tests/fixtures/make_fixtures.py`.
pub fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir(name).join("golden.json")).expect("golden.json is readable");
    serde_json::from_str(&text).expect("golden.json is JSON")
}

/// The checkpoint prefix of a fixture.
pub fn prefix(name: &str) -> PathBuf {
    fixture_dir(name).join(golden(name)["prefix"].as_str().expect("golden has a prefix"))
}

/// What TensorFlow itself failed with, if it did: `view_error` when the view did not open,
/// else `descendants_error`.
pub fn tensorflow_error(golden: &Value) -> Option<String> {
    [&golden["view_error"], &golden["descendants_error"]]
        .into_iter()
        .find(|error| !error.is_null())
        .map(|error| error["type"].as_str().unwrap_or_default().to_string())
}
