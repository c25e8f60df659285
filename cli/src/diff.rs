//! `ckview diff A B`: the structural diff of two checkpoints (`CheckpointView.diff`, B's graph
//! playing the live objects), then, for every matched node and its optimizer slots, the
//! tensors compared by dtype, shape and stored checksum; two checkpoints without objects (TF1
//! name-based bundles, V1 checkpoints) are compared key by key. Exit status as diff(1): 0
//! identical, 1 different, 2 error.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;

use ckview::format::{Bundle, Checkpoint as Tensors, DataType, FormatError, TensorEntry};
use ckview::graph::Attribute;
use ckview::{CheckpointView, GraphError};
use serde::Serialize;

use crate::diff_values::{value_diff, value_diff_of, ValueDiff};
use crate::entries::Entries;
use crate::json::{self, lossy};
use crate::output::{human_bytes, plural, printable, printable_bytes, shape_text, Out, Paint};
use crate::resolve::{open_checkpoint, open_view};
use crate::same_values::same_values;
use crate::{Failure, Outcome};

/// What the user asked to see.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// Counts only.
    pub stat: bool,
    /// At most this many items of each list.
    pub limit: Option<usize>,
    /// Read changed tensors and measure how much they differ.
    pub values: bool,
    pub json: bool,
}

/// One tensor that differs between A and B.
#[derive(Serialize)]
struct Change {
    /// The matched nodes (for a slot: the variables it belongs to); `None` comparing by key.
    node_a: Option<u32>,
    node_b: Option<u32>,
    /// The node's path in A; `None` comparing by key.
    path: Option<String>,
    /// The optimizer slot the tensor belongs to, when it is a slot variable's.
    slot: Option<String>,
    /// `VARIABLE_VALUE`, ...; `slot` for a whole slot on one side only; `None` comparing by key.
    attribute: Option<String>,
    a: Option<Side>,
    b: Option<Side>,
    /// `only_in_a`, `only_in_b`, `missing_in_a`, `missing_in_b`, `dtype`, `shape`, `values`.
    changes: Vec<&'static str>,
    /// With `--values`: how much the elements differ; `None` when not measured.
    value_diff: Option<ValueDiff>,
}

/// One side of a change: the key, and its dtype and shape when the bundle has it.
#[derive(Serialize)]
struct Side {
    key: String,
    dtype: Option<std::borrow::Cow<'static, str>>,
    shape: Option<Vec<u64>>,
    #[serde(skip)]
    entry: Option<TensorEntry>,
}

impl Side {
    fn new(key: &str, entry: Option<TensorEntry>) -> Side {
        Side {
            key: key.to_string(),
            dtype: entry.as_ref().map(TensorEntry::dtype_label),
            shape: entry.as_ref().map(|entry| entry.shape.clone()),
            entry,
        }
    }
}

/// A node (or, comparing by key, a tensor) on one side only.
#[derive(Serialize)]
struct Lone {
    node: Option<u32>,
    path: Option<String>,
    key: Option<String>,
}

#[derive(Serialize)]
struct ConflictJson {
    node_a: u32,
    path: String,
    node_b: u64,
    other_node_b: u64,
}

#[derive(Serialize)]
struct MatchedJson {
    node_a: u32,
    node_b: u64,
}

/// Exact totals, whatever `--limit` cuts.
#[derive(Serialize)]
struct Counts {
    matched: usize,
    only_in_a: usize,
    only_in_b: usize,
    changed: usize,
    conflicts: usize,
    /// Changed tensors by kind of change (`values`, `shape`, ...).
    changes: BTreeMap<&'static str, usize>,
}

/// The `diff --json` document.
#[derive(Serialize)]
struct DiffJson {
    a: String,
    b: String,
    /// `objects` (by object graph) or `keys` (two TF1 name-based checkpoints).
    compared_by: &'static str,
    identical: bool,
    counts: Counts,
    /// Whether `--stat` or `--limit` left items out of the lists below.
    truncated: bool,
    matched: Vec<MatchedJson>,
    only_in_a: Vec<Lone>,
    only_in_b: Vec<Lone>,
    changed: Vec<Change>,
    conflicts: Vec<ConflictJson>,
}

