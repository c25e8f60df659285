// The C++ binding's own contract: errors become ckview::Error with the library's status and
// message; exceptions thrown by a match/diff callable come back out unchanged (the very object);
// moved-from objects are empty and safe; borrowed data outlives moves; threads share a View.
// Usage: test_binding FIXTURES_DIR. Prints "N passed, M failed".
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "ckview.hpp"

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

// Runs `call`, which must throw ckview::Error with `status` (and a message containing `needle`).
template <class Call>
static void check_throws(int line, ckview::Status status, const char *needle, Call call) {
  try {
    call();
    failed++;
    std::cerr << "line " << line << ": expected " << ckview::status_name(status) << ", nothing thrown\n";
  } catch (const ckview::Error &error) {
    const bool ok = error.status() == status && std::string(error.what()).find(needle) != std::string::npos &&
                    error.status_name() == ckview::status_name(status);
    ok ? passed++ : failed++;
    if (!ok) std::cerr << "line " << line << ": expected " << ckview::status_name(status) << " mentioning '" << needle
                       << "', got " << error.status_name() << ": " << error.what() << "\n";
  }
}
#define CHECK_THROWS(status, needle, ...) check_throws(__LINE__, status, needle, [&] { __VA_ARGS__; })

static std::string fixtures;
static std::string fixture(const char *relative) { return fixtures + "/" + relative; }

// The objects of the ckview API: move-only, and no silent copies.
static_assert(!std::is_copy_constructible_v<ckview::View> && std::is_nothrow_move_constructible_v<ckview::View>);
static_assert(!std::is_copy_constructible_v<ckview::Reader> && std::is_nothrow_move_assignable_v<ckview::Reader>);
static_assert(!std::is_copy_constructible_v<ckview::Tensor> && std::is_nothrow_move_assignable_v<ckview::Tensor>);
static_assert(!std::is_copy_constructible_v<ckview::TensorList> && std::is_nothrow_move_constructible_v<ckview::TensorList>);
static_assert(!std::is_copy_constructible_v<ckview::Comparison> && std::is_nothrow_move_assignable_v<ckview::Comparison>);
static_assert(!std::is_copy_constructible_v<ckview::ChildSink>);
static_assert(std::is_copy_constructible_v<ckview::ReaderRef> && std::is_copy_constructible_v<ckview::TensorRef>);
static_assert(std::is_base_of_v<std::runtime_error, ckview::Error>);

// ---------------------------------------------------------------------------------------------

static void test_version() {
  const std::string_view version = ckview::version();
  CHECK(std::count(version.begin(), version.end(), '.') == 2);
  CHECK(!version.empty() && std::isdigit(static_cast<unsigned char>(version.front())));
  CHECK(ckview::library_matches_header());
  CHECK(ckview::status_name(CKVIEW_OK) == "CKVIEW_OK");
  CHECK(ckview::status_name(-7) == "unknown status");
  CHECK(ckview::dtype_name(1) == "float32");
}

static void test_open_errors() {
  CHECK_THROWS(CKVIEW_NOT_FOUND, "missing-1.index", (void)ckview::View::open(fixture("doc_children/missing-1")));
  CHECK_THROWS(CKVIEW_NOT_FOUND, "missing-1.index", (void)ckview::Reader::open(fixture("doc_children/missing-1")));
  CHECK_THROWS(CKVIEW_NAME_BASED_CHECKPOINT, "TF1 name-based", (void)ckview::View::open(fixture("tf1_name_based/model.ckpt")));
  CHECK_THROWS(CKVIEW_CORRUPT_OBJECT_GRAPH, "node id", (void)ckview::View::open(fixture("crafted_bad_ref/bad")));
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)ckview::View::open(static_cast<const char *>(nullptr)));
  // A TF1 checkpoint has no graph but its tensors read fine.
  const ckview::Reader reader = ckview::Reader::open(fixture("tf1_name_based/model.ckpt"));
  CHECK(!reader.list().empty());
  // The error is a std::runtime_error too.
  try {
    (void)ckview::View::open(fixture("doc_children/missing-1"));
    CHECK(false);
  } catch (const std::runtime_error &error) {
    CHECK(std::string(error.what()).find("missing-1") != std::string::npos);
  }
}

