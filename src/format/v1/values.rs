//! A V1 tensor's values: each slice's record found under its encoded key, its `TensorProto`
//! walked field by field (the typed `*_val` fields TensorFlow writes), counted against the slice
//! before anything is allocated, and copied into its box of the full tensor.

use std::path::Path;

use super::wire::{fields, packed_varints, Value};
use super::{decode_slice, V1Checkpoint, V1Tensor};
use crate::format::entry::{dtype_name, element_size};
use crate::format::error::{FormatError, Result};
use crate::format::proto::DataType;
use crate::format::slice_key::{readable_key, slice_key};
use crate::format::slices::{slice_box, tiling_fault};


/// How a value unit is stored in a `TensorProto` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// A varint, of which the low `width` bytes are the value (TensorFlow narrows the same way).
    Varint,
    /// A little-endian fixed32 (float bits).
    Fixed32,
    /// A little-endian fixed64 (double bits).
    Fixed64,
    /// A length-delimited byte string.
    Bytes,
}

/// Where the values of a dtype are in a `TensorProto`.
#[derive(Clone, Copy, Debug)]
struct Layout {
    field: u32,
    unit: Unit,
    /// Units per element: 2 for complex numbers (real, imaginary).
    units_per_element: u64,
    /// Bytes a unit takes in memory.
    unit_width: usize,
    /// A bool: any nonzero value is `true` (as protobuf and TensorFlow read it), stored as 1.
    boolean: bool,
}

/// The `TensorProto` field of each dtype a V1 writer can store (docs/v1.md); `None` for the rest.
fn layout(dtype: DataType) -> Option<Layout> {
    use DataType::*;
    let (field, unit, units_per_element, unit_width) = match dtype {
        DtFloat => (5, Unit::Fixed32, 1, 4),
        DtDouble => (6, Unit::Fixed64, 1, 8),
        DtInt32 | DtQint32 => (7, Unit::Varint, 1, 4),
        DtInt16 | DtUint16 | DtQint16 | DtQuint16 => (7, Unit::Varint, 1, 2),
        DtInt8 | DtUint8 | DtQint8 | DtQuint8 => (7, Unit::Varint, 1, 1),
        DtString => (8, Unit::Bytes, 1, 0),
        DtComplex64 => (9, Unit::Fixed32, 2, 4),
        DtInt64 => (10, Unit::Varint, 1, 8),
        DtBool => (11, Unit::Varint, 1, 1),
        DtComplex128 => (12, Unit::Fixed64, 2, 8),
        DtHalf | DtBfloat16 => (13, Unit::Varint, 1, 2),
        DtUint32 => (16, Unit::Varint, 1, 4),
        DtUint64 => (17, Unit::Varint, 1, 8),
        _ => return None,
    };
    Some(Layout { field, unit, units_per_element, unit_width, boolean: dtype == DtBool })
}

/// One stored slice: its record and where it goes.
struct Piece {
    file: usize,
    key: Vec<u8>,
    /// (start, length) per dimension of the full tensor.
    place: Vec<(u64, u64)>,
    record: Vec<u8>,
    /// The `TensorProto`'s bytes within `record`.
    data: (usize, usize),
}

impl Piece {
    fn data(&self) -> &[u8] {
        &self.record[self.data.0..self.data.1]
    }
}

impl V1Checkpoint {
    fn file_path(&self, file: usize) -> &Path {
        self.files[file].path()
    }

    fn unsupported_dtype(&self, tensor: &V1Tensor, note: &str) -> FormatError {
        FormatError::UnsupportedDtype {
            path: self.path.clone(),
            key: tensor.name_text(),
            dtype: format!("{}{note}", dtype_name(tensor.dtype)),
        }
    }

    /// The layout of a fixed-size dtype, or `UnsupportedDtype` (strings, float8, int4, ...).
    fn numeric_layout(&self, tensor: &V1Tensor) -> Result<(Layout, u64)> {
        match (layout(tensor.dtype), element_size(tensor.dtype)) {
            (Some(layout), Some(width)) if layout.unit != Unit::Bytes => Ok((layout, width)),
            _ => Err(self.unsupported_dtype(tensor, "")),
        }
    }

