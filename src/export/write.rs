//! Writing a plan: tensors grouped into files, each file written under a temporary name,
//! every file renamed into place once all are written, the index last.
//!
//! The header holds `safetensors`' own `TensorInfo`s, serialized by the crate, in a fixed
//! order. The values are written here rather than by `safetensors::serialize_to_file`, which
//! takes every tensor's bytes from memory: a tensor whose stored bytes are its value (most of
//! them) is copied from the data file inside the kernel (`copy_file_range`) and verified by
//! reading the copy back, so the bytes checked against the stored crc32c are the bytes written;
//! the rest (partitioned, byte-swapped, bool, V1 and small tensors) is read into one reused
//! buffer through [`crate::format`]'s read paths, which verify it. Memory stays at the largest
//! tensor read that way plus a constant.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use safetensors::tensor::TensorInfo;

use super::check::{Checker, CopiedRun};
use super::error::ExportError;
use super::plan::{Plan, Planned};
use super::{ExportOptions, ExportReport, Source, KEY_METADATA_PREFIX, SOURCE_METADATA_KEY};
use crate::format::{host_to_little_endian, reused_buffer, Bundle, FormatError, TensorEntry, Verify};
use crate::io::RandomAccess;

/// Runs at least this large are copied inside the kernel; smaller ones are cheaper read.
const COPY_AT_LEAST: u64 = 1 << 20;
/// Runs of several tensors stop growing at this size, so that progress is reported often.
const MAX_RUN: u64 = 64 << 20;
/// What safetensors' readers accept as a header, at most (its crate's `MAX_HEADER_SIZE`).
const MAX_HEADER_SIZE: usize = 100_000_000;

/// One output file being written: the file, a buffer in front of it, the next byte's offset.
struct Output<'p> {
    writer: BufWriter<File>,
    position: u64,
    path: &'p Path,
}

impl Output<'_> {
    fn write_error(&self, source: std::io::Error) -> ExportError {
        ExportError::Write { path: self.path.to_path_buf(), source }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.writer.write_all(bytes).map_err(|source| self.write_error(source))?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Copies a run's stored bytes in the kernel, to be checked by a [`Checker`]; `Ok(None)`
    /// when the storage cannot copy (nothing written).
    fn copy<'p>(&mut self, bundle: &Bundle, run: Run<'p>) -> Result<Option<CopiedRun<'p>>, ExportError> {
        self.writer.flush().map_err(|source| self.write_error(source))?;
        let copied = run.file.copy_to(run.offset, run.bytes, self.writer.get_ref(), self.position).map_err(|source| FormatError::Io {
            path: bundle.shard_path(run.shard_id),
            source: std::io::Error::new(source.kind(), format!("copying tensors to {}: {source}", self.path.display())),
        })?;
        if !copied {
            return Ok(None);
        }
        let position = self.position;
        self.position += run.bytes;
        self.writer.seek(SeekFrom::Start(self.position)).map_err(|source| self.write_error(source))?;
        Ok(Some(CopiedRun { position, bytes: run.bytes, tensors: run.tensors }))
    }
}

/// Tensors that follow each other both in the output and in one data file, each stored as its
/// value ([`Bundle::verbatim`]): copied with one call.
struct Run<'p> {
    tensors: Vec<(&'p Planned, &'p TensorEntry)>,
    file: Arc<dyn RandomAccess>,
    shard_id: u32,
    offset: u64,
    bytes: u64,
}

/// The longest run that starts with `tensors[0]`, of at most `MAX_RUN` bytes unless its first
/// tensor alone is larger; `None` when the first tensor is not stored as its value.
fn run<'p>(bundle: &Bundle, tensors: &[&'p Planned]) -> Result<Option<Run<'p>>, ExportError> {
    let mut run: Option<Run<'p>> = None;
    for &planned in tensors {
        let Some(entry) = &planned.entry else { break };
        let Some((file, range)) = bundle.verbatim(planned.key_bytes(), entry)? else { break };
        match &mut run {
            None => run = Some(Run { tensors: vec![(planned, entry)], file, shard_id: range.shard_id, offset: range.offset, bytes: range.size }),
            Some(run) if range.shard_id == run.shard_id && range.offset == run.offset + run.bytes && run.bytes + range.size <= MAX_RUN => {
                run.tensors.push((planned, entry));
                run.bytes += range.size;
            }
            Some(_) => break,
        }
    }
    Ok(run)
}

