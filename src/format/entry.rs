//! `BundleEntryProto`, decoded and checked against the reader checklist of FORMAT.md.

use std::ffi::CStr;

use prost::Message;

use super::coding::Cursor;
use super::proto::{BundleEntryProto, DataType};

/// Largest rank TensorFlow accepts for a stored tensor.
const MAX_RANK: usize = 254;

/// Bytes per element, or `None` for the variable-length types (strings, variants) and the types
/// that never appear in a bundle.
pub fn element_size(dtype: DataType) -> Option<u64> {
    use DataType::*;
    Some(match dtype {
        DtUint8 | DtInt8 | DtBool | DtQint8 | DtQuint8 | DtFloat8E5m2 | DtFloat8E4m3fn
        | DtFloat8E4m3fnuz | DtFloat8E4m3b11fnuz | DtFloat8E5m2fnuz => 1,
        // Sub-byte types are stored unpacked, one byte per element, the value in the low bits.
        DtInt4 | DtUint4 | DtInt2 | DtUint2 | DtFloat4E2m1fn => 1,
        DtInt16 | DtBfloat16 | DtQint16 | DtQuint16 | DtUint16 | DtHalf => 2,
        DtFloat | DtInt32 | DtQint32 | DtUint32 => 4,
        DtDouble | DtComplex64 | DtInt64 | DtUint64 => 8,
        DtComplex128 => 16,
        DtString | DtVariant | DtResource | DtInvalid => return None,
    })
}

/// TensorFlow's Python name of a dtype (`tf.DType.name`): `float32`, `bfloat16`, `string`, ...
pub fn dtype_name(dtype: DataType) -> &'static str {
    dtype_c_name(dtype).to_str().expect("dtype names are ASCII")
}

/// [`dtype_name`] as a static NUL-terminated string, for the C ABI.
pub fn dtype_c_name(dtype: DataType) -> &'static CStr {
    use DataType::*;
    match dtype {
        DtInvalid => c"invalid",
        DtFloat => c"float32",
        DtDouble => c"float64",
        DtInt32 => c"int32",
        DtUint8 => c"uint8",
        DtInt16 => c"int16",
        DtInt8 => c"int8",
        DtString => c"string",
        DtComplex64 => c"complex64",
        DtInt64 => c"int64",
        DtBool => c"bool",
        DtQint8 => c"qint8",
        DtQuint8 => c"quint8",
        DtQint32 => c"qint32",
        DtBfloat16 => c"bfloat16",
        DtQint16 => c"qint16",
        DtQuint16 => c"quint16",
        DtUint16 => c"uint16",
        DtComplex128 => c"complex128",
        DtHalf => c"float16",
        DtResource => c"resource",
        DtVariant => c"variant",
        DtUint32 => c"uint32",
        DtUint64 => c"uint64",
        DtFloat8E5m2 => c"float8_e5m2",
        DtFloat8E4m3fn => c"float8_e4m3fn",
        DtFloat8E4m3fnuz => c"float8_e4m3fnuz",
        DtFloat8E4m3b11fnuz => c"float8_e4m3b11fnuz",
        DtFloat8E5m2fnuz => c"float8_e5m2fnuz",
        DtInt4 => c"int4",
        DtUint4 => c"uint4",
        DtInt2 => c"int2",
        DtUint2 => c"uint2",
        DtFloat4E2m1fn => c"float4_e2m1fn",
    }
}

/// One dimension of a stored slice: `length` is `None` for "the whole dimension".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceExtent {
    pub start: u64,
    pub length: Option<u64>,
}

/// A checked tensor entry: where a tensor's bytes are and what they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    /// The dtype; [`DataType::DtInvalid`] when the stored number is one this reader does not
    /// know (`dtype_number` then holds it, and reading the values is refused as unsupported).
    pub dtype: DataType,
    /// The `DataType` number as stored, known or not.
    pub dtype_number: i32,
    /// Dimension sizes, outermost first; empty for a scalar.
    pub shape: Vec<u64>,
    pub shard_id: u32,
    pub offset: u64,
    pub size: u64,
    /// The stored (masked) crc32c of the bytes.
    pub masked_crc32c: u32,
    /// For a partitioned tensor, the slices stored under their own keys; then the location
    /// fields above mean nothing.
    pub slices: Vec<Vec<SliceExtent>>,
    /// Why the entry's location disagrees with the rest of it (a stored size that is not
    /// elements x element size, a shard id past the header's count, an offset + size that
    /// overflows), or `None`. Such an entry still lists; reading its bytes fails with
    /// `CorruptEntry` naming this reason.
    pub inconsistent: Option<String>,
}

