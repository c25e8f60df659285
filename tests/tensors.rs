//! Tensor values and metadata against TensorFlow's `load_checkpoint` (goldens): every key of
//! every fixture bit-identical, sharded and partitioned tensors, a big-endian bundle made from a
//! TensorFlow one, corrupted data, and the dtypes that cannot be read as fixed-size values.

mod common;

use std::path::{Path, PathBuf};

use ckview::format::proto::{BundleEntryProto, DataType, TensorSliceProto, TensorShapeProto};
use ckview::format::slice_key::slice_key;
use ckview::format::writer::BundleWriter;
use ckview::format::{dtype_name, Bundle, Endianness, FormatError, SliceExtent, Verify};
use common::{fixture_dir, fixture_names, golden, prefix};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks every tensor of `bundle` against TensorFlow's values in `golden`; returns how many.
fn compare_values(bundle: &Bundle, golden: &Value, context: &str) -> usize {
    let tensors = golden["tensors"].as_object().unwrap();
    for (key, expected) in tensors {
        let entry = bundle.entry(key.as_bytes()).unwrap().unwrap_or_else(|| panic!("{context}: {key} missing"));
        assert_eq!(dtype_name(entry.dtype), expected["dtype"], "{context}: {key} dtype");
        assert_eq!(json!(entry.shape), expected["shape"], "{context}: {key} shape");
        if let Some(strings) = expected.get("strings_hex") {
            let values = bundle.read_string_values(key.as_bytes(), &entry).unwrap();
            let got: Vec<String> = values.iter().map(|value| hex(value)).collect();
            assert_eq!(json!(got), *strings, "{context}: {key}");
            continue;
        }
        let mut buffer = vec![0u8; bundle.value_size(key.as_bytes(), &entry).unwrap() as usize];
        bundle.read_value(key.as_bytes(), &entry, &mut buffer, Verify::Checksums).unwrap();
        assert_eq!(hex(&buffer), expected["hex"], "{context}: {key}");
        if entry.slices.is_empty() && bundle.header().endianness == Endianness::Little {
            let borrowed = bundle.borrow_value(key.as_bytes(), &entry, Verify::Checksums).unwrap();
            assert_eq!(hex(borrowed), expected["hex"], "{context}: {key} borrowed");
        }
    }
    tensors.len()
}

/// Reads go through positioned reads either way; maps are what `borrow_value` needs.
fn open_mapped(path: &std::path::Path) -> ckview::format::Result<Bundle> {
    Bundle::open_with(path, std::sync::Arc::new(ckview::io::LocalStorage { mmap: true }))
}

#[test]
fn borrowing_needs_memory_maps_asked_for_at_open() {
    let bundle = Bundle::open(&prefix("dtype_zoo")).unwrap();
    let (key, entry) = bundle.tensors().unwrap().into_iter().find(|(_, entry)| entry.dtype == ckview::format::DataType::DtUint8).unwrap();
    let error = bundle.borrow_value(&key, &entry, Verify::Skip).unwrap_err();
    assert!(matches!(error, FormatError::Unsupported { .. }) && error.to_string().contains("memory maps"), "{error}");
    assert_eq!(open_mapped(&prefix("dtype_zoo")).unwrap().borrow_value(&key, &entry, Verify::Checksums).unwrap().len() as u64, entry.size);
}

#[test]
fn every_key_of_every_fixture_reads_back_bit_identical() {
    let mut compared = 0;
    for name in fixture_names() {
        let bundle = open_mapped(&prefix(&name)).unwrap();
        compared += compare_values(&bundle, &golden(&name), &name);
    }
    assert!(compared >= 60, "only {compared} tensors compared");
}

#[test]
fn listing_equals_list_variables_and_dtypes() {
    for name in fixture_names() {
        let golden = golden(&name);
        let bundle = open_mapped(&prefix(&name)).unwrap();
        let tensors = bundle.tensors().unwrap();
        let listed: Vec<Value> =
            tensors.iter().map(|(key, entry)| json!([String::from_utf8_lossy(key), entry.shape])).collect();
        assert_eq!(Value::from(listed), golden["variables"], "{name}: variables");
        for (key, entry) in &tensors {
            assert_eq!(golden["dtypes"][String::from_utf8_lossy(key).as_ref()], dtype_name(entry.dtype), "{name}");
        }
    }
}

