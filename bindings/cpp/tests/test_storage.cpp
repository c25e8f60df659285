// ckview::OpenOptions and ckview::Storage: a View or Reader keeps its Storage alive and destroys
// every File before it; an exception a File or Storage throws reaches the caller of the C++ call
// that was reading, the very object, whichever read fails (every N of a full walk), on the thread
// that made the call; files that do not exist are routine while ckview probes path forms; every
// File opened is destroyed. Run under ASan and valgrind by tests/cpp_binding.rs.
// Usage: test_storage FIXTURES_DIR. Prints "N passed, M failed".
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ckview.hpp"
#include "storages.hpp"

static int passed, failed;

#define CHECK(condition)                                                                  \
  do {                                                                                    \
    if (condition) {                                                                      \
      passed++;                                                                           \
    } else {                                                                              \
      failed++;                                                                           \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #condition "\n"; \
    }                                                                                     \
  } while (0)

static std::string fixtures;
static std::string fixture(const char *relative) { return fixtures + "/" + relative; }

// A tensor of fixed-size dtype (read_bytes() works).
static ckview::Tensor numeric_tensor(const ckview::ReaderRef &reader) {
  for (ckview::TensorRef tensor : reader.list())
    if (tensor.dtype_name() != "string") return reader.find(tensor.key());
  throw std::logic_error("no numeric tensor");
}

static bool ends_with(std::string_view text, std::string_view tail) {
  return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
}

// The exception a failing File throws: knows whether it was copied, and on which thread it was
// thrown, so that a test can tell it came back as itself, to the right caller.
struct ReadFailure {
  static inline std::atomic<int> copies{0};
  const ReadFailure *self;
  long read;
  std::thread::id thread;
  explicit ReadFailure(long read_) : self(this), read(read_), thread(std::this_thread::get_id()) {}
  ReadFailure(const ReadFailure &other) : self(this), read(other.read), thread(other.thread) { copies++; }
  ReadFailure &operator=(const ReadFailure &) = delete;
};

// Local files (through PreadStorage) whose reads fail once `reads_left` reads have succeeded.
// Counts its own Files too.
class FailingStorage : public ckview::Storage {
 public:
  test::PreadStorage inner;
  test::FileCounts counts;
  std::atomic<long> reads{0};
  std::atomic<long> reads_left{-1};  // -1: never fail
  bool *destroyed = nullptr;

  ~FailingStorage() override {
    if (destroyed) *destroyed = true;
    CHECK(counts.balanced() && inner.counts.balanced());  // every File destroyed before its Storage
  }

  std::unique_ptr<ckview::File> open(std::string_view path) override {
    std::unique_ptr<ckview::File> file = inner.open(path);
    if (!file) return nullptr;
    return std::make_unique<Failing>(std::move(file), *this);
  }

 private:
  class Failing : public ckview::File {
   public:
    Failing(std::unique_ptr<ckview::File> file, FailingStorage &storage) : file_(std::move(file)), storage_(storage) {
      storage_.counts.opened++;
    }
    Failing(const Failing &) = delete;
    Failing &operator=(const Failing &) = delete;
    ~Failing() override { storage_.counts.closed++; }
    uint64_t size() override { return file_->size(); }
    void read_at(uint64_t offset, void *buffer, std::size_t length) override {
      const long read = storage_.reads++;
      long left = storage_.reads_left.load();
      while (left > 0 && !storage_.reads_left.compare_exchange_weak(left, left - 1)) {
      }
      if (left == 0) throw ReadFailure(read);
      file_->read_at(offset, buffer, length);
    }

   private:
    std::unique_ptr<ckview::File> file_;
    FailingStorage &storage_;
  };
};

static ckview::OpenOptions through(std::shared_ptr<ckview::Storage> storage) {
  ckview::OpenOptions options;
  options.storage = std::move(storage);
  return options;
}