/// A tensor's values read into `scratch` (verified, assembled, in little-endian order).
fn read_values<'b>(source: &Source<'_>, planned: &Planned, scratch: &'b mut Vec<u8>) -> Result<&'b [u8], ExportError> {
    let values = reused_buffer(scratch, planned.size, source.path(), &planned.tensor.key)?;
    match (source, source.bundle(), &planned.entry) {
        (_, Some(bundle), Some(entry)) => bundle.read_value(planned.key_bytes(), entry, values, Verify::Checksums)?,
        (Source::V1(v1), None, _) => v1.read_value(v1.require(planned.key_bytes())?, values)?,
        _ => unreachable!("a bundle's tensors are planned with their entries"),
    }
    host_to_little_endian(values, planned.tensor.dtype);
    Ok(values)
}

/// The header of a file of `tensors`, in that order: `__metadata__` first, then each tensor's
/// `safetensors::tensor::TensorInfo` (serialized by the crate), padded with spaces to a multiple
/// of 8 bytes as the crate pads its own. Written here, not through the crate's `Metadata`, whose
/// metadata is a `HashMap` serialized in hash order: the same export then gives the same bytes.
///
/// Two parts, serialized at once on two cores (tens of megabytes for 200k tensors): the opening
/// brace and `__metadata__`, then the tensors and the closing brace, the bytes serde_json's
/// compact map would write in one piece.
fn header(tensors: &[&Planned], metadata: &Metadata<'_>, path: &Path) -> Result<[Vec<u8>; 2], ExportError> {
    let refused = |message: String| ExportError::Safetensors { path: path.to_path_buf(), message };
    let metadata_part = || -> Result<Vec<u8>, serde_json::Error> {
        // Sized up front: growing a buffer of tens of megabytes by doubling costs more than writing it.
        let estimate: usize = metadata.by_name.iter().map(|planned| planned.out_name().len() + planned.tensor.key.len() + 24).sum();
        let mut json = Vec::with_capacity(estimate + 256);
        json.extend_from_slice(b"{\"__metadata__\":");
        serde_json::to_writer(&mut json, metadata)?;
        Ok(json)
    };
    let tensors_part = || -> Result<Vec<u8>, serde_json::Error> {
        let estimate: usize = tensors.iter().map(|planned| planned.out_name().len() + 96).sum();
        let mut json = Vec::with_capacity(estimate + 8);
        let mut offset = 0usize;
        for planned in tensors {
            let size = usize::try_from(planned.size).map_err(|_| serde::ser::Error::custom(format!("tensor {:?} is too large for this host", planned.tensor.key)))?;
            let shape = planned.tensor.shape.iter().map(|&dim| dim as usize).collect();
            json.push(b',');
            serde_json::to_writer(&mut json, planned.out_name())?;
            json.push(b':');
            serde_json::to_writer(&mut json, &TensorInfo { dtype: planned.dtype, shape, data_offsets: (offset, offset + size) })?;
            offset += size;
        }
        json.push(b'}');
        Ok(json)
    };
    let (opening, rest) = crate::threads::join(metadata_part, tensors_part);
    let (opening, mut rest) = (opening.map_err(|error| refused(error.to_string()))?, rest.map_err(|error| refused(error.to_string()))?);
    let length = opening.len() + rest.len();
    rest.resize(rest.len() + (length.next_multiple_of(8) - length), b' ');
    let length = opening.len() + rest.len();
    if length > MAX_HEADER_SIZE {
        return Err(refused(format!(
            "its header would take {length} bytes, more than the {MAX_HEADER_SIZE} safetensors readers accept: split it with a maximum shard size"
        )));
    }
    Ok([opening, rest])
}

