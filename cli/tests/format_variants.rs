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

#[test]
fn snappy_indexes_verify_and_list_as_tensorflow_lists_them() {
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(fixture("snappy").join("tf_answers.json")).unwrap()).unwrap();
    for (name, golden) in answers["checkpoints"].as_object().unwrap() {
        let ckpt = fixture("snappy").join(name);
        let output = ckview(&[&"verify", &ckpt]);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stdout(&output));
        let keys: Value = serde_json::from_slice(&ckview(&[&"keys", &"--json", &ckpt]).stdout).unwrap();
        let listed: Vec<Value> = keys.as_array().unwrap().iter().map(|row| serde_json::json!([row["key"], row["shape"]])).collect();
        assert_eq!(Value::Array(listed), golden["variables"], "{name}");
    }
}

#[test]
fn verify_reports_each_entry_whose_size_disagrees_with_its_shape_and_keys_lists_all() {
    use ckview::format::proto::BundleEntryProto;
    use ckview::format::writer::TableBuilder;
    use ckview::format::Bundle;
    use prost::Message;
    let dir = scratch("inconsistent");
    let ckpt = copy("doc_children", "tf_ckpts-1", &dir);
    let bundle = Bundle::open(&ckpt).unwrap();
    let damaged = ["a_var/.ATTRIBUTES/VARIABLE_VALUE", "leaf/b_var/.ATTRIBUTES/VARIABLE_VALUE"];
    let mut table = TableBuilder::default();
    let mut count = 0;
    bundle
        .table()
        .for_each(|key, value| {
            let mut value = value.to_vec();
            if damaged.iter().any(|name| name.as_bytes() == key) {
                let mut proto = BundleEntryProto::decode(value.as_slice()).unwrap();
                proto.size += 1;
                value = proto.encode_to_vec();
            }
            count += usize::from(!key.is_empty());
            table.add(key, &value);
            Ok(())
        })
        .unwrap();
    drop(bundle);
    std::fs::write(dir.join("tf_ckpts-1.index"), table.finish()).unwrap();
    let output = ckview(&[&"verify", &ckpt]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    let bad: Vec<&str> = text.lines().filter(|line| line.starts_with("BAD ")).collect();
    assert_eq!(bad.len(), 2, "{text}");
    for (line, key) in bad.iter().zip(damaged) {
        assert!(line.starts_with(&format!("BAD {key}: ")) && line.contains("5 bytes stored for 1 elements of float32"), "{line}");
    }
    let keys = ckview(&[&"keys", &"--json", &ckpt]);
    assert_eq!(keys.status.code(), Some(0), "{}", String::from_utf8_lossy(&keys.stderr));
    let rows: Value = serde_json::from_slice(&keys.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), count);
    let _ = std::fs::remove_dir_all(dir);
}
