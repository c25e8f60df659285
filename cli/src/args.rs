//! The command line, parsed by hand: `ckview COMMAND [OPTIONS] ARGS...`, and every help text.

use std::ffi::{OsStr, OsString};

/// When to colour the text output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Options every command accepts (and `--limit`, which only `show` accepts).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub json: bool,
    pub color: ColorChoice,
    /// Elements `show` prints; 0 means all.
    pub limit: usize,
}

/// A command and its operands.
#[derive(Debug)]
pub enum Command {
    Tree { ckpt: OsString },
    Keys { ckpt: OsString, pattern: Option<OsString> },
    Children { ckpt: OsString, node: Option<OsString> },
    Descendants { ckpt: OsString },
    Show { ckpt: OsString, target: OsString },
    Diff { a: OsString, b: OsString },
    Verify { ckpt: OsString },
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Run(Command, Options),
    /// Print help: the overview, or one command's.
    Help(Option<&'static Spec>),
    Version,
}

/// A command's name, operands and help.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Operand names; a trailing `?` marks an optional one.
    operands: &'static [&'static str],
    summary: &'static str,
    details: &'static str,
    example: &'static str,
}

pub const DEFAULT_LIMIT: usize = 10;

pub static COMMANDS: [Spec; 7] = [
    Spec {
        name: "tree",
        operands: &["CKPT"],
        summary: "the object graph as an indented tree: variables, optimizer slots, totals",
        details: "Prints one line per node, by dotted path (root.layer.kernel), indented by depth, with\n\
                  the node id and, for a variable, its dtype, shape and size. Optimizer slot variables\n\
                  are listed under their variable. A node reached a second time is not expanded again:\n\
                  the line says where it is (`-> root.a.b (shared)`), or `(cycle)` when it is one of\n\
                  the line's own ancestors. The last line gives the totals: nodes, variables,\n\
                  parameters (elements of all variables) and bytes.",
        example: "ckview tree tests/fixtures/doc_children",
    },
    Spec {
        name: "keys",
        operands: &["CKPT", "PATTERN?"],
        summary: "every tensor of the bundle with dtype, shape, size and shard (TF1 checkpoints too)",
        details: "Lists the keys of the bundle in key order, as tf.train.list_variables does (slices of\n\
                  partitioned tensors are not listed; their tensor is). PATTERN keeps the keys it\n\
                  matches: a glob over the whole key when it contains * or ?, else any key containing it.",
        example: "ckview keys tests/fixtures/keras_adam/model 'model/*kernel*'",
    },
    Spec {
        name: "children",
        operands: &["CKPT", "NODE?"],
        summary: "the children of a node, as CheckpointView.children gives them",
        details: "Prints `name: node_id`, one per line, in TensorFlow's order. NODE is a node id or a\n\
                  dotted path (root.leaf); it defaults to the root, 0.",
        example: "ckview children tests/fixtures/doc_children 0",
    },
    Spec {
        name: "descendants",
        operands: &["CKPT"],
        summary: "every node reachable from the root, as CheckpointView.descendants gives them",
        details: "Prints one node id per line, in TensorFlow's (breadth-first) order.",
        example: "ckview descendants tests/fixtures/doc_children",
    },
    Spec {
        name: "show",
        operands: &["CKPT", "KEY-OR-PATH"],
        summary: "one tensor: its metadata and a summary of its values",
        details: "KEY-OR-PATH is a bundle key (a_var/.ATTRIBUTES/VARIABLE_VALUE) or a node's dotted path\n\
                  (root.a_var), which stands for the node's VARIABLE_VALUE tensor. Prints dtype, shape,\n\
                  size and where the bytes are, the first elements, and for numbers their min, max and\n\
                  mean (NaN values are left out of those and counted). Strings are shown escaped.\n\
                  Option: --limit N (-n N) prints the first N elements (default 10; 0 prints all).",
        example: "ckview show tests/fixtures/doc_children root.leaf.a_var",
    },
    Spec {
        name: "diff",
        operands: &["CKPT_A", "CKPT_B"],
        summary: "what differs between two checkpoints: nodes, dtypes, shapes, values",
        details: "Matches the nodes of A with those of B by name from the root (CheckpointView.diff),\n\
                  lists the nodes only in A and only in B, and compares the tensors of matched nodes\n\
                  (and of their optimizer slots): dtype, shape, and the stored checksums (equal\n\
                  checksums mean equal values, without reading the data). Exit status: 0 when nothing\n\
                  differs, 1 when something does, 2 on error, as diff(1).",
        example: "ckview diff tests/fixtures/doc_children tests/fixtures/doc_diff",
    },
    Spec {
        name: "verify",
        operands: &["CKPT"],
        summary: "read every tensor and check its checksums; report each damaged one",
        details: "Reads every tensor of the bundle (partitioned ones assembled from their slices) and\n\
                  checks the stored crc32c of each. Every bad tensor is reported on its own line, not\n\
                  just the first. Exit status 1 when any is bad. Shows progress on a terminal when the\n\
                  work is long.",
        example: "ckview verify tests/fixtures/sharded",
    },
];

