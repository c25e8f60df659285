//! Format variants TensorFlow writes or reads, against the TensorFlow-written fixtures of
//! `make_format_fixtures.py` and their `tf_answers.json`: the dtypes TF 2.21 added (sub-byte
//! ints and float4, stored one byte per element), a dtype number ckview does not know, an
//! entry whose size disagrees with its shape, DT_VARIANT checksums of tf.data iterators, and
//! snappy-compressed index blocks.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use ckview::ffi::*;
use ckview::format::proto::BundleEntryProto;
use ckview::format::writer::TableBuilder;
use ckview::format::{Bundle, DataType, FormatError, TensorEntry, Verify};
use prost::Message;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn answers(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name).join("tf_answers.json")).unwrap()).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-format-variants-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The raw `BundleEntryProto` of every key of a bundle's index, header excluded, in order.
fn raw_entries(bundle: &Bundle) -> Vec<(Vec<u8>, BundleEntryProto)> {
    let mut entries = Vec::new();
    bundle
        .table()
        .for_each(|key, value| {
            if !key.is_empty() {
                entries.push((key.to_vec(), BundleEntryProto::decode(value).unwrap()));
            }
            Ok(())
        })
        .unwrap();
    entries
}

/// A copy of the bundle at `prefix` (file name `name`) in `dir`: the same data file and an
/// index re-encoded from TensorFlow's, every entry proto passed through `change` first.
fn rewritten(prefix: &Path, dir: &Path, change: impl Fn(&[u8], &mut BundleEntryProto)) -> PathBuf {
    let name = prefix.file_name().unwrap().to_str().unwrap();
    let source = Bundle::open(prefix).unwrap();
    for shard in 0..source.header().num_shards {
        let path = source.shard_path(shard);
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut table = TableBuilder::default();
    table.add(b"", &source.table().get(b"").unwrap().unwrap());
    for (key, mut proto) in raw_entries(&source) {
        change(&key, &mut proto);
        table.add(&key, &proto.encode_to_vec());
    }
    std::fs::write(dir.join(format!("{name}.index")), table.finish()).unwrap();
    dir.join(name)
}

// ---------------------------------------------------------------------------------------------
// Item: every dtype of TensorFlow 2.21

#[test]
fn new_dtypes_list_and_read_as_tensorflow_wrote_them() {
    let answers = answers("dtype_new");
    let bundle = Bundle::open(&fixture("dtype_new").join("new")).unwrap();
    let tensors = bundle.tensors().unwrap();
    let keys = answers["keys"].as_object().unwrap();
    // Every key TensorFlow lists (the object graph aside), with TF's dtype name and number.
    let listed: Vec<&str> = tensors.iter().map(|(key, _)| std::str::from_utf8(key).unwrap()).filter(|key| *key != "_CHECKPOINTABLE_OBJECT_GRAPH").collect();
    assert_eq!(listed, keys.keys().map(String::as_str).collect::<Vec<_>>());
    for (key, entry) in &tensors {
        let name = std::str::from_utf8(key).unwrap();
        let stored = &answers["index_entries"][name];
        assert_eq!(i64::from(entry.dtype_number), stored["dtype_enum"].as_i64().unwrap(), "{name}");
        assert_eq!(entry.inconsistent, None, "{name}");
        if name == "_CHECKPOINTABLE_OBJECT_GRAPH" {
            continue;
        }
        let answer = &keys[name];
        assert_eq!(entry.dtype_label(), answer["dtype"].as_str().unwrap(), "{name}");
        assert_eq!(answers["golden"]["dtypes"][name], answer["dtype"], "{name}");
        assert_eq!(serde_json::json!(entry.shape), answer["shape"], "{name}");
        // One byte per element, the value in the low bits: the bytes TF's get_tensor gives.
        let size = bundle.value_size(key, entry).unwrap();
        assert_eq!(size, answer["stored_size"].as_u64().unwrap(), "{name}");
        let mut bytes = vec![0u8; size as usize];
        bundle.read_value(key, entry, &mut bytes, Verify::Checksums).unwrap();
        assert_eq!(bytes, hex(answer["hex"].as_str().unwrap()), "{name}");
    }
    for (number, name) in [(31, "int2"), (32, "uint2"), (33, "float4_e2m1fn"), (29, "int4"), (30, "uint4")] {
        assert_eq!(unsafe { CStr::from_ptr(ckview_dtype_name(number)) }.to_str().unwrap(), name);
        assert_eq!(ckview_dtype_size(number), 1, "{name}");
    }
}

#[test]
fn an_unknown_dtype_lists_and_refuses_to_be_read() {
    let dir = scratch("unknown-dtype");
    let key = b"int4/.ATTRIBUTES/VARIABLE_VALUE";
    let prefix = rewritten(&fixture("dtype_new").join("new"), &dir, |name, proto| {
        if name == key {
            proto.dtype = 77;
        }
    });
    let bundle = Bundle::open(&prefix).unwrap();
    let tensors = bundle.tensors().unwrap();
    assert_eq!(tensors.len(), answers("dtype_new")["index_entries"].as_object().unwrap().len());
    let entry: &TensorEntry = tensors.iter().find(|(k, _)| k == key).map(|(_, e)| e).unwrap();
    assert_eq!((entry.dtype_number, entry.dtype_label().as_ref()), (77, "unknown(77)"));
    let mut buffer = [0u8; 64];
    let error = bundle.read_value(key, entry, &mut buffer, Verify::Checksums).unwrap_err();
    assert!(matches!(&error, FormatError::UnsupportedDtype { dtype, .. } if dtype == "unknown(77)"), "{error}");
    // Through the C ABI: the raw number, "unknown", CKVIEW_UNSUPPORTED_DTYPE.
    let path = CString::new(prefix.to_str().unwrap()).unwrap();
    let (mut reader, mut list) = (null_mut(), null_mut());
    unsafe {
        assert_eq!(ckview_reader_open(path.as_ptr(), &mut reader, null_mut()), ckview_status::CKVIEW_OK);
        assert_eq!(ckview_reader_list(reader, &mut list, null_mut()), ckview_status::CKVIEW_OK);
        let mut count = 0usize;
        ckview_tensor_list_count(list, &mut count);
        assert_eq!(count, tensors.len());
        let index = tensors.iter().position(|(k, _)| k == key).unwrap();
        let mut tensor = null();
        assert_eq!(ckview_tensor_list_get(list, index, &mut tensor), ckview_status::CKVIEW_OK);
        let mut dtype = 0i32;
        assert_eq!(ckview_tensor_dtype(tensor, &mut dtype), ckview_status::CKVIEW_OK);
        assert_eq!(dtype, 77);
        assert_eq!(CStr::from_ptr(ckview_dtype_name(dtype)).to_str().unwrap(), "unknown");
        let status = ckview_tensor_read(tensor, buffer.as_mut_ptr().cast(), buffer.len(), 0, null_mut());
        assert_eq!(status, ckview_status::CKVIEW_UNSUPPORTED_DTYPE);
        ckview_tensor_list_free(list);
        ckview_reader_free(reader);
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Item: one inconsistent entry does not break the listing

#[test]
fn an_entry_whose_size_disagrees_with_its_shape_still_lists() {
    let dir = scratch("inconsistent");
    let key = b"leaf/a_var/.ATTRIBUTES/VARIABLE_VALUE";
    let source = fixture("doc_children").join("tf_ckpts-1");
    let prefix = rewritten(&source, &dir, |name, proto| {
        if name == key {
            proto.size += 4;
        }
    });
    let original = Bundle::open(&source).unwrap().tensors().unwrap();
    let bundle = Bundle::open(&prefix).unwrap();
    let tensors = bundle.tensors().unwrap();
    // Every key, in order, as TensorFlow lists them; only the damaged one is flagged.
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(fixture("doc_children").join("golden.json")).unwrap()).unwrap();
    let listed: Vec<String> = tensors.iter().map(|(k, _)| String::from_utf8(k.clone()).unwrap()).filter(|k| k != "_CHECKPOINTABLE_OBJECT_GRAPH").collect();
    let expected: Vec<&str> = golden["variables"].as_array().unwrap().iter().map(|v| v[0].as_str().unwrap()).filter(|k| *k != "_CHECKPOINTABLE_OBJECT_GRAPH").collect();
    assert_eq!(listed, expected);
    for ((name, entry), (_, before)) in tensors.iter().zip(&original) {
        if name == key {
            assert_eq!(entry.inconsistent.as_deref(), Some("8 bytes stored for 1 elements of float32"));
            let error = bundle.value_size(name, entry).unwrap_err();
            assert!(matches!(&error, FormatError::CorruptEntry { key, .. } if key.contains("leaf/a_var")), "{error}");
            let error = bundle.check_stored_checksum(name, entry).unwrap_err();
            assert!(matches!(error, FormatError::CorruptEntry { .. }), "{error}");
        } else {
            assert_eq!(entry, before);
            let mut bytes = vec![0u8; bundle.size_bytes(name, entry).unwrap() as usize];
            if entry.dtype != DataType::DtString {
                bundle.read_value(name, entry, &mut bytes, Verify::Checksums).unwrap();
            }
        }
    }
    // The C ABI's listing too: every tensor; reading the damaged one fails on its own.
    let path = CString::new(prefix.to_str().unwrap()).unwrap();
    let (mut reader, mut list) = (null_mut(), null_mut());
    unsafe {
        assert_eq!(ckview_reader_open(path.as_ptr(), &mut reader, null_mut()), ckview_status::CKVIEW_OK);
        assert_eq!(ckview_reader_list(reader, &mut list, null_mut()), ckview_status::CKVIEW_OK);
        let mut count = 0usize;
        ckview_tensor_list_count(list, &mut count);
        assert_eq!(count, tensors.len());
        let index = tensors.iter().position(|(k, _)| k == key).unwrap();
        let mut tensor = null();
        ckview_tensor_list_get(list, index, &mut tensor);
        let mut buffer = [0u8; 64];
        let status = ckview_tensor_read(tensor, buffer.as_mut_ptr().cast(), buffer.len(), 0, null_mut());
        assert_eq!(status, ckview_status::CKVIEW_CORRUPT_ENTRY);
        ckview_tensor_list_free(list);
        ckview_reader_free(reader);
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Item: DT_VARIANT checksums as TensorFlow computes them

#[test]
fn iterator_variants_verify_as_tensorflow_wrote_them_and_damage_is_caught() {
    let answers = answers("iterator");
    let key = b"it/.ATTRIBUTES/ITERATOR_STATE";
    for prefix in answers["prefixes"].as_array().unwrap() {
        let prefix = prefix.as_str().unwrap();
        let stored = &answers["checkpoints"][prefix]["index_entries"]["it/.ATTRIBUTES/ITERATOR_STATE"];
        let bundle = Bundle::open(&fixture("iterator").join(prefix)).unwrap();
        let entry = bundle.entry(key).unwrap().unwrap();
        assert_eq!(entry.dtype, DataType::DtVariant);
        assert_eq!(entry.masked_crc32c as u64, stored["crc32c"].as_u64().unwrap(), "{prefix}");
        assert_eq!(bundle.read_stored(key, &entry).unwrap(), hex(stored["stored_hex"].as_str().unwrap()), "{prefix}");
        bundle.check_stored_checksum(key, &entry).unwrap();
        let elements = bundle.read_variants(key, &entry).unwrap();
        assert_eq!(elements.iter().count() as u64, entry.num_elements(), "{prefix}");
        // Each element is a VariantTensorDataProto naming its type: field 1, "tensorflow::Iterator".
        for element in elements.iter() {
            assert!(element.starts_with(b"\x0a\x14tensorflow::Iterator"), "{prefix}: {:02x?}", &element[..element.len().min(24)]);
        }
        // A flipped byte anywhere in the payload is caught, in the element or a checksum.
        let size = entry.size as usize;
        for at in [0, 1, size / 2, size - 5, size - 1] {
            let dir = scratch(&format!("variant-{prefix}-{at}"));
            let copy = rewritten(&fixture("iterator").join(prefix), &dir, |_, _| {});
            let data = Bundle::open(&copy).unwrap().shard_path(0);
            let mut bytes = std::fs::read(&data).unwrap();
            bytes[entry.offset as usize + at] ^= 0x04;
            std::fs::write(&data, bytes).unwrap();
            let damaged = Bundle::open(&copy).unwrap();
            let error = damaged.check_stored_checksum(key, &entry).unwrap_err();
            assert!(matches!(error, FormatError::ChecksumMismatch { .. } | FormatError::CorruptData { .. }), "{prefix} byte {at}: {error}");
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item: snappy-compressed table blocks

#[test]
fn snappy_indexes_read_as_tensorflow_reads_them() {
    let answers = answers("snappy");
    for (name, golden) in answers["checkpoints"].as_object().unwrap() {
        assert_eq!(golden["same_as_doc_children"], true, "{name}");
        let bundle = Bundle::open(&fixture("snappy").join(name)).unwrap();
        let tensors = bundle.tensors().unwrap();
        // list_variables: every key in order, with its shape; get_variable_to_dtype_map.
        let listed: Vec<Value> = tensors.iter().map(|(k, e)| serde_json::json!([std::str::from_utf8(k).unwrap(), e.shape])).collect();
        assert_eq!(Value::Array(listed), golden["variables"], "{name}");
        for (key, entry) in &tensors {
            let key_text = std::str::from_utf8(key).unwrap();
            assert_eq!(entry.dtype_label(), golden["dtypes"][key_text].as_str().unwrap(), "{name}: {key_text}");
            if entry.dtype == DataType::DtString {
                bundle.read_strings(key, entry).unwrap();
                continue;
            }
            let expected = &golden["tensors"][key_text];
            let mut bytes = vec![0u8; bundle.value_size(key, entry).unwrap() as usize];
            bundle.read_value(key, entry, &mut bytes, Verify::Checksums).unwrap();
            assert_eq!(bytes, hex(expected["hex"].as_str().unwrap()), "{name}: {key_text}");
        }
        // The view over it: TensorFlow's children of every node.
        let view = ckview::CheckpointView::open(&fixture("snappy").join(name)).unwrap();
        for node in golden["children"].as_array().unwrap() {
            let id = node[0].as_u64().unwrap() as u32;
            let children: Vec<Value> = view.children(id).unwrap().iter().map(|(child, target)| serde_json::json!([child, target])).collect();
            assert_eq!(Value::Array(children), node[1], "{name}: node {id}");
        }
    }
    // data_blocks really has its four data blocks compressed (type 1), as TF's answer lists them.
    let blocks = answers["checkpoints"]["data_blocks"]["blocks"].as_array().unwrap();
    let index = std::fs::read(fixture("snappy").join("data_blocks.index")).unwrap();
    assert_eq!(blocks.len(), 4);
    for block in blocks {
        let (offset, size) = (block["offset"].as_u64().unwrap() as usize, block["size"].as_u64().unwrap() as usize);
        assert_eq!((block["type"].as_u64(), index[offset + size]), (Some(1), 1));
    }
}

/// The index of `snappy/data_blocks` with data block 0's compressed contents replaced.
fn with_first_block(contents: &[u8], reseal: bool) -> (PathBuf, PathBuf) {
    let answers = answers("snappy");
    let block = &answers["checkpoints"]["data_blocks"]["blocks"][0];
    let (offset, size) = (block["offset"].as_u64().unwrap() as usize, block["size"].as_u64().unwrap() as usize);
    assert_eq!(contents.len(), size, "the replacement keeps the handle valid");
    let mut index = std::fs::read(fixture("snappy").join("data_blocks.index")).unwrap();
    index[offset..offset + size].copy_from_slice(contents);
    if reseal {
        let checksum = ckview::format::crc::mask(ckview::format::crc::crc32c(&index[offset..offset + size + 1]));
        index[offset + size + 1..offset + size + 5].copy_from_slice(&checksum.to_le_bytes());
    }
    let dir = scratch(&format!("snappy-{}-{reseal}", contents[0]));
    std::fs::write(dir.join("ck.index"), index).unwrap();
    std::fs::copy(fixture("snappy").join("data_blocks.data-00000-of-00001"), dir.join("ck.data-00000-of-00001")).unwrap();
    (dir.join("ck"), dir)
}

#[test]
fn malformed_snappy_blocks_are_refused_before_decompressing_or_allocating() {
    let answers = answers("snappy");
    let block = &answers["checkpoints"]["data_blocks"]["blocks"][0];
    let (offset, size) = (block["offset"].as_u64().unwrap() as usize, block["size"].as_u64().unwrap() as usize);
    let original = std::fs::read(fixture("snappy").join("data_blocks.index")).unwrap()[offset..offset + size].to_vec();
    let scan = |prefix: &Path| Bundle::open(prefix).and_then(|bundle| bundle.tensors().map(drop));
    // A flipped compressed byte, checksum left as stored: refused by the checksum, which covers
    // the compressed bytes, before any decompression.
    let mut flipped = original.clone();
    flipped[size / 2] ^= 0x20;
    let (prefix, dir) = with_first_block(&flipped, false);
    let error = scan(&prefix).unwrap_err();
    assert!(matches!(error, FormatError::ChecksumMismatch { .. }), "{error}");
    let _ = std::fs::remove_dir_all(dir);
    // Compressed bytes that are not snappy (a copy reaching before the output's start), resealed.
    let mut bad = original.clone();
    bad[1..].fill(0xff);
    let (prefix, dir) = with_first_block(&bad, true);
    let error = scan(&prefix).unwrap_err();
    assert!(matches!(&error, FormatError::CorruptTable { reason, .. } if reason.contains("snappy")), "{error}");
    let _ = std::fs::remove_dir_all(dir);
    // A declared length of 1 GiB in a 114-byte block: refused from the header alone.
    let mut huge = original.clone();
    huge[..5].copy_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
    let (prefix, dir) = with_first_block(&huge, true);
    let error = scan(&prefix).unwrap_err();
    assert!(matches!(&error, FormatError::CorruptTable { reason, .. } if reason.contains("declares 1073741824 bytes")), "{error}");
    let _ = std::fs::remove_dir_all(dir);
    // The decoder on its own: a valid block round-trips; the cap and the ratio hold.
    use ckview::format::table::decompress_snappy;
    let text = b"the same words again and again and again and again".repeat(20);
    let compressed = snap::raw::Encoder::new().compress_vec(&text).unwrap();
    assert_eq!(decompress_snappy(&compressed).unwrap(), text);
    // snappy's densest encoding (runs of 64-byte copies) stays under the accepted ratio ...
    let zeros = vec![0u8; 1 << 20];
    let dense = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
    assert!(decompress_snappy(&dense).is_ok_and(|out| out == zeros));
    // ... while 11 bytes declaring 1000 are refused before any allocation.
    let mut claim = vec![0xe8, 0x07];
    claim.extend_from_slice(&[0u8; 9]);
    assert!(decompress_snappy(&claim).unwrap_err().contains("at most 352"));
    assert!(decompress_snappy(&compressed[..compressed.len() - 3]).is_err());
    assert!(decompress_snappy(&[]).is_err());
}
