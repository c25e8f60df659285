//! `ckview tree`: the object graph as an indented tree by dotted path, variables with dtype,
//! shape and size, optimizer slots under their variable, shared objects and cycles marked, and
//! totals. Depth first with an explicit stack: a graph a million levels deep prints too.
//!
//! Each node is expanded under the edge through which TensorFlow's breadth-first walk first
//! reaches it (`ObjectGraph::parent`), so each printed path is the node's
//! `_descendants_with_paths` path; every other edge to it prints as a reference
//! (`-> root.a.b (shared)`, or `(cycle)` to an ancestor).

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::io::{self, Write};

use ckview::CheckpointView;
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::entries::Entries;
use crate::output::{elide_front, human_bytes, plural, printable, shape_text, tensor_bytes, Out, Paint};
use crate::resolve::open_view;
use crate::{json, Failure, Outcome};

/// Indentation stops growing here; deeper lines say their depth instead.
const MAX_INDENT: usize = 40;
/// Text lines show at most about this many bytes of a path (the end of it).
const TEXT_PATH_BYTES: usize = 160;
/// JSON gives paths up to this length, `null` beyond (depth and name still locate the node).
const JSON_PATH_BYTES: usize = 4096;

/// `parent_len` of a node shown at top level, under no parent: its path comes from the view.
const TOP_LEVEL: usize = usize::MAX;

/// What a node's serialized tensor turned out to be in the bundle.
enum Tensor {
    Found { dtype: std::borrow::Cow<'static, str>, shape: Vec<u64>, elements: u64, bytes: u64 },
    Missing,
    Unreadable(String),
}

/// One serialized tensor of a node (`VARIABLE_VALUE`, ...).
struct Attr<'v> {
    name: &'v str,
    /// What the tensor's key adds to the attribute's `checkpoint_key` (`-keys`, `_STATE`), or "".
    suffix: String,
    key: String,
    /// The name of the object it was saved from (Keras: the layer's name, `conv1_conv/kernel`).
    full_name: &'v str,
    tensor: Tensor,
}

/// One optimizer slot of a variable.
struct Slot<'v> {
    name: &'v str,
    node: u32,
    optimizer: u32,
    tensor: Option<Attr<'v>>,
}

/// One line of the tree.
enum Line<'v, 'p> {
    /// A node, expanded here: `path` is its dotted path, TensorFlow's `_descendants_with_paths` path.
    Node {
        depth: usize,
        node: u32,
        name: &'v str,
        path: &'p str,
        attributes: Vec<Attr<'v>>,
        slots: Vec<Slot<'v>>,
    },
    /// An edge to a node expanded elsewhere: `path` is this edge's path, `target` the node's.
    Ref { depth: usize, node: u32, name: &'v str, path: &'p str, target: Option<String>, cycle: bool },
}

/// What the last line sums up.
#[derive(Clone, Copy, Default, Serialize)]
struct Totals {
    nodes: u64,
    #[serde(rename = "reachable_nodes")]
    reachable: u64,
    variables: u64,
    slot_variables: u64,
    parameters: u64,
    bytes: u64,
}

