//! Either kind of checkpoint behind one type: a caller that asks for "the checkpoint at this
//! path" gets a V2 tensor bundle or a V1 checkpoint, listed and read the same way.

use std::path::Path;
use std::sync::Arc;

use super::V1Checkpoint;
use crate::format::bundle::Bundle;
use crate::format::error::{FormatError, Result};
use crate::format::proto::DataType;
use crate::format::values::Verify;
use crate::io::{LocalStorage, Storage};

/// A checkpoint of either format.
/// One is made per open: the size difference of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Checkpoint {
    /// A tensor bundle (`P.index` and data files): TF2, and TF1 savers since 2017.
    V2(Bundle),
    /// A TF1 V1 checkpoint ("SavedTensorSlices"): one sstable per file or shard.
    V1(V1Checkpoint),
}

/// One tensor of a listing: its name (the key), dtype and full shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: Vec<u8>,
    pub dtype: DataType,
    pub shape: Vec<u64>,
}

impl Checkpoint {
    /// Opens the checkpoint `save_path` leads to on the local filesystem.
    pub fn open(save_path: &Path) -> Result<Checkpoint> {
        Checkpoint::open_with(save_path, Arc::new(LocalStorage::default()))
    }

    /// Opens the checkpoint `save_path` leads to in `storage`: every path form a bundle accepts
    /// (prefix, directory, `.index`, data shard), and where none leads to a bundle, the forms of
    /// a V1 checkpoint (its file, a shard, `P-?????-of-N`, or a sharded save path).
    pub fn open_with(save_path: &Path, storage: Arc<dyn Storage>) -> Result<Checkpoint> {
        let bundle_error = match Bundle::open_with(save_path, storage.clone()) {
            Ok(bundle) => return Ok(Checkpoint::V2(bundle)),
            Err(error) => error,
        };
        // Only where no bundle is, or a V1 file was recognised: any other failure of the bundle
        // is the answer, and probing further would only bury it (a caller's storage reports
        // each failed open).
        if !matches!(bundle_error, FormatError::Unsupported { .. } | FormatError::NotFound { .. }) {
            return Err(bundle_error);
        }
        match (&bundle_error, V1Checkpoint::open(&*storage, save_path)) {
            (_, Ok(v1)) => Ok(Checkpoint::V1(v1)),
            // The path holds a V1 checkpoint that cannot be read: say why.
            (FormatError::Unsupported { .. }, Err(v1_error)) => Err(v1_error),
            // Neither a bundle nor an sstable (nor a file that opens: a caller's storage cannot
            // say "missing" apart from other failures): the bundle's answer lists the paths tried.
            (_, Err(FormatError::NotFound { .. } | FormatError::NotATable { .. } | FormatError::Io { .. })) => Err(bundle_error),
            (_, Err(v1_error)) => Err(v1_error),
        }
    }

    /// Every tensor, sorted by name, as TensorFlow's `list_variables` lists them.
    pub fn tensors(&self) -> Result<Vec<TensorInfo>> {
        Ok(match self {
            Checkpoint::V2(bundle) => bundle
                .tensors()?
                .into_iter()
                .map(|(name, entry)| TensorInfo { name, dtype: entry.dtype, shape: entry.shape })
                .collect(),
            Checkpoint::V1(v1) => v1
                .tensors()
                .iter()
                .map(|tensor| TensorInfo { name: tensor.name.clone(), dtype: tensor.dtype, shape: tensor.shape.clone() })
                .collect(),
        })
    }

    /// The tensor called `name`, or `None`.
    pub fn tensor(&self, name: &[u8]) -> Result<Option<TensorInfo>> {
        Ok(match self {
            Checkpoint::V2(bundle) => {
                bundle.entry(name)?.map(|entry| TensorInfo { name: name.to_vec(), dtype: entry.dtype, shape: entry.shape })
            }
            Checkpoint::V1(v1) => v1
                .tensor(name)
                .map(|tensor| TensorInfo { name: tensor.name.clone(), dtype: tensor.dtype, shape: tensor.shape.clone() }),
        })
    }

    /// The bundle's prefix, or the V1 checkpoint's path.
    pub fn path(&self) -> &Path {
        match self {
            Checkpoint::V2(bundle) => bundle.prefix(),
            Checkpoint::V1(v1) => v1.path(),
        }
    }

    fn not_found(&self, name: &[u8]) -> FormatError {
        FormatError::KeyNotFound { path: self.path().to_path_buf(), key: String::from_utf8_lossy(name).into_owned() }
    }

    /// Bytes [`Checkpoint::read_value`] writes for tensor `name`, once its stored bytes are known
    /// to exist.
    pub fn value_size(&self, name: &[u8]) -> Result<u64> {
        match self {
            Checkpoint::V2(bundle) => {
                let entry = bundle.entry(name)?.ok_or_else(|| self.not_found(name))?;
                bundle.value_size(name, &entry)
            }
            Checkpoint::V1(v1) => v1.value_size(v1.require(name)?),
        }
    }

    /// Reads a numeric tensor into `out` in the host's byte order, checksums verified (V2),
    /// partitioned tensors assembled.
    pub fn read_value(&self, name: &[u8], out: &mut [u8]) -> Result<()> {
        match self {
            Checkpoint::V2(bundle) => {
                let entry = bundle.entry(name)?.ok_or_else(|| self.not_found(name))?;
                bundle.read_value(name, &entry, out, Verify::Checksums)
            }
            Checkpoint::V1(v1) => v1.read_value(v1.require(name)?, out),
        }
    }

    /// The elements of a string tensor.
    pub fn read_strings(&self, name: &[u8]) -> Result<Vec<Vec<u8>>> {
        match self {
            Checkpoint::V2(bundle) => {
                let entry = bundle.entry(name)?.ok_or_else(|| self.not_found(name))?;
                Ok(bundle.read_string_values(name, &entry)?.iter().map(<[u8]>::to_vec).collect())
            }
            Checkpoint::V1(v1) => v1.read_strings(v1.require(name)?),
        }
    }
}