static void test_graph_errors() {
  const ckview::View view = ckview::View::open(fixture("doc_children/tf_ckpts-1"));
  CHECK(view.node_count() == 13);
  // Functions without error_out: the message names the C function and the status.
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_children", (void)view.children(13));
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "CKVIEW_NODE_OUT_OF_RANGE", (void)view.path(0xffffffffu));
  CHECK_THROWS(CKVIEW_INDEX_OUT_OF_RANGE, "ckview::Children", (void)view.children(0)[6]);
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_attributes", (void)view.attributes(99));
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_slot_variables", (void)view.slot_variables(13));
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_variable_slots", (void)view.variable_slots(13));
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_has_checkpoint_values", (void)view.has_checkpoint_values(99));
  CHECK_THROWS(CKVIEW_NODE_OUT_OF_RANGE, "ckview_saver", (void)view.registered_saver(99));
  CHECK(view.path(1) == "root.a_var");
  CHECK(view.children(1).empty() && view.children(1).begin() == view.children(1).end());
  CHECK(view.slot_variables(1).empty() && view.variable_slots(1).empty() && view.attributes(0).empty());
  CHECK(view.attributes(1).size() == 1 && view.attributes(1)[0].checkpoint_key == "a_var/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(!view.registered_saver(0).has_value());
  // Span::at is checked, operator[] is not.
  CHECK(view.descendants().at(0) == 0);
  try {
    (void)view.descendants().at(view.descendants().size());
    CHECK(false);
  } catch (const std::out_of_range &) {
    CHECK(true);
  }

  // A node that no edge reaches has no path.
  const ckview::View crafted = ckview::View::open(fixture("crafted_graph/crafted"));
  const ckview::Span<const uint32_t> reachable = crafted.descendants();
  int unreachable = 0;
  for (uint32_t node = 0; node < crafted.node_count(); node++) {
    if (std::find(reachable.begin(), reachable.end(), node) != reachable.end()) continue;
    unreachable++;
    CHECK_THROWS(CKVIEW_NODE_UNREACHABLE, "", (void)crafted.path(node));
  }
  CHECK(unreachable >= 1);
  CHECK(crafted.paths().size() == reachable.size());
}

static void test_children_range() {
  const ckview::View view = ckview::View::open(fixture("doc_children/tf_ckpts-1"));
  const ckview::Children children = view.children(0);
  CHECK(children.size() == 6);
  std::vector<std::string> names;
  for (auto [name, node_id] : children) names.emplace_back(std::string(name) + "=" + std::to_string(node_id));
  CHECK(names == (std::vector<std::string>{"a_var=1", "b_var=2", "vars=3", "leaf=4", "root=0", "save_counter=5"}));
  // Iterators keep working after the range object that made them is gone.
  auto it = view.children(3).begin();
  CHECK((*it).name == "0" && (*it++).node_id == 6 && (*it).node_id == 7);
  CHECK(std::distance(children.begin(), children.end()) == 6);
}

// ---------------------------------------------------------------------------------------------
// Exceptions thrown by the callable

// Knows whether it was copied: the binding must rethrow the very object.
struct Custom {
  static inline int copies = 0;
  const Custom *self;
  int code;
  explicit Custom(int code_) : self(this), code(code_) {}
  Custom(const Custom &other) : self(this), code(other.code) { copies++; }
};

