// Lists every tensor of a bundle through the C++ binding and prints its value, for
// tests/cpp_binding.rs to compare with TensorFlow's load_checkpoint:
//   key KEY DTYPE [D0,D1]     every listed tensor, in order
//   value KEY HEX             fixed-size tensors ("-" when empty)
//   strings KEY HEX HEX ...   string tensors, one word per element ("-" for an empty string)
// Along the way it checks that every way of reading agrees (read_bytes, read<T>, read_into,
// borrow, with and without checksums, found and listed tensors, the View's reader and a Reader,
// local files with and without memory maps, a pread-backed ckview::Storage and an in-memory one),
// and exits 1 when one does not. borrow() must work with memory maps only. Usage: dump_tensors CHECKPOINT
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ckview.hpp"
#include "storages.hpp"

static int failures = 0;

#define EXPECT(condition)                                                                   \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      failures++;                                                                           \
      std::cerr << __FILE__ << ":" << __LINE__ << ": EXPECT failed: " #condition "\n"; \
    }                                                                                       \
  } while (0)

// Runs `call`, which must throw ckview::Error with `status`.
template <class Call>
static void expect_status(ckview::Status status, Call call) {
  try {
    call();
    failures++;
    std::cerr << "expected " << ckview::status_name(status) << ", got success\n";
  } catch (const ckview::Error &error) {
    if (error.status() != status) {
      failures++;
      std::cerr << "expected " << ckview::status_name(status) << ", got " << error.status_name() << ": " << error.what() << "\n";
    }
  }
}

static void print_hex(std::ostream &out, const void *data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  if (size == 0) out << "-";
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (std::size_t i = 0; i < size; i++) out << digits[bytes[i] >> 4] << digits[bytes[i] & 15];
}

// read<T> with sizeof(T) the element size must give the very bytes of read_bytes().
template <class T>
static void expect_typed_read(const ckview::TensorRef &tensor, const std::vector<std::byte> &bytes) {
  const std::vector<T> values = tensor.read<T>();
  EXPECT(values.size() * sizeof(T) == bytes.size());
  EXPECT(values.empty() || std::memcmp(values.data(), bytes.data(), bytes.size()) == 0);
}

// `mapped`: the reader was opened with memory maps, so borrow() works where the bytes allow.
static void dump_value(std::ostream &out, const ckview::TensorRef &tensor, bool mapped) {
  const std::string_view key = tensor.key();
  if (tensor.dtype_name() == "string") {
    out << "strings " << key;
    for (std::string_view element : tensor.read_strings()) {
      out << " ";
      print_hex(out, element.data(), element.size());
    }
    out << "\n";
    expect_status(CKVIEW_UNSUPPORTED_DTYPE, [&] { (void)tensor.read_bytes(); });
    expect_status(CKVIEW_UNSUPPORTED_DTYPE, [&] { (void)tensor.borrow(); });
    return;
  }
  const std::vector<std::byte> bytes = tensor.read_bytes();
  EXPECT(bytes.size() == tensor.size_bytes());
  EXPECT(tensor.read_bytes(false) == bytes);
  if (!mapped) {
    // borrow() needs memory maps (a sliced or byte-swapped tensor may be refused for that first).
    expect_status(CKVIEW_UNSUPPORTED, [&] { (void)tensor.borrow(); });
  } else {
    try {
      const ckview::Span<const std::byte> borrowed = tensor.borrow();
      EXPECT(std::vector<std::byte>(borrowed.begin(), borrowed.end()) == bytes);
      const ckview::Span<const std::byte> unverified = tensor.borrow(false);
      EXPECT(unverified.data() == borrowed.data() && unverified.size() == borrowed.size());
    } catch (const ckview::Error &error) {
      EXPECT(error.status() == CKVIEW_UNSUPPORTED);  // sliced, or needs byte swapping
      EXPECT(std::string(error.what()).find("memory maps") == std::string::npos);
    }
  }
  if (!bytes.empty()) {
    std::vector<std::byte> buffer(bytes.size() + 3, std::byte{0x5a});
    expect_status(CKVIEW_BUFFER_TOO_SMALL, [&] { tensor.read_into(buffer.data(), bytes.size() - 1); });
    tensor.read_into(buffer.data(), buffer.size());
    EXPECT(std::memcmp(buffer.data(), bytes.data(), bytes.size()) == 0);
    EXPECT(buffer.back() == std::byte{0x5a});  // exactly size_bytes() are written
  }
  const uint64_t elements = tensor.num_elements();
  switch (elements == 0 ? 0 : bytes.size() / elements) {
    case 1: expect_typed_read<uint8_t>(tensor, bytes); break;
    case 2: expect_typed_read<uint16_t>(tensor, bytes); break;
    case 4: expect_typed_read<float>(tensor, bytes); break;
    case 8: expect_typed_read<double>(tensor, bytes); break;
    case 16: expect_typed_read<std::array<uint64_t, 2>>(tensor, bytes); break;
    default: EXPECT(elements == 0);
  }
  expect_status(CKVIEW_UNSUPPORTED_DTYPE, [&] { (void)tensor.read_strings(); });
  out << "value " << key << " ";
  print_hex(out, bytes.data(), bytes.size());
  out << "\n";
}

