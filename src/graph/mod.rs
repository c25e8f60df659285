//! The object graph of a TF2 checkpoint, with `tf.train.CheckpointView`'s answers:
//! `children`, `descendants` and the dotted paths of `_descendants_with_paths`.
//!
//! The graph is decoded in place (`decode`): names stay in the serialized bytes, which the graph
//! owns. Everything TensorFlow computes per call is computed once here, at load, into flat
//! arrays indexed by node id, so that every query afterwards is a slice lookup. A large graph is
//! decoded, checked and indexed on two cores (`crate::threads`).

mod decode;
mod error;
mod lookup;
mod parts;

use std::collections::HashMap;
use std::ops::Range;

use crate::format::{Bundle, DataType};
use decode::{Decoded, Span};

pub use error::{GraphError, Result};

/// The bundle key under which tf.train.Checkpoint stores the serialized graph.
pub const OBJECT_GRAPH_KEY: &[u8] = b"_CHECKPOINTABLE_OBJECT_GRAPH";

/// Marks "no parent" in [`ObjectGraph::parents`]: the root and unreachable nodes.
const NO_PARENT: u32 = u32::MAX;

/// A serialized tensor of a node (`SerializedTensor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute<'g> {
    /// The attribute name, e.g. `VARIABLE_VALUE`.
    pub name: &'g str,
    /// The name of the object it was saved from.
    pub full_name: &'g str,
    /// Its key in the bundle.
    pub checkpoint_key: &'g str,
}

/// An optimizer slot variable recorded on an optimizer node (`SlotVariableReference`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotVariable<'g> {
    pub original_variable_node_id: u32,
    pub slot_name: &'g str,
    pub slot_variable_node_id: u32,
}

/// A saver registered for a node (`RegisteredSaver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saver<'g> {
    pub name: &'g str,
    pub object_name: &'g str,
}

/// One optimizer slot of a variable: which optimizer node recorded it, and the slot.
#[derive(Clone, Copy, Debug)]
pub struct VariableSlot<'g> {
    pub optimizer_node_id: u32,
    pub slot: SlotVariable<'g>,
}

/// A decoded, checked object graph. Immutable once built, so it may be shared between threads.
#[derive(Debug)]
pub struct ObjectGraph {
    /// The serialized graph at `bytes[start..]`, in memory the graph owns: names are borrowed
    /// from here, and a file rewritten under an open view cannot change them. It is the buffer
    /// the string tensor was read into, kept whole: moving tens of megabytes down by the few
    /// bytes of the tensor's length prefix would cost a copy at every open.
    bytes: Vec<u8>,
    start: usize,
    decoded: Decoded,
    /// `children(n)` is `child_slots[child_start[n]..child_start[n + 1]]`: (reference index,
    /// child node id) in dict order.
    child_start: Vec<u32>,
    child_slots: Vec<(u32, u32)>,
    /// Node ids in `descendants()` order: breadth first from node 0, each node once.
    descendants: Vec<u32>,
    /// For each node, the reference through which the breadth-first walk first reached it (the
    /// last step of its path) and the node holding it.
    parents: Vec<(u32, u32)>,
    /// Slot variables by the variable they belong to: `variable_slots[variable_slot_start[v]..
    /// variable_slot_start[v + 1]]` are (optimizer node, index into the slot records).
    variable_slot_start: Vec<u32>,
    variable_slots: Vec<(u32, u32)>,
}

impl ObjectGraph {
    /// Reads and checks the graph stored in `bundle`, copying its bytes into memory it owns.
    pub fn load(bundle: &Bundle) -> Result<ObjectGraph> {
        let prefix = bundle.prefix();
        let corrupt = |reason: String| GraphError::CorruptObjectGraph { prefix: prefix.to_path_buf(), reason };
        let entry = bundle
            .entry(OBJECT_GRAPH_KEY)?
            .ok_or_else(|| GraphError::NameBasedCheckpoint { prefix: prefix.to_path_buf() })?;
        if entry.dtype != DataType::DtString || !entry.shape.is_empty() || !entry.slices.is_empty() {
            return Err(corrupt(format!("its entry is not a stored string scalar (dtype {}, shape {:?}, {} slices)", entry.dtype_label(), entry.shape, entry.slices.len())));
        }
        let (mut bytes, ranges) = bundle.read_strings(OBJECT_GRAPH_KEY, &entry)?.into_buffer();
        // A scalar has exactly one element (checked by the string decoder against the shape).
        let (start, end) = ranges.first().copied().unwrap_or((0, 0));
        bytes.truncate(end);
        ObjectGraph::build(bytes, start).map_err(corrupt)
    }

