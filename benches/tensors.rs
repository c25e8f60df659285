//! Reading every tensor of a 1 GiB checkpoint from the page cache, by copying and without a
//! copy, beside what the hardware does: memcpy, crc32c, and the two together.
//!
//!     cargo bench --bench tensors
//!
//! Prints `tensors OPERATION GB/s` lines, then the cost of one zero-copy borrow for tensors of
//! growing size (it should not grow).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ckview::format::writer::BundleWriter;
use ckview::format::{crc, Bundle, DataType, TensorEntry, Verify};

const TENSOR_BYTES: usize = 16 << 20;
const TENSORS: usize = 64; // 1 GiB

fn checkpoint() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("tensors-1g");
    if !ckview::format::bundle::index_path(&prefix).is_file() {
        let mut writer = BundleWriter::create(&prefix).unwrap();
        let mut values = vec![0u8; TENSOR_BYTES];
        for tensor in 0..TENSORS {
            for (index, chunk) in values.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&((tensor * 31 + index) as f32).to_le_bytes());
            }
            let key = format!("layer_{tensor:02}/kernel/.ATTRIBUTES/VARIABLE_VALUE");
            writer.add_raw(key.as_bytes(), DataType::DtFloat, &[(TENSOR_BYTES / 4) as u64], &values).unwrap();
        }
        // Tensors of growing size, for the cost of a borrow against size.
        for shift in [10, 14, 18, 22, 26] {
            let bytes = vec![1u8; 1 << shift];
            writer.add_raw(format!("sized/{shift:02}").as_bytes(), DataType::DtUint8, &[1 << shift], &bytes).unwrap();
        }
        writer.finish().unwrap();
    }
    prefix
}

/// The fastest of `rounds` runs.
fn best(rounds: usize, mut run: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn gb_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64() / 1e9
}

fn main() {
    let prefix = checkpoint();
    // Positioned reads for `read_value`, memory maps for `borrow_value`: both as users open them.
    let bundle = Bundle::open(&prefix).unwrap();
    let mapped = Bundle::open_with(&prefix, std::sync::Arc::new(ckview::io::LocalStorage { mmap: true })).unwrap();
    let tensors: Vec<(Vec<u8>, TensorEntry)> =
        bundle.tensors().unwrap().into_iter().filter(|(key, _)| key.starts_with(b"layer_")).collect();
    let total: usize = tensors.iter().map(|(_, entry)| entry.size as usize).sum();
    let mut buffer = vec![0u8; TENSOR_BYTES];
    let stored: Vec<Vec<u8>> = tensors.iter().map(|(key, entry)| bundle.read_stored(key, entry).unwrap()).collect();
    // Warm the page cache and the buffer.
    stored.iter().for_each(|bytes| buffer.copy_from_slice(bytes));
    println!("tensors: {} tensors, {:.2} GiB, one data shard, page cache warm", tensors.len(), total as f64 / (1u64 << 30) as f64);

    let memcpy = best(5, || stored.iter().for_each(|bytes| buffer.copy_from_slice(std::hint::black_box(bytes))));
    let crc32c = best(5, || {
        std::hint::black_box(stored.iter().map(|bytes| crc::crc32c(bytes)).fold(0, u32::wrapping_add));
    });
    println!("tensors memcpy {:.2} GB/s", gb_per_s(total, memcpy));
    println!("tensors crc32c {:.2} GB/s", gb_per_s(total, crc32c));
    println!("tensors memcpy+crc32c {:.2} GB/s", gb_per_s(total, memcpy + crc32c));

    for (name, verify) in [("read_verified", Verify::Checksums), ("read_unverified", Verify::Skip)] {
        let elapsed = best(5, || {
            for (key, entry) in &tensors {
                bundle.read_value(key, entry, &mut buffer, verify).unwrap();
            }
        });
        println!("tensors {name} {:.2} GB/s ({:.2}x the time of memcpy+crc32c)", gb_per_s(total, elapsed), elapsed.as_secs_f64() / (memcpy + crc32c).as_secs_f64());
    }
    for (name, verify) in [("borrow_verified", Verify::Checksums), ("borrow_unverified", Verify::Skip)] {
        let elapsed = best(5, || {
            for (key, entry) in &tensors {
                std::hint::black_box(mapped.borrow_value(key, entry, verify).unwrap());
            }
        });
        println!("tensors {name} {:.2} GB/s ({:.0} ns per tensor)", gb_per_s(total, elapsed), elapsed.as_nanos() as f64 / tensors.len() as f64);
    }
    for shift in [10, 14, 18, 22, 26] {
        let key = format!("sized/{shift:02}");
        let entry = bundle.entry(key.as_bytes()).unwrap().unwrap();
        const CALLS: u32 = 10_000;
        let elapsed = best(5, || {
            for _ in 0..CALLS {
                std::hint::black_box(mapped.borrow_value(key.as_bytes(), &entry, Verify::Skip).unwrap());
            }
        });
        println!("tensors borrow_cost {} bytes {:.1} ns per borrow", 1u64 << shift, elapsed.as_nanos() as f64 / f64::from(CALLS));
    }
}
