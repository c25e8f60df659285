// ckview::ReaderRef::rewrite: a rewrite through a Reader and through a View's reader, the summary,
// and mistakes as ckview::Error with the C status, nothing written for them.
// Usage: test_rewrite TF2_CHECKPOINT TF1_CHECKPOINT OUT_DIR; prints `NAME nodes A B tensors C D bytes E F`.
#include <cstdio>
#include <iostream>
#include <string>

#include "ckview.hpp"

static int failed = 0;

static void print(const char *name, const ckview_rewrite_summary &s) {
  std::cout << name << " nodes " << s.nodes_before << " " << s.nodes_after << " tensors " << s.tensors_before << " "
            << s.tensors_after << " bytes " << s.bytes_before << " " << s.bytes_after << "\n";
}

static void expect_error(const ckview::ReaderRef &reader, const std::string &out, const ckview::RewriteOptions &options,
                         ckview::Status expected, const std::string &needle) {
  try {
    (void)reader.rewrite(out, options);
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
  if (argc != 4) return 2;
  const std::string dir = argv[3];
  const ckview::Reader reader = ckview::Reader::open(argv[1]);
  ckview::RewriteOptions drop_slots;
  drop_slots.drop_slots = true;
  print("cpp-drop-slots", reader.rewrite(dir + "/cpp-drop-slots", drop_slots));
  const ckview::View view = ckview::View::open(argv[1]);
  ckview::RewriteOptions select = drop_slots;
  select.select = {"root.model"};
  print("cpp-select-model", view.reader().rewrite(dir + "/cpp-select-model", select));

  ckview::RewriteOptions unknown;
  unknown.drop = {"root.model.no_such_layer"};
  expect_error(reader, dir + "/never", unknown, CKVIEW_INVALID_ARGUMENT, "no_such_layer");
  expect_error(reader, argv[1], {}, CKVIEW_INVALID_ARGUMENT, "the checkpoint being read");
  const ckview::Reader tf1 = ckview::Reader::open(argv[2]);
  expect_error(tf1, dir + "/never", drop_slots, CKVIEW_NAME_BASED_CHECKPOINT, "by key");
  ckview::RewriteOptions adam;
  adam.drop = {"*/Adam*"};
  print("cpp-tf1", tf1.rewrite(dir + "/cpp-tf1", adam));
  return failed ? 1 : 0;
}