/// The overview `ckview --help` prints.
pub fn overview() -> String {
    let mut text = format!(
        "ckview {}: look inside TensorFlow 2 checkpoints without TensorFlow\n\n\
         Usage: ckview COMMAND [OPTIONS] ARGS...\n\nCommands:\n",
        env!("CARGO_PKG_VERSION")
    );
    for spec in &COMMANDS {
        text.push_str(&format!("  {:<12} {}\n", spec.name, spec.summary));
    }
    text.push_str(
        "\nCKPT is a checkpoint prefix (dir/ckpt-1), a directory holding a `checkpoint` state file,\n\
         a .index file or a data shard.\n\n",
    );
    text.push_str(COMMON_OPTIONS);
    text.push_str(
        "  -V, --version   print the version\n\n\
         Example:\n  ckview tree tests/fixtures/doc_children\n\n\
         Run `ckview COMMAND --help` for the help of a command. Exit status: 0 on success, 1 when\n\
         diff finds differences or verify finds damage, 2 on an error.\n",
    );
    text
}

const COMMON_OPTIONS: &str = "Options:\n  \
     --json          print one JSON document instead of text (schemas: docs/cli.md)\n  \
     --color WHEN    auto (default: when standard output is a terminal), always or never;\n                  \
     a non-empty NO_COLOR turns colours off regardless\n  \
     -h, --help      print help\n";

/// The help of one command.
pub fn command_help(spec: &Spec) -> String {
    let extra = if spec.name == "show" { " [--limit N]" } else { "" };
    format!(
        "ckview {}: {}\n\nUsage: {}{extra}\n\n{}\n\n{COMMON_OPTIONS}\nExample:\n  {}\n",
        spec.name,
        spec.summary,
        usage(spec),
        spec.details,
        spec.example
    )
}

fn usage(spec: &Spec) -> String {
    let mut text = format!("ckview {} [--json]", spec.name);
    for operand in spec.operands {
        match operand.strip_suffix('?') {
            Some(optional) => text.push_str(&format!(" [{optional}]")),
            None => text.push_str(&format!(" {operand}")),
        }
    }
    text
}

fn find(name: &OsStr) -> Option<&'static Spec> {
    COMMANDS.iter().find(|spec| OsStr::new(spec.name) == name)
}

fn is_help(arg: &OsStr) -> bool {
    arg == "-h" || arg == "--help"
}

