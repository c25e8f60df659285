// ckview.hpp: a header-only C++17 binding of libckview (include/ckview.h).
//
// Every handle of the C ABI has one RAII class here; each is move-only and frees its handle in
// its destructor. A moved-from object holds no handle: destroying it does nothing, and calling
// one of its methods throws ckview::Error with CKVIEW_INVALID_ARGUMENT (never undefined behaviour).
// Every failure is a ckview::Error carrying the library's status and message.
//
// Build: c++ -std=c++17 prog.cpp -Iinclude -Ibindings/cpp -Ltarget/release -lckview
//
// Lifetimes (the C ABI's rules, unchanged)
// - Names, keys and arrays returned as std::string_view or ckview::Span are borrowed: from the
//   View (graph queries), from the Comparison (its results), from the Tensor (key, shape, slices)
//   or from the reader's memory-mapped files (borrow()). They stay valid until that owner is
//   destroyed. Moving an owner moves its handle, so borrowed data stays valid. read_strings()
//   copies (std::string), since the C list that holds the elements is freed before it returns.
// - A Tensor, TensorRef or TensorList must not be used after the Reader (or View) it came from
//   is destroyed; destroy them first (declaring them after the reader does that).
// - A ReaderRef from View::reader() is valid while the View lives.
// - A ChildSink is valid only during the call of the callable it is passed to.
//
// Thread safety
// - The binding adds no shared state of its own (a View/Reader holds its Storage; a thread-local
//   slot carries a Storage's exception back to its caller): it is exactly as thread-safe as the
//   C ABI, whose handles are immutable once returned (see "Thread safety" in ckview.h). Any
//   number of threads may call
//   the const methods of one View (or Reader, Tensor, Comparison...) at once. Moving, assigning or
//   destroying an object must not race with other uses of it or of anything borrowed from it.
// - match()/diff() call the callable synchronously, on the calling thread, at most once per
//   live object; the callable may use the View (and any other ckview object) re-entrantly.
//   An exception it throws is caught before it reaches the C code and rethrown, unchanged, from
//   match()/diff() once the C call has returned.
// - A ckview::Storage (OpenOptions::storage) and its Files are called from every thread that uses
//   the View or Reader opened with it, at the same time: they must be thread-safe. An exception
//   one of their methods throws is likewise caught, the C call fails, and the very exception is
//   rethrown from the C++ call that needed the bytes (on that call's thread).

#ifndef CKVIEW_HPP
#define CKVIEW_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ckview.h"

namespace ckview {

using Status = ckview_status;
using MatchedPair = ckview_matched_pair;  // {node_id, object}
using Conflict = ckview_conflict;         // {node_id, matched_object, other_object}
using SliceExtent = ckview_slice_extent;  // {start, length}; length -1 = the whole dimension

/// The library's version, `MAJOR.MINOR.PATCH` (a static string).
[[nodiscard]] inline std::string_view version() noexcept { return ckview_version(); }

/// Whether the library running is compatible with the header this program was compiled with:
/// the same major version and, while that is 0, the same minor version. Worth checking at start-up
/// when the library is found at run time (a system install, LD_LIBRARY_PATH).
[[nodiscard]] inline bool library_matches_header() noexcept {
#if defined(CKVIEW_VERSION_MAJOR) && defined(CKVIEW_VERSION_MINOR)
  // ckview_version() is "MAJOR.MINOR.PATCH".
  const std::string_view text = ckview_version();
  unsigned long numbers[2] = {0, 0};
  std::size_t at = 0;
  for (unsigned long &number : numbers) {
    if (at >= text.size() || text[at] < '0' || text[at] > '9') return false;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; at++)
      number = number * 10 + static_cast<unsigned long>(text[at] - '0');
    if (at < text.size() && text[at] == '.') at++;
  }
  return numbers[0] == CKVIEW_VERSION_MAJOR && (CKVIEW_VERSION_MAJOR != 0 || numbers[1] == CKVIEW_VERSION_MINOR);
#else
  return true;  // a header from before the version macros: nothing to compare with
#endif
}

/// The name of a status (`"CKVIEW_NOT_FOUND"`), or `"unknown status"` for any other number.
[[nodiscard]] inline std::string_view status_name(int status) noexcept { return ckview_status_name(status); }

/// TensorFlow's name of a `DataType` number (`"float32"`), or `"unknown"`.
[[nodiscard]] inline std::string_view dtype_name(int32_t dtype) noexcept { return ckview_dtype_name(dtype); }

/// A failed call: the library's status and message. For the C functions that return an owned
/// ckview_error, what() is that error's message; for the others (which return a status only),
/// it names the C function and the status.
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string &message, int32_t callback_code = 0)
      : std::runtime_error(message), status_(status), callback_code_(callback_code) {}

  [[nodiscard]] Status status() const noexcept { return status_; }
  [[nodiscard]] std::string_view status_name() const noexcept { return ckview::status_name(status_); }
  /// The nonzero value a C callback returned: the children callback's (CKVIEW_CALLBACK_FAILED) or
  /// an I/O callback's (CKVIEW_IO_ERROR; for a ckview::Storage, ENOENT when open() returned
  /// nullptr; an exception it threw is rethrown itself instead), else 0.
  [[nodiscard]] int32_t callback_code() const noexcept { return callback_code_; }

 private:
  Status status_;
  int32_t callback_code_;
};

/// A borrowed, contiguous array: a pointer and a count (std::span is C++20). Elements are owned
/// by whoever returned the Span (see "Lifetimes" above).
template <class T>
class Span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using iterator = T *;
  using const_iterator = T *;

  constexpr Span() noexcept = default;
  constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}

  [[nodiscard]] constexpr T *data() const noexcept { return data_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] constexpr T *begin() const noexcept { return data_; }
  [[nodiscard]] constexpr T *end() const noexcept { return data_ + size_; }
  /// Unchecked, like std::span.
  [[nodiscard]] constexpr T &operator[](std::size_t index) const noexcept { return data_[index]; }
  /// Checked: std::out_of_range past the end.
  [[nodiscard]] T &at(std::size_t index) const {
    if (index >= size_) throw std::out_of_range("ckview::Span::at: index out of range");
    return data_[index];
  }
  [[nodiscard]] std::vector<value_type> to_vector() const { return std::vector<value_type>(begin(), end()); }

 private:
  T *data_ = nullptr;
  std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Open options and the caller's own storage

/// One file of a Storage, open for reading. ckview calls it from any thread using the View or
/// Reader, concurrently: implementations must be thread-safe (positioned reads such as pread, or
/// a mutex around a stream). Any exception a method throws is caught before it reaches the C
/// code and rethrown, the very object, from the ckview C++ call that was reading. The destructor
/// closes the file; ckview destroys each File exactly once, at the latest when the View or Reader
/// is destroyed (it may close idle data shards earlier and open them again later).
class File {
 public:
  virtual ~File() = default;
  /// The file's size in bytes (asked once, right after Storage::open).
  [[nodiscard]] virtual uint64_t size() = 0;
  /// Fills all `length` bytes of `buffer` with the file's bytes at `offset`, or throws (a file that
  /// ends first is a failure too). Never called with length 0.
  virtual void read_at(uint64_t offset, void *buffer, std::size_t length) = 0;
};

