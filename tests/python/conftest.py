"""pytest setup for the differential tests: ckview's Python binding against TensorFlow itself.

* `bindings/python` goes first on sys.path, so `import ckview` is this repository's binding,
  and libckview.so is built with `cargo build --release` when no build of it exists yet (and
  CKVIEW_LIBRARY does not name one); a failed build fails the session, it is never skipped.
* With CKVIEW_TEST_INSTALLED=1 (what .ci/run does after `pip install ./bindings/python` into
  a fresh virtualenv) the installed package is tested instead, and the session fails if
  `import ckview` would find this repository's copy.
* TensorFlow is quiet: TF_CPP_MIN_LOG_LEVEL=2 before it is imported, absl and the `tensorflow`
  logger at ERROR. (The "Inconsistent references" warnings the tests need are captured by
  replacing the logger that `tf.train.CheckpointView.match` calls, not by reading the log.)
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

REPO = Path(__file__).resolve().parents[2]
BINDING = REPO / "bindings" / "python"

INSTALLED = os.environ.get("CKVIEW_TEST_INSTALLED") == "1"

if not INSTALLED:
    if str(BINDING) in sys.path:
        sys.path.remove(str(BINDING))
    sys.path.insert(0, str(BINDING))


def _ensure_library():
    """Builds libckview.so with cargo when the binding would not find any build of it."""
    if INSTALLED:
        import ckview

        # The repository's own copy is bindings/python; an installed one lives in a virtualenv's
        # site-packages, which may itself sit inside the clone (.ci/run's target/python-venv).
        if Path(ckview.__file__).resolve().is_relative_to(BINDING) or os.environ.get("CKVIEW_LIBRARY"):
            raise RuntimeError(f"CKVIEW_TEST_INSTALLED=1 but ckview is {ckview.__file__} (and CKVIEW_LIBRARY "
                               f"{os.environ.get('CKVIEW_LIBRARY')!r}): not the installed package alone")
        return
    if os.environ.get("CKVIEW_LIBRARY"):
        return
    candidates = [
        BINDING / "ckview" / "libckview.so",
        REPO / "target" / "release" / "libckview.so",
        REPO / "target" / "debug" / "libckview.so",
    ]
    if any(path.is_file() for path in candidates):
        return
    subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)


_ensure_library()

import absl.logging  # noqa: E402  (after TF_CPP_MIN_LOG_LEVEL)

absl.logging.set_verbosity(absl.logging.ERROR)

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
tf.autograph.set_verbosity(0)


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir():
    return REPO / "tests" / "fixtures"