    /// Bytes a full read of `tensor` produces, once every slice's record has been found and holds
    /// exactly the values its slice needs, so that a crafted shape cannot make a caller allocate
    /// memory for values that are not stored.
    pub fn value_size(&self, tensor: &V1Tensor) -> Result<u64> {
        let (layout, width) = self.numeric_layout(tensor)?;
        self.pieces(tensor, layout)?;
        Ok(tensor.num_elements() * width) // no overflow: checked when the listing was decoded
    }

    /// Reads a numeric tensor into `out`, which must hold at least [`V1Checkpoint::value_size`]
    /// bytes; exactly that many are written, in the host's byte order, as the bytes of the dtype
    /// (complex: real then imaginary; float16 and bfloat16: their 16 bits; bool: 0 or 1).
    /// Partitioned tensors are assembled from their slices, wherever each is stored.
    pub fn read_value(&self, tensor: &V1Tensor, out: &mut [u8]) -> Result<()> {
        let (layout, width) = self.numeric_layout(tensor)?;
        let size = tensor.num_elements() * width;
        let given = out.len() as u64;
        let out = out.get_mut(..size as usize).ok_or_else(|| FormatError::BufferTooSmall {
            key: tensor.name_text(),
            needed: size,
            given,
        })?;
        let pieces = self.pieces(tensor, layout)?;
        let whole = |piece: &Piece| piece.place.iter().zip(&tensor.shape).all(|(&(start, length), &dim)| start == 0 && length == dim);
        let mut scratch = Vec::new();
        for piece in &pieces {
            let corrupt = |reason: String| self.corrupt_data(piece, reason);
            if whole(piece) {
                decode_units(piece.data(), layout, tensor.dtype, out).map_err(corrupt)?;
                continue;
            }
            let volume: u64 = piece.place.iter().map(|&(_, length)| length).product();
            let bytes = volume * width;
            scratch.clear();
            scratch.try_reserve_exact(bytes as usize).map_err(|_| self.out_of_memory(tensor, bytes))?;
            scratch.resize(bytes as usize, 0);
            decode_units(piece.data(), layout, tensor.dtype, &mut scratch).map_err(corrupt)?;
            let width = width as usize;
            for_each_row(&tensor.shape, &piece.place, |to, from, run| {
                let (to, from, run) = (to as usize * width, from as usize * width, run as usize * width);
                out[to..to + run].copy_from_slice(&scratch[from..from + run]);
            });
        }
        Ok(())
    }

    /// The elements of a DT_STRING tensor, row-major, assembled from its slices.
    pub fn read_strings(&self, tensor: &V1Tensor) -> Result<Vec<Vec<u8>>> {
        let layout = layout(tensor.dtype)
            .filter(|layout| layout.unit == Unit::Bytes)
            .ok_or_else(|| self.unsupported_dtype(tensor, " (not a string tensor)"))?;
        let pieces = self.pieces(tensor, layout)?;
        let count = tensor.num_elements();
        // Every element was counted in a record, where it takes at least two bytes.
        let mut strings: Vec<Vec<u8>> = Vec::new();
        strings.try_reserve_exact(count as usize).map_err(|_| self.out_of_memory(tensor, count.saturating_mul(24)))?;
        strings.resize(count as usize, Vec::new());
        for piece in &pieces {
            let mut values = Vec::new();
            walk(piece.data(), layout, tensor.dtype, |value| {
                values.push(value);
                Ok(())
            })
            .map_err(|reason| self.corrupt_data(piece, reason))?;
            let mut values = values.into_iter();
            for_each_row(&tensor.shape, &piece.place, |to, _, run| {
                for slot in &mut strings[to as usize..(to + run) as usize] {
                    *slot = values.next().map(|value| value.bytes.to_vec()).unwrap_or_default();
                }
            });
        }
        Ok(strings)
    }

    fn corrupt_data(&self, piece: &Piece, reason: String) -> FormatError {
        FormatError::CorruptData { path: self.file_path(piece.file).to_path_buf(), key: readable_key(&piece.key), reason }
    }

    fn out_of_memory(&self, tensor: &V1Tensor, bytes: u64) -> FormatError {
        FormatError::out_of_memory(&self.path, &tensor.name_text(), bytes)
    }

