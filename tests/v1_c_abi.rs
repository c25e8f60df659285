//! V1 checkpoints ("SavedTensorSlices") through the C ABI: `ckview_reader_open` opens every
//! fixture of tests/fixtures/v1, and every key lists and reads as TensorFlow answered
//! (tf_answers.json: dtype numbers, shapes, values), the partitioned variable assembled; what
//! only a bundle has (shard, slices, borrowing) answers `CKVIEW_UNSUPPORTED`.

use std::ffi::{c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use ckview::ffi::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn answers() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("tf_answers.json")).unwrap()).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
}

/// Little-endian bytes (as the fixtures record them) in the host's byte order.
fn host_order(mut bytes: Vec<u8>, dtype: i32) -> Vec<u8> {
    let unit = match dtype {
        8 => 4,  // complex64
        18 => 8, // complex128
        other => ckview_dtype_size(other).max(1),
    };
    if cfg!(target_endian = "big") && unit > 1 {
        bytes.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
    }
    bytes
}

struct Reader(*mut ckview_reader);

impl Drop for Reader {
    fn drop(&mut self) {
        unsafe { ckview_reader_free(self.0) };
    }
}

fn open(path: &Path) -> Reader {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut reader = null_mut();
    let mut error = null_mut();
    let status = unsafe { ckview_reader_open(path.as_ptr(), &mut reader, &mut error) };
    if status != ckview_status::CKVIEW_OK {
        let message = unsafe { CStr::from_ptr(ckview_error_message(error)) }.to_string_lossy().into_owned();
        ckview_error_free(error);
        panic!("ckview_reader_open({path:?}): {status:?} {message}");
    }
    Reader(reader)
}

fn key_of(tensor: *const ckview_tensor) -> String {
    let mut key = ckview_str { ptr: null(), len: 0 };
    assert_eq!(unsafe { ckview_tensor_key(tensor, &mut key) }, ckview_status::CKVIEW_OK);
    String::from_utf8(unsafe { std::slice::from_raw_parts(key.ptr.cast::<u8>(), key.len) }.to_vec()).unwrap()
}

fn shape_of(tensor: *const ckview_tensor) -> Vec<u64> {
    let mut dims = null();
    let mut rank = 0;
    assert_eq!(unsafe { ckview_tensor_shape(tensor, &mut dims, &mut rank) }, ckview_status::CKVIEW_OK);
    if rank == 0 {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(dims, rank) }.to_vec()
    }
}

fn dtype_of(tensor: *const ckview_tensor) -> i32 {
    let mut dtype = 0;
    assert_eq!(unsafe { ckview_tensor_dtype(tensor, &mut dtype) }, ckview_status::CKVIEW_OK);
    dtype
}

fn read_bytes(tensor: *const ckview_tensor) -> Vec<u8> {
    let mut size = 0u64;
    assert_eq!(unsafe { ckview_tensor_size_bytes(tensor, &mut size) }, ckview_status::CKVIEW_OK);
    let mut buffer = vec![0u8; size as usize];
    let mut error = null_mut();
    let status = unsafe { ckview_tensor_read(tensor, buffer.as_mut_ptr().cast::<c_void>(), buffer.len(), 0, &mut error) };
    assert_eq!(status, ckview_status::CKVIEW_OK, "read {}", key_of(tensor));
    buffer
}

fn read_strings(tensor: *const ckview_tensor) -> Vec<Vec<u8>> {
    let mut list = null_mut();
    let mut error = null_mut();
    assert_eq!(unsafe { ckview_tensor_read_strings(tensor, &mut list, &mut error) }, ckview_status::CKVIEW_OK);
    let mut count = 0;
    assert_eq!(unsafe { ckview_string_list_count(list, &mut count) }, ckview_status::CKVIEW_OK);
    let strings = (0..count)
        .map(|index| {
            let mut element = ckview_str { ptr: null(), len: 0 };
            assert_eq!(unsafe { ckview_string_list_get(list, index, &mut element) }, ckview_status::CKVIEW_OK);
            unsafe { std::slice::from_raw_parts(element.ptr.cast::<u8>(), element.len) }.to_vec()
        })
        .collect();
    unsafe { ckview_string_list_free(list) };
    strings
}