/// Where the files of a checkpoint live (an archive, an object store, memory), as SQLite's VFS.
/// Like File, called from any thread that uses the View or Reader, concurrently: implementations
/// must be thread-safe. The View or Reader keeps the Storage alive (OpenOptions holds it by
/// shared_ptr) until it is destroyed, after its last File.
class Storage {
 public:
  virtual ~Storage() = default;
  /// Opens the file at `path` (a path inside the checkpoint as ckview forms it: `dir/ckpt-1.index`,
  /// `dir/checkpoint`, `dir/ckpt-1.data-00000-of-00001`), or returns nullptr when there is no such
  /// file. ckview probes several path forms while opening, so a missing file is routine: return
  /// nullptr for that, and throw for a real failure (permissions, network). A throw while probing
  /// counts as "absent" too, but if the open then fails, that exception is what View::open or
  /// Reader::open throws instead of Error(CKVIEW_NOT_FOUND).
  [[nodiscard]] virtual std::unique_ptr<File> open(std::string_view path) = 0;
};

/// How View::open and Reader::open read the files. Default: local files with positioned reads.
struct OpenOptions {
  /// Memory-map local data shards, for TensorRef::borrow() (zero copy). A mapped page that cannot be
  /// read (a failing disk, a network filesystem, a file truncated under the open view) kills the
  /// process with SIGBUS instead of throwing, hence off by default. Not with `storage`.
  bool mmap = false;
  /// Read through the caller's own storage instead of local files (nullptr: local files). Cannot be
  /// combined with `mmap` (Error CKVIEW_INVALID_ARGUMENT).
  std::shared_ptr<Storage> storage;
};

/// What ReaderRef::rewrite leaves out (ckview_rewrite_options).
struct RewriteOptions {
  /// The optimizer state: optimizers, their slot variables and what only they hold.
  bool drop_slots = false;
  /// Nodes (ids "#14", dotted paths as `ckview tree` prints them, full names) to leave out with
  /// what only they reach; for a TF1 checkpoint, keys or globs ("*/adam_m").
  std::vector<std::string> drop;
  /// When not empty: only these subtrees, the path to them and the root's save_counter (TF1: keys
  /// or globs).
  std::vector<std::string> select;
};

/// One tensor as ExportOptions::rename sees it (ckview_export_tensor): its strings borrowed for
/// the call only.
struct ExportTensor {
  std::string_view key;
  /// The name the naming gives it.
  std::string_view name;
  /// The object path and Keras full name, empty when the checkpoint has none for it.
  std::optional<std::string_view> path, full_name;
  /// TensorFlow's dtype name ("float32").
  std::string_view dtype;
  std::vector<uint64_t> shape;
  bool optimizer_state = false;
};

/// How ReaderRef::export_safetensors names and chooses tensors (ckview_export_options).
struct ExportOptions {
  /// CKVIEW_EXPORT_NAMES_DEFAULT (paths with an object graph, keys without), _PATH, _KEY or _FULL_NAME.
  uint32_t naming = CKVIEW_EXPORT_NAMES_DEFAULT;
  /// Leave out the optimizer state (needs an object graph).
  bool drop_slots = false;
  /// Leave out dtypes safetensors cannot hold instead of throwing Error(CKVIEW_UNSUPPORTED_DTYPE).
  bool skip_unsupported = false;
  /// Bytes of values per file (0: one file): STEM-00001-of-0000N.safetensors and OUT.index.json.
  uint64_t max_shard_size = 0;
  /// The name to write a tensor under, or std::nullopt to leave it out; empty: the naming's
  /// names. An exception it throws comes out of export_safetensors / export_names unchanged.
  std::function<std::optional<std::string>(const ExportTensor &)> rename;
  /// Called after each tensor with bytes written so far and in all; an exception stops the export.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

namespace detail {

template <class T, void (*Free)(T *)>
struct Deleter {
  void operator()(T *handle) const noexcept { Free(handle); }
};

/// The deleter of a View's or Reader's handle: frees the handle, and owns the Storage it reads
/// through, which unique_ptr destroys after freeing the handle (also on move assignment: reset()
/// frees the old handle before the deleter, and with it the old storage, is replaced).
template <class T, void (*Free)(T *)>
struct StorageDeleter {
  std::shared_ptr<Storage> storage;
  void operator()(T *handle) const noexcept { Free(handle); }
};

/// The exception a Storage or File threw on this thread, during the C call running on it (the
/// callbacks run synchronously, on the calling thread). The first one is kept.
inline std::exception_ptr &pending_io_exception() noexcept {
  static thread_local std::exception_ptr pending;
  return pending;
}

/// The code a trampoline returns when a Storage or File threw.
inline constexpr int32_t io_exception_code = EIO;

inline int32_t stash_io_exception() noexcept {
  std::exception_ptr &pending = pending_io_exception();
  if (!pending) pending = std::current_exception();
  return io_exception_code;
}

/// The C io table over a ckview::Storage (io_userdata) and its Files (the C file handles).
/// Nothing unwinds through the library's frames: every exception is caught and stashed.
struct IoTrampolines {
  static int32_t open(void *userdata, const char *path, std::size_t path_len, void **file_out) noexcept {
    try {
      std::unique_ptr<File> file = static_cast<Storage *>(userdata)->open(std::string_view(path, path_len));
      if (!file) return ENOENT;
      *file_out = file.release();
      return 0;
    } catch (...) {
      return stash_io_exception();
    }
  }
  static int32_t size(void *, void *file, uint64_t *size_out) noexcept {
    try {
      *size_out = static_cast<File *>(file)->size();
      return 0;
    } catch (...) {
      return stash_io_exception();
    }
  }
  static int32_t read(void *, void *file, uint64_t offset, void *buffer, std::size_t length) noexcept {
    try {
      static_cast<File *>(file)->read_at(offset, buffer, length);
      return 0;
    } catch (...) {
      return stash_io_exception();
    }
  }
  static void close(void *, void *file) noexcept {
    try {
      delete static_cast<File *>(file);
    } catch (...) {
      // A destructor that throws: nothing can report it from here.
    }
  }
};

inline constexpr ckview_io_methods io_methods{&IoTrampolines::open, &IoTrampolines::size, &IoTrampolines::read,
                                              &IoTrampolines::close};

inline ckview_open_options c_options(const OpenOptions &options) noexcept {
  ckview_open_options c{};
  c.flags = options.mmap ? static_cast<uint32_t>(CKVIEW_OPEN_MMAP) : 0u;
  c.io = options.storage ? &io_methods : nullptr;
  c.io_userdata = options.storage.get();
  return c;
}

using ErrorPtr = std::unique_ptr<ckview_error, Deleter<ckview_error, ckview_error_free>>;

[[noreturn]] inline void throw_status(Status status, const char *function) {
  throw Error(status, std::string(function) + " failed: " + ckview_status_name(static_cast<int>(status)));
}

/// For the C functions without `error_out`.
inline void check(Status status, const char *function) {
  if (status != CKVIEW_OK) throw_status(status, function);
}

/// For the C functions with `error_out`: takes ownership of `raw` (which may be NULL).
inline void check(Status status, ckview_error *raw, const char *function) {
  ErrorPtr error(raw);
  if (status == CKVIEW_OK) return;
  if (!error) throw_status(status, function);
  throw Error(status, ckview_error_message(error.get()), ckview_error_callback_code(error.get()));
}

/// Around a C call that may read through a Storage: the (first) exception a Storage or File
/// throws during the call is rethrown by check() when the call fails with CKVIEW_IO_ERROR (the
/// failure it caused) or CKVIEW_NOT_FOUND (ckview treats every file that fails to open as absent
/// and tries the next path form; the exception tells a real failure from an absence). When the
/// call succeeds anyway (a probe for a `checkpoint` file it did without) it is dropped. Restores
/// an enclosing call's pending exception (nested calls from a callable) when it ends.
class IoScope {
 public:
  IoScope() noexcept : outer_(std::exchange(pending_io_exception(), nullptr)) {}
  IoScope(const IoScope &) = delete;
  IoScope &operator=(const IoScope &) = delete;
  ~IoScope() { pending_io_exception() = std::move(outer_); }

