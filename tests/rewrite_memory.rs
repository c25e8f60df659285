//! A rewrite streams: its peak heap memory stays a small constant (the 1 MiB copy buffer, the
//! index) whatever the size of the tensors it copies. Measured by a counting allocator, so this
//! file holds one test.

use ckview::format::writer::BundleWriter;
use ckview::format::{Bundle, DataType};
use ckview::rewrite::{rewrite, RewriteOptions};

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[test]
fn copying_a_large_tensor_takes_constant_memory() {
    let dir = std::env::temp_dir().join(format!("ckview-rewrite-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    const LARGE: usize = 48 << 20;
    {
        let mut writer = BundleWriter::create(&dir.join("big")).unwrap();
        let bytes: Vec<u8> = (0..LARGE).map(|index| (index * 7 % 251) as u8).collect();
        writer.add_raw(b"large", DataType::DtFloat, &[(LARGE / 4) as u64], &bytes).unwrap();
        writer.add_raw(b"small", DataType::DtFloat, &[4], &bytes[..16]).unwrap();
        writer.finish().unwrap();
    }
    let source = Bundle::open(&dir.join("big")).unwrap();
    let (summary, peak, _) = counting::measure(|| rewrite(&source, &dir.join("copy"), &RewriteOptions { drop: vec!["small".into()], ..Default::default() }).unwrap());
    println!("rewrite of a {} MiB tensor: peak heap {} KiB", LARGE >> 20, peak >> 10);
    assert_eq!(summary.tensors_after, 1);
    assert!(summary.bytes_after > LARGE as u64);
    assert!(peak < 4 << 20, "peak heap {peak} bytes for a {LARGE}-byte tensor");
    let copy = Bundle::open(&dir.join("copy")).unwrap();
    let entry = copy.entry(b"large").unwrap().unwrap();
    copy.check_stored_checksum(b"large", &entry).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
