//! The C++ binding's `ReaderRef::export_safetensors` and `export_names`
//! (bindings/cpp/tests/test_export.cpp) under AddressSanitizer, UBSan and valgrind: the names it
//! lists equal the Rust API's, its file holds them, an exception its callables throw comes out
//! unchanged, and mistakes write nothing.

mod common;
#[path = "common/native.rs"]
#[allow(dead_code)]
mod native;

use ckview::export::{export_names, ExportOptions, ExportTensor};
use ckview::CheckpointView;
use common::fixture_dir;
use native::{compile, root, run, Instrument};

#[test]
fn cpp_exports_equal_rusts_and_exceptions_come_out_unchanged() {
    let source = fixture_dir("adam_trained").join("legacy/ckpt-1");
    let zoo = fixture_dir("dtype_zoo").join("zoo");
    let view = CheckpointView::open(&source).unwrap();
    let rename = |tensor: &ExportTensor| {
        Ok(match tensor.path.as_deref() {
            _ if tensor.dtype == ckview::format::DataType::DtInt64 => None,
            Some(path) if path.ends_with(".kernel") => Some(format!("weights/{path}")),
            _ => Some(tensor.name.clone()),
        })
    };
    let options = ExportOptions { drop_optimizer_state: true, name: Some(Box::new(rename)), ..Default::default() };
    let expected = export_names((&view).into(), options).unwrap();
    for instrument in [Instrument::Sanitizers, Instrument::None] {
        let dir = std::env::temp_dir().join(format!("ckview-export-cpp-{}-{instrument:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let exe = compile("cpp_test_export", &[root().join("bindings/cpp/tests/test_export.cpp")], true, instrument);
        let output = String::from_utf8(run(&exe, &[&source, &zoo, &dir], instrument).stdout).unwrap();
        let mut lines = output.lines();
        for (name, tensor) in &expected {
            assert_eq!(lines.next(), Some(format!("{name} {}", tensor.key).as_str()), "{output}");
        }
        assert!(lines.next().unwrap().starts_with(&format!("report {} ", expected.len())), "{output}");
        let bytes = std::fs::read(dir.join("cpp.safetensors")).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut written: Vec<&str> = file.names();
        written.sort();
        let mut names: Vec<&str> = expected.iter().map(|(name, _)| name.as_str()).collect();
        names.sort();
        assert_eq!(written, names);
        let left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["cpp.safetensors"], "a failed export left something");
    }
}
