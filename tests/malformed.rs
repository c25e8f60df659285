//! Each class of malformed input of FORMAT.md section 8 and its reader checklist, crafted inside
//! otherwise valid files (a real TensorFlow fixture, or a bundle our writer makes with valid
//! checksums around the damage), ends in its own error: never a panic, a hang or a huge allocation.

mod common;

use std::path::{Path, PathBuf};

use ckview::format::proto::tensor_shape_proto::Dim;
use ckview::format::proto::{BundleEntryProto, DataType, TensorShapeProto, VersionDef};
use ckview::format::writer::{BundleWriter, TableBuilder};
use ckview::format::{crc, Bundle, FormatError};
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview::{CheckpointView, GraphError};
use common::prefix;

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-malformed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The serialized object graph of the documentation example, as TensorFlow wrote it.
fn real_graph() -> Vec<u8> {
    let bundle = Bundle::open(&prefix("doc_children")).unwrap();
    let entry = bundle.entry(OBJECT_GRAPH_KEY).unwrap().unwrap();
    bundle.read_strings(OBJECT_GRAPH_KEY, &entry).unwrap()[0].to_vec()
}

/// A valid bundle with the real graph and one float tensor, after `craft` had its say.
fn crafted(dir: &Path, craft: impl FnOnce(&mut BundleWriter)) -> PathBuf {
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&real_graph()]).unwrap();
    writer.add_raw(b"a_var/.ATTRIBUTES/VARIABLE_VALUE", DataType::DtFloat, &[], &5.0f32.to_le_bytes()).unwrap();
    craft(&mut writer);
    writer.finish().unwrap()
}

fn format_error(result: Result<CheckpointView, GraphError>) -> FormatError {
    match result {
        Err(GraphError::Format(error)) => error,
        other => panic!("expected a format error, got {other:?}"),
    }
}

fn index_bytes(prefix: &Path) -> Vec<u8> {
    std::fs::read(ckview::format::bundle::index_path(prefix)).unwrap()
}

fn write_index(prefix: &Path, bytes: &[u8]) {
    std::fs::write(ckview::format::bundle::index_path(prefix), bytes).unwrap();
}

/// Offset and size of the index block, read from the footer.
fn index_handle(index: &[u8]) -> (usize, usize) {
    let footer = &index[index.len() - 48..];
    let mut values = Vec::new();
    let mut at = 0;
    while values.len() < 4 {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = footer[at];
            at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        values.push(value as usize);
    }
    (values[2], values[3])
}

/// Recomputes the trailer checksum of the block at `offset` with `size` content bytes.
fn reseal(index: &mut [u8], offset: usize, size: usize) {
    let checksum = crc::mask(crc::crc32c(&index[offset..offset + size + 1]));
    index[offset + size + 1..offset + size + 5].copy_from_slice(&checksum.to_le_bytes());
}

#[test]
fn short_files_and_wrong_magic_are_not_tables() {
    let dir = scratch("short");
    let ck = crafted(&dir, |_| {});
    let original = index_bytes(&ck);
    for length in [0, 1, 47] {
        write_index(&ck, &original[..length]);
        assert!(matches!(format_error(CheckpointView::open(&ck)), FormatError::NotATable { .. }), "length {length}");
    }
    let mut bad_magic = original.clone();
    *bad_magic.last_mut().unwrap() ^= 0xff;
    write_index(&ck, &bad_magic);
    assert!(matches!(format_error(CheckpointView::open(&ck)), FormatError::NotATable { .. }));
}

#[test]
fn block_handles_past_the_end_or_overflowing_are_refused() {
    // CVE-2018-7575: a block size that overflows when the 5-byte trailer is added.
    let dir = scratch("handles");
    let ck = crafted(&dir, |_| {});
    let original = index_bytes(&ck);
    let footer_start = original.len() - 48;
    for (offset, size) in [(0u64, u64::MAX - 2), (u64::MAX - 2, 1), (original.len() as u64, 0), (0, original.len() as u64)] {
        let mut bytes = original[..footer_start].to_vec();
        let mut footer = vec![0x00, 0x00]; // metaindex handle (0, 0): never read
        for mut value in [offset, size] {
            while value >= 0x80 {
                footer.push((value as u8) | 0x80);
                value >>= 7;
            }
            footer.push(value as u8);
        }
        footer.resize(40, 0);
        footer.extend_from_slice(&original[original.len() - 8..]);
        bytes.extend_from_slice(&footer);
        write_index(&ck, &bytes);
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::CorruptTable { .. }), "({offset}, {size}): {error}");
    }
}

