//! What a rewrite of an object-based checkpoint keeps: which nodes (and so which tensors), and
//! the object graph that remains, renumbered.
//!
//! Nodes named by `drop` (and the optimizers, with `drop_slots`) are cut; `select` cuts every node
//! outside the selected subtrees (and the root's `save_counter`, which every `tf.train.Checkpoint`
//! restores) except the ancestors on each selected node's path, which stay as the way there,
//! without tensors of their own. What a restore from the root still reaches
//! ([`ObjectGraph::reached_without`]) is kept: a node reached only through a cut one goes with it,
//! a slot variable goes with its optimizer or its variable. Every reference to a removed node (a
//! child, a slot) is removed; the nodes kept are renumbered in their old order, so the root stays
//! node 0 and children keep their order. `has_checkpoint_values` is computed again, as TensorFlow
//! computes it when saving, and the tensors of a node whose path changed take the key TensorFlow
//! would give them (`naming`). (Fields of the proto this version does not know are not kept.)

use std::collections::{HashMap, HashSet};
use std::path::Path;

use prost::Message;

use crate::format::proto::trackable_object_graph::trackable_object::SlotVariableReference;
use crate::format::proto::trackable_object_graph::TrackableObject;
use crate::format::proto::TrackableObjectGraph;
use crate::format::Bundle;
use crate::graph::{GraphError, ObjectGraph, OBJECT_GRAPH_KEY};
use crate::view::{is_suffixed_key, OptimizerState};

use super::error::{RewriteError, Result};
use super::naming::Namer;
use super::RewriteOptions;

/// The outcome of planning: the new graph, and the bundle keys of the tensors nodes own.
#[derive(Debug)]
pub(crate) struct GraphPlan {
    /// The serialized `TrackableObjectGraph` to store.
    pub graph: Vec<u8>,
    pub nodes_before: usize,
    pub nodes_after: usize,
    /// Keys of the tensors of kept nodes.
    pub kept_keys: HashSet<Vec<u8>>,
    /// Keys of the tensors of every node, kept or not.
    pub owned_keys: HashSet<Vec<u8>>,
    /// Kept keys that take another name in the output (`naming`).
    pub renames: HashMap<Vec<u8>, Vec<u8>>,
}

/// The nodes every spec names, marked in a vector indexed by node id.
fn mark(graph: &ObjectGraph, prefix: &Path, specs: &[String]) -> Result<Vec<bool>> {
    let mut marked = vec![false; graph.num_nodes()];
    for spec in specs {
        let nodes = graph.nodes_named(spec)?;
        if nodes.is_empty() {
            return Err(RewriteError::NoSuchNode { prefix: prefix.to_path_buf(), spec: spec.clone() });
        }
        for node_id in nodes {
            marked[node_id as usize] = true;
        }
    }
    Ok(marked)
}

/// Plans the rewrite of `bundle`, whose object graph is `graph`.
/// `names` are the bundle's tensor keys in key order (no header, no slice keys).
pub(crate) fn plan(bundle: &Bundle, graph: &ObjectGraph, names: &[Vec<u8>], options: &RewriteOptions) -> Result<GraphPlan> {
    let prefix = bundle.prefix();
    let count = graph.num_nodes();
    let mut cut = mark(graph, prefix, &options.drop)?;
    if let Some(spec) = options.drop.iter().find(|spec| graph.nodes_named(spec).is_ok_and(|nodes| nodes.contains(&0))) {
        return Err(RewriteError::DropsRoot { prefix: prefix.to_path_buf(), spec: spec.clone() });
    }
    if options.drop_slots {
        let state = OptimizerState::of_graph(graph);
        for node_id in 0..count as u32 {
            cut[node_id as usize] |= state.is_optimizer_state(node_id);
        }
    }
    // Nodes kept only as the way to a selected one: no tensors of their own.
    let mut bare = vec![false; count];
    if !options.select.is_empty() {
        let mut selected = mark(graph, prefix, &options.select)?;
        // Every tf.train.Checkpoint has a save_counter, which assert_existing_objects_matched
        // wants restored: it stays with any selection.
        for (name, child) in graph.children(0)? {
            if name == "save_counter" {
                selected[child as usize] = true;
            }
        }
        let mut inside = vec![false; count];
        let mut stack: Vec<u32> = (0..count as u32).filter(|&node_id| selected[node_id as usize]).collect();
        for &node_id in &stack {
            inside[node_id as usize] = true;
        }
        while let Some(node_id) = stack.pop() {
            // A selected optimizer brings its slot variables (kept where their variable is).
            let slots = graph.slot_variables(node_id)?.map(|slot| slot.slot_variable_node_id);
            for child in graph.children(node_id)?.map(|(_, child)| child).chain(slots) {
                if !inside[child as usize] {
                    inside[child as usize] = true;
                    stack.push(child);
                }
            }
        }
        for node_id in 0..count as u32 {
            if !selected[node_id as usize] {
                continue;
            }
            let mut current = node_id;
            while let Some((parent, _)) = graph.parent(current)? {
                if !inside[parent as usize] {
                    bare[parent as usize] = true;
                }
                current = parent;
            }
        }
        for node_id in 0..count as u32 {
            cut[node_id as usize] |= !inside[node_id as usize] && !bare[node_id as usize] && node_id != 0;
        }
        bare[0] = !inside[0];
    }
    let kept = graph.reached_without(&cut);
    rebuild(bundle, graph, names, &kept, &bare)
}

