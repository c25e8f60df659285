//! Synthetic checkpoints: valid TF2 bundles of any size, written with [`ckview::format::writer`],
//! for benchmarks and tests. Their shape is what large models produce: a deep and wide tree of
//! modules, lists (`layers/0`, `layers/1`, ...) and dicts, variables with small tensors, objects
//! shared between parents, a cycle back to the root, a `save_counter`, and an optimizer whose
//! slot variables (`m`, `v`) hang off every trainable variable, as legacy Keras optimizers write.

use std::io;
use std::path::{Path, PathBuf};

use prost::Message;

use ckview::format::proto::trackable_object_graph::trackable_object::{
    ObjectReference, SerializedTensor, SlotVariableReference,
};
use ckview::format::proto::trackable_object_graph::TrackableObject;
use ckview::format::proto::{DataType, TrackableObjectGraph};
use ckview::format::writer::BundleWriter;
use ckview::graph::OBJECT_GRAPH_KEY;

/// How a synthetic model is shaped.
#[derive(Clone, Copy, Debug)]
pub struct ModelShape {
    /// Roughly how many object-graph nodes to make (the result is within a few of it).
    pub nodes: usize,
    /// Children per module before the tree goes one level deeper.
    pub fan_out: usize,
    /// Elements of each variable's float32 tensor.
    pub variable_elements: usize,
}

impl Default for ModelShape {
    fn default() -> Self {
        ModelShape { nodes: 1000, fan_out: 8, variable_elements: 4 }
    }
}

/// Builds the object graph: node 0 is the root; module ids are handed out breadth first.
struct GraphBuilder {
    nodes: Vec<TrackableObject>,
    /// (node id, checkpoint key) of every variable, for the tensors to write.
    variables: Vec<(usize, String)>,
}

impl GraphBuilder {
    fn add(&mut self) -> usize {
        self.nodes.push(TrackableObject::default());
        self.nodes.len() - 1
    }

    fn link(&mut self, parent: usize, name: &str, child: usize) {
        self.nodes[parent].children.push(ObjectReference { node_id: child as i32, local_name: name.into() });
    }

    fn variable(&mut self, parent: usize, name: &str, key_path: &str) -> usize {
        let node = self.add();
        self.link(parent, name, node);
        let key = format!("{key_path}/.ATTRIBUTES/VARIABLE_VALUE");
        self.nodes[node].attributes.push(SerializedTensor {
            name: "VARIABLE_VALUE".into(),
            full_name: key_path.replace('/', "_"),
            checkpoint_key: key.clone(),
        });
        self.nodes[node].has_checkpoint_values = Some(true);
        self.variables.push((node, key));
        node
    }
}

/// The object graph of a synthetic model, with the checkpoint key of each variable.
pub fn model_graph(shape: ModelShape) -> (TrackableObjectGraph, Vec<(usize, String)>) {
    let mut builder = GraphBuilder { nodes: Vec::new(), variables: Vec::new() };
    let root = builder.add();
    let optimizer = builder.add();
    builder.link(root, "optimizer", optimizer);
    builder.link(root, "root", root); // tf.train.Checkpoint's edge back to itself
    builder.variable(root, "save_counter", "save_counter");
    // Two of every three containers hold a kernel, and each kernel brings two slots: the tree's
    // containers and kernels (the budget) come to about 5/9 of the nodes.
    let budget = shape.nodes.saturating_sub(3) * 5 / 9;
    let mut queue = std::collections::VecDeque::from([(root, String::new(), 0usize)]);
    let mut made = 0usize;
    let mut shared: Option<usize> = None;
    while let Some((parent, path, depth)) = queue.pop_front() {
        for index in 0..shape.fan_out {
            if made >= budget {
                break;
            }
            made += 1;
            // Alternate container kinds the way Keras models nest them.
            let (name, kind) = match (depth + index) % 3 {
                0 => (format!("layer_{index}"), "module"),
                1 => (index.to_string(), "list"),
                _ => (format!("block.{index}"), "dict"),
            };
            let escaped = name.replace('.', "..");
            let child_path = if path.is_empty() { escaped } else { format!("{path}/{escaped}") };
            let module = builder.add();
            builder.link(parent, &name, module);
            if kind != "list" {
                builder.variable(module, "kernel", &format!("{child_path}/kernel"));
                made += 1;
            }
            if let Some(shared) = shared.filter(|_| index == 1) {
                builder.link(module, "shared", shared); // an object reachable from two parents
            } else if shared.is_none() {
                shared = Some(module);
            }
            queue.push_back((module, child_path, depth + 1));
        }
    }
    // Legacy optimizer: slot variables m and v for every variable but the counter.
    let trainable: Vec<(usize, String)> = builder.variables.iter().skip(1).cloned().collect();
    for (variable, key) in trainable {
        let variable_path = key.trim_end_matches("/.ATTRIBUTES/VARIABLE_VALUE").to_string();
        for slot_name in ["m", "v"] {
            let slot = builder.add();
            let slot_key = format!("{variable_path}/.OPTIMIZER_SLOT/optimizer/{slot_name}/.ATTRIBUTES/VARIABLE_VALUE");
            builder.nodes[slot].attributes.push(SerializedTensor {
                name: "VARIABLE_VALUE".into(),
                full_name: format!("{variable_path}/{slot_name}"),
                checkpoint_key: slot_key.clone(),
            });
            builder.variables.push((slot, slot_key));
            builder.nodes[optimizer].slot_variables.push(SlotVariableReference {
                original_variable_node_id: variable as i32,
                slot_name: slot_name.into(),
                slot_variable_node_id: slot as i32,
            });
        }
    }
    (TrackableObjectGraph { nodes: builder.nodes }, builder.variables)
}

/// Writes a synthetic model checkpoint at `prefix` and returns the prefix. Every variable is a
/// float32 vector whose values are derived from its node id, so they can be checked.
pub fn write_model(prefix: &Path, shape: ModelShape) -> io::Result<PathBuf> {
    let (graph, variables) = model_graph(shape);
    let mut writer = BundleWriter::create(prefix)?;
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&graph.encode_to_vec()])?;
    let mut values = Vec::with_capacity(shape.variable_elements * 4);
    for (node, key) in &variables {
        values.clear();
        for element in 0..shape.variable_elements {
            values.extend_from_slice(&(*node as f32 + element as f32 / 8.0).to_le_bytes());
        }
        writer.add_raw(key.as_bytes(), DataType::DtFloat, &[shape.variable_elements as u64], &values)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_land_near_the_request_and_the_graph_is_valid() {
        for nodes in [50, 1000, 10_000] {
            let (graph, variables) = model_graph(ModelShape { nodes, ..ModelShape::default() });
            let made = graph.nodes.len();
            assert!(made.abs_diff(nodes) <= nodes / 10 + 8, "asked {nodes}, made {made}");
            assert!(variables.len() * 2 > made / 2);
            let decoded = ckview::graph::ObjectGraph::decode(&graph.encode_to_vec()).unwrap();
            assert_eq!(decoded.num_nodes(), made);
        }
    }
}
