//! A whole checkpoint: the input is split (`ckview_fuzz::split`) into an index and up to eight
//! data shards, written as `ck.index` and `ck.data-0000i-of-0000N` (N from the header the index
//! holds), then opened as a view and as a bare bundle, and everything is walked.
#![no_main]

use ckview::format::Bundle;
use ckview::CheckpointView;
use ckview_fuzz::{split, walk_bundle, walk_graph, Scratch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = split(data, 9);
    let scratch = Scratch::fresh();
    scratch.write("ck.index", parts[0]);
    let prefix = scratch.path("ck");
    // The shard count comes from the header; shards without a piece stay missing.
    let Ok(bundle) = Bundle::open_prefix(&prefix) else {
        let _ = CheckpointView::open(&prefix);
        return;
    };
    let num_shards = bundle.header().num_shards;
    drop(bundle);
    for (shard, piece) in parts[1..].iter().enumerate().take(num_shards as usize) {
        scratch.write(&format!("ck.data-{shard:05}-of-{num_shards:05}"), piece);
    }
    // Memory maps here, so that borrows are exercised; the fallback below reads without them.
    match CheckpointView::open_with(&prefix, std::sync::Arc::new(ckview::io::LocalStorage { mmap: true })) {
        Ok(view) => {
            walk_graph(view.graph());
            walk_bundle(view.bundle());
        }
        Err(error) => {
            std::hint::black_box(ckview::ffi::ckview_status::from(&error));
            if let Ok(bundle) = Bundle::open_prefix(&prefix) {
                walk_bundle(&bundle);
            }
        }
    }
});