/// The graph without the nodes `kept` leaves out, and the keys of the tensors that remain.
fn rebuild(bundle: &Bundle, graph: &ObjectGraph, names: &[Vec<u8>], kept: &[bool], bare: &[bool]) -> Result<GraphPlan> {
    let entry = bundle.entry(OBJECT_GRAPH_KEY)?.ok_or_else(|| GraphError::NameBasedCheckpoint { prefix: bundle.prefix().to_path_buf() })?;
    let serialized = bundle.read_string_scalar(OBJECT_GRAPH_KEY, &entry)?;
    let corrupt = |reason: String| GraphError::CorruptObjectGraph { prefix: bundle.prefix().to_path_buf(), reason };
    let source = TrackableObjectGraph::decode(serialized.as_slice()).map_err(|error| corrupt(error.to_string()))?;
    if source.nodes.len() != graph.num_nodes() {
        return Err(corrupt("it changed while being read".into()).into());
    }
    let mut new_id = vec![None; kept.len()];
    let mut next = 0i32;
    for (node_id, &keep) in kept.iter().enumerate() {
        if keep {
            new_id[node_id] = Some(next);
            next += 1;
        }
    }
    let renumber = |id: i32| usize::try_from(id).ok().and_then(|id| new_id.get(id).copied().flatten());
    let (mut kept_keys, mut owned_keys) = (HashSet::new(), HashSet::new());
    // The tensors of kept nodes: (new node id, attribute index, key).
    let mut tensors = Vec::new();
    let mut nodes = Vec::with_capacity(next as usize);
    for (node_id, node) in source.nodes.into_iter().enumerate() {
        let keys = node_keys(names, &node);
        let keep = kept[node_id] && !bare[node_id];
        if keep {
            kept_keys.extend(keys.iter().map(|(_, key)| key.clone()));
            let new = new_id[node_id].expect("kept nodes are numbered") as u32;
            tensors.extend(keys.iter().map(|(index, key)| (new, *index, key.clone())));
        }
        owned_keys.extend(keys.into_iter().map(|(_, key)| key));
        if !kept[node_id] {
            continue;
        }
        let children = node
            .children
            .into_iter()
            .filter_map(|mut child| {
                child.node_id = renumber(child.node_id)?;
                Some(child)
            })
            .collect();
        let slot_variables = node
            .slot_variables
            .into_iter()
            .filter_map(|slot| {
                Some(SlotVariableReference {
                    original_variable_node_id: renumber(slot.original_variable_node_id)?,
                    slot_variable_node_id: renumber(slot.slot_variable_node_id)?,
                    slot_name: slot.slot_name,
                })
            })
            .collect();
        let attributes = if keep { node.attributes } else { Vec::new() };
        nodes.push(TrackableObject { children, attributes, slot_variables, ..node });
    }
    let mut graph_proto = TrackableObjectGraph { nodes };
    recompute_has_checkpoint_values(&mut graph_proto);
    // Paths change only when nodes go: a plain copy keeps every key without working it out.
    let renames = if next as usize == graph.num_nodes() && !bare.contains(&true) {
        HashMap::new()
    } else {
        rename(graph, &mut graph_proto, &new_id, &tensors, names, &owned_keys)
    };
    Ok(GraphPlan {
        graph: graph_proto.encode_to_vec(),
        nodes_before: graph.num_nodes(),
        nodes_after: next as usize,
        kept_keys,
        owned_keys,
        renames,
    })
}

