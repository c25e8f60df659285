//! The object graph of a TF2 checkpoint, with `tf.train.CheckpointView`'s answers:
//! `children`, `descendants` and the dotted paths of `_descendants_with_paths`.
//!
//! Everything TensorFlow computes per call is computed once here, at load, into flat arrays
//! indexed by node id, so that every query afterwards is a slice lookup.

mod error;

use std::collections::HashMap;
use prost::Message;

use crate::format::proto::trackable_object_graph::TrackableObject;
use crate::format::proto::{RegisteredSaver, TrackableObjectGraph};
use crate::format::{Bundle, DataType};

pub use crate::format::proto::trackable_object_graph::trackable_object::{
    SerializedTensor as Attribute, SlotVariableReference as SlotVariable,
};
pub use crate::format::proto::RegisteredSaver as Saver;
pub use error::{GraphError, Result};

/// The bundle key under which tf.train.Checkpoint stores the serialized graph.
pub const OBJECT_GRAPH_KEY: &[u8] = b"_CHECKPOINTABLE_OBJECT_GRAPH";

/// Marks "no parent" in [`ObjectGraph::parents`]: the root and unreachable nodes.
const NO_PARENT: u32 = u32::MAX;

/// One entry of `children(node_id)`: which of the node's references names it, and the child.
#[derive(Clone, Copy, Debug)]
struct ChildSlot {
    /// Index into the node's `children` references, for its `local_name`.
    reference: u32,
    node_id: u32,
}

/// A decoded, checked object graph. Immutable once built, so it may be shared between threads.
#[derive(Debug)]
pub struct ObjectGraph {
    nodes: Vec<TrackableObject>,
    /// `children(n)` is `child_slots[child_start[n]..child_start[n + 1]]`.
    child_start: Vec<usize>,
    child_slots: Vec<ChildSlot>,
    /// Node ids in `descendants()` order: breadth first from node 0, each node once.
    descendants: Vec<u32>,
    /// For each node, the (parent, reference index) through which the breadth-first walk first
    /// reached it: the last step of its path.
    parents: Vec<(u32, u32)>,
    /// Slot variables by the variable they belong to: `variable_slots[variable_slot_start[v]..
    /// variable_slot_start[v + 1]]` are (optimizer node, index into its slot_variables).
    variable_slot_start: Vec<usize>,
    variable_slots: Vec<(u32, u32)>,
}

/// One optimizer slot of a variable: which optimizer node recorded it, and the slot.
#[derive(Clone, Copy, Debug)]
pub struct VariableSlot<'g> {
    pub optimizer_node_id: u32,
    pub slot: &'g SlotVariable,
}

impl ObjectGraph {
    /// Reads and checks the graph stored in `bundle`.
    pub fn load(bundle: &Bundle) -> Result<ObjectGraph> {
        let prefix = bundle.prefix();
        let corrupt = |reason: String| GraphError::CorruptObjectGraph { prefix: prefix.to_path_buf(), reason };
        let entry = bundle
            .entry(OBJECT_GRAPH_KEY)?
            .ok_or_else(|| GraphError::NameBasedCheckpoint { prefix: prefix.to_path_buf() })?;
        if entry.dtype != DataType::DtString || !entry.shape.is_empty() {
            return Err(corrupt(format!("its entry is not a string scalar (dtype {:?}, shape {:?})", entry.dtype, entry.shape)));
        }
        let strings = bundle.read_strings(OBJECT_GRAPH_KEY, &entry)?;
        ObjectGraph::decode(strings[0]).map_err(corrupt)
    }

    /// Decodes a serialized `TrackableObjectGraph` and checks every node id in it.
    pub fn decode(serialized: &[u8]) -> std::result::Result<ObjectGraph, String> {
        let proto = TrackableObjectGraph::decode(serialized).map_err(|error| format!("undecodable: {error}"))?;
        ObjectGraph::from_proto(proto)
    }