  /// check() for the C functions with `error_out` (`raw` may be NULL).
  void check(Status status, ckview_error *raw, const char *function) {
    ErrorPtr error(raw);
    const std::exception_ptr thrown = std::exchange(pending_io_exception(), nullptr);
    if ((status == CKVIEW_IO_ERROR || status == CKVIEW_NOT_FOUND) && thrown) std::rethrow_exception(thrown);
    detail::check(status, error.release(), function);
  }
  /// check() for the C functions without `error_out`.
  void check(Status status, const char *function) { check(status, nullptr, function); }

 private:
  std::exception_ptr outer_;
};

inline std::string_view view_of(ckview_str text) noexcept { return std::string_view(text.ptr, text.len); }

/// The C options of an ExportOptions, its callables behind trampolines that keep the first
/// exception for after the call.
class ExportCall {
 public:
  explicit ExportCall(const ExportOptions &options) : options_(options) {
    c_.naming = options.naming;
    c_.flags = (options.drop_slots ? CKVIEW_EXPORT_DROP_OPTIMIZER_STATE : 0u) |
               (options.skip_unsupported ? CKVIEW_EXPORT_SKIP_UNSUPPORTED : 0u);
    c_.max_shard_size = options.max_shard_size;
    c_.name = options.rename ? &ExportCall::name : nullptr;
    c_.progress = options.progress ? &ExportCall::progress : nullptr;
    c_.userdata = this;
  }
  [[nodiscard]] const ckview_export_options *get() const noexcept { return &c_; }
  /// Rethrows what a callable threw; else throws for a failed status.
  void check(Status status, ckview_error *raw, const char *function) {
    ErrorPtr error(raw);
    if (thrown_ && status == CKVIEW_CALLBACK_FAILED) std::rethrow_exception(thrown_);
    detail::check(status, error.release(), function);
  }

 private:
  static int32_t name(void *userdata, const ckview_export_tensor *tensor, ckview_export_name *answer) noexcept {
    auto *call = static_cast<ExportCall *>(userdata);
    try {
      ExportTensor described;
      described.key = view_of(tensor->key);
      described.name = view_of(tensor->name);
      if (tensor->has_path) described.path = view_of(tensor->path);
      if (tensor->has_full_name) described.full_name = view_of(tensor->full_name);
      described.dtype = tensor->dtype;
      described.shape.assign(tensor->shape, tensor->shape + tensor->rank);
      described.optimizer_state = tensor->optimizer_state;
      const std::optional<std::string> chosen = call->options_.rename(described);
      if (!chosen) return ckview_export_name_skip(answer) == CKVIEW_OK ? 0 : 1;
      return ckview_export_name_set(answer, chosen->data(), chosen->size()) == CKVIEW_OK ? 0 : 1;
    } catch (...) {
      call->thrown_ = std::current_exception();
      return 1;
    }
  }
  static int32_t progress(void *userdata, uint64_t done, uint64_t total) noexcept {
    auto *call = static_cast<ExportCall *>(userdata);
    try {
      call->options_.progress(done, total);
      return 0;
    } catch (...) {
      call->thrown_ = std::current_exception();
      return 1;
    }
  }

  const ExportOptions &options_;
  ckview_export_options c_{};
  std::exception_ptr thrown_;
};

inline std::size_t to_size(uint64_t value, const char *what) {
  if (value > std::numeric_limits<std::size_t>::max())
    throw Error(CKVIEW_INVALID_ARGUMENT, std::string(what) + " does not fit in size_t on this platform");
  return static_cast<std::size_t>(value);
}

/// A C array the library lends as a pointer and a count; for count 0 the pointer must not be
/// read (or offset), so the Span is empty and holds none.
template <class T>
inline Span<const T> borrowed(const T *items, std::size_t count) noexcept {
  return count == 0 ? Span<const T>() : Span<const T>(items, count);
}

inline uint32_t read_flags(bool verify) noexcept {
  return verify ? 0u : static_cast<uint32_t>(CKVIEW_READ_SKIP_CHECKSUMS);
}

/// A random-access position in something indexed by 0..count-1. `Access` is a small copyable
/// function object `Value operator()(std::size_t) const`, held by value, so an iterator stays
/// usable after the range object that made it is gone (while the C handle lives).
template <class Access, class Value>
class IndexIterator {
 public:
  using iterator_category = std::input_iterator_tag;  // operator* returns a value, not a reference
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Value;

  IndexIterator() = default;
  IndexIterator(Access access, std::size_t index) : access_(access), index_(index) {}

  [[nodiscard]] Value operator*() const { return access_(index_); }
  IndexIterator &operator++() noexcept {
    ++index_;
    return *this;
  }
  IndexIterator operator++(int) noexcept {
    IndexIterator before = *this;
    ++index_;
    return before;
  }
  [[nodiscard]] friend bool operator==(const IndexIterator &a, const IndexIterator &b) noexcept {
    return a.index_ == b.index_;
  }
  [[nodiscard]] friend bool operator!=(const IndexIterator &a, const IndexIterator &b) noexcept {
    return a.index_ != b.index_;
  }