static void test_callable_exceptions() {
  const ckview::View view = ckview::View::open(fixture("doc_diff/tf_ckpts-1"));
  for (bool diff : {false, true}) {
    for (uint64_t thrower : {uint64_t{0}, uint64_t{4}}) {  // the root, and an object met later (root.leaf2)
      int calls = 0;
      const auto children = [&](uint64_t object, ckview::ChildSink &sink) {
        calls++;
        if (object == thrower) throw Custom(40 + static_cast<int>(object));
        if (object == 0) sink.add("leaf", 4);
      };
      Custom::copies = 0;
      try {
        const ckview::Comparison result = diff ? view.diff(0, children) : view.match(0, children);
        CHECK(false);
      } catch (const Custom &caught) {
        CHECK(caught.self == &caught);  // not a copy
        CHECK(Custom::copies == 0);
        CHECK(caught.code == 40 + static_cast<int>(thrower));
      } catch (...) {
        CHECK(false);
      }
      CHECK(calls == (thrower == 0 ? 1 : 2));
    }
  }
  // Standard exceptions and non-class types come back as themselves too.
  try {
    (void)view.match(0, [](uint64_t, ckview::ChildSink &) { throw std::length_error("too long"); });
    CHECK(false);
  } catch (const std::length_error &error) {
    CHECK(std::string(error.what()) == "too long");
  }
  try {
    (void)view.diff(0, [](uint64_t, ckview::ChildSink &) { throw 7; });
    CHECK(false);
  } catch (int value) {
    CHECK(value == 7);
  }
  // A ckview::Error thrown inside the callable (here by a nested call) keeps its status.
  try {
    (void)view.diff(0, [&](uint64_t, ckview::ChildSink &) { (void)view.children(1000); });
    CHECK(false);
  } catch (const ckview::Error &error) {
    CHECK(error.status() == CKVIEW_NODE_OUT_OF_RANGE);
  }
  // Through two levels of nesting: a nested match's callable throws, the outer callable lets it
  // pass, and the outer match rethrows it, still the same object.
  Custom::copies = 0;
  try {
    (void)view.match(0, [&](uint64_t, ckview::ChildSink &) {
      (void)view.match(1, [](uint64_t, ckview::ChildSink &) { throw Custom(99); });
    });
    CHECK(false);
  } catch (const Custom &caught) {
    CHECK(caught.self == &caught && caught.code == 99 && Custom::copies == 0);
  }
  // The view is unharmed: a full diff still works.
  const ckview::Comparison after = view.diff(0, [](uint64_t object, ckview::ChildSink &sink) {
    if (object == 0) sink.add("a_var", 1);
  });
  CHECK(after.matched().size() == 2 && after.only_in_live().empty());
}

// Any callable works: a plain function, a const function object, a std::function.
static void no_children(uint64_t, ckview::ChildSink &) {}
struct ConstLister {
  void operator()(uint64_t object, ckview::ChildSink &sink) const {
    if (object == 100) sink.add("a_var", 101);
  }
};