/// Parses the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Result<Invocation, String> {
    let mut args = args.into_iter();
    let spec = loop {
        let Some(arg) = args.next() else {
            return Err("no command given; run `ckview --help` for the list".into());
        };
        if is_help(&arg) {
            return Ok(Invocation::Help(None));
        }
        if arg == "-V" || arg == "--version" {
            return Ok(Invocation::Version);
        }
        if arg == "help" {
            return match args.next() {
                None => Ok(Invocation::Help(None)),
                Some(topic) => find(&topic).map(|spec| Invocation::Help(Some(spec))).ok_or_else(|| unknown(&topic)),
            };
        }
        if arg.to_string_lossy().starts_with('-') {
            return Err(format!("unknown option {:?} before the command; run `ckview --help`", arg.to_string_lossy()));
        }
        break find(&arg).ok_or_else(|| unknown(&arg))?;
    };
    let rest: Vec<OsString> = args.collect();
    // Help wins over every other mistake on the line.
    if rest.iter().take_while(|arg| *arg != "--").any(|arg| is_help(arg)) {
        return Ok(Invocation::Help(Some(spec)));
    }
    let mut options = Options { json: false, color: ColorChoice::Auto, limit: DEFAULT_LIMIT };
    let mut operands = Vec::new();
    let mut rest = rest.into_iter();
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            operands.extend(rest.by_ref());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(arg);
            continue;
        }
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.to_string())),
            _ => (text.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline.clone().or_else(|| rest.next().map(|next| next.to_string_lossy().into_owned())) {
                Some(value) => Ok(value),
                None => Err(format!("{flag} needs a value ({what})")),
            }
        };
        match flag.as_str() {
            "--json" if inline.is_none() => options.json = true,
            "--color" | "--colour" => {
                options.color = match value("auto, always or never")?.as_str() {
                    "auto" => ColorChoice::Auto,
                    "always" => ColorChoice::Always,
                    "never" => ColorChoice::Never,
                    other => return Err(format!("--color takes auto, always or never, not {other:?}")),
                }
            }
            "--limit" | "-n" if spec.name == "show" => {
                let given = value("a number of elements")?;
                options.limit =
                    given.parse().map_err(|_| format!("--limit takes a number of elements, not {given:?}"))?;
            }
            _ => {
                return Err(format!(
                    "unknown option {text:?} for `ckview {}`; run `ckview {} --help`",
                    spec.name, spec.name
                ))
            }
        }
    }
    let required = spec.operands.iter().filter(|operand| !operand.ends_with('?')).count();
    if operands.len() < required || operands.len() > spec.operands.len() {
        let problem = if operands.len() < required { "missing operands" } else { "too many operands" };
        return Err(format!("{problem}; usage: {}", usage(spec)));
    }
    let mut operands = operands.into_iter();
    let mut next = || operands.next();
    let command = match spec.name {
        "tree" => Command::Tree { ckpt: next().unwrap_or_default() },
        "keys" => Command::Keys { ckpt: next().unwrap_or_default(), pattern: next() },
        "children" => Command::Children { ckpt: next().unwrap_or_default(), node: next() },
        "descendants" => Command::Descendants { ckpt: next().unwrap_or_default() },
        "show" => Command::Show { ckpt: next().unwrap_or_default(), target: next().unwrap_or_default() },
        "diff" => Command::Diff { a: next().unwrap_or_default(), b: next().unwrap_or_default() },
        _ => Command::Verify { ckpt: next().unwrap_or_default() },
    };
    Ok(Invocation::Run(command, options))
}

fn unknown(name: &OsStr) -> String {
    format!("unknown command {:?}; run `ckview --help` for the list", name.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Invocation, String> {
        parse(line.split_whitespace().map(OsString::from).collect())
    }

    #[test]
    fn options_anywhere_and_operands_after_double_dash() {
        let Ok(Invocation::Run(Command::Show { ckpt, target }, options)) = parse_line("show --json c -n 3 -- --odd")
        else {
            panic!("did not parse");
        };
        assert_eq!((ckpt.to_str(), target.to_str(), options.json, options.limit), (Some("c"), Some("--odd"), true, 3));
        assert!(matches!(
            parse_line("keys --color=never c *x*"),
            Ok(Invocation::Run(Command::Keys { pattern: Some(_), .. }, _))
        ));
        assert!(matches!(parse_line("diff a b --help"), Ok(Invocation::Help(Some(_)))));
        assert!(parse_line("tree").is_err());
        assert!(parse_line("tree a b").is_err());
        assert!(parse_line("tree --limit 3 a").is_err());
        assert!(parse_line("frobnicate a").is_err());
    }
}