    /// Decodes a serialized `TrackableObjectGraph` and checks every node id in it.
    pub fn decode(serialized: &[u8]) -> std::result::Result<ObjectGraph, String> {
        ObjectGraph::build(serialized.to_vec(), 0)
    }

    /// The graph serialized in `bytes[start..]`.
    fn build(bytes: Vec<u8>, start: usize) -> std::result::Result<ObjectGraph, String> {
        let serialized = bytes.get(start..).ok_or("its string element lies outside the stored bytes")?;
        let decoded = decode::decode(serialized).map_err(|reason| format!("undecodable: {reason}"))?;
        check_node_ids(&decoded, CHECK_SPLIT_FROM_NODES)?;
        let mut graph = ObjectGraph {
            bytes,
            start,
            decoded,
            child_start: Vec::new(),
            child_slots: Vec::new(),
            descendants: Vec::new(),
            parents: Vec::new(),
            variable_slot_start: Vec::new(),
            variable_slots: Vec::new(),
        };
        // Three passes over the decoded graph, none reading what another makes: two cores share them.
        let (children, (walk, slots)) = crate::threads::join(|| graph.dictionary_children(), || (graph.breadth_first(), graph.slots_by_variable()));
        (graph.child_start, graph.child_slots) = children;
        (graph.descendants, graph.parents) = walk;
        (graph.variable_slot_start, graph.variable_slots) = slots;
        Ok(graph)
    }

    fn text(&self, span: Span) -> &str {
        let at = self.start + span.start as usize;
        let piece = &self.bytes[at..at + span.len as usize];
        // SAFETY: `decode` checked that every span it recorded is UTF-8, and the graph owns the
        // bytes, which nothing changes after that.
        unsafe { std::str::from_utf8_unchecked(piece) }
    }

    /// Number of nodes; ids run from 0 (the root) to `num_nodes() - 1`.
    pub fn num_nodes(&self) -> usize {
        self.decoded.num_nodes()
    }

    /// The node id as an index, or the error for one past the last node.
    fn node(&self, node_id: u32) -> Result<usize> {
        let node = node_id as usize;
        if node < self.num_nodes() {
            Ok(node)
        } else {
            Err(GraphError::NodeOutOfRange { node_id: node_id.into(), num_nodes: self.num_nodes() })
        }
    }

