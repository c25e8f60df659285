"""ckview on a real FUSE mount whose reads fail (failing_fs.py): the kernel returns EIO, as an
NFS or gcsfuse mount or a failing disk does. With positioned reads (the default) the failure is
a CkviewError with status CKVIEW_IO_ERROR and the process goes on reading; with mmap=True the
same failure is a SIGBUS that ends the process, which is why maps are opt-in (SECURITY.md)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import ckview

HERE = Path(__file__).resolve().parent
KEY = "v/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.fixture
def mounted(tmp_path):
    """A TensorFlow checkpoint with one 1 MiB variable, seen through a FUSE mount."""
    source, mountpoint = tmp_path / "source", tmp_path / "mnt"
    source.mkdir()
    mountpoint.mkdir()
    value = np.arange(256 * 1024, dtype=np.float32).reshape(256, 1024)
    tf.train.Checkpoint(v=tf.Variable(value)).write(str(source / "ckpt"))
    server = subprocess.Popen([sys.executable, str(HERE / "failing_fs.py"), str(source), str(mountpoint)],
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not os.path.ismount(mountpoint):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the FUSE mount did not come up: {server.stderr.read().decode()}")
        time.sleep(0.05)
    try:
        yield source, mountpoint, value
    finally:
        # Lazy (-z): a reader the test still holds keeps files of the mount open, and a plain
        # unmount of a busy mount fails and leaves it behind once the server is gone.
        subprocess.run(["fusermount", "-u", "-z", str(mountpoint)], check=True)
        server.wait(timeout=30)


def fail_reads(source, start, end):
    (source / ".fail").write_text(f"ckpt.data-00000-of-00001 {start} {end}")


def test_a_failing_read_is_an_io_error_and_the_reader_goes_on(mounted):
    source, mountpoint, value = mounted
    reader = ckview.load_checkpoint(str(mountpoint / "ckpt"))
    assert np.array_equal(reader.get_tensor(KEY), value)
    # Fail everything past the first page of the data file: the variable's bytes.
    fail_reads(source, 4096, 1 << 40)
    fresh = ckview.load_checkpoint(str(mountpoint / "ckpt"))
    with pytest.raises(ckview.CkviewError) as raised:
        fresh.get_tensor(KEY)
    assert raised.value.status_name == "CKVIEW_IO_ERROR", raised.value
    reader.close()
    fresh.close()
    (source / ".fail").unlink()
    assert np.array_equal(ckview.load_checkpoint(str(mountpoint / "ckpt")).get_tensor(KEY), value)


def test_the_same_failure_under_mmap_is_a_sigbus(mounted):
    source, mountpoint, _ = mounted
    fail_reads(source, 4096, 1 << 40)
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys, ckview; r = ckview.load_checkpoint(sys.argv[1], mmap=True); r.get_tensor(sys.argv[2], copy=False).sum()",
         str(mountpoint / "ckpt"), KEY],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGBUS, (child.returncode, child.stderr.decode()[-2000:])
