//! Records decoded in two parts at once (the halves of a large graph), indexed as one array
//! without being copied together: copying the back part behind the front one cost a few
//! megabytes of copying and of fresh pages at every open of a 300k-node graph.

use std::ops::{Index, Range};

/// The front part's records, then the back part's; index `front.len()` is the back's first.
#[derive(Debug)]
pub(super) struct Parts<T> {
    front: Vec<T>,
    back: Vec<T>,
}

impl<T> Parts<T> {
    pub fn new(front: Vec<T>, back: Vec<T>) -> Self {
        Parts { front, back }
    }

    pub fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    /// The front part and the back part.
    pub fn parts(&self) -> (&[T], &[T]) {
        (&self.front, &self.back)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.front.iter().chain(&self.back)
    }
}

impl<T> Default for Parts<T> {
    fn default() -> Self {
        Parts::new(Vec::new(), Vec::new())
    }
}

impl<T> Index<usize> for Parts<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        match index.checked_sub(self.front.len()) {
            None => &self.front[index],
            Some(at) => &self.back[at],
        }
    }
}

/// A range inside one part, as the records of one node always are.
impl<T> Index<Range<usize>> for Parts<T> {
    type Output = [T];

    fn index(&self, range: Range<usize>) -> &[T] {
        let split = self.front.len();
        if range.end <= split {
            &self.front[range]
        } else {
            assert!(range.start >= split, "records {range:?} straddle the two parts at {split}");
            &self.back[range.start - split..range.end - split]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_parts_index_as_one_array() {
        let parts = Parts::new(vec![0, 1, 2], vec![3, 4]);
        assert_eq!(parts.len(), 5);
        assert_eq!((0..5).map(|index| parts[index]).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(parts.iter().copied().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(&parts[1..3], &[1, 2]);
        assert_eq!(&parts[3..5], &[3, 4]);
        assert_eq!(&parts[3..3], &[] as &[i32]);
        assert!(std::panic::catch_unwind(|| parts[2..4].len()).is_err());
    }
}
