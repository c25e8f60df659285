//! Building and running C and C++ programs against `libckview.so` from the Rust test harness.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding `libckview.so` of the profile the tests run in.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/..").to_path_buf()
}

/// `cargo test` builds the rlib only: build the shared and static libraries once per process.
pub fn build_library() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = library_dir();
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--lib", "--quiet"]).current_dir(root());
            if dir.file_name().is_some_and(|name| name == "release") {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("cargo runs");
            assert!(status.success(), "cargo build --lib failed");
            assert!(dir.join("libckview.so").is_file(), "no libckview.so in {}", dir.display());
            dir
        })
        .clone()
}

/// How a test program is instrumented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    /// Plain build, for valgrind.
    None,
    /// AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer, aborting on the first report.
    Sanitizers,
}

/// Compiles `sources` (C, or C++ when `cxx`) against the header and the shared library, with
/// every warning an error. Returns the executable.
pub fn compile(name: &str, sources: &[PathBuf], cxx: bool, instrument: Instrument) -> PathBuf {
    compile_program(name, sources, cxx, instrument, true)
}

/// Compiles a C program that loads the library itself with `dlopen`: no `-lckview`.
pub fn compile_dlopen(name: &str, sources: &[PathBuf], instrument: Instrument) -> PathBuf {
    compile_program(name, sources, false, instrument, false)
}

fn compile_program(name: &str, sources: &[PathBuf], cxx: bool, instrument: Instrument, link: bool) -> PathBuf {
    let library = build_library();
    let out_dir = library.join("native-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(format!("{name}-{instrument:?}").to_lowercase());
    let (compiler, standard) = if cxx { ("c++", "-std=c++17") } else { ("cc", "-std=c11") };
    let mut command = Command::new(compiler);
    command
        .args([standard, "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-pthread"])
        .arg(format!("-I{}", root().join("include").display()))
        .arg(format!("-I{}", root().join("bindings/cpp").display()))
        .args(sources);
    if link {
        command.arg(format!("-L{}", library.display())).arg(format!("-Wl,-rpath,{}", library.display())).arg("-lckview");
    } else {
        command.arg("-ldl");
    }
    command.arg("-o").arg(&exe);
    if instrument == Instrument::Sanitizers {
        command.args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);
    }
    let output = command.output().unwrap_or_else(|error| panic!("{compiler} cannot run: {error}"));
    assert!(output.status.success(), "compiling {name} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    exe
}

/// Runs `exe` with `args`, under valgrind when the build is plain, and checks it exits 0.
pub fn run(exe: &Path, args: &[&Path], instrument: Instrument) -> Output {
    let mut command = match instrument {
        Instrument::Sanitizers => {
            let mut command = Command::new(exe);
            command.env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1");
            command
        }
        Instrument::None => {
            let mut command = Command::new("valgrind");
            command
                .args(["--quiet", "--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite,indirect"])
                .args(["--errors-for-leak-kinds=definite,indirect"])
                .arg(exe);
            command
        }
    };
    let output = command
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {} ({instrument:?}): {error}; is valgrind installed?", exe.display()));
    assert!(
        output.status.success(),
        "{} ({instrument:?}) failed with {}:\nstdout:\n{}\nstderr:\n{}",
        exe.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
