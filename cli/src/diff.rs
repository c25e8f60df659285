//! `ckview diff A B`: the structural diff of two checkpoints (`CheckpointView.diff`, B's graph
//! playing the live objects), then, for every matched node and its optimizer slots, the
//! tensors compared by dtype, shape and stored checksum. Exit status as diff(1): 0 identical,
//! 1 different, 2 error.

use std::ffi::OsStr;
use std::io::{self, Write};

use ckview::format::slice_key::slice_key;
use ckview::format::{dtype_name, Bundle, DataType, TensorEntry, Verify};
use ckview::graph::Attribute;
use ckview::CheckpointView;

use crate::args::Options;
use crate::entries::Entries;
use crate::json::Json;
use crate::output::{plural, printable, shape_text, Out, Paint};
use crate::resolve::open_view;
use crate::{Failure, Outcome};

/// One tensor of a matched node that differs between A and B.
struct Change {
    node_a: u32,
    node_b: u32,
    /// The optimizer slot the tensor belongs to, when it is a slot variable's.
    slot: Option<String>,
    attribute: String,
    /// Each side's key, dtype and shape, where that side has the tensor.
    a: Option<Side>,
    b: Option<Side>,
    /// What differs: `only_in_a`, `only_in_b`, `missing_in_a`, `missing_in_b`, `dtype`,
    /// `shape`, `values`.
    what: Vec<&'static str>,
}

struct Side {
    key: String,
    entry: Option<TensorEntry>,
}

/// One of the two checkpoints, with its entries read once.
struct Checkpoint<'v> {
    view: &'v CheckpointView,
    entries: Entries<'v>,
}

pub fn run(path_a: &OsStr, path_b: &OsStr, options: Options, out: &mut Out) -> Outcome {
    let a = open_view(path_a)?;
    let b = open_view(path_b)?;
    let comparison = a.diff_checkpoint(&b);
    let mut changes = Vec::new();
    let sides = (
        Checkpoint { view: &a, entries: Entries::load(a.bundle()) },
        Checkpoint { view: &b, entries: Entries::load(b.bundle()) },
    );
    for pair in &comparison.matched {
        let node_b = pair.object as u32;
        compare_nodes(&sides.0, pair.node_id, &sides.1, node_b, None, &mut changes)?;
        compare_slots(&sides.0, pair.node_id, &sides.1, node_b, &mut changes)?;
    }
    drop(sides);
    let identical = comparison.only_in_checkpoint.is_empty()
        && comparison.only_in_live.is_empty()
        && comparison.conflicts.is_empty()
        && changes.is_empty();
    let path_of =
        |view: &CheckpointView, node: u32| view.path(node).ok().flatten().unwrap_or_else(|| format!("node {node}"));
    if options.json {
        let mut json = Json::new(&mut *out);
        json.begin_object()?;
        json.field_str("a", &a.bundle().prefix().display().to_string())?;
        json.field_str("b", &b.bundle().prefix().display().to_string())?;
        json.key("identical")?;
        json.boolean(identical)?;
        json.key("matched")?;
        json.begin_array()?;
        for pair in &comparison.matched {
            json.begin_object()?;
            json.field_uint("node_a", pair.node_id.into())?;
            json.field_uint("node_b", pair.object)?;
            json.end_object()?;
        }
        json.end_array()?;
        for (name, view, nodes) in [
            ("only_in_a", &a, comparison.only_in_checkpoint.clone()),
            ("only_in_b", &b, comparison.only_in_live.iter().map(|&node| node as u32).collect()),
        ] {
            json.key(name)?;
            json.begin_array()?;
            for node in nodes {
                json.begin_object()?;
                json.field_uint("node", node.into())?;
                json.field_str("path", &path_of(view, node))?;
                json.end_object()?;
            }
            json.end_array()?;
        }
        json.key("changed")?;
        json.begin_array()?;
        for change in &changes {
            json_change(&mut json, change, &path_of(&a, change.node_a))?;
        }
        json.end_array()?;
        json.key("conflicts")?;
        json.begin_array()?;
        for conflict in &comparison.conflicts {
            json.begin_object()?;
            json.field_uint("node_a", conflict.node_id.into())?;
            json.field_str("path", &path_of(&a, conflict.node_id))?;
            json.field_uint("node_b", conflict.matched_object)?;
            json.field_uint("other_node_b", conflict.other_object)?;
            json.end_object()?;
        }
        json.end_array()?;
        json.end_object()?;
        json.finish()?;
    } else {
        out.paint(Paint::Red, format!("--- {}", printable(&a.bundle().prefix().display().to_string())))?;
        writeln!(out)?;
        out.paint(Paint::Green, format!("+++ {}", printable(&b.bundle().prefix().display().to_string())))?;
        writeln!(out)?;
        for &node in &comparison.only_in_checkpoint {
            out.paint(Paint::Red, format!("- {} #{node}", printable(&path_of(&a, node))))?;
            writeln!(out)?;
        }
        for &node in &comparison.only_in_live {
            out.paint(Paint::Green, format!("+ {} #{node}", printable(&path_of(&b, node as u32))))?;
            writeln!(out)?;
        }
        for change in &changes {
            let slot = change.slot.as_ref().map(|slot| format!(" slot {}", printable(slot))).unwrap_or_default();
            let head = format!("~ {} #{}{slot}", printable(&path_of(&a, change.node_a)), change.node_a);
            out.paint(Paint::Yellow, format!("{head}: {}", describe(change)))?;
            writeln!(out)?;
        }
        for conflict in &comparison.conflicts {
            let head = format!("! {} #{}", printable(&path_of(&a, conflict.node_id)), conflict.node_id);
            out.paint(
                Paint::Magenta,
                format!("{head}: reached as #{} and as #{} in B", conflict.matched_object, conflict.other_object),
            )?;
            writeln!(out)?;
        }
        out.paint(
            Paint::Bold,
            format!(
                "{} matched, {} only in A, {} only in B, {} changed{}",
                comparison.matched.len(),
                comparison.only_in_checkpoint.len(),
                comparison.only_in_live.len(),
                changes.len(),
                if comparison.conflicts.is_empty() {
                    String::new()
                } else {
                    format!(", {}", plural(comparison.conflicts.len() as u64, "conflict"))
                }
            ),
        )?;
        writeln!(out)?;
    }
    Ok(if identical { 0 } else { 1 })
}