    /// Every slice of `tensor` with its record, after checking that the slices cover the tensor
    /// exactly once and that each record holds exactly its slice's values.
    fn pieces(&self, tensor: &V1Tensor, layout: Layout) -> Result<Vec<Piece>> {
        let corrupt = |reason: String| FormatError::CorruptEntry { path: self.path.clone(), key: tensor.name_text(), reason };
        if tensor.slices.is_empty() {
            return Err(corrupt("no slice of it is stored".into()));
        }
        let boxes: Vec<Vec<(u64, u64)>> = tensor.slices.iter().map(|(_, extents)| slice_box(extents, &tensor.shape)).collect();
        if let Some(fault) = tiling_fault(&boxes, tensor.num_elements()) {
            return Err(corrupt(fault.into()));
        }
        let mut pieces = Vec::with_capacity(boxes.len());
        for ((file, extents), place) in tensor.slices.iter().zip(boxes) {
            let key = slice_key(&tensor.name, extents);
            let record = self.files[*file].get(&key)?;
            let mut piece = Piece { file: *file, key, place, record: record.unwrap_or_default(), data: (0, 0) };
            if piece.record.is_empty() {
                return Err(self.corrupt_data(&piece, "the slice's record is missing".into()));
            }
            match check_record(&piece.record, tensor, &piece.place, layout) {
                Ok(data) => piece.data = data,
                Err(reason) => return Err(self.corrupt_data(&piece, reason)),
            }
            pieces.push(piece);
        }
        Ok(pieces)
    }
}

/// Checks a slice's `SavedTensorSlices { data: SavedSlice }` record against its tensor and box,
/// and counts its values; returns where its `TensorProto` is.
fn check_record(record: &[u8], tensor: &V1Tensor, place: &[(u64, u64)], layout: Layout) -> std::result::Result<(usize, usize), String> {
    let mut saved = None;
    for field in fields(record) {
        match field? {
            (2, Value::Bytes(_)) if saved.is_some() => return Err("the record holds two slices".into()),
            (2, Value::Bytes(bytes)) => saved = Some(bytes),
            (1, _) => return Err("the record holds a table of contents, not a slice".into()),
            (2, _) => return Err("malformed record".into()),
            _ => {}
        }
    }
    let saved = saved.ok_or("the record holds no slice")?;
    let (mut name, mut slice, mut data): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    for field in fields(saved) {
        match field? {
            (1, Value::Bytes(bytes)) => name = bytes,
            (2, Value::Bytes(bytes)) => slice = bytes,
            (3, Value::Bytes(bytes)) => data = bytes,
            (1..=3, _) => return Err("malformed saved slice".into()),
            _ => {}
        }
    }
    if name != tensor.name.as_slice() {
        return Err(format!("the record names tensor {:?}", String::from_utf8_lossy(name)));
    }
    let extents = decode_slice(slice, &tensor.shape, &mut 0).map_err(|reason| format!("the record's slice: {reason}"))?;
    if slice_box(&extents, &tensor.shape) != place {
        return Err("the record holds another slice than its key names".into());
    }
    let mut units = 0u64;
    walk(data, layout, tensor.dtype, |_| {
        units += 1;
        Ok(())
    })?;
    let volume: u64 = place.iter().map(|&(_, length)| length).product();
    let expected = volume * layout.units_per_element;
    if units != expected {
        return Err(format!("{units} values stored for a slice of {volume} elements of {}", dtype_name(tensor.dtype)));
    }
    let start = data.as_ptr() as usize - record.as_ptr() as usize;
    Ok((start, start + data.len()))
}

/// One stored unit: its bits (numbers) or bytes (strings).
#[derive(Clone, Copy)]
struct Unitv<'a> {
    bits: u64,
    bytes: &'a [u8],
}

