//! The slices of a partitioned tensor: the box each fills, and whether they tile the tensor
//! exactly once. Shared by the V2 bundle and the V1 reader.

use super::entry::SliceExtent;

/// (start, length) per dimension, with "the whole dimension" resolved.
pub(crate) fn slice_box(extents: &[SliceExtent], shape: &[u64]) -> Vec<(u64, u64)> {
    extents.iter().zip(shape).map(|(extent, &dim)| (extent.start, extent.length.unwrap_or(dim))).collect()
}

/// Comparisons of one dimension of two boxes that `disjoint` may spend before giving up.
const OVERLAP_CHECK_BUDGET: u64 = 20_000_000;

/// Whether no two boxes overlap; `None` when finding out would cost more than the budget.
///
/// A sweep along the dimension with the most distinct starts: boxes are taken in order of their
/// start there, and each is compared only with the earlier boxes still open at that start. For
/// the usual partitions (slices along one or two dimensions) that is n log n.
fn disjoint(boxes: &[Vec<(u64, u64)>]) -> Option<bool> {
    let Some(rank) = boxes.first().map(Vec::len).filter(|&rank| rank > 0) else {
        return Some(boxes.len() <= 1);
    };
    let sweep = (0..rank)
        .max_by_key(|&dim| {
            let mut starts: Vec<u64> = boxes.iter().map(|b| b[dim].0).collect();
            starts.sort_unstable();
            starts.dedup();
            starts.len()
        })
        .expect("rank > 0");
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_unstable_by_key(|&index| boxes[index][sweep].0);
    let mut open: Vec<usize> = Vec::new();
    let mut spent = 0u64;
    for &index in &order {
        let (start, _) = boxes[index][sweep];
        open.retain(|&other| boxes[other][sweep].0 + boxes[other][sweep].1 > start);
        for &other in &open {
            let (a, b) = (&boxes[index], &boxes[other]);
            let mut separated = false;
            for dim in 0..rank {
                spent += 1;
                let ((start_a, len_a), (start_b, len_b)) = (a[dim], b[dim]);
                if start_a + len_a <= start_b || start_b + len_b <= start_a {
                    separated = true;
                    break;
                }
            }
            if !separated {
                return Some(false);
            }
            if spent > OVERLAP_CHECK_BUDGET {
                return None;
            }
        }
        open.push(index);
    }
    Some(true)
}

/// Why slices with these boxes do not tile a tensor of `elements` elements exactly once, or
/// `None` when they do.
pub(crate) fn tiling_fault(boxes: &[Vec<(u64, u64)>], elements: u64) -> Option<&'static str> {
    // Each box lies within the tensor, so its volume fits; thousands of them may not.
    let volume: u128 = boxes.iter().map(|b| b.iter().map(|&(_, length)| u128::from(length)).product::<u128>()).sum();
    if volume != u128::from(elements) {
        return Some("its slices do not cover the tensor exactly once");
    }
    match disjoint(boxes) {
        Some(true) => None,
        Some(false) => Some("its slices overlap"),
        None => Some("its slices are too many and too entangled to check"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_detected() {
        assert_eq!(disjoint(&[vec![(0, 2), (0, 4)], vec![(2, 1), (0, 4)]]), Some(true));
        assert_eq!(disjoint(&[vec![(0, 2), (0, 4)], vec![(1, 1), (3, 1)]]), Some(false));
        // Separated only in the last dimension: the sweep picks it and stays linear.
        let count = if cfg!(miri) { 64 } else { 4096 };
        let many: Vec<Vec<(u64, u64)>> = (0..count).map(|i| { let mut b = vec![(0, 1); 253]; b.push((i, 1)); b }).collect();
        assert_eq!(disjoint(&many), Some(true));
    }

    #[test]
    fn boxes_without_dimensions_overlap() {
        assert_eq!(disjoint(&[vec![], vec![]]), Some(false));
    }
}
