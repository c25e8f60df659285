//! `ckview rewrite`: a new checkpoint without the optimizer state, some objects, or (TF1) some
//! keys, written by the library's `rewrite` layer; this file only parses and reports.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;

use ckview::rewrite::{rewrite, rewrite_v1, RewriteError, RewriteOptions, RewriteSummary};
use ckview::format::Checkpoint;
use ckview::ObjectGraph;
use serde::Serialize;

use crate::output::{human_bytes, printable, Out};
use crate::resolve::{no_such_node, open_checkpoint};
use crate::{json, Failure, Outcome};

#[derive(Serialize)]
struct Report<'a> {
    source: &'a str,
    prefix: &'a str,
    nodes_before: usize,
    nodes_after: usize,
    tensors_before: usize,
    tensors_after: usize,
    bytes_before: u64,
    bytes_after: u64,
}

pub fn run(ckpt: &OsStr, out_prefix: &OsStr, options: RewriteOptions, as_json: bool, out: &mut Out) -> Outcome {
    let checkpoint = open_checkpoint(ckpt)?;
    let written = match &checkpoint {
        Checkpoint::V2(bundle) => rewrite(bundle, Path::new(out_prefix), &options),
        Checkpoint::V1(v1) => rewrite_v1(v1, Path::new(out_prefix), &options),
    };
    let summary = written.map_err(|error| match (&error, &checkpoint) {
        // The nearest paths and full names, as `show` suggests them.
        (RewriteError::NoSuchNode { prefix, spec }, Checkpoint::V2(bundle)) => match ObjectGraph::load(bundle) {
            Ok(graph) => no_such_node(&graph, prefix, spec),
            Err(_) => Failure::Error(error.to_string()),
        },
        _ => Failure::Error(error.to_string()),
    })?;
    let source = checkpoint.path().display().to_string();
    if as_json {
        return report_json(&source, &summary, out);
    }
    let RewriteSummary { prefix, nodes_before, nodes_after, tensors_before, tensors_after, bytes_before, bytes_after } = summary;
    writeln!(out, "wrote {} from {}", printable(&prefix.display().to_string()), printable(&source))?;
    if nodes_before > 0 {
        writeln!(out, "nodes: {nodes_before} -> {nodes_after}")?;
    }
    writeln!(out, "tensors: {tensors_before} -> {tensors_after}")?;
    writeln!(out, "size: {} -> {} ({bytes_before} -> {bytes_after} bytes)", human_bytes(bytes_before), human_bytes(bytes_after))?;
    Ok(0)
}

fn report_json(source: &str, summary: &RewriteSummary, out: &mut Out) -> Outcome {
    let prefix = summary.prefix.display().to_string();
    json::print(
        out,
        &Report {
            source,
            prefix: &prefix,
            nodes_before: summary.nodes_before,
            nodes_after: summary.nodes_after,
            tensors_before: summary.tensors_before,
            tensors_after: summary.tensors_after,
            bytes_before: summary.bytes_before,
            bytes_after: summary.bytes_after,
        },
    )?;
    Ok(0)
}