/// Visits every value unit of `dtype` in a `TensorProto`, packed or not, in order. Other fields
/// are skipped, as TensorFlow skips them; a stored dtype other than the tensor's is refused.
fn walk<'a>(
    data: &'a [u8],
    layout: Layout,
    dtype: DataType,
    mut visit: impl FnMut(Unitv<'a>) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let number = |bits: u64| Unitv { bits, bytes: &[] };
    for field in fields(data) {
        let (field, value) = field?;
        if field == 1 {
            match value {
                Value::Varint(0) => {}
                Value::Varint(stored) if stored == dtype as i32 as u64 => {}
                _ => return Err("the values are stored with another dtype".into()),
            }
            continue;
        }
        if field != layout.field {
            continue;
        }
        match (layout.unit, value) {
            (Unit::Bytes, Value::Bytes(bytes)) => visit(Unitv { bits: 0, bytes })?,
            (Unit::Varint, Value::Varint(bits)) => visit(number(bits))?,
            (Unit::Fixed32, Value::Fixed32(bits)) => visit(number(u64::from(bits)))?,
            (Unit::Fixed64, Value::Fixed64(bits)) => visit(number(bits))?,
            (Unit::Varint, Value::Bytes(packed)) => {
                for bits in packed_varints(packed) {
                    visit(number(bits?))?;
                }
            }
            (Unit::Fixed32, Value::Bytes(packed)) if packed.len() % 4 == 0 => {
                for chunk in packed.chunks_exact(4) {
                    visit(number(u64::from(u32::from_le_bytes(chunk.try_into().expect("4 bytes")))))?;
                }
            }
            (Unit::Fixed64, Value::Bytes(packed)) if packed.len() % 8 == 0 => {
                for chunk in packed.chunks_exact(8) {
                    visit(number(u64::from_le_bytes(chunk.try_into().expect("8 bytes"))))?;
                }
            }
            _ => return Err(format!("field {field} of the values has the wrong wire type or length")),
        }
    }
    Ok(())
}

/// Writes every numeric unit of `data` into `out` in the host's byte order; `out` must be as long
/// as the units (counted by `check_record`), else an error.
fn decode_units(data: &[u8], layout: Layout, dtype: DataType, out: &mut [u8]) -> std::result::Result<(), String> {
    let width = layout.unit_width;
    let mut at = 0usize;
    walk(data, layout, dtype, |unit| {
        let slot = out.get_mut(at..at + width).ok_or("more values than counted")?;
        let bits = if layout.boolean { u64::from(unit.bits != 0) } else { unit.bits };
        match width {
            1 => slot.copy_from_slice(&[bits as u8]),
            2 => slot.copy_from_slice(&(bits as u16).to_ne_bytes()),
            4 => slot.copy_from_slice(&(bits as u32).to_ne_bytes()),
            _ => slot.copy_from_slice(&bits.to_ne_bytes()),
        }
        at += width;
        Ok(())
    })?;
    if at != out.len() {
        return Err("fewer values than counted".into());
    }
    Ok(())
}

/// Calls `copy(to, from, run)` for each row of the box `place` of a row-major tensor of `shape`:
/// `run` elements from element `from` of the slice (row-major itself) to element `to` of the
/// tensor.
fn for_each_row(shape: &[u64], place: &[(u64, u64)], mut copy: impl FnMut(u64, u64, u64)) {
    let rank = shape.len();
    if rank == 0 {
        copy(0, 0, 1);
        return;
    }
    if place.iter().any(|&(_, length)| length == 0) {
        return;
    }
    let mut strides = vec![1u64; rank];
    for dim in (0..rank - 1).rev() {
        strides[dim] = strides[dim + 1] * shape[dim + 1];
    }
    let run = place[rank - 1].1;
    let mut index = vec![0u64; rank - 1];
    let mut from = 0u64;
    loop {
        let to: u64 = index.iter().zip(place).zip(&strides).map(|((&i, &(start, _)), &stride)| (start + i) * stride).sum::<u64>()
            + place[rank - 1].0;
        copy(to, from, run);
        from += run;
        // Advance the odometer over the outer dimensions, innermost first.
        let mut dim = rank - 1;
        loop {
            if dim == 0 {
                return;
            }
            dim -= 1;
            index[dim] += 1;
            if index[dim] < place[dim].1 {
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
    fn rows_of_a_box_land_in_place() {
        let mut rows = Vec::new();
        for_each_row(&[3, 4], &[(1, 2), (2, 2)], |to, from, run| rows.push((to, from, run)));
        assert_eq!(rows, [(6, 0, 2), (10, 2, 2)]);
        rows.clear();
        for_each_row(&[], &[], |to, from, run| rows.push((to, from, run)));
        assert_eq!(rows, [(0, 0, 1)]);
        rows.clear();
        for_each_row(&[2, 0], &[(0, 2), (0, 0)], |to, from, run| rows.push((to, from, run)));
        assert!(rows.is_empty());
    }
}