#[test]
fn sharded_and_partitioned_tensors_are_assembled() {
    let sharded = open_mapped(&prefix("sharded")).unwrap();
    assert!(sharded.header().num_shards >= 3);
    let (_, w3) = sharded.tensors().unwrap().into_iter().find(|(key, _)| key.starts_with(b"w3")).unwrap();
    assert!(w3.slices.len() > 2, "w3 is stored as irregular slices across shards");
    compare_values(&sharded, &golden("sharded"), "sharded");
    let partitioned = open_mapped(&prefix("partitioned")).unwrap();
    compare_values(&partitioned, &golden("partitioned"), "partitioned");
}

/// Bytes per byte-swapped unit of a dtype (a complex number swaps each component).
fn swap_width(dtype: DataType) -> usize {
    match dtype {
        DataType::DtComplex64 => 4,
        DataType::DtComplex128 => 8,
        other => ckview::format::element_size(other).unwrap_or(1) as usize,
    }
}

/// Rewrites a TensorFlow bundle as a big-endian one (FORMAT.md section 5): numbers byte-swapped,
/// string length checksums big-endian, header endianness 1, every crc over the new bytes.
fn write_big_endian(source: &Path, target: &Path) -> PathBuf {
    let bundle = open_mapped(source).unwrap();
    let mut writer = BundleWriter::with_endianness(target, Endianness::Big).unwrap();
    for (key, entry) in bundle.tensors().unwrap() {
        if entry.dtype == DataType::DtString {
            let strings = bundle.read_string_values(&key, &entry).unwrap();
            writer.add_strings(&key, &entry.shape, &strings.as_slices()).unwrap();
        } else {
            let mut bytes = vec![0u8; bundle.value_size(&key, &entry).unwrap() as usize];
            bundle.read_value(&key, &entry, &mut bytes, Verify::Checksums).unwrap();
            bytes.chunks_exact_mut(swap_width(entry.dtype)).for_each(<[u8]>::reverse);
            writer.add_raw(&key, entry.dtype, &entry.shape, &bytes).unwrap();
        }
    }
    writer.finish().unwrap()
}