enum Frame<'v> {
    Enter { node: u32, name: &'v str, depth: usize, parent_len: usize },
    Ref { node: u32, name: &'v str, depth: usize, parent_len: usize },
    Exit(u32),
}

pub fn run(ckpt: &OsStr, as_json: bool, out: &mut Out) -> Outcome {
    let view = open_view(ckpt)?;
    let prefix = view.bundle().prefix().display().to_string();
    if as_json {
        let document = TreeDocument { view: &view, prefix: &prefix, failure: RefCell::new(None) };
        let printed = json::print(out, &document);
        // A query that failed during the walk is the real error, not the serializer's.
        if let Some(failure) = document.failure.take() {
            return Err(failure);
        }
        printed?;
        return Ok(0);
    }
    out.paint(Paint::Dim, format!("checkpoint {}", printable(&prefix)))?;
    writeln!(out)?;
    let totals = walk(&view, &mut |line| text_line(out, line))?;
    let variables = match totals.slot_variables {
        0 => plural(totals.variables, "variable"),
        slots => format!("{} ({slots} of them optimizer slots)", plural(totals.variables, "variable")),
    };
    out.paint(
        Paint::Bold,
        format!(
            "totals: {} ({} reachable), {variables}, {}, {}",
            plural(totals.nodes, "node"),
            totals.reachable,
            plural(totals.parameters, "parameter"),
            human_bytes(totals.bytes)
        ),
    )?;
    writeln!(out)?;
    Ok(0)
}

/// The tensor stored under `key`, described.
fn tensor(view: &CheckpointView, entries: &Entries<'_>, key: &str) -> Tensor {
    match entries.get(key.as_bytes()) {
        Ok(Some(entry)) => Tensor::Found {
            dtype: entry.dtype_label(),
            elements: entry.num_elements(),
            bytes: tensor_bytes(view.bundle(), key.as_bytes(), &entry),
            shape: entry.shape,
        },
        Ok(None) => Tensor::Missing,
        Err(error) => Tensor::Unreadable(error.to_string()),
    }
}

/// A node's tensors, one per stored key: a table's attribute has two (`-keys`, `-values`).
fn node_attributes<'v>(view: &'v CheckpointView, entries: &Entries<'_>, node: u32) -> Result<Vec<Attr<'v>>, Failure> {
    let attributes: Vec<_> = view.attributes(node)?.collect();
    let keys: Vec<&str> = attributes.iter().map(|attribute| attribute.checkpoint_key).collect();
    let mut found = Vec::new();
    for attribute in &attributes {
        let siblings: Vec<&str> = keys.iter().copied().filter(|&key| key != attribute.checkpoint_key).collect();
        let stored = match entries.attribute_tensors(attribute.checkpoint_key, &siblings) {
            Ok(stored) => stored,
            Err(error) => {
                found.push(Attr {
                    name: attribute.name,
                    suffix: String::new(),
                    key: attribute.checkpoint_key.to_string(),
                    full_name: attribute.full_name,
                    tensor: Tensor::Unreadable(error.to_string()),
                });
                continue;
            }
        };
        for stored in stored {
            found.push(Attr {
                name: attribute.name,
                tensor: tensor(view, entries, &stored.key),
                suffix: stored.suffix,
                key: stored.key,
                full_name: attribute.full_name,
            });
        }
    }
    Ok(found)
}

/// Adds a variable (a node whose VARIABLE_VALUE was found) to the totals, once per node.
fn count(totals: &mut Totals, counted: &mut [bool], node: u32, attributes: &[Attr<'_>]) -> bool {
    let value = attributes.iter().find(|attribute| attribute.name == "VARIABLE_VALUE");
    match value {
        Some(Attr { tensor: Tensor::Found { elements, bytes, .. }, .. }) if !counted[node as usize] => {
            counted[node as usize] = true;
            totals.variables += 1;
            totals.parameters += elements;
            totals.bytes += bytes;
            true
        }
        _ => false,
    }
}

/// Walks the tree depth first and hands each line to `emit`; returns the totals.
fn walk<'v>(view: &'v CheckpointView, emit: &mut dyn FnMut(Line<'v, '_>) -> io::Result<()>) -> Result<Totals, Failure> {
    let count_nodes = view.num_nodes();
    let entries = Entries::load(view.bundle());
    let mut totals =
        Totals { nodes: count_nodes as u64, reachable: view.descendants().len() as u64, ..Totals::default() };
    let mut counted = vec![false; count_nodes];
    let mut expanded = vec![false; count_nodes];
    let mut on_path = vec![false; count_nodes];
    let mut path = String::new();
    let mut stack = vec![Frame::Enter { node: 0, name: "root", depth: 0, parent_len: 0 }];
    let mut extra_roots = view.descendants().iter();
    loop {
        let Some(frame) = stack.pop() else {
            // Nodes TensorFlow reaches only through a child name given twice (the dict keeps the
            // last child for it): shown at top level, with TensorFlow's path.
            match extra_roots.find(|&&node| !expanded[node as usize]) {
                Some(&node) => {
                    stack.push(Frame::Enter { node, name: "", depth: 1, parent_len: TOP_LEVEL });
                    continue;
                }
                None => break,
            }
        };
        match frame {
            Frame::Exit(node) => on_path[node as usize] = false,
            Frame::Enter { node, name, depth, parent_len } if !expanded[node as usize] => {
                if parent_len == TOP_LEVEL {
                    path = view.path(node)?.unwrap_or_else(|| format!("node {node}"));
                } else {
                    path.truncate(parent_len);
                    if depth > 0 {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                expanded[node as usize] = true;
                on_path[node as usize] = true;
                let attributes = node_attributes(view, &entries, node)?;
                count(&mut totals, &mut counted, node, &attributes);
                let mut slots = Vec::new();
                for variable_slot in view.variable_slots(node)? {
                    let slot_node = variable_slot.slot.slot_variable_node_id;
                    let slot_attributes = node_attributes(view, &entries, slot_node)?;
                    if count(&mut totals, &mut counted, slot_node, &slot_attributes) {
                        totals.slot_variables += 1;
                    }
                    let tensor = slot_attributes.into_iter().find(|attribute| attribute.name == "VARIABLE_VALUE");
                    slots.push(Slot {
                        name: variable_slot.slot.slot_name,
                        node: slot_node,
                        optimizer: variable_slot.optimizer_node_id,
                        tensor,
                    });
                }
                emit(Line::Node { depth, node, name, path: &path, attributes, slots })?;
                stack.push(Frame::Exit(node));
                let parent_len = path.len();
                let children: Vec<(&str, u32)> = view.children(node)?.collect();
                for &(child_name, child) in children.iter().rev() {
                    // Expanded under the edge TensorFlow's breadth-first walk names it by.
                    let is_tree_edge = child != 0 && view.parent(child)? == Some((node, child_name));
                    stack.push(if is_tree_edge {
                        Frame::Enter { node: child, name: child_name, depth: depth + 1, parent_len }
                    } else {
                        Frame::Ref { node: child, name: child_name, depth: depth + 1, parent_len }
                    });
                }
            }
            // Reached again (only where a graph repeats child names): a reference after all.
            Frame::Enter { node, name, depth, parent_len } => {
                stack.push(Frame::Ref { node, name, depth, parent_len });
            }
            Frame::Ref { node, name, depth, parent_len } => {
                path.truncate(parent_len.min(path.len()));
                path.push('.');
                path.push_str(name);
                let target = view.path(node)?;
                emit(Line::Ref { depth, node, name, path: &path, target, cycle: on_path[node as usize] })?;
            }
        }
    }
    Ok(totals)
}

fn indent(out: &mut Out, depth: usize) -> io::Result<()> {
    write!(out, "{:width$}", "", width = depth.min(MAX_INDENT) * 2)?;
    if depth > MAX_INDENT {
        out.paint(Paint::Dim, format!("[depth {depth}] "))?;
    }
    Ok(())
}

/// `float32 [2, 3]  24 B`, or what went wrong.
fn tensor_text(out: &mut Out, tensor: &Tensor, key: &str) -> io::Result<()> {
    match tensor {
        Tensor::Found { dtype, shape, bytes, .. } => {
            out.paint(Paint::Cyan, format!("{dtype} {}", shape_text(shape)))?;
            write!(out, "  ")?;
            out.paint(Paint::Green, human_bytes(*bytes))
        }
        Tensor::Missing => out.paint(Paint::Red, format!("missing from the bundle (key {})", printable(key))),
        Tensor::Unreadable(error) => out.paint(Paint::Red, format!("unreadable: {}", printable(error))),
    }
}

fn text_line(out: &mut Out, line: Line<'_, '_>) -> io::Result<()> {
    match line {
        Line::Node { depth, node, path, attributes, slots, .. } => {
            indent(out, depth)?;
            let value = attributes.iter().find(|attribute| attribute.name == "VARIABLE_VALUE");
            let paint = if value.is_some() { Paint::Bold } else { Paint::Blue };
            out.paint(paint, printable(&elide_front(path, TEXT_PATH_BYTES)))?;
            out.paint(Paint::Dim, format!(" #{node}"))?;
            if let Some(value) = value {
                write!(out, "  ")?;
                tensor_text(out, &value.tensor, &value.key)?;
                full_name_text(out, value.full_name, path)?;
            }
            writeln!(out)?;
            for attribute in attributes.iter().filter(|attribute| attribute.name != "VARIABLE_VALUE") {
                indent(out, depth + 1)?;
                out.paint(Paint::Dim, format!("attribute {}{}  ", printable(attribute.name), printable(&attribute.suffix)))?;
                tensor_text(out, &attribute.tensor, &attribute.key)?;
                writeln!(out)?;
            }
            for slot in &slots {
                indent(out, depth + 1)?;
                out.paint(Paint::Magenta, format!("slot {}", printable(slot.name)))?;
                out.paint(Paint::Dim, format!(" #{} (optimizer #{})", slot.node, slot.optimizer))?;
                write!(out, "  ")?;
                match &slot.tensor {
                    Some(attribute) => {
                        tensor_text(out, &attribute.tensor, &attribute.key)?;
                        full_name_text(out, attribute.full_name, "")?;
                    }
                    None => out.paint(Paint::Red, "no VARIABLE_VALUE")?,
                }
                writeln!(out)?;
            }
            Ok(())
        }
        Line::Ref { depth, node, path, target, cycle, .. } => {
            indent(out, depth)?;
            write!(out, "{} ", printable(&elide_front(path, TEXT_PATH_BYTES)))?;
            let target = target.map_or_else(
                || format!("node {node}"),
                |target| printable(&elide_front(&target, TEXT_PATH_BYTES)).into_owned(),
            );
            if cycle {
                out.paint(Paint::Magenta, format!("-> {target} (cycle)"))?;
            } else {
                out.paint(Paint::Yellow, format!("-> {target} (shared)"))?;
            }
            writeln!(out)
        }
    }
}

/// `  (dense_a/kernel)` after a variable, when its full_name says something its path does not.
fn full_name_text(out: &mut Out, full_name: &str, path: &str) -> io::Result<()> {
    if !informative(full_name, path) {
        return Ok(());
    }
    out.paint(Paint::Dim, format!("  ({})", printable(full_name)))
}

/// Whether a full_name adds to the path: not empty, not TensorFlow's default name of an
/// unnamed variable (`Variable`), not the path's last name or its whole `/`-separated form.
fn informative(full_name: &str, path: &str) -> bool {
    let relative = path.strip_prefix("root.").unwrap_or(path);
    let last = relative.rsplit('.').next().unwrap_or(relative);
    !(full_name.is_empty() || full_name == "Variable" || full_name == last || full_name == relative.replace('.', "/"))
}

/// The `tree --json` document, serialized while the tree is walked: entries are never all
/// held in memory, so a graph a million levels deep prints too.
struct TreeDocument<'v> {
    view: &'v CheckpointView,
    prefix: &'v str,
    /// Set when the walk failed; the serializer only learns that it stopped.
    failure: RefCell<Option<Failure>>,
}

impl Serialize for TreeDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let totals = Cell::new(None);
        let mut document = serializer.serialize_struct("tree", 3)?;
        document.serialize_field("prefix", self.prefix)?;
        document.serialize_field("entries", &EntryList { document: self, totals: &totals })?;
        document.serialize_field("totals", &totals.get())?;
        document.end()
    }
}

