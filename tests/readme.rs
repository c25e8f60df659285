//! Every code block of README.md that says which file it shows (`<!-- file: PATH -->` on the line
//! before the fence) is that file, byte for byte, so the examples CI builds and runs are the
//! ones the README shows.

#[test]
fn readme_examples_are_the_files_ci_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut checked = 0;
    for (index, line) in lines.iter().enumerate() {
        let Some(path) = line.strip_prefix("<!-- file: ").and_then(|rest| rest.strip_suffix(" -->")) else { continue };
        assert!(lines[index + 1].starts_with("```"), "README.md:{}: a fence must follow the file marker", index + 2);
        let end = lines[index + 2..].iter().position(|line| line.starts_with("```")).expect("closed fence") + index + 2;
        let shown = lines[index + 2..end].join("\n");
        let file = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(shown.trim_end(), file.trim_end(), "README.md shows {path} differently from the file");
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} README examples are tied to files");
}
