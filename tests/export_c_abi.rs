//! `ckview_export_safetensors` and `ckview_export_names` through the C ABI: the naming
//! callback renames and leaves out, the progress callback can stop the export (its code comes
//! back), and each refusal has its status; the file written holds what the names list says.

use std::ffi::{c_char, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use ckview::ffi::*;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-export-c-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

struct Reader(*mut ckview_reader);

impl Drop for Reader {
    fn drop(&mut self) {
        unsafe { ckview_reader_free(self.0) };
    }
}

fn open(path: &Path) -> Reader {
    let mut reader = null_mut();
    let status = unsafe { ckview_reader_open(c_path(path).as_ptr(), &mut reader, null_mut()) };
    assert_eq!(status, ckview_status::CKVIEW_OK, "{path:?}");
    Reader(reader)
}

fn text(s: ckview_str) -> String {
    String::from_utf8(unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) }.to_vec()).unwrap()
}

/// (status, message, callback code) of a failed export.
fn export(reader: &Reader, out: &Path, options: *const ckview_export_options) -> (ckview_status, String, i32, ckview_export_report) {
    let mut error = null_mut();
    let mut report = ckview_export_report::default();
    let status = unsafe { ckview_export_safetensors(reader.0, c_path(out).as_ptr(), options, &mut report, &mut error) };
    let message = if error.is_null() { String::new() } else { unsafe { CStr::from_ptr(ckview_error_message(error)) }.to_string_lossy().into_owned() };
    let code = ckview_error_callback_code(error);
    ckview_error_free(error);
    (status, message, code, report)
}

/// Leaves out biases, renames kernels `K<rank>:<path>`, keeps the rest.
unsafe extern "C" fn rename_kernels(_: *mut c_void, tensor: *const ckview_export_tensor, name: *mut ckview_export_name) -> i32 {
    let tensor = unsafe { &*tensor };
    let path = if tensor.has_path { text(tensor.path) } else { return 1 };
    let dtype = unsafe { CStr::from_ptr(tensor.dtype) }.to_str().unwrap();
    if path.ends_with(".bias") {
        return (unsafe { ckview_export_name_skip(name) }) as i32;
    }
    if path.ends_with(".kernel") && dtype == "float32" {
        let renamed = format!("K{}:{path}", tensor.rank);
        return (unsafe { ckview_export_name_set(name, renamed.as_ptr().cast::<c_char>(), renamed.len()) }) as i32;
    }
    0
}

unsafe extern "C" fn same_name(_: *mut c_void, _: *const ckview_export_tensor, name: *mut ckview_export_name) -> i32 {
    (unsafe { ckview_export_name_set(name, c"x".as_ptr(), 1) }) as i32
}

unsafe extern "C" fn stop_at_second(userdata: *mut c_void, _: u64, _: u64) -> i32 {
    let calls = unsafe { &mut *userdata.cast::<u32>() };
    *calls += 1;
    if *calls == 2 { 42 } else { 0 }
}

fn options() -> ckview_export_options {
    ckview_export_options { naming: 0, flags: 0, max_shard_size: 0, name: None, progress: None, userdata: null_mut() }
}

fn names(reader: &Reader, options: *const ckview_export_options) -> Vec<(String, String)> {
    let mut list = null_mut();
    assert_eq!(unsafe { ckview_export_names(reader.0, options, &mut list, null_mut()) }, ckview_status::CKVIEW_OK);
    let count = unsafe { ckview_export_names_count(list) };
    let mut entries = Vec::new();
    for index in 0..count {
        let (mut name, mut key) = (ckview_str { ptr: null(), len: 0 }, ckview_str { ptr: null(), len: 0 });
        assert_eq!(unsafe { ckview_export_names_get(list, index, &mut name, &mut key) }, ckview_status::CKVIEW_OK);
        entries.push((text(name), text(key)));
    }
    let mut name = ckview_str { ptr: null(), len: 0 };
    assert_eq!(unsafe { ckview_export_names_get(list, count, &mut name, &mut name) }, ckview_status::CKVIEW_INDEX_OUT_OF_RANGE);
    unsafe { ckview_export_names_free(list) };
    entries
}