    /// `CheckpointView.children(node_id)`: the node's (name, child id) pairs in the order of the
    /// dict TensorFlow builds from its references. A name given twice keeps the place of its
    /// first reference and the node id of its last, as a Python dict does.
    pub fn children(&self, node_id: u32) -> Result<Records<'_, (&str, u32)>> {
        self.node(node_id)?;
        let range = self.child_start[node_id as usize] as usize..self.child_start[node_id as usize + 1] as usize;
        Ok(Records::new(self, range, |graph, index| {
            let (reference, child) = graph.child_slots[index];
            (graph.text(graph.decoded.references[reference as usize].name), child)
        }))
    }

    /// `CheckpointView.descendants()`: node 0, then every node reachable from it, breadth first
    /// in reference order, each once.
    pub fn descendants(&self) -> &[u32] {
        &self.descendants
    }

    /// The dotted path TensorFlow's `_descendants_with_paths` gives a node (`root`,
    /// `root.leaf.a_var`, `root.vars.0`); `None` for a node not reachable from the root.
    pub fn path(&self, node_id: u32) -> Result<Option<String>> {
        self.node(node_id)?;
        let mut steps = Vec::new();
        let mut current = node_id;
        while current != 0 {
            let Some((parent, name)) = self.parent(current)? else {
                return Ok(None);
            };
            steps.push(name);
            current = parent;
        }
        let mut path = String::with_capacity(4 + steps.iter().map(|step| step.len() + 1).sum::<usize>());
        path.push_str("root");
        for step in steps.iter().rev() {
            path.push('.');
            path.push_str(step);
        }
        Ok(Some(path))
    }

    /// The edge through which TensorFlow's breadth-first walk first reaches a node: the parent
    /// and the child's local name there, the last step of its [`ObjectGraph::path`]. `None` for
    /// the root and for nodes not reachable from it.
    pub fn parent(&self, node_id: u32) -> Result<Option<(u32, &str)>> {
        self.node(node_id)?;
        let (parent, reference) = self.parents[node_id as usize];
        Ok((parent != NO_PARENT).then(|| (parent, self.text(self.decoded.references[reference as usize].name))))
    }

    /// The node's serialized tensors (`VARIABLE_VALUE`, ...) with their bundle keys.
    pub fn attributes(&self, node_id: u32) -> Result<Records<'_, Attribute<'_>>> {
        let range = self.decoded.attributes_of(self.node(node_id)?);
        Ok(Records::new(self, range, |graph, index| {
            let record = graph.decoded.attributes[index];
            Attribute {
                name: graph.text(record.name),
                full_name: graph.text(record.full_name),
                checkpoint_key: graph.text(record.checkpoint_key),
            }
        }))
    }

    /// The optimizer slot variables recorded on this node (legacy Keras optimizers record them on
    /// the optimizer's node).
    pub fn slot_variables(&self, node_id: u32) -> Result<Records<'_, SlotVariable<'_>>> {
        let range = self.decoded.slots_of(self.node(node_id)?);
        Ok(Records::new(self, range, ObjectGraph::slot_variable))
    }

    fn slot_variable(&self, index: usize) -> SlotVariable<'_> {
        let record = self.decoded.slots[index];
        SlotVariable {
            original_variable_node_id: record.original_variable_node_id as u32,
            slot_name: self.text(record.slot_name),
            slot_variable_node_id: record.slot_variable_node_id as u32,
        }
    }

    /// The optimizer slots of a variable node, from every optimizer that recorded one for it
    /// (in node order, then slot order): what a program needs to restore optimizer state.
    pub fn variable_slots(&self, node_id: u32) -> Result<Records<'_, VariableSlot<'_>>> {
        self.node(node_id)?;
        let range = self.variable_slot_start[node_id as usize] as usize..self.variable_slot_start[node_id as usize + 1] as usize;
        Ok(Records::new(self, range, |graph, index| {
            let (optimizer, slot) = graph.variable_slots[index];
            VariableSlot { optimizer_node_id: optimizer, slot: graph.slot_variable(slot as usize) }
        }))
    }

    /// The saver registered for this node, if any.
    pub fn registered_saver(&self, node_id: u32) -> Result<Option<Saver<'_>>> {
        Ok(self.decoded.saver(self.node(node_id)?).map(|(name, object_name)| Saver { name: self.text(name), object_name: self.text(object_name) }))
    }

    /// The node's `has_checkpoint_values` flag; `None` when the writer left it unset.
    pub fn has_checkpoint_values(&self, node_id: u32) -> Result<Option<bool>> {
        Ok(self.decoded.has_checkpoint_values(self.node(node_id)?))
    }

    /// The raw references of a node, duplicates and all, in stored order.
    fn references(&self, node: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.decoded.references_of(node).map(move |index| (index as u32, self.decoded.references[index].node_id as u32))
    }

    /// Flattens every node's references into dict order (first place, last value per name).
    fn dictionary_children(&self) -> (Vec<u32>, Vec<(u32, u32)>) {
        let mut child_start = Vec::with_capacity(self.num_nodes() + 1);
        let mut slots: Vec<(u32, u32)> = Vec::with_capacity(self.decoded.references.len());
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for node in 0..self.num_nodes() {
            child_start.push(slots.len() as u32);
            let first = slots.len();
            let count = self.decoded.references_of(node).len();
            for (reference, child) in self.references(node) {
                let name = self.text(self.decoded.references[reference as usize].name);
                // Small nodes compare names directly; a hash map pays off for wide ones.
                let existing = if count <= 16 {
                    slots[first..].iter().position(|&(other, _)| self.text(self.decoded.references[other as usize].name) == name).map(|at| first + at)
                } else {
                    seen.get(name).copied()
                };
                match existing {
                    Some(index) => slots[index].1 = child,
                    None => {
                        if count > 16 {
                            seen.insert(name, slots.len());
                        }
                        slots.push((reference, child));
                    }
                }
            }
            seen.clear();
        }
        child_start.push(slots.len() as u32);
        (child_start, slots)
    }

    /// TensorFlow's breadth-first walk from node 0 over every reference in order, recording the
    /// order of first visits and, for each node, the reference that first reached it.
    fn breadth_first(&self) -> (Vec<u32>, Vec<(u32, u32)>) {
        let mut parents = vec![(NO_PARENT, 0u32); self.num_nodes()];
        let mut visited = vec![false; self.num_nodes()];
        let mut order = vec![0u32];
        visited[0] = true;
        let mut next = 0usize;
        // `order` doubles as the queue: nodes are dequeued in the order they were first seen.
        while let Some(&node_id) = order.get(next) {
            next += 1;
            for (reference, child) in self.references(node_id as usize) {
                if !visited[child as usize] {
                    visited[child as usize] = true;
                    parents[child as usize] = (node_id, reference);
                    order.push(child);
                }
            }
        }
        (order, parents)
    }

    /// Groups every node's slot variable records by the variable they belong to.
    fn slots_by_variable(&self) -> (Vec<u32>, Vec<(u32, u32)>) {
        let mut start = vec![0u32; self.num_nodes() + 1];
        for slot in self.decoded.slots.iter() {
            start[slot.original_variable_node_id as usize + 1] += 1;
        }
        for index in 1..start.len() {
            start[index] += start[index - 1];
        }
        let mut next = start.clone();
        let mut slots = vec![(0u32, 0u32); self.decoded.slots.len()];
        for optimizer in 0..self.num_nodes() {
            for index in self.decoded.slots_of(optimizer) {
                let variable = self.decoded.slots[index].original_variable_node_id as usize;
                slots[next[variable] as usize] = (optimizer as u32, index as u32);
                next[variable] += 1;
            }
        }
        (start, slots)
    }
}

