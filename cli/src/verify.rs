//! `ckview verify`: reads every tensor of the bundle and checks its checksums, reporting every
//! damaged tensor rather than stopping at the first. Progress goes to stderr, and only when
//! stderr is a terminal and the work is long.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use ckview::format::slice_key::{readable_key, slice_key, slice_spec};
use ckview::format::v1::V1Checkpoint;
use ckview::format::{element_size, Bundle, Checkpoint, DataType, FormatError, TensorEntry, Verify};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::json::{self, lossy};
use crate::output::{human_bytes, plural, printable, printable_bytes, tensor_bytes, Out, Paint};
use crate::resolve::open_checkpoint;
use crate::Outcome;

/// Work at least this large shows progress from the start...
const LARGE_BYTES: u64 = 256 << 20;
/// ...smaller work once it has taken this long.
const SLOW: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Report<'a> {
    prefix: &'a str,
    tensors: usize,
    bytes: u64,
    ok: bool,
    bad: Vec<BadTensor>,
}

#[derive(Serialize)]
struct BadTensor {
    key: String,
    error: String,
}

pub fn run(ckpt: &OsStr, as_json: bool, out: &mut Out) -> Outcome {
    match open_checkpoint(ckpt)? {
        Checkpoint::V2(bundle) => run_bundle(&bundle, as_json, out),
        Checkpoint::V1(v1) => run_v1(&v1, as_json, out),
    }
}

/// A V1 checkpoint: every tensor read (its values decoded, slices assembled), which checks the
/// crc32c of every table block holding them.
fn run_v1(v1: &V1Checkpoint, as_json: bool, out: &mut Out) -> Outcome {
    let mut bad = Vec::new();
    let mut total = 0u64;
    for tensor in v1.tensors() {
        let read = if tensor.dtype == DataType::DtString {
            v1.read_strings(tensor).map(|strings| strings.iter().map(|s| s.len() as u64).sum())
        } else {
            v1.value_size(tensor).and_then(|size| {
                let mut buffer = vec![0u8; size as usize];
                v1.read_value(tensor, &mut buffer).map(|()| size)
            })
        };
        match read {
            Ok(size) => total += size,
            Err(error) => {
                if !as_json {
                    out.paint(Paint::Red, "BAD")?;
                    writeln!(out, " {}: {}", printable_bytes(&tensor.name), printable(&error.to_string()))?;
                }
                bad.push(BadTensor { key: lossy(&tensor.name), error: error.to_string() });
            }
        }
    }
    let prefix = v1.path().display().to_string();
    let summary = Summary { prefix: &prefix, tensors: v1.tensors().len(), bytes: total, what_passed: "every tensor reads, every block checksum matches", kind: "V1 checkpoint " };
    summary.print(bad, as_json, out)
}

/// The end of a verify run: one JSON report, or the verdict on one line.
struct Summary<'p> {
    prefix: &'p str,
    tensors: usize,
    bytes: u64,
    /// What "OK" means for this format.
    what_passed: &'static str,
    /// Before the prefix: "" or "V1 checkpoint ".
    kind: &'static str,
}

impl Summary<'_> {
    fn print(&self, bad: Vec<BadTensor>, as_json: bool, out: &mut Out) -> Outcome {
        let (prefix, kind) = (self.prefix, self.kind);
        if as_json {
            let report = Report { prefix, tensors: self.tensors, bytes: self.bytes, ok: bad.is_empty(), bad };
            json::print(out, &report)?;
            return Ok(if report.ok { 0 } else { 1 });
        }
        if bad.is_empty() {
            out.paint(Paint::Green, "OK")?;
            let (tensors, bytes) = (plural(self.tensors as u64, "tensor"), human_bytes(self.bytes));
            writeln!(out, " {tensors}, {bytes}: {} ({kind}{prefix})", self.what_passed)?;
            return Ok(0);
        }
        out.paint(Paint::Red, "DAMAGED")?;
        let verb = if bad.len() == 1 { "is" } else { "are" };
        writeln!(out, " {} of {} {verb} bad ({kind}{prefix})", bad.len(), plural(self.tensors as u64, "tensor"))?;
        Ok(1)
    }
}

