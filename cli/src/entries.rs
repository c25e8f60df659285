//! Tensor entries by key, for commands that look up most keys of a bundle (tree, diff).
//!
//! `Bundle::entry` checks and parses a whole index block per call (TensorFlow writes 256 KiB
//! blocks), so a lookup per variable costs about as much as reading the index once per
//! hundred variables. One scan (`Bundle::tensors`) into a map makes each lookup a hash probe.

use std::collections::HashMap;

use ckview::format::{Bundle, FormatError, TensorEntry};

pub struct Entries<'b> {
    bundle: &'b Bundle,
    /// Every tensor's entry; `None` when the full listing failed (one corrupt entry fails it):
    /// then each key is looked up on its own, so that the rest still reads.
    map: Option<HashMap<Vec<u8>, TensorEntry>>,
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
}