// Everything a program reads: the graph, then every tensor's value. Returns what it read, in a
// form that compares (the value bytes).
static std::vector<std::string> walk(const ckview::View &view) {
  std::vector<std::string> values;
  values.push_back(std::to_string(view.node_count()) + " nodes, " + view.paths().back().second);
  for (ckview::TensorRef tensor : view.reader().list()) {
    if (tensor.dtype_name() == "string") {
      std::string joined;
      for (const std::string &element : tensor.read_strings()) joined += element + "|";
      values.push_back(joined);
    } else {
      const std::vector<std::byte> bytes = tensor.read_bytes();
      values.emplace_back(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    }
    (void)tensor.size_bytes();
  }
  const ckview::TensorList list = view.reader().list();
  const ckview::Tensor found = view.reader().find(list[list.size() - 1].key());
  values.push_back(std::to_string(found.size_bytes()));
  return values;
}

// ---------------------------------------------------------------------------------------------

static void test_reads_like_local_files() {
  for (const char *name : {"doc_children/tf_ckpts-1", "dtype_zoo/zoo", "sharded/sharded", "keras_adam/model"}) {
    const std::vector<std::string> expected = walk(ckview::View::open(fixture(name)));
    const auto pread = std::make_shared<test::PreadStorage>();
    const auto memory = test::MemoryStorage::of_checkpoint(fixture(name));
    {
      const ckview::View through_pread = ckview::View::open(fixture(name), through(pread));
      const ckview::View through_memory = ckview::View::open(fixture(name), through(memory));
      CHECK(walk(through_pread) == expected);
      CHECK(walk(through_memory) == expected);
      CHECK(through_pread.storage() == pread && through_memory.storage() == memory);
      // Files a storage gives cannot be mapped: borrow() is refused, reads work.
      const ckview::Tensor tensor = numeric_tensor(through_memory.reader());
      try {
        (void)tensor.borrow();
        CHECK(false);
      } catch (const ckview::Error &error) {
        CHECK(error.status() == CKVIEW_UNSUPPORTED);
      }
      const ckview::Reader reader = ckview::Reader::open(fixture(name), through(memory));
      CHECK(reader.storage() == memory && reader.list().size() == through_memory.reader().list().size());
    }
    CHECK(pread->counts.opened > 0 && pread->counts.balanced());
    CHECK(memory->counts.opened > 0 && memory->counts.balanced());
  }
  // A directory with a `checkpoint` file, through a storage that has no directories: ckview
  // probes `DIR/checkpoint` (and a pread of the directory itself is refused as no file).
  const auto pread = std::make_shared<test::PreadStorage>();
  CHECK(ckview::View::open(fixture("manager"), through(pread)).node_count() ==
        ckview::View::open(fixture("manager")).node_count());
  const auto memory = test::MemoryStorage::of_checkpoint(fixture("manager"));
  CHECK(ckview::View::open(fixture("manager"), through(memory)).node_count() ==
        ckview::View::open(fixture("manager")).node_count());
  CHECK(pread->counts.balanced() && memory->counts.balanced());
}

static void test_open_errors() {
  const auto memory = test::MemoryStorage::of_checkpoint(fixture("doc_children/tf_ckpts-1"));
  // Nothing there: the library's NOT_FOUND, as for local files.
  try {
    (void)ckview::View::open(fixture("doc_children/missing-1"), through(memory));
    CHECK(false);
  } catch (const ckview::Error &error) {
    CHECK(error.status() == CKVIEW_NOT_FOUND);
  }
  // A Storage that throws for missing files instead of returning nullptr: probes that fail are
  // routine, so the checkpoint still opens; for a missing one the storage's own exception comes
  // out (the first open that threw), as it might be a real failure rather than an absence.
  struct Throwing : ckview::Storage {
    test::MemoryStorage files;
    std::unique_ptr<ckview::File> open(std::string_view path) override {
      std::unique_ptr<ckview::File> file = files.open(path);
      if (!file) throw std::system_error(ENOENT, std::generic_category(), std::string(path));
      return file;
    }
  };
  const auto throwing = std::make_shared<Throwing>();
  throwing->files.add_folder(fixture("manager"));
  CHECK(ckview::View::open(fixture("manager"), through(throwing)).node_count() > 0);
  CHECK(ckview::Reader::open(fixture("manager/ckpt-3"), through(throwing)).list().size() > 0);
  try {
    (void)ckview::View::open(fixture("manager/ckpt-99"), through(throwing));
    CHECK(false);
  } catch (const std::system_error &error) {
    CHECK(error.code().value() == ENOENT && std::string(error.what()).find("ckpt-99") != std::string::npos);
  } catch (...) {
    CHECK(false);
  }
  CHECK(throwing->files.counts.balanced());
  // Memory maps are for local files only.
  ckview::OpenOptions both = through(memory);
  both.mmap = true;
  try {
    (void)ckview::Reader::open(fixture("doc_children/tf_ckpts-1"), both);
    CHECK(false);
  } catch (const ckview::Error &error) {
    CHECK(error.status() == CKVIEW_INVALID_ARGUMENT);
  }
  // A data shard the storage lacks (open returns nullptr): an I/O error with ENOENT, at the
  // call that needs it.
  const auto index_only = std::make_shared<test::MemoryStorage>();
  const std::string prefix = fixture("tf1_name_based/model.ckpt");
  {
    std::ifstream in(prefix + ".index", std::ios::binary);
    index_only->add(prefix + ".index", std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  try {
    const ckview::Reader reader = ckview::Reader::open(prefix, through(index_only));
    const ckview::Tensor tensor = numeric_tensor(reader);
    std::vector<std::byte> buffer(1 << 16);
    tensor.read_into(buffer.data(), buffer.size());  // (size_bytes() has no error to carry the code)
    CHECK(false);
  } catch (const ckview::Error &error) {
    CHECK(error.status() == CKVIEW_IO_ERROR && error.callback_code() == ENOENT);
    if (error.callback_code() != ENOENT) std::cerr << error.status_name() << ": " << error.what() << "\n";
  }
  CHECK(index_only->counts.balanced());
  // A Storage::open that throws for the data shard: that exception itself.
  struct NoData : ckview::Storage {
    test::PreadStorage files;
    std::unique_ptr<ckview::File> open(std::string_view path) override {
      if (path.find(".data-") != std::string_view::npos) throw std::length_error("no data today");
      return files.open(path);
    }
  };
  const auto no_data = std::make_shared<NoData>();
  try {
    (void)ckview::View::open(fixture("doc_children/tf_ckpts-1"), through(no_data));
    CHECK(false);
  } catch (const std::length_error &error) {
    CHECK(std::string(error.what()) == "no data today");
  } catch (...) {
    CHECK(false);
  }
  // A File whose size() throws.
  struct BadSize : ckview::Storage {
    struct File : ckview::File {
      uint64_t size() override { throw std::overflow_error("size"); }
      void read_at(uint64_t, void *, std::size_t) override { throw std::logic_error("never read"); }
    };
    std::unique_ptr<ckview::File> open(std::string_view path) override {
      if (!ends_with(path, ".index")) return nullptr;
      return std::make_unique<File>();
    }
  };
  try {
    (void)ckview::Reader::open(fixture("doc_children/tf_ckpts-1"), through(std::make_shared<BadSize>()));
    CHECK(false);
  } catch (const std::overflow_error &error) {
    CHECK(std::string(error.what()) == "size");
  } catch (...) {
    CHECK(false);
  }
  CHECK(no_data->files.counts.balanced());
}

// The N-th read fails, for every N of a full walk: the first call that fails throws the very
// ReadFailure, every later call either works (bytes it had read already) or throws a ReadFailure
// too, and every File is destroyed before the Storage.
static void test_failing_reads() {
  for (const char *name : {"doc_children/tf_ckpts-1", "dtype_zoo/zoo"}) {
    long total = 0;
    std::vector<std::string> expected;
    {
      const auto storage = std::make_shared<FailingStorage>();
      expected = walk(ckview::View::open(fixture(name), through(storage)));
      total = storage->reads;
    }
    CHECK(total > 3);
    long failures_seen = 0;
    for (long n = 0; n <= total; n++) {
      bool destroyed = false;
      auto storage = std::make_shared<FailingStorage>();
      storage->destroyed = &destroyed;
      storage->reads_left = n;
      ReadFailure::copies = 0;
      bool threw = false;
      try {
        const ckview::View view = ckview::View::open(fixture(name), through(storage));
        storage.reset();  // the View keeps it alive
        CHECK(!destroyed);
        const std::vector<std::string> values = walk(view);
        CHECK(values == expected);
      } catch (const ReadFailure &failure) {
        threw = true;
        CHECK(failure.self == &failure && ReadFailure::copies == 0);  // the object thrown, not a copy
        CHECK(failure.read == n);                                     // the first failing read's
        CHECK(failure.thread == std::this_thread::get_id());
      } catch (const std::exception &other) {
        CHECK(false);
        std::cerr << name << " N=" << n << ": " << other.what() << "\n";
      } catch (...) {
        CHECK(false);
      }
      CHECK(threw == (n < total));
      if (threw) failures_seen++;
      CHECK(destroyed || storage);  // destroyed with the View (or still ours, if open threw)
      storage.reset();
      CHECK(destroyed);
    }
    CHECK(failures_seen == total);
  }
  // After a failure the view stays usable: reads that fail keep throwing ReadFailure, and once
  // the storage works again, so does everything.
  const auto storage = std::make_shared<FailingStorage>();
  const ckview::View view = ckview::View::open(fixture("dtype_zoo/zoo"), through(storage));
  const ckview::Tensor tensor = view.reader().find("float32/.ATTRIBUTES/VARIABLE_VALUE");
  storage->reads_left = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    try {
      (void)tensor.read<float>();
      CHECK(false);
    } catch (const ReadFailure &) {
      CHECK(true);
    }
  }
  storage->reads_left = -1;
  CHECK(tensor.read<float>().size() == 6);
}

// The View keeps its Storage alive, through moves, and destroys every File before it.
static void test_lifetime() {
  bool first_destroyed = false, second_destroyed = false;
  auto first = std::make_shared<FailingStorage>();
  auto second = std::make_shared<FailingStorage>();
  first->destroyed = &first_destroyed;
  second->destroyed = &second_destroyed;
  ckview::View a = ckview::View::open(fixture("doc_children/tf_ckpts-1"), through(first));
  ckview::Reader r = ckview::Reader::open(fixture("dtype_zoo/zoo"), through(second));
  const std::weak_ptr<FailingStorage> weak_first = first;
  first.reset();
  second.reset();
  CHECK(!first_destroyed && !second_destroyed && a.storage() != nullptr);
  ckview::View b = std::move(a);
  CHECK(!a && !a.storage() && b.storage() == weak_first.lock());
  CHECK(b.reader().list().size() > 0 && r.list().size() > 0);
  ckview::Reader r2 = std::move(r);
  CHECK(r2.find("float32/.ATTRIBUTES/VARIABLE_VALUE").read<float>().size() == 6);
  // Assigning over a View frees its handle (closing its Files) before its Storage.
  b = ckview::View::open(fixture("doc_diff/tf_ckpts-1"));
  CHECK(first_destroyed && !b.storage() && b.node_count() == 15);
  r2 = ckview::Reader();
  CHECK(second_destroyed);
  // release(): the caller keeps the Storage.
  const auto kept = std::make_shared<test::MemoryStorage>();
  kept->add_folder(fixtures + "/doc_children");
  ckview::View released = ckview::View::open(fixture("doc_children/tf_ckpts-1"), through(kept));
  ckview_view *raw = released.release();
  CHECK(raw != nullptr && !released);
  ckview_close(raw);
  CHECK(kept->counts.opened > 0 && kept->counts.balanced());
}

// Threads reading through one Storage: every thread gets its own exception, thrown on it.
static void test_threads() {
  const auto memory = test::MemoryStorage::of_checkpoint(fixture("dtype_zoo/zoo"));
  const auto failing = std::make_shared<FailingStorage>();
  {
    const ckview::View view = ckview::View::open(fixture("dtype_zoo/zoo"), through(memory));
    const std::vector<std::string> expected = walk(view);
    const ckview::Reader broken = ckview::Reader::open(fixture("dtype_zoo/zoo"), through(failing));
    std::vector<ckview::Tensor> tensors;
    for (ckview::TensorRef tensor : broken.list())
      if (tensor.dtype_name() != "string") tensors.push_back(broken.find(tensor.key()));
    failing->reads_left = 0;  // from now on every read of `broken` fails
    std::atomic<int> good{0}, bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&] {
        for (int round = 0; round < 10; round++) {
          try {
            (walk(view) == expected ? good : bad)++;
          } catch (...) {
            bad++;
          }
          // Every read of this reader fails (reads_left 0); each thread sees its own failure.
          try {
            const ckview::Tensor &tensor = tensors[static_cast<std::size_t>(round) % tensors.size()];
            if (tensor.size_bytes() == 0) {
              good++;  // nothing to read
              continue;
            }
            (void)tensor.read_bytes();
            std::cerr << "read " << tensor.key() << " through a failing storage\n";
            bad++;
          } catch (const ReadFailure &failure) {
            (failure.thread == std::this_thread::get_id() && failure.self == &failure ? good : bad)++;
          } catch (const std::exception &error) {
            std::cerr << "thread: " << error.what() << "\n";
            bad++;
          }
        }
      });
    }
    for (std::thread &thread : threads) thread.join();
    CHECK(good == 80 && bad == 0);
  }
  CHECK(memory->counts.balanced() && failing->counts.balanced());
}

