//! Keys as TensorFlow names them when it saves (`tf.train.Checkpoint`): the escaped local names
//! of a node's path from the root joined by `/` (`.` escaped as `..`, `/` as `.S`), then
//! `/.ATTRIBUTES/<attribute>`; a slot variable no edge reaches is named
//! `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>`. A removal can change a node's path (Keras 3
//! names a kernel `optimizer/_trainable_variables/0` while the optimizer is there): its tensors
//! then take the key TensorFlow would give them in the checkpoint that remains. A key that did not
//! follow the rule in the source is left as it is.

use std::collections::HashMap;

use crate::graph::ObjectGraph;

/// TensorFlow's `_escape_local_name`.
fn escape(name: &str) -> String {
    name.replace('.', "..").replace('/', ".S")
}

/// Names the nodes of one graph.
pub(crate) struct Namer<'g> {
    graph: &'g ObjectGraph,
    /// Slot variable node -> (variable, optimizer, slot name).
    slots: HashMap<u32, (u32, u32, &'g str)>,
}

impl<'g> Namer<'g> {
    pub(crate) fn new(graph: &'g ObjectGraph) -> Namer<'g> {
        let mut slots = HashMap::new();
        for optimizer in 0..graph.num_nodes() as u32 {
            for slot in graph.slot_variables(optimizer).into_iter().flatten() {
                slots.entry(slot.slot_variable_node_id).or_insert((slot.original_variable_node_id, optimizer, slot.slot_name));
            }
        }
        Namer { graph, slots }
    }

    /// The object name of a node: its path's escaped names joined by `/`, or a slot variable's
    /// name; `None` for the root and for nodes with neither.
    fn object_name(&self, node_id: u32, depth: usize) -> Option<String> {
        if node_id == 0 || depth > 2 {
            return None;
        }
        let mut names = Vec::new();
        let mut current = node_id;
        while let Some((parent, name)) = self.graph.parent(current).ok().flatten() {
            names.push(escape(name));
            current = parent;
        }
        if current == 0 && !names.is_empty() {
            names.reverse();
            return Some(names.join("/"));
        }
        let &(variable, optimizer, slot) = self.slots.get(&node_id)?;
        let variable = self.object_name(variable, depth + 1)?;
        let optimizer = self.object_name(optimizer, depth + 1)?;
        Some(format!("{variable}/.OPTIMIZER_SLOT/{optimizer}/{}", escape(slot)))
    }

    /// The key TensorFlow gives attribute `attribute` of node `node_id`.
    pub(crate) fn attribute_key(&self, node_id: u32, attribute: &str) -> Option<String> {
        Some(format!("{}/.ATTRIBUTES/{}", self.object_name(node_id, 0)?, escape(attribute)))
    }
}