pub fn run(path_a: &OsStr, path_b: &OsStr, report: Report, out: &mut Out) -> Outcome {
    let mut document = match (open_view(path_a), open_view(path_b)) {
        (Ok(a), Ok(b)) => by_objects(&a, &b, report)?,
        (Err(error), _) | (_, Err(error)) => {
            // Two checkpoints without objects (TF1 name-based, V1) are compared by key.
            let (a, b) = (open_checkpoint(path_a)?, open_checkpoint(path_b)?);
            if !(is_name_based(&a) && is_name_based(&b)) {
                return Err(error);
            }
            by_keys(&a, &b, report)?
        }
    };
    let identical = document.identical;
    let limit = if report.stat { Some(0) } else { report.limit };
    if let Some(limit) = limit {
        document.truncated = document.matched.len() > limit
            || document.only_in_a.len() > limit
            || document.only_in_b.len() > limit
            || document.changed.len() > limit
            || document.conflicts.len() > limit;
        document.matched.truncate(limit);
        document.only_in_a.truncate(limit);
        document.only_in_b.truncate(limit);
        document.changed.truncate(limit);
        document.conflicts.truncate(limit);
    }
    if report.json {
        json::print(out, &document)?;
    } else {
        write_text(out, &document, report.stat)?;
    }
    Ok(if identical { 0 } else { 1 })
}

fn is_name_based(checkpoint: &Tensors) -> bool {
    match checkpoint {
        Tensors::V2(bundle) => {
            matches!(ckview::ObjectGraph::load(bundle), Err(GraphError::NameBasedCheckpoint { .. }))
        }
        Tensors::V1(_) => true,
    }
}

fn counts(matched: usize, only_in_a: usize, only_in_b: usize, changed: &[Change], conflicts: usize) -> Counts {
    let mut changes = BTreeMap::new();
    for what in changed.iter().flat_map(|change| &change.changes) {
        *changes.entry(*what).or_insert(0) += 1;
    }
    Counts { matched, only_in_a, only_in_b, changed: changed.len(), conflicts, changes }
}

fn prefix_text(bundle: &Bundle) -> String {
    bundle.prefix().display().to_string()
}

fn checkpoint_text(checkpoint: &Tensors) -> String {
    match checkpoint {
        Tensors::V2(bundle) => prefix_text(bundle),
        Tensors::V1(v1) => v1.path().display().to_string(),
    }
}

/// Every tensor of a checkpoint with its metadata, in key order.
fn listing(checkpoint: &Tensors) -> Result<Vec<(Vec<u8>, TensorEntry)>, Failure> {
    Ok(match checkpoint {
        Tensors::V2(bundle) => bundle.tensors()?,
        Tensors::V1(v1) => v1.tensors().iter().map(|tensor| (tensor.name.clone(), tensor.metadata())).collect(),
    })
}

/// Two TF2 checkpoints: match their objects, then compare the tensors of matched ones.
fn by_objects(a: &CheckpointView, b: &CheckpointView, report: Report) -> Result<DiffJson, Failure> {
    let comparison = a.diff_checkpoint(b);
    let sides = (
        Checkpoint { view: a, entries: Entries::load(a.bundle()) },
        Checkpoint { view: b, entries: Entries::load(b.bundle()) },
    );
    let mut changes = Vec::new();
    for pair in &comparison.matched {
        let node_b = pair.object as u32;
        compare_nodes(&sides.0, pair.node_id, &sides.1, node_b, None, report.values, &mut changes)?;
        compare_slots(&sides.0, pair.node_id, &sides.1, node_b, report.values, &mut changes)?;
    }
    let path_of =
        |view: &CheckpointView, node: u32| view.path(node).ok().flatten().unwrap_or_else(|| format!("node {node}"));
    for change in &mut changes {
        change.path = change.node_a.map(|node| path_of(a, node));
    }
    let lone = |view: &CheckpointView, node: u32| Lone { node: Some(node), path: Some(path_of(view, node)), key: None };
    let identical = comparison.only_in_checkpoint.is_empty()
        && comparison.only_in_live.is_empty()
        && comparison.conflicts.is_empty()
        && changes.is_empty();
    Ok(DiffJson {
        a: prefix_text(a.bundle()),
        b: prefix_text(b.bundle()),
        compared_by: "objects",
        identical,
        counts: counts(
            comparison.matched.len(),
            comparison.only_in_checkpoint.len(),
            comparison.only_in_live.len(),
            &changes,
            comparison.conflicts.len(),
        ),
        truncated: false,
        matched: comparison
            .matched
            .iter()
            .map(|pair| MatchedJson { node_a: pair.node_id, node_b: pair.object })
            .collect(),
        only_in_a: comparison.only_in_checkpoint.iter().map(|&node| lone(a, node)).collect(),
        only_in_b: comparison.only_in_live.iter().map(|&node| lone(b, node as u32)).collect(),
        changed: changes,
        conflicts: comparison
            .conflicts
            .iter()
            .map(|conflict| ConflictJson {
                node_a: conflict.node_id,
                path: path_of(a, conflict.node_id),
                node_b: conflict.matched_object,
                other_node_b: conflict.other_object,
            })
            .collect(),
    })
}

