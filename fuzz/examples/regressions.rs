//! Writes the inputs of `regressions/<target>/` that reproduce the findings of the hardening
//! pass (see ../SECURITY.md): `cargo run --example regressions`. Each file is named after its
//! finding. `run.sh` replays them before fuzzing.

use std::path::Path;

use ckview::format::crc;
use ckview::format::proto::tensor_shape_proto::Dim;
use ckview::format::proto::tensor_slice_proto::Extent;
use ckview::format::proto::{BundleEntryProto, BundleHeaderProto, DataType, TensorShapeProto, TensorSliceProto, VersionDef};
use ckview::format::writer::TableBuilder;
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview_fuzz::join;
use prost::Message;

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A block with its trailer appended to `out`; returns its encoded handle.
fn push_block(out: &mut Vec<u8>, contents: &[u8]) -> Vec<u8> {
    let mut handle = Vec::new();
    varint(&mut handle, out.len() as u64);
    varint(&mut handle, contents.len() as u64);
    out.extend_from_slice(contents);
    out.push(0);
    out.extend_from_slice(&crc::mask(crc::extend(crc::crc32c(contents), &[0])).to_le_bytes());
    handle
}

/// F1: one data block with no entries and two restart points, indexed under 0xff.
fn empty_block_two_restarts() -> Vec<u8> {
    let mut out = Vec::new();
    let data = push_block(&mut out, &[0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
    let metaindex = push_block(&mut out, &[0, 0, 0, 0, 1, 0, 0, 0]);
    let mut index = vec![0, 1, data.len() as u8, 0xff];
    index.extend_from_slice(&data);
    index.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
    let index = push_block(&mut out, &index);
    let mut footer = [metaindex, index].concat();
    footer.resize(40, 0);
    footer.extend_from_slice(&0xdb47_7524_8b80_fb57u64.to_le_bytes());
    out.extend_from_slice(&footer);
    out
}

fn header() -> Vec<u8> {
    BundleHeaderProto { num_shards: 1, endianness: 0, version: Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: vec![] }) }
        .encode_to_vec()
}

fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto { dim: dims.iter().map(|&size| Dim { size, name: String::new() }).collect(), unknown_rank: false })
}

/// F2: an object graph entry with one (rank-0) slice and shard id 7 of 1.
fn sliced_graph_entry() -> Vec<u8> {
    let entry = BundleEntryProto {
        dtype: DataType::DtString as i32,
        shape: shape(&[]),
        shard_id: 7,
        offset: 0,
        size: 4,
        crc32c: 0,
        slices: vec![TensorSliceProto { extent: vec![] }],
    };
    let mut table = TableBuilder::default();
    table.add(b"", &header());
    table.add(OBJECT_GRAPH_KEY, &entry.encode_to_vec());
    join(&[&table.finish(), &[0u8; 16]])
}

/// F3: a float tensor of 2^62 elements in four whole-tensor slices (their volumes overflow).
fn four_whole_slices() -> Vec<u8> {
    let whole = || TensorSliceProto { extent: vec![Extent { start: 0, has_length: None }] };
    let entry = BundleEntryProto {
        dtype: DataType::DtFloat as i32,
        shape: shape(&[1 << 62]),
        shard_id: 0,
        offset: 0,
        size: 0,
        crc32c: 0,
        slices: vec![whole(), whole(), whole(), whole()],
    };
    [vec![1u8], entry.encode_to_vec()].concat()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(root.join(target)).unwrap();
        std::fs::write(root.join(target).join(name), bytes).unwrap();
    };
    let f1 = empty_block_two_restarts();
    write("table", "f1-empty-block-two-restarts", &f1);
    write("open", "f1-empty-block-two-restarts", &join(&[&f1, b""]));
    write("open", "f2-sliced-graph-entry-shard-7-of-1", &sliced_graph_entry());
    write("entry", "f3-four-whole-slices-of-2p62-floats", &four_whole_slices());
    println!("wrote the regression inputs under {}", root.display());
}
