//! Writing the new bundle atomically: both files are written under temporary names in the
//! target directory, synced, then renamed, the data shard first and the `.index` last, so that
//! `OUT.index` appears only once `OUT` is complete. On any error, and if the writer is dropped
//! before [`Output::finish`], the temporary files (and the directories created for them) are
//! removed: nothing is left half-done.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::format::proto::{BundleEntryProto, BundleHeaderProto};
use crate::format::writer::TableBuilder;

use super::error::{Result, RewriteError};

/// Bytes copied at a time from the source: memory stays constant whatever a tensor's size.
pub(crate) const CHUNK: usize = 1 << 20;

/// `prefix` + `suffix`, as one path.
pub(crate) fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

const DATA_SUFFIX: &str = ".data-00000-of-00001";

/// A one-shard bundle being written under temporary names.
pub(crate) struct Output {
    target: PathBuf,
    temp: PathBuf,
    data: Option<BufWriter<File>>,
    offset: u64,
    entries: BTreeMap<Vec<u8>, BundleEntryProto>,
    /// Directories created for the output, deepest first: removed again if it fails.
    created: Vec<PathBuf>,
    finished: bool,
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> RewriteError + '_ {
    move |source| RewriteError::Write { path: path.to_path_buf(), source }
}

impl Output {
    /// Starts writing the bundle that will be `target`: a temporary data file next to it. The
    /// directory is created if it is missing, as TensorFlow creates it.
    pub(crate) fn create(target: &Path) -> Result<Output> {
        let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.subsec_nanos()).unwrap_or(0);
        let temp_name = format!(".{name}.ckview-tmp-{}-{nanos:09}", std::process::id());
        let temp = target.with_file_name(temp_name);
        let mut output = Output {
            target: target.to_path_buf(),
            temp,
            data: None,
            offset: 0,
            entries: BTreeMap::new(),
            created: Vec::new(),
            finished: false,
        };
        if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let mut missing = Some(dir);
            while let Some(dir) = missing.filter(|dir| !dir.as_os_str().is_empty() && fs::symlink_metadata(dir).is_err()) {
                output.created.push(dir.to_path_buf());
                missing = dir.parent();
            }
            fs::create_dir_all(dir).map_err(write_error(dir))?;
        }
        let data_path = with_suffix(&output.temp, DATA_SUFFIX);
        let file = OpenOptions::new().write(true).create_new(true).open(&data_path).map_err(write_error(&with_suffix(target, DATA_SUFFIX)))?;
        output.data = Some(BufWriter::new(file));
        Ok(output)
    }

    fn data(&mut self) -> &mut BufWriter<File> {
        self.data.as_mut().expect("the data file is open until finish")
    }

    /// Appends `bytes` to the data file; returns the offset they start at.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let path = with_suffix(&self.target, DATA_SUFFIX);
        let start = self.offset;
        self.data().write_all(bytes).map_err(write_error(&path))?;
        self.offset += bytes.len() as u64;
        Ok(start)
    }

    /// The offset the next appended byte will have.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Records the index entry of `key` (its data, if any, already appended).
    pub(crate) fn add_entry(&mut self, key: &[u8], entry: BundleEntryProto) {
        self.entries.insert(key.to_vec(), entry);
    }

    /// Writes the index with `header`, syncs both files and renames them into place, the index
    /// last. Returns the sizes of the data file and the index.
    pub(crate) fn finish(mut self, header: &BundleHeaderProto) -> Result<(u64, u64)> {
        let temp_data = with_suffix(&self.temp, DATA_SUFFIX);
        let temp_index = with_suffix(&self.temp, ".index");
        let data = self.data.take().expect("finish runs once");
        let final_data = with_suffix(&self.target, DATA_SUFFIX);
        let final_index = with_suffix(&self.target, ".index");
        let file = data.into_inner().map_err(|error| RewriteError::Write { path: final_data.clone(), source: error.into_error() })?;
        file.sync_all().map_err(write_error(&final_data))?;
        drop(file);
        let mut table = TableBuilder::default();
        table.add(b"", &header.encode_to_vec());
        for (key, entry) in &self.entries {
            table.add(key, &entry.encode_to_vec());
        }
        let index = table.finish();
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp_index).map_err(write_error(&final_index))?;
        file.write_all(&index).and_then(|()| file.sync_all()).map_err(write_error(&final_index))?;
        drop(file);
        fs::rename(&temp_data, &final_data).map_err(write_error(&final_data))?;
        if let Err(source) = fs::rename(&temp_index, &final_index) {
            // The data file is in place but no index names it: take it away again.
            let _ = fs::remove_file(&final_data);
            return Err(RewriteError::Write { path: final_index, source });
        }
        self.finished = true;
        // Make the renames durable; a directory that cannot be synced is not an error.
        if let Some(dir) = self.target.parent().filter(|dir| !dir.as_os_str().is_empty()).or(Some(Path::new("."))) {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok((self.offset, index.len() as u64))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.finished {
            drop(self.data.take());
            let _ = fs::remove_file(with_suffix(&self.temp, DATA_SUFFIX));
            let _ = fs::remove_file(with_suffix(&self.temp, ".index"));
            for dir in &self.created {
                let _ = fs::remove_dir(dir); // only when empty
            }
        }
    }
}