static void test_callables_and_conflicts() {
  const ckview::View view = ckview::View::open(fixture("doc_children/tf_ckpts-1"));
  CHECK(view.match(5, no_children).matched().size() == 1);
  CHECK(view.match(5, &no_children).matched()[0].object == 5);
  const ConstLister lister;
  const ckview::Comparison listed = view.match(100, lister);
  CHECK(listed.matched().size() == 2 && listed.matched()[1].node_id == 1 && listed.matched()[1].object == 101);
  const std::function<void(uint64_t, ckview::ChildSink &)> function = lister;
  CHECK(view.diff(100, function).only_in_checkpoint().size() == view.node_count() - 2);
  CHECK(view.diff(100, ConstLister{}).only_in_live().empty());
  // One checkpoint node under two names (`first`, `second`) reached as two live objects:
  // TensorFlow keeps the first and only logs the other.
  const ckview::View shared = ckview::View::open(fixture("cycles_and_shared/graph"));
  const ckview::Comparison conflicted = shared.match(1000, [](uint64_t object, ckview::ChildSink &sink) {
    if (object != 1000) return;
    sink.add("first", 2001);
    sink.add("second", 2002);
  });
  CHECK(conflicted.conflicts().size() == 1);
  CHECK(conflicted.conflicts().size() == 1 && conflicted.conflicts()[0].node_id == 2 &&
        conflicted.conflicts()[0].matched_object == 2001 && conflicted.conflicts()[0].other_object == 2002);
  CHECK(view.match(0, no_children).conflicts().empty());
  // Names are bytes: one with a NUL inside is not `a_var`.
  const ckview::Comparison nul = view.diff(0, [](uint64_t object, ckview::ChildSink &sink) {
    if (object == 0) sink.add(std::string_view("a_var\0x", 7), 1);
  });
  CHECK(nul.matched().size() == 1 && nul.only_in_live().size() == 1 && nul.only_in_live()[0] == 1);
  // Edges: the same as a callable.
  const std::vector<ckview::Edge> edges{{100, "a_var", 101}, {100, "vars", 102}, {102, "0", 103}};
  const ckview::Comparison by_edges = view.diff_edges(100, edges);
  CHECK(by_edges.matched().size() == 4 && by_edges.only_in_live().empty());
  CHECK(view.match_edges(100, {}).matched().size() == 1);
  // Two checkpoints: the doc's two examples differ under `leaf`.
  const ckview::View other = ckview::View::open(fixture("doc_diff/tf_ckpts-1"));
  const ckview::Comparison views = view.diff(other);
  CHECK(views.only_in_checkpoint().empty());
  CHECK(views.only_in_live().size() == other.node_count() - view.node_count());
}

// ---------------------------------------------------------------------------------------------
// Ownership

static void test_move_semantics() {
  ckview::View first = ckview::View::open(fixture("doc_children/tf_ckpts-1"));
  const ckview::Span<const uint32_t> ids = first.descendants();
  const std::string_view name = first.children(0)[0].name;
  const ckview::Children kids = first.children(0);
  ckview::View second = std::move(first);
  CHECK(!first && second);
  CHECK(kids.size() == 6 && kids[3].name == "leaf" && kids[3].node_id == 4);  // the borrowed array too
  CHECK(ckview::Children().empty() && ckview::Children().begin() == ckview::Children().end());
  CHECK(ids.size() == 13 && ids[5] == 5 && name == "a_var");  // borrowed data follows the handle
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)first.node_count());
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)first.children(0));
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)first.reader());
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)first.match(0, no_children));
  // Assigning over a live view frees it; self-assignment keeps it.
  first = ckview::View::open(fixture("doc_diff/tf_ckpts-1"));
  second = std::move(first);
  ckview::View &alias = second;
  second = std::move(alias);
  CHECK(second.node_count() == 15 && !first);
  ckview::View empty;
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)empty.descendants());
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)second.diff(empty));

  ckview::Reader reader = ckview::Reader::open(fixture("dtype_zoo/zoo"));
  ckview::Tensor tensor = reader.find("float32/.ATTRIBUTES/VARIABLE_VALUE");
  const ckview::TensorRef borrowed = tensor;  // a non-owning copy of the handle
  ckview::Tensor moved = std::move(tensor);
  CHECK(!tensor && moved && borrowed.get() == moved.get());
  CHECK(moved.key() == "float32/.ATTRIBUTES/VARIABLE_VALUE" && borrowed.num_elements() == 6);
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)tensor.key());
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)tensor.read_bytes());
  tensor = reader.find("int8/.ATTRIBUTES/VARIABLE_VALUE");
  ckview::Tensor &tensor_alias = tensor;
  tensor = std::move(tensor_alias);
  CHECK(tensor.dtype_name() == "int8");
  moved = std::move(tensor);  // frees the float32 tensor
  CHECK(moved.dtype_name() == "int8" && !tensor);
  ckview::Tensor released_owner = reader.find("int8/.ATTRIBUTES/VARIABLE_VALUE");
  ckview_tensor *raw = released_owner.release();
  CHECK(raw != nullptr && !released_owner);
  ckview_tensor_free(raw);

  ckview::Reader other_reader = std::move(reader);
  CHECK(!reader && other_reader);
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)reader.find("int8/.ATTRIBUTES/VARIABLE_VALUE"));
  ckview::Reader &reader_alias = other_reader;
  other_reader = std::move(reader_alias);
  CHECK(other_reader.find("int8/.ATTRIBUTES/VARIABLE_VALUE").num_elements() == 6);

  ckview::TensorList list = other_reader.list();
  const std::size_t count = list.size();
  ckview::TensorList list2 = std::move(list);
  CHECK(!list && list2.size() == count && count > 20);
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)list.size());

  ckview::Comparison comparison = second.diff(second);
  const ckview::Span<const uint32_t> only = comparison.only_in_checkpoint();
  ckview::Comparison comparison2 = std::move(comparison);
  CHECK(!comparison && comparison2 && only.empty() && comparison2.matched().size() == 15);
  CHECK_THROWS(CKVIEW_INVALID_ARGUMENT, "", (void)comparison.matched());
  // Default-constructed and moved-from objects of every kind are destroyed here, harmlessly.
  ckview::Tensor t;
  ckview::TensorList l;
  ckview::Comparison c;
  ckview::Reader r;
  (void)t, (void)l, (void)c, (void)r;
}

