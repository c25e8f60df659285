//! match/diff against a fuzzed live graph. The first byte picks how the checkpoint's graph is made:
//! with its top bit set, the first part of the rest (`ckview_fuzz::split`) is a serialized
//! TrackableObjectGraph; otherwise its low 5 bits + 1 give a node count and the first part is
//! (parent, name, child) byte triples. The second part is the live graph: the root handle, then
//! (parent, name, child) triples. Names come from a small table so that they meet often.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use ckview::format::proto::trackable_object_graph::trackable_object::ObjectReference;
use ckview::format::proto::trackable_object_graph::TrackableObject;
use ckview::format::proto::TrackableObjectGraph;
use ckview::format::writer::BundleWriter;
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview::view::{Comparison, EdgeList};
use ckview::CheckpointView;
use ckview_fuzz::{split, Scratch};
use libfuzzer_sys::fuzz_target;
use prost::Message;

const NAMES: [&str; 8] = ["a", "b", "c", "root", "0", "x.S", "", "\u{e9}t\u{e9}"];

fn structured_graph(nodes: usize, triples: &[u8]) -> Vec<u8> {
    let mut graph: Vec<TrackableObject> = vec![TrackableObject::default(); nodes];
    for triple in triples.chunks_exact(3) {
        let parent = triple[0] as usize % nodes;
        let name = NAMES[triple[1] as usize % NAMES.len()];
        let child = (triple[2] as usize % nodes) as i32;
        graph[parent].children.push(ObjectReference { node_id: child, local_name: name.into() });
    }
    TrackableObjectGraph { nodes: graph }.encode_to_vec()
}

/// The documentation example, to diff against.
fn fixture() -> &'static CheckpointView {
    static VIEW: OnceLock<CheckpointView> = OnceLock::new();
    VIEW.get_or_init(|| {
        let prefix = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/doc_children/tf_ckpts-1");
        CheckpointView::open(prefix).expect("the fixture opens")
    })
}

/// What every match or diff result must satisfy.
fn check(view: &CheckpointView, root: u64, result: &Comparison, diff: bool) {
    let matched = &result.matched;
    assert_eq!(matched.first().map(|pair| (pair.node_id, pair.object)), Some((0, root)), "match starts with (0, root)");
    let mut nodes = HashSet::new();
    for pair in matched {
        assert!((pair.node_id as usize) < view.num_nodes());
        assert!(nodes.insert(pair.node_id), "node {} matched twice", pair.node_id);
    }
    for conflict in &result.conflicts {
        assert_ne!(conflict.matched_object, conflict.other_object);
        let first = matched.iter().find(|pair| pair.node_id == conflict.node_id).expect("a conflict is on a matched node");
        assert_eq!(first.object, conflict.matched_object);
    }
    if !diff {
        assert!(result.only_in_checkpoint.is_empty() && result.only_in_live.is_empty());
        return;
    }
    let descendants: HashSet<u32> = view.descendants().iter().copied().collect();
    let mut only = HashSet::new();
    for node in &result.only_in_checkpoint {
        assert!(descendants.contains(node), "only_in_checkpoint {node} is not a descendant");
        assert!(!nodes.contains(node), "only_in_checkpoint {node} was matched");
        assert!(only.insert(*node), "only_in_checkpoint lists {node} twice");
    }
    let objects: HashSet<u64> = matched.iter().map(|pair| pair.object).collect();
    let mut live = HashSet::new();
    for object in &result.only_in_live {
        assert!(!objects.contains(object), "only_in_live {object} was matched");
        assert!(live.insert(*object), "only_in_live lists {object} twice");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let parts = split(rest, 2);
    let graph = if mode & 0x80 != 0 {
        parts[0].to_vec()
    } else {
        structured_graph(usize::from(mode & 0x1f) + 1, parts[0])
    };
    let live_part = parts.get(1).copied().unwrap_or_default();
    let root = u64::from(live_part.first().copied().unwrap_or(0));
    let triples: Vec<(u64, &[u8], u64)> = live_part
        .get(1..)
        .unwrap_or_default()
        .chunks_exact(3)
        .map(|t| (u64::from(t[0]), NAMES[t[1] as usize % NAMES.len()].as_bytes(), u64::from(t[2])))
        .collect();

    let scratch = Scratch::fresh();
    let mut writer = BundleWriter::create(&scratch.path("ck")).expect("tmpfs");
    writer.add_strings(OBJECT_GRAPH_KEY, &[], &[&graph]).expect("tmpfs");
    let prefix = writer.finish().expect("tmpfs");
    let Ok(view) = CheckpointView::open(&prefix) else { return };

    let matched = view.match_live(root, &mut EdgeList::new(triples.iter().copied())).unwrap_or_else(|never| match never {});
    check(&view, root, &matched, false);
    let diffed = view.diff_live(root, &mut EdgeList::new(triples.iter().copied())).unwrap_or_else(|never| match never {});
    check(&view, root, &diffed, true);
    assert_eq!(matched.matched, diffed.matched, "match and diff agree on the pairs");
    assert_eq!(matched.conflicts, diffed.conflicts);

    // Against itself every node matches itself and nothing conflicts.
    let itself = view.diff_checkpoint(&view);
    check(&view, 0, &itself, true);
    assert!(itself.matched.iter().all(|pair| u64::from(pair.node_id) == pair.object));
    assert!(itself.conflicts.is_empty());
    let other = fixture();
    check(&view, 0, &view.diff_checkpoint(other), true);
    check(other, 0, &other.diff_checkpoint(&view), true);
});
