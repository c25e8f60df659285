//! Checkpoints in object stores: `s3://`, `gs://`, `az://` and `http(s)://` URLs, read through
//! the `object_store` crate behind the library's synchronous `ckview::io::Storage`.
//!
//! The library asks for a file's size and for bytes at offsets; each of those becomes a HEAD
//! and ranged GETs. Opening a checkpoint reads its index's footer and the index blocks it needs,
//! then the object graph's bytes: so the first read of a file fetches its last 64 KiB (footer and
//! index blocks sit at the end of a .index) or the whole file when it is that small, small reads
//! fetch 64 KiB ahead (more when they go on where the last fetch ended), and what was fetched is
//! kept per file (up to a bound) for the reads after.
//! Large reads are fetched in 8 MiB parts at once and not kept. object_store is async: one small
//! tokio runtime per process runs the requests, and every read blocks on its own (the library
//! may read from several threads at once).
//!
//! Credentials, endpoints and options come from object_store's own environment variables
//! (`AWS_*`, `GOOGLE_*`, `AZURE_*`; `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...). `CKVIEW_IO_STATS=1`
//! prints the requests made and the bytes received on standard error at exit.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ckview::io::{PathKind, RandomAccess, Storage};
use object_store::client::{HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, ObjectStoreScheme};
use url::Url;

/// The schemes `ckview` reads through object_store (as `object_store::parse_url` names them).
const SCHEMES: &[&str] = &["s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl", "http", "https"];

/// The first read of a file fetches at least this much of its end (or the whole file when it is
/// no larger): a .index keeps its footer and its index blocks there.
const TAIL: u64 = 64 << 10;
/// Small reads fetch this much, so that the next few reads are already there; reads that go on
/// where the last fetch ended fetch twice as much each time, up to `MAX_READ_AHEAD`.
const READ_AHEAD: u64 = 64 << 10;
const MAX_READ_AHEAD: u64 = 4 << 20;
/// Reads of this size or more are fetched for the caller alone, not kept.
const UNCACHED: u64 = 4 << 20;
/// Large reads are fetched in parts of this size, all at once.
const PART: u64 = 8 << 20;
/// What is kept of one file at most; the oldest ranges go first.
const CACHE_LIMIT: u64 = 64 << 20;

/// The environment variable that makes `ckview` print its requests and bytes at exit.
pub const STATS_VARIABLE: &str = "CKVIEW_IO_STATS";

/// Whether `ckpt` is a URL that [`ObjectStorage`] reads (`s3://bucket/dir/ckpt-1`, ...).
pub fn is_url(ckpt: &OsStr) -> bool {
    let Some(text) = ckpt.to_str() else { return false };
    text.split_once("://").is_some_and(|(scheme, _)| SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// Requests and bytes, for the whole process: every HTTP request object_store makes (HEADs,
/// GETs, retries, credential requests) and the bytes of the response bodies.
struct Counters {
    used: AtomicBool,
    requests: AtomicU64,
    heads: AtomicU64,
    gets: AtomicU64,
    bytes: AtomicU64,
}

static COUNTERS: Counters = Counters {
    used: AtomicBool::new(false),
    requests: AtomicU64::new(0),
    heads: AtomicU64::new(0),
    gets: AtomicU64::new(0),
    bytes: AtomicU64::new(0),
};

/// `ckview: io: requests=N head=N get=N bytes=N` on standard error, when `CKVIEW_IO_STATS` is
/// set (to anything but empty or `0`) and an object store was used.
pub fn report_stats() {
    let wanted = std::env::var_os(STATS_VARIABLE).is_some_and(|value| !value.is_empty() && value != "0");
    if wanted && COUNTERS.used.load(Ordering::Relaxed) {
        eprintln!(
            "ckview: io: requests={} head={} get={} bytes={}",
            COUNTERS.requests.load(Ordering::Relaxed),
            COUNTERS.heads.load(Ordering::Relaxed),
            COUNTERS.gets.load(Ordering::Relaxed),
            COUNTERS.bytes.load(Ordering::Relaxed),
        );
    }
}

/// The runtime every request runs on: two workers, started the first time a URL is opened.
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ckview-io")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Runs `future` to its end from synchronous code (never from inside the runtime).
fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    Ok(runtime()?.block_on(future))
}

/// object_store's own HTTP client (reqwest), with every request and response counted.
#[derive(Debug, Default)]
struct CountingConnector;

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(CountingService(ReqwestConnector::default().connect(options)?)))
    }
}