/// `dtype float32 -> float64, shape [2] -> [3]`, `values differ`, ...
fn describe(change: &Change) -> String {
    fn entry(side: &Option<Side>) -> Option<&TensorEntry> {
        side.as_ref().and_then(|side| side.entry.as_ref())
    }
    let (entry_a, entry_b) = (entry(&change.a), entry(&change.b));
    let key = |side: &Option<Side>| side.as_ref().map(|side| printable(&side.key).into_owned()).unwrap_or_default();
    let parts: Vec<String> = change
        .what
        .iter()
        .map(|&what| match (what, entry_a, entry_b) {
            ("dtype", Some(x), Some(y)) => format!("dtype {} -> {}", dtype_name(x.dtype), dtype_name(y.dtype)),
            ("shape", Some(x), Some(y)) => format!("shape {} -> {}", shape_text(&x.shape), shape_text(&y.shape)),
            ("values", Some(x), _) => format!("values differ ({} {})", dtype_name(x.dtype), shape_text(&x.shape)),
            ("only_in_a", _, _) => format!("{} only in A", change.attribute),
            ("only_in_b", _, _) => format!("{} only in B", change.attribute),
            ("missing_in_a", _, _) => format!("tensor {} is missing from A's bundle", key(&change.a)),
            ("missing_in_b", _, _) => format!("tensor {} is missing from B's bundle", key(&change.b)),
            (other, _, _) => other.to_string(),
        })
        .collect();
    parts.join(", ")
}

fn json_change(json: &mut Json<&mut Out>, change: &Change, path: &str) -> io::Result<()> {
    json.begin_object()?;
    json.field_uint("node_a", change.node_a.into())?;
    json.field_uint("node_b", change.node_b.into())?;
    json.field_str("path", path)?;
    json.key("slot")?;
    match &change.slot {
        Some(slot) => json.string(slot)?,
        None => json.null()?,
    }
    json.field_str("attribute", &change.attribute)?;
    for (name, side) in [("a", &change.a), ("b", &change.b)] {
        json.key(name)?;
        match side {
            None => json.null()?,
            Some(side) => {
                json.begin_object()?;
                json.field_str("key", &side.key)?;
                match &side.entry {
                    Some(entry) => {
                        json.field_str("dtype", dtype_name(entry.dtype))?;
                        json.field_uints("shape", entry.shape.iter().copied())?;
                    }
                    None => {
                        json.key("dtype")?;
                        json.null()?;
                        json.key("shape")?;
                        json.null()?;
                    }
                }
                json.end_object()?;
            }
        }
    }
    json.key("changes")?;
    json.begin_array()?;
    for what in &change.what {
        json.string(what)?;
    }
    json.end_array()?;
    json.end_object()
}

