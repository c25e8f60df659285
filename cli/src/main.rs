//! `ckview`: look inside TensorFlow 2 checkpoints from the command line, without TensorFlow.
//!
//!     ckview tree CKPT
//!
//! Commands: tree, keys, children, descendants, show, diff, verify, rewrite, export, completions, man
//! (`ckview --help`). Every command takes `--json` for one JSON document on stdout; docs/cli.md
//! documents them all. Exit status: 0 success, 1 "differs" (diff) or "damaged" (verify), 2 error.

mod cli;
mod diff;
mod diff_values;
mod entries;
mod export;
mod graph;
mod json;
mod keys;
mod nearest;
mod output;
mod resolve;
mod rewrite;
mod same_values;
mod show;
mod storage;
mod tree;
mod values;
mod verify;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
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
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return parse_failure(error, &args),
    };
    let mut out = Out::new(cli.options.color);
    let result = run(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    storage::report_stats();
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

fn run(cli: Cli, out: &mut Out) -> Outcome {
    let json = cli.options.json;
    match cli.command {
        Command::Tree { ckpt } => tree::run(&ckpt, json, out),
        Command::Keys { ckpt, pattern } => keys::run(&ckpt, pattern.as_deref(), json, out),
        Command::Children { ckpt, node } => graph::children(&ckpt, node.as_deref(), json, out),
        Command::Descendants { ckpt } => graph::descendants(&ckpt, json, out),
        Command::Show { ckpt, target, limit } => show::run(&ckpt, &target, limit, json, out),
        Command::Diff { a, b, stat, limit, values } => {
            diff::run(&a, &b, diff::Report { stat, limit, values, json }, out)
        }
        Command::Verify { ckpt } => verify::run(&ckpt, json, out),
        Command::Rewrite { ckpt, out: out_prefix, drop_slots, drop, select } => {
            rewrite::run(&ckpt, &out_prefix, ckview::rewrite::RewriteOptions { drop_slots, drop, select }, json, out)
        }
        Command::Export { ckpt, out: target, names, rename, select, drop_patterns, drop_slots, max_shard_size, skip_unsupported } => {
            let request = export::Request {
                names,
                rename: &rename,
                select: &select,
                drop: &drop_patterns,
                drop_slots,
                skip_unsupported,
                max_shard_size: max_shard_size.as_deref(),
            };
            export::run(&ckpt, &target, request, json, out)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ckview", out);
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(out)?;
            Ok(0)
        }
    }
}

/// Help and version go to stdout with status 0; every other parse error is one line, status 2.
fn parse_failure(error: clap::Error, args: &[OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    // `ckview -h tree` and `ckview tree x --bogus --help` both mean tree's help.
    if let Some(Err(help)) = cli::help_request(args).map(Cli::try_parse_from) {
        if help.kind() == ErrorKind::DisplayHelp {
            return print_plain(&help.render().to_string());
        }
    }
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => print_plain(&error.render().to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            error_exit("no command given; run `ckview --help` for the list")
        }
        _ => error_exit(&cli::one_line(&error)),
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
