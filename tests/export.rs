//! `ckview::export`: how an export fails (an unsupported dtype, a name given twice, a read or a
//! write that fails, a caller that stops it), and that a failed export leaves nothing behind and
//! leaves a file already at the output path as it was. The values of successful exports are
//! checked against TensorFlow in tests/python/test_export.py.

use std::fs;
use std::path::{Path, PathBuf};

use ckview::export::{export_names, export_safetensors, ExportError, ExportOptions, Naming, Source};
use ckview::format::Checkpoint;
use ckview::CheckpointView;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

/// A fresh, empty directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-export-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A safetensors file's tensor names, read with the crate that wrote it.
fn names_in(path: &Path) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn unsupported_dtypes_are_listed_and_refused_or_skipped() {
    let dir = scratch("unsupported");
    let checkpoint = Checkpoint::open(&fixture("dtype_zoo/zoo")).unwrap();
    let strings: Vec<String> = checkpoint
        .tensors()
        .unwrap()
        .into_iter()
        .filter(|tensor| matches!(tensor.dtype, ckview::format::DataType::DtString | ckview::format::DataType::DtComplex128))
        .map(|tensor| String::from_utf8(tensor.name).unwrap())
        .filter(|key| key != "_CHECKPOINTABLE_OBJECT_GRAPH")
        .collect();
    assert!(strings.len() >= 2, "{strings:?}");
    let out = dir.join("zoo.safetensors");
    let error = export_safetensors((&checkpoint).into(), &out, ExportOptions::default()).unwrap_err();
    let ExportError::UnsupportedDtypes { tensors } = &error else { panic!("{error}") };
    let refused: Vec<&str> = tensors.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(refused, strings);
    assert!(error.to_string().contains("complex128"), "{error}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    let options = ExportOptions { skip_unsupported: true, ..Default::default() };
    let report = export_safetensors((&checkpoint).into(), &out, options).unwrap();
    let skipped: Vec<&str> = report.skipped_unsupported.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(skipped, strings);
    assert_eq!(listing(&dir), ["zoo.safetensors"]);
    assert_eq!(names_in(&out).len(), report.tensors);
}

#[test]
fn two_tensors_under_one_name_are_an_error_and_nothing_is_written() {
    let dir = scratch("duplicate");
    let view = CheckpointView::open(fixture("keras_adam/model")).unwrap();
    let out = dir.join("model.safetensors");
    let options = ExportOptions { name: Some(Box::new(|_| Ok(Some("same".to_string())))), ..Default::default() };
    let error = export_safetensors((&view).into(), &out, options).unwrap_err();
    let ExportError::DuplicateName { name, first, second } = &error else { panic!("{error}") };
    assert_eq!(name, "same");
    assert!(first < second && first.ends_with("VARIABLE_VALUE"), "{error}");
    assert!(listing(&dir).is_empty());
    // `__metadata__` is the header's own.
    let options = ExportOptions { name: Some(Box::new(|_| Ok(Some("__metadata__".to_string())))), ..Default::default() };
    assert!(matches!(export_safetensors((&view).into(), &out, options), Err(ExportError::InvalidName { .. })));
}

/// Copies the files of a checkpoint prefix into `dir`.
fn copy_checkpoint(prefix: &Path, dir: &Path) -> PathBuf {
    let name = prefix.file_name().unwrap().to_string_lossy().into_owned();
    for entry in fs::read_dir(prefix.parent().unwrap()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(&name) {
            fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    dir.join(name)
}

#[test]
fn a_damaged_tensor_fails_the_export_and_leaves_the_old_output_as_it_was() {
    let dir = scratch("damaged");
    let source_dir = dir.join("ckpt");
    fs::create_dir(&source_dir).unwrap();
    let prefix = copy_checkpoint(&fixture("keras_adam/model"), &source_dir);
    // Damage the last tensor in the data file, so that earlier ones are written first.
    let view = CheckpointView::open(&prefix).unwrap();
    let (key, entry) = view.bundle().tensors().unwrap().into_iter().filter(|(key, entry)| entry.size > 0 && key != b"_CHECKPOINTABLE_OBJECT_GRAPH").max_by_key(|(_, entry)| entry.offset).unwrap();
    drop(view);
    let data = source_dir.join("model.data-00000-of-00001");
    let mut bytes = fs::read(&data).unwrap();
    bytes[entry.offset as usize] ^= 0xff;
    fs::write(&data, bytes).unwrap();
    let out_dir = dir.join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("model.safetensors");
    fs::write(&out, b"the previous export").unwrap();
    let view = CheckpointView::open(&prefix).unwrap();
    for max_shard_size in [None, Some(64)] {
        let options = ExportOptions { max_shard_size, ..Default::default() };
        let error = export_safetensors((&view).into(), &out, options).unwrap_err();
        let ExportError::Format(ckview::format::FormatError::ChecksumMismatch { what, .. }) = &error else { panic!("{error}") };
        assert!(what.contains(&String::from_utf8_lossy(&key).into_owned()), "{error}");
        assert_eq!(listing(&out_dir), ["model.safetensors"], "{max_shard_size:?}");
        assert_eq!(fs::read(&out).unwrap(), b"the previous export");
    }
}

#[test]
fn a_write_that_fails_leaves_nothing() {
    let dir = scratch("unwritable");
    let view = CheckpointView::open(fixture("keras_adam/model")).unwrap();
    let out = dir.join("missing").join("model.safetensors");
    let error = export_safetensors((&view).into(), &out, ExportOptions::default()).unwrap_err();
    let ExportError::Write { path, source } = &error else { panic!("{error}") };
    assert_eq!(path, &out);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(listing(&dir).is_empty());
    // A directory where the file should be: the rename fails, the temporary files go.
    fs::create_dir(dir.join("model.safetensors")).unwrap();
    fs::write(dir.join("model.safetensors").join("inside"), b"x").unwrap();
    let error = export_safetensors((&view).into(), &dir.join("model.safetensors"), ExportOptions::default()).unwrap_err();
    assert!(matches!(error, ExportError::Write { .. }), "{error}");
    assert_eq!(listing(&dir), ["model.safetensors"]);
}

#[test]
fn a_caller_that_stops_the_export_gets_its_code_back_and_no_file() {
    let dir = scratch("stopped");
    let view = CheckpointView::open(fixture("keras_adam/model")).unwrap();
    let out = dir.join("model.safetensors");
    let mut calls = 0;
    let options = ExportOptions {
        max_shard_size: Some(100),
        progress: Some(Box::new(|_, _| {
            calls += 1;
            if calls == 3 { Err(ExportError::Stopped { code: 7 }) } else { Ok(()) }
        })),
        ..Default::default()
    };
    let error = export_safetensors((&view).into(), &out, options).unwrap_err();
    assert!(matches!(error, ExportError::Stopped { code: 7 }), "{error}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
}

#[test]
fn shards_follow_hugging_faces_layout_and_hold_every_tensor_once() {
    let dir = scratch("shards");
    let view = CheckpointView::open(fixture("keras_adam/model")).unwrap();
    let out = dir.join("model.safetensors");
    let names = export_names((&view).into(), ExportOptions::default()).unwrap();
    let report = export_safetensors((&view).into(), &out, ExportOptions { max_shard_size: Some(64), ..Default::default() }).unwrap();
    let count = report.files.len();
    assert!(count > 2);
    let expected: Vec<String> = (1..=count).map(|at| format!("model-{at:05}-of-{count:05}.safetensors")).collect();
    let mut files = expected.clone();
    files.push("model.safetensors.index.json".into());
    files.sort();
    assert_eq!(listing(&dir), files);
    let index: serde_json::Value = serde_json::from_slice(&fs::read(dir.join("model.safetensors.index.json")).unwrap()).unwrap();
    let weight_map = index["weight_map"].as_object().unwrap();
    assert_eq!(weight_map.len(), names.len());
    assert_eq!(index["metadata"]["total_size"].as_u64(), Some(report.bytes));
    let mut seen = Vec::new();
    for file in &expected {
        for name in names_in(&dir.join(file)) {
            assert_eq!(weight_map[&name], file.as_str());
            seen.push(name);
        }
    }
    seen.sort();
    let mut listed: Vec<String> = names.into_iter().map(|(name, _)| name).collect();
    listed.sort();
    assert_eq!(seen, listed);
}

#[test]
fn a_checkpoint_without_a_graph_is_named_by_key_only() {
    let dir = scratch("tf1");
    let checkpoint = Checkpoint::open(&fixture("tf1_name_based/model.ckpt")).unwrap();
    let source = Source::from(&checkpoint);
    let names = export_names(source, ExportOptions::default()).unwrap();
    assert!(names.iter().all(|(name, tensor)| name == &tensor.key && tensor.path.is_none()));
    for options in [
        ExportOptions { naming: Some(Naming::Path), ..Default::default() },
        ExportOptions { drop_optimizer_state: true, ..Default::default() },
    ] {
        let error = export_safetensors(source, &dir.join("x.safetensors"), options).unwrap_err();
        assert!(matches!(error, ExportError::InvalidOption(_)), "{error}");
    }
    assert!(listing(&dir).is_empty());
}

/// Runs of a megabyte and more (one large tensor, or small ones that follow each other both in
/// the output and in the data file) are copied from the data file inside the kernel and
/// verified by reading the copy back; the rest is read. Both kinds keep their bytes, and damage
/// to a copied tensor, past the first verified chunk or inside a run, is still caught, with
/// nothing left behind.
#[test]
fn copied_tensors_are_verified_from_the_copy() {
    use ckview::format::writer::BundleWriter;
    use ckview::format::{Bundle, DataType};
    let dir = scratch("copied");
    let values = |len: usize, seed: u8| (0..len).map(|at| (at as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>();
    let mut tensors = vec![
        ("large_float".to_string(), DataType::DtFloat, vec![768u64, 1024], values(3 << 20, 1)),
        ("large_int8".to_string(), DataType::DtInt8, vec![3 << 19], values(3 << 19, 2)),
        ("large_bool".to_string(), DataType::DtBool, vec![2 << 20], vec![1u8; 2 << 20]),
        ("small_float".to_string(), DataType::DtFloat, vec![4], values(16, 3)),
    ];
    // 1.2 MB of 4 KiB tensors, stored in the order the output takes them.
    tensors.extend((0..300).map(|at| (format!("run_{at:03}"), DataType::DtFloat, vec![1024], values(4096, at as u8))));
    let mut writer = BundleWriter::create(&dir.join("ckpt")).unwrap();
    for (key, dtype, shape, bytes) in &tensors {
        writer.add_raw(key.as_bytes(), *dtype, shape, bytes).unwrap();
    }
    let prefix = writer.finish().unwrap();
    let out = dir.join("out.safetensors");
    let bundle = Bundle::open(&prefix).unwrap();
    export_safetensors(Source::Bundle(&bundle), &out, ExportOptions::default()).unwrap();
    let written = fs::read(&out).unwrap();
    let file = safetensors::SafeTensors::deserialize(&written).unwrap();
    for (key, _, shape, bytes) in &tensors {
        let tensor = file.tensor(key).unwrap();
        assert_eq!(tensor.shape(), shape.iter().map(|&dim| dim as usize).collect::<Vec<_>>(), "{key}");
        assert!(tensor.data() == bytes.as_slice(), "{key}");
    }
    drop(bundle);

    let data = dir.join("ckpt.data-00000-of-00001");
    let pristine = fs::read(&data).unwrap();
    for (damaged, past) in [("large_float", 5 << 19), ("run_150", 1000)] {
        let (_, entry) = Bundle::open(&prefix).unwrap().tensors().unwrap().into_iter().find(|(key, _)| key == damaged.as_bytes()).unwrap();
        let mut bytes = pristine.clone();
        bytes[entry.offset as usize + past] ^= 0x40;
        fs::write(&data, bytes).unwrap();
        let _ = fs::remove_file(&out);
        let bundle = Bundle::open(&prefix).unwrap();
        let error = export_safetensors(Source::Bundle(&bundle), &out, ExportOptions::default()).unwrap_err();
        let ExportError::Format(ckview::format::FormatError::ChecksumMismatch { what, .. }) = &error else { panic!("{error}") };
        assert!(what.contains(damaged), "{error}");
        assert_eq!(listing(&dir), ["ckpt.data-00000-of-00001", "ckpt.index"]);
    }
}

/// A key whose bytes are not UTF-8 is written under its text with U+FFFD, with its values: read
/// for a small tensor, copied and read back for a large one.
#[test]
fn a_key_that_is_not_utf8_keeps_its_values() {
    use ckview::format::writer::BundleWriter;
    use ckview::format::{Bundle, DataType};
    let dir = scratch("not_utf8");
    let small: Vec<u8> = (0..64u8).collect();
    let large: Vec<u8> = (0..(2u32 << 20)).map(|at| (at % 251) as u8).collect();
    let mut writer = BundleWriter::create(&dir.join("ckpt")).unwrap();
    writer.add_raw(b"large_\xff", DataType::DtUint8, &[large.len() as u64], &large).unwrap();
    writer.add_raw(b"small_\xfe", DataType::DtUint8, &[small.len() as u64], &small).unwrap();
    let prefix = writer.finish().unwrap();
    let bundle = Bundle::open(&prefix).unwrap();
    let out = dir.join("out.safetensors");
    export_safetensors(Source::Bundle(&bundle), &out, ExportOptions::default()).unwrap();
    let written = fs::read(&out).unwrap();
    let file = safetensors::SafeTensors::deserialize(&written).unwrap();
    assert!(file.tensor("large_\u{fffd}").unwrap().data() == large.as_slice());
    assert!(file.tensor("small_\u{fffd}").unwrap().data() == small.as_slice());
}

/// The same export twice gives the same bytes: the header's metadata is written in key order,
/// not in a hash map's order (which differs from one map to the next).
#[test]
fn the_same_export_gives_the_same_bytes() {
    let dir = scratch("reproducible");
    let view = CheckpointView::open(&fixture("keras_adam/model")).unwrap();
    let (first, second) = (dir.join("first.safetensors"), dir.join("second.safetensors"));
    for out in [&first, &second] {
        export_safetensors((&view).into(), out, ExportOptions::default()).unwrap();
    }
    let bytes = fs::read(&first).unwrap();
    assert!(bytes == fs::read(&second).unwrap());
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let text = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    let header: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut keys: Vec<&String> = header["__metadata__"].as_object().unwrap().keys().collect();
    keys.sort();
    // Where each metadata key is written in the file: in sorted order.
    let places: Vec<usize> = keys.iter().map(|key| text.find(&format!("\"{key}\":")).unwrap()).collect();
    assert!(places.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?} at {places:?}");
    assert!(text.starts_with("{\"__metadata__\":"), "{text}");
    assert_eq!(names_in(&first).len(), header.as_object().unwrap().len() - 1);
}

#[test]
fn a_rename_that_fails_partway_puts_every_file_back_as_it_was() {
    let dir = scratch("partway");
    let view = CheckpointView::open(fixture("keras_adam/model")).unwrap();
    let out = dir.join("model.safetensors");
    let options = || ExportOptions { max_shard_size: Some(64), ..Default::default() };
    let count = export_safetensors((&view).into(), &out, options()).unwrap().files.len();
    assert!(count > 2);
    let shard = |at: usize| dir.join(format!("model-{at:05}-of-{count:05}.safetensors"));
    // The previous export's first shard stays as it was; the last shard's name is taken by a
    // directory, so its rename fails after the first ones went into place.
    for at in 2..=count {
        fs::remove_file(shard(at)).unwrap();
    }
    fs::remove_file(dir.join("model.safetensors.index.json")).unwrap();
    fs::write(shard(1), b"the previous first shard").unwrap();
    fs::create_dir(shard(count)).unwrap();
    fs::write(shard(count).join("inside"), b"x").unwrap();
    let error = export_safetensors((&view).into(), &out, options()).unwrap_err();
    let ExportError::Write { path, source } = &error else { panic!("{error}") };
    assert_eq!((path, source.kind()), (&shard(count), std::io::ErrorKind::IsADirectory));
    let mut expected = vec![shard(1).file_name().unwrap().to_string_lossy().into_owned(), shard(count).file_name().unwrap().to_string_lossy().into_owned()];
    expected.sort();
    assert_eq!(listing(&dir), expected, "no shard of the failed export, no temporary file");
    assert_eq!(fs::read(shard(1)).unwrap(), b"the previous first shard");
    assert_eq!(listing(&shard(count)), ["inside"]);
}
