//! The object graph decoder: `ObjectGraph::decode` on the input, every query on every node, and
//! a cross-check against prost's decoding of the same bytes.
#![no_main]

use ckview::format::proto::TrackableObjectGraph;
use ckview::graph::ObjectGraph;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(graph) = ObjectGraph::decode(data) else { return };
    ckview_fuzz::walk_graph(&graph);
    // What ckview accepts, prost must decode to the same nodes and references.
    let proto = TrackableObjectGraph::decode(data).expect("ckview accepted bytes prost refuses");
    assert_eq!(proto.nodes.len(), graph.num_nodes());
    for (node_id, node) in proto.nodes.iter().enumerate() {
        let node_id = node_id as u32;
        assert_eq!(graph.attributes(node_id).unwrap().len(), node.attributes.len());
        assert_eq!(graph.slot_variables(node_id).unwrap().len(), node.slot_variables.len());
        for (name, child) in graph.children(node_id).unwrap() {
            let last = node.children.iter().rev().find(|reference| reference.local_name == name);
            assert_eq!(last.map(|reference| reference.node_id as u32), Some(child), "child {name:?} of {node_id}");
        }
    }
});
