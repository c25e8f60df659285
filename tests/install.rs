//! `scripts/install` installs the library as C libraries are installed (cargo-c's SONAME rule and
//! symlinks, static library, header, pkg-config file, no debug info), in the plain, lib64 and
//! multiarch layouts, and a C program builds against each installed copy with nothing but
//! `pkg-config`, dynamically and statically. The three tests share one build in target/install:
//! the first to take cargo's lock builds, the others find it fresh.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture_dir;

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(output.status.success(), "{command:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// cargo-c's rule: the SONAME changes whenever the ABI may break, every 0.y before 1.0.
fn sover() -> String {
    match (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR")) {
        ("0", "0") => format!("0.0.{}", env!("CARGO_PKG_VERSION_PATCH")),
        ("0", minor) => format!("0.{minor}"),
        (major, _) => major.to_string(),
    }
}

/// One install: `args` go to `scripts/install`; `destdir` stages it; `libdir` and `includedir`
/// are where the files must land (under `destdir` when staged) and `pc_libdir` is the line the
/// `.pc` file must carry for them.
struct Layout<'a> {
    name: &'a str,
    args: &'a [&'a str],
    destdir: bool,
    libdir: &'a str,
    includedir: &'a str,
    pc_libdir: &'a str,
}

fn install_and_build_the_c_example(layout: Layout) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(format!("ckview-install-{}-{}", layout.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    // Staged: the prefix is a final path that need not exist, the files go under DESTDIR.
    let (prefix, stage) = if layout.destdir {
        (PathBuf::from("/opt/ckview-test"), scratch.join("stage"))
    } else {
        (scratch.join("prefix"), PathBuf::new())
    };
    let staged = |path: &str| if layout.destdir { stage.join(prefix.strip_prefix("/").unwrap()).join(path) } else { prefix.join(path) };
    let mut install = Command::new(root.join("scripts/install"));
    install.arg("--prefix").arg(&prefix).args(layout.args.iter().map(|arg| arg.replace("$PREFIX", prefix.to_str().unwrap())));
    if layout.destdir {
        install.env("DESTDIR", &stage);
    }
    run(&mut install);

    let lib = staged(layout.libdir);
    assert!(staged(layout.includedir).join("ckview.h").is_file(), "{}: no header in {}", layout.name, layout.includedir);
    let full = format!(
        "libckview.so.{}.{}.{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    let soname = format!("libckview.so.{}", sover());
    // cargo-c's links: both names point straight at the file.
    assert_eq!(std::fs::read_link(lib.join("libckview.so")).unwrap(), Path::new(&full));
    assert_eq!(std::fs::read_link(lib.join(&soname)).unwrap(), Path::new(&full));
    assert!(std::fs::symlink_metadata(lib.join(&full)).unwrap().file_type().is_file());
    let dynamic = run(Command::new("readelf").arg("-d").arg(lib.join(&full)));
    assert!(dynamic.contains(&format!("Library soname: [{soname}]")), "{dynamic}");
    // Neither library carries debug info (readelf lists the sections of every archive member).
    for file in [full.as_str(), "libckview.a"] {
        let sections = run(Command::new("readelf").args(["-S", "-W"]).arg(lib.join(file)));
        let debug = sections.split_whitespace().filter(|word| word.starts_with(".debug") || word.starts_with(".zdebug")).count();
        assert!(sections.contains(".text") && debug == 0, "{file} carries {debug} debug sections");
    }
    // Only the C ABI is exported.
    let symbols = run(Command::new("nm").args(["-D", "--defined-only"]).arg(lib.join(&full)));
    let foreign: Vec<&str> = symbols.lines().filter_map(|line| line.split_whitespace().nth(2)).filter(|s| !s.starts_with("ckview_")).collect();
    assert!(foreign.is_empty(), "exported symbols outside ckview_*: {foreign:?}");

    let pc = std::fs::read_to_string(lib.join("pkgconfig/ckview.pc")).unwrap();
    assert!(pc.lines().any(|line| line == format!("prefix={}", prefix.display())), "{pc}");
    assert!(pc.lines().any(|line| line == format!("libdir={}", layout.pc_libdir)), "{pc}");
    // Staged, pkg-config finds the files through PKG_CONFIG_SYSROOT_DIR, as a distribution's
    // build of a dependent package would.
    let pkg_config = |args: &[&str]| {
        let mut command = Command::new("pkg-config");
        command.args(args).arg("ckview").env("PKG_CONFIG_PATH", lib.join("pkgconfig"));
        if layout.destdir {
            command.env("PKG_CONFIG_SYSROOT_DIR", &stage);
        }
        run(&mut command).split_whitespace().map(String::from).collect::<Vec<_>>()
    };
    let example = root.join("examples/c/children.c");
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    let checkpoint = fixture_dir("doc_children").join("tf_ckpts-1");
    for (name, flags) in [("shared", pkg_config(&["--cflags", "--libs"])), ("static", pkg_config(&["--static", "--cflags", "--libs"]))] {
        let exe = scratch.join(format!("children-{name}"));
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
        assert_eq!(output, expected, "{} {name}", layout.name);
    }
    let shared_needed = run(Command::new("readelf").arg("-d").arg(scratch.join("children-shared")));
    assert!(shared_needed.contains(&format!("Shared library: [{soname}]")), "the program records the SONAME:\n{shared_needed}");
    let static_needed = run(Command::new("readelf").arg("-d").arg(scratch.join("children-static")));
    assert!(!static_needed.contains("libckview"), "the static build needs no libckview.so");
    std::fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn installed_library_builds_a_c_program_through_pkg_config_alone() {
    install_and_build_the_c_example(Layout {
        name: "lib",
        args: &[],
        destdir: false,
        libdir: "lib",
        includedir: "include",
        pc_libdir: "${prefix}/lib",
    });
}

#[test]
fn libdir_lib64_and_includedir_are_where_the_files_and_the_pc_file_go() {
    install_and_build_the_c_example(Layout {
        name: "lib64",
        args: &["--libdir", "lib64", "--includedir", "include/ckview"],
        destdir: false,
        libdir: "lib64",
        includedir: "include/ckview",
        pc_libdir: "${prefix}/lib64",
    });
}

#[test]
fn multiarch_libdir_given_absolute_as_distributions_do_staged_with_destdir() {
    install_and_build_the_c_example(Layout {
        name: "multiarch",
        args: &["--libdir=$PREFIX/lib/x86_64-linux-gnu"],
        destdir: true,
        libdir: "lib/x86_64-linux-gnu",
        includedir: "include",
        pc_libdir: "${prefix}/lib/x86_64-linux-gnu",
    });
}