/// Pairs the optimizer slots of two matched variables by slot name (the n-th slot `m` of A
/// with the n-th slot `m` of B) and compares their tensors.
fn compare_slots(
    a: &Checkpoint<'_>,
    node_a: u32,
    b: &Checkpoint<'_>,
    node_b: u32,
    changes: &mut Vec<Change>,
) -> Result<(), Failure> {
    let slots_a: Vec<_> = a.view.variable_slots(node_a)?.collect();
    let mut slots_b: Vec<Option<_>> = b.view.variable_slots(node_b)?.map(Some).collect();
    let lone = |slot: &str, a_side: bool| Change {
        node_a,
        node_b,
        slot: Some(slot.to_string()),
        attribute: "slot".into(),
        a: None,
        b: None,
        what: vec![if a_side { "only_in_a" } else { "only_in_b" }],
    };
    for slot_a in &slots_a {
        let name = slot_a.slot.slot_name;
        let partner =
            slots_b.iter_mut().find(|slot| slot.is_some_and(|slot| slot.slot.slot_name == name)).and_then(Option::take);
        match partner {
            Some(slot_b) => {
                let before = changes.len();
                compare_nodes(
                    a,
                    slot_a.slot.slot_variable_node_id,
                    b,
                    slot_b.slot.slot_variable_node_id,
                    Some(name),
                    changes,
                )?;
                // Report slot changes under the variable, which is what the paths name.
                for change in &mut changes[before..] {
                    change.node_a = node_a;
                    change.node_b = node_b;
                }
            }
            None => changes.push(lone(name, true)),
        }
    }
    for slot_b in slots_b.into_iter().flatten() {
        changes.push(lone(slot_b.slot.slot_name, false));
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
    changes: &mut Vec<Change>,
) -> Result<(), Failure> {
    let attributes_a: Vec<Attribute<'_>> = a.view.attributes(node_a)?.collect();
    let attributes_b: Vec<Attribute<'_>> = b.view.attributes(node_b)?.collect();
    let side = |checkpoint: &Checkpoint<'_>, attribute: &Attribute<'_>| -> Result<Side, Failure> {
        Ok(Side {
            key: attribute.checkpoint_key.to_string(),
            entry: checkpoint.entries.get(attribute.checkpoint_key.as_bytes())?,
        })
    };
    let change = |attribute: &str, a: Option<Side>, b: Option<Side>, what: Vec<&'static str>| Change {
        node_a,
        node_b,
        slot: slot.map(str::to_string),
        attribute: attribute.to_string(),
        a,
        b,
        what,
    };
    for attribute_a in &attributes_a {
        let Some(attribute_b) = attributes_b.iter().find(|attribute| attribute.name == attribute_a.name) else {
            changes.push(change(attribute_a.name, Some(side(a, attribute_a)?), None, vec!["only_in_a"]));
            continue;
        };
        let (side_a, side_b) = (side(a, attribute_a)?, side(b, attribute_b)?);
        let mut what = Vec::new();
        match (&side_a.entry, &side_b.entry) {
            (None, _) | (_, None) => {
                if side_a.entry.is_none() {
                    what.push("missing_in_a");
                }
                if side_b.entry.is_none() {
                    what.push("missing_in_b");
                }
            }
            (Some(entry_a), Some(entry_b)) => {
                if entry_a.dtype != entry_b.dtype {
                    what.push("dtype");
                }
                if entry_a.shape != entry_b.shape {
                    what.push("shape");
                }
                if what.is_empty()
                    && !same_values(a.view.bundle(), &side_a.key, entry_a, b.view.bundle(), &side_b.key, entry_b)?
                {
                    what.push("values");
                }
            }
        }
        if !what.is_empty() {
            changes.push(change(attribute_a.name, Some(side_a), Some(side_b), what));
        }
    }
    for attribute_b in &attributes_b {
        if !attributes_a.iter().any(|attribute| attribute.name == attribute_b.name) {
            changes.push(change(attribute_b.name, None, Some(side(b, attribute_b)?), vec!["only_in_b"]));
        }
    }
    Ok(())
}

/// Whether two tensors of equal dtype and shape hold equal values. Stored checksums decide
/// without reading the data (unpartitioned, or partitioned the same way); only tensors
/// partitioned differently are read and compared.
fn same_values(
    a: &Bundle,
    key_a: &str,
    entry_a: &TensorEntry,
    b: &Bundle,
    key_b: &str,
    entry_b: &TensorEntry,
) -> Result<bool, Failure> {
    let same_stored = |x: &TensorEntry, y: &TensorEntry| x.masked_crc32c == y.masked_crc32c && x.size == y.size;
    if entry_a.slices.is_empty() && entry_b.slices.is_empty() {
        return Ok(same_stored(entry_a, entry_b));
    }
    if entry_a.slices == entry_b.slices {
        let mut all_found = true;
        for extents in &entry_a.slices {
            let slice_a = a.entry(&slice_key(key_a.as_bytes(), extents))?;
            let slice_b = b.entry(&slice_key(key_b.as_bytes(), extents))?;
            match (slice_a, slice_b) {
                (Some(x), Some(y)) if x.slices.is_empty() && y.slices.is_empty() => {
                    if !same_stored(&x, &y) {
                        return Ok(false);
                    }
                }
                _ => all_found = false,
            }
        }
        if all_found {
            return Ok(true);
        }
    }
    // Partitioned differently: read both (checksums verified) and compare the bytes.
    Ok(read_all(a, key_a, entry_a)? == read_all(b, key_b, entry_b)?)
}

fn read_all(bundle: &Bundle, key: &str, entry: &TensorEntry) -> Result<Vec<Vec<u8>>, Failure> {
    if entry.dtype == DataType::DtString {
        return Ok(bundle.read_string_values(key.as_bytes(), entry)?.into_iter().map(<[u8]>::to_vec).collect());
    }
    let size = bundle.value_size(key.as_bytes(), entry)?;
    let mut bytes =
        vec![0u8; usize::try_from(size).map_err(|_| Failure::Error(format!("tensor {key:?} is too large")))?];
    bundle.read_value(key.as_bytes(), entry, &mut bytes, Verify::Checksums)?;
    Ok(vec![bytes])
}
