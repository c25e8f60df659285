//! The caller's live object graph, discovered on demand.
//!
//! ckview never sees the caller's objects: it sees opaque 64-bit handles the caller chose
//! (handle equality is object identity) and asks for one object's named children at a time.
//! Each object is asked at most once; its answer is kept with Python dict semantics (a name
//! reported twice keeps its first place and its last child), as `TrackableView.children` returns.

use std::collections::HashMap;
use std::convert::Infallible;

/// A source of live objects' children.
pub trait LiveGraph {
    /// What a failed enumeration reports; it reaches the caller of match/diff unchanged.
    type Error;

    /// Reports every named child of `object` through `sink.add`, in the object's own order.
    fn children(&mut self, object: u64, sink: &mut ChildSink<'_>) -> Result<(), Self::Error>;
}

/// Receives the children of one live object during [`LiveGraph::children`].
pub struct ChildSink<'c> {
    cache: &'c mut LiveCache,
    object: u32,
}

impl ChildSink<'_> {
    /// Adds the child `child` under `name` (any bytes; checkpoint names are UTF-8).
    pub fn add(&mut self, name: &[u8], child: u64) {
        let cache = &mut *self.cache;
        cache.key.clear();
        cache.key.extend_from_slice(&self.object.to_le_bytes());
        cache.key.extend_from_slice(name);
        if let Some(&entry) = cache.by_name.get(cache.key.as_slice()) {
            cache.entries[entry as usize] = child;
            return;
        }
        cache.by_name.insert(cache.key.as_slice().into(), cache.entries.len() as u32);
        cache.entries.push(child);
        cache.ranges[self.object as usize].1 += 1;
    }
}

/// Every live object asked so far, with its children.
#[derive(Default)]
pub(crate) struct LiveCache {
    index_of: HashMap<u64, u32>,
    /// Per object index: its children are `entries[start..start + count]`.
    ranges: Vec<(usize, usize)>,
    entries: Vec<u64>,
    /// Object index (4 little-endian bytes) followed by a child's name -> its entry.
    by_name: HashMap<Box<[u8]>, u32>,
    /// Reused to build lookup keys without allocating.
    key: Vec<u8>,
}

impl LiveCache {
    /// The index of `object`, asking `live` for its children the first time only.
    pub(crate) fn fetch<G: LiveGraph>(&mut self, object: u64, live: &mut G) -> Result<u32, G::Error> {
        if let Some(&index) = self.index_of.get(&object) {
            return Ok(index);
        }
        let index = self.ranges.len() as u32;
        self.index_of.insert(object, index);
        self.ranges.push((self.entries.len(), 0));
        // Children of other objects are never interleaved: one object is asked at a time.
        live.children(object, &mut ChildSink { cache: self, object: index })?;
        Ok(index)
    }

    /// The children of a fetched object, in dict order.
    pub(crate) fn children(&self, index: u32) -> &[u64] {
        let (start, count) = self.ranges[index as usize];
        &self.entries[start..start + count]
    }

    /// The child a fetched object has under `name`.
    pub(crate) fn lookup(&mut self, index: u32, name: &[u8]) -> Option<u64> {
        self.key.clear();
        self.key.extend_from_slice(&index.to_le_bytes());
        self.key.extend_from_slice(name);
        self.by_name.get(self.key.as_slice()).map(|&entry| self.entries[entry as usize])
    }
}

/// A live graph given up front as (parent, name, child) edges, for callers that cannot pass a
/// callback. An object's children are its edges in the order given.
pub struct EdgeList<'e> {
    children: HashMap<u64, Vec<(&'e [u8], u64)>>,
}

impl<'e> EdgeList<'e> {
    /// Groups the edges by parent, keeping their order.
    pub fn new(edges: impl IntoIterator<Item = (u64, &'e [u8], u64)>) -> Self {
        let mut children: HashMap<u64, Vec<(&'e [u8], u64)>> = HashMap::new();
        for (parent, name, child) in edges {
            children.entry(parent).or_default().push((name, child));
        }
        EdgeList { children }
    }
}

impl LiveGraph for EdgeList<'_> {
    type Error = Infallible;

    fn children(&mut self, object: u64, sink: &mut ChildSink<'_>) -> Result<(), Infallible> {
        for &(name, child) in self.children.get(&object).map(Vec::as_slice).unwrap_or_default() {
            sink.add(name, child);
        }
        Ok(())
    }
}