#[test]
fn every_flipped_byte_of_a_real_index_block_is_caught() {
    let dir = scratch("flips");
    let source = prefix("doc_children");
    let original = index_bytes(&source);
    let (offset, size) = index_handle(&original);
    let ck = dir.join("tf_ckpts-1");
    std::fs::copy(format!("{}.data-00000-of-00001", source.display()), format!("{}.data-00000-of-00001", ck.display())).unwrap();
    for at in offset..offset + size + 5 {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        write_index(&ck, &bytes);
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::ChecksumMismatch { .. } | FormatError::CorruptTable { .. }), "byte {at}: {error}");
    }
}

#[test]
fn snappy_blocks_that_do_not_decompress_are_corrupt_tables() {
    let dir = scratch("snappy");
    let ck = crafted(&dir, |_| {});
    let mut bytes = index_bytes(&ck);
    let (offset, size) = index_handle(&bytes);
    bytes[offset + size] = 1; // compression type: snappy
    reseal(&mut bytes, offset, size);
    write_index(&ck, &bytes);
    // Raw block bytes relabelled as snappy: the checksum holds, the decompression fails.
    let error = format_error(CheckpointView::open(&ck));
    assert!(matches!(error, FormatError::CorruptTable { .. }), "{error}");
    assert!(error.to_string().contains("snappy"));
}

#[test]
fn bad_restart_arrays_and_key_order_are_corrupt_tables() {
    let dir = scratch("restarts");
    let ck = crafted(&dir, |_| {});
    let original = index_bytes(&ck);
    let (offset, size) = index_handle(&original);
    // The index block: restart count far beyond what fits, then a restart pointing mid-entry.
    for (patch_at, value) in [(offset + size - 4, 0x4000_0000u32), (offset + size - 8, 3)] {
        let mut bytes = original.clone();
        bytes[patch_at..patch_at + 4].copy_from_slice(&value.to_le_bytes());
        reseal(&mut bytes, offset, size);
        write_index(&ck, &bytes);
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::CorruptTable { .. }), "{error}");
    }
    // Keys out of order, then a duplicate key, in the data block (both sealed with a valid crc).
    let dir = scratch("key_order");
    let ck = crafted(&dir, |w| w.add_raw(b"b_var/.ATTRIBUTES/VARIABLE_VALUE", DataType::DtFloat, &[], &[0; 4]).unwrap());
    let original = index_bytes(&ck);
    let (offset, _) = index_handle(&original);
    let data_size = offset - 5 - 8 - 5; // the data block, its trailer, the empty metaindex and its trailer
    for (find, replacement) in [(b"a_var", b'0'), (b"b_var", b'a')] {
        let mut bytes = original.clone();
        let key_at = bytes[..data_size].windows(5).position(|w| w == find).unwrap();
        bytes[key_at] = replacement;
        reseal(&mut bytes, 0, data_size);
        write_index(&ck, &bytes);
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::CorruptTable { .. }), "{error}");
        assert!(error.to_string().contains("strictly increasing"), "{error}");
    }
}

#[test]
fn header_version_rules_are_enforced() {
    let cases: [(&str, Box<dyn Fn(&mut BundleWriter)>); 6] = [
        ("min_consumer", Box::new(|w| w.header_mut().version = Some(VersionDef { producer: 1, min_consumer: 2, bad_consumers: vec![] }))),
        ("bad_consumers", Box::new(|w| w.header_mut().version = Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: vec![1] }))),
        ("producer", Box::new(|w| w.header_mut().version = Some(VersionDef { producer: -1, min_consumer: 0, bad_consumers: vec![] }))),
        ("no_shards", Box::new(|w| w.header_mut().num_shards = 0)),
        ("endianness", Box::new(|w| w.header_mut().endianness = 7)),
        ("many_shards", Box::new(|w| w.header_mut().num_shards = i32::MAX)),
    ];
    for (name, craft) in cases {
        let dir = scratch(name);
        let error = format_error(CheckpointView::open(crafted(&dir, craft)));
        let expected = match name {
            "min_consumer" | "bad_consumers" | "producer" => matches!(error, FormatError::UnsupportedVersion { .. }),
            "many_shards" => matches!(error, FormatError::Unsupported { .. }),
            _ => matches!(error, FormatError::CorruptEntry { .. }),
        };
        assert!(expected, "{name}: {error}");
    }
    // A missing version is accepted, as TensorFlow accepts it.
    let dir = scratch("no_version");
    assert!(CheckpointView::open(crafted(&dir, |w| w.header_mut().version = None)).is_ok());
}

