//! What an export writes: every tensor of the checkpoint with the names it could take (its
//! object path, its bundle key, its Keras `full_name`), then the caller's choices applied
//! (naming, optimizer state dropped, the naming function's renames and skips), each dtype
//! checked, no name given twice.

use super::error::ExportError;
use super::names::GraphNames;
use super::{ExportOptions, Naming, Source};
use crate::format::{element_size, DataType, TensorEntry};
use crate::graph::{ObjectGraph, OBJECT_GRAPH_KEY};

/// One tensor of the checkpoint as the naming function sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportTensor {
    /// Its key in the checkpoint (the bundle key; bytes that are not UTF-8 as U+FFFD).
    pub key: String,
    /// The name it gets from the export's [`Naming`]: what it is written under unless the
    /// naming function renames it.
    pub name: String,
    /// Its object path without `root.` (`model.layer_with_weights-0.kernel`; a slot variable as
    /// `VARIABLE.OPTIMIZER_SLOT.OPTIMIZER.SLOT`, an attribute other than a variable's value with
    /// its name appended); `None` without an object graph, or for a key no node names.
    pub path: Option<String>,
    /// The Keras `full_name` the object graph records (`dense_a/kernel`), with the key's suffix
    /// for a table's `-keys`/`-values`; `None` where the graph has none.
    pub full_name: Option<String>,
    pub dtype: DataType,
    /// Dimension sizes, outermost first; empty for a scalar.
    pub shape: Vec<u64>,
    /// Whether it is optimizer state ([`crate::view::OptimizerState`]): slots, and the optimizer's own
    /// variables such as its iteration count and learning rate.
    pub optimizer_state: bool,
}

/// One tensor to write, and under which name.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub tensor: ExportTensor,
    /// The bundle entry (V2), or `None` for a V1 tensor (read by name).
    pub entry: Option<TensorEntry>,
    /// Its key's bytes where they are not UTF-8 (`tensor.key` then has U+FFFD in their place).
    raw_key: Option<Vec<u8>>,
    /// The name the naming function gave it, where that is not `tensor.name`.
    rename: Option<String>,
    pub dtype: safetensors::Dtype,
    /// Bytes of its values.
    pub size: u64,
}

impl Planned {
    /// Its key in the checkpoint, as stored.
    pub fn key_bytes(&self) -> &[u8] {
        self.raw_key.as_deref().unwrap_or(self.tensor.key.as_bytes())
    }

    /// The name it is written under.
    pub fn out_name(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.tensor.name)
    }

    /// The name it is written under, and what the naming function saw.
    pub fn into_named(self) -> (String, ExportTensor) {
        (self.rename.unwrap_or_else(|| self.tensor.name.clone()), self.tensor)
    }
}

/// The tensors an export writes, in key order, and what it left out.
#[derive(Debug)]
pub(crate) struct Plan {
    pub tensors: Vec<Planned>,
    /// Indices into `tensors`, ordered by name.
    pub by_name: Vec<u32>,
    /// (key, dtype) of each tensor left out for its dtype.
    pub skipped: Vec<(String, String)>,
    /// Tensors left out as optimizer state.
    pub dropped_optimizer_state: usize,
    /// Tensors the naming function left out.
    pub deselected: usize,
}

/// A tensor as the checkpoint lists it: key ([`key_text`]), dtype, shape, and its entry in a
/// bundle.
type Listed = ((String, Option<Vec<u8>>), DataType, Vec<u64>, Option<TensorEntry>);

/// A key as text, and its bytes where they are not UTF-8 (the text then has U+FFFD in their
/// place). Valid bytes become the text without a copy.
fn key_text(bytes: Vec<u8>) -> (String, Option<Vec<u8>>) {
    match String::from_utf8(bytes) {
        Ok(key) => (key, None),
        Err(error) => (String::from_utf8_lossy(error.as_bytes()).into_owned(), Some(error.into_bytes())),
    }
}

/// A tensor as the graph describes it: its path, its `full_name`, and whether it is optimizer
/// state.
type Described = (Option<String>, Option<String>, bool);

