//! From whatever a user passes as `save_path` to a checkpoint prefix (FORMAT.md section 1):
//! the prefix itself, a directory holding a `checkpoint` state file, `P.index`, or a data shard.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::bundle::index_path;
use super::error::{FormatError, Result};
use crate::io::{read_to_vec, PathKind, Storage};

/// The name of the state file that `tf.train.Checkpoint.save` keeps beside its checkpoints.
const STATE_FILE: &str = "checkpoint";
/// State files hold a few paths; a larger one is not a state file (and is not read whole).
const STATE_FILE_LIMIT: u64 = 1 << 20;

/// Resolves `save_path` to the prefix `P` of an existing `P.index` in `storage`.
pub fn locate(storage: &dyn Storage, save_path: &Path) -> Result<PathBuf> {
    let mut probe = Probe { storage, tried: Vec::new(), failure: None };
    // A storage that cannot tell directories (an object store) has one where a state file is.
    let state_path = save_path.join(STATE_FILE);
    let directory = match storage.kind(save_path) {
        Some(kind) => kind == PathKind::Directory,
        None => !probe.has_index(save_path) && storage.open(&state_path).is_ok(),
    };
    if directory {
        probe.tried.push(state_path.clone());
        if let Some(latest) = latest_in_state_file(storage, &state_path) {
            let prefix = save_path.join(latest);
            if probe.accept(&prefix) {
                return Ok(prefix);
            }
        }
        if let Some(prefix) = saved_model_variables(&mut probe, save_path) {
            return Ok(prefix);
        }
        return Err(probe.not_found(save_path));
    }
    // The `checkpoint` state file itself: the latest checkpoint it names, beside it.
    if save_path.file_name().is_some_and(|name| name == STATE_FILE) {
        if let Some(latest) = latest_in_state_file(storage, save_path) {
            let prefix = save_path.parent().unwrap_or(Path::new("")).join(latest);
            if probe.accept(&prefix) {
                return Ok(prefix);
            }
        }
    }
    if let Some(prefix) = strip_known_suffix(save_path) {
        if probe.accept(&prefix) {
            return Ok(prefix);
        }
    }
    if probe.accept(save_path) {
        return Ok(save_path.to_path_buf());
    }
    if is_v1_checkpoint(storage, save_path) {
        return Err(FormatError::Unsupported {
            path: save_path.to_path_buf(),
            reason: "a TensorFlow 1 checkpoint in the V1 format (one file, no .index): it holds \
                     tensors by name and no object graph, so read it as a checkpoint of tensors \
                     (a reader: ckview_reader_open, `ckview keys`)"
                .into(),
        });
    }
    // A storage that cannot tell directories: only what looks like a SavedModel is probed, so
    // that a missing prefix lists no SavedModel paths as tried.
    let looks_saved_model = save_path.file_name().is_some_and(|name| name == "variables")
        || storage.open(&save_path.join("saved_model.pb")).is_ok();
    if storage.kind(save_path).is_none() && looks_saved_model {
        if let Some(prefix) = saved_model_variables(&mut probe, save_path) {
            return Ok(prefix);
        }
    }
    if let Some(error) = not_a_checkpoint(storage, save_path) {
        return Err(error);
    }
    Err(probe.not_found(save_path))
}

/// A SavedModel directory (`saved_model.pb` and `variables/`) keeps its variables in the
/// checkpoint `variables/variables`; its `variables/` folder leads there too.
fn saved_model_variables(probe: &mut Probe<'_>, dir: &Path) -> Option<PathBuf> {
    let in_model = dir.join("variables").join("variables");
    if probe.accept(&in_model) {
        return Some(in_model);
    }
    let in_folder = dir.join("variables");
    (dir.file_name().is_some_and(|name| name == "variables") && probe.accept(&in_folder)).then_some(in_folder)
}

/// How many bytes of a file are read to tell what it is.
const SNIFF_BYTES: u64 = 4096;

