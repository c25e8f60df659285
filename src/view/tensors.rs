//! Where a serialized tensor's values are in the bundle. A variable's attribute is stored under
//! its `checkpoint_key` itself; a saveable that is not a variable (`MutableHashTable`,
//! `DenseHashTable`, a tf.data iterator) stores its tensors under the key plus a suffix each
//! (`words/.ATTRIBUTES/table-keys` and `-values`, `it/.ATTRIBUTES/ITERATOR_STATE`).

use crate::format::{Bundle, FormatError, TensorEntry};
use crate::graph::{Attribute, GraphError};

use super::CheckpointView;

/// One tensor of an attribute: its bundle key, the suffix that key adds to the attribute's
/// `checkpoint_key` (empty for the key itself), and its entry (`None`: the bundle has no tensor
/// for the attribute at all).
#[derive(Clone, Debug)]
pub struct AttributeTensor {
    pub key: String,
    pub suffix: String,
    pub entry: Option<TensorEntry>,
}

/// Whether `key` is `checkpoint_key` plus a suffix that can be a saveable's: not empty, and not
/// the key of another attribute of the node (`siblings`), which would be a tensor of its own.
pub fn is_suffixed_key(checkpoint_key: &str, key: &[u8], siblings: &[&str]) -> bool {
    key.len() > checkpoint_key.len()
        && key.starts_with(checkpoint_key.as_bytes())
        && !siblings.iter().any(|sibling| sibling.as_bytes() == key)
}

/// The tensors of the attribute stored under `checkpoint_key`: the key itself when the bundle
/// has it; else every key `checkpoint_key + suffix` it has, in key order (one seek and a scan
/// over the keys sharing that prefix); else one tensor with no entry. `siblings` are the
/// `checkpoint_key`s of the node's other attributes.
pub fn attribute_tensors(bundle: &Bundle, checkpoint_key: &str, siblings: &[&str]) -> Result<Vec<AttributeTensor>, FormatError> {
    let mut found = Vec::new();
    let mut exact = None;
    let start = checkpoint_key.as_bytes();
    if start.is_empty() {
        return Ok(vec![AttributeTensor { key: String::new(), suffix: String::new(), entry: None }]);
    }
    let mut keys = Vec::new();
    bundle.table().scan_from(start, |key, value| {
        if !key.starts_with(start) {
            return Ok(false);
        }
        if key == start {
            exact = Some(bundle.decode_entry(key, value)?);
            return Ok(false);
        }
        if is_suffixed_key(checkpoint_key, key, siblings) {
            keys.push((key.to_vec(), bundle.decode_entry(key, value)?));
        }
        Ok(true)
    })?;
    if let Some(entry) = exact {
        return Ok(vec![AttributeTensor { key: checkpoint_key.to_string(), suffix: String::new(), entry: Some(entry) }]);
    }
    for (key, entry) in keys {
        let key = String::from_utf8_lossy(&key).into_owned();
        let suffix = key[checkpoint_key.len()..].to_string();
        found.push(AttributeTensor { key, suffix, entry: Some(entry) });
    }
    if found.is_empty() {
        found.push(AttributeTensor { key: checkpoint_key.to_string(), suffix: String::new(), entry: None });
    }
    Ok(found)
}

impl CheckpointView {
    /// Each attribute of `node_id` with its tensors in the bundle ([`attribute_tensors`]).
    pub fn attribute_tensors(&self, node_id: u32) -> Result<Vec<(Attribute<'_>, Vec<AttributeTensor>)>, GraphError> {
        let attributes: Vec<Attribute<'_>> = self.attributes(node_id)?.collect();
        let keys: Vec<&str> = attributes.iter().map(|attribute| attribute.checkpoint_key).collect();
        let mut result = Vec::with_capacity(attributes.len());
        for (index, attribute) in attributes.iter().enumerate() {
            let siblings: Vec<&str> =
                keys.iter().enumerate().filter(|&(other, _)| other != index).map(|(_, key)| *key).collect();
            result.push((*attribute, attribute_tensors(&self.bundle, attribute.checkpoint_key, &siblings)?));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture(path: &str) -> CheckpointView {
        CheckpointView::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)).unwrap()
    }

    #[test]
    fn tables_and_iterators_store_their_tensors_under_suffixed_keys() {
        let view = fixture("tables/before");
        let words = view.attribute_tensors(1).unwrap();
        assert_eq!(words.len(), 1);
        let keys: Vec<&str> = words[0].1.iter().map(|tensor| tensor.key.as_str()).collect();
        assert_eq!(keys, ["words/.ATTRIBUTES/table-keys", "words/.ATTRIBUTES/table-values"]);
        assert_eq!(words[0].1[0].suffix, "-keys");
        assert_eq!(words[0].1[0].entry.as_ref().unwrap().shape, [3]);
        let dense = view.attribute_tensors(2).unwrap();
        assert_eq!(dense[0].1[1].entry.as_ref().unwrap().shape, [8, 1]);
        let step = view.attribute_tensors(3).unwrap();
        assert_eq!(step[0].1[0].key, "step/.ATTRIBUTES/VARIABLE_VALUE");
        assert_eq!(step[0].1[0].suffix, "");
        let plain = fixture("iterator/plain2");
        let iterator = plain.attribute_tensors(1).unwrap();
        assert_eq!(iterator[0].1.len(), 1);
        assert_eq!(iterator[0].1[0].key, "it/.ATTRIBUTES/ITERATOR_STATE");
        assert_eq!(iterator[0].1[0].entry.as_ref().unwrap().shape, [1]);
    }

    #[test]
    fn a_sibling_attribute_and_a_missing_key_are_not_suffixes() {
        assert!(is_suffixed_key("a/.ATTRIBUTES/t", b"a/.ATTRIBUTES/t-keys", &[]));
        assert!(!is_suffixed_key("a/.ATTRIBUTES/t", b"a/.ATTRIBUTES/t-keys", &["a/.ATTRIBUTES/t-keys"]));
        assert!(!is_suffixed_key("a/.ATTRIBUTES/t", b"a/.ATTRIBUTES/t", &[]));
        let view = fixture("doc_children/tf_ckpts-1");
        let missing = attribute_tensors(view.bundle(), "nope/.ATTRIBUTES/VARIABLE_VALUE", &[]).unwrap();
        assert!(missing.len() == 1 && missing[0].entry.is_none());
    }
}
