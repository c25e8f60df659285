//! ckview: TensorFlow 2 object-based checkpoints without TensorFlow.
//!
//! Layers, bottom up: [`io`] reaches the bytes of a checkpoint's files, [`format`](mod@format) reads the tensor bundle from disk, [`graph`] decodes the object
//! graph, [`view`] is `tf.train.CheckpointView`, [`export`] writes safetensors files, [`rewrite`] writes
//! checkpoints without some of a checkpoint's objects (its optimizer state), and [`ffi`] exposes all of it as a C ABI.
//! Synthetic checkpoints for benchmarks and tests live in the `ckview-synthetic` crate (`synthetic/`).

pub mod export;
pub mod ffi;
pub mod format;
pub mod io;
pub mod graph;
pub mod rewrite;
mod threads;
pub mod view;

pub use graph::{GraphError, ObjectGraph};
pub use view::CheckpointView;
