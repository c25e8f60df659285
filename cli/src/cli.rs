//! The command line, declared with clap: commands, operands, options and every help text.
//! Global options (`--json`, `--color`) are accepted before or after the command.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What every CKPT operand may be.
const CKPT: &str = "The checkpoint: its prefix (dir/ckpt-1), a directory with a `checkpoint` file, a .index file or a data shard, \
    on disk or at an s3://, gs://, az:// or http(s):// URL";

/// `show --limit` when not given.
pub const DEFAULT_SHOW_LIMIT: usize = 10;

const OVERVIEW_AFTER: &str = "\
CKPT is a checkpoint prefix (dir/ckpt-1), a directory holding a `checkpoint` state file, a .index
file or a data shard, on disk or in an object store (s3://bucket/dir/ckpt-1, gs://, az://,
http(s)://; credentials from AWS_*, GOOGLE_*, AZURE_*; CKVIEW_IO_STATS=1 counts the requests).

Example:
  ckview tree CKPT

Exit status: 0 on success, 1 when diff finds differences or verify finds damage, 2 on an error.
JSON schemas: docs/cli.md.";

#[derive(Debug, Parser)]
#[command(
    name = "ckview",
    version,
    about = "Look inside TensorFlow 2 checkpoints without TensorFlow",
    after_help = OVERVIEW_AFTER,
    subcommand_required = true
)]
pub struct Cli {
    #[command(flatten)]
    pub options: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, anywhere on the line.
#[derive(Clone, Copy, Debug, Args)]
pub struct GlobalOptions {
    /// Print one JSON document instead of text (schemas: docs/cli.md)
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour text: auto (when standard output is a terminal), always or never; a
    /// non-empty NO_COLOR turns colours off regardless
    #[arg(long, alias = "colour", global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The object graph as an indented tree: variables, optimizer slots, totals
    #[command(
        long_about = "The object graph as an indented tree: variables, optimizer slots, totals.\n\n\
            Prints one line per node, by dotted path (root.layer.kernel), indented by depth, with the node id and, \
            for a variable, its dtype, shape, size and its full_name where that says more than the path (Keras 3 \
            keeps layer names only there). Optimizer slot variables are listed under their variable. A node \
            reached a second time is not expanded again: the line says where it is (`-> root.a.b (shared)`), or \
            `(cycle)` when it is one of the line's own ancestors. The last line gives the totals.",
        after_help = "Example:\n  ckview tree CKPT\n  ckview tree --json CKPT | jq '.totals'"
    )]
    Tree {
        #[arg(help = CKPT)]
        ckpt: OsString,
    },

    /// Every tensor of the bundle with dtype, shape, size and shard (TF1 checkpoints too)
    #[command(
        long_about = "Every tensor of the bundle with dtype, shape, size and shard (TF1 checkpoints too).\n\n\
            Lists the keys in key order, as tf.train.list_variables does (slices of partitioned tensors are not \
            listed; their tensor is), with each tensor's full_name when the checkpoint has an object graph. \
            PATTERN keeps the tensors whose key or full_name it matches: a glob over the whole text when it \
            contains * or ?, else any text containing it.",
        after_help = "Example:\n  ckview keys CKPT 'model/*kernel*'\n  ckview keys CKPT conv1_conv"
    )]
    Keys {
        #[arg(help = CKPT)]
        ckpt: OsString,
        /// Keep the tensors whose key or full_name this matches (a glob with * or ?, else a substring)
        pattern: Option<String>,
    },

    /// The children of a node, as CheckpointView.children gives them
    #[command(
        long_about = "The children of a node, as CheckpointView.children gives them.\n\n\
            Prints `name: node_id`, one per line, in TensorFlow's order. NODE is a node id (4 or #4), a \
            dotted path (root.leaf) or a full_name; it defaults to the root, 0.",
        after_help = "Example:\n  ckview children CKPT root.model"
    )]
    Children {
        #[arg(help = CKPT)]
        ckpt: OsString,
        /// A node id (4 or #4), a dotted path (root.leaf) or a full_name; the root by default
        node: Option<String>,
    },

    /// Every node reachable from the root, as CheckpointView.descendants gives them
    #[command(
        long_about = "Every node reachable from the root, as CheckpointView.descendants gives them.\n\n\
            Prints one node id per line, in TensorFlow's (breadth-first) order.",
        after_help = "Example:\n  ckview descendants CKPT"
    )]
    Descendants {
        #[arg(help = CKPT)]
        ckpt: OsString,
    },

    /// One tensor: its metadata and a summary of its values
    #[command(
        long_about = "One tensor: its metadata and a summary of its values.\n\n\
            TARGET is a bundle key (a_var/.ATTRIBUTES/VARIABLE_VALUE), a node id as tree prints it (14 or #14: \
            slot variables have no path), any path tree prints (root.a_var, or the second path of a shared \
            object), or a full_name (conv1_conv/kernel); a node stands for its VARIABLE_VALUE tensor. Prints \
            dtype, shape, size and where the bytes are (each slice of a partitioned tensor), the first \
            elements, and for numbers their min, max and mean (NaN values are left out of those and counted).",
        after_help = "Example:\n  ckview show CKPT root.model.layer_with_weights-0.kernel\n  ckview show CKPT '#14' --limit 0"
    )]
    Show {
        #[arg(help = CKPT)]
        ckpt: OsString,
        /// A bundle key, a node id (14 or #14), a path tree prints, or a full_name
        #[arg(value_name = "KEY-OR-PATH")]
        target: String,
        /// Print the first N elements; 0 prints all
        #[arg(long, short = 'n', value_name = "N", default_value_t = DEFAULT_SHOW_LIMIT)]
        limit: usize,
    },

    /// What differs between two checkpoints: nodes, dtypes, shapes, values
    #[command(
        long_about = "What differs between two checkpoints: nodes, dtypes, shapes, values.\n\n\
            Matches the nodes of A with those of B by name from the root (CheckpointView.diff), lists the \
            nodes only in A and only in B, and compares the tensors of matched nodes (and of their optimizer \
            slots): dtype, shape, and the stored checksums (equal checksums mean equal values, without \
            reading the data). Two TF1 name-based checkpoints are compared key by key. Exit status: 0 when \
            nothing differs, 1 when something does, 2 on error, as diff(1).",
        after_help = "Example:\n  ckview diff CKPT_A CKPT_B --values\n  ckview diff CKPT_A CKPT_B --stat"
    )]
    Diff {
        /// The checkpoint compared (as CKPT)
        #[arg(value_name = "CKPT_A")]
        a: OsString,
        /// The checkpoint it is compared with, playing the live objects of CheckpointView.diff
        #[arg(value_name = "CKPT_B")]
        b: OsString,
        /// Only count the differences, by kind
        #[arg(long)]
        stat: bool,
        /// List at most N differences of each kind (the counts stay exact)
        #[arg(long, short = 'n', value_name = "N")]
        limit: Option<usize>,
        /// Read every changed tensor and report its largest absolute and relative difference and its NaNs
        #[arg(long)]
        values: bool,
    },

    /// Read every tensor and check its checksums; report each damaged one
    #[command(
        long_about = "Read every tensor and check its checksums; report each damaged one.\n\n\
            Reads every tensor of the bundle (partitioned ones assembled from their slices) and checks the \
            stored crc32c of each. Every bad tensor is reported on its own line, not just the first. Exit \
            status 1 when any is bad. Shows progress on standard error when it is a terminal and the work \
            is long.",
        after_help = "Example:\n  ckview verify CKPT"
    )]
    Verify {
        #[arg(help = CKPT)]
        ckpt: OsString,
    },

    /// Write a new checkpoint without the optimizer state or some objects, that TensorFlow restores
    #[command(
        long_about = "Write a new checkpoint without the optimizer state or some objects, that TensorFlow restores.\n\n\
            Copies CKPT to the prefix OUT (OUT.index and one data shard; no `checkpoint` state file), leaving out \
            what the options name. The object graph is rewritten to match: removed nodes, the references to them \
            and their tensors go, node ids are renumbered, and every tensor kept is copied byte for byte with its \
            checksum, which is verified on the way. OUT is written under temporary names and renamed into place, \
            its .index last: on any error nothing is left there. --drop-slots removes the optimizers (slot \
            variables, step count, hyperparameters, Keras 3 momentums): what tf.train.Checkpoint(model=m) \
            restores is all that remains. --drop and --select take node ids, paths and full names as tree \
            prints them; for a TF1 name-based checkpoint, keys or globs (* and ?).",
        after_help = "Example:\n  ckview rewrite CKPT small/ckpt-1 --drop-slots\n  ckview rewrite CKPT OUT --select root.model\n  \
            ckview rewrite bert_model.ckpt OUT --drop '*/adam_m' --drop '*/adam_v'"
    )]
    Rewrite {
        #[arg(help = CKPT)]
        ckpt: OsString,
        /// The prefix to write (OUT.index, OUT.data-00000-of-00001); not the checkpoint read
        #[arg(value_name = "OUT")]
        out: OsString,
        /// Leave out the optimizer state: optimizers, their slot variables and what only they hold
        #[arg(long)]
        drop_slots: bool,
        /// Leave out a node and what only it reaches (TF1: a key or glob); repeatable
        #[arg(long, value_name = "PATH")]
        drop: Vec<String>,
        /// Keep only this node's subtree and the path to it (TF1: a key or glob); repeatable
        #[arg(long, value_name = "PATH")]
        select: Vec<String>,
    },

    /// Write the tensors to a safetensors file, for PyTorch, JAX and Hugging Face
    #[command(
        long_about = "Write the tensors to a safetensors file, for PyTorch, JAX and Hugging Face.\n\n\
            Reads every tensor (checksums verified, partitioned tensors assembled, big-endian bundles swapped; \
            TF1 and V1 checkpoints too) and writes it with Hugging Face's safetensors writer, named by its object \
            path (model.layer_with_weights-0.kernel) for a TF2 checkpoint, by its key for a TF1 one. Each file's \
            __metadata__ records the checkpoint and every tensor's key (tensorflow_key:NAME). --select and --drop \
            take regular expressions searched in the name and the key; --rename REGEX=REPLACEMENT rewrites names \
            (in order; $1 for groups). Dtypes safetensors cannot hold (strings, complex128, quantized and sub-byte \
            types) are refused, or skipped with --skip-unsupported; bfloat16 and float8 are kept. The output is \
            written under a temporary name and renamed: on any error nothing is left.",
        after_help = "Example:\n  ckview export CKPT model.safetensors --drop-slots\n  \
            ckview export CKPT out/model.safetensors --max-shard-size 5GB\n  \
            ckview export CKPT model.safetensors --names full-name --rename '/=.' --select '^dense'"
    )]
    Export {
        #[arg(help = CKPT)]
        ckpt: OsString,
        /// The safetensors file to write; with --max-shard-size, NAME-00001-of-0000N.safetensors beside it and OUT.index.json
        #[arg(value_name = "OUT.safetensors")]
        out: std::path::PathBuf,
        /// Name tensors by object path (the default with an object graph), bundle key (the default without), or Keras full_name
        #[arg(long, value_name = "NAMES")]
        names: Option<NamesArg>,
        /// Rewrite every name matching REGEX (repeatable, applied in order)
        #[arg(long, value_name = "REGEX=REPLACEMENT")]
        rename: Vec<String>,
        /// Export only tensors whose name or key matches this regular expression (repeatable: any)
        #[arg(long, value_name = "PATTERN")]
        select: Vec<String>,
        /// Leave out tensors whose name or key matches this regular expression (repeatable)
        #[arg(long = "drop", value_name = "PATTERN")]
        drop_patterns: Vec<String>,
        /// Leave out optimizer state: slot variables and the optimizer's own variables
        #[arg(long)]
        drop_slots: bool,
        /// Split into files of at most SIZE of values each (5GB, 500MiB, bytes), with model.safetensors.index.json
        #[arg(long, value_name = "SIZE")]
        max_shard_size: Option<String>,
        /// Leave out tensors of dtypes safetensors cannot hold instead of refusing the export
        #[arg(long)]
        skip_unsupported: bool,
    },

    /// Print a shell completion script
    #[command(after_help = "Example:\n  ckview completions bash > ~/.local/share/bash-completion/completions/ckview")]
    Completions {
        /// bash, elvish, fish, powershell or zsh
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff)
    #[command(after_help = "Example:\n  ckview man > ckview.1 && man ./ckview.1")]
    Man,
}

