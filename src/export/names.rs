//! How an object graph names a bundle's tensors: for each checkpoint key, the node and
//! attribute that record it, the node's object path through no optimizer, its Keras
//! `full_name`, and whether it is optimizer state.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::ExportError;
use crate::graph::ObjectGraph;
use crate::view::OptimizerState;

/// How the graph names the bundle's keys: for each `checkpoint_key`, the node and attribute.
pub(super) struct GraphNames<'g> {
    graph: &'g ObjectGraph,
    state: OptimizerState,
    /// checkpoint_key -> (node id, attribute name, full_name), the first node's for a key
    /// given twice.
    attributes: HashMap<&'g str, Named<'g>>,
    /// The same sorted by key, made on the first key that is no attribute's: the attribute
    /// whose key it extends (a table's `-keys` and `-values`) is found by its place there.
    sorted: OnceLock<Vec<(&'g str, Named<'g>)>>,
    /// For each node, the slot it is: (optimizer node, variable node, slot name).
    slots: Vec<Option<(u32, u32, &'g str)>>,
    /// For each node, the parent and edge name through which a breadth-first walk from the
    /// root that enters no optimizer first reaches it: the path [`OptimizerState::model_path`]
    /// gives, for every node in one walk.
    model_parents: Vec<Option<(u32, &'g str)>>,
    /// The optimizers' own paths ([`GraphNames::own_path`]), where they have one.
    optimizer_paths: Vec<(u32, String)>,
}

/// An attribute: its node, its name and the Keras `full_name`.
type Named<'g> = (u32, &'g str, &'g str);

/// [`GraphNames::model_parents`].
fn model_parents<'g>(graph: &'g ObjectGraph, state: &OptimizerState) -> Vec<Option<(u32, &'g str)>> {
    let mut parents = vec![None; graph.num_nodes()];
    let mut seen = vec![false; graph.num_nodes()];
    for &optimizer in state.optimizers() {
        seen[optimizer as usize] = true;
    }
    if graph.num_nodes() == 0 {
        return parents;
    }
    seen[0] = true;
    let mut queue = std::collections::VecDeque::from([0u32]);
    while let Some(node_id) = queue.pop_front() {
        for (name, child) in graph.children(node_id).into_iter().flatten() {
            if !seen[child as usize] {
                seen[child as usize] = true;
                parents[child as usize] = Some((node_id, name));
                queue.push_back(child);
            }
        }
    }
    parents
}

