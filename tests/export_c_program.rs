//! `ckview_export_safetensors` from C (tests/c/test_export.c) under AddressSanitizer, UBSan and
//! valgrind: the names C lists and the file it writes equal the Rust API's, and every mistake has
//! its status and writes nothing.

mod common;
#[path = "common/native.rs"]
#[allow(dead_code)]
mod native;

use ckview::export::{export_names, ExportOptions};
use ckview::CheckpointView;
use common::fixture_dir;
use native::{compile, root, run, Instrument};

#[test]
fn c_exports_equal_rusts_and_mistakes_write_nothing() {
    let source = fixture_dir("adam_trained").join("legacy/ckpt-1");
    let zoo = fixture_dir("dtype_zoo").join("zoo");
    // What the C program's naming callback does, through the Rust API.
    let view = CheckpointView::open(&source).unwrap();
    let rename = |tensor: &ckview::export::ExportTensor| {
        Ok(match tensor.path.as_deref() {
            Some(path) if path.ends_with(".kernel") => Some(format!("weights/{path}")),
            _ if tensor.dtype == ckview::format::DataType::DtInt64 => None,
            _ => Some(tensor.name.clone()),
        })
    };
    let options = ExportOptions { drop_optimizer_state: true, name: Some(Box::new(rename)), ..Default::default() };
    let expected = export_names((&view).into(), options).unwrap();
    for instrument in [Instrument::Sanitizers, Instrument::None] {
        let dir = std::env::temp_dir().join(format!("ckview-export-c-program-{}-{instrument:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let exe = compile("test_export", &[root().join("tests/c/test_export.c")], false, instrument);
        let output = String::from_utf8(run(&exe, &[&source, &zoo, &dir], instrument).stdout).unwrap();
        let mut lines = output.lines();
        for (name, tensor) in &expected {
            assert_eq!(lines.next(), Some(format!("{name} {}", tensor.key).as_str()), "{output}");
        }
        let report: Vec<u64> = lines.next().unwrap().strip_prefix("report ").unwrap().split(' ').map(|n| n.parse().unwrap()).collect();
        assert_eq!(report[0] as usize, expected.len());
        assert_eq!(report[2], 1);
        let bytes = std::fs::read(dir.join("c.safetensors")).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut written: Vec<&str> = file.names();
        written.sort();
        let mut names: Vec<&str> = expected.iter().map(|(name, _)| name.as_str()).collect();
        names.sort();
        assert_eq!(written, names);
        let left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["c.safetensors"], "a failed export left something");
    }
}
