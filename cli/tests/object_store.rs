//! `ckview` on checkpoints in object storage, against real servers on 127.0.0.1: moto's
//! S3-compatible server (from the repository's virtualenv, `<repo>/.venv` or `CKVIEW_VENV`) and
//! a small HTTP server with range support written here. Every command on an `s3://` or
//! `http://` URL must print what it prints on the same checkpoint on disk, and opening a large
//! checkpoint must fetch little more than its index and its object graph.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ckview::format::Bundle;
use ckview::graph::OBJECT_GRAPH_KEY;
use ckview_synthetic::{write_model, ModelShape};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;

const BUCKET: &str = "ckview-tests";
/// The fixtures compared, as the test names them: a directory with a `checkpoint` state file,
/// or a prefix.
const FIXTURES: [&str; 6] =
    ["doc_children", "keras_adam/model", "sharded/sharded", "partitioned/model.ckpt", "manager", "saved_model"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// A fresh folder in the temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("ckview-object-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request on a fresh connection: the status code and the body.
fn http(port: u16, method: &str, target: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let status = std::str::from_utf8(&response[..response.len().min(12)])
        .ok()
        .and_then(|line| line.get(9..12)?.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
    let body_at = response.windows(4).position(|window| window == b"\r\n\r\n").map_or(response.len(), |at| at + 4);
    Ok((status, response[body_at..].to_vec()))
}

/// moto's S3 server, killed when dropped (a failing test too).
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
        let venv = std::env::var_os("CKVIEW_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from);
        let server = venv.join("bin/moto_server");
        assert!(
            server.is_file(),
            "moto's S3 server is not installed: {} is missing. Install it into the repository's virtualenv with \
             `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt` (it lists moto[server]; \
             .ci/run does this before the Rust tests), or point CKVIEW_VENV at a virtualenv that has it",
            server.display()
        );
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", server.display()));
        let mut moto = Moto { child, port };
        let started = Instant::now();
        loop {
            if let Ok((status, _)) = http(port, "GET", "/", b"") {
                assert_eq!(status, 200, "moto answers GET / with {status}");
                break;
            }
            if let Some(status) = moto.child.try_wait().unwrap() {
                let mut error = String::new();
                let _ = moto.child.stderr.take().unwrap().read_to_string(&mut error);
                panic!("{} exited with {status} before answering: {error}", server.display());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not answer on 127.0.0.1:{port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Its log would fill the pipe: read it away.
        let mut log = moto.child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        let (status, body) = http(port, "PUT", &format!("/{BUCKET}"), b"").unwrap();
        assert_eq!(status, 200, "creating the bucket: {}", String::from_utf8_lossy(&body));
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What `ckview` needs in its environment to reach this server: object_store's variables.
    fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Uploads every file under `dir` (folders too) under `prefix/`, with object_store itself.
    fn upload(&self, dir: &Path, prefix: &str) {
        let store = AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(BUCKET)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_region("us-east-1")
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut folders = vec![(dir.to_path_buf(), prefix.to_string())];
        while let Some((folder, prefix)) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                let name = format!("{prefix}/{}", path.file_name().unwrap().to_str().unwrap());
                if path.is_dir() {
                    folders.push((path, name));
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    runtime.block_on(store.put(&ObjectPath::from(name), PutPayload::from(bytes))).unwrap();
                }
            }
        }
    }
}

/// The tiny HTTP server: GET and HEAD of the files under a folder, with single byte ranges
/// (`Range: bytes=A-B`), one thread per connection. Stopped when dropped.
struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FileServer {
    fn start(root: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                std::thread::spawn(move || serve(&root, stream));
            }
        });
        FileServer { port, stop }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// Answers the requests of one connection (keep-alive), until it closes or idles for 10 s.
fn serve(root: &Path, stream: TcpStream) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut range = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("range") {
                    range = Some(value.trim().to_string());
                }
            }
        }
        let mut words = request_line.split_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let relative = target.trim_start_matches('/');
        let file = (!relative.split('/').any(|part| part == ".." || part.is_empty()))
            .then(|| root.join(relative))
            .filter(|path| path.is_file());
        let head = method == "HEAD";
        let (status, headers, body) = match (method, file) {
            ("GET" | "HEAD", Some(path)) => {
                let bytes = std::fs::read(path).unwrap();
                let size = bytes.len() as u64;
                match range.as_deref().and_then(|text| parse_range(text, size)) {
                    Some((start, end)) => (
                        "206 Partial Content",
                        format!("Content-Range: bytes {start}-{}/{size}\r\n", end - 1),
                        bytes[start as usize..end as usize].to_vec(),
                    ),
                    None if range.is_some() => ("416 Range Not Satisfiable", format!("Content-Range: bytes */{size}\r\n"), Vec::new()),
                    None => ("200 OK", String::new(), bytes),
                }
            }
            ("GET" | "HEAD", None) => ("404 Not Found", String::new(), b"not found".to_vec()),
            _ => ("405 Method Not Allowed", String::new(), Vec::new()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nAccept-Ranges: bytes\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() || (!head && writer.write_all(&body).is_err()) {
            return;
        }
    }
}

