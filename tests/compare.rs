//! match and diff against live graphs: TensorFlow's own results on the documentation's examples
//! and a shared/cyclic graph (goldens), the callback contract, conflicts, and checkpoint vs
//! checkpoint.

mod common;

use std::collections::HashMap;

use ckview::view::{ChildSink, Comparison, EdgeList, LiveGraph};
use ckview::CheckpointView;
use common::{golden, prefix};
use serde_json::{json, Value};

/// The live graph TensorFlow compared against, as (parent, name, child) edges between indices
/// of its `trackable_tree` (index 0 is the root object).
fn tree_edges(golden: &Value) -> Vec<(u64, Vec<u8>, u64)> {
    let mut edges = Vec::new();
    for (parent, object) in golden["trackable_tree"].as_array().unwrap().iter().enumerate() {
        for pair in object["children"].as_array().unwrap() {
            edges.push((parent as u64, pair[0].as_str().unwrap().as_bytes().to_vec(), pair[1].as_u64().unwrap()));
        }
    }
    edges
}

fn edge_list(edges: &[(u64, Vec<u8>, u64)]) -> EdgeList<'_> {
    EdgeList::new(edges.iter().map(|(parent, name, child)| (*parent, name.as_slice(), *child)))
}

const LIVE_FIXTURES: [&str; 3] = ["doc_children", "doc_diff", "cycles_and_shared"];

#[test]
fn match_and_diff_equal_tensorflow() {
    for name in LIVE_FIXTURES {
        let golden = golden(name);
        let view = CheckpointView::open(prefix(name)).unwrap();
        let edges = tree_edges(&golden);
        let matched = view.match_live(0, &mut edge_list(&edges)).unwrap();
        let pairs: Vec<Value> = matched.matched.iter().map(|p| json!([p.node_id, p.object])).collect();
        assert_eq!(Value::from(pairs.clone()), golden["match"], "{name}: match");
        let diff = view.diff_live(0, &mut edge_list(&edges)).unwrap();
        assert_eq!(Value::from(diff.matched.iter().map(|p| json!([p.node_id, p.object])).collect::<Vec<_>>()), golden["match"]);
        assert_eq!(json!(diff.only_in_checkpoint), golden["diff_only_in_checkpoint"], "{name}: only in checkpoint");
        assert_eq!(json!(diff.only_in_live), golden["diff_only_in_trackable"], "{name}: only in live");
        assert!(diff.conflicts.is_empty());
    }
}

#[test]
fn documentation_diff_example() {
    let golden = golden("doc_diff");
    assert_eq!(golden["diff_only_in_checkpoint"], json!([4, 5, 8, 9, 10, 11, 12, 13, 14]));
    let view = CheckpointView::open(prefix("doc_diff")).unwrap();
    let edges = tree_edges(&golden);
    let diff = view.diff_live(0, &mut edge_list(&edges)).unwrap();
    assert_eq!(json!(diff.only_in_checkpoint), golden["diff_only_in_checkpoint"]);
}

/// Wraps a live graph to count how often each object is asked, and to fail on one object.
struct Counting<'e> {
    inner: EdgeList<'e>,
    asked: HashMap<u64, usize>,
    fail_on: Option<u64>,
}

impl LiveGraph for Counting<'_> {
    type Error = String;

    fn children(&mut self, object: u64, sink: &mut ChildSink<'_>) -> Result<(), String> {
        *self.asked.entry(object).or_default() += 1;
        if self.fail_on == Some(object) {
            return Err(format!("cannot list object {object}"));
        }
        self.inner.children(object, sink).map_err(|never| match never {})
    }
}

#[test]
fn each_live_object_is_asked_at_most_once() {
    let golden = golden("cycles_and_shared");
    let view = CheckpointView::open(prefix("cycles_and_shared")).unwrap();
    let edges = tree_edges(&golden);
    let mut live = Counting { inner: edge_list(&edges), asked: HashMap::new(), fail_on: None };
    view.diff_live(0, &mut live).unwrap();
    assert!(live.asked.values().all(|&count| count == 1), "{:?}", live.asked);
    assert_eq!(live.asked.len(), golden["trackable_tree"].as_array().unwrap().len());
}

