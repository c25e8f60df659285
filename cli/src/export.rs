//! `ckview export CKPT OUT.safetensors`: the library's export, with the command line's
//! selections on top (`--select`, `--drop`, `--rename` as regular expressions), a progress bar on
//! a terminal, and a summary.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use ckview::export::{export_safetensors, ExportError, ExportOptions, ExportReport, ExportTensor, Naming};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use regex::Regex;
use serde::Serialize;

use crate::cli::NamesArg;
use crate::output::{human_bytes, plural, printable, Out};
use crate::resolve::{open_checkpoint, open_view};
use crate::{json, Failure, Outcome};

/// Exports at least this large show progress from the start...
const LARGE_BYTES: u64 = 256 << 20;
/// ...smaller ones once they have taken this long.
const SLOW: Duration = Duration::from_secs(2);

/// What `ckview export` was asked to do.
pub struct Request<'a> {
    pub names: Option<NamesArg>,
    pub rename: &'a [String],
    pub select: &'a [String],
    pub drop: &'a [String],
    pub drop_slots: bool,
    pub skip_unsupported: bool,
    pub max_shard_size: Option<&'a str>,
}

#[derive(Serialize)]
struct Summary<'a> {
    source: String,
    files: Vec<String>,
    index: Option<String>,
    tensors: usize,
    bytes: u64,
    skipped_unsupported: Vec<Skipped<'a>>,
    dropped_optimizer_state: usize,
    deselected: usize,
}

#[derive(Serialize)]
struct Skipped<'a> {
    key: &'a str,
    dtype: &'a str,
}

fn regex(pattern: &str, option: &str) -> Result<Regex, Failure> {
    Regex::new(pattern).map_err(|error| {
        let first = error.to_string().lines().last().unwrap_or_default().trim().to_string();
        Failure::Error(format!("{option} {pattern:?} is not a regular expression: {first}"))
    })
}

/// `REGEX=REPLACEMENT`, split at the first `=`.
fn rename_rule(rule: &str) -> Result<(Regex, String), Failure> {
    let Some((pattern, replacement)) = rule.split_once('=') else {
        return Err(Failure::Error(format!("--rename {rule:?} is not REGEX=REPLACEMENT")));
    };
    Ok((regex(pattern, "--rename")?, replacement.to_string()))
}

