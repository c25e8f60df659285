//! `view::OptimizerState` on checkpoints TensorFlow wrote: a variable is optimizer state exactly
//! when TensorFlow's own names say it belongs to the optimizer (legacy slots recorded in
//! `slot_variables`, the `Adam/...` and Keras 3 `adam/...` full names), never a model variable.

mod common;

use ckview::CheckpointView;

/// Every node with a tensor, and whether its full_name is the optimizer's (`Adam/`, `adam/`).
fn variables_by_owner(view: &CheckpointView) -> Vec<(u32, bool)> {
    (0..view.num_nodes() as u32)
        .filter_map(|node_id| {
            let attribute = view.attributes(node_id).unwrap().next()?;
            Some((node_id, attribute.full_name.to_lowercase().starts_with("adam/")))
        })
        .collect()
}

#[test]
fn legacy_adam_slots_and_counters_are_state_model_weights_are_not() {
    let view = CheckpointView::open(common::prefix("keras_adam")).unwrap();
    let state = view.optimizer_state();
    let golden = common::golden("keras_adam");
    let slots: Vec<u64> = golden["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|node| node["slot_variables"].as_array().unwrap().iter().map(|slot| slot["slot_variable_node_id"].as_u64().unwrap()))
        .collect();
    assert_eq!(slots.len(), 8, "the fixture has Adam's m and v for 4 variables");
    for slot in slots {
        assert!(state.is_optimizer_state(slot as u32), "slot node {slot}");
    }
    let variables = variables_by_owner(&view);
    assert!(variables.iter().any(|&(_, optimizer)| !optimizer));
    for (node_id, optimizer) in variables {
        assert_eq!(state.is_optimizer_state(node_id), optimizer, "node {node_id} {:?}", view.path(node_id));
    }
    assert_eq!(state.model_path(&view, 10).unwrap(), view.path(10).unwrap());
}

#[test]
fn keras3_momentums_are_state_the_shared_kernels_belong_to_the_model() {
    let view = CheckpointView::open(common::fixture_dir("keras3").join("model")).unwrap();
    let state = view.optimizer_state();
    let variables = variables_by_owner(&view);
    assert!(variables.iter().filter(|&&(_, optimizer)| optimizer).count() >= 10);
    for &(node_id, optimizer) in &variables {
        assert_eq!(state.is_optimizer_state(node_id), optimizer, "node {node_id} {:?}", view.path(node_id));
        let model_path = state.model_path(&view, node_id).unwrap();
        if optimizer {
            assert_eq!(model_path, None);
        } else {
            // TensorFlow names the kernel through the optimizer; the model's own path reaches it.
            let model_path = model_path.unwrap();
            assert!(model_path.starts_with("root.model."), "{model_path}");
            assert!(view.nodes_at_path(&model_path).contains(&node_id));
        }
    }
}