// A read through a Storage inside a match callable: its exception crosses both callbacks.
static void test_nested_in_match() {
  const auto failing = std::make_shared<FailingStorage>();
  const ckview::View view = ckview::View::open(fixture("doc_children/tf_ckpts-1"), through(failing));
  const ckview::Tensor tensor = view.reader().find("a_var/.ATTRIBUTES/VARIABLE_VALUE");
  failing->reads_left = 0;
  ReadFailure::copies = 0;
  try {
    (void)view.match(0, [&](uint64_t, ckview::ChildSink &) { (void)tensor.read_bytes(); });
    CHECK(false);
  } catch (const ReadFailure &failure) {
    CHECK(failure.self == &failure && ReadFailure::copies == 0);
  }
  failing->reads_left = -1;
  CHECK(view.match(0, [&](uint64_t object, ckview::ChildSink &sink) {
              if (object == 0 && tensor.read<float>().size() == 1) sink.add("a_var", 1);
            }).matched().size() == 2);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  fixtures = argv[1];
  try {
    test_reads_like_local_files();
    test_open_errors();
    test_failing_reads();
    test_lifetime();
    test_threads();
    test_nested_in_match();
  } catch (const std::exception &error) {
    failed++;
    std::cerr << "uncaught: " << error.what() << "\n";
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed != 0;
}
