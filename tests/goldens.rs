//! The object graph of every fixture against TensorFlow 2.21's own answers (goldens written by
//! `tests/fixtures/make_fixtures.py`): children of every node in dict order, descendants,
//! `_descendants_with_paths`, and the raw node records.

mod common;

use ckview::{CheckpointView, GraphError};
use common::{fixture_dir, fixture_names, golden, prefix, tensorflow_error, REFUSED_AT_OPEN};
use serde_json::{json, Value};

fn children_json(view: &CheckpointView, node_id: u32) -> Value {
    let pairs: Vec<Value> = view.children(node_id).unwrap().iter().map(|(name, child)| json!([name, child])).collect();
    json!([node_id, pairs])
}

fn node_json(view: &CheckpointView, node_id: u32) -> Value {
    let attributes: Vec<Value> = view
        .attributes(node_id)
        .unwrap()
        .iter()
        .map(|a| json!({"name": a.name, "full_name": a.full_name, "checkpoint_key": a.checkpoint_key}))
        .collect();
    let slots: Vec<Value> = view
        .slot_variables(node_id)
        .unwrap()
        .iter()
        .map(|s| {
            json!({"original_variable_node_id": s.original_variable_node_id, "slot_name": s.slot_name,
                   "slot_variable_node_id": s.slot_variable_node_id})
        })
        .collect();
    let saver = view
        .registered_saver(node_id)
        .unwrap()
        .map(|s| json!({"name": s.name, "object_name": s.object_name}));
    json!({"attributes": attributes, "slot_variables": slots, "registered_saver": saver,
           "has_checkpoint_values": view.has_checkpoint_values(node_id).unwrap()})
}

#[test]
fn graphs_equal_tensorflow() {
    let mut compared = 0;
    for name in fixture_names() {
        let golden = golden(&name);
        if tensorflow_error(&golden).is_some() || REFUSED_AT_OPEN.contains(&name.as_str()) {
            continue;
        }
        let view = CheckpointView::open(prefix(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let num_nodes = golden["num_nodes"].as_u64().unwrap() as u32;
        assert_eq!(view.num_nodes() as u32, num_nodes, "{name}: node count");
        let children: Vec<Value> = (0..num_nodes).map(|id| children_json(&view, id)).collect();
        assert_eq!(Value::from(children), golden["children"], "{name}: children");
        assert_eq!(json!(view.descendants()), golden["descendants"], "{name}: descendants");
        let paths: Vec<Value> =
            view.descendants().iter().map(|&id| json!([id, view.path(id).unwrap().unwrap()])).collect();
        assert_eq!(Value::from(paths), golden["paths"], "{name}: paths");
        for (id, expected) in golden["nodes"].as_array().unwrap().iter().enumerate() {
            let mut expected = expected.clone();
            expected.as_object_mut().unwrap().remove("children_raw");
            assert_eq!(node_json(&view, id as u32), expected, "{name}: node {id}");
        }
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} fixtures were compared");
}

#[test]
fn documentation_listing_is_reproduced() {
    let view = CheckpointView::open(prefix("doc_children")).unwrap();
    let listing: String = view
        .children(0)
        .unwrap()
        .iter()
        .map(|(name, node_id)| format!("- name: '{name}', node_id: {node_id}\n"))
        .collect();
    let expected = std::fs::read_to_string(fixture_dir("doc_children").join("listing.txt")).unwrap();
    assert_eq!(listing, expected);
}

#[test]
fn name_based_checkpoints_are_refused_as_tensorflow_does() {
    for name in ["tf1_name_based", "partitioned"] {
        assert_eq!(golden(name)["view_error"]["type"], "ValueError");
        let error = CheckpointView::open(prefix(name)).unwrap_err();
        assert!(matches!(error, GraphError::NameBasedCheckpoint { .. }), "{name}: {error}");
        assert!(error.to_string().contains("TF1 name-based checkpoint"), "{error}");
    }
}

#[test]
fn graphs_tensorflow_cannot_walk_are_refused_at_open() {
    for name in REFUSED_AT_OPEN {
        let error = CheckpointView::open(prefix(name)).unwrap_err();
        assert!(matches!(error, GraphError::CorruptObjectGraph { .. }), "{name}: {error}");
    }
    assert_eq!(golden("crafted_negative_ref")["descendants"][1], -1);
}

#[test]
fn every_path_form_opens_the_same_checkpoint() {
    let dir = fixture_dir("doc_children");
    let forms = [
        dir.join("tf_ckpts-1"),
        dir.clone(),
        dir.join("tf_ckpts-1.index"),
        dir.join("tf_ckpts-1.data-00000-of-00001"),
    ];
    for form in forms {
        let view = CheckpointView::open(&form).unwrap_or_else(|e| panic!("{}: {e}", form.display()));
        assert_eq!(view.bundle().prefix(), dir.join("tf_ckpts-1"));
        assert_eq!(view.num_nodes(), 13);
    }
    // The manager folder's state file names ckpt-3 as the latest.
    let manager = CheckpointView::open(fixture_dir("manager")).unwrap();
    assert_eq!(manager.bundle().prefix(), fixture_dir("manager").join("ckpt-3"));
}

#[test]
fn a_path_that_leads_nowhere_says_what_was_tried() {
    let missing = fixture_dir("doc_children").join("missing-1");
    let message = CheckpointView::open(&missing).unwrap_err().to_string();
    assert!(message.contains("missing-1.index"), "{message}");
    let empty_dir = std::env::temp_dir().join(format!("ckview-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty_dir).unwrap();
    let message = CheckpointView::open(&empty_dir).unwrap_err().to_string();
    assert!(message.contains("checkpoint"), "{message}");
    std::fs::remove_dir_all(&empty_dir).unwrap();
}

#[test]
fn out_of_range_node_ids_are_errors() {
    let view = CheckpointView::open(prefix("doc_children")).unwrap();
    assert!(matches!(view.children(13), Err(GraphError::NodeOutOfRange { node_id: 13, num_nodes: 13 })));
    assert!(view.path(u32::MAX).is_err());
}
