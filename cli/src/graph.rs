//! `ckview children` and `ckview descendants`: TensorFlow's answers, verbatim.

use std::ffi::OsStr;
use std::io::Write;

use crate::args::Options;
use crate::json::Json;
use crate::output::{printable, Out, Paint};
use crate::resolve::{self, open_view, query_error};
use crate::Outcome;

/// `name: node_id` per line (text), or `{"name": node_id, ...}` in TensorFlow's order (JSON).
pub fn children(ckpt: &OsStr, node: Option<&OsStr>, options: Options, out: &mut Out) -> Outcome {
    let view = open_view(ckpt)?;
    let node_id = match node {
        Some(spec) => resolve::node(&view, spec)?,
        None => 0,
    };
    let children = view.children(node_id).map_err(|error| query_error(&view, error))?;
    if options.json {
        let mut json = Json::new(&mut *out);
        json.begin_object()?;
        for (name, child) in children {
            json.field_uint(name, child.into())?;
        }
        json.end_object()?;
        json.finish()?;
    } else {
        for (name, child) in children {
            out.paint(Paint::Bold, printable(name))?;
            writeln!(out, ": {child}")?;
        }
    }
    Ok(0)
}

/// One node id per line (text), or an array of node ids (JSON), breadth first from the root.
pub fn descendants(ckpt: &OsStr, options: Options, out: &mut Out) -> Outcome {
    let view = open_view(ckpt)?;
    if options.json {
        let mut json = Json::new(&mut *out);
        json.uints(view.descendants().iter().map(|&node_id| u64::from(node_id)))?;
        json.finish()?;
    } else {
        for node_id in view.descendants() {
            writeln!(out, "{node_id}")?;
        }
    }
    Ok(0)
}
