"""The README's Python example runs and prints what TensorFlow's goldens say."""

import json
import os
import subprocess
import sys


def test_readme_python_example(repo_root, fixtures_dir):
    golden = json.loads((fixtures_dir / "doc_diff" / "golden.json").read_text())
    output = subprocess.run(
        [sys.executable, str(repo_root / "examples" / "python" / "diff_modules.py"), str(fixtures_dir / "doc_diff" / "tf_ckpts-1")],
        env={"PATH": "/usr/bin:/bin"} if os.environ.get("CKVIEW_TEST_INSTALLED") == "1"
        else {"PYTHONPATH": str(repo_root / "bindings" / "python"), "PATH": "/usr/bin:/bin"},
        check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    listing = [f"- name: '{name}', node_id: {node}" for name, node in golden["children"][0][1]]
    assert output[: len(listing)] == listing
    assert output[len(listing)] == f"only in the checkpoint: {golden['diff_only_in_checkpoint']}"
    assert output[len(listing) + 1] == f"only in the live tree: {len(golden['diff_only_in_trackable'])} objects, starting with leaf2: True"
