"""ckview: TensorFlow 2 checkpoints without TensorFlow, over libckview through ctypes.

    import ckview
    view = ckview.CheckpointView("tests/fixtures/doc_children/tf_ckpts-1")
    view.children(0)   # {'a_var': 1, 'b_var': 2, 'vars': 3, 'leaf': 4, 'root': 0, 'save_counter': 5}

The library is found through the CKVIEW_LIBRARY environment variable, else next to this package,
else in the cargo build output of the repository this package lives in.
"""

from ._native import VERSION as __version__
from .errors import CkviewError, NameBasedCheckpointError
from .reader import CheckpointReader, load_checkpoint
from .view import CheckpointView
from ._rewrite import RewriteSummary, rewrite
from .tf_compat import CheckpointState, DType, get_checkpoint_state, latest_checkpoint, list_variables, load_variable

__all__ = ["CheckpointReader", "CheckpointView", "CkviewError", "NameBasedCheckpointError", "load_checkpoint", "__version__",
           "CheckpointState", "DType", "get_checkpoint_state", "latest_checkpoint", "list_variables", "load_variable",
           "RewriteSummary", "rewrite"]
