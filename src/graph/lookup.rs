//! Finding nodes by what a user knows of them: a dotted path (TensorFlow's, or any other chain
//! of edges, such as the second path of a shared object), or the `full_name` of a tensor.

use std::collections::HashSet;

use super::{GraphError, ObjectGraph, Result};

impl ObjectGraph {
    /// The nodes a dotted path names, in id order: the nodes whose [`ObjectGraph::path`] it is;
    /// failing that, every node some chain of edges spelled by it reaches from the root (the
    /// second path of a shared object, `root.model._operations.2._kernel`, or a path through a
    /// cycle). Empty when nothing matches.
    ///
    /// Names may contain dots, so the path is not split: it is walked from the root, following
    /// each child whose name continues the text. Every step consumes at least one byte (the dot),
    /// so the walk ends; no per-node path is built, which would cost the depth of every node.
    pub fn nodes_at_path(&self, path: &str) -> Vec<u32> {
        let Some(rest) = path.strip_prefix("root") else {
            return Vec::new();
        };
        let start = path.len() - rest.len();
        let mut reached = Vec::new();
        let mut seen: HashSet<(u32, usize)> = HashSet::from([(0, start)]);
        let mut stack = vec![(0u32, start)];
        while let Some((node_id, at)) = stack.pop() {
            if at == path.len() {
                reached.push(node_id);
                continue;
            }
            let Some(after_dot) = path[at..].strip_prefix('.') else {
                continue;
            };
            let Ok(children) = self.children(node_id) else {
                continue;
            };
            for (name, child) in children {
                if after_dot.starts_with(name) {
                    let next = at + 1 + name.len();
                    if seen.insert((child, next)) {
                        stack.push((child, next));
                    }
                }
            }
        }
        reached.sort_unstable();
        reached.dedup();
        let canonical: Vec<u32> = reached
            .iter()
            .copied()
            .filter(|&node_id| self.path(node_id).ok().flatten().as_deref() == Some(path))
            .collect();
        if canonical.is_empty() {
            reached
        } else {
            canonical
        }
    }

