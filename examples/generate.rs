//! Writes a synthetic TF2 checkpoint (see the `ckview-synthetic` crate):
//!
//!     cargo run --release --example generate -- NODES PREFIX [ELEMENTS_PER_VARIABLE]

use std::path::Path;
use std::process::ExitCode;

use ckview_synthetic::{write_model, ModelShape};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [nodes, prefix] => nodes.parse().ok().map(|nodes| (nodes, prefix, 4)),
        [nodes, prefix, elements] => nodes.parse().ok().zip(elements.parse().ok()).map(|(n, e)| (n, prefix, e)),
        _ => None,
    };
    let Some((nodes, prefix, variable_elements)) = parsed else {
        eprintln!("usage: generate NODES PREFIX [ELEMENTS_PER_VARIABLE]");
        return ExitCode::from(2);
    };
    let shape = ModelShape { nodes, variable_elements, ..ModelShape::default() };
    match write_model(Path::new(prefix), shape) {
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