    fn from_proto(proto: TrackableObjectGraph) -> std::result::Result<ObjectGraph, String> {
        let nodes = proto.nodes;
        if nodes.is_empty() {
            return Err("it has no nodes, not even the root".into());
        }
        let num_nodes = u32::try_from(nodes.len()).map_err(|_| "too many nodes".to_string())?;
        let check = |node_id: i32, what: &str, owner: usize| -> std::result::Result<u32, String> {
            u32::try_from(node_id)
                .ok()
                .filter(|&id| id < num_nodes)
                .ok_or_else(|| format!("node {owner} has {what} {node_id}, but there are {num_nodes} nodes"))
        };
        for (owner, node) in nodes.iter().enumerate() {
            for reference in &node.children {
                check(reference.node_id, "a child with node id", owner)?;
            }
            for slot in &node.slot_variables {
                check(slot.original_variable_node_id, "a slot variable of node id", owner)?;
                check(slot.slot_variable_node_id, "a slot variable with node id", owner)?;
            }
        }
        let (child_start, child_slots) = dictionary_children(&nodes);
        let (descendants, parents) = breadth_first(&nodes);
        let (variable_slot_start, variable_slots) = slots_by_variable(&nodes);
        Ok(ObjectGraph { nodes, child_start, child_slots, descendants, parents, variable_slot_start, variable_slots })
    }

    /// Number of nodes; ids run from 0 (the root) to `num_nodes() - 1`.
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    fn node(&self, node_id: u32) -> Result<&TrackableObject> {
        self.nodes
            .get(node_id as usize)
            .ok_or(GraphError::NodeOutOfRange { node_id: node_id.into(), num_nodes: self.nodes.len() })
    }

    /// `CheckpointView.children(node_id)`: the node's (name, child id) pairs in the order of the
    /// dict TensorFlow builds from its references. A name given twice keeps the place of its
    /// first reference and the node id of its last, as a Python dict does.
    pub fn children(&self, node_id: u32) -> Result<Children<'_>> {
        let node = self.node(node_id)?;
        let range = self.child_start[node_id as usize]..self.child_start[node_id as usize + 1];
        Ok(Children { node, slots: &self.child_slots[range] })
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
            let (parent, reference) = self.parents[current as usize];
            if parent == NO_PARENT {
                return Ok(None);
            }
            steps.push(self.nodes[parent as usize].children[reference as usize].local_name.as_str());
            current = parent;
        }
        let mut path = String::from("root");
        for step in steps.iter().rev() {
            path.push('.');
            path.push_str(step);
        }
        Ok(Some(path))
    }

    /// The node's serialized tensors (`VARIABLE_VALUE`, ...) with their bundle keys.
    pub fn attributes(&self, node_id: u32) -> Result<&[Attribute]> {
        Ok(&self.node(node_id)?.attributes)
    }

    /// The optimizer slot variables recorded on this node (legacy Keras optimizers).
    pub fn slot_variables(&self, node_id: u32) -> Result<&[SlotVariable]> {
        Ok(&self.node(node_id)?.slot_variables)
    }

    /// The optimizer slots of a variable node, from every optimizer that recorded one for it
    /// (in node order, then slot order): what a program needs to restore optimizer state.
    pub fn variable_slots(&self, node_id: u32) -> Result<impl ExactSizeIterator<Item = VariableSlot<'_>> + '_> {
        self.node(node_id)?;
        let range = self.variable_slot_start[node_id as usize]..self.variable_slot_start[node_id as usize + 1];
        Ok(self.variable_slots[range].iter().map(|&(optimizer, index)| VariableSlot {
            optimizer_node_id: optimizer,
            slot: &self.nodes[optimizer as usize].slot_variables[index as usize],
        }))
    }

    /// The saver registered for this node, if any.
    pub fn registered_saver(&self, node_id: u32) -> Result<Option<&RegisteredSaver>> {
        Ok(self.node(node_id)?.registered_saver.as_ref())
    }

    /// The node's `has_checkpoint_values` flag; `None` when the writer left it unset.
    pub fn has_checkpoint_values(&self, node_id: u32) -> Result<Option<bool>> {
        Ok(self.node(node_id)?.has_checkpoint_values)
    }
}

