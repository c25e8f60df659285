//! `ckview verify`: reads every tensor of the bundle and checks its checksums, reporting every
//! damaged tensor rather than stopping at the first. Progress goes to stderr, and only when
//! stderr is a terminal and the work is long.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use ckview::format::slice_key::slice_key;
use ckview::format::{crc, element_size, Bundle, DataType, FormatError, TensorEntry, Verify};

use crate::args::Options;
use crate::json::Json;
use crate::output::{human_bytes, is_terminal, plural, printable_bytes, tensor_bytes, Out, Paint};
use crate::resolve::open_bundle;
use crate::Outcome;

/// Work at least this large shows progress from the start...
const LARGE_BYTES: u64 = 256 << 20;
/// ...smaller work once it has taken this long.
const SLOW: Duration = Duration::from_secs(2);
const REDRAW: Duration = Duration::from_millis(100);

pub fn run(ckpt: &OsStr, options: Options, out: &mut Out) -> Outcome {
    let bundle = open_bundle(ckpt)?;
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
        .map(|(key, entry)| entry.as_ref().map_or(0, |entry| tensor_bytes(&bundle, key, entry)))
        .collect();
    let total: u64 = sizes.iter().sum();
    let mut progress = Progress::new(total, tensors.len());
    let mut buffer = Vec::new();
    let mut bad: Vec<(&[u8], String)> = Vec::new();
    for ((key, entry), &size) in tensors.iter().zip(&sizes) {
        progress.tick();
        let checked = match entry {
            Ok(entry) => check(&bundle, key, entry, &mut buffer),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = checked {
            if !options.json {
                progress.clear();
                out.paint(Paint::Red, "BAD")?;
                writeln!(out, " {}: {}", printable_bytes(key), printable_bytes(error.as_bytes()))?;
                if progress.terminal {
                    out.flush()?; // before the bar is drawn again below it
                }
            }
            bad.push((key, error));
        }
        progress.advance(size);
    }
    progress.clear();
    let prefix = bundle.prefix().display().to_string();
    if options.json {
        let mut json = Json::new(&mut *out);
        json.begin_object()?;
        json.field_str("prefix", &prefix)?;
        json.field_uint("tensors", tensors.len() as u64)?;
        json.field_uint("bytes", total)?;
        json.key("ok")?;
        json.boolean(bad.is_empty())?;
        json.key("bad")?;
        json.begin_array()?;
        for (key, error) in &bad {
            json.begin_object()?;
            json.key("key")?;
            json.bytes_lossy(key)?;
            json.field_str("error", error)?;
            json.end_object()?;
        }
        json.end_array()?;
        json.end_object()?;
        json.finish()?;
    } else if bad.is_empty() {
        out.paint(Paint::Green, "OK")?;
        writeln!(
            out,
            " {}, {}: every checksum matches ({prefix})",
            plural(tensors.len() as u64, "tensor"),
            human_bytes(total)
        )?;
    } else {
        out.paint(Paint::Red, "DAMAGED")?;
        let verb = if bad.len() == 1 { "is" } else { "are" };
        writeln!(out, " {} of {} {verb} bad ({prefix})", bad.len(), plural(tensors.len() as u64, "tensor"))?;
    }
    Ok(if bad.is_empty() { 0 } else { 1 })
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
            stored_checksum(bundle, key, entry)
        } else {
            for_each_slice(bundle, key, entry, |slice_key, slice| stored_checksum(bundle, slice_key, slice))
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
            reason: format!("slice {extents:?} is missing"),
        })?;
        check(&name, &slice)?;
    }
    Ok(())
}

/// Checks the stored crc32c of an unpartitioned entry's bytes.
fn stored_checksum(bundle: &Bundle, key: &[u8], entry: &TensorEntry) -> Result<(), FormatError> {
    let bytes = bundle.stored_bytes(key, entry)?;
    let computed = crc::crc32c(bytes);
    let stored = crc::unmask(entry.masked_crc32c);
    if computed == stored {
        return Ok(());
    }
    Err(FormatError::ChecksumMismatch {
        path: bundle.shard_path(entry.shard_id),
        what: format!("tensor {:?}", String::from_utf8_lossy(key)),
        stored,
        computed,
    })
}

/// A progress bar on stderr: drawn only on a terminal, and only for long work.
struct Progress {
    terminal: bool,
    total: u64,
    done: u64,
    tensors: usize,
    index: usize,
    start: Instant,
    last_draw: Option<Instant>,
    shown: bool,
}

impl Progress {
    fn new(total: u64, tensors: usize) -> Progress {
        Progress {
            terminal: is_terminal(2),
            total,
            done: 0,
            tensors,
            index: 0,
            start: Instant::now(),
            last_draw: None,
            shown: false,
        }
    }

    /// A tensor is about to be read.
    fn tick(&mut self) {
        self.index += 1;
        self.draw();
    }

    /// A tensor of `bytes` was read.
    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        self.draw();
    }

    fn draw(&mut self) {
        if !self.terminal || (self.total < LARGE_BYTES && self.start.elapsed() < SLOW) {
            return;
        }
        if self.last_draw.is_some_and(|last| last.elapsed() < REDRAW) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let fraction = if self.total == 0 { 1.0 } else { self.done as f64 / self.total as f64 };
        let filled = (fraction * 30.0) as usize;
        let bar: String = (0..30)
            .map(|at| {
                if at < filled {
                    '='
                } else if at == filled {
                    '>'
                } else {
                    ' '
                }
            })
            .collect();
        let line = format!(
            "\r\x1b[Kverifying [{bar}] {:>3}%  {} of {}  tensor {}/{}",
            (fraction * 100.0) as u32,
            human_bytes(self.done),
            human_bytes(self.total),
            self.index,
            self.tensors
        );
        let _ = io::stderr().lock().write_all(line.as_bytes());
        self.shown = true;
    }

    /// Erases the bar, so that what follows starts on a clean line.
    fn clear(&mut self) {
        if self.shown {
            let _ = io::stderr().lock().write_all(b"\r\x1b[K");
            self.shown = false;
            self.last_draw = None;
        }
    }
}
