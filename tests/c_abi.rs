//! The C ABI exercised from C: the header compiles as C and C++, the documentation's listing is
//! printed by a C program, every fixture's graph read through C equals TensorFlow's goldens, the
//! error contract holds, and threads share a view. Each program runs under ASan+UBSan and valgrind.

mod common;
#[path = "common/dumps.rs"]
mod dumps;
#[path = "common/native.rs"]
mod native;

use std::path::Path;
use std::process::Command;

use common::{fixture_dir, fixture_names, golden, prefix};
use native::{compile, compile_dlopen, root, run, Instrument};

const BOTH: [Instrument; 2] = [Instrument::Sanitizers, Instrument::None];

#[test]
fn header_compiles_as_c_and_cxx_with_every_warning() {
    let header = root().join("include/ckview.h");
    for (compiler, language, standard) in [("cc", "c", "-std=c99"), ("c++", "c++", "-std=c++17")] {
        let output = Command::new(compiler)
            .args([standard, "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-x", language])
            .arg(&header)
            .output()
            .unwrap_or_else(|error| panic!("{compiler}: {error}"));
        assert!(output.status.success(), "{compiler}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn c_example_prints_the_documentation_listing() {
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    for instrument in BOTH {
        let exe = compile("children", &[root().join("examples/c/children.c")], false, instrument);
        let output = run(&exe, &[&prefix("doc_children")], instrument);
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}


#[test]
fn every_fixture_read_through_c_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = compile("dump_view", &[root().join("tests/c/dump_view.c")], false, instrument);
        for name in fixture_names() {
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(String::from_utf8_lossy(&output.stdout), dumps::view_dump(&name), "{name} ({instrument:?})");
            compared += 1;
        }
    }
    assert!(compared >= 16, "only {compared} comparisons");
}

#[test]
fn error_contract_holds_in_c() {
    for instrument in BOTH {
        let exe = compile("test_errors", &[root().join("tests/c/test_errors.c")], false, instrument);
        let output = run(&exe, &[&fixture_dir("")], instrument);
        let summary = String::from_utf8_lossy(&output.stdout);
        assert!(summary.trim_end().ends_with(", 0 failed"), "{summary}");
    }
}

#[test]
fn threads_share_one_view() {
    // valgrind serialises threads and would prove little; the sanitizers run them for real.
    let exe = compile("test_threads", &[root().join("tests/c/test_threads.c")], false, Instrument::Sanitizers);
    let output = run(&exe, &[Path::new(&prefix("cycles_and_shared"))], Instrument::Sanitizers);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "8 passed, 0 failed");
}


#[test]
fn match_and_diff_through_c_equal_tensorflow() {
    for instrument in BOTH {
        let exe = compile("test_compare", &[root().join("tests/c/test_compare.c")], false, instrument);
        for name in ["doc_children", "doc_diff", "cycles_and_shared"] {
            let (edges, expected) = dumps::live_graph(name, "c");
            for mode in ["callback", "edges"] {
                let output = run(&exe, &[&prefix(name), &edges, Path::new(mode)], instrument);
                assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name} {mode} ({instrument:?})");
            }
        }
    }
}


#[test]
fn every_tensor_read_through_c_equals_tensorflow() {
    let mut compared = 0;
    for instrument in BOTH {
        let exe = compile("dump_tensors", &[root().join("tests/c/dump_tensors.c")], false, instrument);
        for name in fixture_names() {
            let golden = golden(&name);
            let output = run(&exe, &[&prefix(&name)], instrument);
            assert_eq!(String::from_utf8_lossy(&output.stdout), dumps::tensor_dump(&golden), "{name} ({instrument:?})");
            compared += 1;
        }
    }
    assert!(compared >= 20);
}

#[test]
fn dlopen_alone_runs_the_documentation_example() {
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    let library = native::build_library().join("libckview.so");
    for instrument in BOTH {
        let exe = compile_dlopen("test_dlopen", &[root().join("tests/c/test_dlopen.c")], instrument);
        let needed = Command::new("readelf").arg("-d").arg(&exe).output().unwrap();
        assert!(!String::from_utf8_lossy(&needed.stdout).contains("libckview"), "no link-time dependency");
        let output = run(&exe, &[&library, &prefix("doc_children")], instrument);
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}

#[test]
fn library_exports_the_entry_points_of_the_design() {
    let library = native::build_library().join("libckview.so");
    let output = Command::new("nm").args(["-D", "--defined-only"]).arg(&library).output().expect("nm runs");
    let symbols = String::from_utf8_lossy(&output.stdout);
    let exported: Vec<&str> = symbols.lines().filter_map(|line| line.split_whitespace().nth(2)).collect();
    for name in ["ckview_open", "ckview_close", "ckview_children", "ckview_match", "ckview_diff", "ckview_reader_open"] {
        assert!(exported.contains(&name), "{name} is not exported: {exported:?}");
    }
    // The names that went in 0.1: no compatibility shims.
    let old: Vec<&&str> = exported.iter().filter(|name| name.starts_with("ckview_view_")).collect();
    assert!(old.is_empty(), "old names still exported: {old:?}");
}

#[test]
fn caller_storage_reads_like_local_files_and_its_failures_are_statuses() {
    let listing = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    let checkpoint = prefix("doc_children");
    for instrument in BOTH {
        let exe = compile("test_io", &[root().join("tests/c/test_io.c")], false, instrument);
        let healthy = String::from_utf8(run(&exe, &[&checkpoint, Path::new("-1")], instrument).stdout).unwrap();
        assert!(healthy.starts_with(&listing), "{healthy}");
        let reads = healthy.lines().filter(|line| line.starts_with("read ")).count();
        assert_eq!(reads, ckview::format::Bundle::open(&checkpoint).unwrap().tensors().unwrap().len());
        assert!(healthy.ends_with("opens == closes\n"), "{healthy}");
        // Reads failing from the n-th on: every failure is a status carrying the caller's
        // code (checked inside the program), whichever call meets it; nothing leaks.
        let mut failed_at = std::collections::BTreeSet::new();
        for fail_after in [0, 1, 2, 3, 4, 6, 9, 14, 20] {
            let output = String::from_utf8(run(&exe, &[&checkpoint, Path::new(&fail_after.to_string())], instrument).stdout).unwrap();
            assert!(output.ends_with("opens == closes\n"), "{fail_after}: {output}");
            for line in output.lines().filter(|line| line.contains("CKVIEW_IO_ERROR code 5")) {
                failed_at.insert(line.split_whitespace().next().unwrap().to_string());
            }
        }
        assert!(failed_at.contains("open") && failed_at.contains("read"), "failures seen only in {failed_at:?}");
    }
}