/// The result of [`ObjectGraph::children`]: `(local name, child node id)` pairs.
#[derive(Clone, Copy, Debug)]
pub struct Children<'g> {
    node: &'g TrackableObject,
    slots: &'g [ChildSlot],
}

impl<'g> Children<'g> {
    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the node has no children.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `index`-th pair, in dict order.
    pub fn get(&self, index: usize) -> Option<(&'g str, u32)> {
        let slot = self.slots.get(index)?;
        Some((self.node.children[slot.reference as usize].local_name.as_str(), slot.node_id))
    }

    /// All pairs, in dict order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'g str, u32)> + DoubleEndedIterator + 'g {
        let (node, slots) = (self.node, self.slots);
        slots.iter().map(move |slot| (node.children[slot.reference as usize].local_name.as_str(), slot.node_id))
    }
}

/// Flattens every node's references into dict order (first place, last value per name).
fn dictionary_children(nodes: &[TrackableObject]) -> (Vec<usize>, Vec<ChildSlot>) {
    let mut child_start = Vec::with_capacity(nodes.len() + 1);
    let mut slots: Vec<ChildSlot> = Vec::with_capacity(nodes.iter().map(|node| node.children.len()).sum());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for node in nodes {
        let first = slots.len();
        child_start.push(first);
        seen.clear();
        for (reference, child) in node.children.iter().enumerate() {
            let slot = ChildSlot { reference: reference as u32, node_id: child.node_id as u32 };
            match seen.get(child.local_name.as_str()) {
                Some(&index) => slots[index].node_id = slot.node_id,
                None => {
                    seen.insert(child.local_name.as_str(), slots.len());
                    slots.push(slot);
                }
            }
        }
    }
    child_start.push(slots.len());
    (child_start, slots)
}

/// Groups every node's slot variable references by the variable they belong to.
fn slots_by_variable(nodes: &[TrackableObject]) -> (Vec<usize>, Vec<(u32, u32)>) {
    let mut counts = vec![0usize; nodes.len() + 1];
    for node in nodes {
        for slot in &node.slot_variables {
            counts[slot.original_variable_node_id as usize + 1] += 1;
        }
    }
    for index in 1..counts.len() {
        counts[index] += counts[index - 1];
    }
    let mut next = counts.clone();
    let mut slots = vec![(0u32, 0u32); counts[nodes.len()]];
    for (optimizer, node) in nodes.iter().enumerate() {
        for (index, slot) in node.slot_variables.iter().enumerate() {
            let at = &mut next[slot.original_variable_node_id as usize];
            slots[*at] = (optimizer as u32, index as u32);
            *at += 1;
        }
    }
    (counts, slots)
}

/// TensorFlow's breadth-first walk from node 0 over every reference in order, recording the
/// order of first visits and, for each node, the reference that first reached it.
fn breadth_first(nodes: &[TrackableObject]) -> (Vec<u32>, Vec<(u32, u32)>) {
    let mut parents = vec![(NO_PARENT, 0u32); nodes.len()];
    let mut visited = vec![false; nodes.len()];
    let mut order = vec![0u32];
    visited[0] = true;
    let mut next = 0usize;
    // `order` doubles as the queue: nodes are dequeued in the order they were first seen.
    while let Some(&node_id) = order.get(next) {
        next += 1;
        for (reference, child) in nodes[node_id as usize].children.iter().enumerate() {
            let child_id = child.node_id as usize;
            if !visited[child_id] {
                visited[child_id] = true;
                parents[child_id] = (node_id, reference as u32);
                order.push(child_id as u32);
            }
        }
    }
    (order, parents)
}
