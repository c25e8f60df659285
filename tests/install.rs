//! `scripts/install` installs the library as C libraries are installed (versioned SONAME with its
//! symlinks, static library, header, pkg-config file), and a C program builds against the
//! installed copy with nothing but `pkg-config`, dynamically and statically.

mod common;

use std::path::Path;
use std::process::Command;

use common::fixture_dir;

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(output.status.success(), "{command:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn installed_library_builds_a_c_program_through_pkg_config_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let prefix = std::env::temp_dir().join(format!("ckview-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    run(Command::new(root.join("scripts/install")).arg("--prefix").arg(&prefix));
    let lib = prefix.join("lib");
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    assert_eq!(std::fs::read_link(lib.join("libckview.so")).unwrap(), Path::new(&format!("libckview.so.{major}")));
    assert_eq!(
        std::fs::read_link(lib.join(format!("libckview.so.{major}"))).unwrap(),
        Path::new(&format!("libckview.so.{}", env!("CARGO_PKG_VERSION")))
    );
    let dynamic = run(Command::new("readelf").arg("-d").arg(lib.join("libckview.so")));
    assert!(dynamic.contains(&format!("Library soname: [libckview.so.{major}]")), "{dynamic}");
    // Only the C ABI is exported.
    let symbols = run(Command::new("nm").args(["-D", "--defined-only"]).arg(lib.join("libckview.so")));
    let foreign: Vec<&str> = symbols.lines().filter_map(|line| line.split_whitespace().nth(2)).filter(|s| !s.starts_with("ckview_")).collect();
    assert!(foreign.is_empty(), "exported symbols outside ckview_*: {foreign:?}");

    let pkg_config = |args: &[&str]| {
        let flags = run(Command::new("pkg-config").args(args).arg("ckview").env("PKG_CONFIG_PATH", lib.join("pkgconfig")));
        flags.split_whitespace().map(String::from).collect::<Vec<_>>()
    };
    let example = root.join("examples/c/children.c");
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    let checkpoint = fixture_dir("doc_children").join("tf_ckpts-1");
    for (name, flags) in [("shared", pkg_config(&["--cflags", "--libs"])), ("static", pkg_config(&["--static", "--cflags", "--libs"]))] {
        let exe = prefix.join(format!("children-{name}"));
        // For the static build, make the linker take the archive, not the shared object beside it.
        let flags: Vec<String> = flags
            .into_iter()
            .flat_map(|flag| match (name, flag.as_str()) {
                ("static", "-lckview") => vec!["-Wl,-Bstatic".into(), flag, "-Wl,-Bdynamic".into()],
                _ => vec![flag],
            })
            .collect();
        let mut compile = Command::new("cc");
        compile.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]).arg(&example).args(&flags).arg("-o").arg(&exe);
        run(&mut compile);
        let output = run(Command::new(&exe).arg(&checkpoint).env("LD_LIBRARY_PATH", &lib));
        assert_eq!(output, expected, "{name}");
    }
    let static_needed = run(Command::new("readelf").arg("-d").arg(prefix.join("children-static")));
    assert!(!static_needed.contains("libckview"), "the static build needs no libckview.so");
    std::fs::remove_dir_all(&prefix).unwrap();
}
