//! Work bounded by the size of the file, for files crafted to make it grow faster: the fuzzers'
//! small inputs cannot show memory or time that is superlinear. Peak heap memory is measured by
//! a counting allocator (so every case runs in the one test below, one after another), time by
//! the ratio between a file and one twice its size: linear work doubles, quadratic quadruples.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ckview::format::proto::{tensor_shape_proto::Dim, tensor_slice_proto::extent::HasLength, tensor_slice_proto::Extent};
use ckview::format::proto::{BundleEntryProto, DataType, TensorShapeProto, TensorSliceProto};
use ckview::format::table::Table;
use ckview::format::writer::BundleWriter;
use ckview::format::{crc, Bundle, FormatError, Verify};
use ckview::io::LocalStorage;

#[path = "common/counting.rs"]
mod counting;

use counting::measure;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// An empty data block: no entries, no restart points.
const EMPTY_BLOCK: [u8; 4] = [0; 4];

/// A whole table from data block contents and, for each, its separator in the index as
/// (bytes shared with the previous separator, the rest): written straight from the deltas,
/// since the separators themselves may be quadratic in size.
fn table(blocks: &[Vec<u8>], separator: impl Fn(usize) -> (usize, Vec<u8>)) -> Vec<u8> {
    let put = |file: &mut Vec<u8>, contents: &[u8]| {
        let mut handle = Vec::new();
        varint(&mut handle, file.len() as u64);
        varint(&mut handle, contents.len() as u64);
        file.extend_from_slice(contents);
        file.push(0);
        let checksum = crc::mask(crc::extend(crc::crc32c(contents), &[0]));
        file.extend_from_slice(&checksum.to_le_bytes());
        handle
    };
    let mut file = Vec::new();
    let mut index = Vec::new();
    for (ordinal, contents) in blocks.iter().enumerate() {
        let handle = put(&mut file, contents);
        let (shared, rest) = separator(ordinal);
        varint(&mut index, shared as u64);
        varint(&mut index, rest.len() as u64);
        varint(&mut index, handle.len() as u64);
        index.extend_from_slice(&rest);
        index.extend_from_slice(&handle);
    }
    index.extend_from_slice(&0u32.to_le_bytes()); // one restart point, at the first entry
    index.extend_from_slice(&1u32.to_le_bytes());
    let index_handle = put(&mut file, &index);
    let mut footer = vec![0, 0];
    footer.extend_from_slice(&index_handle);
    footer.resize(40, 0);
    footer.extend_from_slice(&0xdb47_7524_8b80_fb57u64.to_le_bytes());
    file.extend_from_slice(&footer);
    file
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-bounded-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `count` empty data blocks whose separators grow by one byte each: kept in full, they would
/// take count²/2 bytes (a 1.3 MB index, 2.5 GB).
fn growing_separators(dir: &Path, count: usize) -> PathBuf {
    let blocks = vec![EMPTY_BLOCK.to_vec(); count];
    let path = dir.join(format!("separators-{count}.index"));
    std::fs::write(&path, table(&blocks, |i| if i == 0 { (0, b"k".to_vec()) } else { (i, b"x".to_vec()) })).unwrap();
    path
}

/// One data block of `count` keys growing by one byte each (its separator is the last key):
/// copying each key's shared prefix to check the order costs count²/2.
fn growing_keys(dir: &Path, count: usize) -> PathBuf {
    // Written entry by entry: the keys themselves would take count²/2 bytes here too.
    let mut contents = Vec::new();
    for i in 0..count {
        varint(&mut contents, i as u64); // shares all of the previous key
        contents.extend_from_slice(&[1, 0, b'a']); // one new byte, an empty value
    }
    contents.extend_from_slice(&0u32.to_le_bytes());
    contents.extend_from_slice(&1u32.to_le_bytes());
    let path = dir.join(format!("keys-{count}.index"));
    std::fs::write(&path, table(&[contents], |_| (0, vec![b'a'; count]))).unwrap();
    path
}

/// Opens the table at `path` and scans every key; returns the key count, peak heap and time.
fn open_and_scan(path: &Path) -> (usize, usize, Duration) {
    let (count, peak, elapsed) = measure(|| {
        let table = Table::open(&LocalStorage::default(), path).unwrap();
        let mut count = 0;
        table.for_each(|_, _| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(table.get(b"zzz").unwrap(), None);
        count
    });
    (count, peak, elapsed)
}

/// Memory at most a small multiple of the file, time growing about linearly with it.
fn assert_linear(name: &str, small: &Path, large: &Path) {
    let (_, small_peak, small_time) = open_and_scan(small);
    let (count, large_peak, large_time) = open_and_scan(large);
    let bytes = std::fs::metadata(large).unwrap().len() as usize;
    println!(
        "{name}: {bytes} bytes, {count} entries: peak heap {large_peak} bytes ({:.1}x the file), {large_time:?} ({:.0} ns per byte; half the file {small_time:?}, peak {small_peak})",
        large_peak as f64 / bytes as f64,
        large_time.as_nanos() as f64 / bytes as f64
    );
    assert!(large_peak <= 8 * bytes + (8 << 20), "{name}: peak heap {large_peak} bytes for a {bytes}-byte file");
    // Twice the file: linear work takes about twice as long, quadratic four times. The
    // allowance covers a loaded machine; quadratic work would also take minutes here.
    let ratio = large_time.as_secs_f64() / small_time.as_secs_f64().max(1e-3);
    assert!(ratio < 3.2 || large_time < Duration::from_millis(300), "{name}: twice the file took {ratio:.1}x the time");
    assert!(large_time < Duration::from_secs(60), "{name}: {large_time:?}");
}

/// Partitioned tensors whose slices all point at the same stored bytes: 4 KiB of checksummed
/// data would become a verified 16 MiB tensor (with a sparse shard, any size).
fn shared_slices(dir: &Path) {
    let mut writer = BundleWriter::create(&dir.join("shared")).unwrap();
    let stored = vec![7u8; 4096];
    writer.add_raw(b"stored", DataType::DtFloat, &[1, 1024], &stored).unwrap();
    let whole = entry_at_start(&stored);
    let rows = 4096u64;
    let slices: Vec<TensorSliceProto> = (0..rows)
        .map(|row| TensorSliceProto {
            extent: vec![Extent { start: row as i64, has_length: Some(HasLength::Length(1)) }, Extent { start: 0, has_length: None }],
        })
        .collect();
    let shape = TensorShapeProto { dim: vec![Dim { size: rows as i64, name: String::new() }, Dim { size: 1024, name: String::new() }], unknown_rank: false };
    for slice in &slices {
        let key = ckview::format::slice_key::slice_key(b"big", &slice_extents(slice));
        writer.add_entry(&key, BundleEntryProto { dtype: DataType::DtFloat as i32, shape: Some(TensorShapeProto { dim: vec![Dim { size: 1, name: String::new() }, Dim { size: 1024, name: String::new() }], unknown_rank: false }), ..whole.clone() });
    }
    writer.add_entry(b"big", BundleEntryProto { dtype: DataType::DtFloat as i32, shape: Some(shape), slices, ..Default::default() });
    let prefix = writer.finish().unwrap();
    let (result, peak, elapsed) = measure(|| {
        let bundle = Bundle::open(&prefix).unwrap();
        let entry = bundle.entry(b"big").unwrap().unwrap();
        let size = bundle.value_size(b"big", &entry);
        let mut out = vec![0u8; 16 << 20];
        (size.is_err(), bundle.read_value(b"big", &entry, &mut out, Verify::Checksums))
    });
    println!("shared slices: refused in {elapsed:?}, peak heap {peak} bytes (16 MiB of it the caller's buffer)");
    assert!(result.0, "value_size accepted slices that share stored bytes");
    match result.1 {
        Err(FormatError::CorruptEntry { reason, .. }) => assert!(reason.contains("share stored bytes"), "{reason}"),
        other => panic!("read_value: {other:?}"),
    }
}

/// Where `add_raw` put the first tensor it wrote: the start of shard 0.
fn entry_at_start(stored: &[u8]) -> BundleEntryProto {
    BundleEntryProto { shard_id: 0, offset: 0, size: stored.len() as i64, crc32c: crc::mask(crc::crc32c(stored)), ..Default::default() }
}

fn slice_extents(slice: &TensorSliceProto) -> Vec<ckview::format::SliceExtent> {
    slice
        .extent
        .iter()
        .map(|extent| ckview::format::SliceExtent {
            start: extent.start as u64,
            length: extent.has_length.map(|HasLength::Length(length)| length as u64),
        })
        .collect()
}

#[test]
fn crafted_files_cost_memory_and_time_in_proportion_to_their_size() {
    let dir = scratch("all");
    assert_linear("index separators growing by one byte", &growing_separators(&dir, 35_000), &growing_separators(&dir, 70_000));
    assert_linear("keys growing by one byte in one block", &growing_keys(&dir, 640_000), &growing_keys(&dir, 1_280_000));
    shared_slices(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
}