impl<'g> GraphNames<'g> {
    pub(super) fn new(graph: &'g ObjectGraph) -> Result<GraphNames<'g>, ExportError> {
        let mut attributes = HashMap::with_capacity(graph.num_nodes());
        let mut slots = vec![None; graph.num_nodes()];
        for node_id in 0..graph.num_nodes() as u32 {
            for attribute in graph.attributes(node_id)? {
                attributes.entry(attribute.checkpoint_key).or_insert((node_id, attribute.name, attribute.full_name));
            }
            for slot in graph.slot_variables(node_id)? {
                // Checked when the graph was decoded: every node id is below the node count.
                if let Some(entry @ None) = slots.get_mut(slot.slot_variable_node_id as usize) {
                    *entry = Some((node_id, slot.original_variable_node_id, slot.slot_name));
                }
            }
        }
        let state = OptimizerState::of_graph(graph);
        let model_parents = model_parents(graph, &state);
        let mut names = GraphNames { graph, state, attributes, sorted: OnceLock::new(), slots, model_parents, optimizer_paths: Vec::new() };
        names.optimizer_paths = names.state.optimizers().iter().filter_map(|&node| Some((node, names.own_path(node)?))).collect();
        Ok(names)
    }

    /// The path through no optimizer, without `root.`; `None` where there is none. Built in
    /// place from the last step back, in one allocation.
    fn model_path(&self, node_id: u32) -> Option<String> {
        if node_id == 0 {
            return Some("root".into());
        }
        let step = |node: u32| *self.model_parents.get(node as usize)?;
        let (mut length, mut current) = (0usize, node_id);
        while current != 0 {
            let (parent, name) = step(current)?;
            length += name.len() + 1;
            current = parent;
        }
        let mut path = vec![b'.'; length - 1];
        let (mut end, mut current) = (path.len(), node_id);
        while current != 0 {
            let (parent, name) = step(current)?;
            path[end - name.len()..end].copy_from_slice(name.as_bytes());
            end = end.saturating_sub(name.len() + 1);
            current = parent;
        }
        String::from_utf8(path).ok()
    }

    /// A node's own path without `root.`, preferring one through no optimizer; `None` for a
    /// node no walk from the root reaches (a slot variable of a legacy optimizer).
    fn own_path(&self, node_id: u32) -> Option<String> {
        if let Some(path) = self.model_path(node_id) {
            return Some(path);
        }
        let path = self.graph.path(node_id).ok().flatten()?;
        Some(match path.strip_prefix("root.") {
            Some(rest) => rest.to_string(),
            None => path,
        })
    }

    /// A node's path without `root.`, preferring one through no optimizer; a slot variable
    /// without one of its own is named after its variable, its optimizer and its slot.
    fn node_path(&self, node_id: u32, depth: u32) -> Option<String> {
        if let Some(path) = self.own_path(node_id) {
            return Some(path);
        }
        let (optimizer, variable, slot_name) = (*self.slots.get(node_id as usize)?)?;
        if depth > 4 {
            return None;
        }
        let mut path = self.node_path(variable, depth + 1)?;
        // Every slot of a model names one of its few optimizers: their paths are made once.
        let optimizer = match self.optimizer_paths.iter().find(|(node, _)| *node == optimizer) {
            Some((_, path)) => std::borrow::Cow::Borrowed(path.as_str()),
            None => std::borrow::Cow::Owned(self.node_path(optimizer, depth + 1)?),
        };
        path.reserve(".OPTIMIZER_SLOT.".len() + optimizer.len() + 1 + slot_name.len());
        for piece in [".OPTIMIZER_SLOT.", &optimizer, ".", slot_name] {
            path.push_str(piece);
        }
        Some(path)
    }

    /// (path, full_name, optimizer state) of the tensor stored under `key`.
    pub(super) fn describe(&self, key: &str) -> (Option<String>, Option<String>, bool) {
        let found = match self.attributes.get(key) {
            Some(&(node, name, full_name)) => Some((node, name, full_name, "")),
            // A table's `-keys`/`-values`, an iterator's state: the attribute's key plus a suffix.
            None => {
                let sorted = self.sorted.get_or_init(|| {
                    let mut sorted: Vec<_> = self.attributes.iter().map(|(&key, &named)| (key, named)).collect();
                    sorted.sort_unstable_by_key(|&(key, _)| key);
                    sorted
                });
                let before = sorted.partition_point(|&(checkpoint_key, _)| checkpoint_key < key);
                before
                    .checked_sub(1)
                    .map(|at| sorted[at])
                    .filter(|(checkpoint_key, _)| !checkpoint_key.is_empty() && key.starts_with(*checkpoint_key))
                    .map(|(checkpoint_key, (node, name, full_name))| (node, name, full_name, &key[checkpoint_key.len()..]))
            }
        };
        let Some((node, attribute, full_name, suffix)) = found else {
            return (None, None, false);
        };
        let path = self.node_path(node, 0).map(|path| {
            if attribute == "VARIABLE_VALUE" && suffix.is_empty() {
                path
            } else if attribute == "VARIABLE_VALUE" {
                path + suffix
            } else {
                [&path, ".", attribute, suffix].concat()
            }
        });
        let full_name = (!full_name.is_empty()).then(|| [full_name, suffix].concat());
        (path, full_name, self.state.is_optimizer_state(node))
    }
}