struct EntryList<'d, 'v> {
    document: &'d TreeDocument<'v>,
    totals: &'d Cell<Option<Totals>>,
}

impl Serialize for EntryList<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries = serializer.serialize_seq(None)?;
        let mut serialize_error = None;
        let walked = walk(self.document.view, &mut |line| {
            entries.serialize_element(&Entry::from(line)).map_err(|error| {
                serialize_error = Some(error);
                io::Error::other("the JSON document could not be written")
            })
        });
        if let Some(error) = serialize_error {
            return Err(error);
        }
        match walked {
            Ok(totals) => self.totals.set(Some(totals)),
            Err(failure) => {
                *self.document.failure.borrow_mut() = Some(failure);
                return Err(S::Error::custom("the tree walk failed"));
            }
        }
        entries.end()
    }
}

/// An ENTRY of docs/cli.md.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry<'v, 'p> {
    Node {
        depth: usize,
        node: u32,
        name: &'v str,
        path: Option<&'p str>,
        tensors: Vec<TensorJson<'v>>,
        slots: Vec<SlotJson<'v>>,
    },
    Shared(RefJson<'v, 'p>),
    Cycle(RefJson<'v, 'p>),
}

#[derive(Serialize)]
struct RefJson<'v, 'p> {
    depth: usize,
    node: u32,
    name: &'v str,
    path: Option<&'p str>,
    target_path: Option<String>,
}

