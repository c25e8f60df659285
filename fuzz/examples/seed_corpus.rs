//! Writes the seed corpora of every fuzz target from the repository's fixtures (checkpoints that
//! TensorFlow wrote): `cargo run --example seed_corpus -- <corpus folder>`. Each target gets its
//! own sub-folder; file names say where a seed came from.

use std::path::{Path, PathBuf};

use ckview::format::table::Table;
use ckview::format::{Bundle, DataType, Endianness};
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview_fuzz::join;

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("corpus file");
        self.written += 1;
    }
}

/// Every `P.index` under the fixtures, as prefixes.
fn prefixes(fixtures: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(fixtures).expect("tests/fixtures").flatten() {
        let Ok(files) = std::fs::read_dir(dir.path()) else { continue };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|ext| ext == "index") {
                found.push(path.with_extension(""));
            }
        }
    }
    found.sort();
    found
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).expect("usage: seed_corpus <corpus folder>"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut corpus = Corpus { root, written: 0 };
    for prefix in prefixes(&fixtures) {
        let label = format!(
            "{}-{}",
            prefix.parent().unwrap().file_name().unwrap().to_string_lossy(),
            prefix.file_name().unwrap().to_string_lossy()
        );
        let index = std::fs::read(format!("{}.index", prefix.display())).expect("index");
        corpus.put("table", &label, &index);

        let Ok(bundle) = Bundle::open_prefix(&prefix) else { continue };
        let header = bundle.header();
        // open: the index, then each shard.
        let shards: Vec<Vec<u8>> = (0..header.num_shards).map(|id| std::fs::read(bundle.shard_path(id)).unwrap_or_default()).collect();
        let mut parts: Vec<&[u8]> = vec![&index];
        parts.extend(shards.iter().map(Vec::as_slice));
        corpus.put("open", &label, &join(&parts));

        // entry: every stored entry (and the header), after a shard-count byte.
        let table = Table::open(&ckview::io::LocalStorage::default(), &format!("{}.index", prefix.display()).as_ref()).expect("index opens");
        let mut count = 0;
        let _ = table.for_each(|key, value| {
            let mut seed = vec![header.num_shards.min(254) as u8];
            seed.extend_from_slice(value);
            corpus.put("entry", &format!("{label}-{count}"), &seed);
            count += 1;
            let _ = key;
            Ok(())
        });

        // strings: every string tensor, with its count and crc.
        let flags = if header.endianness == Endianness::Big { 1u8 } else { 0 };
        for (key, entry) in bundle.tensors().unwrap_or_default().into_iter().chain(
            bundle.entry(OBJECT_GRAPH_KEY).ok().flatten().map(|entry| (OBJECT_GRAPH_KEY.to_vec(), entry)),
        ) {
            if entry.dtype != DataType::DtString || !entry.slices.is_empty() {
                continue;
            }
            let Ok(stored) = bundle.read_stored(&key, &entry) else { continue };
            let Ok(count) = u16::try_from(entry.num_elements()) else { continue };
            let mut seed = vec![flags | 4];
            seed.extend_from_slice(&count.to_le_bytes());
            seed.extend_from_slice(&entry.masked_crc32c.to_le_bytes());
            seed.extend_from_slice(&stored);
            corpus.put("strings", &format!("{label}-{}", String::from_utf8_lossy(&key)), &seed);
        }

        // graph and compare: the serialized object graph.
        let Ok(Some(entry)) = bundle.entry(OBJECT_GRAPH_KEY) else { continue };
        let Ok(strings) = bundle.read_strings(OBJECT_GRAPH_KEY, &entry) else { continue };
        let graph = &strings[0];
        corpus.put("graph", &label, graph);
        // The live side: root 0 and a few edges between small handles.
        let live: &[u8] = &[0, 0, 0, 1, 0, 1, 2, 1, 2, 3, 3, 7, 0];
        let mut seed = vec![0x80];
        seed.extend_from_slice(&join(&[graph, live]));
        corpus.put("compare", &label, &seed);
    }
    // Structured graphs for compare: a chain with a cycle, a wide node, a shared child.
    for (name, mode, triples) in [
        ("chain", 5u8, vec![0u8, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 2, 6, 4]),
        ("wide", 9, (0..10u8).flat_map(|i| [0, i, i % 9 + 1]).collect()),
        ("shared", 3, vec![0, 0, 1, 0, 1, 1, 1, 2, 2, 3, 2, 0]),
    ] {
        let live: Vec<u8> = std::iter::once(0).chain(triples.iter().copied()).collect();
        let mut seed = vec![mode];
        seed.extend_from_slice(&join(&[&triples, &live]));
        corpus.put("compare", name, &seed);
    }
    println!("wrote {} seeds under {}", corpus.written, corpus.root.display());
}