/// A file that exists but is no checkpoint, named for what it is, with what to pass instead:
/// HDF5 (`model.weights.h5`), a Keras archive (`model.keras`), a SavedModel's graph
/// (`saved_model.pb`), a TF1 MetaGraph (`model.ckpt.meta`). Reads at most [`SNIFF_BYTES`].
fn not_a_checkpoint(storage: &dyn Storage, path: &Path) -> Option<FormatError> {
    if storage.kind(path).is_some_and(|kind| kind != PathKind::File) {
        return None;
    }
    let file = storage.open(path).ok()?;
    let head = read_to_vec(&*file, 0, file.size().min(SNIFF_BYTES)).ok()?;
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let error = |what: &str, instead: String| {
        Some(FormatError::NotACheckpoint { path: path.to_path_buf(), what: what.into(), instead })
    };
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return error(
            "an HDF5 file (Keras `save_weights` writes weights as .h5)",
            "read it with h5py or `model.load_weights`; ckview reads tf.train.Checkpoint files (P.index and P.data-*)".into(),
        );
    }
    let names_keras_parts = [&b"config.json"[..], b"metadata.json"].iter().any(|part| head.windows(part.len()).any(|w| w == *part));
    if head.starts_with(b"PK\x03\x04") && names_keras_parts {
        return error(
            "a Keras archive (`model.save` writes a zip of config.json, metadata.json and model.weights.h5)",
            "load it with `keras.saving.load_model`, or write a checkpoint with tf.train.Checkpoint(model=...).write".into(),
        );
    }
    let saved_model_proto = head.first() == Some(&0x08) && head.get(2) == Some(&0x12);
    if name == "saved_model.pb" || (name.ends_with(".pb") && saved_model_proto) {
        return error(
            "a SavedModel's graph (saved_model.pb)",
            match storage.open(&index_path(&parent.join("variables").join("variables"))) {
                Ok(_) => format!("its variables are a checkpoint: pass the SavedModel directory {}", parent.display()),
                Err(_) => "its variables are a checkpoint: pass the SavedModel directory it belongs to (the folder holding \
                           saved_model.pb and variables/), or its variables/variables prefix"
                    .into(),
            },
        );
    }
    if let Some(prefix) = name.strip_suffix(".meta").filter(|prefix| !prefix.is_empty()) {
        return error(
            "a TF1 MetaGraph (the graph tf.compat.v1.train.Saver exports beside its checkpoint)",
            format!("pass the checkpoint prefix {}", parent.join(prefix).display()),
        );
    }
    None
}

/// The paths looked at so far, and why the last of them that exists could not be opened.
struct Probe<'s> {
    storage: &'s dyn Storage,
    tried: Vec<PathBuf>,
    failure: Option<std::io::Error>,
}

impl Probe<'_> {
    /// Whether `prefix.index` exists as a file.
    fn has_index(&mut self, prefix: &Path) -> bool {
        let index = index_path(prefix);
        if let Some(kind) = self.storage.kind(&index) {
            return kind == PathKind::File;
        }
        match self.storage.open(&index) {
            Ok(_) => true,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    self.failure = Some(error);
                }
                false
            }
        }
    }

    /// Records `prefix.index` as tried and says whether it is a file.
    fn accept(&mut self, prefix: &Path) -> bool {
        let found = self.has_index(prefix);
        self.tried.push(index_path(prefix));
        found
    }

    fn not_found(self, path: &Path) -> FormatError {
        FormatError::NotFound { path: path.to_path_buf(), tried: self.tried, failure: self.failure }
    }
}

/// `P` for `P.index` or `P.data-00000-of-00002`.
fn strip_known_suffix(path: &Path) -> Option<PathBuf> {
    let bytes = path.as_os_str().as_bytes();
    if let Some(prefix) = bytes.strip_suffix(b".index") {
        return Some(path_from(prefix));
    }
    let data = bytes.windows(6).rposition(|window| window == b".data-")?;
    let (digits_a, digits_b) = std::str::from_utf8(&bytes[data + 6..]).ok()?.split_once("-of-")?;
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    (all_digits(digits_a) && all_digits(digits_b)).then(|| path_from(&bytes[..data]))
}