/// `export --names`: what tensors are named by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NamesArg {
    /// The object path: model.layer_with_weights-0.kernel
    Path,
    /// The bundle key: model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE
    Key,
    /// The Keras full_name: dense_a/kernel
    FullName,
}

/// What to do when parsing fails because `-h`/`--help` asked for a command's help amid other
/// mistakes (`ckview tree x --bogus --help`): help wins, as it does when it comes first.
/// Returns the arguments that print that help, or `None`.
pub fn help_request(args: &[OsString]) -> Option<Vec<OsString>> {
    let before_double_dash: Vec<&OsString> = args.iter().skip(1).take_while(|arg| *arg != "--").collect();
    if !before_double_dash.iter().any(|arg| *arg == "-h" || *arg == "--help") {
        return None;
    }
    let command = <Cli as clap::CommandFactory>::command();
    let name = before_double_dash
        .iter()
        .filter_map(|arg| arg.to_str())
        .find(|arg| command.get_subcommands().any(|sub| sub.get_name() == *arg));
    let mut help = vec![args[0].clone()];
    help.extend(name.map(OsString::from));
    let long = before_double_dash.iter().any(|arg| *arg == "--help");
    help.push(if long { "--help" } else { "-h" }.into());
    Some(help)
}

/// A clap error as the one line `ckview: error: ...` carries: its message and its tips, without
/// the usage block (`ckview COMMAND --help` gives that).
pub fn one_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.strip_prefix("error: ").unwrap_or(line).to_string());
        }
    }
    parts.join("; ")
}
