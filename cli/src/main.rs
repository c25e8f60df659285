//! `ckview`: look inside TensorFlow 2 checkpoints from the command line, without TensorFlow.
//!
//!     ckview tree tests/fixtures/doc_children
//!
//! Commands: tree, keys, children, descendants, show, diff, verify (`ckview --help`). Every
//! command takes `--json` for one JSON document on stdout; docs/cli.md documents them all.
//! Exit status: 0 success, 1 "differs" (diff) or "damaged" (verify), 2 error.

mod args;
mod diff;
mod entries;
mod graph;
mod json;
mod keys;
mod output;
mod resolve;
mod show;
mod tree;
mod values;
mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use args::{Command, Invocation, Options};
use output::Out;

/// Why a command stopped early.
#[derive(Debug)]
pub enum Failure {
    /// A user-facing error: printed as `ckview: error: <message>`, exit status 2.
    Error(String),
    /// Writing standard output failed (a closed pipe ends the program quietly).
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Output(error)
    }
}

impl From<ckview::GraphError> for Failure {
    fn from(error: ckview::GraphError) -> Self {
        Failure::Error(error.to_string())
    }
}

impl From<ckview::format::FormatError> for Failure {
    fn from(error: ckview::format::FormatError) -> Self {
        Failure::Error(error.to_string())
    }
}

/// What a command that ran to the end reports: 0, or 1 for "differs" / "damaged".
pub type Outcome = Result<u8, Failure>;

fn main() -> ExitCode {
    let invocation = match args::parse(std::env::args_os().skip(1).collect()) {
        Ok(invocation) => invocation,
        Err(message) => return error_exit(&message),
    };
    let (command, options) = match invocation {
        Invocation::Version => return print_plain(&format!("ckview {}\n", env!("CARGO_PKG_VERSION"))),
        Invocation::Help(None) => return print_plain(&args::overview()),
        Invocation::Help(Some(spec)) => return print_plain(&args::command_help(spec)),
        Invocation::Run(command, options) => (command, options),
    };
    let mut out = Out::new(options.color);
    let result = run(command, options, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            // The reader went away (`ckview keys X | head`): nothing left to say to anyone.
            ExitCode::SUCCESS
        }
        Err(Failure::Output(error)) => error_exit(&format!("cannot write to standard output: {error}")),
        Err(Failure::Error(message)) => {
            // Whatever was printed before the error still goes out, then the error.
            let _ = out.flush();
            error_exit(&message)
        }
    }
}

fn run(command: Command, options: Options, out: &mut Out) -> Outcome {
    match command {
        Command::Tree { ckpt } => tree::run(&ckpt, options, out),
        Command::Keys { ckpt, pattern } => keys::run(&ckpt, pattern.as_deref(), options, out),
        Command::Children { ckpt, node } => graph::children(&ckpt, node.as_deref(), options, out),
        Command::Descendants { ckpt } => graph::descendants(&ckpt, options, out),
        Command::Show { ckpt, target } => show::run(&ckpt, &target, options, out),
        Command::Diff { a, b } => diff::run(&a, &b, options, out),
        Command::Verify { ckpt } => verify::run(&ckpt, options, out),
    }
}

/// Help and version text; a closed pipe is not an error here either.
fn print_plain(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            error_exit(&format!("cannot write to standard output: {error}"))
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Prints `ckview: error: <message>` as exactly one line on stderr; exit status 2.
fn error_exit(message: &str) -> ExitCode {
    let one_line: String = message.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let _ = writeln!(io::stderr().lock(), "ckview: error: {one_line}");
    ExitCode::from(2)
}
