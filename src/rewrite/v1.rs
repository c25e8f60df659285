//! Rewriting a TF1 checkpoint in the old V1 format ("SavedTensorSlices", docs/v1.md) as a V2
//! bundle, with the keys `drop` and `select` choose: the only way left to shrink one, or to let
//! a reader that knows only bundles read it. V1 files store values, not the bundle's bytes, so
//! each tensor is read whole (its slices assembled, its values checked as the V1 reader checks
//! them), then written with the crc32c of what was written; memory is the largest tensor.
//! TensorFlow reads the result with `tf.train.load_checkpoint`, float16 and partitioned
//! tensors included, which it refuses in the V1 file.

use std::path::Path;

use crate::format::proto::{BundleEntryProto, DataType};
use crate::format::writer::{encode_strings, shape_proto};
use crate::format::{crc, host_to_little_endian, reused_buffer, Endianness, V1Checkpoint};

use super::error::{Result, RewriteError};
use super::output::Output;
use super::{bundle_header, check_out_prefix, keys, RewriteOptions, RewriteSummary};

/// Writes the tensors of `source` that `options` keeps (by key) as a one-shard V2 bundle at
/// `out_prefix`, little-endian.
pub fn rewrite_v1(source: &V1Checkpoint, out_prefix: &Path, options: &RewriteOptions) -> Result<RewriteSummary> {
    let prefix = source.path();
    check_out_prefix(out_prefix)?;
    if options.drop_slots {
        return Err(RewriteError::SlotsWithoutGraph { prefix: prefix.to_path_buf() });
    }
    let names: Vec<Vec<u8>> = source.tensors().iter().map(|tensor| tensor.name.clone()).collect();
    let keep = keys::keep_keys(prefix, &names, &options.select, &options.drop)?;
    let mut out = Output::create(out_prefix)?;
    let mut buffer = Vec::new();
    let mut kept = 0;
    for (tensor, _) in source.tensors().iter().zip(&keep).filter(|(_, keep)| **keep) {
        let (offset, size, crc32c) = if tensor.dtype == DataType::DtString {
            let strings = source.read_strings(tensor)?;
            let views: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
            let (bytes, crc32c) = encode_strings(&views, Endianness::Little);
            (out.append(&bytes)?, bytes.len(), crc32c)
        } else {
            let values = reused_buffer(&mut buffer, source.value_size(tensor)?, prefix, &tensor.name_text())?;
            source.read_value(tensor, values)?;
            // The header this writes says little-endian.
            host_to_little_endian(values, tensor.dtype);
            (out.append(values)?, values.len(), crc::mask(crc::crc32c(values)))
        };
        let entry = BundleEntryProto {
            dtype: tensor.dtype as i32,
            shape: Some(shape_proto(&tensor.shape)),
            offset: offset as i64,
            size: size as i64,
            crc32c,
            ..Default::default()
        };
        out.add_entry(&tensor.name, entry);
        kept += 1;
    }
    let (data_size, index_size) = out.finish(&bundle_header(Endianness::Little))?;
    Ok(RewriteSummary {
        prefix: out_prefix.to_path_buf(),
        nodes_before: 0,
        nodes_after: 0,
        tensors_before: names.len(),
        tensors_after: kept,
        bytes_before: source.size(),
        bytes_after: data_size + index_size,
    })
}