#[derive(Debug)]
struct CountingService(HttpClient);

type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'a>>;

impl HttpService for CountingService {
    // `HttpService` is declared with `#[async_trait]`: this is the signature it expands to.
    fn call<'life0, 'async_trait>(&'life0 self, request: HttpRequest) -> ResponseFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let head = request.method() == "HEAD";
            COUNTERS.requests.fetch_add(1, Ordering::Relaxed);
            if head {
                COUNTERS.heads.fetch_add(1, Ordering::Relaxed);
            } else if request.method() == "GET" {
                COUNTERS.gets.fetch_add(1, Ordering::Relaxed);
            }
            let response = self.0.execute(request).await?;
            if !head {
                // The body's length as the server announces it; object_store checks it on
                // reading (a shorter body is an error), so this is what was received.
                let length = response
                    .headers()
                    .get("content-length")
                    .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(0);
                COUNTERS.bytes.fetch_add(length, Ordering::Relaxed);
            }
            Ok(response)
        })
    }
}

/// A bucket or container (or an HTTP server), reached through object_store. The paths the
/// library asks for are URLs themselves: the one the user gave with `.index`, `/checkpoint`,
/// `.data-00000-of-00001` appended.
pub struct ObjectStorage {
    /// `scheme://authority` of the URL, which every path asked for must share.
    origin: String,
    store: Arc<dyn ObjectStore>,
    /// Files opened so far (and those found missing), so that probing a path twice asks once.
    opened: Mutex<HashMap<ObjectPath, Result<Arc<ObjectFile>, io::ErrorKind>>>,
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("ObjectStorage").field("origin", &self.origin).field("store", &self.store).finish()
    }
}

impl ObjectStorage {
    /// The store `url` lives in, configured from the environment as object_store's builders do.
    pub fn for_url(url: &str) -> Result<ObjectStorage, String> {
        let parsed = parse(url)?;
        let (scheme, _) = ObjectStoreScheme::parse(&parsed).map_err(|error| format!("{url}: {error}"))?;
        let origin = parsed[..url::Position::BeforePath].to_string();
        let built: object_store::Result<Arc<dyn ObjectStore>> = match scheme {
            ObjectStoreScheme::AmazonS3 => object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .with_http_connector(CountingConnector)
                .build()
                .map(|store| Arc::new(store) as _),
            ObjectStoreScheme::GoogleCloudStorage => object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .with_http_connector(CountingConnector)
                .build()
                .map(|store| Arc::new(store) as _),
            ObjectStoreScheme::MicrosoftAzure => object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url)
                .with_http_connector(CountingConnector)
                .build()
                .map(|store| Arc::new(store) as _),
            ObjectStoreScheme::Http => object_store::http::HttpBuilder::new()
                .with_url(origin.clone())
                // The user asked for http:// by writing it.
                .with_client_options(ClientOptions::new().with_allow_http(parsed.scheme() == "http"))
                .with_http_connector(CountingConnector)
                .build()
                .map(|store| Arc::new(store) as _),
            other => return Err(format!("{url}: {other:?} URLs are not read by ckview")),
        };
        let store = built.map_err(|error| format!("{url}: {error}"))?;
        COUNTERS.used.store(true, Ordering::Relaxed);
        Ok(ObjectStorage { origin, store, opened: Mutex::new(HashMap::new()) })
    }

    /// The object a path the library asks for names, in this storage.
    fn location(&self, path: &Path) -> io::Result<ObjectPath> {
        let text = path.to_str().ok_or_else(|| invalid(format!("{} is not UTF-8", path.display())))?;
        let url = parse(text).map_err(invalid)?;
        if url[..url::Position::BeforePath] != self.origin {
            return Err(invalid(format!("{text} is not in {}", self.origin)));
        }
        let (_, location) = ObjectStoreScheme::parse(&url).map_err(|error| invalid(format!("{text}: {error}")))?;
        Ok(location)
    }
}

