//! `ckview_attribute_tensors` on TensorFlow's saveables that are not variables: the tables of
//! `tables/` and `saved_model/`, the tf.data iterators of `iterator/`. TensorFlow restored each
//! fixture with `assert_consumed()` when it was made, so every key of its `list_variables`
//! (`variables` in tf_answers.json) belongs to an attribute: the lists the C ABI gives, over
//! every attribute of every node, must hold each key exactly once, with TensorFlow's dtype and
//! shape, under the attribute whose `checkpoint_key` it extends.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::null_mut;

use ckview::ffi::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn text(string: ckview_str) -> String {
    let bytes = unsafe { std::slice::from_raw_parts(string.ptr.cast::<u8>(), string.len) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

struct View(*mut ckview_view);

impl Drop for View {
    fn drop(&mut self) {
        unsafe { ckview_close(self.0) };
    }
}

fn open(prefix: &Path) -> View {
    let path = CString::new(prefix.as_os_str().as_bytes()).unwrap();
    let mut view = null_mut();
    assert_eq!(unsafe { ckview_open(path.as_ptr(), &mut view, null_mut()) }, ckview_status::CKVIEW_OK, "{prefix:?}");
    View(view)
}

/// (key, dtype number, shape) of every tensor of every attribute, by the attribute's
/// checkpoint key.
fn tensors_by_attribute(view: &View) -> BTreeMap<String, Vec<(String, i32, Vec<u64>)>> {
    let mut count = 0;
    unsafe { ckview_node_count(view.0, &mut count) };
    let mut found = BTreeMap::new();
    for node in 0..count as u32 {
        let (mut attributes, mut attribute_count) = (std::ptr::null(), 0);
        assert_eq!(unsafe { ckview_attributes(view.0, node, &mut attributes, &mut attribute_count) }, ckview_status::CKVIEW_OK);
        for index in 0..attribute_count {
            let checkpoint_key = text(unsafe { (*attributes.add(index)).checkpoint_key });
            let mut list = null_mut();
            assert_eq!(unsafe { ckview_attribute_tensors(view.0, node, index, &mut list, null_mut()) }, ckview_status::CKVIEW_OK);
            let mut listed = 0;
            unsafe { ckview_tensor_list_count(list, &mut listed) };
            let mut tensors = Vec::new();
            for at in 0..listed {
                let mut tensor = std::ptr::null();
                unsafe { ckview_tensor_list_get(list, at, &mut tensor) };
                let (mut key, mut dtype, mut dims, mut rank) = (ckview_str { ptr: std::ptr::null(), len: 0 }, 0, std::ptr::null(), 0);
                unsafe {
                    ckview_tensor_key(tensor, &mut key);
                    ckview_tensor_dtype(tensor, &mut dtype);
                    ckview_tensor_shape(tensor, &mut dims, &mut rank);
                }
                let shape = unsafe { std::slice::from_raw_parts(dims, rank) }.to_vec();
                tensors.push((text(key), dtype, shape));
            }
            unsafe { ckview_tensor_list_free(list) };
            found.insert(checkpoint_key, tensors);
        }
    }
    found
}

/// What TensorFlow listed and typed, without the object graph's own key.
fn tensorflow_tensors(answer: &Value) -> BTreeMap<String, (String, Vec<u64>)> {
    answer["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), pair[1].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect()))
        .filter(|(key, _): &(String, Vec<u64>)| key != "_CHECKPOINTABLE_OBJECT_GRAPH")
        .map(|(key, shape)| (key.clone(), (answer["dtypes"][&key].as_str().unwrap().to_string(), shape)))
        .collect()
}

fn check(prefix: &Path, answer: &Value) -> usize {
    let view = open(prefix);
    let expected = tensorflow_tensors(answer);
    let mut seen = BTreeMap::new();
    for (checkpoint_key, tensors) in tensors_by_attribute(&view) {
        assert!(!tensors.is_empty(), "{prefix:?}: attribute {checkpoint_key} has no tensor");
        for (key, dtype, shape) in tensors {
            assert!(key.starts_with(&checkpoint_key), "{key} under {checkpoint_key}");
            let name = unsafe { CStr::from_ptr(ckview_dtype_name(dtype)) }.to_str().unwrap().to_string();
            assert!(seen.insert(key.clone(), (name, shape)).is_none(), "{key} listed twice");
        }
    }
    assert_eq!(seen, expected, "{prefix:?}");
    seen.keys().filter(|key| !key.ends_with("VARIABLE_VALUE")).count()
}

#[test]
fn every_key_tensorflow_restores_is_an_attributes_tensor() {
    let mut suffixed = 0;
    for folder in ["tables", "iterator"] {
        let answers: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join(folder).join("tf_answers.json")).unwrap()).unwrap();
        for (prefix, answer) in answers["checkpoints"].as_object().unwrap() {
            suffixed += check(&fixtures().join(folder).join(prefix), answer);
        }
    }
    let saved_model: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("saved_model/tf_answers.json")).unwrap()).unwrap();
    suffixed += check(&fixtures().join("saved_model"), &saved_model["golden"]);
    // Two tables of two tensors in each `tables` checkpoint, one iterator state in each
    // `iterator` one, one table in the SavedModel.
    assert_eq!(suffixed, 2 * 4 + 4 + 2);
}

#[test]
fn a_node_or_attribute_past_the_end_gives_a_status() {
    let view = open(&fixtures().join("tables/before"));
    let mut list = null_mut();
    let mut error = null_mut();
    assert_eq!(unsafe { ckview_attribute_tensors(view.0, 1, 1, &mut list, &mut error) }, ckview_status::CKVIEW_INDEX_OUT_OF_RANGE);
    assert!(unsafe { CStr::from_ptr(ckview_error_message(error)) }.to_string_lossy().contains("no attribute 1"));
    ckview_error_free(error);
    assert_eq!(unsafe { ckview_attribute_tensors(view.0, 99, 0, &mut list, null_mut()) }, ckview_status::CKVIEW_NODE_OUT_OF_RANGE);
    assert_eq!(unsafe { ckview_attribute_tensors(view.0, 1, 0, std::ptr::null_mut(), null_mut()) }, ckview_status::CKVIEW_INVALID_ARGUMENT);
}