fn graph_entry(dims: &[i64], shard_id: i32, offset: i64, size: i64) -> BundleEntryProto {
    BundleEntryProto {
        dtype: DataType::DtString as i32,
        shape: Some(TensorShapeProto { dim: dims.iter().map(|&size| Dim { size, name: String::new() }).collect(), unknown_rank: false }),
        shard_id,
        offset,
        size,
        crc32c: 0,
        slices: vec![],
    }
}

#[test]
fn impossible_entries_are_refused_before_any_read() {
    let cases: [(&str, BundleEntryProto); 7] = [
        ("negative dimension", graph_entry(&[-1], 0, 0, 10)),
        ("rank 255", graph_entry(&[1; 255], 0, 0, 10)),
        ("element count overflow", graph_entry(&[1 << 40, 1 << 40], 0, 0, 10)),
        ("negative size", graph_entry(&[], 0, 0, -5)),
        ("negative offset", graph_entry(&[], 0, -1, 5)),
        ("shard out of range", graph_entry(&[], 1, 0, 5)),
        ("negative shard", graph_entry(&[], -1, 0, 5)),
    ];
    for (name, entry) in cases {
        let dir = scratch(&name.replace(' ', "_"));
        let ck = crafted(&dir, |w| w.add_entry(OBJECT_GRAPH_KEY, entry));
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::CorruptEntry { .. }), "{name}: {error}");
    }
    // A numeric tensor whose size does not match its shape: it lists, flagged, and reading it
    // fails with its own status.
    let dir = scratch("numeric_size");
    let ck = crafted(&dir, |w| {
        let mut entry = graph_entry(&[3], 0, 0, 8);
        entry.dtype = DataType::DtFloat as i32;
        w.add_entry(b"bad", entry)
    });
    let bundle = Bundle::open(&ck).unwrap();
    let entry = bundle.entry(b"bad").unwrap().unwrap();
    assert_eq!(entry.inconsistent.as_deref(), Some("8 bytes stored for 3 elements of float32"));
    assert!(matches!(bundle.value_size(b"bad", &entry), Err(FormatError::CorruptEntry { .. })));
}

#[test]
fn data_ranges_past_the_shard_are_refused() {
    // A signed `offset + size` overflow once bypassed a bounds check elsewhere.
    for (name, offset, size) in [("huge_offset", i64::MAX, 10), ("past_end", 0, 1 << 20), ("both_max", i64::MAX, i64::MAX)] {
        let dir = scratch(name);
        let ck = crafted(&dir, |w| w.add_entry(OBJECT_GRAPH_KEY, graph_entry(&[], 0, offset, size)));
        let error = format_error(CheckpointView::open(&ck));
        assert!(matches!(error, FormatError::CorruptData { .. }), "{name}: {error}");
    }
}

#[test]
fn damaged_string_payloads_are_caught() {
    let source = prefix("doc_children");
    let data_path = format!("{}.data-00000-of-00001", source.display());
    let original = std::fs::read(&data_path).unwrap();
    let dir = scratch("strings");
    let ck = dir.join("tf_ckpts-1");
    std::fs::copy(format!("{}.index", source.display()), format!("{}.index", ck.display())).unwrap();
    let entry = Bundle::open(&source).unwrap().entry(OBJECT_GRAPH_KEY).unwrap().unwrap();
    let start = entry.offset as usize;
    // One flipped bit in the length varint, the length checksum, and the graph's bytes.
    for (at, expect_checksum) in [(start, false), (start + 2, true), (start + 3, true), (start + 100, true)] {
        let mut bytes = original.clone();
        bytes[at] ^= 0x10;
        std::fs::write(format!("{}.data-00000-of-00001", ck.display()), &bytes).unwrap();
        let error = format_error(CheckpointView::open(&ck));
        let right = if expect_checksum {
            matches!(error, FormatError::ChecksumMismatch { .. })
        } else {
            matches!(error, FormatError::CorruptData { .. } | FormatError::ChecksumMismatch { .. })
        };
        assert!(right, "byte {at}: {error}");
    }
}