/// Two checkpoints without objects: the same key on both sides is the same variable.
fn by_keys(a: &Tensors, b: &Tensors, report: Report) -> Result<DiffJson, Failure> {
    let (tensors_a, tensors_b) = (listing(a)?, listing(b)?);
    let entries_b: BTreeMap<&[u8], &TensorEntry> = tensors_b.iter().map(|(key, entry)| (key.as_slice(), entry)).collect();
    let lone = |key: &[u8]| Lone { node: None, path: None, key: Some(lossy(key)) };
    let mut changes = Vec::new();
    let mut matched = 0;
    let mut only_in_a = Vec::new();
    for (key, entry_a) in &tensors_a {
        let Some(&entry_b) = entries_b.get(key.as_slice()) else {
            only_in_a.push(lone(key));
            continue;
        };
        matched += 1;
        let text = lossy(key);
        let (what, value_diff) = match (a, b) {
            (Tensors::V2(a), Tensors::V2(b)) => compare_tensors((a, &text, entry_a), (b, &text, entry_b), report.values)?,
            _ => compare_read((a, key, entry_a), (b, key, entry_b), report.values)?,
        };
        if !what.is_empty() {
            changes.push(Change {
                node_a: None,
                node_b: None,
                path: None,
                slot: None,
                attribute: None,
                a: Some(Side::new(&text, Some(entry_a.clone()))),
                b: Some(Side::new(&text, Some(entry_b.clone()))),
                changes: what,
                value_diff,
            });
        }
    }
    let keys_a: std::collections::HashSet<&[u8]> = tensors_a.iter().map(|(key, _)| key.as_slice()).collect();
    let only_in_b: Vec<Lone> =
        tensors_b.iter().filter(|(key, _)| !keys_a.contains(key.as_slice())).map(|(key, _)| lone(key)).collect();
    Ok(DiffJson {
        a: checkpoint_text(a),
        b: checkpoint_text(b),
        compared_by: "keys",
        identical: only_in_a.is_empty() && only_in_b.is_empty() && changes.is_empty(),
        counts: counts(matched, only_in_a.len(), only_in_b.len(), &changes, 0),
        truncated: false,
        matched: Vec::new(),
        only_in_a,
        only_in_b,
        changed: changes,
        conflicts: Vec::new(),
    })
}

/// Compares a tensor of which one side is a V1 checkpoint's: V1 stores no per-tensor checksum,
/// so the values are read (the tables' block checksums verified) and compared.
fn compare_read(
    a: (&Tensors, &[u8], &TensorEntry),
    b: (&Tensors, &[u8], &TensorEntry),
    values: bool,
) -> Result<(Vec<&'static str>, Option<ValueDiff>), Failure> {
    let mut what = Vec::new();
    if a.2.dtype_number != b.2.dtype_number {
        what.push("dtype");
    }
    if a.2.shape != b.2.shape {
        what.push("shape");
    }
    if what.is_empty() {
        let same = if a.2.dtype == DataType::DtString {
            a.0.read_strings(a.1)? == b.0.read_strings(b.1)?
        } else {
            read_whole(a.0, a.1)? == read_whole(b.0, b.1)?
        };
        if !same {
            what.push("values");
        }
    }
    let measure = values && !what.is_empty() && !what.contains(&"shape");
    let diff = if measure { value_diff_of(a.2, b.2, || read_whole(a.0, a.1), || read_whole(b.0, b.1))? } else { None };
    Ok((what, diff))
}

/// A numeric tensor's values in host order, partitioned ones assembled.
fn read_whole(checkpoint: &Tensors, key: &[u8]) -> Result<Vec<u8>, Failure> {
    let size = checkpoint.value_size(key)?;
    let too_large = || Failure::Error(format!("cannot allocate {} to read {}", human_bytes(size), printable_bytes(key)));
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(usize::try_from(size).map_err(|_| too_large())?).map_err(|_| too_large())?;
    bytes.resize(size as usize, 0);
    checkpoint.read_value(key, &mut bytes)?;
    Ok(bytes)
}

