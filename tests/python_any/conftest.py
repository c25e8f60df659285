"""tests/python_any needs no TensorFlow. Under CKVIEW_TEST_INSTALLED=1 (.ci/run, in a PyPy
virtualenv) the installed wheel is imported; otherwise this repository's bindings/python, with
the libckview.so that `cargo build` made (as tests/python does)."""

import os
import sys
from pathlib import Path

if os.environ.get("CKVIEW_TEST_INSTALLED") != "1":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