/// `5GB`, `500MB`, `64KiB`, `1000000`: decimal units as Hugging Face counts them, or binary ones.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(format!("unknown unit {unit:?} (B, KB, MB, GB, TB, or KiB, MiB, GiB, TiB)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a size such as 5GB or 500MiB"))?;
    let bytes = value * scale as f64;
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("{text:?} is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

/// The progress bar, drawn on standard error when it is a terminal and the export is long.
struct Progress {
    bar: ProgressBar,
    start: Instant,
    visible: bool,
    terminal: bool,
    /// The length and position the bar was last given: it is told again only when the export
    /// has moved on by a thousandth, not at each of 200k small tensors.
    shown: (u64, u64),
}

impl Progress {
    fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("exporting [{bar:30}] {percent:>3}%  {binary_bytes} of {binary_total_bytes}  {binary_bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar, start: Instant::now(), visible: false, terminal: std::io::stderr().is_terminal(), shown: (0, 0) }
    }

    fn update(&mut self, done: u64, total: u64) {
        let (shown_total, shown_done) = self.shown;
        if total == shown_total && done != total && done - shown_done.min(done) < total / 1000 {
            return;
        }
        self.shown = (total, done);
        self.bar.set_length(total);
        self.bar.set_position(done);
        if self.terminal && !self.visible && (total >= LARGE_BYTES || self.start.elapsed() >= SLOW) {
            self.visible = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

pub fn run(ckpt: &OsStr, out_path: &Path, request: Request<'_>, as_json: bool, out: &mut Out) -> Outcome {
    let select: Vec<Regex> = request.select.iter().map(|pattern| regex(pattern, "--select")).collect::<Result<_, _>>()?;
    let drop: Vec<Regex> = request.drop.iter().map(|pattern| regex(pattern, "--drop")).collect::<Result<_, _>>()?;
    let rename: Vec<(Regex, String)> = request.rename.iter().map(|rule| rename_rule(rule)).collect::<Result<_, _>>()?;
    let max_shard_size = request
        .max_shard_size
        .map(|text| parse_size(text).map_err(|reason| Failure::Error(format!("--max-shard-size: {reason}"))))
        .transpose()?;
    let matches = |patterns: &[Regex], tensor: &ExportTensor| {
        patterns.iter().any(|pattern| pattern.is_match(&tensor.name) || pattern.is_match(&tensor.key))
    };
    // Without patterns every tensor keeps its default name: no function to call 200k times.
    let renames_or_filters = !(select.is_empty() && drop.is_empty() && rename.is_empty());
    let name = move |tensor: &ExportTensor| {
        if (!select.is_empty() && !matches(&select, tensor)) || matches(&drop, tensor) {
            return Ok(None);
        }
        let mut name = tensor.name.clone();
        for (pattern, replacement) in &rename {
            name = pattern.replace_all(&name, replacement.as_str()).into_owned();
        }
        Ok(Some(name))
    };
    let mut progress = Progress::new();
    let options = ExportOptions {
        naming: request.names.map(|names| match names {
            NamesArg::Path => Naming::Path,
            NamesArg::Key => Naming::Key,
            NamesArg::FullName => Naming::FullName,
        }),
        drop_optimizer_state: request.drop_slots,
        skip_unsupported: request.skip_unsupported,
        max_shard_size,
        name: renames_or_filters.then(|| Box::new(name) as Box<_>),
        progress: Some(Box::new(|done, total| {
            progress.update(done, total);
            Ok(())
        })),
    };
    // A TF2 checkpoint opens as a view (its graph names the tensors); anything else by key.
    let result = match open_view(ckpt) {
        Ok(view) => export_safetensors((&view).into(), out_path, options),
        Err(_) => {
            let checkpoint = open_checkpoint(ckpt)?;
            export_safetensors((&checkpoint).into(), out_path, options)
        }
    };
    progress.bar.finish_and_clear();
    finish(ckpt, result, as_json, out)
}

fn finish(ckpt: &OsStr, result: Result<ExportReport, ExportError>, as_json: bool, out: &mut Out) -> Outcome {
    let report = result.map_err(|error| match error {
        ExportError::UnsupportedDtypes { .. } => Failure::Error(format!("{error} (--skip-unsupported, or --drop them)")),
        other => Failure::Error(other.to_string()),
    })?;
    print_summary(ckpt, &report, as_json, out)
}

fn print_summary(ckpt: &OsStr, report: &ExportReport, as_json: bool, out: &mut Out) -> Outcome {
    let display = |path: &Path| path.display().to_string();
    if as_json {
        let summary = Summary {
            source: ckpt.to_string_lossy().into_owned(),
            files: report.files.iter().map(|path| display(path)).collect(),
            index: report.index.as_deref().map(display),
            tensors: report.tensors,
            bytes: report.bytes,
            skipped_unsupported: report.skipped_unsupported.iter().map(|(key, dtype)| Skipped { key, dtype }).collect(),
            dropped_optimizer_state: report.dropped_optimizer_state,
            deselected: report.deselected,
        };
        json::print(out, &summary)?;
        return Ok(0);
    }
    let files = match &report.index {
        Some(index) => format!("{} files and {}", report.files.len(), printable(&display(index))),
        None => report.files.iter().map(|path| printable(&display(path)).into_owned()).collect::<Vec<_>>().join(", "),
    };
    writeln!(out, "exported {} ({}) to {files}", plural(report.tensors as u64, "tensor"), human_bytes(report.bytes))?;
    if report.dropped_optimizer_state > 0 {
        writeln!(out, "left out {} of optimizer state", plural(report.dropped_optimizer_state as u64, "tensor"))?;
    }
    if report.deselected > 0 {
        writeln!(out, "left out {} by --select/--drop", plural(report.deselected as u64, "tensor"))?;
    }
    for (key, dtype) in &report.skipped_unsupported {
        writeln!(out, "skipped {} ({dtype}: safetensors cannot hold it)", printable(key))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("5GB"), Ok(5_000_000_000));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("1.5kb"), Ok(1500));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("5XB").is_err() && parse_size("0").is_err() && parse_size("GB").is_err());
    }
}
