//! Whether two tensors hold the same values, decided from their stored checksums where the
//! layout allows, so that `diff` reads no tensor data in the common case.

use ckview::format::slice_key::slice_key;
use ckview::format::{Bundle, DataType, TensorEntry, Verify};

use crate::Failure;

/// Whether two tensors of equal dtype and shape hold equal values. Stored checksums decide
/// without reading the data (unpartitioned, or partitioned the same way); only tensors
/// partitioned differently are read and compared.
pub fn same_values(
    a: &Bundle,
    key_a: &str,
    entry_a: &TensorEntry,
    b: &Bundle,
    key_b: &str,
    entry_b: &TensorEntry,
) -> Result<bool, Failure> {
    let same_stored = |x: &TensorEntry, y: &TensorEntry| x.masked_crc32c == y.masked_crc32c && x.size == y.size;
    if entry_a.slices.is_empty() && entry_b.slices.is_empty() {
        return Ok(same_stored(entry_a, entry_b));
    }
    if entry_a.slices == entry_b.slices {
        let mut all_found = true;
        for extents in &entry_a.slices {
            let slice_a = a.entry(&slice_key(key_a.as_bytes(), extents))?;
            let slice_b = b.entry(&slice_key(key_b.as_bytes(), extents))?;
            match (slice_a, slice_b) {
                (Some(x), Some(y)) if x.slices.is_empty() && y.slices.is_empty() => {
                    if !same_stored(&x, &y) {
                        return Ok(false);
                    }
                }
                _ => all_found = false,
            }
        }
        if all_found {
            return Ok(true);
        }
    }
    // Partitioned differently: read both (checksums verified) and compare the bytes.
    Ok(read_all(a, key_a, entry_a)? == read_all(b, key_b, entry_b)?)
}

fn read_all(bundle: &Bundle, key: &str, entry: &TensorEntry) -> Result<Vec<Vec<u8>>, Failure> {
    if entry.dtype == DataType::DtString {
        return Ok(bundle.read_string_values(key.as_bytes(), entry)?.iter().map(<[u8]>::to_vec).collect());
    }
    let size = bundle.value_size(key.as_bytes(), entry)?;
    let mut bytes =
        vec![0u8; usize::try_from(size).map_err(|_| Failure::Error(format!("tensor {key:?} is too large")))?];
    bundle.read_value(key.as_bytes(), entry, &mut bytes, Verify::Checksums)?;
    Ok(vec![bytes])
}
