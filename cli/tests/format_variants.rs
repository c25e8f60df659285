//! `ckview verify` and `show` on the format variants of `make_format_fixtures.py`: tf.data
//! iterator checkpoints (DT_VARIANT checksums), snappy-compressed index blocks, and an entry
//! whose size disagrees with its shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

fn ckview(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ckview")).args(args.iter().map(|arg| arg.as_ref())).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-cli-variants-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies the files of checkpoint `prefix` (in `folder`) into `dir`.
fn copy(folder: &str, prefix: &str, dir: &Path) -> PathBuf {
    for file in std::fs::read_dir(fixture(folder)).unwrap() {
        let name = file.unwrap().file_name();
        if name.to_string_lossy().starts_with(&format!("{prefix}.")) {
            std::fs::copy(fixture(folder).join(&name), dir.join(&name)).unwrap();
        }
    }
    dir.join(prefix)
}

#[test]
fn verify_passes_on_tf_data_iterators_and_reports_a_flipped_byte() {
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(fixture("iterator").join("tf_answers.json")).unwrap()).unwrap();
    for prefix in answers["prefixes"].as_array().unwrap() {
        let prefix = prefix.as_str().unwrap();
        let output = ckview(&[&"verify", &fixture("iterator").join(prefix)]);
        assert_eq!(output.status.code(), Some(0), "{prefix}: {}", stdout(&output));
        assert!(stdout(&output).starts_with("OK 2 tensors"), "{prefix}: {}", stdout(&output));
        // TensorFlow's entry: flip one byte in the middle of the variant's stored bytes.
        let entry = &answers["checkpoints"][prefix]["index_entries"]["it/.ATTRIBUTES/ITERATOR_STATE"];
        let (offset, size) = (entry["offset"].as_u64().unwrap(), entry["size"].as_u64().unwrap());
        let dir = scratch(prefix);
        let ckpt = copy("iterator", prefix, &dir);
        let data = dir.join(format!("{prefix}.data-00000-of-00001"));
        let mut bytes = std::fs::read(&data).unwrap();
        bytes[(offset + size / 2) as usize] ^= 0x01;
        std::fs::write(&data, bytes).unwrap();
        let output = ckview(&[&"verify", &ckpt]);
        assert_eq!(output.status.code(), Some(1), "{prefix}: {}", stdout(&output));
        let text = stdout(&output);
        assert!(text.contains("BAD it/.ATTRIBUTES/ITERATOR_STATE: ") && text.contains("checksum"), "{text}");
        assert!(text.contains("1 of 2 tensors is bad"), "{text}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