    /// The nodes `spec` names, as the command line's `show` and `rewrite --drop` take them: a
    /// node id (`14`, or `#14` as `tree` prints it), any dotted path `tree` prints (`root.leaf`, a
    /// shared object's second path: see [`ObjectGraph::nodes_at_path`]), else the `full_name` of
    /// a tensor (`conv1_conv/kernel`). Empty when it names nothing; an id past the last node is
    /// [`GraphError::NodeOutOfRange`].
    pub fn nodes_named(&self, spec: &str) -> Result<Vec<u32>> {
        if let Ok(node_id) = spec.strip_prefix('#').unwrap_or(spec).parse::<u32>() {
            if node_id as usize >= self.num_nodes() {
                return Err(GraphError::NodeOutOfRange { node_id: node_id.into(), num_nodes: self.num_nodes() });
            }
            return Ok(vec![node_id]);
        }
        if spec == "root" || spec.starts_with("root.") {
            let found = self.nodes_at_path(spec);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(self.nodes_with_full_name(spec))
    }

    /// The nodes a restore starting at the root reaches when the nodes marked in `cut` (indexed
    /// by node id; shorter means unmarked) are left out: every child of a reached node, and a
    /// slot variable once the node recording it (its optimizer) and its original variable are
    /// both reached, as TensorFlow restores slots. The root is reached unless it is cut.
    pub fn reached_without(&self, cut: &[bool]) -> Vec<bool> {
        let is_cut = |node_id: u32| cut.get(node_id as usize).copied().unwrap_or(false);
        let mut reached = vec![false; self.num_nodes()];
        if is_cut(0) {
            return reached;
        }
        reached[0] = true;
        let mut stack = vec![0u32];
        loop {
            while let Some(node_id) = stack.pop() {
                for (_, child) in self.children(node_id).into_iter().flatten() {
                    if !reached[child as usize] && !is_cut(child) {
                        reached[child as usize] = true;
                        stack.push(child);
                    }
                }
            }
            // Slots whose optimizer and variable are both reached; repeat until none is new.
            for optimizer in 0..self.num_nodes() as u32 {
                if !reached[optimizer as usize] {
                    continue;
                }
                for slot in self.slot_variables(optimizer).into_iter().flatten() {
                    let (variable, node) = (slot.original_variable_node_id, slot.slot_variable_node_id);
                    if reached[variable as usize] && !reached[node as usize] && !is_cut(node) {
                        reached[node as usize] = true;
                        stack.push(node);
                    }
                }
            }
            if stack.is_empty() {
                return reached;
            }
        }
    }

    /// The nodes with a serialized tensor whose `full_name` is `full_name` (Keras stores layer
    /// names such as `conv1_conv/kernel` only there), in id order. Slot variables included.
    pub fn nodes_with_full_name(&self, full_name: &str) -> Vec<u32> {
        (0..self.num_nodes() as u32)
            .filter(|&node_id| {
                self.attributes(node_id).is_ok_and(|mut attributes| attributes.any(|a| a.full_name == full_name))
            })
            .collect()
    }

    /// Every distinct `full_name` of the graph's serialized tensors, in node order: the
    /// candidates to suggest when a name is mistyped.
    pub fn full_names(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        (0..self.num_nodes() as u32)
            .filter_map(|node_id| self.attributes(node_id).ok())
            .flatten()
            .map(|attribute| attribute.full_name)
            .filter(|name| !name.is_empty() && seen.insert(*name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::format::proto::trackable_object_graph::trackable_object::{ObjectReference, SerializedTensor};
    use crate::format::proto::trackable_object_graph::TrackableObject;
    use crate::format::proto::TrackableObjectGraph;
    use crate::ObjectGraph;
    use prost::Message;

    /// root -> model -> ops -> "2" -> kernel, and root -> optimizer -> vars -> "0" -> the same
    /// kernel (reached first, so TensorFlow names it by that path); a child named `a.b`; and a
    /// child `a` whose child `b` is the `vars` node: `root.a.b` spells two chains of edges.
    fn graph() -> ObjectGraph {
        let reference = |node_id, name: &str| ObjectReference { node_id, local_name: name.into() };
        let node = |children: Vec<ObjectReference>| TrackableObject { children, ..Default::default() };
        let kernel = TrackableObject {
            attributes: vec![SerializedTensor {
                name: "VARIABLE_VALUE".into(),
                full_name: "conv1_conv/kernel".into(),
                checkpoint_key: "k/.ATTRIBUTES/VARIABLE_VALUE".into(),
            }],
            ..Default::default()
        };
        let proto = TrackableObjectGraph {
            nodes: vec![
                node(vec![reference(1, "optimizer"), reference(4, "model"), reference(7, "a.b"), reference(8, "a")]),
                node(vec![reference(2, "vars")]),
                node(vec![reference(3, "0")]),
                node(vec![reference(10, "k")]),
                node(vec![reference(5, "ops")]),
                node(vec![reference(6, "2")]),
                node(vec![reference(10, "kernel")]),
                node(vec![]),
                node(vec![reference(2, "b")]),
                node(vec![]),
                kernel,
            ],
        };
        ObjectGraph::decode(&proto.encode_to_vec()).unwrap()
    }

    #[test]
    fn a_shared_node_is_found_by_each_of_its_paths() {
        let graph = graph();
        assert_eq!(graph.path(10).unwrap().as_deref(), Some("root.optimizer.vars.0.k"));
        assert_eq!(graph.nodes_at_path("root.optimizer.vars.0.k"), [10]);
        assert_eq!(graph.nodes_at_path("root.model.ops.2.kernel"), [10]);
        assert_eq!(graph.nodes_at_path("root"), [0]);
        assert!(graph.nodes_at_path("root.model.nope").is_empty());
        assert!(graph.nodes_at_path("model").is_empty());
    }

    #[test]
    fn a_path_spelled_two_ways_prefers_tensorflows_node() {
        let graph = graph();
        // `root.a.b` is node 7's own path (child "a.b") and an edge chain to node 2 (a, then b),
        // whose TensorFlow path is `root.optimizer.vars`: node 7 wins.
        assert_eq!(graph.path(7).unwrap().as_deref(), Some("root.a.b"));
        assert_eq!(graph.path(2).unwrap().as_deref(), Some("root.optimizer.vars"));
        assert_eq!(graph.nodes_at_path("root.a.b"), [7]);
        assert_eq!(graph.nodes_at_path("root.a.b.0.k"), [10]);
    }

    #[test]
    fn full_names_find_their_nodes() {
        let graph = graph();
        assert_eq!(graph.nodes_with_full_name("conv1_conv/kernel"), [10]);
        assert!(graph.nodes_with_full_name("conv1_conv").is_empty());
        assert_eq!(graph.full_names(), ["conv1_conv/kernel"]);
    }
}
