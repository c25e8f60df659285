//! `ckview export` from the command line: its help, its one-line errors (a mistyped regular
//! expression, size or naming, what a TF1 checkpoint cannot do) with nothing written, and what
//! its text and JSON summaries say. The values it writes are checked against TensorFlow in
//! tests/python/test_export.py.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(path)
}

fn ckview(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ckview")).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ckview-cli-export-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn one_line_error(output: &Output) -> String {
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.starts_with("ckview: error: ") && stderr.matches('\n').count() == 1, "{stderr}");
    stderr
}

#[test]
fn help_shows_examples() {
    for flag in ["--help", "-h"] {
        let output = ckview(&[&"export", &flag]);
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Usage: ckview export") && text.contains("Example:") && text.contains("\n  ckview export "), "{text}");
    }
    let overview = String::from_utf8(ckview(&[&"--help"]).stdout).unwrap();
    assert!(overview.contains("\n  export "), "{overview}");
}

#[test]
fn mistakes_are_one_line_and_write_nothing() {
    let dir = scratch("mistakes");
    let out = dir.join("model.safetensors");
    let adam = fixture("keras_adam/model");
    let tf1 = fixture("tf1_name_based/model.ckpt");
    let (zoo, missing) = (fixture("dtype_zoo/zoo"), fixture("no/such/ckpt"));
    let cases: Vec<(Vec<&dyn AsRef<std::ffi::OsStr>>, &str)> = vec![
        (vec![&"export", &adam, &out, &"--select", &"("], "--select \"(\" is not a regular expression"),
        (vec![&"export", &adam, &out, &"--rename", &"nothing-to-replace"], "is not REGEX=REPLACEMENT"),
        (vec![&"export", &adam, &out, &"--max-shard-size", &"5XB"], "--max-shard-size: unknown unit"),
        (vec![&"export", &adam, &out, &"--rename", &".*=same"], "would both be named \"same\""),
        (vec![&"export", &tf1, &out, &"--names", &"path"], "has no object graph"),
        (vec![&"export", &tf1, &out, &"--drop-slots"], "drop it by key instead"),
        (vec![&"export", &zoo, &out], "(--skip-unsupported, or --drop them)"),
        (vec![&"export", &missing, &out], "no checkpoint found"),
    ];
    for (args, needle) in cases {
        let stderr = one_line_error(&ckview(&args));
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn summaries_say_what_was_written_and_left_out() {
    let dir = scratch("summaries");
    let out = dir.join("model.safetensors");
    let output = ckview(&[&"export", &fixture("keras_adam/model"), &out, &"--drop-slots", &"--drop", &"bias"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        format!("exported 2 tensors (80 B) to {}\nleft out 13 tensors of optimizer state\nleft out 2 tensors by --select/--drop\n", out.display())
    );
    let output = ckview(&[&"export", &fixture("dtype_zoo/zoo"), &out, &"--skip-unsupported", &"--max-shard-size", &"64", &"--json"]);
    assert_eq!(output.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let files = summary["files"].as_array().unwrap();
    assert!(files.len() > 1 && summary["index"] == dir.join("model.safetensors.index.json").display().to_string(), "{summary}");
    let skipped: Vec<&str> = summary["skipped_unsupported"].as_array().unwrap().iter().map(|s| s["dtype"].as_str().unwrap()).collect();
    assert!(skipped.contains(&"string") && skipped.contains(&"complex128"), "{summary}");
    let mut on_disk = std::fs::read_dir(&dir).unwrap().count();
    on_disk -= 1; // model.safetensors from the first export
    assert_eq!(on_disk, files.len() + 1);
}

