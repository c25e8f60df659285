//! Writing a plan: tensors grouped into files, each file streamed by `safetensors` under a
//! temporary name, every file renamed into place once all are written, the index last.
//!
//! `safetensors::serialize_to_file` asks each tensor's [`View`] for its bytes in file order and
//! writes them through a buffer, so a view that reads its tensor when asked keeps one tensor in
//! memory at a time. `View::data` cannot fail: the first error is kept, later views hand out
//! nothing, and the file is removed once the writer returns.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::tensor::View;
use safetensors::Dtype;

use super::error::ExportError;
use super::plan::{Plan, Planned};
use super::{ExportOptions, ExportReport, ProgressFn, Source, KEY_METADATA_PREFIX, SOURCE_METADATA_KEY};
use crate::format::{host_endianness, swap_width, Endianness, FormatError, Verify};

/// What every tensor's view shares: the source, the first error, the progress.
struct Reading<'s> {
    source: &'s Source<'s>,
    failure: RefCell<Option<ExportError>>,
    done: Cell<u64>,
    total: u64,
    progress: RefCell<Option<&'s mut ProgressFn<'s>>>,
}

impl Reading<'_> {
    fn fail(&self, error: ExportError) {
        let mut failure = self.failure.borrow_mut();
        if failure.is_none() {
            *failure = Some(error);
        }
    }

    fn failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    /// The values of one tensor: borrowed from a memory map where no conversion is needed,
    /// else read (verified, assembled, in the host's byte order).
    fn values<'v>(&'v self, planned: &Planned) -> Result<Cow<'v, [u8]>, FormatError> {
        let bundle = match self.source {
            Source::View(view) => Some(view.bundle()),
            Source::Bundle(bundle) => Some(*bundle),
            Source::V1(_) => None,
        };
        if let (Some(bundle), Some(entry)) = (bundle.filter(|bundle| bundle.storage().maps()), &planned.entry) {
            match bundle.borrow_value(&planned.key_bytes, entry, Verify::Checksums) {
                Ok(bytes) => return Ok(Cow::Borrowed(bytes)),
                Err(FormatError::Unsupported { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        let mut buffer = Vec::new();
        let size = usize::try_from(planned.size).ok().filter(|&size| buffer.try_reserve_exact(size).is_ok());
        let Some(size) = size else {
            return Err(FormatError::Io {
                path: self.source.path().to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    format!("cannot allocate {} bytes to read tensor {:?}", planned.size, planned.tensor.key),
                ),
            });
        };
        buffer.resize(size, 0);
        match (self.source, &planned.entry) {
            (Source::View(view), Some(entry)) => view.bundle().read_value(&planned.key_bytes, entry, &mut buffer, Verify::Checksums)?,
            (Source::Bundle(bundle), Some(entry)) => bundle.read_value(&planned.key_bytes, entry, &mut buffer, Verify::Checksums)?,
            (Source::V1(v1), _) => v1.read_value(v1.require(&planned.key_bytes)?, &mut buffer)?,
            (_, None) => unreachable!("a bundle's tensors are planned with their entries"),
        }
        Ok(Cow::Owned(buffer))
    }

    /// The values in little-endian order, as safetensors stores them: the read paths give the
    /// host's order, which on a big-endian host is swapped here, per unit of `swap_width`.
    fn little_endian<'v>(&self, planned: &Planned, values: Cow<'v, [u8]>) -> Cow<'v, [u8]> {
        let width = swap_width(planned.tensor.dtype) as usize;
        if host_endianness() == Endianness::Little || width < 2 {
            return values;
        }
        let mut owned = values.into_owned();
        owned.chunks_exact_mut(width).for_each(<[u8]>::reverse);
        Cow::Owned(owned)
    }
}

/// One tensor, read when the writer asks for its bytes.
struct Lazy<'r, 's> {
    planned: &'r Planned,
    shape: Vec<usize>,
    reading: &'r Reading<'s>,
}

impl View for Lazy<'_, '_> {
    fn dtype(&self) -> Dtype {
        self.planned.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        if self.reading.failed() {
            return Cow::Borrowed(&[]);
        }
        let values = match self.reading.values(self.planned) {
            Ok(values) if values.len() as u64 == self.planned.size => self.reading.little_endian(self.planned, values),
            Ok(values) => {
                self.reading.fail(ExportError::Safetensors {
                    path: self.reading.source.path().to_path_buf(),
                    message: format!("tensor {:?} read {} bytes, not {}", self.planned.tensor.key, values.len(), self.planned.size),
                });
                return Cow::Borrowed(&[]);
            }
            Err(error) => {
                self.reading.fail(error.into());
                return Cow::Borrowed(&[]);
            }
        };
        let done = self.reading.done.get() + self.planned.size;
        self.reading.done.set(done);
        if let Some(progress) = self.reading.progress.borrow_mut().as_mut() {
            if let Err(error) = progress(done, self.reading.total) {
                self.reading.fail(error);
                return Cow::Borrowed(&[]);
            }
        }
        values
    }

    fn data_len(&self) -> usize {
        self.planned.size as usize
    }
}