 private:
  Access access_{};
  std::size_t index_ = 0;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Graph records. Their string_views are borrowed from the View.

/// One child of a checkpoint node: `for (auto [name, node_id] : view.children(0))`.
struct Child {
  std::string_view name;
  uint32_t node_id;
};

/// A serialized tensor of a node (`SerializedTensor`).
struct Attribute {
  std::string_view name;            // e.g. VARIABLE_VALUE
  std::string_view full_name;       // the object's full name when saved
  std::string_view checkpoint_key;  // its key in the bundle: Reader::find(checkpoint_key)
};

/// An optimizer slot variable recorded on an optimizer node (`SlotVariableReference`).
struct SlotVariable {
  uint32_t original_variable_node_id;
  std::string_view slot_name;
  uint32_t slot_variable_node_id;
};

/// An optimizer slot of a variable, seen from the variable.
struct VariableSlot {
  std::string_view slot_name;
  uint32_t optimizer_node_id;
  uint32_t slot_node_id;
};

/// A saver registered for a node (`RegisteredSaver`).
struct RegisteredSaver {
  std::string_view name;
  std::string_view object_name;
};

/// One edge of a live graph given up front (match_edges, diff_edges).
struct Edge {
  uint64_t parent;
  std::string name;
  uint64_t child;
};

// ---------------------------------------------------------------------------------------------
// Tensors

/// A tensor's metadata and value, not owning its handle: borrowed from a TensorList, or the base
/// of an owning Tensor. Copyable, like std::string_view. Valid while its owner and reader live.
class TensorRef {
 public:
  TensorRef() noexcept = default;
  explicit TensorRef(const ckview_tensor *tensor) noexcept : tensor_(tensor) {}

  [[nodiscard]] const ckview_tensor *get() const noexcept { return tensor_; }
  [[nodiscard]] explicit operator bool() const noexcept { return tensor_ != nullptr; }

  /// The key, borrowed from the tensor.
  [[nodiscard]] std::string_view key() const {
    ckview_str key{"", 0};
    detail::check(ckview_tensor_key(tensor_, &key), "ckview_tensor_key");
    return detail::view_of(key);
  }
  /// TensorFlow's `DataType` number (DT_FLOAT = 1, ...).
  [[nodiscard]] int32_t dtype() const {
    int32_t dtype = 0;
    detail::check(ckview_tensor_dtype(tensor_, &dtype), "ckview_tensor_dtype");
    return dtype;
  }
  /// TensorFlow's dtype name: "float32", "string", ...
  [[nodiscard]] std::string_view dtype_name() const { return ckview::dtype_name(dtype()); }
  /// The dimensions (empty for a scalar), borrowed from the tensor.
  [[nodiscard]] Span<const uint64_t> shape() const {
    const uint64_t *dims = nullptr;
    std::size_t rank = 0;
    detail::check(ckview_tensor_shape(tensor_, &dims, &rank), "ckview_tensor_shape");
    return rank == 0 ? Span<const uint64_t>() : Span<const uint64_t>(dims, rank);
  }
  /// The number of elements (1 for a scalar).
  [[nodiscard]] uint64_t num_elements() const {
    uint64_t count = 0;
    detail::check(ckview_tensor_num_elements(tensor_, &count), "ckview_tensor_num_elements");
    return count;
  }
  /// What read_into() writes for a fixed-size dtype; the stored bytes for strings and variants.
  [[nodiscard]] uint64_t size_bytes() const {
    uint64_t size = 0;
    detail::IoScope io;  // checks that the bytes exist, which may open data shards
    io.check(ckview_tensor_size_bytes(tensor_, &size), "ckview_tensor_size_bytes");
    return size;
  }
  /// The data shard holding the bytes (meaningless for a partitioned tensor).
  [[nodiscard]] uint32_t shard() const {
    uint32_t shard = 0;
    detail::check(ckview_tensor_shard(tensor_, &shard), "ckview_tensor_shard");
    return shard;
  }
  /// The number of stored slices of a partitioned tensor (0 when stored whole).
  [[nodiscard]] std::size_t slice_count() const {
    std::size_t count = 0;
    detail::check(ckview_tensor_slice_count(tensor_, &count), "ckview_tensor_slice_count");
    return count;
  }
  /// One extent per dimension of the `index`-th slice, borrowed from the tensor.
  [[nodiscard]] Span<const SliceExtent> slice(std::size_t index) const {
    const ckview_slice_extent *extents = nullptr;
    std::size_t rank = 0;
    detail::check(ckview_tensor_slice(tensor_, index, &extents, &rank), "ckview_tensor_slice");
    return Span<const SliceExtent>(extents, rank);
  }
  [[nodiscard]] std::vector<Span<const SliceExtent>> slices() const {
    std::vector<Span<const SliceExtent>> all;
    const std::size_t count = slice_count();
    all.reserve(count);
    for (std::size_t i = 0; i < count; i++) all.push_back(slice(i));
    return all;
  }

  /// Reads a fixed-size tensor into `buffer` (at least size_bytes() bytes; exactly that many are
  /// written), row-major, host byte order, slices assembled. `verify` checks every crc32c.
  void read_into(void *buffer, std::size_t buffer_len, bool verify = true) const {
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_tensor_read(tensor_, buffer, buffer_len, detail::read_flags(verify), &error);
    io.check(status, error, "ckview_tensor_read");
  }
  /// The value's bytes, copied.
  [[nodiscard]] std::vector<std::byte> read_bytes(bool verify = true) const {
    std::vector<std::byte> bytes(detail::to_size(size_bytes(), "the tensor's size"));
    read_into(bytes.data(), bytes.size(), verify);
    return bytes;
  }
  /// The value as elements of T (e.g. read<float>() of a float32 tensor). sizeof(T) must equal the
  /// dtype's element size (ckview_dtype_size): read<double>() of a float32 tensor throws
  /// CKVIEW_UNSUPPORTED_DTYPE. Use uint8_t for bool tensors, std::array<float, 2> for complex64.
  template <class T>
  [[nodiscard]] std::vector<T> read(bool verify = true) const {
    static_assert(std::is_trivially_copyable_v<T>, "read<T> needs a trivially copyable T");
    static_assert(!std::is_same_v<T, bool>, "std::vector<bool> packs bits: read<uint8_t>() a bool tensor");
    const std::size_t width = ckview_dtype_size(dtype());
    if (width != sizeof(T))
      throw Error(CKVIEW_UNSUPPORTED_DTYPE, "read<T>: sizeof(T) = " + std::to_string(sizeof(T)) + " but a " +
                                                ckview_dtype_name(dtype()) + " element has " + std::to_string(width) +
                                                " bytes");
    const std::size_t size = detail::to_size(size_bytes(), "the tensor's size");
    std::vector<T> values(size / sizeof(T));
    read_into(values.data(), size, verify);
    return values;
  }
  /// The stored bytes without a copy, pointing into the memory-mapped shard: valid while the
  /// reader (or view) lives. Needs memory maps: only for a View or Reader opened with
  /// OpenOptions{.mmap = true} (never with a Storage); otherwise Error(CKVIEW_UNSUPPORTED). Only for
  /// unsliced fixed-size tensors needing no byte swapping; otherwise Error(CKVIEW_UNSUPPORTED)
  /// too: use read_bytes().
  [[nodiscard]] Span<const std::byte> borrow(bool verify = true) const {
    const void *data = nullptr;
    std::size_t len = 0;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_tensor_borrow(tensor_, &data, &len, detail::read_flags(verify), &error);
    io.check(status, error, "ckview_tensor_borrow");
    return Span<const std::byte>(static_cast<const std::byte *>(data), len);
  }
  /// The elements of a DT_STRING tensor, row-major (any bytes, NULs included), both checksums
  /// verified, copied out of the C list (which owns them and is freed before this returns).
  [[nodiscard]] std::vector<std::string> read_strings() const {
    ckview_string_list *raw = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_tensor_read_strings(tensor_, &raw, &error);
    io.check(status, error, "ckview_tensor_read_strings");
    const std::unique_ptr<ckview_string_list, detail::Deleter<ckview_string_list, ckview_string_list_free>> list(raw);
    std::size_t count = 0;
    detail::check(ckview_string_list_count(list.get(), &count), "ckview_string_list_count");
    std::vector<std::string> strings;
    strings.reserve(count);
    for (std::size_t i = 0; i < count; i++) {
      ckview_str element{"", 0};
      detail::check(ckview_string_list_get(list.get(), i, &element), "ckview_string_list_get");
      strings.emplace_back(element.ptr, element.len);
    }
    return strings;
  }

