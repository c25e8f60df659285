//! Export to safetensors: a checkpoint's tensors written as one `.safetensors` file (or several,
//! with Hugging Face's `model.safetensors.index.json`), for PyTorch, JAX and anything else that
//! reads the format, with Hugging Face's own `safetensors` crate.
//!
//! Layers: `plan` lists the tensors and chooses their names ([`Naming`], the caller's naming
//! function, optimizer state dropped, dtypes checked, no name twice), `dtype` maps TensorFlow's
//! dtypes onto safetensors', `write` streams the values into files under temporary names and
//! renames them at the end. Tensors stored as their values are copied from the data files
//! inside the kernel and verified over the copy, read back on a second thread (`check`); the
//! others are read through [`crate::format`]'s read paths: checksums verified, partitioned
//! tensors assembled, big-endian bundles swapped, V1 checkpoints too. Peak memory is the largest tensor read that way, plus
//! the names and the header.

mod check;
mod dtype;
mod error;
mod names;
mod plan;
mod write;

use std::path::{Path, PathBuf};

pub use dtype::safetensors_dtype;
pub use error::ExportError;
pub use plan::ExportTensor;

use crate::format::{Bundle, Checkpoint, V1Checkpoint};
use crate::view::CheckpointView;

/// What tensors are named in the output by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// The object path without `root.` (`model.layer_with_weights-0.kernel`): the default for
    /// checkpoints with an object graph. A key no node names keeps its key.
    Path,
    /// The bundle key (`model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`, or a TF1
    /// variable's name): the default, and the only naming, for checkpoints without a graph.
    Key,
    /// The Keras `full_name` (`dense_a/kernel`); the path where the graph records none.
    FullName,
}

/// The checkpoint an export reads.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A view: its bundle, named through the graph it has loaded.
    View(&'a CheckpointView),
    /// A bundle: named through its object graph when it has one (TF2), else by key (TF1).
    Bundle(&'a Bundle),
    /// A TF1 checkpoint in the V1 format, named by key.
    V1(&'a V1Checkpoint),
}

impl<'a> From<&'a Checkpoint> for Source<'a> {
    fn from(checkpoint: &'a Checkpoint) -> Source<'a> {
        match checkpoint {
            Checkpoint::V2(bundle) => Source::Bundle(bundle),
            Checkpoint::V1(v1) => Source::V1(v1),
        }
    }
}

impl<'a> From<&'a CheckpointView> for Source<'a> {
    fn from(view: &'a CheckpointView) -> Source<'a> {
        Source::View(view)
    }
}

impl Source<'_> {
    /// The bundle behind a view or a bundle; `None` for a V1 checkpoint.
    pub(crate) fn bundle(&self) -> Option<&Bundle> {
        match self {
            Source::View(view) => Some(view.bundle()),
            Source::Bundle(bundle) => Some(bundle),
            Source::V1(_) => None,
        }
    }

    /// The path the checkpoint was opened at (its prefix for a bundle).
    pub fn path(&self) -> &Path {
        match self {
            Source::View(view) => view.bundle().prefix(),
            Source::Bundle(bundle) => bundle.prefix(),
            Source::V1(v1) => v1.path(),
        }
    }
}

/// The naming function: given a tensor, the name to write it under, or `None` to leave it out;
/// an error stops the export (use [`ExportError::Stopped`] for a caller's own reason).
pub type NameFn<'a> = dyn FnMut(&ExportTensor) -> Result<Option<String>, ExportError> + 'a;

/// The progress function: bytes of values written so far, and in all; an error stops the export.
pub type ProgressFn<'a> = dyn FnMut(u64, u64) -> Result<(), ExportError> + 'a;

/// How to export. `ExportOptions::default()` writes every tensor under its default name into
/// one file, and refuses a checkpoint with a dtype safetensors cannot hold.
#[derive(Default)]
pub struct ExportOptions<'a> {
    /// The default names; `None`: [`Naming::Path`] with an object graph, else [`Naming::Key`].
    pub naming: Option<Naming>,
    /// Leave out optimizer state ([`crate::view::OptimizerState`]): slot variables and the
    /// optimizer's own variables. Needs an object graph.
    pub drop_optimizer_state: bool,
    /// Leave out tensors whose dtype safetensors cannot hold (listed in the report) instead of
    /// refusing the export.
    pub skip_unsupported: bool,
    /// Split the output into files of at most this many bytes of values each (one tensor larger
    /// than that gets a file of its own), named as Hugging Face names them, with an index.
    /// `None`: one file.
    pub max_shard_size: Option<u64>,
    /// Renames or leaves out tensors, after `naming` and `drop_optimizer_state`.
    pub name: Option<Box<NameFn<'a>>>,
    /// Called after each tensor is written.
    pub progress: Option<Box<ProgressFn<'a>>>,
}

/// What an export wrote.
#[derive(Clone, Debug, Default)]
pub struct ExportReport {
    /// The safetensors files, in order.
    pub files: Vec<PathBuf>,
    /// `model.safetensors.index.json` beside them, when the output was split.
    pub index: Option<PathBuf>,
    /// Tensors written.
    pub tensors: usize,
    /// Bytes of values written (headers not counted).
    pub bytes: u64,
    /// (key, dtype) of the tensors left out for their dtype (`skip_unsupported`).
    pub skipped_unsupported: Vec<(String, String)>,
    /// Tensors left out as optimizer state.
    pub dropped_optimizer_state: usize,
    /// Tensors the naming function left out.
    pub deselected: usize,
}

/// The metadata key, in each file's `__metadata__`, of the checkpoint it was exported from.
pub const SOURCE_METADATA_KEY: &str = "tensorflow_checkpoint";
/// The prefix of the metadata key that records a tensor's bundle key: `tensorflow_key:NAME`.
pub const KEY_METADATA_PREFIX: &str = "tensorflow_key:";

/// Exports the tensors of `source` to the safetensors file `out` (with `max_shard_size`, to
/// `STEM-00001-of-0000N.safetensors` files beside it and `OUT.index.json`, `STEM` being `out`'s
/// name without `.safetensors`). Every file is written under a temporary name in its directory
/// and renamed once all are complete: on any error no output is left, and files already at the
/// output paths are untouched.
pub fn export_safetensors(source: Source<'_>, out: &Path, mut options: ExportOptions<'_>) -> Result<ExportReport, ExportError> {
    let plan = plan::plan(&source, &mut options)?;
    write::write(&source, plan, out, &mut options)
}

/// The tensors an export with `options` would write, in key order, each with the name it would
/// be written under: what a caller needs to load them by those names itself (a state dict).
/// Nothing is written and no values are read; `max_shard_size` and `progress` play no part.
pub fn export_names(source: Source<'_>, mut options: ExportOptions<'_>) -> Result<Vec<(String, ExportTensor)>, ExportError> {
    let plan = plan::plan(&source, &mut options)?;
    Ok(plan.tensors.into_iter().map(plan::Planned::into_named).collect())
}
