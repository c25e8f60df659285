//! `ckview children` and `ckview descendants`: TensorFlow's answers, verbatim.

use std::ffi::OsStr;
use std::io::Write;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::output::{printable, Out, Paint};
use crate::resolve::{self, open_view, query_error};
use crate::{json, Outcome};

/// `{"name": node_id, ...}` in TensorFlow's (dict) order, which a map type would lose.
struct Children<'v>(Vec<(&'v str, u32)>);

impl Serialize for Children<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, child) in &self.0 {
            map.serialize_entry(name, child)?;
        }
        map.end()
    }
}

/// `name: node_id` per line (text), or `{"name": node_id, ...}` in TensorFlow's order (JSON).
pub fn children(ckpt: &OsStr, node: Option<&str>, as_json: bool, out: &mut Out) -> Outcome {
    let view = open_view(ckpt)?;
    let node_id = match node {
        Some(spec) => resolve::node(&view, spec)?,
        None => 0,
    };
    let children = Children(view.children(node_id).map_err(|error| query_error(&view, error))?.collect());
    if as_json {
        json::print(out, &children)?;
    } else {
        for (name, child) in children.0 {
            out.paint(Paint::Bold, printable(name))?;
            writeln!(out, ": {child}")?;
        }
    }
    Ok(0)
}

/// One node id per line (text), or an array of node ids (JSON), breadth first from the root.
pub fn descendants(ckpt: &OsStr, as_json: bool, out: &mut Out) -> Outcome {
    let view = open_view(ckpt)?;
    if as_json {
        json::print(out, &view.descendants())?;
    } else {
        for node_id in view.descendants() {
            writeln!(out, "{node_id}")?;
        }
    }
    Ok(0)
}