static std::string dump(const ckview::ReaderRef &reader, bool mapped) {
  std::ostringstream out;
  const ckview::TensorList list = reader.list();
  std::size_t listed = 0;
  for (ckview::TensorRef tensor : list) {
    out << "key " << tensor.key() << " " << tensor.dtype_name() << " [";
    const char *separator = "";
    for (uint64_t dim : tensor.shape()) out << separator << dim, separator = ",";
    out << "]\n";
    uint64_t elements = 1;
    for (uint64_t dim : tensor.shape()) elements *= dim;
    EXPECT(tensor.num_elements() == elements);
    for (ckview::Span<const ckview::SliceExtent> slice : tensor.slices()) EXPECT(slice.size() == tensor.shape().size());
    (void)tensor.shard();
    listed++;
  }
  EXPECT(listed == list.size());
  for (std::size_t i = 0; i < list.size(); i++) {
    const ckview::TensorRef listed_tensor = list[i];
    if (listed_tensor.key() == "_CHECKPOINTABLE_OBJECT_GRAPH") continue;
    // Look each key up again, as a program that knows its key would.
    const ckview::Tensor found = reader.find(listed_tensor.key());
    EXPECT(found.key() == listed_tensor.key());
    EXPECT(found.dtype() == listed_tensor.dtype());
    EXPECT(found.shape().to_vector() == listed_tensor.shape().to_vector());
    EXPECT(found.size_bytes() == listed_tensor.size_bytes());
    EXPECT(found.slice_count() == listed_tensor.slice_count());
    dump_value(out, found, mapped);
  }
  expect_status(CKVIEW_INDEX_OUT_OF_RANGE, [&] { (void)list[list.size()]; });
  expect_status(CKVIEW_KEY_NOT_FOUND, [&] { (void)reader.find("no such key"); });
  return out.str();
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  ckview::OpenOptions mapped;
  mapped.mmap = true;
  const auto pread = std::make_shared<test::PreadStorage>();
  const auto memory = test::MemoryStorage::of_checkpoint(argv[1]);
  const ckview::OpenOptions unmapped_ways[] = {{}, {false, pread}, {false, memory}};
  try {
    const ckview::Reader reader = ckview::Reader::open(argv[1], mapped);
    const std::string text = dump(reader, true);
    std::cout << text;
    EXPECT(dump(ckview::Reader::open(argv[1]), false) == text);
    for (const ckview::OpenOptions &options : unmapped_ways) EXPECT(dump(ckview::Reader::open(argv[1], options), false) == text);
    // A checkpoint with an object graph reads the same through its View's reader.
    try {
      const ckview::View view = ckview::View::open(argv[1], mapped);
      EXPECT(dump(view.reader(), true) == text);
      for (const ckview::OpenOptions &options : unmapped_ways)
        EXPECT(dump(ckview::View::open(argv[1], options).reader(), false) == text);
    } catch (const ckview::Error &error) {
      EXPECT(error.status() == CKVIEW_NAME_BASED_CHECKPOINT || error.status() == CKVIEW_CORRUPT_OBJECT_GRAPH);
    }
  } catch (const ckview::Error &error) {
    std::cerr << error.status_name() << ": " << error.what() << "\n";
    return 1;
  }
  EXPECT(pread->counts.opened > 0 && memory->counts.opened > 0);
  EXPECT(pread->counts.balanced() && memory->counts.balanced());  // every File destroyed
  if (failures != 0) std::cerr << failures << " failures\n";
  return failures != 0;
}