fn path_from(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes.to_vec()))
}

/// A V1 checkpoint is a single sstable file named by its prefix.
fn is_v1_checkpoint(storage: &dyn Storage, path: &Path) -> bool {
    super::table::Table::open(storage, path).is_ok()
}

/// The checkpoints the `checkpoint` state file in `dir` names (`all_model_checkpoint_paths`,
/// joined to `dir`; the latest last, as `tf.train.CheckpointManager` writes them), whether or
/// not they still exist. Empty when `dir` has no state file or it does not parse. What to offer
/// when a prefix is gone, removed by `max_to_keep`.
pub fn listed_checkpoints(storage: &dyn Storage, dir: &Path) -> Vec<PathBuf> {
    let Some(fields) = read_bounded(storage, &dir.join(STATE_FILE), STATE_FILE_LIMIT).and_then(|text| parse_text_format(&text))
    else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(name, value)| match (name.as_str(), value) {
            ("all_model_checkpoint_paths", TextValue::Bytes(path)) => Some(dir.join(path_from(&path))),
            _ => None,
        })
        .collect()
}

/// `model_checkpoint_path` of a state file, as TensorFlow reads it: a missing file, a file that
/// does not parse, or an empty field all mean "no checkpoint".
fn latest_in_state_file(storage: &dyn Storage, state_path: &Path) -> Option<PathBuf> {
    let text = read_bounded(storage, state_path, STATE_FILE_LIMIT)?;
    let fields = parse_text_format(&text)?;
    let mut latest = None;
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("model_checkpoint_path", TextValue::Bytes(path)) => {
                if latest.replace(path).is_some() {
                    return None; // a singular field given twice does not parse in TensorFlow
                }
            }
            ("all_model_checkpoint_paths", TextValue::Bytes(_)) => {}
            ("all_model_checkpoint_timestamps" | "last_preserved_timestamp", TextValue::Number(_)) => {}
            _ => return None,
        }
    }
    latest.filter(|path| !path.is_empty()).map(|path| path_from(&path))
}

/// The contents of a file of at most `limit` bytes.
fn read_bounded(storage: &dyn Storage, path: &Path, limit: u64) -> Option<Vec<u8>> {
    let file = storage.open(path).ok()?;
    (file.size() <= limit).then(|| read_to_vec(&*file, 0, file.size()).ok())?
}

/// A scalar of protobuf text format, as far as `CheckpointState` uses it.
#[derive(Debug, PartialEq)]
enum TextValue {
    Bytes(Vec<u8>),
    Number(String),
}

