//! `diff --values`: how much two tensors of the same shape differ, element by element, for a
//! user validating a conversion (float32 to float16, a framework to another): the largest
//! absolute and relative difference, how many elements differ, and the NaNs on each side.

use ckview::format::{Bundle, TensorEntry, Verify};
use serde::Serialize;

use crate::json::Float;
use crate::output::{human_bytes, printable_bytes};
use crate::values::{kind, Element, Kind};
use crate::Failure;

/// The element-wise difference of two real-valued tensors of one shape (dtypes may differ).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ValueDiff {
    /// max |b - a| over the elements where neither is NaN.
    pub max_abs_diff: Float,
    /// max |b - a| / |a| over those elements; `inf` where a is 0 and b is not.
    pub max_rel_diff: Float,
    /// Elements whose values differ (a NaN on either side counts as differing).
    pub differing: u64,
    pub nan_a: u64,
    pub nan_b: u64,
}

/// Reads both tensors (checksums verified) and compares them; `None` when they cannot be
/// compared element by element (shapes differ, or strings, complex numbers, variants).
pub fn value_diff(
    a: (&Bundle, &[u8], &TensorEntry),
    b: (&Bundle, &[u8], &TensorEntry),
) -> Result<Option<ValueDiff>, Failure> {
    value_diff_of(a.2, b.2, || read(a), || read(b))
}

/// As [`value_diff`], with the values of each side (host order) from `read_a` and `read_b`,
/// called only when the two can be compared.
pub fn value_diff_of(
    entry_a: &TensorEntry,
    entry_b: &TensorEntry,
    read_a: impl FnOnce() -> Result<Vec<u8>, Failure>,
    read_b: impl FnOnce() -> Result<Vec<u8>, Failure>,
) -> Result<Option<ValueDiff>, Failure> {
    let (Some(kind_a), Some(kind_b)) = (real_kind(entry_a), real_kind(entry_b)) else {
        return Ok(None);
    };
    if entry_a.shape != entry_b.shape {
        return Ok(None);
    }
    let (bytes_a, bytes_b) = (read_a()?, read_b()?);
    let values_a = bytes_a.chunks_exact(kind_a.width()).map(|chunk| real(kind_a.decode(chunk)));
    let values_b = bytes_b.chunks_exact(kind_b.width()).map(|chunk| real(kind_b.decode(chunk)));
    Ok(Some(compare(values_a.zip(values_b))))
}

/// The statistics of pairs (a, b).
pub fn compare(pairs: impl Iterator<Item = (f64, f64)>) -> ValueDiff {
    let (mut max_abs, mut max_rel) = (0f64, 0f64);
    let (mut differing, mut nan_a, mut nan_b) = (0, 0, 0);
    for (a, b) in pairs {
        nan_a += u64::from(a.is_nan());
        nan_b += u64::from(b.is_nan());
        if a.is_nan() || b.is_nan() {
            differing += 1;
            continue;
        }
        if a == b {
            continue; // also equal infinities, whose difference would be NaN
        }
        differing += 1;
        let abs = (b - a).abs();
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(if a == 0.0 { f64::INFINITY } else { abs / a.abs() });
    }
    ValueDiff {
        max_abs_diff: Float::Double(max_abs),
        max_rel_diff: Float::Double(max_rel),
        differing,
        nan_a,
        nan_b,
    }
}

fn real_kind(entry: &TensorEntry) -> Option<Kind> {
    kind(entry.dtype).filter(|kind| !matches!(kind, Kind::Complex64 | Kind::Complex128))
}

fn real(element: Element) -> f64 {
    match element {
        Element::Float(value, _) => value,
        Element::Int(value) => value as f64,
        Element::Bool(value) => f64::from(u8::from(value)),
        Element::Complex(re, ..) => re, // not reached: complex tensors are not compared
    }
}

fn read((bundle, key, entry): (&Bundle, &[u8], &TensorEntry)) -> Result<Vec<u8>, Failure> {
    let size = bundle.value_size(key, entry)?;
    let too_large = || Failure::Error(format!("cannot allocate {} to read {}", human_bytes(size), printable_bytes(key)));
    let size = usize::try_from(size).map_err(|_| too_large())?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| too_large())?;
    bytes.resize(size, 0);
    bundle.read_value(key, entry, &mut bytes, Verify::Checksums)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_differences_and_nans() {
        let diff = compare([(1.0, 1.5), (4.0, 3.0), (0.0, 0.0), (f64::NAN, 2.0), (f64::INFINITY, f64::INFINITY)].into_iter());
        assert_eq!((diff.differing, diff.nan_a, diff.nan_b), (3, 1, 0));
        assert!(matches!(diff.max_abs_diff, Float::Double(value) if value == 1.0));
        assert!(matches!(diff.max_rel_diff, Float::Double(value) if value == 0.5));
        let from_zero = compare([(0.0, 1e-9)].into_iter());
        assert!(matches!(from_zero.max_rel_diff, Float::Double(value) if value.is_infinite()));
    }
}
