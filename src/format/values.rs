//! Tensor values: read into a caller's buffer (checked size, verified crc32c, host byte order,
//! partitioned tensors assembled from their slices), or borrowed from the mapped shard.

use std::sync::Arc;

use super::bundle::{Bundle, StoredRange, Strings};
use super::crc;
use super::entry::{element_size, TensorEntry};
use super::error::{FormatError, Result};
use super::slice_key::slice_key;
use super::slices::{slice_box, tiling_fault};
use super::{DataType, Endianness};
use crate::io::RandomAccess;

/// Partitions with more slices than this are refused rather than checked pairwise.
const MAX_SLICES: usize = 4096;

/// Stored bytes of a tensor: the whole of it, or one slice and the box it fills.
struct Piece {
    key: Vec<u8>,
    entry: TensorEntry,
    stored: StoredRange,
    place: Option<Vec<(u64, u64)>>,
}

/// Whether stored checksums are verified when reading values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Verify every checksum (the default).
    Checksums,
    /// Trust the bytes: for callers that read the same tensor repeatedly.
    Skip,
}

/// Bytes per byte-swapped unit: a complex number swaps each component on its own.
pub fn swap_width(dtype: DataType) -> u64 {
    match dtype {
        DataType::DtComplex64 => 4,
        DataType::DtComplex128 => 8,
        other => element_size(other).unwrap_or(1),
    }
}

/// Turns values of `dtype` from one byte order into the other, in place.
pub fn swap_bytes(values: &mut [u8], dtype: DataType) {
    let width = swap_width(dtype) as usize;
    if width > 1 {
        values.chunks_exact_mut(width).for_each(<[u8]>::reverse);
    }
}

/// Turns values the read paths gave in the host's byte order little-endian, as safetensors
/// files and the bundles ckview writes store them.
pub fn host_to_little_endian(values: &mut [u8], dtype: DataType) {
    if host_endianness() == Endianness::Big {
        swap_bytes(values, dtype);
    }
}

/// The first `size` bytes of `buffer`, grown to hold them: one buffer reused from tensor to
/// tensor. `OutOfMemory`, naming tensor `key` of `path`, when that much cannot be allocated.
pub fn reused_buffer<'b>(buffer: &'b mut Vec<u8>, size: u64, path: &std::path::Path, key: &str) -> Result<&'b mut [u8]> {
    let length = usize::try_from(size)
        .ok()
        .filter(|&length| length <= buffer.len() || buffer.try_reserve(length - buffer.len()).is_ok())
        .ok_or_else(|| FormatError::out_of_memory(path, key, size))?;
    if buffer.len() < length {
        buffer.resize(length, 0);
    }
    Ok(&mut buffer[..length])
}

impl Bundle {
    fn key_text(key: &[u8]) -> String {
        super::slice_key::readable_key(key)
    }

    /// Bytes per element of a fixed-size dtype; `UnsupportedDtype` for strings, variants and
    /// the other variable-size dtypes.
    fn element_width(&self, key: &[u8], entry: &TensorEntry) -> Result<u64> {
        element_size(entry.dtype).ok_or_else(|| FormatError::UnsupportedDtype {
            path: self.table().path().to_path_buf(),
            key: Self::key_text(key),
            dtype: entry.dtype_label().into_owned(),
        })
    }

    /// Bytes a full read of this entry produces: elements times element size, once it is
    /// certain that the stored bytes exist (every piece within its shard), so that a crafted
    /// shape cannot make a caller allocate memory for bytes that are not there.
    pub fn value_size(&self, key: &[u8], entry: &TensorEntry) -> Result<u64> {
        let width = self.element_width(key, entry)?;
        self.pieces(key, entry)?;
        Ok(entry.num_elements() * width) // cannot overflow: checked when the entry was decoded
    }

    /// The size of a tensor in bytes: [`Bundle::value_size`] for a fixed-size dtype, the stored
    /// bytes (checked to exist) for strings and variants.
    pub fn size_bytes(&self, key: &[u8], entry: &TensorEntry) -> Result<u64> {
        match self.value_size(key, entry) {
            Err(FormatError::UnsupportedDtype { .. }) if entry.slices.is_empty() => {
                Ok(self.stored_range(key, entry)?.size)
            }
            other => other,
        }
    }

