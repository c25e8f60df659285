//! Prints the object graph of a checkpoint as an indented tree: each node's name and id, and each
//! serialized tensor with its dtype and shape.
//!
//!     cargo run --example tree -- tests/fixtures/doc_children
//!
//! A node reached again (shared objects, cycles) is printed once and then marked, not expanded.

use std::process::ExitCode;

use ckview::format::dtype_name;
use ckview::CheckpointView;

fn main() -> ExitCode {
    let Some(save_path) = std::env::args_os().nth(1) else {
        eprintln!("usage: tree CHECKPOINT  (a prefix, a directory, a .index or a data shard)");
        return ExitCode::from(2);
    };
    let view = match CheckpointView::open(&save_path) {
        Ok(view) => view,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{} ({} nodes)", view.bundle().prefix().display(), view.num_nodes());
    print_tree(&view);
    ExitCode::SUCCESS
}

/// Depth first with an explicit stack, so that a graph a million nodes deep prints too.
fn print_tree(view: &CheckpointView) {
    let mut printed = vec![false; view.num_nodes()];
    let mut stack: Vec<(u32, String, usize)> = vec![(0, "root".into(), 0)];
    while let Some((node_id, name, depth)) = stack.pop() {
        let indent = "  ".repeat(depth);
        if std::mem::replace(&mut printed[node_id as usize], true) {
            println!("{indent}{name} -> node {node_id} (shown above)");
            continue;
        }
        println!("{indent}{name} (node {node_id})");
        for attribute in view.attributes(node_id).expect("node ids come from the view") {
            let key = attribute.checkpoint_key.as_bytes();
            let described = match view.bundle().entry(key) {
                Ok(Some(entry)) => format!("{} {:?}", dtype_name(entry.dtype), entry.shape),
                Ok(None) => "missing from the bundle".to_string(),
                Err(error) => format!("unreadable: {error}"),
            };
            println!("{indent}  .{} = {described}  [{}]", attribute.name, attribute.checkpoint_key);
        }
        let children = view.children(node_id).expect("node ids come from the view");
        for (child_name, child_id) in children.iter().rev() {
            stack.push((child_id, child_name.to_string(), depth + 1));
        }
    }
}
