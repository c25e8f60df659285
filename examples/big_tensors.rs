//! Writes a TF1-style bundle (no object graph) of COUNT float32 tensors of MIB mebibytes each,
//! for the export benchmark of BENCHMARKS.md: a checkpoint whose cost is in the bytes, not in
//! the number of tensors.
//!
//!     cargo run --release --example big_tensors -- PREFIX [COUNT] [MIB]

use std::path::Path;
use std::process::ExitCode;

use ckview::format::writer::BundleWriter;
use ckview::format::DataType;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(prefix) = args.first() else {
        eprintln!("usage: big_tensors PREFIX [COUNT] [MIB]");
        return ExitCode::from(2);
    };
    let count: usize = args.get(1).and_then(|text| text.parse().ok()).unwrap_or(64);
    let mib: usize = args.get(2).and_then(|text| text.parse().ok()).unwrap_or(16);
    let write = || -> std::io::Result<std::path::PathBuf> {
        let mut writer = BundleWriter::create(Path::new(prefix))?;
        let mut values = vec![0u8; mib << 20];
        for tensor in 0..count {
            for (index, chunk) in values.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&((tensor * 31 + index) as f32).to_le_bytes());
            }
            let key = format!("layer_{tensor:03}/kernel");
            writer.add_raw(key.as_bytes(), DataType::DtFloat, &[(values.len() / 4) as u64], &values)?;
        }
        writer.finish()
    };
    match write() {
        Ok(prefix) => {
            println!("{}", prefix.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write {prefix}: {error}");
            ExitCode::FAILURE
        }
    }
}