fn parse(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|error| format!("{url} is not a URL: {error}"))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        // File names are appended to the URL: a query would end up in the middle.
        return Err(format!("{url}: a URL with a query or a fragment cannot name a checkpoint"));
    }
    Ok(parsed)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// object_store's errors as I/O errors the library understands (a missing object is NotFound).
fn io_error(error: object_store::Error) -> io::Error {
    let kind = match &error {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            io::ErrorKind::PermissionDenied
        }
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, error)
}

impl Storage for ObjectStorage {
    fn open(&self, path: &Path) -> io::Result<Arc<dyn RandomAccess>> {
        let location = self.location(path)?;
        if let Some(known) = self.opened.lock().unwrap().get(&location) {
            return match known {
                Ok(file) => Ok(file.clone() as Arc<dyn RandomAccess>),
                Err(kind) => Err(io::Error::new(*kind, format!("{}: no such object", path.display()))),
            };
        }
        let head = block_on(self.store.head(&location))?;
        let file = match head {
            Ok(meta) => Arc::new(ObjectFile {
                store: self.store.clone(),
                location: location.clone(),
                size: meta.size,
                cache: Mutex::new(Cache::default()),
            }),
            Err(error) => {
                let error = io_error(error);
                if error.kind() == io::ErrorKind::NotFound {
                    self.opened.lock().unwrap().insert(location, Err(io::ErrorKind::NotFound));
                }
                return Err(error);
            }
        };
        self.opened.lock().unwrap().insert(location, Ok(file.clone()));
        Ok(file)
    }

    fn kind(&self, _path: &Path) -> Option<PathKind> {
        None // no directories: a directory is where a `checkpoint` state file is
    }
}

/// One object: its size from the HEAD at open, its bytes by ranged GETs.
struct ObjectFile {
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    size: u64,
    cache: Mutex<Cache>,
}

impl fmt::Debug for ObjectFile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("ObjectFile").field("location", &self.location).field("size", &self.size).finish()
    }
}

/// Ranges of one file fetched so far, by start; `order` says which came first.
#[derive(Default)]
struct Cache {
    chunks: Vec<Chunk>,
    bytes: u64,
    fetches: u64,
    /// Where the last fetch ended, and how far ahead the next sequential one reads.
    fetched_to: u64,
    ahead: u64,
}

struct Chunk {
    start: u64,
    bytes: Vec<u8>,
    order: u64,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl Cache {
    /// The parts of `range` that no chunk holds.
    fn gaps(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut at = range.start;
        for chunk in &self.chunks {
            if at >= range.end {
                break;
            }
            if chunk.end() <= at {
                continue;
            }
            if chunk.start > at {
                gaps.push(at..chunk.start.min(range.end));
            }
            at = at.max(chunk.end());
        }
        if at < range.end {
            gaps.push(at..range.end);
        }
        gaps
    }

    /// Copies what the chunks hold of `offset..offset + buf.len()` into `buf`.
    fn copy(&self, offset: u64, buf: &mut [u8]) {
        let end = offset + buf.len() as u64;
        for chunk in &self.chunks {
            let from = chunk.start.max(offset);
            let to = chunk.end().min(end);
            if from < to {
                buf[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&chunk.bytes[(from - chunk.start) as usize..(to - chunk.start) as usize]);
            }
        }
    }

    /// Keeps `bytes` fetched at `start`, dropping the oldest chunks beyond the limit.
    fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        self.fetches += 1;
        let order = self.fetches;
        self.bytes += bytes.len() as u64;
        let at = self.chunks.partition_point(|chunk| chunk.start < start);
        self.chunks.insert(at, Chunk { start, bytes, order });
        while self.bytes > CACHE_LIMIT && self.chunks.len() > 1 {
            let oldest = (0..self.chunks.len()).min_by_key(|&index| self.chunks[index].order).unwrap();
            self.bytes -= self.chunks.remove(oldest).bytes.len() as u64;
        }
    }
}