    /// Where a tensor's bytes are: itself for a whole tensor, else each slice with the box it
    /// fills, after checking that the slices cover the tensor exactly once. Every piece's bytes
    /// are checked to lie within its shard, and no two pieces to share stored bytes, so that the
    /// bytes a read produces never exceed the bytes stored; none is read.
    fn pieces(&self, key: &[u8], entry: &TensorEntry) -> Result<Vec<Piece>> {
        if entry.slices.is_empty() {
            let stored = self.stored_range(key, entry)?;
            return Ok(vec![Piece { key: key.to_vec(), entry: entry.clone(), stored, place: None }]);
        }
        let corrupt = |reason: String| FormatError::CorruptEntry {
            path: self.table().path().to_path_buf(),
            key: Self::key_text(key),
            reason,
        };
        if entry.slices.len() > MAX_SLICES {
            return Err(corrupt(format!("{} slices (at most {MAX_SLICES} are read)", entry.slices.len())));
        }
        let boxes: Vec<Vec<(u64, u64)>> = entry.slices.iter().map(|slice| slice_box(slice, &entry.shape)).collect();
        if let Some(fault) = tiling_fault(&boxes, entry.num_elements()) {
            return Err(corrupt(fault.into()));
        }
        let mut pieces = Vec::with_capacity(boxes.len());
        for (extents, place) in entry.slices.iter().zip(boxes) {
            let slice_name = slice_key(key, extents);
            let slice = self.entry(&slice_name)?.ok_or_else(|| corrupt(format!("slice {place:?} is missing")))?;
            let lengths: Vec<u64> = place.iter().map(|&(_, length)| length).collect();
            if slice.dtype != entry.dtype || slice.shape != lengths || !slice.slices.is_empty() {
                return Err(corrupt(format!("slice {place:?} is stored with another dtype or shape")));
            }
            let stored = self.stored_range(&slice_name, &slice)?;
            pieces.push(Piece { key: slice_name, entry: slice, stored, place: Some(place) });
        }
        let mut ranges: Vec<StoredRange> = pieces.iter().map(|piece| piece.stored).filter(|range| range.size > 0).collect();
        ranges.sort_unstable();
        if ranges.windows(2).any(|pair| pair[0].shard_id == pair[1].shard_id && pair[0].offset + pair[0].size > pair[1].offset) {
            return Err(corrupt("two of its slices share stored bytes".into()));
        }
        Ok(pieces)
    }

    /// Checks the stored crc32c of an unsliced entry's bytes.
    fn verify(&self, key: &[u8], entry: &TensorEntry, stored: &[u8]) -> Result<()> {
        self.check_checksum(key, entry, crc::crc32c(stored))
    }

    /// Reads a piece's stored bytes into `out` and, with `Verify::Checksums`, checks its crc32c.
    ///
    /// A large piece is read by two threads, half each: one core cannot both take the page
    /// faults of a fresh buffer (a numpy array, a tensor the caller just allocated) and copy at
    /// the memory's full speed (143 MiB: 45 ms alone, 25-34 ms by two). Where no thread can be
    /// started the calling thread reads it all.
    fn read_checked(&self, piece: &Piece, out: &mut [u8], verify: Verify) -> Result<()> {
        let crc = if out.len() >= crate::threads::SPLIT_BYTES_FROM {
            let half = out.len() / 2;
            let (first, second) = out.split_at_mut(half);
            let second_len = second.len();
            let (mine, theirs) = crate::threads::join(|| self.read_part(piece, 0, first, verify), || self.read_part(piece, half as u64, second, verify));
            crc::combine(mine?, theirs?, second_len)
        } else {
            self.read_part(piece, 0, out, verify)?
        };
        match verify {
            Verify::Checksums => self.check_checksum(&piece.key, &piece.entry, crc),
            Verify::Skip => Ok(()),
        }
    }

    /// Reads `out.len()` bytes of a piece from `skip` bytes into it, a chunk at a time, each
    /// chunk's crc32c taken while it is still in the CPU's cache (one pass over memory, not a
    /// read and then a second pass); the crc of the part, or 0 with `Verify::Skip`.
    fn read_part(&self, piece: &Piece, skip: u64, out: &mut [u8], verify: Verify) -> Result<u32> {
        const CHUNK: usize = 256 << 10;
        if verify == Verify::Skip {
            self.read_range(piece.stored, skip, out)?;
            return Ok(0);
        }
        let (mut crc, mut done) = (0u32, skip);
        for chunk in out.chunks_mut(CHUNK) {
            self.read_range(piece.stored, done, chunk)?;
            crc = crc::extend(crc, chunk);
            done += chunk.len() as u64;
        }
        Ok(crc)
    }