/// Graphs of this many nodes or more have their node ids checked in two halves at once.
const CHECK_SPLIT_FROM_NODES: usize = 1 << 16;

/// Every node id in a reference or slot must name a node: TensorFlow walks dangling ids into
/// IndexError and reads -1 as "the last node"; we refuse such a graph. When one does not, the
/// two halves of a large graph are searched at once for it; the front's error first, the one a
/// check from node 0 meets first.
fn check_node_ids(decoded: &Decoded, split_from: usize) -> std::result::Result<(), String> {
    let count = decoded.num_nodes();
    if count == 0 {
        return Err("it has no nodes, not even the root".into());
    }
    if u32::try_from(count).is_err() {
        return Err("too many nodes".into());
    }
    // Kept while decoding: the check below runs only to name the first id out of range.
    if (decoded.largest_node_id() as usize) < count {
        return Ok(());
    }
    if count < split_from {
        return check_node_ids_of(decoded, 0..count);
    }
    let (front, back) = crate::threads::join(|| check_node_ids_of(decoded, 0..count / 2), || check_node_ids_of(decoded, count / 2..count));
    front.and(back)
}

fn check_node_ids_of(decoded: &Decoded, owners: Range<usize>) -> std::result::Result<(), String> {
    let count = decoded.num_nodes();
    let valid = |id: i32| usize::try_from(id).is_ok_and(|id| id < count);
    for owner in owners {
        for reference in &decoded.references[decoded.references_of(owner)] {
            if !valid(reference.node_id) {
                return Err(format!("node {owner} has a child with node id {}, but there are {count} nodes", reference.node_id));
            }
        }
        for slot in &decoded.slots[decoded.slots_of(owner)] {
            for id in [slot.original_variable_node_id, slot.slot_variable_node_id] {
                if !valid(id) {
                    return Err(format!("node {owner} has a slot variable naming node id {id}, but there are {count} nodes"));
                }
            }
        }
    }
    Ok(())
}

/// A list of records of one node (children, attributes, slots): an iterator that also has O(1)
/// access by index (relative to what it has not yielded yet).
pub struct Records<'g, T> {
    graph: &'g ObjectGraph,
    range: Range<usize>,
    make: fn(&'g ObjectGraph, usize) -> T,
}

impl<'g, T> Records<'g, T> {
    fn new(graph: &'g ObjectGraph, range: Range<usize>, make: fn(&'g ObjectGraph, usize) -> T) -> Self {
        Records { graph, range, make }
    }

    /// Whether there are none (left).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The `index`-th record.
    pub fn get(&self, index: usize) -> Option<T> {
        (index < self.range.len()).then(|| (self.make)(self.graph, self.range.start + index))
    }

    /// The records from the first, without consuming this list.
    pub fn iter(&self) -> Records<'g, T> {
        self.clone()
    }
}

impl<T> Clone for Records<'_, T> {
    fn clone(&self) -> Self {
        Records { graph: self.graph, range: self.range.clone(), make: self.make }
    }
}

