//! Which nodes of a checkpoint are optimizer state: what `rewrite --drop-slots` and
//! `export --drop-slots` leave out, so that a model restored without its optimizer
//! (`tf.train.Checkpoint(model=m).restore(...)`) finds everything it needs and nothing else.
//!
//! An optimizer is recognised by its structure and by the name every TensorFlow and Keras API
//! gives the edge to it:
//! - a node recording `slot_variables` (TF2's OptimizerV2 and tf_keras's legacy optimizers, once
//!   a step created their slots);
//! - a node reached through an edge named `optimizer` (`tf.train.Checkpoint(optimizer=...)`,
//!   Keras's `model.optimizer`);
//! - a node with an iteration counter and a learning rate among its children (`iter` and
//!   `learning_rate` for legacy optimizers, `_iterations` and `_learning_rate` for Keras 3's,
//!   which store their state as ordinary children).
//!
//! Its state is the optimizer itself, its slot variables, and every node a restore reaches only
//! through an optimizer (its step count, hyperparameters, Keras 3's momentums and velocities).
//! A model variable the optimizer also lists (Keras 3's `_trainable_variables`) is reached
//! through the model too, so it is not optimizer state.

use std::collections::VecDeque;

use crate::graph::{ObjectGraph, Result};

use super::CheckpointView;

/// The optimizer state of one object graph (see the module documentation).
#[derive(Clone, Debug)]
pub struct OptimizerState {
    optimizers: Vec<u32>,
    /// Indexed by node id.
    is_optimizer: Vec<bool>,
    state: Vec<bool>,
}

impl OptimizerState {
    /// Finds the optimizers of `graph` and the state that is theirs alone.
    pub fn of_graph(graph: &ObjectGraph) -> OptimizerState {
        let mut is_optimizer = vec![false; graph.num_nodes()];
        for node_id in 0..graph.num_nodes() as u32 {
            for (name, child) in graph.children(node_id).into_iter().flatten() {
                if name == "optimizer" && child != 0 {
                    is_optimizer[child as usize] = true;
                }
            }
            is_optimizer[node_id as usize] |= node_id != 0 && looks_like_optimizer(graph, node_id);
        }
        let optimizers = (0..graph.num_nodes() as u32).filter(|&node_id| is_optimizer[node_id as usize]).collect();
        let everything = graph.reached_without(&[]);
        let without = graph.reached_without(&is_optimizer);
        let state = everything.iter().zip(&without).map(|(&all, &kept)| all && !kept).collect();
        OptimizerState { optimizers, is_optimizer, state }
    }

    /// The optimizer nodes, in id order.
    pub fn optimizers(&self) -> &[u32] {
        &self.optimizers
    }

    /// Whether node `node_id` is optimizer state; `false` for an id out of range.
    pub fn is_optimizer_state(&self, node_id: u32) -> bool {
        self.state.get(node_id as usize).copied().unwrap_or(false)
    }

    /// The dotted path of `node_id` that passes through no optimizer: TensorFlow's breadth-first
    /// path in the graph without them (Keras 3's kernels, which TensorFlow names
    /// `root.optimizer._trainable_variables.0`, are `root.model._functional._operations.1._kernel`
    /// here). `None` for optimizer state and nodes not reachable from the root.
    pub fn model_path(&self, graph: &ObjectGraph, node_id: u32) -> Result<Option<String>> {
        graph.children(node_id)?; // checks the id
        let mut parents: Vec<Option<(u32, &str)>> = vec![None; graph.num_nodes()];
        let mut seen = vec![false; graph.num_nodes()];
        seen[0] = true;
        let mut queue = VecDeque::from([0u32]);
        while let Some(current) = queue.pop_front() {
            if current == node_id {
                break;
            }
            for (name, child) in graph.children(current)? {
                if !seen[child as usize] && !self.is_optimizer[child as usize] {
                    seen[child as usize] = true;
                    parents[child as usize] = Some((current, name));
                    queue.push_back(child);
                }
            }
        }
        if !seen[node_id as usize] {
            return Ok(None);
        }
        let mut steps = Vec::new();
        let mut current = node_id;
        while let Some((parent, name)) = parents[current as usize] {
            steps.push(name);
            current = parent;
        }
        steps.push("root");
        steps.reverse();
        Ok(Some(steps.join(".")))
    }
}

impl CheckpointView {
    /// The optimizer state of the view's object graph: [`OptimizerState::of_graph`].
    pub fn optimizer_state(&self) -> OptimizerState {
        OptimizerState::of_graph(self.graph())
    }
}

/// Whether node `node_id` has the structure of an optimizer: it records slot variables, or has
/// an iteration counter and a learning rate among its children. (An optimizer is also any node
/// reached through an edge named `optimizer`: see [`OptimizerState::of_graph`].) `false` for an
/// id out of range.
pub fn is_optimizer(graph: &ObjectGraph, node_id: u32) -> bool {
    looks_like_optimizer(graph, node_id)
}

fn looks_like_optimizer(graph: &ObjectGraph, node_id: u32) -> bool {
    if graph.slot_variables(node_id).is_ok_and(|slots| !slots.is_empty()) {
        return true;
    }
    let Ok(children) = graph.children(node_id) else {
        return false;
    };
    let (mut iterations, mut learning_rate) = (false, false);
    for (name, _) in children {
        iterations |= name == "iter" || name == "_iterations";
        learning_rate |= name == "learning_rate" || name == "_learning_rate";
    }
    iterations && learning_rate
}