 protected:
  const ckview_tensor *tensor_ = nullptr;
};

/// A tensor found by key (Reader::find), owning its handle. Move-only. Converts to TensorRef.
class Tensor : public TensorRef {
 public:
  Tensor() noexcept = default;
  /// Adopts a handle from ckview_reader_find (never one borrowed from a list).
  explicit Tensor(ckview_tensor *owned) noexcept : TensorRef(owned), owned_(owned) {}
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
  Tensor(Tensor &&other) noexcept : TensorRef(std::exchange(other.tensor_, nullptr)), owned_(std::move(other.owned_)) {}
  Tensor &operator=(Tensor &&other) noexcept {
    owned_ = std::move(other.owned_);
    tensor_ = std::exchange(other.tensor_, nullptr);
    return *this;
  }
  ~Tensor() = default;

  /// Gives up ownership; the caller frees the handle with ckview_tensor_free.
  [[nodiscard]] ckview_tensor *release() noexcept {
    tensor_ = nullptr;
    return owned_.release();
  }

 private:
  std::unique_ptr<ckview_tensor, detail::Deleter<ckview_tensor, ckview_tensor_free>> owned_;
};

/// Every tensor of a bundle in key order (Reader::list), owning the list. Move-only. Iterating
/// gives TensorRefs borrowed from the list: `for (ckview::TensorRef t : reader.list())` is fine,
/// but keep the list alive while you use a TensorRef.
class TensorList {
 private:
  struct Access {
    const ckview_tensor_list *list = nullptr;
    TensorRef operator()(std::size_t index) const {
      const ckview_tensor *tensor = nullptr;
      detail::check(ckview_tensor_list_get(list, index, &tensor), "ckview_tensor_list_get");
      return TensorRef(tensor);
    }
  };

 public:
  using iterator = detail::IndexIterator<Access, TensorRef>;
  using value_type = TensorRef;

  TensorList() noexcept = default;
  explicit TensorList(ckview_tensor_list *owned) noexcept : list_(owned) {}

  [[nodiscard]] const ckview_tensor_list *get() const noexcept { return list_.get(); }
  [[nodiscard]] explicit operator bool() const noexcept { return list_ != nullptr; }
  [[nodiscard]] std::size_t size() const {
    std::size_t count = 0;
    detail::check(ckview_tensor_list_count(list_.get(), &count), "ckview_tensor_list_count");
    return count;
  }
  [[nodiscard]] bool empty() const { return size() == 0; }
  /// Checked: Error(CKVIEW_INDEX_OUT_OF_RANGE) past the end.
  [[nodiscard]] TensorRef operator[](std::size_t index) const { return Access{list_.get()}(index); }
  [[nodiscard]] iterator begin() const { return iterator(Access{list_.get()}, 0); }
  [[nodiscard]] iterator end() const { return iterator(Access{list_.get()}, size()); }

 private:
  std::unique_ptr<ckview_tensor_list, detail::Deleter<ckview_tensor_list, ckview_tensor_list_free>> list_;
};

/// The tensors of a bundle, by key, not owning the handle: the reader of a View (View::reader(),
/// valid while the View lives), or the base of an owning Reader. Copyable.
class ReaderRef {
 public:
  ReaderRef() noexcept = default;
  explicit ReaderRef(const ckview_reader *reader) noexcept : reader_(reader) {}

  [[nodiscard]] const ckview_reader *get() const noexcept { return reader_; }
  [[nodiscard]] explicit operator bool() const noexcept { return reader_ != nullptr; }

  /// The tensor stored under `key` (any bytes); Error(CKVIEW_KEY_NOT_FOUND) when there is none.
  [[nodiscard]] Tensor find(std::string_view key) const {
    ckview_tensor *tensor = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_reader_find(reader_, key.data(), key.size(), &tensor, &error);
    io.check(status, error, "ckview_reader_find");
    return Tensor(tensor);
  }
  /// Every tensor in key order, as tf.train.list_variables lists them.
  [[nodiscard]] TensorList list() const {
    ckview_tensor_list *list = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_reader_list(reader_, &list, &error);
    io.check(status, error, "ckview_reader_list");
    return TensorList(list);
  }
  /// Writes a new checkpoint at `out_prefix` without what `options` leaves out, that TensorFlow
  /// restores (ckview_rewrite): every kept tensor's bytes unchanged, checksums verified on the way,
  /// nothing left at `out_prefix` when it throws. Returns the counts and sizes before and after.
  ckview_rewrite_summary rewrite(const std::string &out_prefix, const RewriteOptions &options = {}) const {
    const auto strs = [](const std::vector<std::string> &items) {
      std::vector<ckview_str> out;
      out.reserve(items.size());
      for (const std::string &item : items) out.push_back(ckview_str{item.data(), item.size()});
      return out;
    };
    const std::vector<ckview_str> drop = strs(options.drop), select = strs(options.select);
    const ckview_rewrite_options c_options{options.drop_slots ? CKVIEW_REWRITE_DROP_SLOTS : 0u,
                                           drop.empty() ? nullptr : drop.data(), drop.size(),
                                           select.empty() ? nullptr : select.data(), select.size()};
    ckview_rewrite_summary summary{};
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_rewrite(reader_, out_prefix.c_str(), &c_options, &summary, &error);
    io.check(status, error, "ckview_rewrite");
    return summary;
  }
  /// Writes the tensors to the safetensors file `path` (ckview_export_safetensors): values
  /// verified, partitioned tensors assembled, big-endian ones swapped; nothing left at `path` when
  /// it throws (Error CKVIEW_UNSUPPORTED_DTYPE, CKVIEW_DUPLICATE_NAME, ..., or what `rename` or
  /// `progress` threw). Returns the counts.
  ckview_export_report export_safetensors(const std::string &path, const ExportOptions &options = {}) const {
    detail::ExportCall call(options);
    ckview_export_report report{};
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_export_safetensors(reader_, path.c_str(), call.get(), &report, &error);
    call.check(status, error, "ckview_export_safetensors");
    return report;
  }
  /// (name in the file, bundle key) of each tensor export_safetensors would write with `options`,
  /// in key order (ckview_export_names); nothing is written or read.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> export_names(const ExportOptions &options = {}) const {
    detail::ExportCall call(options);
    ckview_export_name_list *list = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    call.check(ckview_export_names(reader_, call.get(), &list, &error), error, "ckview_export_names");
    std::unique_ptr<ckview_export_name_list, detail::Deleter<ckview_export_name_list, ckview_export_names_free>> owned(list);
    std::vector<std::pair<std::string, std::string>> names;
    const std::size_t count = ckview_export_names_count(list);
    for (std::size_t i = 0; i < count; i++) {
      ckview_str name{}, key{};
      detail::check(ckview_export_names_get(list, i, &name, &key), nullptr, "ckview_export_names_get");
      names.emplace_back(std::string(detail::view_of(name)), std::string(detail::view_of(key)));
    }
    return names;
  }