/// A file's `__metadata__`: the source checkpoint, `"format": "pt"` (what transformers' loaders
/// check before they read a file) and each tensor's bundle key under `tensorflow_key:NAME`, in
/// the order of a sorted map (the fixed keys sort first), without a map of a string per tensor.
struct Metadata<'p> {
    source: String,
    /// The file's tensors, ordered by name.
    by_name: Vec<&'p Planned>,
}

impl serde::Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// `tensorflow_key:NAME`, written without being built.
        struct KeyOf<'n>(&'n str);
        impl serde::Serialize for KeyOf<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&format_args!("{KEY_METADATA_PREFIX}{}", self.0))
            }
        }
        // Sorted-map order: the two fixed keys sort before every `tensorflow_key:` one, and
        // those sort as their names do.
        debug_assert!("format" < SOURCE_METADATA_KEY && SOURCE_METADATA_KEY < KEY_METADATA_PREFIX);
        let mut map = serializer.serialize_map(Some(self.by_name.len() + 2))?;
        map.serialize_entry("format", "pt")?;
        map.serialize_entry(SOURCE_METADATA_KEY, &self.source)?;
        for planned in &self.by_name {
            map.serialize_entry(&KeyOf(planned.out_name()), &planned.tensor.key)?;
        }
        map.end()
    }
}