fn write_text(out: &mut Out, document: &DiffJson, stat: bool) -> std::io::Result<()> {
    out.paint(Paint::Red, format!("--- {}", printable(&document.a)))?;
    writeln!(out)?;
    out.paint(Paint::Green, format!("+++ {}", printable(&document.b)))?;
    writeln!(out)?;
    let lone_text = |lone: &Lone| match (&lone.key, &lone.path, lone.node) {
        (Some(key), ..) => printable(key).into_owned(),
        (None, Some(path), Some(node)) => format!("{} #{node}", printable(path)),
        _ => String::new(),
    };
    for lone in &document.only_in_a {
        out.paint(Paint::Red, format!("- {}", lone_text(lone)))?;
        writeln!(out)?;
    }
    for lone in &document.only_in_b {
        out.paint(Paint::Green, format!("+ {}", lone_text(lone)))?;
        writeln!(out)?;
    }
    for change in &document.changed {
        let head = match (&change.path, change.node_a) {
            (Some(path), Some(node)) => format!("{} #{node}", printable(path)),
            _ => change.a.as_ref().map(|side| printable(&side.key).into_owned()).unwrap_or_default(),
        };
        let slot = change.slot.as_ref().map(|slot| format!(" slot {}", printable(slot))).unwrap_or_default();
        let tensor = tensor_name(change).map(|name| format!(" {}", printable(&name))).unwrap_or_default();
        out.paint(Paint::Yellow, format!("~ {head}{slot}{tensor}: {}", describe(change)))?;
        writeln!(out)?;
    }
    for conflict in &document.conflicts {
        let head = format!("! {} #{}", printable(&conflict.path), conflict.node_a);
        out.paint(Paint::Magenta, format!("{head}: reached as #{} and as #{} in B", conflict.node_b, conflict.other_node_b))?;
        writeln!(out)?;
    }
    let counts = &document.counts;
    if document.truncated && !stat {
        out.paint(Paint::Dim, "(lists cut by --limit; the counts below are exact)")?;
        writeln!(out)?;
    }
    if stat && !counts.changes.is_empty() {
        let kinds: Vec<String> = counts.changes.iter().map(|(what, count)| format!("{what} {count}")).collect();
        writeln!(out, "changes by kind: {}", kinds.join(", "))?;
    }
    let unit = if document.compared_by == "keys" { "keys" } else { "nodes" };
    let conflicts = match counts.conflicts {
        0 => String::new(),
        count => format!(", {}", plural(count as u64, "conflict")),
    };
    out.paint(
        Paint::Bold,
        format!(
            "{} {unit} matched, {} only in A, {} only in B, {} changed{conflicts}",
            counts.matched, counts.only_in_a, counts.only_in_b, counts.changed
        ),
    )?;
    writeln!(out)
}

/// Which tensor of a node changed, when it is not its `VARIABLE_VALUE`: the attribute with the
/// suffix of its key (`table-keys`, `ITERATOR_STATE`).
fn tensor_name(change: &Change) -> Option<String> {
    let attribute = change.attribute.as_deref().filter(|&name| name != "VARIABLE_VALUE" && name != "slot")?;
    let key = change.a.as_ref().or(change.b.as_ref()).map(|side| side.key.as_str()).unwrap_or_default();
    let marker = format!("/.ATTRIBUTES/{attribute}");
    Some(match key.rfind(&marker) {
        Some(at) => key[at + "/.ATTRIBUTES/".len()..].to_string(),
        None => attribute.to_string(),
    })
}

