//! The `.index` sstable reader: the input is written as an index file and opened, scanned in key
//! order and probed with lookups.
#![no_main]

use ckview::format::table::Table;
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