/// Lists the checkpoint's tensors and applies `options`.
pub(crate) fn plan(source: &Source<'_>, options: &mut ExportOptions<'_>) -> Result<Plan, ExportError> {
    let loaded;
    let graph: Option<&ObjectGraph> = match source {
        Source::View(view) => Some(view.graph()),
        Source::Bundle(bundle) => match ObjectGraph::load(bundle) {
            Ok(graph) => {
                loaded = graph;
                Some(&loaded)
            }
            Err(crate::graph::GraphError::NameBasedCheckpoint { .. }) => None,
            Err(error) => return Err(error.into()),
        },
        Source::V1(_) => None,
    };
    let naming = options.naming.unwrap_or(if graph.is_some() { Naming::Path } else { Naming::Key });
    if graph.is_none() && naming != Naming::Key {
        return Err(ExportError::InvalidOption(format!(
            "{} has no object graph (a TF1 checkpoint), so its tensors have no {}: name them by key",
            source.path().display(),
            if naming == Naming::Path { "object paths" } else { "full names" }
        )));
    }
    if graph.is_none() && options.drop_optimizer_state {
        return Err(ExportError::InvalidOption(format!(
            "{} has no object graph (a TF1 checkpoint), so its optimizer state is not known: drop it by key instead",
            source.path().display()
        )));
    }
    // Listing the index and indexing the graph's names read different data: two cores share them.
    let (listed, names) = crate::threads::join(
        || -> Result<Vec<Listed>, ExportError> {
            match source {
                Source::View(view) => listing(view.bundle()),
                Source::Bundle(bundle) => listing(bundle),
                Source::V1(v1) => Ok(v1.tensors().iter().map(|t| (key_text(t.name.clone()), t.dtype, t.shape.clone(), None)).collect()),
            }
        },
        || graph.map(GraphNames::new).transpose(),
    );
    let (names, listed) = (names?, listed?);
    // What the graph says of each tensor, worked out for the two halves of the list at once.
    let describe = |listed: &[Listed]| -> Vec<Described> {
        listed
            .iter()
            .map(|((key, _), ..)| names.as_ref().map_or((None, None, false), |names| names.describe(key)))
            .collect()
    };
    let (front, back) = listed.split_at(listed.len() / 2);
    let (mut described, back) = crate::threads::join(|| describe(front), || describe(back));
    described.extend(back);
    let mut plan = Plan { tensors: Vec::with_capacity(listed.len()), by_name: Vec::new(), skipped: Vec::new(), dropped_optimizer_state: 0, deselected: 0 };
    let mut unsupported = Vec::new();
    for (((key, raw_key), dtype, shape, entry), (path, full_name, optimizer_state)) in listed.into_iter().zip(described) {
        if options.drop_optimizer_state && optimizer_state {
            plan.dropped_optimizer_state += 1;
            continue;
        }
        let name = match naming {
            Naming::Key => key.clone(),
            Naming::Path => path.clone().unwrap_or_else(|| key.clone()),
            Naming::FullName => full_name.clone().or_else(|| path.clone()).unwrap_or_else(|| key.clone()),
        };
        let tensor = ExportTensor { key, name, path, full_name, dtype, shape, optimizer_state };
        let rename = match options.name.as_mut() {
            Some(name_fn) => match name_fn(&tensor)? {
                Some(name) => (name != tensor.name).then_some(name),
                None => {
                    plan.deselected += 1;
                    continue;
                }
            },
            None => None,
        };
        let Some(kept) = super::dtype::safetensors_dtype(dtype) else {
            let label = match &entry {
                Some(entry) => entry.dtype_label().into_owned(),
                None => crate::format::dtype_name(dtype).to_string(),
            };
            if options.skip_unsupported {
                plan.skipped.push((tensor.key, label));
            } else {
                unsupported.push((tensor.key, label));
            }
            continue;
        };
        let out_name = rename.as_deref().unwrap_or(&tensor.name);
        if out_name == "__metadata__" {
            return Err(ExportError::InvalidName {
                name: out_name.to_string(),
                key: tensor.key,
                reason: "safetensors keeps its header's metadata under that name".into(),
            });
        }
        // Cannot overflow: checked when the entry was decoded.
        let size = tensor.shape.iter().product::<u64>() * element_size(dtype).unwrap_or(0);
        plan.tensors.push(Planned { tensor, entry, raw_key, rename, dtype: kept, size });
    }
    if !unsupported.is_empty() {
        return Err(ExportError::UnsupportedDtypes { tensors: unsupported });
    }
    plan.by_name = refuse_duplicate_names(&plan.tensors)?;
    Ok(plan)
}

/// The tensors' indices ordered by name; or the first name (in key order) that two tensors
/// would take, as an error naming both keys. Sorting indices instead of a map of names keeps a
/// copy of every name out of memory.
fn refuse_duplicate_names(tensors: &[Planned]) -> Result<Vec<u32>, ExportError> {
    let mut order: Vec<u32> = (0..tensors.len() as u32).collect();
    // Stable: equal names stay in key order, so the pair found is (first, second) by key.
    order.sort_by(|&a, &b| tensors[a as usize].out_name().cmp(tensors[b as usize].out_name()));
    let duplicate = order
        .windows(2)
        .map(|pair| (pair[0] as usize, pair[1] as usize))
        .filter(|&(a, b)| tensors[a].out_name() == tensors[b].out_name())
        .min_by_key(|&(_, second)| second);
    match duplicate {
        Some((first, second)) => Err(ExportError::DuplicateName {
            name: tensors[second].out_name().to_string(),
            first: tensors[first].tensor.key.clone(),
            second: tensors[second].tensor.key.clone(),
        }),
        None => Ok(order),
    }
}

/// Every tensor of a bundle but its object graph, with its entry.
fn listing(bundle: &crate::format::Bundle) -> Result<Vec<Listed>, ExportError> {
    Ok(bundle
        .tensors()?
        .into_iter()
        .filter(|(key, _)| key != OBJECT_GRAPH_KEY)
        .map(|(key, entry)| (key_text(key), entry.dtype, entry.shape.clone(), Some(entry)))
        .collect())
}
