"""hatchling build hook: builds libckview with cargo and ships it inside the `ckview` package.

The package itself is pure Python over ctypes, so the wheel is tagged `py3-none-<platform>`:
it depends on the platform (the shared library) but on no Python ABI. `CKVIEW_CARGO_FLAGS` adds
flags to the cargo command (`--features ...`, `--target-dir ...` is honoured through cargo's own
`CARGO_TARGET_DIR`).
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The file name of the C library cargo builds, per platform, and the name the package loads.
_LIBRARY = {"linux": "libckview.so", "darwin": "libckview.dylib", "win32": "ckview.dll"}


def _library_name():
    for prefix, name in _LIBRARY.items():
        if sys.platform.startswith(prefix):
            return name
    return "libckview.so"


def _platform_tag():
    """The platform part of the wheel tag: this machine's, as pip computes it (`linux_x86_64`,
    `macosx_11_0_arm64`). Not manylinux: a library built here is only known to run here."""
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _build_library(repository, app):
    """Runs `cargo build --release --lib` in `repository` and returns the path of the cdylib."""
    command = ["cargo", "build", "--release", "--lib", "-p", "ckview", "--message-format=json-render-diagnostics"]
    command += shlex.split(os.environ.get("CKVIEW_CARGO_FLAGS", ""))
    app.display_info(f"ckview: {' '.join(command)}")
    try:
        result = subprocess.run(command, cwd=repository, stdout=subprocess.PIPE, text=True)
    except FileNotFoundError as error:
        raise RuntimeError("building ckview needs a Rust toolchain: install cargo with rustup (https://rustup.rs)") from error
    if result.returncode:
        raise RuntimeError(f"`{' '.join(command)}` failed with status {result.returncode} in {repository}")
    wanted = _library_name()
    for line in result.stdout.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("reason") == "compiler-artifact" and message.get("target", {}).get("name") == "ckview":
            for filename in message.get("filenames", []):
                if Path(filename).name == wanted:
                    return Path(filename)
    raise RuntimeError(f"cargo built no {wanted} (output of `{' '.join(command)}` names none)")


def _stripped(library, directory):
    """A copy of `library` without debug info, beside the wheel being built: `[profile.release]`
    keeps `debug = 1` for benchmarks and profiling, which the wheel need not carry (12.9 MB ->
    about 1 MB). Where no `strip` is installed the copy keeps it."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / f".{library.name}.stripped"
    shutil.copyfile(library, copy)
    strip = shutil.which("strip")
    if strip is not None:
        subprocess.run([strip, "-S" if sys.platform == "darwin" else "--strip-debug", str(copy)], check=True)
    return copy


class CustomBuildHook(BuildHookInterface):
    """Builds libckview before the wheel is assembled and adds it as `ckview/<library>`."""

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        repository = Path(self.root).resolve().parent.parent
        if not (repository / "Cargo.toml").is_file():
            raise RuntimeError(f"the ckview package builds from a clone of the ckview repository; no Cargo.toml in {repository}")
        library = _build_library(repository, self.app)
        if version == "editable":  # the package stays in the clone and loads target/release's build
            return
        build_data["force_include"][str(_stripped(library, Path(self.directory)))] = f"ckview/{_library_name()}"
        build_data["pure_python"] = False
        build_data["tag"] = f"py3-none-{_platform_tag()}"