#[test]
fn the_naming_callback_renames_and_leaves_out_and_the_file_holds_the_list() {
    let dir = scratch("rename");
    let reader = open(&fixture("keras_adam/model"));
    let options = ckview_export_options {
        flags: CKVIEW_EXPORT_DROP_OPTIMIZER_STATE,
        name: Some(rename_kernels),
        ..options()
    };
    let listed = names(&reader, &options);
    let out = dir.join("model.safetensors");
    let (status, message, _, report) = export(&reader, &out, &options);
    assert_eq!(status, ckview_status::CKVIEW_OK, "{message}");
    assert_eq!(report.tensors as usize, listed.len());
    assert_eq!(report.deselected, 2);
    assert!(report.dropped_optimizer_state > 0 && report.files == 1);
    let mut expected: Vec<String> = listed.iter().map(|(name, _)| name.clone()).collect();
    expected.sort();
    assert_eq!(expected, ["K2:model.layer_with_weights-0.kernel", "K2:model.layer_with_weights-1.kernel"]);
    let bytes = std::fs::read(&out).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut written: Vec<&str> = file.names();
    written.sort();
    assert_eq!(written, expected);
    // The same names through a view's reader.
    let mut view = null_mut();
    assert_eq!(unsafe { ckview_open(c_path(&fixture("keras_adam/model")).as_ptr(), &mut view, null_mut()) }, ckview_status::CKVIEW_OK);
    let mut lent = null();
    assert_eq!(unsafe { ckview_reader_of_view(view, &mut lent) }, ckview_status::CKVIEW_OK);
    let borrowed = Reader(lent.cast_mut());
    assert_eq!(names(&borrowed, &options), listed);
    std::mem::forget(borrowed); // borrowed from the view
    unsafe { ckview_close(view) };
}

#[test]
fn refusals_have_their_statuses_and_leave_nothing() {
    let dir = scratch("refusals");
    let out = dir.join("model.safetensors");
    let zoo = open(&fixture("dtype_zoo/zoo"));
    let (status, message, _, _) = export(&zoo, &out, null());
    assert_eq!(status, ckview_status::CKVIEW_UNSUPPORTED_DTYPE);
    assert!(message.contains("string") && message.contains("complex128"), "{message}");
    let skip = ckview_export_options { flags: CKVIEW_EXPORT_SKIP_UNSUPPORTED, ..options() };
    let (status, message, _, report) = export(&zoo, &out, &skip);
    assert_eq!(status, ckview_status::CKVIEW_OK, "{message}");
    assert!(report.skipped_unsupported >= 2);
    std::fs::remove_file(&out).unwrap();

    let adam = open(&fixture("keras_adam/model"));
    let duplicate = ckview_export_options { name: Some(same_name), ..options() };
    assert_eq!(export(&adam, &out, &duplicate).0, ckview_status::CKVIEW_DUPLICATE_NAME);
    let mut calls = 0u32;
    let stopping = ckview_export_options {
        progress: Some(stop_at_second),
        userdata: (&mut calls as *mut u32).cast(),
        ..options()
    };
    let (status, _, code, _) = export(&adam, &out, &stopping);
    assert_eq!((status, code, calls), (ckview_status::CKVIEW_CALLBACK_FAILED, 42, 2));
    let bad = ckview_export_options { naming: 9, ..options() };
    assert_eq!(export(&adam, &out, &bad).0, ckview_status::CKVIEW_INVALID_ARGUMENT);
    let tf1 = open(&fixture("tf1_name_based/model.ckpt"));
    let by_path = ckview_export_options { naming: CKVIEW_EXPORT_NAMES_PATH, ..options() };
    assert_eq!(export(&tf1, &out, &by_path).0, ckview_status::CKVIEW_INVALID_ARGUMENT);
    assert_eq!(export(&adam, &dir.join("no/such/dir.safetensors"), null()).0, ckview_status::CKVIEW_IO_ERROR);
    assert_eq!(unsafe { ckview_export_safetensors(null(), c"x".as_ptr(), null(), null_mut(), null_mut()) }, ckview_status::CKVIEW_INVALID_ARGUMENT);
    assert_eq!(unsafe { ckview_export_safetensors(adam.0, null(), null(), null_mut(), null_mut()) }, ckview_status::CKVIEW_INVALID_ARGUMENT);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    assert_eq!(unsafe { CStr::from_ptr(ckview_status_name(21)) }.to_str().unwrap(), "CKVIEW_DUPLICATE_NAME");
}