impl ObjectFile {
    /// Fetches `ranges` of the object, all at once (large ones in parts); their bytes in order.
    fn fetch(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        for range in ranges {
            let mut start = range.start;
            while start < range.end {
                let end = range.end.min(start + PART);
                parts.push(start..end);
                start = end;
            }
        }
        // object_store's get_ranges fetches them concurrently (and would merge neighbours).
        let fetched = block_on(async {
            let tasks: Vec<_> = parts
                .iter()
                .map(|part| {
                    let (store, location, part) = (self.store.clone(), self.location.clone(), part.clone());
                    tokio::spawn(async move { store.get_range(&location, part).await })
                })
                .collect();
            let mut fetched = Vec::with_capacity(tasks.len());
            for task in tasks {
                fetched.push(task.await);
            }
            fetched
        })?;
        let mut fetched = fetched.into_iter().zip(&parts).map(|(result, part)| {
            let bytes = result.map_err(io::Error::other)?.map_err(io_error)?;
            if bytes.len() as u64 != part.end - part.start {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: asked for bytes {part:?}, got {}", self.location, bytes.len()),
                ));
            }
            Ok(bytes)
        });
        let mut out = Vec::with_capacity(ranges.len());
        for range in ranges {
            let mut bytes = Vec::with_capacity((range.end - range.start) as usize);
            let mut start = range.start;
            while start < range.end {
                let part = fetched.next().expect("one part per piece")?;
                start += part.len() as u64;
                bytes.extend_from_slice(&part);
            }
            out.push(bytes);
        }
        Ok(out)
    }
}

impl RandomAccess for ObjectFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64).filter(|&end| end <= self.size).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: bytes {offset}..+{} lie past the end of the {}-byte object", self.location, buf.len(), self.size),
            )
        })?;
        if buf.is_empty() {
            return Ok(());
        }
        let (mut gaps, first) = {
            let cache = self.cache.lock().unwrap();
            (cache.gaps(offset..end), cache.fetches == 0)
        };
        if gaps.is_empty() {
            self.cache.lock().unwrap().copy(offset, buf);
            return Ok(());
        }
        let wanted: u64 = gaps.iter().map(|gap| gap.end - gap.start).sum();
        if wanted >= UNCACHED {
            // A large read (the object graph, a big tensor): fetched for this caller only.
            let fetched = self.fetch(&gaps)?;
            self.cache.lock().unwrap().copy(offset, buf);
            for (gap, bytes) in gaps.iter().zip(fetched) {
                buf[(gap.start - offset) as usize..(gap.end - offset) as usize].copy_from_slice(&bytes);
            }
            return Ok(());
        }
        if first && end > self.size.saturating_sub(TAIL) {
            // The footer of a .index, most likely: its index blocks sit just before it.
            gaps = vec![offset.min(self.size.saturating_sub(TAIL))..self.size];
        } else {
            let mut cache = self.cache.lock().unwrap();
            let sequential = gaps[0].start == cache.fetched_to;
            let last = gaps.last_mut().expect("a gap");
            cache.ahead = if sequential { (cache.ahead * 2).clamp(READ_AHEAD, MAX_READ_AHEAD) } else { READ_AHEAD };
            last.end = last.end.max((last.start + cache.ahead).min(self.size));
            // Do not fetch again what the next chunk holds.
            if let Some(next) = cache.chunks.iter().find(|chunk| chunk.start >= end) {
                last.end = last.end.min(next.start).max(end);
            }
        }
        let fetched = self.fetch(&gaps)?;
        let mut cache = self.cache.lock().unwrap();
        cache.fetched_to = gaps.last().map_or(0, |gap| gap.end);
        for (gap, bytes) in gaps.iter().zip(fetched) {
            // Another thread may have fetched an overlapping range meanwhile: keep only what is new.
            for hole in cache.gaps(gap.clone()) {
                let piece = bytes[(hole.start - gap.start) as usize..(hole.end - gap.start) as usize].to_vec();
                cache.insert(hole.start, piece);
            }
        }
        if !cache.gaps(offset..end).is_empty() {
            // Evicted meanwhile (many threads, a full cache): read it once more, uncached.
            drop(cache);
            let bytes = self.fetch(std::slice::from_ref(&(offset..end)))?.remove(0);
            buf.copy_from_slice(&bytes);
            return Ok(());
        }
        cache.copy(offset, buf);
        Ok(())
    }
}