/// The bundle keys of a node's tensors, each with the index of its attribute: an attribute's
/// `checkpoint_key` itself when the bundle has it, else every key that is it plus a suffix (a
/// table's `-keys` and `-values`), as [`crate::view::attribute_tensors`] finds them, by binary
/// search in `names` rather than a seek in the index for each.
fn node_keys(names: &[Vec<u8>], node: &TrackableObject) -> Vec<(usize, Vec<u8>)> {
    let siblings: Vec<&str> = node.attributes.iter().map(|attribute| attribute.checkpoint_key.as_str()).collect();
    let mut keys = Vec::new();
    for (index, attribute) in node.attributes.iter().enumerate() {
        let key = attribute.checkpoint_key.as_bytes();
        if key.is_empty() {
            continue;
        }
        let start = names.partition_point(|name| name.as_slice() < key);
        if names.get(start).is_some_and(|name| name.as_slice() == key) {
            keys.push((index, key.to_vec()));
            continue;
        }
        for name in names[start..].iter().take_while(|name| name.starts_with(key)) {
            if is_suffixed_key(&attribute.checkpoint_key, name, &siblings) {
                keys.push((index, name.clone()));
            }
        }
    }
    keys
}

/// Gives the tensors of kept nodes the keys TensorFlow would write for the graph that remains
/// (`naming`): updates each attribute's `checkpoint_key` and returns the bundle key renames.
/// Renames nothing if that would give two tensors one key. `names` are the bundle's keys, sorted;
/// `owned` those some node names.
fn rename(
    graph: &ObjectGraph,
    proto: &mut TrackableObjectGraph,
    new_id: &[Option<i32>],
    tensors: &[(u32, usize, Vec<u8>)],
    names: &[Vec<u8>],
    owned: &HashSet<Vec<u8>>,
) -> HashMap<Vec<u8>, Vec<u8>> {
    let Ok(remaining) = ObjectGraph::decode(&proto.encode_to_vec()) else { return HashMap::new() };
    let (before, after) = (Namer::new(graph), Namer::new(&remaining));
    let mut attribute_keys: HashMap<(u32, usize), String> = HashMap::new();
    for (old, new) in new_id.iter().enumerate().filter_map(|(old, new)| Some((old as u32, (*new)? as u32))) {
        for (index, attribute) in proto.nodes[new as usize].attributes.iter().enumerate() {
            let renamed = before
                .attribute_key(old, &attribute.name)
                .filter(|expected| *expected == attribute.checkpoint_key)
                .and_then(|_| after.attribute_key(new, &attribute.name))
                .filter(|key| *key != attribute.checkpoint_key);
            if let Some(key) = renamed {
                attribute_keys.insert((new, index), key);
            }
        }
    }
    let mut renames = HashMap::new();
    let mut finals = HashSet::new();
    for (node, index, key) in tensors {
        let final_key = match attribute_keys.get(&(*node, *index)) {
            Some(new_key) => {
                let old_key = &proto.nodes[*node as usize].attributes[*index].checkpoint_key;
                let mut renamed = new_key.clone().into_bytes();
                renamed.extend_from_slice(&key[old_key.len().min(key.len())..]);
                renames.insert(key.clone(), renamed.clone());
                renamed
            }
            None => key.clone(),
        };
        if !finals.insert(final_key) {
            return HashMap::new();
        }
    }
    // Nor onto the key of a tensor no node names, which is copied as it is.
    let taken = |key: &Vec<u8>| names.binary_search(key).is_ok() && !owned.contains(key);
    if renames.values().any(taken) {
        return HashMap::new();
    }
    for ((node, index), key) in attribute_keys {
        proto.nodes[node as usize].attributes[index].checkpoint_key = key;
    }
    renames
}

/// `has_checkpoint_values` as TensorFlow computes it when saving (`_add_checkpoint_values_check`):
/// true for a node with attributes, slot variables or a registered saver, and for every node
/// from which such a node is reached; false elsewhere. Nodes whose writer left the flag unset keep
/// it unset. A removal can only turn true into false here.
fn recompute_has_checkpoint_values(graph: &mut TrackableObjectGraph) {
    let count = graph.nodes.len();
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut has_values = vec![false; count];
    let mut stack = Vec::new();
    for (node_id, node) in graph.nodes.iter().enumerate() {
        for child in &node.children {
            parents[child.node_id as usize].push(node_id);
        }
        if !node.attributes.is_empty() || !node.slot_variables.is_empty() || node.registered_saver.is_some() {
            has_values[node_id] = true;
            stack.push(node_id);
        }
    }
    while let Some(node_id) = stack.pop() {
        for &parent in &parents[node_id] {
            if !has_values[parent] {
                has_values[parent] = true;
                stack.push(parent);
            }
        }
    }
    for (node, has_values) in graph.nodes.iter_mut().zip(has_values) {
        if node.has_checkpoint_values.is_some() {
            node.has_checkpoint_values = Some(has_values);
        }
    }
}
