//! `ckview_reader_list` through the C ABI against TensorFlow's `list_variables` (goldens): the
//! columns of `ckview_tensor_list_table`, and the tensors `ckview_tensor_list_get` makes on
//! first request, once each, from any number of threads at a time.

mod common;

use std::ffi::{CStr, CString};
use std::ptr::{null, null_mut};

use ckview::ffi::*;
use ckview::format::dtype_name;
use common::{fixture_names, golden, prefix};
use serde_json::{json, Value};

/// What `ckview_tensor_key`, `_dtype` and `_shape` give for one tensor.
unsafe fn describe(tensor: *const ckview_tensor) -> (Vec<u8>, i32, Vec<u64>) {
    let (mut key, mut dtype, mut dims, mut rank) = (ckview_str { ptr: null(), len: 0 }, 0i32, null(), 0usize);
    unsafe {
        assert_eq!(ckview_tensor_key(tensor, &mut key), ckview_status::CKVIEW_OK);
        assert_eq!(ckview_tensor_dtype(tensor, &mut dtype), ckview_status::CKVIEW_OK);
        assert_eq!(ckview_tensor_shape(tensor, &mut dims, &mut rank), ckview_status::CKVIEW_OK);
        let key = std::slice::from_raw_parts(key.ptr.cast::<u8>(), key.len).to_vec();
        let shape = if rank == 0 { Vec::new() } else { std::slice::from_raw_parts(dims, rank).to_vec() };
        (key, dtype, shape)
    }
}

/// Row `index` of a table, as `describe` gives it.
unsafe fn row(table: &ckview_tensor_table, index: usize) -> (Vec<u8>, i32, Vec<u64>) {
    unsafe {
        let ends = std::slice::from_raw_parts(table.key_ends, table.count);
        let dim_ends = std::slice::from_raw_parts(table.dim_ends, table.count);
        let start = if index == 0 { 0 } else { ends[index - 1] };
        let dim_start = if index == 0 { 0 } else { dim_ends[index - 1] };
        let key = std::slice::from_raw_parts(table.keys.cast::<u8>().add(start), ends[index] - start).to_vec();
        let shape = std::slice::from_raw_parts(table.dims.add(dim_start), dim_ends[index] - dim_start).to_vec();
        (key, *table.dtypes.add(index), shape)
    }
}

#[test]
fn listing_equals_list_variables_and_each_tensor_is_made_once_from_any_thread() {
    let mut listed_anything = 0;
    for name in fixture_names() {
        let golden = golden(&name);
        let path = CString::new(prefix(&name).to_str().unwrap()).unwrap();
        let (mut reader, mut list) = (null_mut(), null_mut());
        unsafe {
            assert_eq!(ckview_reader_open(path.as_ptr(), &mut reader, null_mut()), ckview_status::CKVIEW_OK, "{name}");
            assert_eq!(ckview_reader_list(reader, &mut list, null_mut()), ckview_status::CKVIEW_OK, "{name}");
            let mut table = std::mem::zeroed::<ckview_tensor_table>();
            assert_eq!(ckview_tensor_list_table(list, &mut table), ckview_status::CKVIEW_OK);
            let mut count = 0usize;
            assert_eq!(ckview_tensor_list_count(list, &mut count), ckview_status::CKVIEW_OK);
            assert_eq!(count, table.count);
            let rows: Vec<_> = (0..count).map(|index| row(&table, index)).collect();
            let variables: Vec<Value> = rows.iter().map(|(key, _, shape)| json!([String::from_utf8_lossy(key), shape])).collect();
            assert_eq!(Value::from(variables), golden["variables"], "{name}: variables");
            for (key, dtype, _) in &rows {
                let expected = &golden["dtypes"][String::from_utf8_lossy(key).as_ref()];
                assert_eq!(CStr::from_ptr(ckview_dtype_name(*dtype)).to_str().unwrap(), dtype_name((*dtype).try_into().unwrap()));
                assert_eq!(dtype_name((*dtype).try_into().unwrap()), expected, "{name}");
            }
            // Four threads ask for every tensor, each from a different end: one tensor per index,
            // equal to its row and to what `ckview_reader_find` gives for its key.
            let shared = (list as usize, count);
            let seen: Vec<Vec<usize>> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..4)
                    .map(|worker| {
                        scope.spawn(move || {
                            let (list, count) = (shared.0 as *const ckview_tensor_list, shared.1);
                            let mut order: Vec<usize> = (0..count).collect();
                            if worker % 2 == 1 {
                                order.reverse();
                            }
                            let mut pointers = vec![0usize; count];
                            for index in order {
                                let mut tensor = null();
                                assert_eq!(ckview_tensor_list_get(list, index, &mut tensor), ckview_status::CKVIEW_OK);
                                pointers[index] = tensor as usize;
                            }
                            pointers
                        })
                    })
                    .collect();
                workers.into_iter().map(|worker| worker.join().unwrap()).collect()
            });
            assert!(seen.iter().all(|pointers| *pointers == seen[0]), "{name}: one tensor per index");
            for (index, &pointer) in seen[0].iter().enumerate() {
                let listed = describe(pointer as *const ckview_tensor);
                assert_eq!(listed, rows[index], "{name}: tensor {index}");
                let mut found = null_mut();
                assert_eq!(ckview_reader_find(reader, listed.0.as_ptr().cast(), listed.0.len(), &mut found, null_mut()), ckview_status::CKVIEW_OK);
                assert_eq!(describe(found), listed);
                ckview_tensor_free(found);
            }
            let mut past = null();
            assert_eq!(ckview_tensor_list_get(list, count, &mut past), ckview_status::CKVIEW_INDEX_OUT_OF_RANGE);
            listed_anything += count;
            ckview_tensor_list_free(list);
            ckview_reader_free(reader);
        }
    }
    assert!(listed_anything > 50, "the fixtures list {listed_anything} tensors");
}