/// `bytes=A-B` (inclusive), `bytes=A-` or `bytes=-N` as a half-open range inside the file.
fn parse_range(text: &str, size: u64) -> Option<(u64, u64)> {
    let (first, last) = text.strip_prefix("bytes=")?.split_once('-')?;
    let (start, end) = match (first.parse::<u64>().ok(), last.parse::<u64>().ok()) {
        (Some(start), Some(last)) => (start, (last + 1).min(size)),
        (Some(start), None) if last.is_empty() => (start, size),
        (None, Some(suffix)) if first.is_empty() => (size.saturating_sub(suffix), size),
        _ => return None,
    };
    (start < end).then_some((start, end))
}

fn ckview(args: &[&str], environment: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ckview"));
    command.args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name == "CKVIEW_IO_STATS" {
            command.env_remove(name);
        }
    }
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `ckview ARGS` on `url` prints what it prints on `local`, with `url` for `local` in paths.
fn assert_same(args: &[&str], local: &Path, url: &str, environment: &[(&str, String)]) {
    let local_text = local.to_str().unwrap();
    let with = |operand: &str| -> Vec<String> {
        let mut line: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        line.insert(1, operand.to_string());
        line
    };
    let on_disk = ckview(&with(local_text).iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let remote = ckview(&with(url).iter().map(String::as_str).collect::<Vec<_>>(), environment);
    // Paths printed are the operand's folder and what follows it (the prefix a shard leads to).
    let (local_dir, url_dir) = (local.parent().unwrap().to_str().unwrap(), url.rsplit_once('/').unwrap().0);
    let expected_stdout = text(&on_disk.stdout).replace(local_dir, url_dir);
    let expected_stderr = text(&on_disk.stderr).replace(local_dir, url_dir);
    assert_eq!(remote.status.code(), on_disk.status.code(), "ckview {args:?} on {url}: {}", text(&remote.stderr));
    assert_eq!(text(&remote.stdout), expected_stdout, "ckview {args:?} on {url} and on {local_text}");
    assert_eq!(text(&remote.stderr), expected_stderr, "ckview {args:?} on {url}: stderr");
}

/// A key of the checkpoint to `show`: its first.
fn first_key(local: &Path) -> String {
    let listed = ckview(&["keys", local.to_str().unwrap(), "--json"], &[]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let keys: Value = serde_json::from_slice(&listed.stdout).unwrap();
    keys[0]["key"].as_str().unwrap().to_string()
}

#[test]
fn s3_urls_print_what_local_paths_print() {
    let moto = Moto::start();
    let environment = moto.environment();
    for fixture in FIXTURES {
        let local = fixtures().join(fixture);
        let dir = if local.is_dir() { local.clone() } else { local.parent().unwrap().to_path_buf() };
        let name = dir.file_name().unwrap().to_str().unwrap();
        moto.upload(&dir, name);
        let url = format!("s3://{BUCKET}/{fixture}");
        let key = first_key(&local);
        assert!(!key.is_empty());
        for args in [
            &["keys", "--json"][..],
            &["tree", "--json"],
            &["show", &key, "--json"],
            &["verify", "--json"],
            &["descendants", "--json"],
            &["children", "--json"],
            &["keys"],
            &["tree"],
        ] {
            assert_same(args, &local, &url, &environment);
        }
    }
    // The other path forms: a .index file, a data shard, the state file, a SavedModel's
    // variables/ folder, and a prefix that is not there (the error lists what the directory's
    // `checkpoint` file still names).
    let manager = fixtures().join("manager");
    assert_same(&["keys", "--json"], &manager.join("ckpt-2.index"), &format!("s3://{BUCKET}/manager/ckpt-2.index"), &environment);
    let shard = fixtures().join("sharded/sharded.data-00003-of-00006");
    assert_same(&["tree", "--json"], &shard, &format!("s3://{BUCKET}/sharded/sharded.data-00003-of-00006"), &environment);
    assert_same(&["keys", "--json"], &manager.join("checkpoint"), &format!("s3://{BUCKET}/manager/checkpoint"), &environment);
    let variables = fixtures().join("saved_model/variables");
    assert_same(&["tree", "--json"], &variables, &format!("s3://{BUCKET}/saved_model/variables"), &environment);
    // (An object store cannot tell that ckpt-1 is no SavedModel folder: the library tries
    // ckpt-1/variables/variables.index there too, and says so.)
    let gone = ckview(&["keys", &format!("s3://{BUCKET}/manager/ckpt-1")], &environment);
    assert_eq!(gone.status.code(), Some(2));
    let message = text(&gone.stderr);
    assert!(
        message.starts_with(&format!("ckview: error: no checkpoint found at s3://{BUCKET}/manager/ckpt-1: tried s3://{BUCKET}/manager/ckpt-1.index"))
            && message.ends_with(&format!(
                "; the checkpoint file in s3://{BUCKET}/manager names only s3://{BUCKET}/manager/ckpt-2, \
                 s3://{BUCKET}/manager/ckpt-3 (older checkpoints are deleted by max_to_keep)\n"
            )),
        "{message}"
    );
    // Two checkpoints in the store, compared.
    let (a, b) = (fixtures().join("manager/ckpt-2"), fixtures().join("manager/ckpt-3"));
    let on_disk = ckview(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"], &[]);
    let remote = ckview(
        &["diff", &format!("s3://{BUCKET}/manager/ckpt-2"), &format!("s3://{BUCKET}/manager/ckpt-3"), "--json"],
        &environment,
    );
    assert_eq!(remote.status.code(), on_disk.status.code(), "{}", text(&remote.stderr));
    let dir = fixtures().join("manager");
    assert_eq!(text(&remote.stdout), text(&on_disk.stdout).replace(dir.to_str().unwrap(), &format!("s3://{BUCKET}/manager")));
    // A checkpoint that is not there: a one-line error, status 2.
    let missing = ckview(&["tree", &format!("s3://{BUCKET}/no/such/ckpt-1")], &environment);
    assert_eq!(missing.status.code(), Some(2));
    let message = text(&missing.stderr);
    assert!(message.starts_with("ckview: error: ") && message.contains("s3://ckview-tests/no/such/ckpt-1") && message.lines().count() == 1, "{message}");
}

#[test]
fn http_urls_print_what_local_paths_print() {
    let server = FileServer::start(fixtures());
    let base = format!("http://127.0.0.1:{}", server.port);
    for fixture in FIXTURES {
        let local = fixtures().join(fixture);
        let url = format!("{base}/{fixture}");
        let key = first_key(&local);
        assert_same(&["keys", "--json"], &local, &url, &[]);
        assert_same(&["show", &key, "--json"], &local, &url, &[]);
        assert_same(&["tree", "--json"], &local, &url, &[]);
    }
    let missing = ckview(&["keys", &format!("{base}/no_such/ckpt-1")], &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
}

/// `(requests, bytes)` from the `CKVIEW_IO_STATS` line on standard error.
fn io_stats(output: &Output) -> (u64, u64) {
    let stderr = text(&output.stderr);
    let line = stderr.lines().find(|line| line.starts_with("ckview: io: ")).unwrap_or_else(|| panic!("no stats: {stderr}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace().find_map(|word| word.strip_prefix(name)?.strip_prefix('=')?.parse().ok()).unwrap()
    };
    (field("requests"), field("bytes"))
}

#[test]
fn opening_fetches_the_index_and_the_object_graph_and_little_more() {
    let scratch = Scratch::new("synthetic");
    let nodes: usize = std::env::var("CKVIEW_OBJECT_STORE_NODES").map_or(100_000, |text| text.parse().unwrap());
    let elements: usize = std::env::var("CKVIEW_OBJECT_STORE_ELEMENTS").map_or(64, |text| text.parse().unwrap());
    let prefix = write_model(&scratch.0.join("model"), ModelShape { nodes, fan_out: 8, variable_elements: elements }).unwrap();
    let bundle = Bundle::open(&prefix).unwrap();
    let graph = bundle.entry(OBJECT_GRAPH_KEY).unwrap().expect("an object graph");
    let index_size = std::fs::metadata(scratch.0.join("model.index")).unwrap().len();
    let data_size = std::fs::metadata(scratch.0.join("model.data-00000-of-00001")).unwrap().len();

    let moto = Moto::start();
    moto.upload(&scratch.0, "synthetic");
    let mut environment = moto.environment();
    environment.push(("CKVIEW_IO_STATS", "1".into()));
    let url = format!("s3://{BUCKET}/synthetic/model");
    let started = Instant::now();
    let output = ckview(&["descendants", &url, "--json"], &environment);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let local = ckview(&["descendants", prefix.to_str().unwrap(), "--json"], &[]);
    assert_eq!(output.stdout, local.stdout);
    let (requests, bytes) = io_stats(&output);
    let allowed = index_size + graph.size + (index_size + graph.size) / 100 + (128 << 10);
    eprintln!(
        "ckview descendants on {nodes} nodes: {requests} requests, {bytes} bytes in {elapsed:.2?} \
         (index {index_size} bytes, object graph {} bytes, data {data_size} bytes; allowed {allowed})",
        graph.size
    );
    assert!(bytes <= allowed, "fetched {bytes} bytes; index {index_size} + graph {} + 1% + 128 KiB = {allowed}", graph.size);
    assert!(bytes >= graph.size, "fetched {bytes} bytes, less than the {}-byte object graph", graph.size);
    assert!(requests <= 16, "{requests} requests");

    // `tree` reads every index entry (dtypes, shapes) too, and still no tensor data.
    let started = Instant::now();
    let output = ckview(&["tree", &url, "--json"], &environment);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let local = ckview(&["tree", prefix.to_str().unwrap(), "--json"], &[]);
    assert_eq!(text(&output.stdout), text(&local.stdout).replace(prefix.to_str().unwrap(), &url));
    let (requests, bytes) = io_stats(&output);
    eprintln!("ckview tree --json on {nodes} nodes: {requests} requests, {bytes} bytes in {elapsed:.2?}");
    assert!(bytes <= allowed, "tree fetched {bytes} bytes; allowed {allowed}");
    assert!(requests <= 16 + index_size / (64 << 10), "{requests} requests for a {index_size}-byte index");
}