/// `dtype float32 -> float64, shape [2] -> [3]`, `values differ (max abs diff 0.5, ...)`.
fn describe(change: &Change) -> String {
    fn entry(side: &Option<Side>) -> Option<&TensorEntry> {
        side.as_ref().and_then(|side| side.entry.as_ref())
    }
    let (entry_a, entry_b) = (entry(&change.a), entry(&change.b));
    let key = |side: &Option<Side>| side.as_ref().map(|side| printable(&side.key).into_owned()).unwrap_or_default();
    let attribute = change.attribute.as_deref().unwrap_or("tensor");
    let mut parts: Vec<String> = change
        .changes
        .iter()
        .map(|&what| match (what, entry_a, entry_b) {
            ("dtype", Some(x), Some(y)) => format!("dtype {} -> {}", x.dtype_label(), y.dtype_label()),
            ("shape", Some(x), Some(y)) => format!("shape {} -> {}", shape_text(&x.shape), shape_text(&y.shape)),
            ("values", Some(x), _) => format!("values differ ({} {})", x.dtype_label(), shape_text(&x.shape)),
            ("only_in_a", _, _) => format!("{attribute} only in A"),
            ("only_in_b", _, _) => format!("{attribute} only in B"),
            ("missing_in_a", _, _) => format!("tensor {} is missing from A's bundle", key(&change.a)),
            ("missing_in_b", _, _) => format!("tensor {} is missing from B's bundle", key(&change.b)),
            (other, _, _) => other.to_string(),
        })
        .collect();
    if let Some(diff) = &change.value_diff {
        parts.push(format!(
            "max abs diff {}, max rel diff {}, {} elements differ, NaN {} in A, {} in B",
            float(diff.max_abs_diff),
            float(diff.max_rel_diff),
            diff.differing,
            diff.nan_a,
            diff.nan_b
        ));
    }
    parts.join(", ")
}

fn float(value: json::Float) -> String {
    match value {
        json::Float::Single(value) => crate::values::float_text(value.into(), true),
        json::Float::Double(value) => crate::values::float_text(value, false),
    }
}

/// One of the two checkpoints, with its entries read once.
struct Checkpoint<'v> {
    view: &'v CheckpointView,
    entries: Entries<'v>,
}

/// Pairs the optimizer slots of two matched variables by slot name (the n-th slot `m` of A
/// with the n-th slot `m` of B) and compares their tensors.
fn compare_slots(
    a: &Checkpoint<'_>,
    node_a: u32,
    b: &Checkpoint<'_>,
    node_b: u32,
    values: bool,
    changes: &mut Vec<Change>,
) -> Result<(), Failure> {
    let slots_a: Vec<_> = a.view.variable_slots(node_a)?.collect();
    let mut slots_b: Vec<Option<_>> = b.view.variable_slots(node_b)?.map(Some).collect();
    let lone = |slot: &str, what: &'static str| Change {
        node_a: Some(node_a),
        node_b: Some(node_b),
        path: None,
        slot: Some(slot.to_string()),
        attribute: Some("slot".into()),
        a: None,
        b: None,
        changes: vec![what],
        value_diff: None,
    };
    for slot_a in &slots_a {
        let name = slot_a.slot.slot_name;
        let partner =
            slots_b.iter_mut().find(|slot| slot.is_some_and(|slot| slot.slot.slot_name == name)).and_then(Option::take);
        let Some(slot_b) = partner else {
            changes.push(lone(name, "only_in_a"));
            continue;
        };
        let before = changes.len();
        let (slot_node_a, slot_node_b) = (slot_a.slot.slot_variable_node_id, slot_b.slot.slot_variable_node_id);
        compare_nodes(a, slot_node_a, b, slot_node_b, Some(name), values, changes)?;
        // Report slot changes under the variable, which is what the paths name.
        for change in &mut changes[before..] {
            change.node_a = Some(node_a);
            change.node_b = Some(node_b);
        }
    }
    for slot_b in slots_b.into_iter().flatten() {
        changes.push(lone(slot_b.slot.slot_name, "only_in_b"));
    }
    Ok(())
}