/// A tensor's value against an answer (`hex` bytes or `strings_hex` elements).
fn check_value(tensor: *const ckview_tensor, answer: &Value) {
    let key = key_of(tensor);
    if let Some(strings) = answer.get("strings_hex") {
        let expected: Vec<Vec<u8>> = strings.as_array().unwrap().iter().map(|s| unhex(s.as_str().unwrap())).collect();
        assert_eq!(read_strings(tensor), expected, "{key}");
        let mut size = 0u64;
        assert_eq!(unsafe { ckview_tensor_size_bytes(tensor, &mut size) }, ckview_status::CKVIEW_OK);
        assert_eq!(size, expected.iter().map(|s| s.len() as u64).sum::<u64>(), "{key}: size of the strings");
    } else {
        let expected = host_order(unhex(answer["hex"].as_str().unwrap()), dtype_of(tensor));
        assert_eq!(read_bytes(tensor), expected, "{key}");
    }
}

/// What only a bundle has answers CKVIEW_UNSUPPORTED (borrowing with a message).
fn check_unsupported(tensor: *const ckview_tensor) {
    let mut shard = 0u32;
    let mut count = 0usize;
    let mut extents = null();
    let mut rank = 0usize;
    unsafe {
        assert_eq!(ckview_tensor_shard(tensor, &mut shard), ckview_status::CKVIEW_UNSUPPORTED);
        assert_eq!(ckview_tensor_slice_count(tensor, &mut count), ckview_status::CKVIEW_UNSUPPORTED);
        assert_eq!(ckview_tensor_slice(tensor, 0, &mut extents, &mut rank), ckview_status::CKVIEW_UNSUPPORTED);
        let (mut data, mut len, mut error) = (null(), 0usize, null_mut());
        assert_eq!(ckview_tensor_borrow(tensor, &mut data, &mut len, 0, &mut error), ckview_status::CKVIEW_UNSUPPORTED);
        assert!(!error.is_null());
        let message = CStr::from_ptr(ckview_error_message(error)).to_string_lossy().into_owned();
        assert!(message.contains("V1"), "{message}");
        ckview_error_free(error);
    }
}