// ---------------------------------------------------------------------------------------------
// Tensors

static void test_tensors() {
  ckview::OpenOptions mapped;
  mapped.mmap = true;  // for borrow()
  const ckview::View view = ckview::View::open(fixture("dtype_zoo/zoo"), mapped);
  const ckview::ReaderRef reader = view.reader();  // borrowed from the view
  const ckview::Tensor f32 = reader.find("float32/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(f32.dtype() == 1 && f32.dtype_name() == "float32");
  CHECK(f32.shape().to_vector() == (std::vector<uint64_t>{2, 3}));
  CHECK(f32.num_elements() == 6 && f32.size_bytes() == 24 && f32.slice_count() == 0 && f32.slices().empty());
  const std::vector<float> values = f32.read<float>();
  const std::vector<std::byte> bytes = f32.read_bytes();
  const ckview::Span<const std::byte> borrowed = f32.borrow();
  CHECK(values.size() == 6 && values[0] == 1.5f && values[1] == -2.25f);
  CHECK(bytes.size() == 24 && std::memcmp(bytes.data(), values.data(), 24) == 0);
  CHECK(std::equal(borrowed.begin(), borrowed.end(), bytes.begin(), bytes.end()));
  CHECK_THROWS(CKVIEW_UNSUPPORTED_DTYPE, "sizeof(T) = 8", (void)f32.read<double>());
  CHECK_THROWS(CKVIEW_UNSUPPORTED_DTYPE, "sizeof(T) = 5", (void)f32.read<std::array<char, 5>>());
  std::array<float, 6> buffer{};
  f32.read_into(buffer.data(), sizeof buffer, false);
  CHECK(std::equal(buffer.begin(), buffer.end(), values.begin()));
  CHECK_THROWS(CKVIEW_BUFFER_TOO_SMALL, "", f32.read_into(buffer.data(), sizeof buffer - 1));
  CHECK_THROWS(CKVIEW_UNSUPPORTED_DTYPE, "", (void)f32.read_strings());
  CHECK_THROWS(CKVIEW_KEY_NOT_FOUND, "", (void)reader.find("float32"));

  const ckview::Tensor scalar = reader.find("scalar_i64/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(scalar.shape().empty() && scalar.num_elements() == 1 && scalar.read<int64_t>() == std::vector<int64_t>{-1});
  const ckview::Tensor empty = reader.find("empty_f32_2x0/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(empty.read<float>().empty() && empty.borrow().empty() && empty.read_bytes().empty());
  const ckview::Tensor flags = reader.find("bool/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK(flags.read<uint8_t>() == (std::vector<uint8_t>{1, 0, 1, 0, 0, 1}));

  const ckview::Tensor strings = reader.find("string/.ATTRIBUTES/VARIABLE_VALUE");
  const std::vector<std::string> elements = strings.read_strings();  // copies: outlive the C list
  CHECK(elements.size() == 6 && elements[0].empty() && elements[1] == "abc");
  CHECK(elements[4] == std::string_view("with\0nul", 8) && elements[5] == std::string(200, 'x'));
  CHECK_THROWS(CKVIEW_UNSUPPORTED_DTYPE, "", (void)strings.read_bytes());

  // A name-based checkpoint read through a Reader; its partitioned tensor has slices.
  const ckview::Reader partitioned = ckview::Reader::open(fixture("partitioned/model.ckpt"));
  bool sliced = false;
  for (ckview::TensorRef tensor : partitioned.list()) {
    if (tensor.slice_count() == 0) continue;
    sliced = true;
    const std::vector<ckview::Span<const ckview::SliceExtent>> slices = tensor.slices();
    CHECK(slices.size() == tensor.slice_count() && slices[0].size() == tensor.shape().size());
    CHECK_THROWS(CKVIEW_UNSUPPORTED, "", (void)tensor.borrow());
    CHECK(tensor.read_bytes().size() == tensor.size_bytes());
    CHECK_THROWS(CKVIEW_INDEX_OUT_OF_RANGE, "", (void)tensor.slice(tensor.slice_count()));
  }
  CHECK(sliced);

  // Without memory maps (the default) borrow() is refused, and says why; reading works.
  const ckview::Reader plain = ckview::Reader::open(fixture("dtype_zoo/zoo"));
  const ckview::Tensor unmapped = plain.find("float32/.ATTRIBUTES/VARIABLE_VALUE");
  CHECK_THROWS(CKVIEW_UNSUPPORTED, "memory maps", (void)unmapped.borrow());
  CHECK(unmapped.read_bytes() == bytes);
  const ckview::Reader mapped_reader = ckview::Reader::open(fixture("dtype_zoo/zoo"), mapped);
  CHECK(!mapped_reader.storage() && mapped_reader.find("float32/.ATTRIBUTES/VARIABLE_VALUE").borrow().size() == 24);
  CHECK(ckview::View::open(fixture("doc_children/tf_ckpts-1"), mapped).node_count() == 13);
  CHECK(ckview::View::open(std::string(fixture("doc_children/tf_ckpts-1")), ckview::OpenOptions{}).node_count() == 13);

  // The attributes of a node lead to its tensor.
  const ckview::View doc = ckview::View::open(fixture("doc_children/tf_ckpts-1"));
  const ckview::Tensor a_var = doc.reader().find(doc.attributes(1).at(0).checkpoint_key);
  CHECK(a_var.num_elements() == 1 && a_var.dtype_name() == "float32");
}

// ---------------------------------------------------------------------------------------------

static void test_threads_share_a_view() {
  const ckview::View view = ckview::View::open(fixture("cycles_and_shared/graph"));
  const std::vector<std::pair<uint32_t, std::string>> expected = view.paths();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      try {
        for (int round = 0; round < 20; round++) {
          if (view.paths() != expected) mismatches++;
          const ckview::Comparison itself = view.diff(view);
          if (!itself.only_in_checkpoint().empty()) mismatches++;
          for (ckview::TensorRef tensor : view.reader().list()) (void)tensor.key();
        }
      } catch (...) {
        mismatches++;
      }
    });
  }
  for (std::thread &thread : threads) thread.join();
  CHECK(mismatches == 0);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  fixtures = argv[1];
  test_version();
  test_open_errors();
  test_graph_errors();
  test_children_range();
  test_callable_exceptions();
  test_callables_and_conflicts();
  test_move_semantics();
  test_tensors();
  test_threads_share_a_view();
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed != 0;
}