impl TensorEntry {
    /// Decodes and checks an entry of a bundle with `num_shards` data files.
    pub fn decode(value: &[u8], num_shards: u32) -> Result<TensorEntry, String> {
        check_counts(value)?;
        let proto = BundleEntryProto::decode(value).map_err(|error| format!("undecodable: {error}"))?;
        // A number this reader does not know lists as `unknown(N)`; its values are refused.
        let dtype = DataType::try_from(proto.dtype).unwrap_or(DataType::DtInvalid);
        if proto.dtype == DataType::DtInvalid as i32 || dtype == DataType::DtResource {
            return Err(format!("dtype {} cannot be stored in a bundle", dtype_name(dtype)));
        }
        let shape = decode_shape(proto.shape.unwrap_or_default())?;
        let elements = element_count(&shape).ok_or("element count overflows int64")?;
        // A fixed-size tensor's bytes must be countable too, whether stored whole or in slices.
        let byte_size = element_size(dtype).map(|width| elements.checked_mul(width).filter(|&bytes| bytes <= i64::MAX as u64));
        if byte_size == Some(None) {
            return Err("byte size overflows int64".into());
        }
        let slices = proto
            .slices
            .iter()
            .map(|slice| decode_slice(slice, &shape))
            .collect::<Result<Vec<_>, _>>()?;
        let shard_id = u32::try_from(proto.shard_id).map_err(|_| format!("negative shard id {}", proto.shard_id))?;
        let offset = u64::try_from(proto.offset).map_err(|_| format!("negative offset {}", proto.offset))?;
        let size = u64::try_from(proto.size).map_err(|_| format!("negative size {}", proto.size))?;
        // Location problems leave the entry listable: only reading its bytes fails.
        let mut inconsistent = None;
        if slices.is_empty() {
            if shard_id >= num_shards {
                inconsistent = Some(format!("shard id {shard_id} is not below the bundle's {num_shards} shards"));
            } else if offset.checked_add(size).is_none() {
                inconsistent = Some("offset + size overflows".into());
            } else if let Some(Some(expected)) = byte_size {
                if size != expected {
                    inconsistent = Some(format!("{size} bytes stored for {elements} elements of {}", dtype_name(dtype)));
                }
            }
        }
        Ok(TensorEntry {
            dtype,
            dtype_number: proto.dtype,
            shape,
            shard_id,
            offset,
            size,
            masked_crc32c: proto.crc32c,
            slices,
            inconsistent,
        })
    }

    /// The dtype's name as [`dtype_name`] gives it, or `unknown(N)` for a number this reader
    /// does not know.
    pub fn dtype_label(&self) -> std::borrow::Cow<'static, str> {
        if self.dtype == DataType::DtInvalid {
            format!("unknown({})", self.dtype_number).into()
        } else {
            dtype_name(self.dtype).into()
        }
    }

    /// Number of elements (1 for a scalar).
    pub fn num_elements(&self) -> u64 {
        element_count(&self.shape).expect("checked by decode")
    }
}

/// Slices of one partitioned tensor that an entry may list (ckview reads at most 4096).
const MAX_STORED_SLICES: usize = 1 << 16;

/// Counts the dimensions and slices an entry lists before prost builds them: a dimension takes
/// two bytes on disk and 32 in memory, so 20 MB of dimensions would become 320 MB, and a failed
/// allocation aborts the host. Wire data that does not parse is left for prost to refuse.
fn check_counts(value: &[u8]) -> Result<(), String> {
    let mut slices = 0usize;
    for (field, body) in length_delimited_fields(value) {
        match field {
            2 => {
                let rank = length_delimited_fields(body).filter(|&(field, _)| field == 2).count();
                if rank > MAX_RANK {
                    return Err(format!("rank {rank} exceeds {MAX_RANK}"));
                }
            }
            7 => {
                slices += 1;
                if slices > MAX_STORED_SLICES {
                    return Err(format!("more than {MAX_STORED_SLICES} slices"));
                }
                let rank = length_delimited_fields(body).filter(|&(field, _)| field == 1).count();
                if rank > MAX_RANK {
                    return Err(format!("a slice of rank {rank} exceeds {MAX_RANK}"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The length-delimited fields of a message, as (field number, bytes), until the first field
/// that does not parse. Other wire types are skipped.
fn length_delimited_fields(message: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let mut cursor = Cursor::new(message);
    std::iter::from_fn(move || loop {
        if cursor.rest().is_empty() {
            return None;
        }
        let tag = cursor.varint64()?;
        match tag & 7 {
            0 => {
                cursor.varint64()?;
            }
            1 => {
                cursor.take(8)?;
            }
            2 => {
                let len = usize::try_from(cursor.varint64()?).ok()?;
                return Some((tag >> 3, cursor.take(len)?));
            }
            5 => {
                cursor.take(4)?;
            }
            _ => return None,
        }
    })
}

fn decode_shape(shape: super::proto::TensorShapeProto) -> Result<Vec<u64>, String> {
    if shape.unknown_rank {
        return Err("stored tensor has unknown rank".into());
    }
    if shape.dim.len() > MAX_RANK {
        return Err(format!("rank {} exceeds {MAX_RANK}", shape.dim.len()));
    }
    shape
        .dim
        .iter()
        .map(|dim| u64::try_from(dim.size).map_err(|_| format!("negative dimension {}", dim.size)))
        .collect()
}

/// Product of the dimensions if it fits in an int64, as TensorFlow requires.
fn element_count(shape: &[u64]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |count, &dim| count.checked_mul(dim))
        .filter(|&count| count <= i64::MAX as u64)
}

fn decode_slice(slice: &super::proto::TensorSliceProto, shape: &[u64]) -> Result<Vec<SliceExtent>, String> {
    use super::proto::tensor_slice_proto::extent::HasLength;
    if slice.extent.len() != shape.len() {
        return Err(format!("slice of rank {} for a tensor of rank {}", slice.extent.len(), shape.len()));
    }
    slice
        .extent
        .iter()
        .zip(shape)
        .map(|(extent, &dim)| {
            let start = u64::try_from(extent.start).map_err(|_| format!("negative slice start {}", extent.start))?;
            let length = match extent.has_length {
                None => None,
                Some(HasLength::Length(length)) => {
                    Some(u64::try_from(length).map_err(|_| format!("negative slice length {length}"))?)
                }
            };
            let end = start.checked_add(length.unwrap_or(0)).ok_or("slice end overflows")?;
            if end > dim || (length.is_none() && start != 0) {
                return Err(format!("slice [{start}, {end}) leaves a dimension of size {dim}"));
            }
            Ok(SliceExtent { start, length })
        })
        .collect()
}