    /// Compares a crc32c computed over an unsliced entry's stored bytes with the stored one.
    pub(crate) fn check_checksum(&self, key: &[u8], entry: &TensorEntry, computed: u32) -> Result<()> {
        if computed != crc::unmask(entry.masked_crc32c) {
            return Err(FormatError::ChecksumMismatch {
                path: self.shard_path(entry.shard_id),
                what: format!("tensor {:?}", Self::key_text(key)),
                stored: crc::unmask(entry.masked_crc32c),
                computed,
            });
        }
        Ok(())
    }

    /// Where a tensor's stored bytes are, when they are its value exactly as
    /// [`Bundle::read_value`] would give it on this host (unsliced, a fixed-size dtype other
    /// than bool, whose bytes are checked, in the host's byte order), so that they can be copied
    /// as they are: the file and the range in it. `None` when they are not. A copy is verified
    /// with [`Bundle::check_checksum`].
    pub(crate) fn verbatim(&self, key: &[u8], entry: &TensorEntry) -> Result<Option<(Arc<dyn RandomAccess>, StoredRange)>> {
        self.element_width(key, entry)?;
        let swapped = swap_width(entry.dtype) > 1 && self.header().endianness != host_endianness();
        if !entry.slices.is_empty() || swapped || entry.dtype == DataType::DtBool {
            return Ok(None);
        }
        let range = self.stored_range(key, entry)?;
        Ok(Some((self.shard_file(range.shard_id)?, range)))
    }

    /// The stored bytes of a numeric tensor, without a copy, inside the shard's memory map: only
    /// for a bundle opened with a storage that maps files. Only where no conversion is needed:
    /// an unsliced tensor of a fixed-size dtype, in a bundle of the host's byte order (or of
    /// single-byte elements). With `Verify::Checksums` the crc32c (and bool bytes) are checked,
    /// which reads every byte once; with `Verify::Skip` the cost does not depend on the size.
    pub fn borrow_value(&self, key: &[u8], entry: &TensorEntry, verify: Verify) -> Result<&[u8]> {
        self.element_width(key, entry)?;
        let unsupported = |reason: &str| FormatError::Unsupported {
            path: self.table().path().to_path_buf(),
            reason: format!("tensor {:?} cannot be borrowed: {reason}; read it into a buffer", Self::key_text(key)),
        };
        if !entry.slices.is_empty() {
            return Err(unsupported("it is partitioned into slices"));
        }
        if swap_width(entry.dtype) > 1 && self.header().endianness != host_endianness() {
            return Err(unsupported("its bytes are in the other byte order"));
        }
        let stored = self.mapped_stored(key, entry)?;
        if verify == Verify::Checksums {
            self.verify(key, entry, stored)?;
            self.check_bools(key, entry, stored)?;
        }
        Ok(stored)
    }

    /// Reads a numeric tensor into `out`, which must hold at least [`Bundle::value_size`] bytes;
    /// exactly that many are written, in the host's byte order. Partitioned tensors are
    /// assembled from their slices, wherever (in whichever shard) each lives.
    pub fn read_value(&self, key: &[u8], entry: &TensorEntry, out: &mut [u8], verify: Verify) -> Result<()> {
        let width = self.element_width(key, entry)?;
        let size = entry.num_elements() * width;
        let given = out.len() as u64;
        let out = out.get_mut(..size as usize).ok_or_else(|| FormatError::BufferTooSmall {
            key: Self::key_text(key),
            needed: size,
            given,
        })?;
        let mut scratch = Vec::new();
        for piece in self.pieces(key, entry)? {
            // A whole tensor is read straight into `out`; a slice into scratch, then into its box.
            let target: &mut [u8] = match &piece.place {
                None => &mut *out,
                Some(_) => {
                    let size = usize::try_from(piece.stored.size).map_err(|_| self.out_of_memory(key, piece.stored.size))?;
                    scratch.clear();
                    scratch.try_reserve_exact(size).map_err(|_| self.out_of_memory(key, piece.stored.size))?;
                    scratch.resize(size, 0);
                    &mut scratch
                }
            };
            self.read_checked(&piece, target, verify)?;
            if let Some(place) = &piece.place {
                copy_box(&scratch, out, &entry.shape, place, width as usize);
            }
        }
        if self.header().endianness != host_endianness() {
            swap_bytes(out, entry.dtype);
        }
        if verify == Verify::Checksums {
            self.check_bools(key, entry, out)?;
        }
        Ok(())
    }