/// Lists the checkpoint at `path` (relative to the fixtures) and compares every key with
/// TensorFlow's answers for `answer_key`, reading each through the list and through
/// `ckview_reader_find`. Returns the number of keys TensorFlow refused to read.
fn check(path: &str, answer_key: &str) -> usize {
    let answers = answers();
    let answer = &answers["checkpoints"][answer_key];
    assert!(answer.is_object(), "no answers for {answer_key}");
    let reader = open(&fixtures().join(path));
    let mut list = null_mut();
    let mut error = null_mut();
    assert_eq!(unsafe { ckview_reader_list(reader.0, &mut list, &mut error) }, ckview_status::CKVIEW_OK);
    let mut count = 0;
    assert_eq!(unsafe { ckview_tensor_list_count(list, &mut count) }, ckview_status::CKVIEW_OK);
    let mut listed = Vec::new();
    let mut refused = 0;
    for index in 0..count {
        let mut tensor = null();
        assert_eq!(unsafe { ckview_tensor_list_get(list, index, &mut tensor) }, ckview_status::CKVIEW_OK);
        let key = key_of(tensor);
        let shape = shape_of(tensor);
        assert_eq!(dtype_of(tensor) as i64, answer["dtype_enum"][&key].as_i64().unwrap(), "{path}: dtype of {key}");
        let dtype_name = unsafe { CStr::from_ptr(ckview_dtype_name(dtype_of(tensor))) }.to_str().unwrap();
        assert_eq!(dtype_name, answer["dtype_map"][&key].as_str().unwrap(), "{path}: {key}");
        let mut elements = 0u64;
        assert_eq!(unsafe { ckview_tensor_num_elements(tensor, &mut elements) }, ckview_status::CKVIEW_OK);
        assert_eq!(elements, shape.iter().product::<u64>(), "{path}: elements of {key}");
        let tf = &answer["tensors"][&key];
        let value = if tf.get("error").is_some() {
            refused += 1;
            // Values TensorFlow refuses to read are compared with what was written.
            answers["written"].get(&key).cloned()
        } else {
            Some(tf.clone())
        };
        if let Some(value) = &value {
            check_value(tensor, value);
        }
        check_unsupported(tensor);
        // The same tensor found by key.
        let mut found = null_mut();
        let status = unsafe { ckview_reader_find(reader.0, key.as_ptr().cast(), key.len(), &mut found, &mut error) };
        assert_eq!(status, ckview_status::CKVIEW_OK, "{path}: find {key}");
        assert_eq!((key_of(found), shape_of(found), dtype_of(found)), (key.clone(), shape.clone(), dtype_of(tensor)));
        if let Some(value) = &value {
            check_value(found, value);
        }
        unsafe { ckview_tensor_free(found) };
        listed.push((key, shape));
    }
    unsafe { ckview_tensor_list_free(list) };
    let expected: Vec<(String, Vec<u64>)> = answer["list_variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), pair[1].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect()))
        .collect();
    assert_eq!(listed, expected, "{path}: list_variables");
    // A key that is not there.
    let mut found = null_mut();
    let status = unsafe { ckview_reader_find(reader.0, c"nope".as_ptr(), 4, &mut found, &mut error) };
    assert_eq!(status, ckview_status::CKVIEW_KEY_NOT_FOUND);
    assert!(found.is_null());
    ckview_error_free(error);
    refused
}

#[test]
fn single_file_reads_as_tensorflow_answers() {
    // float16, uint16, complex64, complex128: TensorFlow refuses them; ckview reads what was written.
    assert_eq!(check("model.ckpt", "model.ckpt"), 4);
}

#[test]
fn partitioned_variable_is_assembled_through_the_c_abi() {
    assert_eq!(check("partitioned/model.ckpt", "partitioned/model.ckpt"), 1);
    // What the fixture script wrote: arange(40) - 20 as a 10x4 float32 matrix.
    let reader = open(&fixtures().join("partitioned/model.ckpt"));
    let mut tensor = null_mut();
    let mut error = null_mut();
    assert_eq!(unsafe { ckview_reader_find(reader.0, c"part_var".as_ptr(), 8, &mut tensor, &mut error) }, ckview_status::CKVIEW_OK);
    let expected: Vec<u8> = (0..40).flat_map(|i| (i as f32 - 20.0).to_ne_bytes()).collect();
    assert_eq!(read_bytes(tensor), expected);
    let mut small = [0u8; 4];
    let status = unsafe { ckview_tensor_read(tensor, small.as_mut_ptr().cast(), small.len(), 0, &mut error) };
    assert_eq!(status, ckview_status::CKVIEW_BUFFER_TOO_SMALL);
    ckview_error_free(error);
    unsafe { ckview_tensor_free(tensor) };
}

#[test]
fn sharded_checkpoint_by_pattern_shard_and_save_path() {
    let pattern = "sharded/model.ckpt-?????-of-00002";
    assert_eq!(check(pattern, pattern), 0);
    // TensorFlow cannot open the save path itself; ckview finds its shards.
    assert_eq!(check("sharded/model.ckpt", pattern), 0);
    for shard in ["sharded/model.ckpt-00000-of-00002", "sharded/model.ckpt-00001-of-00002"] {
        check(shard, shard);
    }
}
