//! The README's "Convert a TF checkpoint for PyTorch or JAX" walk-through prints what the README
//! shows: `ckview export` of a model TensorFlow trained with Adam, loaded back by Hugging Face's
//! safetensors package and compared with TensorFlow's reading of the checkpoint.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_readme_walk_through_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let marker = "<!-- output of: examples/shell/convert_for_pytorch.sh -->\n```\n";
    let start = readme.find(marker).expect("README.md shows the walk-through's output") + marker.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let python = root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: TensorFlow 2.21 and safetensors run the walk-through", python.display());
    let _ = std::fs::remove_dir_all(root().join("target/converted"));
    let output = Command::new("sh")
        .arg("examples/shell/convert_for_pytorch.sh")
        .current_dir(root())
        .env("CKVIEW", env!("CARGO_BIN_EXE_ckview"))
        .env("PYTHON", python)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), shown);
}
