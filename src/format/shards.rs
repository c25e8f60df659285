//! The data shards of a bundle, opened on first use, with the number of open files bounded.
//!
//! A checkpoint may have thousands of shards: keeping all of them open (or mapped) would take
//! the host's file descriptors (or its 65,530 mappings) from under it. Reads keep at most
//! `MAX_OPEN_SHARDS` files open and reopen a closed one when needed; memory maps, which must
//! stay for as long as bytes borrowed from them are in use, are capped at `MAX_MAPPED_SHARDS`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::error::{FormatError, Result};
use crate::io::{RandomAccess, Storage};

/// Shard files kept open for reads at once.
const MAX_OPEN_SHARDS: usize = 64;
/// Shards that may be memory-mapped at once, far below Linux's 65,530 mappings: each keeps its
/// file open too (reads never go through a map), so this also bounds those descriptors.
const MAX_MAPPED_SHARDS: usize = 256;

/// The shard files of one bundle.
#[derive(Debug)]
pub(crate) struct Shards {
    storage: Arc<dyn Storage>,
    prefix: PathBuf,
    count: u32,
    open: Mutex<OpenFiles>,
    /// The files whose mappings borrowed bytes point into: never closed while the bundle lives.
    mapped: Vec<OnceLock<Arc<dyn RandomAccess>>>,
    mapped_count: AtomicUsize,
}

/// Recently used shard files, each with the tick of its last use.
#[derive(Debug, Default)]
struct OpenFiles {
    files: HashMap<u32, (Arc<dyn RandomAccess>, u64)>,
    tick: u64,
}

impl Shards {
    pub(crate) fn new(storage: Arc<dyn Storage>, prefix: &Path, count: u32) -> Shards {
        let mapped = if storage.maps() { (0..count).map(|_| OnceLock::new()).collect() } else { Vec::new() };
        Shards { storage, prefix: prefix.to_path_buf(), count, open: Mutex::default(), mapped, mapped_count: AtomicUsize::new(0) }
    }

    pub(crate) fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// `P.data-00000-of-00001`.
    pub(crate) fn path(&self, shard_id: u32) -> PathBuf {
        let mut name = self.prefix.as_os_str().to_owned();
        name.push(format!(".data-{shard_id:05}-of-{:05}", self.count));
        PathBuf::from(name)
    }

    fn check_id(&self, shard_id: u32) -> Result<()> {
        if shard_id >= self.count {
            return Err(FormatError::CorruptEntry {
                path: self.path(0),
                key: String::new(),
                reason: format!("shard id {shard_id} is not below the bundle's {} shards", self.count),
            });
        }
        Ok(())
    }

    /// Shard `shard_id`, open for reads.
    pub(crate) fn file(&self, shard_id: u32) -> Result<Arc<dyn RandomAccess>> {
        self.check_id(shard_id)?;
        if let Some(mapped) = self.mapped.get(shard_id as usize).and_then(OnceLock::get) {
            return Ok(Arc::clone(mapped));
        }
        {
            let mut open = self.open.lock().unwrap_or_else(|poison| poison.into_inner());
            open.tick += 1;
            let tick = open.tick;
            if let Some((file, used)) = open.files.get_mut(&shard_id) {
                *used = tick;
                return Ok(Arc::clone(file));
            }
        }
        // Opened outside the lock: a slow storage must not hold up reads of other shards.
        let path = self.path(shard_id);
        let file = self.storage.open(&path).map_err(|source| FormatError::Io { path, source })?;
        let mut open = self.open.lock().unwrap_or_else(|poison| poison.into_inner());
        if open.files.len() >= MAX_OPEN_SHARDS {
            if let Some(&oldest) = open.files.iter().min_by_key(|(_, (_, used))| *used).map(|(id, _)| id) {
                open.files.remove(&oldest);
            }
        }
        let tick = open.tick;
        open.files.insert(shard_id, (Arc::clone(&file), tick));
        Ok(file)
    }

    /// The bytes of shard `shard_id`, memory-mapped (the storage must map), valid as long as
    /// this value lives.
    pub(crate) fn mapped(&self, shard_id: u32) -> Result<&[u8]> {
        self.check_id(shard_id)?;
        let path = || self.path(shard_id);
        let Some(slot) = self.mapped.get(shard_id as usize) else {
            return Err(FormatError::Unsupported {
                path: path(),
                reason: "borrowing a tensor's bytes needs memory maps; open the checkpoint with them (CKVIEW_OPEN_MMAP)".into(),
            });
        };
        let file = match slot.get() {
            Some(file) => file,
            None => {
                if self.mapped_count.fetch_add(1, Ordering::Relaxed) >= MAX_MAPPED_SHARDS {
                    self.mapped_count.fetch_sub(1, Ordering::Relaxed);
                    return Err(FormatError::Unsupported {
                        path: path(),
                        reason: format!("at most {MAX_MAPPED_SHARDS} shards are memory-mapped at once; read this tensor instead"),
                    });
                }
                let file = self.file(shard_id)?;
                if slot.set(file).is_err() {
                    self.mapped_count.fetch_sub(1, Ordering::Relaxed); // another thread won
                }
                slot.get().expect("set above")
            }
        };
        file.map().map_err(|source| FormatError::Io { path: path(), source })
    }
}
