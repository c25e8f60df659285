//! Tensor entries and the bundle header. The first byte picks the shard count given to
//! `TensorEntry::decode`; the rest is the entry. The same bytes are then stored as the header
//! (empty key) of an otherwise valid index, and as the entry of a key, and the bundle opened.
#![no_main]

use ckview::format::writer::TableBuilder;
use ckview::format::{Bundle, TensorEntry};
use ckview_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, value)) = data.split_first() else { return };
    let num_shards = match selector {
        0 => 0,
        255 => u32::MAX,
        shards => u32::from(shards),
    };
    if let Ok(entry) = TensorEntry::decode(value, num_shards) {
        let elements = entry.num_elements();
        assert!(elements <= i64::MAX as u64);
        // A location that cannot hold the tensor is kept, flagged, so that listing goes on;
        // every reader checks the flag before it uses the location.
        if entry.slices.is_empty() && entry.inconsistent.is_none() {
            assert!(entry.shard_id < num_shards);
            assert!(entry.offset.checked_add(entry.size).is_some());
        }
        for slice in &entry.slices {
            assert_eq!(slice.len(), entry.shape.len());
        }
    }

    // The value as the header of a bundle, then as the entry of a tensor under a valid header.
    let scratch = Scratch::fresh();
    let mut table = TableBuilder::default();
    table.add(b"", value);
    scratch.write("h.index", &table.finish());
    if let Ok(bundle) = Bundle::open_prefix(&scratch.path("h")) {
        let header = bundle.header();
        assert!(header.num_shards >= 1);
        let _ = bundle.tensors();
    }
    let header = [0x08, 0x01, 0x1a, 0x02, 0x08, 0x01]; // num_shards 1, producer 1
    let mut table = TableBuilder::default();
    table.add(b"", &header);
    table.add(b"t", value);
    scratch.write("e.index", &table.finish());
    scratch.write("e.data-00000-of-00001", &[0u8; 64]);
    let bundle = Bundle::open_prefix(&scratch.path("e")).expect("a valid header opens");
    ckview_fuzz::walk_bundle(&bundle);
});