/// Files written under temporary names, removed unless [`Staged::commit`] renames them.
struct Staged {
    /// (temporary, final) paths.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    fn commit(mut self) -> Result<(), ExportError> {
        let files = std::mem::take(&mut self.files);
        for (at, (temporary, target)) in files.iter().enumerate() {
            if let Err(source) = std::fs::rename(temporary, target) {
                // The ones renamed already are complete files; the rest go.
                self.files = files[at..].to_vec();
                return Err(ExportError::Write { path: target.clone(), source });
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temporary, _) in &self.files {
            let _ = std::fs::remove_file(temporary);
        }
    }
}

/// A temporary name beside `target`: `.NAME.ckview-PID-N.tmp`.
fn temporary_path(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".ckview-{}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    target.with_file_name(name)
}

/// Tensors in groups of at most `limit` bytes of values, in plan order; a tensor larger than
/// `limit` alone in its group.
fn shards(tensors: &[Planned], limit: Option<u64>) -> Vec<&[Planned]> {
    let Some(limit) = limit else {
        return vec![tensors];
    };
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (at, tensor) in tensors.iter().enumerate() {
        if at > start && bytes + tensor.size > limit {
            groups.push(&tensors[start..at]);
            (start, bytes) = (at, 0);
        }
        bytes += tensor.size;
    }
    groups.push(&tensors[start..]);
    groups
}

/// Hugging Face's shard names: `STEM-00001-of-00003.safetensors` beside `out`.
fn shard_path(out: &Path, index: usize, count: usize) -> PathBuf {
    let name = out.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    out.with_file_name(format!("{stem}-{:05}-of-{count:05}.safetensors", index + 1))
}

pub(crate) fn write(source: &Source<'_>, plan: Plan, out: &Path, options: &mut ExportOptions<'_>) -> Result<ExportReport, ExportError> {
    if out.file_name().is_none() {
        return Err(ExportError::InvalidOption(format!("{} names no file to write", out.display())));
    }
    let total: u64 = plan.tensors.iter().map(|planned| planned.size).sum();
    let groups = shards(&plan.tensors, options.max_shard_size);
    let reading = Reading {
        source,
        failure: RefCell::new(None),
        done: Cell::new(0),
        total,
        progress: RefCell::new(options.progress.as_deref_mut().map(|progress| progress as _)),
    };
    let mut staged = Staged { files: Vec::new() };
    let mut report = ExportReport::default();
    let mut weight_map = serde_json::Map::new();
    for (index, group) in groups.iter().enumerate() {
        let target = if groups.len() == 1 { out.to_path_buf() } else { shard_path(out, index, groups.len()) };
        let temporary = temporary_path(&target);
        staged.files.push((temporary.clone(), target.clone()));
        let mut metadata = HashMap::from([
            (SOURCE_METADATA_KEY.to_string(), source.path().display().to_string()),
            // What transformers' loaders check before they read a file.
            ("format".to_string(), "pt".to_string()),
        ]);
        for planned in group.iter() {
            metadata.insert(format!("{KEY_METADATA_PREFIX}{}", planned.out_name), planned.tensor.key.clone());
        }
        let views = group.iter().map(|planned| {
            let shape = planned.tensor.shape.iter().map(|&dim| dim as usize).collect();
            (planned.out_name.as_str(), Lazy { planned, shape, reading: &reading })
        });
        // The writer's own temporary file is private (0600); the output gets the mode a file
        // created here gets, the umask applied, without touching the process's umask.
        let mode = std::fs::File::create(&temporary)
            .and_then(|file| file.metadata())
            .map_err(|source| ExportError::Write { path: target.clone(), source })?
            .permissions();
        let written = safetensors::serialize_to_file(views, Some(metadata), &temporary)
            .and_then(|()| std::fs::set_permissions(&temporary, mode).map_err(Into::into));
        if let Some(error) = reading.failure.borrow_mut().take() {
            return Err(error);
        }
        written.map_err(|error| match error {
            safetensors::SafeTensorError::IoError(source) => ExportError::Write { path: target.clone(), source },
            other => ExportError::Safetensors { path: target.clone(), message: other.to_string() },
        })?;
        let file_name = target.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for planned in group.iter() {
            weight_map.insert(planned.out_name.clone(), serde_json::Value::String(file_name.clone()));
        }
        report.files.push(target);
    }
    if groups.len() > 1 {
        let mut name = out.file_name().unwrap_or_default().to_owned();
        name.push(".index.json");
        let index_path = out.with_file_name(name);
        let index = serde_json::json!({
            "metadata": { "total_size": total, SOURCE_METADATA_KEY: source.path().display().to_string() },
            "weight_map": weight_map,
        });
        let temporary = temporary_path(&index_path);
        staged.files.push((temporary.clone(), index_path.clone()));
        let text = serde_json::to_string_pretty(&index).expect("a JSON value serializes");
        std::fs::write(&temporary, text + "\n").map_err(|source| ExportError::Write { path: index_path.clone(), source })?;
        report.index = Some(index_path);
    }
    staged.commit()?;
    report.tensors = plan.tensors.len();
    report.bytes = total;
    report.skipped_unsupported = plan.skipped;
    report.dropped_optimizer_state = plan.dropped_optimizer_state;
    report.deselected = plan.deselected;
    Ok(report)
}