/// The committed big-endian fixture is what `write_big_endian` makes of the dtype zoo
/// (`CKVIEW_BLESS=1 cargo test --test tensors` rewrites it), and it reads back as TensorFlow's
/// values. tests/python checks that TensorFlow reads it the same way.
#[test]
fn big_endian_bundles_read_as_tensorflow_values() {
    let scratch = std::env::temp_dir().join(format!("ckview-be-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let made = write_big_endian(&prefix("dtype_zoo"), &scratch.join("zoo"));
    let committed = fixture_dir("big_endian").join("zoo");
    for suffix in [".index", ".data-00000-of-00001"] {
        let made_bytes = std::fs::read(format!("{}{suffix}", made.display())).unwrap();
        if std::env::var_os("CKVIEW_BLESS").is_some() {
            std::fs::create_dir_all(fixture_dir("big_endian")).unwrap();
            std::fs::write(format!("{}{suffix}", committed.display()), &made_bytes).unwrap();
        }
        let committed_bytes = std::fs::read(format!("{}{suffix}", committed.display())).unwrap_or_default();
        assert!(made_bytes == committed_bytes, "tests/fixtures/big_endian is stale: CKVIEW_BLESS=1 cargo test --test tensors");
    }
    let bundle = open_mapped(&committed).unwrap();
    assert_eq!(bundle.header().endianness, Endianness::Big);
    compare_values(&bundle, &golden("dtype_zoo"), "big_endian");
    // Multi-byte numbers cannot be borrowed as they are; single bytes can.
    let float = bundle.entry(b"float32/.ATTRIBUTES/VARIABLE_VALUE").unwrap().unwrap();
    assert!(matches!(bundle.borrow_value(b"float32/.ATTRIBUTES/VARIABLE_VALUE", &float, Verify::Checksums), Err(FormatError::Unsupported { .. })));
    let bytes = bundle.entry(b"uint8/.ATTRIBUTES/VARIABLE_VALUE").unwrap().unwrap();
    assert!(bundle.borrow_value(b"uint8/.ATTRIBUTES/VARIABLE_VALUE", &bytes, Verify::Checksums).is_ok());
    std::fs::remove_dir_all(&scratch).unwrap();
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-tensors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_flipped_data_byte_is_a_checksum_mismatch() {
    let dir = scratch("flip");
    let source = prefix("dtype_zoo");
    let target = dir.join("zoo");
    for suffix in [".index", ".data-00000-of-00001"] {
        std::fs::copy(format!("{}{suffix}", source.display()), format!("{}{suffix}", target.display())).unwrap();
    }
    let key: &[u8] = b"float32/.ATTRIBUTES/VARIABLE_VALUE";
    let entry = open_mapped(&target).unwrap().entry(key).unwrap().unwrap();
    let data = format!("{}.data-00000-of-00001", target.display());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[entry.offset as usize + 1] ^= 0x01;
    std::fs::write(&data, bytes).unwrap();

    let bundle = open_mapped(&target).unwrap();
    let mut buffer = vec![0u8; 24];
    let error = bundle.read_value(key, &entry, &mut buffer, Verify::Checksums).unwrap_err();
    assert!(matches!(error, FormatError::ChecksumMismatch { .. }), "{error}");
    assert!(matches!(bundle.borrow_value(key, &entry, Verify::Checksums), Err(FormatError::ChecksumMismatch { .. })));
    // Asked not to verify, the damaged bytes come through as they are.
    bundle.read_value(key, &entry, &mut buffer, Verify::Skip).unwrap();
    assert_ne!(hex(&buffer), golden("dtype_zoo")["tensors"]["float32/.ATTRIBUTES/VARIABLE_VALUE"]["hex"]);
}

#[test]
fn buffers_dtypes_and_bools_are_checked() {
    let dir = scratch("dtypes");
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_raw(b"bad_bool", DataType::DtBool, &[3], &[0, 1, 2]).unwrap();
    writer.add_raw(b"floats", DataType::DtFloat, &[2], &[0; 8]).unwrap();
    writer.add_strings(b"strings", &[1], &[b"x"]).unwrap();
    writer.add_raw(b"variant", DataType::DtVariant, &[], &[0; 4]).unwrap();
    let bundle = open_mapped(&writer.finish().unwrap()).unwrap();
    let entry = |key: &[u8]| bundle.entry(key).unwrap().unwrap();
    let mut buffer = vec![0u8; 8];
    assert!(matches!(bundle.read_value(b"bad_bool", &entry(b"bad_bool"), &mut buffer, Verify::Checksums), Err(FormatError::CorruptData { .. })));
    assert!(matches!(bundle.read_value(b"floats", &entry(b"floats"), &mut buffer[..7], Verify::Checksums), Err(FormatError::BufferTooSmall { needed: 8, given: 7, .. })));
    assert!(matches!(bundle.read_value(b"strings", &entry(b"strings"), &mut buffer, Verify::Checksums), Err(FormatError::UnsupportedDtype { .. })));
    assert!(matches!(bundle.value_size(b"variant", &entry(b"variant")), Err(FormatError::UnsupportedDtype { .. })));
    assert!(matches!(bundle.read_string_values(b"floats", &entry(b"floats")), Err(FormatError::UnsupportedDtype { .. })));
    assert_eq!(bundle.read_string_values(b"strings", &entry(b"strings")).unwrap().as_slices(), vec![b"x".as_slice()]);
}

/// A partitioned float tensor of shape [4] stored as the given slices (start, length, data).
fn partitioned(dir: &Path, slices: &[(u64, u64)], store: &[(u64, u64)]) -> Bundle {
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    for &(start, length) in store {
        let extents = [SliceExtent { start, length: Some(length) }];
        writer.add_raw(&slice_key(b"t", &extents), DataType::DtFloat, &[length], &vec![7u8; 4 * length as usize]).unwrap();
    }
    use ckview::format::proto::tensor_slice_proto::{extent::HasLength, Extent};
    let entry = BundleEntryProto {
        dtype: DataType::DtFloat as i32,
        shape: Some(TensorShapeProto { dim: vec![ckview::format::proto::tensor_shape_proto::Dim { size: 4, name: String::new() }], unknown_rank: false }),
        slices: slices
            .iter()
            .map(|&(start, length)| TensorSliceProto { extent: vec![Extent { start: start as i64, has_length: Some(HasLength::Length(length as i64)) }] })
            .collect(),
        ..Default::default()
    };
    writer.add_entry(b"t", entry);
    open_mapped(&writer.finish().unwrap()).unwrap()
}

#[test]
fn partitions_must_cover_the_tensor_exactly() {
    let mut buffer = [0u8; 16];
    let read = |bundle: &Bundle, buffer: &mut [u8]| {
        let entry = bundle.entry(b"t").unwrap().unwrap();
        bundle.read_value(b"t", &entry, buffer, Verify::Checksums)
    };
    let whole = partitioned(&scratch("cover"), &[(0, 2), (2, 2)], &[(0, 2), (2, 2)]);
    read(&whole, &mut buffer).unwrap();
    assert_eq!(buffer, [7u8; 16]);
    for (name, slices, store) in [
        ("gap", vec![(0, 2), (3, 1)], vec![(0, 2), (3, 1)]),
        ("overlap", vec![(0, 3), (2, 2)], vec![(0, 3), (2, 2)]),
        ("missing", vec![(0, 2), (2, 2)], vec![(0, 2)]),
    ] {
        let bundle = partitioned(&scratch(name), &slices, &store);
        assert!(matches!(read(&bundle, &mut buffer), Err(FormatError::CorruptEntry { .. })), "{name}");
    }
}

#[test]
fn sizes_are_only_given_for_bytes_that_exist() {
    // An entry that claims 2^38 floats (1 TiB) over a data shard of a few bytes: asking for its
    // size must fail, before any caller allocates for it.
    let dir = scratch("huge");
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_raw(b"small", DataType::DtFloat, &[1], &[0; 4]).unwrap();
    let entry = BundleEntryProto {
        dtype: DataType::DtFloat as i32,
        shape: Some(TensorShapeProto { dim: vec![ckview::format::proto::tensor_shape_proto::Dim { size: 1 << 38, name: String::new() }], unknown_rank: false }),
        size: 1 << 40,
        ..Default::default()
    };
    writer.add_entry(b"huge", entry);
    let bundle = open_mapped(&writer.finish().unwrap()).unwrap();
    let huge = bundle.entry(b"huge").unwrap().unwrap();
    assert!(matches!(bundle.value_size(b"huge", &huge), Err(FormatError::CorruptData { .. })));
    assert!(matches!(bundle.size_bytes(b"huge", &huge), Err(FormatError::CorruptData { .. })));
    let small = bundle.entry(b"small").unwrap().unwrap();
    assert_eq!(bundle.size_bytes(b"small", &small).unwrap(), 4);
    // The empty key holds the header, not a tensor.
    assert!(bundle.entry(b"").unwrap().is_none());
}

/// A tensor of 16 MiB or more is read by two threads, half each, and its crc32c combined from
/// the halves': the bytes are whole, and damage in either half is still a checksum error.
#[test]
fn a_large_tensor_read_in_two_halves_is_whole_and_verified() {
    let dir = std::env::temp_dir().join(format!("ckview-halves-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // An odd length, so that the halves differ and neither is a multiple of a chunk.
    let len = (17 << 20) + 3;
    let bytes: Vec<u8> = (0..len).map(|at| (at as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect();
    let mut writer = BundleWriter::create(&dir.join("big")).unwrap();
    writer.add_raw(b"big", DataType::DtInt8, &[len as u64], &bytes).unwrap();
    let prefix = writer.finish().unwrap();
    let read = |prefix: &Path| {
        let bundle = Bundle::open(prefix).unwrap();
        let entry = bundle.entry(b"big").unwrap().unwrap();
        let mut out = vec![0u8; len];
        bundle.read_value(b"big", &entry, &mut out, Verify::Checksums).map(|()| out)
    };
    assert!(read(&prefix).unwrap() == bytes);
    let data = dir.join("big.data-00000-of-00001");
    for damaged in [100, len / 2 - 1, len / 2, len - 1] {
        let mut stored = bytes.clone();
        stored[damaged] ^= 1;
        std::fs::write(&data, &stored).unwrap();
        let error = read(&prefix).unwrap_err();
        assert!(matches!(error, FormatError::ChecksumMismatch { .. }), "byte {damaged}: {error}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
