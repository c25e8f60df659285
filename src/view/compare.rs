//! `CheckpointView.match` and `.diff` against a live object graph, with TensorFlow 2.21's
//! results and order, in time linear in nodes + edges (TensorFlow's `diff` rebuilds an identity
//! set per live object and is quadratic).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;

use super::live::{ChildSink, LiveCache, LiveGraph};
use super::CheckpointView;
use crate::graph::ObjectGraph;

/// A checkpoint node and the live object it restores into.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedPair {
    pub node_id: u32,
    pub object: u64,
}

/// One checkpoint node reached as two different live objects. TensorFlow only logs
/// "Inconsistent references when matching the checkpoint" and keeps the first.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub node_id: u32,
    /// The object the node was matched to first (and stays matched to).
    pub matched_object: u64,
    /// The other object reached later under the same node.
    pub other_object: u64,
}

/// The result of match or diff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// `match()`'s dict items in insertion order; the first pair is always (0, root).
    pub matched: Vec<MatchedPair>,
    /// `diff()[1]`: nodes reachable in the checkpoint but not matched, in `descendants()` order.
    /// Empty for `match`.
    pub only_in_checkpoint: Vec<u32>,
    /// `diff()[2]`: live objects, breadth first from the root, each once, that no node matched.
    /// Empty for `match`.
    pub only_in_live: Vec<u64>,
    /// Every inconsistent reference met while matching, in the order met.
    pub conflicts: Vec<Conflict>,
}

impl CheckpointView {
    /// `CheckpointView.match(root)`: which checkpoint node restores into which live object.
    pub fn match_live<G: LiveGraph>(&self, root: u64, live: &mut G) -> Result<Comparison, G::Error> {
        Ok(Matcher::run(self.graph(), root, live)?.comparison)
    }

    /// `CheckpointView.diff(root)`: the match, plus what only the checkpoint and only the live
    /// graph have.
    pub fn diff_live<G: LiveGraph>(&self, root: u64, live: &mut G) -> Result<Comparison, G::Error> {
        let Matcher { mut comparison, assigned, mut cache } = Matcher::run(self.graph(), root, live)?;
        comparison.only_in_checkpoint =
            self.descendants().iter().copied().filter(|&node| assigned[node as usize].is_none()).collect();
        let matched: HashSet<u64> = comparison.matched.iter().map(|pair| pair.object).collect();
        let mut seen = HashSet::from([root]);
        let mut order = vec![root];
        let mut next = 0;
        while let Some(&object) = order.get(next) {
            next += 1;
            let index = cache.fetch(object, live)?;
            for &child in cache.children(index) {
                if seen.insert(child) {
                    order.push(child);
                }
            }
        }
        comparison.only_in_live = order.into_iter().filter(|object| !matched.contains(object)).collect();
        Ok(comparison)
    }

    /// Diffs this checkpoint's structure against another's: `other`'s nodes play the live
    /// objects (handles are its node ids, children its `children()`), so a node matches when it
    /// has the same name at the same position.
    pub fn diff_checkpoint(&self, other: &CheckpointView) -> Comparison {
        match self.diff_live(0, &mut GraphAsLive(other.graph())) {
            Ok(comparison) => comparison,
            Err(never) => match never {},
        }
    }
}

/// Another checkpoint's graph seen as a live graph.
struct GraphAsLive<'g>(&'g ObjectGraph);

impl LiveGraph for GraphAsLive<'_> {
    type Error = Infallible;

    fn children(&mut self, object: u64, sink: &mut ChildSink<'_>) -> Result<(), Infallible> {
        let children = self.0.children(object as u32).expect("handles are node ids of this graph");
        for (name, node_id) in children.iter() {
            sink.add(name.as_bytes(), node_id.into());
        }
        Ok(())
    }
}

/// The state of TensorFlow's matching walk.
struct Matcher {
    comparison: Comparison,
    /// The live object each node is matched to.
    assigned: Vec<Option<u64>>,
    cache: LiveCache,
}

impl Matcher {
    /// Breadth first over (node, object) pairs from (0, root). A checkpoint child that points at
    /// node 0 or at a node already expanded is skipped; an unmatched node takes the object found
    /// under the same name; a matched node reached as another object is a conflict.
    fn run<G: LiveGraph>(graph: &ObjectGraph, root: u64, live: &mut G) -> Result<Matcher, G::Error> {
        let mut matcher = Matcher { comparison: Comparison::default(), assigned: vec![None; graph.num_nodes()], cache: LiveCache::default() };
        matcher.assigned[0] = Some(root);
        matcher.comparison.matched.push(MatchedPair { node_id: 0, object: root });
        let mut expanded = vec![false; graph.num_nodes()];
        let mut queue = VecDeque::from([(0u32, root)]);
        while let Some((node_id, object)) = queue.pop_front() {
            // TensorFlow lists every matched object's children, even where the node has none to
            // match: a callback that fails there must fail the match here too.
            let index = matcher.cache.fetch(object, live)?;
            for (name, child_id) in graph.children(node_id).expect("queued ids are valid node ids") {
                if child_id == 0 || expanded[child_id as usize] {
                    continue;
                }
                let Some(child) = matcher.cache.lookup(index, name.as_bytes()) else {
                    continue;
                };
                match matcher.assigned[child_id as usize] {
                    None => {
                        matcher.assigned[child_id as usize] = Some(child);
                        matcher.comparison.matched.push(MatchedPair { node_id: child_id, object: child });
                        queue.push_back((child_id, child));
                    }
                    Some(first) if first != child => matcher.comparison.conflicts.push(Conflict {
                        node_id: child_id,
                        matched_object: first,
                        other_object: child,
                    }),
                    Some(_) => {}
                }
            }
            expanded[node_id as usize] = true;
        }
        Ok(matcher)
    }
}
