//! An export streams: copying a tensor's bytes takes a constant of memory (a chunk read back to
//! verify, the output's buffer), and a tensor that must be converted on the way (here byte
//! swapped from a big-endian bundle) takes its own size once, no more. Measured by a counting
//! allocator, so this file holds one test.

use std::path::Path;

use ckview::export::{export_safetensors, ExportOptions, Source};
use ckview::format::writer::BundleWriter;
use ckview::format::{Bundle, DataType, Endianness};

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const LARGE: usize = 48 << 20;

fn bundle(prefix: &Path, endianness: Endianness) -> std::path::PathBuf {
    let mut writer = BundleWriter::with_endianness(prefix, endianness).unwrap();
    let bytes: Vec<u8> = (0..LARGE).map(|index| (index * 7 % 251) as u8).collect();
    writer.add_raw(b"large", DataType::DtFloat, &[(LARGE / 4) as u64], &bytes).unwrap();
    writer.add_raw(b"small", DataType::DtFloat, &[4], &bytes[..16]).unwrap();
    writer.finish().unwrap()
}

#[test]
fn exporting_a_large_tensor_takes_memory_bounded_by_what_it_converts() {
    let dir = std::env::temp_dir().join(format!("ckview-export-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, endianness, allowed) in [("copied", Endianness::Little, 4 << 20), ("swapped", Endianness::Big, LARGE + (4 << 20))] {
        let source = Bundle::open(&bundle(&dir.join(name), endianness)).unwrap();
        let out = dir.join(format!("{name}.safetensors"));
        let (report, peak, _) = counting::measure(|| export_safetensors(Source::Bundle(&source), &out, ExportOptions::default()).unwrap());
        println!("export of a {} MiB tensor, {name}: peak heap {} KiB", LARGE >> 20, peak >> 10);
        assert_eq!(report.tensors, 2);
        assert!(peak < allowed, "{name}: peak heap {peak} bytes for a {LARGE}-byte tensor");
        let written = std::fs::read(&out).unwrap();
        let file = safetensors::SafeTensors::deserialize(&written).unwrap();
        let values = file.tensor("large").unwrap();
        // Little-endian floats in the output whichever order the bundle stored them in.
        let first = f32::from_le_bytes(values.data()[..4].try_into().unwrap());
        let expected = [0u8, 7, 14, 21];
        let expected = match endianness {
            Endianness::Little => f32::from_le_bytes(expected),
            Endianness::Big => f32::from_be_bytes(expected),
        };
        assert_eq!(first.to_bits(), expected.to_bits(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