 protected:
  const ckview_reader *reader_ = nullptr;
};

/// An open bundle (ckview_reader_open), owning its handle. Move-only. Opens TF1 name-based
/// checkpoints too, since it needs no object graph.
class Reader : public ReaderRef {
 public:
  Reader() noexcept = default;
  explicit Reader(ckview_reader *owned) noexcept : ReaderRef(owned), owned_(owned) {}
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;
  Reader(Reader &&other) noexcept : ReaderRef(std::exchange(other.reader_, nullptr)), owned_(std::move(other.owned_)) {}
  Reader &operator=(Reader &&other) noexcept {
    owned_ = std::move(other.owned_);
    reader_ = std::exchange(other.reader_, nullptr);
    return *this;
  }
  ~Reader() = default;

  /// `save_path`: a checkpoint prefix, a directory with a `checkpoint` file, `P.index` or a shard.
  [[nodiscard]] static Reader open(const char *save_path) {
    ckview_reader *reader = nullptr;
    ckview_error *error = nullptr;
    const Status status = ckview_reader_open(save_path, &reader, &error);
    detail::check(status, error, "ckview_reader_open");
    return Reader(reader);
  }
  [[nodiscard]] static Reader open(const std::string &save_path) { return open(save_path.c_str()); }
  /// open() with options: memory maps (for borrow()), or the caller's own Storage, which the
  /// Reader then keeps alive. An exception the Storage throws comes out of here (or of the later
  /// call that reads through it) unchanged.
  [[nodiscard]] static Reader open(const char *save_path, const OpenOptions &options) {
    const ckview_open_options c_options = detail::c_options(options);
    ckview_reader *reader = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_reader_open_with(save_path, &c_options, &reader, &error);
    io.check(status, error, "ckview_reader_open_with");
    Reader opened(reader);
    opened.owned_.get_deleter().storage = options.storage;
    return opened;
  }
  [[nodiscard]] static Reader open(const std::string &save_path, const OpenOptions &options) {
    return open(save_path.c_str(), options);
  }

  /// The Storage it reads through (nullptr for local files).
  [[nodiscard]] const std::shared_ptr<Storage> &storage() const noexcept { return owned_.get_deleter().storage; }

  /// Gives up ownership; the caller frees the handle with ckview_reader_free. A Reader opened with a
  /// Storage: keep storage() alive until then.
  [[nodiscard]] ckview_reader *release() noexcept {
    reader_ = nullptr;
    return owned_.release();
  }

 private:
  std::unique_ptr<ckview_reader, detail::StorageDeleter<ckview_reader, ckview_reader_free>> owned_;
};

// ---------------------------------------------------------------------------------------------
// Comparing a checkpoint with a live object graph

/// Receives the children of one live object during a match or diff; valid only during the call
/// of the callable it is passed to.
class ChildSink {
 public:
  /// Wraps the sink a ckview_children_callback receives.
  explicit ChildSink(ckview_child_sink *sink) noexcept : sink_(sink) {}
  ChildSink(const ChildSink &) = delete;
  ChildSink &operator=(const ChildSink &) = delete;

  /// Adds the child `child` under `name` (UTF-8, copied). Call it in the object's own order. A
  /// name given twice keeps its first place and its last child.
  void add(std::string_view name, uint64_t child) {
    detail::check(ckview_child_sink_add(sink_, name.data(), name.size(), child), "ckview_child_sink_add");
  }
  [[nodiscard]] ckview_child_sink *get() const noexcept { return sink_; }

 private:
  ckview_child_sink *sink_;
};

/// The result of a match or diff, owning its handle. Move-only. Its Spans are borrowed from it.
class Comparison {
 public:
  Comparison() noexcept = default;
  explicit Comparison(ckview_comparison *owned) noexcept : comparison_(owned) {}

  [[nodiscard]] const ckview_comparison *get() const noexcept { return comparison_.get(); }
  [[nodiscard]] explicit operator bool() const noexcept { return comparison_ != nullptr; }

  /// (node id, live object) pairs in the order of TensorFlow's match dict; starts with (0, root).
  [[nodiscard]] Span<const MatchedPair> matched() const {
    const ckview_matched_pair *pairs = nullptr;
    std::size_t count = 0;
    detail::check(ckview_comparison_matched(comparison_.get(), &pairs, &count), "ckview_comparison_matched");
    return Span<const MatchedPair>(pairs, count);
  }
  /// Checkpoint nodes no live object matched, in descendants() order (diff only).
  [[nodiscard]] Span<const uint32_t> only_in_checkpoint() const {
    const uint32_t *ids = nullptr;
    std::size_t count = 0;
    detail::check(ckview_comparison_only_in_checkpoint(comparison_.get(), &ids, &count),
                  "ckview_comparison_only_in_checkpoint");
    return Span<const uint32_t>(ids, count);
  }
  /// Live objects no checkpoint node matched, breadth first from the root, each once (diff only).
  [[nodiscard]] Span<const uint64_t> only_in_live() const {
    const uint64_t *objects = nullptr;
    std::size_t count = 0;
    detail::check(ckview_comparison_only_in_live(comparison_.get(), &objects, &count),
                  "ckview_comparison_only_in_live");
    return Span<const uint64_t>(objects, count);
  }
  /// Checkpoint nodes reached as two different live objects (TensorFlow only logs these).
  [[nodiscard]] Span<const Conflict> conflicts() const {
    const ckview_conflict *conflicts = nullptr;
    std::size_t count = 0;
    detail::check(ckview_comparison_conflicts(comparison_.get(), &conflicts, &count), "ckview_comparison_conflicts");
    return Span<const Conflict>(conflicts, count);
  }