#[test]
fn missing_shards_directories_and_empty_files() {
    let dir = scratch("files");
    let ck = crafted(&dir, |_| {});
    let data = format!("{}.data-00000-of-00001", ck.display());
    std::fs::remove_file(&data).unwrap();
    let error = format_error(CheckpointView::open(&ck));
    assert!(matches!(error, FormatError::Io { .. }) && error.to_string().contains("data-00000-of-00001"), "{error}");
    std::fs::create_dir(&data).unwrap();
    assert!(matches!(format_error(CheckpointView::open(&ck)), FormatError::Io { .. }));
    std::fs::write(ckview::format::bundle::index_path(&ck), b"").unwrap();
    assert!(matches!(format_error(CheckpointView::open(&ck)), FormatError::NotATable { .. }));
    // An index that is a directory leads nowhere.
    let other = dir.join("dir_ck");
    std::fs::create_dir(dir.join("dir_ck.index")).unwrap();
    assert!(matches!(format_error(CheckpointView::open(&other)), FormatError::NotFound { .. }));
}

#[test]
fn a_v1_checkpoint_is_named_as_such() {
    let dir = scratch("v1");
    let path = dir.join("model.ckpt");
    let mut table = TableBuilder::default();
    table.add(b"global_step", b"not a V2 entry");
    std::fs::write(&path, table.finish()).unwrap();
    let error = format_error(CheckpointView::open(&path));
    assert!(matches!(error, FormatError::Unsupported { .. }) && error.to_string().contains("V1"), "{error}");
}

#[test]
fn wrong_graph_entries_are_corrupt_graphs() {
    let dir = scratch("graph_dtype");
    let ck = crafted(&dir, |w| w.add_raw(OBJECT_GRAPH_KEY, DataType::DtFloat, &[], &1.0f32.to_le_bytes()).unwrap());
    assert!(matches!(CheckpointView::open(&ck), Err(GraphError::CorruptObjectGraph { .. })));
    let dir = scratch("graph_garbage");
    let ck = crafted(&dir, |w| w.add_strings(OBJECT_GRAPH_KEY, &[], &[b"\xff\xff\xff\xff"]).unwrap());
    assert!(matches!(CheckpointView::open(&ck), Err(GraphError::CorruptObjectGraph { .. })));
}

#[test]
fn opening_reads_only_the_graph_not_every_data_block() {
    // Damage every byte of the data shard outside the object graph's range, and make the other
    // tensor's bytes unreadable: opening the view must not notice, reading that tensor must.
    let dir = scratch("lazy");
    let ck = crafted(&dir, |w| {
        w.add_raw(b"zz_other", DataType::DtFloat, &[1024], &vec![0u8; 4096]).unwrap();
    });
    let bundle = Bundle::open(&ck).unwrap();
    let graph = bundle.entry(OBJECT_GRAPH_KEY).unwrap().unwrap();
    let data = format!("{}.data-00000-of-00001", ck.display());
    let mut bytes = std::fs::read(&data).unwrap();
    for (at, byte) in bytes.iter_mut().enumerate() {
        if !(graph.offset as usize..(graph.offset + graph.size) as usize).contains(&at) {
            *byte ^= 0xff;
        }
    }
    std::fs::write(&data, &bytes).unwrap();
    let view = CheckpointView::open(&ck).expect("the graph's own bytes are intact");
    assert_eq!(view.num_nodes(), 13);
    let other = view.bundle().entry(b"zz_other").unwrap().unwrap();
    let stored = view.bundle().read_stored(b"zz_other", &other).unwrap();
    assert_ne!(crc::mask(crc::crc32c(&stored)), other.masked_crc32c);
}

#[test]
fn self_cycles_and_long_chains_terminate() {
    use ckview::format::proto::trackable_object_graph::trackable_object::ObjectReference;
    use ckview::format::proto::trackable_object_graph::TrackableObject;
    use ckview::format::proto::TrackableObjectGraph;
    use prost::Message;
    const DEPTH: usize = 200_000;
    let nodes = (0..DEPTH)
        .map(|id| TrackableObject {
            children: vec![
                ObjectReference { node_id: id as i32, local_name: "self".into() },
                ObjectReference { node_id: ((id + 1) % DEPTH) as i32, local_name: "next".into() },
            ],
            ..Default::default()
        })
        .collect();
    let graph = TrackableObjectGraph { nodes }.encode_to_vec();
    let dir = scratch("chain");
    let mut writer = BundleWriter::create(&dir.join("ck")).unwrap();
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&graph]).unwrap();
    let view = CheckpointView::open(writer.finish().unwrap()).unwrap();
    assert_eq!(view.descendants().len(), DEPTH);
    assert_eq!(view.children(0).unwrap().len(), 2);
    let deepest = view.path((DEPTH - 1) as u32).unwrap().unwrap();
    assert_eq!(deepest.len(), "root".len() + (DEPTH - 1) * ".next".len());
}
