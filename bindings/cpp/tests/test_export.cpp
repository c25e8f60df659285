// ckview::ReaderRef::export_safetensors and export_names: a rename callable that renames and
// leaves out, through a View's reader; an exception thrown by rename or progress comes out
// unchanged; mistakes are ckview::Error with the C status, and nothing is written for them.
// Usage: test_export TF2_CHECKPOINT ZOO_CHECKPOINT OUT_DIR; prints `NAME KEY` per tensor, then
// `report TENSORS BYTES FILES`.
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "ckview.hpp"

static int failed = 0;

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      failed++;                                                                   \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #condition "\n"; \
    }                                                                             \
  } while (0)

static void expect_error(const ckview::ReaderRef &reader, const std::string &out, const ckview::ExportOptions &options,
                         ckview::Status expected, const std::string &needle) {
  try {
    (void)reader.export_safetensors(out, options);
    std::cerr << "no error for " << needle << "\n";
    failed++;
  } catch (const ckview::Error &error) {
    if (error.status() != expected || std::string(error.what()).find(needle) == std::string::npos) {
      std::cerr << "unexpected " << error.status_name() << ": " << error.what() << "\n";
      failed++;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    std::cerr << "usage: test_export TF2_CHECKPOINT ZOO_CHECKPOINT OUT_DIR\n";
    return 2;
  }
  const std::string dir = argv[3];
  try {
    const ckview::View view = ckview::View::open(argv[1]);
    const ckview::ReaderRef reader = view.reader();
    ckview::ExportOptions options;
    options.drop_slots = true;
    options.rename = [](const ckview::ExportTensor &tensor) -> std::optional<std::string> {
      if (tensor.dtype == "int64") return std::nullopt;
      if (tensor.path && tensor.path->size() > 7 && tensor.path->substr(tensor.path->size() - 7) == ".kernel")
        return "weights/" + std::string(*tensor.path);
      return std::string(tensor.name);
    };
    const auto names = reader.export_names(options);
    for (const auto &[name, key] : names) std::cout << name << " " << key << "\n";
    uint64_t last_done = 0;
    options.progress = [&last_done](uint64_t done, uint64_t total) {
      if (done > total) throw std::logic_error("done past total");
      last_done = done;
    };
    const ckview_export_report report = reader.export_safetensors(dir + "/cpp.safetensors", options);
    std::cout << "report " << report.tensors << " " << report.bytes << " " << report.files << "\n";
    CHECK(report.tensors == names.size() && last_done == report.bytes);

    // What the callables throw comes out unchanged, and nothing is written.
    ckview::ExportOptions throwing;
    throwing.rename = [](const ckview::ExportTensor &) -> std::optional<std::string> { throw std::runtime_error("rename says no"); };
    try {
      (void)reader.export_safetensors(dir + "/thrown.safetensors", throwing);
      CHECK(false);
    } catch (const std::runtime_error &error) {
      CHECK(std::string(error.what()) == "rename says no");
    }
    ckview::ExportOptions stopping;
    stopping.progress = [](uint64_t, uint64_t) { throw std::out_of_range("progress says stop"); };
    try {
      (void)reader.export_safetensors(dir + "/stopped.safetensors", stopping);
      CHECK(false);
    } catch (const std::out_of_range &error) {
      CHECK(std::string(error.what()) == "progress says stop");
    }
    ckview::ExportOptions same;
    same.rename = [](const ckview::ExportTensor &) -> std::optional<std::string> { return "same"; };
    expect_error(reader, dir + "/same.safetensors", same, CKVIEW_DUPLICATE_NAME, "same");
    ckview::ExportOptions bad;
    bad.naming = 9;
    expect_error(reader, dir + "/bad.safetensors", bad, CKVIEW_INVALID_ARGUMENT, "naming");
    expect_error(reader, dir + "/no/such/dir.safetensors", {}, CKVIEW_IO_ERROR, "no/such/dir");
    const ckview::Reader zoo = ckview::Reader::open(argv[2]);
    expect_error(zoo, dir + "/zoo.safetensors", {}, CKVIEW_UNSUPPORTED_DTYPE, "complex128");
  } catch (const ckview::Error &error) {
    std::cerr << error.status_name() << ": " << error.what() << "\n";
    return 1;
  }
  return failed ? 1 : 0;
}
