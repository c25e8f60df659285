//! Standard output (locked and buffered), colours, and the small formatting helpers every
//! command shares: sizes in human units, shapes, and names made safe for a terminal.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{self, BufWriter, StdoutLock, Write};

use anstream::AutoStream;
use anstyle::{AnsiColor, Effects, Style};
use ckview::format::{element_size, Bundle, TensorEntry};

use crate::cli::ColorWhen;

/// The styles of the text output.
#[derive(Clone, Copy)]
pub enum Paint {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
}

impl Paint {
    fn style(self) -> Style {
        let color = |color: AnsiColor| Style::new().fg_color(Some(color.into()));
        match self {
            Paint::Bold => Style::new().effects(Effects::BOLD),
            Paint::Dim => Style::new().effects(Effects::DIMMED),
            Paint::Red => color(AnsiColor::Red),
            Paint::Green => color(AnsiColor::Green),
            Paint::Yellow => color(AnsiColor::Yellow),
            Paint::Blue => color(AnsiColor::Blue),
            Paint::Magenta => color(AnsiColor::Magenta),
            Paint::Cyan => color(AnsiColor::Cyan),
        }
    }
}

/// Buffered standard output, with colours on or off.
pub struct Out {
    writer: BufWriter<AutoStream<StdoutLock<'static>>>,
    color: bool,
}

impl Out {
    /// Locks standard output. anstream decides `auto` (a terminal, and no `NO_COLOR`); a
    /// non-empty `NO_COLOR` also overrides `--color always`, as docs/cli.md promises.
    pub fn new(when: ColorWhen) -> Out {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let choice = match when {
            _ if no_color => anstream::ColorChoice::Never,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
            ColorWhen::Auto => anstream::ColorChoice::Auto,
        };
        let stream = AutoStream::new(io::stdout().lock(), choice);
        // Painting nothing is cheaper than painting and having anstream strip it again.
        let color = stream.current_choice() != anstream::ColorChoice::Never;
        Out { writer: BufWriter::with_capacity(64 * 1024, stream), color }
    }

    /// Writes `text` in `paint` when colours are on, plainly otherwise.
    pub fn paint(&mut self, paint: Paint, text: impl Display) -> io::Result<()> {
        if self.color {
            let style = paint.style();
            write!(self.writer, "{style}{text}{style:#}")
        } else {
            write!(self.writer, "{text}")
        }
    }
}

impl Write for Out {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// `4 B`, `1.2 KiB`, `3.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.96 KiB would print as "1024.0 KiB": move up a unit before rounding gets there.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1 variable`, `2 variables`.
pub fn plural(count: impl Into<u64>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `[2, 3]`; `[]` for a scalar.
pub fn shape_text(shape: &[u64]) -> String {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A name or key made safe to print on one terminal line: control characters become escapes
/// (`\n`, `\t`, `\x1b`, `\u{85}`); everything else is kept.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        push_escaped(&mut safe, character);
    }
    Cow::Owned(safe)
}

/// Appends `character`, a control character as an escape (`\n`, `\t`, `\x1b`, `\u{85}`).
pub fn push_escaped(out: &mut String, character: char) {
    match character {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// Bytes of key text made printable (invalid UTF-8 shown as U+FFFD).
pub fn printable_bytes(bytes: &[u8]) -> String {
    printable(&String::from_utf8_lossy(bytes)).into_owned()
}

/// Shortens a very long text (a path a hundred thousand levels deep) to its end, so that one
/// line stays one screen line: `…` and the last `keep` bytes or so.
pub fn elide_front(text: &str, keep: usize) -> Cow<'_, str> {
    if text.len() <= keep + 16 {
        return Cow::Borrowed(text);
    }
    let mut start = text.len() - keep;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    Cow::Owned(format!("…{}", &text[start..]))
}

/// The size of a tensor's value: elements times element size for fixed-size dtypes, else the
/// bytes stored (for strings: the length prefixes, the checksum and the characters), summed
/// over the slices of a partitioned tensor.
pub fn tensor_bytes(bundle: &Bundle, key: &[u8], entry: &TensorEntry) -> u64 {
    if let Some(width) = element_size(entry.dtype) {
        return entry.num_elements().saturating_mul(width);
    }
    if entry.slices.is_empty() {
        return entry.size;
    }
    entry
        .slices
        .iter()
        .filter_map(|extents| {
            let slice_key = ckview::format::slice_key::slice_key(key, extents);
            bundle.entry(&slice_key).ok().flatten().map(|slice| slice.size)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1229), "1.2 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\nb\u{1b}[31m\u{85}é"), "a\\nb\\x1b[31m\\u{85}é");
        assert_eq!(elide_front(&"x".repeat(100), 10), format!("…{}", "x".repeat(10)));
    }
}
