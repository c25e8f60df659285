//! Tensor entries by key, for commands that look up most keys of a bundle (tree, diff).
//!
//! `Bundle::entry` checks and parses a whole index block per call (TensorFlow writes 256 KiB
//! blocks), so a lookup per variable costs about as much as reading the index once per
//! hundred variables. One scan (`Bundle::tensors`) into a map makes each lookup a hash probe.

use std::collections::BTreeMap;

use ckview::format::{Bundle, FormatError, TensorEntry};
use ckview::view::{attribute_tensors, is_suffixed_key, AttributeTensor};

pub struct Entries<'b> {
    bundle: &'b Bundle,
    /// Every tensor's entry; `None` when the full listing failed (one corrupt entry fails it):
    /// then each key is looked up on its own, so that the rest still reads.
    map: Option<BTreeMap<Vec<u8>, TensorEntry>>,
}

impl<'b> Entries<'b> {
    pub fn load(bundle: &'b Bundle) -> Entries<'b> {
        let map = bundle.tensors().ok().map(|tensors| tensors.into_iter().collect());
        Entries { bundle, map }
    }

    /// The entry stored under `key`, as `Bundle::entry` gives it.
    pub fn get(&self, key: &[u8]) -> Result<Option<TensorEntry>, FormatError> {
        match &self.map {
            // The listing leaves out the header (empty key) and slices (keys starting with 0).
            Some(map) if key.first().is_some_and(|&byte| byte != 0) => Ok(map.get(key).cloned()),
            _ => self.bundle.entry(key),
        }
    }

    /// The tensors of the attribute stored under `checkpoint_key`, as
    /// `ckview::view::attribute_tensors` finds them: the key itself, else its suffixed keys
    /// (`-keys`/`-values` of a table, `_STATE` of an iterator), else one missing tensor.
    pub fn attribute_tensors(&self, checkpoint_key: &str, siblings: &[&str]) -> Result<Vec<AttributeTensor>, FormatError> {
        let Some(map) = self.map.as_ref().filter(|_| !checkpoint_key.is_empty()) else {
            return attribute_tensors(self.bundle, checkpoint_key, siblings);
        };
        let start = checkpoint_key.as_bytes();
        if let Some(entry) = map.get(start) {
            return Ok(vec![AttributeTensor { key: checkpoint_key.into(), suffix: String::new(), entry: Some(entry.clone()) }]);
        }
        let mut found: Vec<AttributeTensor> = map
            .range(start.to_vec()..)
            .take_while(|(key, _)| key.starts_with(start))
            .filter(|(key, _)| is_suffixed_key(checkpoint_key, key, siblings))
            .map(|(key, entry)| {
                let key = String::from_utf8_lossy(key).into_owned();
                AttributeTensor { suffix: key[checkpoint_key.len()..].to_string(), key, entry: Some(entry.clone()) }
            })
            .collect();
        if found.is_empty() {
            found.push(AttributeTensor { key: checkpoint_key.into(), suffix: String::new(), entry: None });
        }
        Ok(found)
    }
}
