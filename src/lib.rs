//! ckview: TensorFlow 2 object-based checkpoints without TensorFlow.
pub mod format;
