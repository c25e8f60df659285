//! The `.index` sstable reader: the input is written as an index file and opened, scanned in key
//! order and probed with lookups. The same input is also taken as the contents of a
//! snappy-compressed block (compression type 1): decompressed within the declared-length bounds,
//! then parsed as a block.
#![no_main]

use ckview::format::table::{decompress_snappy, Block, Table};
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(contents) = decompress_snappy(data) {
        assert!(contents.len() as u64 <= 32 * data.len() as u64, "a snappy block exceeds the accepted ratio");
        if let Ok(block) = Block::parse(&contents) {
            let mut iter = block.iter();
            while iter.advance() {
                std::hint::black_box(iter.value().len());
            }
        }
    }
    let path = Scratch::fresh().write("t.index", data);
    let Ok(table) = Table::open(&ckview::io::LocalStorage::default(), &path) else { return };
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut previous: Option<Vec<u8>> = None;
    let scan = table.for_each(|key, value| {
        if let Some(previous) = &previous {
            assert!(key > previous.as_slice(), "for_each yields keys out of order");
        }
        previous = Some(key.to_vec());
        if keys.len() < 8 {
            keys.push(key.to_vec());
        }
        std::hint::black_box(value.len());
        Ok(())
    });
    std::hint::black_box(scan.is_ok());
    for key in [&b""[..], OBJECT_GRAPH_KEY, b"\xff\xff", b"a"] {
        let _ = table.get(key);
    }
    for key in &keys {
        let _ = table.get(key);
        let mut longer = key.clone();
        longer.push(0);
        let _ = table.get(&longer);
    }
});