/// A TENSOR of docs/cli.md: `dtype`, `shape`, `num_elements`, `size_bytes` only when found.
#[derive(Serialize)]
struct TensorJson<'v> {
    attribute: &'v str,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtype: Option<std::borrow::Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_elements: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<u64>,
    error: Option<String>,
    full_name: &'v str,
}

#[derive(Serialize)]
struct SlotJson<'v> {
    slot: &'v str,
    node: u32,
    optimizer: u32,
    tensor: Option<TensorJson<'v>>,
}

/// JSON gives paths up to [`JSON_PATH_BYTES`], `null` beyond.
fn json_path(path: &str) -> Option<&str> {
    (path.len() <= JSON_PATH_BYTES).then_some(path)
}

impl<'v> From<Attr<'v>> for TensorJson<'v> {
    fn from(attribute: Attr<'v>) -> Self {
        let mut json = TensorJson {
            attribute: attribute.name,
            key: attribute.key,
            dtype: None,
            shape: None,
            num_elements: None,
            size_bytes: None,
            error: None,
            full_name: attribute.full_name,
        };
        match attribute.tensor {
            Tensor::Found { dtype, shape, elements, bytes } => {
                (json.dtype, json.shape, json.num_elements, json.size_bytes) =
                    (Some(dtype), Some(shape), Some(elements), Some(bytes));
            }
            Tensor::Missing => json.error = Some("missing from the bundle".into()),
            Tensor::Unreadable(error) => json.error = Some(error),
        }
        json
    }
}

