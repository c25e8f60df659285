//! What an export writes: every tensor of the checkpoint with the names it could take (its
//! object path, its bundle key, its Keras `full_name`), then the caller's choices applied
//! (naming, optimizer state dropped, the naming function's renames and skips), each dtype
//! checked, no name given twice.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::ExportError;
use super::{ExportOptions, Naming, Source};
use crate::format::{element_size, DataType, TensorEntry};
use crate::graph::{ObjectGraph, OBJECT_GRAPH_KEY};
use crate::view::OptimizerState;

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
    /// Whether it is optimizer state ([`OptimizerState`]): slots, and the optimizer's own
    /// variables such as its iteration count and learning rate.
    pub optimizer_state: bool,
}

/// One tensor to write, and under which name.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub tensor: ExportTensor,
    /// The bundle entry (V2), or `None` for a V1 tensor (read by name).
    pub entry: Option<TensorEntry>,
    pub key_bytes: Vec<u8>,
    pub out_name: String,
    pub dtype: safetensors::Dtype,
    /// Bytes of its values.
    pub size: u64,
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

/// How the graph names the bundle's keys: for each `checkpoint_key`, the node and attribute.
struct GraphNames<'g> {
    graph: &'g ObjectGraph,
    state: OptimizerState,
    /// checkpoint_key -> (node id, attribute name, full_name), the first node's for a key
    /// given twice.
    attributes: HashMap<&'g str, Named<'g>>,
    /// The same sorted by key, made on the first key that is no attribute's: the attribute
    /// whose key it extends (a table's `-keys` and `-values`) is found by its place there.
    sorted: OnceLock<Vec<(&'g str, Named<'g>)>>,
    /// For each node, the slot it is: (optimizer node, variable node, slot name).
    slots: Vec<Option<(u32, u32, &'g str)>>,
    /// For each node, the parent and edge name through which a breadth-first walk from the
    /// root that enters no optimizer first reaches it: the path [`OptimizerState::model_path`]
    /// gives, for every node in one walk.
    model_parents: Vec<Option<(u32, &'g str)>>,
    /// The optimizers' own paths ([`GraphNames::own_path`]), where they have one.
    optimizer_paths: Vec<(u32, String)>,
}

/// An attribute: its node, its name and the Keras `full_name`.
type Named<'g> = (u32, &'g str, &'g str);

/// [`GraphNames::model_parents`].
fn model_parents<'g>(graph: &'g ObjectGraph, state: &OptimizerState) -> Vec<Option<(u32, &'g str)>> {
    let mut parents = vec![None; graph.num_nodes()];
    let mut seen = vec![false; graph.num_nodes()];
    for &optimizer in state.optimizers() {
        seen[optimizer as usize] = true;
    }
    if graph.num_nodes() == 0 {
        return parents;
    }
    seen[0] = true;
    let mut queue = std::collections::VecDeque::from([0u32]);
    while let Some(node_id) = queue.pop_front() {
        for (name, child) in graph.children(node_id).into_iter().flatten() {
            if !seen[child as usize] {
                seen[child as usize] = true;
                parents[child as usize] = Some((node_id, name));
                queue.push_back(child);
            }
        }
    }
    parents
}