impl<T> Iterator for Records<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.range.next().map(|index| (self.make)(self.graph, index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<T> {
        self.range.nth(n).map(|index| (self.make)(self.graph, index))
    }
}

impl<T> DoubleEndedIterator for Records<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        self.range.next_back().map(|index| (self.make)(self.graph, index))
    }
}

impl<T> ExactSizeIterator for Records<'_, T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for Records<'_, T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(self.clone()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SerializedTensor, SlotVariableReference};
    use crate::format::proto::trackable_object_graph::TrackableObject;
    use crate::format::proto::{RegisteredSaver, TrackableObjectGraph};
    use prost::Message;

    /// Every query over a small graph with a repeated name, a cycle, a slot and a saver: the
    /// strings handed out come from spans of the serialized bytes.
    #[test]
    fn queries_read_names_from_the_serialized_bytes() {
        let reference = |node_id, name: &str| ObjectReference { node_id, local_name: name.into() };
        let proto = TrackableObjectGraph {
            nodes: vec![
                TrackableObject {
                    children: vec![reference(1, "été"), reference(2, "opt"), reference(3, "dup"), reference(1, "dup"), reference(0, "root")],
                    ..Default::default()
                },
                TrackableObject {
                    attributes: vec![SerializedTensor { name: "VARIABLE_VALUE".into(), full_name: "v".into(), checkpoint_key: "été/.ATTRIBUTES/VARIABLE_VALUE".into() }],
                    ..Default::default()
                },
                TrackableObject {
                    slot_variables: vec![SlotVariableReference { original_variable_node_id: 1, slot_name: "m".into(), slot_variable_node_id: 3 }],
                    registered_saver: Some(RegisteredSaver { name: "s".into(), object_name: "o".into() }),
                    ..Default::default()
                },
                TrackableObject { has_checkpoint_values: Some(true), ..Default::default() },
            ],
        };
        let graph = ObjectGraph::decode(&proto.encode_to_vec()).unwrap();
        let children: Vec<(&str, u32)> = graph.children(0).unwrap().collect();
        assert_eq!(children, [("été", 1), ("opt", 2), ("dup", 1), ("root", 0)]);
        assert_eq!(graph.descendants(), [0, 1, 2, 3]);
        assert_eq!(graph.path(3).unwrap().as_deref(), Some("root.dup"));
        assert_eq!(graph.parent(1).unwrap(), Some((0, "été")));
        assert_eq!(graph.attributes(1).unwrap().get(0).unwrap().checkpoint_key, "été/.ATTRIBUTES/VARIABLE_VALUE");
        let slot = graph.variable_slots(1).unwrap().get(0).unwrap();
        assert_eq!((slot.optimizer_node_id, slot.slot.slot_name, slot.slot.slot_variable_node_id), (2, "m", 3));
        assert_eq!(graph.registered_saver(2).unwrap(), Some(Saver { name: "s", object_name: "o" }));
        assert_eq!(graph.has_checkpoint_values(3).unwrap(), Some(true));
        assert!(graph.children(4).is_err());
    }

    /// Checked in two halves, a graph reports the dangling id a check from node 0 meets first,
    /// in either half.
    #[test]
    fn the_first_dangling_node_id_is_the_error_in_either_half() {
        let nodes = 40;
        let graph = |bad_child: Option<usize>, bad_slot: Option<usize>| {
            let mut proto = TrackableObjectGraph { nodes: vec![TrackableObject::default(); nodes] };
            if let Some(owner) = bad_child {
                proto.nodes[owner].children.push(ObjectReference { node_id: nodes as i32 + 5, local_name: "gone".into() });
            }
            if let Some(owner) = bad_slot {
                proto.nodes[owner].slot_variables.push(SlotVariableReference { original_variable_node_id: 0, slot_name: "m".into(), slot_variable_node_id: -1 });
            }
            let decoded = decode::decode(&proto.encode_to_vec()).unwrap();
            let (whole, halves) = (check_node_ids(&decoded, usize::MAX), check_node_ids(&decoded, 0));
            assert_eq!(whole, halves);
            halves.err()
        };
        assert_eq!(graph(None, None), None);
        for (bad_child, bad_slot, owner) in [(Some(3), Some(30), 3), (Some(30), Some(3), 3), (None, Some(39), 39), (Some(20), None, 20)] {
            let error = graph(bad_child, bad_slot).expect("a dangling id is an error");
            assert!(error.starts_with(&format!("node {owner} ")), "{error}");
        }
    }
}