/// Compares the serialized tensors of two matched nodes, attribute by attribute name.
fn compare_nodes(
    a: &Checkpoint<'_>,
    node_a: u32,
    b: &Checkpoint<'_>,
    node_b: u32,
    slot: Option<&str>,
    values: bool,
    changes: &mut Vec<Change>,
) -> Result<(), Failure> {
    let attributes_a: Vec<Attribute<'_>> = a.view.attributes(node_a)?.collect();
    let attributes_b: Vec<Attribute<'_>> = b.view.attributes(node_b)?.collect();
    // Each attribute's tensors: the key itself, or a table's `-keys`/`-values`, an iterator's
    // `_STATE`; a missing one is one side without an entry.
    let stored = |checkpoint: &Checkpoint<'_>, attributes: &[Attribute<'_>], attribute: &Attribute<'_>| {
        let siblings: Vec<&str> = attributes
            .iter()
            .map(|other| other.checkpoint_key)
            .filter(|&key| key != attribute.checkpoint_key)
            .collect();
        checkpoint.entries.attribute_tensors(attribute.checkpoint_key, &siblings)
    };
    let side = |checkpoint: &Checkpoint<'_>, attributes: &[Attribute<'_>], attribute: &Attribute<'_>| -> Result<Side, FormatError> {
        let mut tensors = stored(checkpoint, attributes, attribute)?;
        let first = tensors.swap_remove(0);
        Ok(Side::new(&first.key, first.entry))
    };
    let change = |attribute: &str, a: Option<Side>, b: Option<Side>, what, value_diff| Change {
        node_a: Some(node_a),
        node_b: Some(node_b),
        path: None,
        slot: slot.map(str::to_string),
        attribute: Some(attribute.to_string()),
        a,
        b,
        changes: what,
        value_diff,
    };
    for attribute_a in &attributes_a {
        let Some(attribute_b) = attributes_b.iter().find(|attribute| attribute.name == attribute_a.name) else {
            changes.push(change(attribute_a.name, Some(side(a, &attributes_a, attribute_a)?), None, vec!["only_in_a"], None));
            continue;
        };
        // Tensors paired by suffix: `table-keys` with `table-keys`.
        let tensors_a = stored(a, &attributes_a, attribute_a)?;
        let mut tensors_b: Vec<Option<_>> = stored(b, &attributes_b, attribute_b)?.into_iter().map(Some).collect();
        let mut pairs = Vec::new();
        for tensor_a in tensors_a {
            let partner = tensors_b
                .iter_mut()
                .find(|tensor| tensor.as_ref().is_some_and(|tensor| tensor.suffix == tensor_a.suffix))
                .and_then(Option::take);
            let key_b = partner.as_ref().map_or_else(|| tensor_a.key.clone(), |tensor| tensor.key.clone());
            let side_b = Side::new(&key_b, partner.and_then(|tensor| tensor.entry));
            pairs.push((Side::new(&tensor_a.key, tensor_a.entry), side_b));
        }
        for tensor_b in tensors_b.into_iter().flatten() {
            pairs.push((Side::new(&tensor_b.key, None), Side::new(&tensor_b.key, tensor_b.entry)));
        }
        for (side_a, side_b) in pairs {
            let (what, value_diff) = match (&side_a.entry, &side_b.entry) {
                (Some(entry_a), Some(entry_b)) => compare_tensors(
                    (a.view.bundle(), &side_a.key, entry_a),
                    (b.view.bundle(), &side_b.key, entry_b),
                    values,
                )?,
                (entry_a, entry_b) => {
                    let missing = [(entry_a.is_none(), "missing_in_a"), (entry_b.is_none(), "missing_in_b")];
                    (missing.iter().filter(|(missing, _)| *missing).map(|&(_, what)| what).collect(), None)
                }
            };
            if !what.is_empty() {
                changes.push(change(attribute_a.name, Some(side_a), Some(side_b), what, value_diff));
            }
        }
    }
    for attribute_b in &attributes_b {
        if !attributes_a.iter().any(|attribute| attribute.name == attribute_b.name) {
            changes.push(change(attribute_b.name, None, Some(side(b, &attributes_b, attribute_b)?), vec!["only_in_b"], None));
        }
    }
    Ok(())
}

/// What differs between two stored tensors (dtype, shape, values), and with `values` how much.
fn compare_tensors(
    a: (&Bundle, &str, &TensorEntry),
    b: (&Bundle, &str, &TensorEntry),
    values: bool,
) -> Result<(Vec<&'static str>, Option<ValueDiff>), Failure> {
    let (entry_a, entry_b) = (a.2, b.2);
    let mut what = Vec::new();
    if entry_a.dtype_number != entry_b.dtype_number {
        what.push("dtype");
    }
    if entry_a.shape != entry_b.shape {
        what.push("shape");
    }
    if what.is_empty() && !same_values(a.0, a.1, entry_a, b.0, b.1, entry_b)? {
        what.push("values");
    }
    // A dtype change of one shape is what a conversion does: measure it too.
    let measure = values && !what.is_empty() && !what.contains(&"shape");
    let diff = if measure {
        value_diff((a.0, a.1.as_bytes(), entry_a), (b.0, b.1.as_bytes(), entry_b))?
    } else {
        None
    };
    Ok((what, diff))
}