  /// Gives up ownership; the caller frees the handle with ckview_comparison_free.
  [[nodiscard]] ckview_comparison *release() noexcept { return comparison_.release(); }

 private:
  std::unique_ptr<ckview_comparison, detail::Deleter<ckview_comparison, ckview_comparison_free>> comparison_;
};

namespace detail {

template <class Fn>
struct CallbackState {
  Fn *children;
  std::exception_ptr exception;
};

/// The C callback behind View::match/diff: calls the C++ callable, and catches whatever it
/// throws so that nothing unwinds through the library's frames; match/diff rethrow it.
template <class Fn>
int32_t children_trampoline(void *userdata, uint64_t object, ckview_child_sink *sink) noexcept {
  auto *state = static_cast<CallbackState<Fn> *>(userdata);
  try {
    ChildSink wrapped(sink);
    std::invoke(*state->children, object, wrapped);
    return 0;
  } catch (...) {
    state->exception = std::current_exception();
    return 1;
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The view

/// The children of one checkpoint node, in the order of TensorFlow's `children(node)` dict: a
/// lightweight range of Child over the array ckview_children lends, borrowed from the View (its
/// names too). Copying it copies a pointer and a count.
class Children {
 private:
  struct Access {
    const ckview_child *children = nullptr;
    Child operator()(std::size_t index) const noexcept {
      const ckview_child &child = children[index];
      return Child{detail::view_of(child.name), child.node_id};
    }
  };

 public:
  using iterator = detail::IndexIterator<Access, Child>;
  using value_type = Child;

  Children() noexcept = default;

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// Checked: Error(CKVIEW_INDEX_OUT_OF_RANGE) past the end.
  [[nodiscard]] Child operator[](std::size_t index) const {
    if (index >= count_)
      throw Error(CKVIEW_INDEX_OUT_OF_RANGE, "ckview::Children: index " + std::to_string(index) +
                                                 " is not below the child count " + std::to_string(count_));
    return access_(index);
  }
  /// Unchecked iteration, like a container's; iterators stay valid while the View lives.
  [[nodiscard]] iterator begin() const noexcept { return iterator(access_, 0); }
  [[nodiscard]] iterator end() const noexcept { return iterator(access_, count_); }

 private:
  friend class View;
  // For count 0 the C pointer must not be read, so it is not kept.
  Children(const ckview_child *children, std::size_t count) noexcept
      : access_{count == 0 ? nullptr : children}, count_(count) {}

  Access access_;
  std::size_t count_ = 0;
};

/// An open checkpoint and its object graph (ckview_open), owning its handle. Move-only.
/// Everything it returns by string_view or Span is borrowed from it.
class View {
 public:
  View() noexcept = default;
  explicit View(ckview_view *owned) noexcept : view_(owned) {}

  /// Opens the checkpoint `save_path` leads to: a prefix (`dir/ckpt-1`), a directory whose
  /// `checkpoint` file names the latest checkpoint, `P.index`, or a data shard. A TF1 name-based
  /// checkpoint throws Error(CKVIEW_NAME_BASED_CHECKPOINT); open it with Reader instead.
  [[nodiscard]] static View open(const char *save_path) {
    ckview_view *view = nullptr;
    ckview_error *error = nullptr;
    const Status status = ckview_open(save_path, &view, &error);
    detail::check(status, error, "ckview_open");
    return View(view);
  }
  [[nodiscard]] static View open(const std::string &save_path) { return open(save_path.c_str()); }
  /// open() with options: memory maps (for TensorRef::borrow()), or the caller's own Storage,
  /// which the View then keeps alive. An exception the Storage throws comes out of here (or of
  /// the later call that reads through it) unchanged.
  [[nodiscard]] static View open(const char *save_path, const OpenOptions &options) {
    const ckview_open_options c_options = detail::c_options(options);
    ckview_view *view = nullptr;
    ckview_error *error = nullptr;
    detail::IoScope io;
    const Status status = ckview_open_with(save_path, &c_options, &view, &error);
    io.check(status, error, "ckview_open_with");
    View opened(view);
    opened.view_.get_deleter().storage = options.storage;
    return opened;
  }
  [[nodiscard]] static View open(const std::string &save_path, const OpenOptions &options) {
    return open(save_path.c_str(), options);
  }

  [[nodiscard]] const ckview_view *get() const noexcept { return view_.get(); }
  [[nodiscard]] explicit operator bool() const noexcept { return view_ != nullptr; }
  /// The Storage it reads through (nullptr for local files).
  [[nodiscard]] const std::shared_ptr<Storage> &storage() const noexcept { return view_.get_deleter().storage; }
  /// Gives up ownership; the caller frees the handle with ckview_close. A View opened with a
  /// Storage: keep storage() alive until then.
  [[nodiscard]] ckview_view *release() noexcept { return view_.release(); }

  /// The number of nodes; ids run from 0 (the root) to node_count() - 1.
  [[nodiscard]] std::size_t node_count() const {
    std::size_t count = 0;
    detail::check(ckview_node_count(get(), &count), "ckview_node_count");
    return count;
  }

  /// `CheckpointView.children(node)`: `for (auto [name, id] : view.children(0))`. One C call;
  /// the range is borrowed from the View.
  [[nodiscard]] Children children(uint32_t node) const {
    const ckview_child *children = nullptr;
    std::size_t count = 0;
    detail::check(ckview_children(get(), node, &children, &count), "ckview_children");
    return Children(children, count);
  }

  /// `CheckpointView.descendants()`: node 0 and every node reachable from it, breadth first.
  [[nodiscard]] Span<const uint32_t> descendants() const {
    const uint32_t *ids = nullptr;
    std::size_t count = 0;
    detail::check(ckview_descendants(get(), &ids, &count), "ckview_descendants");
    return Span<const uint32_t>(ids, count);
  }

  /// The dotted path TensorFlow gives `node` (`root.leaf.a_var`); Error(CKVIEW_NODE_UNREACHABLE)
  /// for a node the root does not reach.
  [[nodiscard]] std::string path(uint32_t node) const {
    std::size_t length = 0;
    Status status = ckview_path(get(), node, nullptr, 0, &length);
    if (status != CKVIEW_BUFFER_TOO_SMALL) detail::check(status, "ckview_path");
    std::string text(length + 1, '\0');
    detail::check(ckview_path(get(), node, text.data(), text.size(), &length), "ckview_path");
    text.resize(length);
    return text;
  }

  /// (node id, path) for every node of descendants(), in that order.
  [[nodiscard]] std::vector<std::pair<uint32_t, std::string>> paths() const {
    std::vector<std::pair<uint32_t, std::string>> all;
    const Span<const uint32_t> ids = descendants();
    all.reserve(ids.size());
    for (uint32_t id : ids) all.emplace_back(id, path(id));
    return all;
  }

  /// The node's serialized tensors, in stored order (string_views borrowed from the View).
  [[nodiscard]] std::vector<Attribute> attributes(uint32_t node) const {
    const ckview_attribute *items = nullptr;
    std::size_t count = 0;
    detail::check(ckview_attributes(get(), node, &items, &count), "ckview_attributes");
    std::vector<Attribute> all;
    all.reserve(count);
    for (const ckview_attribute &a : detail::borrowed(items, count))
      all.push_back(
          Attribute{detail::view_of(a.name), detail::view_of(a.full_name), detail::view_of(a.checkpoint_key)});
    return all;
  }

  /// The optimizer slot variables recorded on `node` (an optimizer node).
  [[nodiscard]] std::vector<SlotVariable> slot_variables(uint32_t node) const {
    const ckview_slot_variable *items = nullptr;
    std::size_t count = 0;
    detail::check(ckview_slot_variables(get(), node, &items, &count), "ckview_slot_variables");
    std::vector<SlotVariable> all;
    all.reserve(count);
    for (const ckview_slot_variable &s : detail::borrowed(items, count))
      all.push_back(SlotVariable{s.original_variable_node_id, detail::view_of(s.slot_name), s.slot_variable_node_id});
    return all;
  }

  /// The optimizer slots of the variable `node` (legacy Keras optimizers).
  [[nodiscard]] std::vector<VariableSlot> variable_slots(uint32_t node) const {
    const ckview_variable_slot *items = nullptr;
    std::size_t count = 0;
    detail::check(ckview_variable_slots(get(), node, &items, &count), "ckview_variable_slots");
    std::vector<VariableSlot> all;
    all.reserve(count);
    for (const ckview_variable_slot &s : detail::borrowed(items, count))
      all.push_back(VariableSlot{detail::view_of(s.slot_name), s.optimizer_node_id, s.slot_node_id});
    return all;
  }

  /// The saver registered for `node`, if any.
  [[nodiscard]] std::optional<RegisteredSaver> registered_saver(uint32_t node) const {
    bool present = false;
    ckview_registered_saver saver{{"", 0}, {"", 0}};
    detail::check(ckview_saver(get(), node, &present, &saver), "ckview_saver");
    if (!present) return std::nullopt;
    return RegisteredSaver{detail::view_of(saver.name), detail::view_of(saver.object_name)};
  }

  /// The node's `has_checkpoint_values` flag; nullopt when the writer left it unset.
  [[nodiscard]] std::optional<bool> has_checkpoint_values(uint32_t node) const {
    ckview_optional_bool value = CKVIEW_UNSET;
    detail::check(ckview_has_checkpoint_values(get(), node, &value), "ckview_has_checkpoint_values");
    if (value == CKVIEW_UNSET) return std::nullopt;
    return value == CKVIEW_TRUE;
  }

  /// The reader of the view's bundle, borrowed: valid while this View lives.
  [[nodiscard]] ReaderRef reader() const {
    const ckview_reader *reader = nullptr;
    detail::check(ckview_reader_of_view(get(), &reader), "ckview_reader_of_view");
    return ReaderRef(reader);
  }

  /// `CheckpointView.match(root)`. Live objects are uint64_t handles of your choosing (equal
  /// handles = the same object). `children(object, sink)` is any callable that lists the named
  /// children of `object` with `sink.add(name, child)`, in the object's own order. It is called
  /// at most once per object; whatever it throws is rethrown from here, unchanged.
  template <class F>
  [[nodiscard]] Comparison match(uint64_t root, F &&children) const {
    return compare_live(root, children, &ckview_match, "ckview_match");
  }

  /// `CheckpointView.diff(root)`: the match, plus the checkpoint nodes and live objects that
  /// have no counterpart (Comparison::only_in_checkpoint, only_in_live).
  template <class F>
  [[nodiscard]] Comparison diff(uint64_t root, F &&children) const {
    return compare_live(root, children, &ckview_diff, "ckview_diff");
  }

  /// match() on a live graph given as edges; an object's children are its edges in order.
  [[nodiscard]] Comparison match_edges(uint64_t root, const std::vector<Edge> &edges) const {
    return compare_edges(root, edges, &ckview_match_edges, "ckview_match_edges");
  }
  /// diff() on a live graph given as edges.
  [[nodiscard]] Comparison diff_edges(uint64_t root, const std::vector<Edge> &edges) const {
    return compare_edges(root, edges, &ckview_diff_edges, "ckview_diff_edges");
  }

  /// Diffs this checkpoint's structure against `other`'s, whose node ids play the live objects:
  /// only_in_checkpoint() = nodes only here, only_in_live() = node ids only in `other`.
  [[nodiscard]] Comparison diff(const View &other) const {
    ckview_comparison *comparison = nullptr;
    ckview_error *error = nullptr;
    const Status status = ckview_diff_view(get(), other.get(), &comparison, &error);
    detail::check(status, error, "ckview_diff_view");
    return Comparison(comparison);
  }

 private:
  using LiveFunction = ckview_status (*)(const ckview_view *, uint64_t, ckview_children_callback, void *,
                                         ckview_comparison **, ckview_error **);
  using EdgeFunction = ckview_status (*)(const ckview_view *, uint64_t, const ckview_edge *, std::size_t,
                                         ckview_comparison **, ckview_error **);

  template <class Fn>
  Comparison compare_live(uint64_t root, Fn &children, LiveFunction function, const char *name) const {
    static_assert(std::is_invocable_v<Fn &, uint64_t, ChildSink &>,
                  "the children callable must accept (uint64_t object, ckview::ChildSink &sink)");
    detail::CallbackState<Fn> state{std::addressof(children), nullptr};
    ckview_comparison *raw = nullptr;
    ckview_error *error = nullptr;
    const Status status = function(get(), root, &detail::children_trampoline<Fn>, &state, &raw, &error);
    Comparison comparison(raw);
    detail::ErrorPtr owned_error(error);
    if (state.exception) std::rethrow_exception(state.exception);
    detail::check(status, owned_error.release(), name);
    return comparison;
  }

  Comparison compare_edges(uint64_t root, const std::vector<Edge> &edges, EdgeFunction function,
                           const char *name) const {
    std::vector<ckview_edge> c_edges;
    c_edges.reserve(edges.size());
    for (const Edge &edge : edges)
      c_edges.push_back(ckview_edge{edge.parent, ckview_str{edge.name.data(), edge.name.size()}, edge.child});
    ckview_comparison *comparison = nullptr;
    ckview_error *error = nullptr;
    const Status status = function(get(), root, c_edges.data(), c_edges.size(), &comparison, &error);
    detail::check(status, error, name);
    return Comparison(comparison);
  }

  std::unique_ptr<ckview_view, detail::StorageDeleter<ckview_view, ckview_close>> view_;
};

}  // namespace ckview

#endif  // CKVIEW_HPP