#[test]
fn the_callers_error_comes_back_intact() {
    let golden = golden("doc_diff");
    let view = CheckpointView::open(prefix("doc_diff")).unwrap();
    let edges = tree_edges(&golden);
    let mut live = Counting { inner: edge_list(&edges), asked: HashMap::new(), fail_on: Some(4) };
    assert_eq!(view.diff_live(0, &mut live), Err("cannot list object 4".to_string()));
}

#[test]
fn inconsistent_references_are_reported() {
    // In the checkpoint, root.first and root.second are one variable (node 2). Live, they are two
    // objects: TensorFlow keeps the first and logs a warning; ckview also lists the conflict.
    let golden = golden("cycles_and_shared");
    let view = CheckpointView::open(prefix("cycles_and_shared")).unwrap();
    let mut edges = tree_edges(&golden);
    let second = edges.iter_mut().find(|(parent, name, _)| *parent == 0 && name == b"second").unwrap();
    second.2 = 1000;
    let result = view.match_live(0, &mut edge_list(&edges)).unwrap();
    let conflict = result.conflicts.iter().find(|c| c.node_id == 2).expect("node 2 conflicts");
    assert_eq!((conflict.matched_object, conflict.other_object), (2, 1000));
    assert!(result.matched.iter().any(|p| p.node_id == 2 && p.object == 2));
}

#[test]
fn live_graphs_with_duplicates_and_cycles_terminate() {
    let view = CheckpointView::open(prefix("crafted_graph")).unwrap();
    // Every object names itself and the root; one name is reported twice (the last one counts).
    let edges: Vec<(u64, &[u8], u64)> =
        vec![(0, b"x", 0), (0, b"x", 7), (7, b"loop", 7), (7, b"to_root", 0), (0, b"dup", 9), (9, b"deep", 9)];
    let diff = view.diff_live(0, &mut EdgeList::new(edges)).unwrap();
    assert!(diff.matched.contains(&ckview::view::MatchedPair { node_id: 1, object: 7 }));
    assert_eq!(diff.only_in_live, Vec::<u64>::new());
}

/// For tree-shaped graphs, "same name at the same position" means "same path": an oracle for
/// checkpoint-vs-checkpoint diffs that does not share code with the matcher.
fn by_path(view: &CheckpointView) -> HashMap<String, u32> {
    view.descendants().iter().map(|&id| (view.path(id).unwrap().unwrap(), id)).collect()
}

#[test]
fn checkpoint_against_checkpoint() {
    let a = CheckpointView::open(prefix("doc_children")).unwrap();
    let b = CheckpointView::open(prefix("doc_diff")).unwrap();
    let itself = a.diff_checkpoint(&a);
    assert!(itself.only_in_checkpoint.is_empty() && itself.only_in_live.is_empty());
    assert_eq!(itself.matched.len(), a.descendants().len());

    let diff: Comparison = a.diff_checkpoint(&b);
    let (paths_a, paths_b) = (by_path(&a), by_path(&b));
    let mut expected: Vec<(u32, u64)> =
        paths_a.iter().filter_map(|(path, &id)| paths_b.get(path).map(|&other| (id, other as u64))).collect();
    let mut got: Vec<(u32, u64)> = diff.matched.iter().map(|p| (p.node_id, p.object)).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let only_a: Vec<u32> = a.descendants().iter().copied().filter(|id| !got.iter().any(|p| p.0 == *id)).collect();
    assert_eq!(diff.only_in_checkpoint, only_a);
    let only_b: Vec<u64> =
        b.descendants().iter().map(|&id| id as u64).filter(|id| !got.iter().any(|p| p.1 == *id)).collect();
    assert_eq!(diff.only_in_live, only_b);
}