impl<'g> GraphNames<'g> {
    fn new(graph: &'g ObjectGraph) -> Result<GraphNames<'g>, ExportError> {
        let mut attributes = HashMap::with_capacity(graph.num_nodes());
        let mut slots = vec![None; graph.num_nodes()];
        for node_id in 0..graph.num_nodes() as u32 {
            for attribute in graph.attributes(node_id)? {
                attributes.entry(attribute.checkpoint_key).or_insert((node_id, attribute.name, attribute.full_name));
            }
            for slot in graph.slot_variables(node_id)? {
                // Checked when the graph was decoded: every node id is below the node count.
                if let Some(entry @ None) = slots.get_mut(slot.slot_variable_node_id as usize) {
                    *entry = Some((node_id, slot.original_variable_node_id, slot.slot_name));
                }
            }
        }
        let state = OptimizerState::of_graph(graph);
        let model_parents = model_parents(graph, &state);
        let mut names = GraphNames { graph, state, attributes, sorted: OnceLock::new(), slots, model_parents, optimizer_paths: Vec::new() };
        names.optimizer_paths = names.state.optimizers().iter().filter_map(|&node| Some((node, names.own_path(node)?))).collect();
        Ok(names)
    }

    /// The path through no optimizer, without `root.`; `None` where there is none. Built in
    /// place from the last step back, in one allocation.
    fn model_path(&self, node_id: u32) -> Option<String> {
        if node_id == 0 {
            return Some("root".into());
        }
        let step = |node: u32| *self.model_parents.get(node as usize)?;
        let (mut length, mut current) = (0usize, node_id);
        while current != 0 {
            let (parent, name) = step(current)?;
            length += name.len() + 1;
            current = parent;
        }
        let mut path = vec![b'.'; length - 1];
        let (mut end, mut current) = (path.len(), node_id);
        while current != 0 {
            let (parent, name) = step(current)?;
            path[end - name.len()..end].copy_from_slice(name.as_bytes());
            end = end.saturating_sub(name.len() + 1);
            current = parent;
        }
        String::from_utf8(path).ok()
    }

    /// A node's own path without `root.`, preferring one through no optimizer; `None` for a
    /// node no walk from the root reaches (a slot variable of a legacy optimizer).
    fn own_path(&self, node_id: u32) -> Option<String> {
        if let Some(path) = self.model_path(node_id) {
            return Some(path);
        }
        let path = self.graph.path(node_id).ok().flatten()?;
        Some(match path.strip_prefix("root.") {
            Some(rest) => rest.to_string(),
            None => path,
        })
    }

    /// A node's path without `root.`, preferring one through no optimizer; a slot variable
    /// without one of its own is named after its variable, its optimizer and its slot.
    fn node_path(&self, node_id: u32, depth: u32) -> Option<String> {
        if let Some(path) = self.own_path(node_id) {
            return Some(path);
        }
        let (optimizer, variable, slot_name) = (*self.slots.get(node_id as usize)?)?;
        if depth > 4 {
            return None;
        }
        let mut path = self.node_path(variable, depth + 1)?;
        // Every slot of a model names one of its few optimizers: their paths are made once.
        let optimizer = match self.optimizer_paths.iter().find(|(node, _)| *node == optimizer) {
            Some((_, path)) => std::borrow::Cow::Borrowed(path.as_str()),
            None => std::borrow::Cow::Owned(self.node_path(optimizer, depth + 1)?),
        };
        path.reserve(".OPTIMIZER_SLOT.".len() + optimizer.len() + 1 + slot_name.len());
        for piece in [".OPTIMIZER_SLOT.", &optimizer, ".", slot_name] {
            path.push_str(piece);
        }
        Some(path)
    }

    /// (path, full_name, optimizer state) of the tensor stored under `key`.
    fn describe(&self, key: &str) -> (Option<String>, Option<String>, bool) {
        let found = match self.attributes.get(key) {
            Some(&(node, name, full_name)) => Some((node, name, full_name, "")),
            // A table's `-keys`/`-values`, an iterator's state: the attribute's key plus a suffix.
            None => {
                let sorted = self.sorted.get_or_init(|| {
                    let mut sorted: Vec<_> = self.attributes.iter().map(|(&key, &named)| (key, named)).collect();
                    sorted.sort_unstable_by_key(|&(key, _)| key);
                    sorted
                });
                let before = sorted.partition_point(|&(checkpoint_key, _)| checkpoint_key < key);
                before
                    .checked_sub(1)
                    .map(|at| sorted[at])
                    .filter(|(checkpoint_key, _)| !checkpoint_key.is_empty() && key.starts_with(*checkpoint_key))
                    .map(|(checkpoint_key, (node, name, full_name))| (node, name, full_name, &key[checkpoint_key.len()..]))
            }
        };
        let Some((node, attribute, full_name, suffix)) = found else {
            return (None, None, false);
        };
        let path = self.node_path(node, 0).map(|path| {
            if attribute == "VARIABLE_VALUE" && suffix.is_empty() {
                path
            } else if attribute == "VARIABLE_VALUE" {
                path + suffix
            } else {
                [&path, ".", attribute, suffix].concat()
            }
        });
        let full_name = (!full_name.is_empty()).then(|| [full_name, suffix].concat());
        (path, full_name, self.state.is_optimizer_state(node))
    }
}

/// A tensor as the checkpoint lists it: key, dtype, shape, and its entry in a bundle.
type Listed = (Vec<u8>, DataType, Vec<u64>, Option<TensorEntry>);

/// A tensor as the graph describes it: its key as text, its path, its `full_name`, and whether
/// it is optimizer state.
type Described = (String, Option<String>, Option<String>, bool);

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
                Source::V1(v1) => Ok(v1.tensors().iter().map(|t| (t.name.clone(), t.dtype, t.shape.clone(), None)).collect()),
            }
        },
        || graph.map(GraphNames::new).transpose(),
    );
    let (names, listed) = (names?, listed?);
    // What the graph says of each tensor, worked out for the two halves of the list at once.
    let describe = |listed: &[Listed]| -> Vec<Described> {
        listed
            .iter()
            .map(|(key_bytes, ..)| {
                let key = String::from_utf8_lossy(key_bytes).into_owned();
                let (path, full_name, optimizer_state) = names.as_ref().map_or((None, None, false), |names| names.describe(&key));
                (key, path, full_name, optimizer_state)
            })
            .collect()
    };
    let (front, back) = listed.split_at(listed.len() / 2);
    let (mut described, back) = crate::threads::join(|| describe(front), || describe(back));
    described.extend(back);
    let mut plan = Plan { tensors: Vec::with_capacity(listed.len()), by_name: Vec::new(), skipped: Vec::new(), dropped_optimizer_state: 0, deselected: 0 };
    let mut unsupported = Vec::new();
    for ((key_bytes, dtype, shape, entry), (key, path, full_name, optimizer_state)) in listed.into_iter().zip(described) {
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
        let out_name = match options.name.as_mut() {
            Some(name_fn) => match name_fn(&tensor)? {
                Some(name) => name,
                None => {
                    plan.deselected += 1;
                    continue;
                }
            },
            None => tensor.name.clone(),
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
        if out_name == "__metadata__" {
            return Err(ExportError::InvalidName {
                key: tensor.key,
                name: out_name,
                reason: "safetensors keeps its header's metadata under that name".into(),
            });
        }
        // Cannot overflow: checked when the entry was decoded.
        let size = tensor.shape.iter().product::<u64>() * element_size(dtype).unwrap_or(0);
        plan.tensors.push(Planned { tensor, entry, key_bytes, out_name, dtype: kept, size });
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
    order.sort_by(|&a, &b| tensors[a as usize].out_name.cmp(&tensors[b as usize].out_name));
    let duplicate = order
        .windows(2)
        .map(|pair| (pair[0] as usize, pair[1] as usize))
        .filter(|&(a, b)| tensors[a].out_name == tensors[b].out_name)
        .min_by_key(|&(_, second)| second);
    match duplicate {
        Some((first, second)) => Err(ExportError::DuplicateName {
            name: tensors[second].out_name.clone(),
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
        .map(|(key, entry)| (key, entry.dtype, entry.shape.clone(), Some(entry)))
        .collect())
}
