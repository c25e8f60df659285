//! TensorFlow dtypes as safetensors dtypes: the same bytes under the other format's name.

use safetensors::Dtype;

use crate::format::DataType;

/// The safetensors dtype that holds a TensorFlow dtype's values byte for byte, or `None`:
/// strings and variants (no fixed size), complex128, the quantized types (their meaning is not
/// an integer's), and the sub-byte types TensorFlow stores one per byte (int4, uint4, int2,
/// uint2, float4_e2m1fn, where safetensors packs them), and float8_e4m3b11fnuz.
pub fn safetensors_dtype(dtype: DataType) -> Option<Dtype> {
    use DataType::*;
    Some(match dtype {
        DtBool => Dtype::BOOL,
        DtUint8 => Dtype::U8,
        DtInt8 => Dtype::I8,
        DtInt16 => Dtype::I16,
        DtUint16 => Dtype::U16,
        DtHalf => Dtype::F16,
        DtBfloat16 => Dtype::BF16,
        DtInt32 => Dtype::I32,
        DtUint32 => Dtype::U32,
        DtFloat => Dtype::F32,
        DtDouble => Dtype::F64,
        DtInt64 => Dtype::I64,
        DtUint64 => Dtype::U64,
        DtComplex64 => Dtype::C64,
        DtFloat8E5m2 => Dtype::F8_E5M2,
        DtFloat8E4m3fn => Dtype::F8_E4M3,
        DtFloat8E4m3fnuz => Dtype::F8_E4M3FNUZ,
        DtFloat8E5m2fnuz => Dtype::F8_E5M2FNUZ,
        DtString | DtVariant | DtResource | DtInvalid | DtComplex128 | DtQint8 | DtQuint8 | DtQint16 | DtQuint16
        | DtQint32 | DtInt4 | DtUint4 | DtInt2 | DtUint2 | DtFloat4E2m1fn | DtFloat8E4m3b11fnuz => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::element_size;

    #[test]
    fn every_kept_dtype_has_the_same_element_size() {
        for number in 0..64 {
            let Ok(dtype) = DataType::try_from(number) else { continue };
            if let Some(kept) = safetensors_dtype(dtype) {
                assert_eq!(element_size(dtype), Some(kept.bitsize() as u64 / 8), "{dtype:?}");
            }
        }
    }
}