impl<'v, 'p> From<Line<'v, 'p>> for Entry<'v, 'p> {
    fn from(line: Line<'v, 'p>) -> Self {
        match line {
            Line::Node { depth, node, name, path, attributes, slots } => Entry::Node {
                depth,
                node,
                name,
                path: json_path(path),
                tensors: attributes.into_iter().map(TensorJson::from).collect(),
                slots: slots
                    .into_iter()
                    .map(|slot| SlotJson {
                        slot: slot.name,
                        node: slot.node,
                        optimizer: slot.optimizer,
                        tensor: slot.tensor.map(TensorJson::from),
                    })
                    .collect(),
            },
            Line::Ref { depth, node, name, path, target, cycle } => {
                let reference =
                    RefJson { depth, node, name, path: json_path(path), target_path: target.filter(|t| json_path(t).is_some()) };
                if cycle {
                    Entry::Cycle(reference)
                } else {
                    Entry::Shared(reference)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::informative;

    #[test]
    fn full_names_are_shown_where_they_add_to_the_path() {
        assert!(informative("conv1_conv/kernel", "root.model._operations.2._kernel"));
        assert!(informative("dense_a/kernel", "root.model.layer_with_weights-0.kernel"));
        assert!(!informative("Variable", "root.a_var"));
        assert!(!informative("float32", "root.float32"));
        assert!(!informative("leaf/a_var", "root.leaf.a_var"));
        assert!(!informative("", "root.x"));
    }
}
