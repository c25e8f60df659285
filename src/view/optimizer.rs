//! Which nodes of a checkpoint are optimizer state: what `rewrite --drop-slots` and
//! `export --drop-slots` leave out, so that a model restored without its optimizer
//! (`tf.train.Checkpoint(model=m).restore(...)`) finds everything it needs and nothing else.
//!
//! An optimizer is recognised by its own structure, not by the name users give it:
//! - a node recording `slot_variables` (TF2's OptimizerV2 and tf_keras's legacy optimizers, once
//!   a step created their slots);
//! - a Keras 3 optimizer, which stores its state as ordinary children: a node with the children
//!   `_iterations` and `_variables` that `keras.optimizers.Optimizer` tracks.
//!
//! Its state is the optimizer itself, its slot variables, and every node a restore reaches only
//! through an optimizer (its step count, hyperparameters, Keras 3's momentums and velocities).
//! A model variable the optimizer also lists (Keras 3's `_trainable_variables`) is reached
//! through the model too, so it is not optimizer state.

use crate::graph::ObjectGraph;

/// The optimizer state of one object graph (see the module documentation).
#[derive(Clone, Debug)]
pub struct OptimizerState {
    optimizers: Vec<u32>,
    state: Vec<bool>,
}

impl OptimizerState {
    /// Finds the optimizers of `graph` and the state that is theirs alone.
    pub fn of(graph: &ObjectGraph) -> OptimizerState {
        let optimizers: Vec<u32> = (0..graph.num_nodes() as u32).filter(|&node_id| is_optimizer(graph, node_id)).collect();
        let mut cut = vec![false; graph.num_nodes()];
        for &optimizer in &optimizers {
            cut[optimizer as usize] = true;
        }
        let everything = graph.reached_without(&[]);
        let without = graph.reached_without(&cut);
        let state = everything.iter().zip(&without).map(|(&all, &kept)| all && !kept).collect();
        OptimizerState { optimizers, state }
    }

    /// The optimizer nodes, in id order.
    pub fn optimizers(&self) -> &[u32] {
        &self.optimizers
    }

    /// Whether node `node_id` is optimizer state; `false` for an id out of range.
    pub fn contains(&self, node_id: u32) -> bool {
        self.state.get(node_id as usize).copied().unwrap_or(false)
    }
}

/// Whether node `node_id` is an optimizer: it records slot variables, or has the children of a
/// Keras 3 optimizer (`_iterations` and `_variables`). `false` for an id out of range.
pub fn is_optimizer(graph: &ObjectGraph, node_id: u32) -> bool {
    if graph.slot_variables(node_id).is_ok_and(|slots| !slots.is_empty()) {
        return true;
    }
    let Ok(children) = graph.children(node_id) else {
        return false;
    };
    let (mut iterations, mut variables) = (false, false);
    for (name, _) in children {
        iterations |= name == "_iterations";
        variables |= name == "_variables";
    }
    iterations && variables
}