/// Writes one safetensors file of `plan.tensors[group]` at `temporary`; `done` counts the bytes
/// of values written over all files, for `options.progress`.
fn write_file(
    source: &Source<'_>,
    plan: &Plan,
    group: Range<usize>,
    temporary: &Path,
    target: &Path,
    options: &mut ExportOptions<'_>,
    (done, total): (&mut u64, u64),
) -> Result<(), ExportError> {
    let by_name = plan.by_name.iter().map(|&index| index as usize).filter(|index| group.contains(index));
    let metadata = Metadata { source: source.path().display().to_string(), by_name: by_name.map(|index| &plan.tensors[index]).collect() };
    let group = &plan.tensors[group];
    // Widest elements first, as `safetensors` orders its own files, so that every tensor starts
    // at a multiple of its element size; then in the order of the data files, so that tensors
    // stored one after another are copied with one call (readers find tensors by offset).
    // Each tensor's place is worked out once, not at every comparison; names are unique, so
    // no two tensors compare equal and an unstable sort gives the one order.
    let place = |planned: &Planned| {
        let stored = planned.entry.as_ref().filter(|entry| entry.slices.is_empty()).map(|entry| (entry.shard_id, entry.offset));
        (std::cmp::Reverse(planned.dtype.bitsize()), stored.is_none(), stored)
    };
    let mut placed: Vec<_> = group.iter().map(|planned| (place(planned), planned)).collect();
    placed.sort_unstable_by(|(a_place, a), (b_place, b)| a_place.cmp(b_place).then_with(|| a.out_name().cmp(b.out_name())));
    let order: Vec<&Planned> = placed.into_iter().map(|(_, planned)| planned).collect();
    let header = header(&order, &metadata, target)?;
    // Read back to verify copies; created with the mode a new file gets, the umask applied.
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(temporary)
        .map_err(|source| ExportError::Write { path: target.to_path_buf(), source })?;
    let mut output = Output { writer: BufWriter::with_capacity(1 << 20, file), position: 0, path: target };
    let [opening, rest] = header;
    output.write(&((opening.len() + rest.len()) as u64).to_le_bytes())?;
    output.write(&opening)?;
    output.write(&rest)?;
    drop((opening, rest));
    let reader = output.writer.get_ref().try_clone().map_err(|source| output.write_error(source))?;
    std::thread::scope(|scope| {
        let bundle = source.bundle();
        let mut checker = bundle.map(|bundle| Checker::start(scope, bundle, reader, target));
        let mut scratch = Vec::new();
        let mut at = 0;
        while at < order.len() {
            let run = match bundle {
                Some(bundle) => run(bundle, &order[at..])?,
                None => None,
            };
            // A run too small to be worth a copy is read tensor by tensor, all of it: the tensors
            // after the first are not looked at again.
            let count = run.as_ref().map_or(1, |run| run.tensors.len());
            let copied = match (run, bundle, checker.as_mut()) {
                (Some(run), Some(bundle), Some(checker)) if run.bytes >= COPY_AT_LEAST => match output.copy(bundle, run)? {
                    Some(copied) => {
                        checker.check(copied)?;
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            for &planned in &order[at..at + count] {
                if !copied {
                    let values = read_values(source, planned, &mut scratch)?;
                    output.write(values)?;
                }
                *done += planned.size;
                if let Some(progress) = options.progress.as_mut() {
                    progress(*done, total)?;
                }
            }
            at += count;
        }
        output.writer.flush().map_err(|source| output.write_error(source))?;
        checker.map_or(Ok(()), |mut checker| checker.finish())
    })
}

/// Files written under temporary names, removed unless [`Staged::commit`] renames them.
struct Staged {
    /// (temporary, final) paths.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Renames every file into place, or none: a file already at a target is first moved
    /// aside, so that when a rename fails partway (a shard's name taken by a directory, a full
    /// disk's directory) the files renamed so far are removed and the old ones put back.
    fn commit(mut self) -> Result<(), ExportError> {
        let files = std::mem::take(&mut self.files);
        let (mut replaced, mut placed) = (Vec::new(), Vec::new());
        for (temporary, target) in &files {
            if let Err(source) = place(temporary, target, &mut replaced, &mut placed) {
                for target in placed {
                    let _ = std::fs::remove_file(target);
                }
                for (aside, target) in replaced {
                    let _ = std::fs::rename(aside, target);
                }
                // The temporaries not renamed yet go when `self` drops.
                self.files = files.clone();
                return Err(ExportError::Write { path: target.clone(), source });
            }
        }
        for (aside, _) in replaced {
            let _ = std::fs::remove_file(aside);
        }
        Ok(())
    }
}

/// Renames `temporary` to `target`, moving a file already there aside first; records both in
/// `replaced` (aside, target) and `placed`, for [`Staged::commit`] to undo. A directory at
/// `target` is an error, as it is for a rename.
fn place(temporary: &Path, target: &Path, replaced: &mut Vec<(PathBuf, PathBuf)>, placed: &mut Vec<PathBuf>) -> std::io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(existing) if existing.is_dir() => return Err(std::io::Error::from(std::io::ErrorKind::IsADirectory)),
        Ok(_) => {
            let aside = temporary_path(target);
            std::fs::rename(target, &aside)?;
            replaced.push((aside, target.to_path_buf()));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    std::fs::rename(temporary, target)?;
    placed.push(target.to_path_buf());
    Ok(())
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
fn shards(tensors: &[Planned], limit: Option<u64>) -> Vec<Range<usize>> {
    let Some(limit) = limit else {
        return vec![0..tensors.len()];
    };
    let mut groups = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (at, tensor) in tensors.iter().enumerate() {
        if at > start && bytes + tensor.size > limit {
            groups.push(start..at);
            (start, bytes) = (at, 0);
        }
        bytes += tensor.size;
    }
    groups.push(start..tensors.len());
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
    let mut done = 0u64;
    let mut staged = Staged { files: Vec::new() };
    let mut report = ExportReport::default();
    let mut weight_map = serde_json::Map::new();
    for (index, group) in groups.iter().enumerate() {
        let target = if groups.len() == 1 { out.to_path_buf() } else { shard_path(out, index, groups.len()) };
        let temporary = temporary_path(&target);
        staged.files.push((temporary.clone(), target.clone()));
        write_file(source, &plan, group.clone(), &temporary, &target, options, (&mut done, total))?;
        if groups.len() > 1 {
            let file_name = target.file_name().unwrap_or_default().to_string_lossy().into_owned();
            for planned in &plan.tensors[group.clone()] {
                weight_map.insert(planned.out_name().to_string(), serde_json::Value::String(file_name.clone()));
            }
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