/// Parses `name: value` pairs of protobuf text format (scalars only, `#` comments, adjacent string
/// literals concatenated). `None` when the text is not of that form.
fn parse_text_format(text: &[u8]) -> Option<Vec<(String, TextValue)>> {
    let mut fields = Vec::new();
    let mut at = 0usize;
    loop {
        at = skip_space(text, at);
        if at == text.len() {
            return Some(fields);
        }
        let name_end = at + text[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        if name_end == at {
            return None;
        }
        let name = String::from_utf8(text[at..name_end].to_vec()).ok()?;
        at = skip_space(text, name_end);
        if text.get(at) != Some(&b':') {
            return None;
        }
        at = skip_space(text, at + 1);
        let value = match text.get(at)? {
            b'"' | b'\'' => {
                let mut bytes = Vec::new();
                while matches!(text.get(at), Some(b'"' | b'\'')) {
                    at = parse_string_literal(text, at, &mut bytes)?;
                    at = skip_space(text, at);
                }
                TextValue::Bytes(bytes)
            }
            _ => {
                let end = at + text[at..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
                    .count();
                if end == at {
                    return None;
                }
                let number = String::from_utf8(text[at..end].to_vec()).ok()?;
                at = end;
                TextValue::Number(number)
            }
        };
        fields.push((name, value));
    }
}

fn skip_space(text: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = text.get(at) {
        if byte == b'#' {
            while text.get(at).is_some_and(|&b| b != b'\n') {
                at += 1;
            }
        } else if byte.is_ascii_whitespace() {
            at += 1;
        } else {
            break;
        }
    }
    at
}

/// Appends the bytes of the C-escaped literal starting at the quote `text[at]`; returns the
/// offset after its closing quote.
fn parse_string_literal(text: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let quote = text[at];
    let mut at = at + 1;
    loop {
        let byte = *text.get(at)?;
        at += 1;
        match byte {
            b'\n' => return None,
            _ if byte == quote => return Some(at),
            b'\\' => {
                let escape = *text.get(at)?;
                at += 1;
                match escape {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'v' => out.push(0x0b),
                    b'\\' | b'\'' | b'"' | b'?' => out.push(escape),
                    b'0'..=b'7' => {
                        let mut value = u32::from(escape - b'0');
                        for _ in 0..2 {
                            match text.get(at) {
                                Some(&digit @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(digit - b'0');
                                    at += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(u8::try_from(value).ok()?);
                    }
                    b'x' => {
                        let digits = text[at..].iter().take(2).take_while(|b| b.is_ascii_hexdigit()).count();
                        if digits == 0 {
                            return None;
                        }
                        let hex = std::str::from_utf8(&text[at..at + digits]).ok()?;
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                        at += digits;
                    }
                    _ => return None,
                }
            }
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_state_files_as_tensorflow_writes_them() {
        let text = b"model_checkpoint_path: \"ck2-1\"\nall_model_checkpoint_paths: \"ck2-1\"\n\
                     all_model_checkpoint_timestamps: 1700000000.5\nlast_preserved_timestamp: 1.7e+09\n";
        let fields = parse_text_format(text).unwrap();
        assert_eq!(fields[0], ("model_checkpoint_path".into(), TextValue::Bytes(b"ck2-1".to_vec())));
        assert_eq!(fields[2].1, TextValue::Number("1700000000.5".into()));
    }

    #[test]
    fn decodes_c_escapes_and_adjacent_literals() {
        let fields = parse_text_format(b"# state\nmodel_checkpoint_path: 'a\\tb' \"\\303\\251\\x41\\\"\"").unwrap();
        assert_eq!(fields[0].1, TextValue::Bytes(b"a\tb\xc3\xa9A\"".to_vec()));
    }

    #[test]
    fn rejects_what_tensorflow_rejects() {
        assert!(parse_text_format(b"model_checkpoint_path \"x\"").is_none());
        assert!(parse_text_format(b"model_checkpoint_path: \"unterminated").is_none());
        assert!(parse_text_format(b"model_checkpoint_path: \"bad \\q escape\"").is_none());
    }

    #[test]
    #[cfg_attr(miri, ignore = "touches the filesystem, which Miri's isolation forbids")]
    fn lists_the_checkpoints_a_state_file_keeps() {
        // tests/fixtures/manager: CheckpointManager(max_to_keep=2) after three saves.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manager");
        assert_eq!(listed_checkpoints(&crate::io::LocalStorage::default(), &dir), [dir.join("ckpt-2"), dir.join("ckpt-3")]);
        assert!(listed_checkpoints(&crate::io::LocalStorage::default(), &dir.join("no such folder")).is_empty());
    }

    #[test]
    fn strips_index_and_shard_suffixes() {
        assert_eq!(strip_known_suffix(Path::new("d/ck-1.index")), Some(PathBuf::from("d/ck-1")));
        assert_eq!(strip_known_suffix(Path::new("d/ck-1.data-00000-of-00003")), Some(PathBuf::from("d/ck-1")));
        assert_eq!(strip_known_suffix(Path::new("d/ck-1.data-x-of-00003")), None);
        assert_eq!(strip_known_suffix(Path::new("d/ck-1")), None);
    }
}