fn run_bundle(bundle: &Bundle, as_json: bool, out: &mut Out) -> Outcome {
    // Every key `Bundle::tensors` lists, but an entry that does not decode is one bad tensor
    // here, not the end of the listing.
    let mut tensors: Vec<(Vec<u8>, Result<TensorEntry, FormatError>)> = Vec::new();
    bundle.table().for_each(|key, value| {
        if key.first().is_some_and(|&byte| byte != 0) {
            tensors.push((key.to_vec(), bundle.decode_entry(key, value)));
        }
        Ok(())
    })?;
    let sizes: Vec<u64> = tensors
        .iter()
        .map(|(key, entry)| entry.as_ref().map_or(0, |entry| tensor_bytes(bundle, key, entry)))
        .collect();
    let total: u64 = sizes.iter().sum();
    let progress = Progress::new(total);
    let mut buffer = Vec::new();
    let mut bad = Vec::new();
    for ((key, entry), &size) in tensors.iter().zip(&sizes) {
        progress.starting(key);
        let checked = match entry {
            Ok(entry) => check(bundle, key, entry, &mut buffer),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = checked {
            if !as_json {
                // Above the bar, which is drawn again below the line.
                progress.suspend(|| -> std::io::Result<()> {
                    out.paint(Paint::Red, "BAD")?;
                    writeln!(out, " {}: {}", printable_bytes(key), printable(&error))?;
                    out.flush()
                })?;
            }
            bad.push(BadTensor { key: lossy(key), error });
        }
        progress.advance(size);
    }
    progress.finish();
    let prefix = bundle.prefix().display().to_string();
    let summary = Summary { prefix: &prefix, tensors: tensors.len(), bytes: total, what_passed: "every checksum matches", kind: "" };
    summary.print(bad, as_json, out)
}

/// Reads one tensor with every check the library has; the error's message if one fails.
fn check(bundle: &Bundle, key: &[u8], entry: &TensorEntry, buffer: &mut Vec<u8>) -> Result<(), String> {
    read_checked(bundle, key, entry, buffer).map_err(|error| error.to_string())
}

fn read_checked(bundle: &Bundle, key: &[u8], entry: &TensorEntry, buffer: &mut Vec<u8>) -> Result<(), FormatError> {
    if entry.dtype == DataType::DtString {
        if entry.slices.is_empty() {
            bundle.read_string_values(key, entry)?;
        } else {
            for_each_slice(bundle, key, entry, |slice_key, slice| bundle.read_strings(slice_key, slice).map(drop))?;
        }
        return Ok(());
    }
    if element_size(entry.dtype).is_none() {
        // Variants: no layout to check, but the stored checksum still covers the bytes.
        return if entry.slices.is_empty() {
            bundle.check_stored_checksum(key, entry)
        } else {
            for_each_slice(bundle, key, entry, |slice_key, slice| bundle.check_stored_checksum(slice_key, slice))
        };
    }
    let size = bundle.value_size(key, entry)?;
    let size = usize::try_from(size).map_err(|_| too_large(bundle, key, size))?;
    if buffer.len() < size {
        buffer.clear();
        buffer.try_reserve_exact(size).map_err(|_| too_large(bundle, key, size as u64))?;
        buffer.resize(size, 0);
    }
    bundle.read_value(key, entry, &mut buffer[..size], Verify::Checksums)
}

fn too_large(bundle: &Bundle, key: &[u8], size: u64) -> FormatError {
    FormatError::Unsupported {
        path: bundle.table().path().to_path_buf(),
        reason: format!(
            "tensor {:?} needs {} of memory to read, which cannot be allocated",
            printable_bytes(key),
            human_bytes(size)
        ),
    }
}

/// Runs `check` on the entry of each slice of a partitioned tensor.
fn for_each_slice(
    bundle: &Bundle,
    key: &[u8],
    entry: &TensorEntry,
    mut check: impl FnMut(&[u8], &TensorEntry) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    for extents in &entry.slices {
        let name = slice_key(key, extents);
        let slice = bundle.entry(&name)?.ok_or_else(|| FormatError::CorruptEntry {
            path: bundle.table().path().to_path_buf(),
            key: String::from_utf8_lossy(key).into_owned(),
            reason: format!("slice {} is missing", slice_spec(extents)),
        })?;
        check(&name, &slice)?;
    }
    Ok(())
}


/// indicatif's bar on stderr: only when stderr is a terminal, and only for long work (large
/// from the start, or still running after [`SLOW`]), so that quick runs print nothing there.
struct Progress {
    bar: ProgressBar,
    start: Instant,
    /// Whether the bar may be drawn yet.
    visible: std::cell::Cell<bool>,
    terminal: bool,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("verifying [{bar:30}] {percent:>3}%  {binary_bytes} of {binary_total_bytes}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let progress =
            Progress { bar, start: Instant::now(), visible: false.into(), terminal: std::io::stderr().is_terminal() };
        if total >= LARGE_BYTES {
            progress.show();
        }
        progress
    }

    fn show(&self) {
        if self.terminal && !self.visible.replace(true) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// A tensor is about to be read.
    fn starting(&self, key: &[u8]) {
        if self.start.elapsed() >= SLOW {
            self.show();
        }
        self.bar.set_message(readable_key(key));
    }

    /// A tensor of `bytes` was read.
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// Runs `write` with the bar off the screen.
    fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        self.bar.suspend(write)
    }

    /// Erases the bar, so that what follows starts on a clean line.
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