    fn out_of_memory(&self, key: &[u8], bytes: u64) -> FormatError {
        FormatError::out_of_memory(self.table().path(), &Self::key_text(key), bytes)
    }

    /// A bool is one byte, 0 or 1; anything else is damage, not `true`.
    fn check_bools(&self, key: &[u8], entry: &TensorEntry, bytes: &[u8]) -> Result<()> {
        if entry.dtype == DataType::DtBool {
            if let Some(at) = bytes.iter().position(|&byte| byte > 1) {
                return Err(FormatError::CorruptData {
                    path: self.shard_path(entry.shard_id),
                    key: Self::key_text(key),
                    reason: format!("bool element {at} is {:#04x}, neither 0 nor 1", bytes[at]),
                });
            }
        }
        Ok(())
    }

    /// The elements of a DT_STRING tensor, both checksums verified.
    pub fn read_string_values(&self, key: &[u8], entry: &TensorEntry) -> Result<Strings> {
        if entry.dtype != DataType::DtString {
            return Err(FormatError::UnsupportedDtype {
                path: self.table().path().to_path_buf(),
                key: Self::key_text(key),
                dtype: format!("{} (not a string tensor)", entry.dtype_label()),
            });
        }
        if !entry.slices.is_empty() {
            return Err(FormatError::Unsupported {
                path: self.table().path().to_path_buf(),
                reason: format!("string tensor {:?} is partitioned into slices", Self::key_text(key)),
            });
        }
        self.read_strings(key, entry)
    }
}

/// The byte order of this machine.
pub fn host_endianness() -> Endianness {
    if cfg!(target_endian = "big") {
        Endianness::Big
    } else {
        Endianness::Little
    }
}

/// Copies a row-major slice (`source`) into its box of the row-major tensor `out`, in runs as
/// long as the trailing whole dimensions allow.
fn copy_box(source: &[u8], out: &mut [u8], shape: &[u64], slice_box: &[(u64, u64)], width: usize) {
    let rank = shape.len();
    if rank == 0 {
        out.copy_from_slice(&source[..out.len()]);
        return;
    }
    // Dimensions after `inner` are whole in the slice: one run spans them and `inner`'s length.
    let mut inner = rank - 1;
    while inner > 0 && slice_box[inner] == (0, shape[inner]) {
        inner -= 1;
    }
    let trailing: u64 = shape[inner + 1..].iter().product();
    let run = (slice_box[inner].1 * trailing) as usize * width;
    if run == 0 {
        return;
    }
    // Row-major strides of the full tensor, in elements.
    let mut strides = vec![1u64; rank];
    for dim in (0..rank - 1).rev() {
        strides[dim] = strides[dim + 1] * shape[dim + 1];
    }
    let mut index = vec![0u64; inner]; // odometer over the outer dimensions of the slice
    for chunk in source.chunks_exact(run) {
        let mut element = slice_box[inner].0 * strides[inner];
        for (dim, &i) in index.iter().enumerate() {
            element += (slice_box[dim].0 + i) * strides[dim];
        }
        let at = element as usize * width;
        out[at..at + run].copy_from_slice(chunk);
        for dim in (0..inner).rev() {
            index[dim] += 1;
            if index[dim] < slice_box[dim].1 {
                break;
            }
            index[dim] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_land_where_row_major_order_puts_them() {
        // A 3x4 tensor of u8 built from a 2x2 corner box and the rest.
        let shape = [3u64, 4];
        let mut out = vec![0u8; 12];
        copy_box(&[1, 2, 3, 4], &mut out, &shape, &[(1, 2), (2, 2)], 1);
        assert_eq!(out, [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4]);
        // Whole trailing dimensions make one run.
        let mut out = vec![0u8; 12];
        copy_box(&[9; 8], &mut out, &shape, &[(1, 2), (0, 4)], 1);
        assert_eq!(out, [0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
    }
}
