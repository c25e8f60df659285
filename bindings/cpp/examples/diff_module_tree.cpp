// Diffs a program's own tree of modules against a checkpoint, as tf.train.CheckpointView.diff
// does for Python objects:
//   c++ -std=c++17 bindings/cpp/examples/diff_module_tree.cpp -Iinclude -Ibindings/cpp -Ltarget/release -lckview -o diff_module_tree
//   ./diff_module_tree tests/fixtures/doc_diff/tf_ckpts-1
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ckview.hpp"

// Any tree works; here a module has named children in declaration order, variables have none.
struct Module {
  std::string path;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children;

  Module &add(const std::string &name) {
    children.emplace_back(name, std::make_unique<Module>(Module{path + "." + name, {}}));
    return *children.back().second;
  }
  void add_variables() {  // a_var, b_var and vars = [v0, v1]
    add("a_var");
    add("b_var");
    Module &vars = add("vars");
    vars.add("0");
    vars.add("1");
  }
};

// ckview knows live objects by uint64_t handles of our choosing: here, their addresses.
static uint64_t handle(const Module &module) { return reinterpret_cast<std::uintptr_t>(&module); }
static const Module &module_of(uint64_t handle) { return *reinterpret_cast<const Module *>(static_cast<std::uintptr_t>(handle)); }

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: diff_module_tree CHECKPOINT\n";
    return 2;
  }
  // The documentation's live model: `leaf` was renamed `leaf2` since the checkpoint was written.
  Module root2{"root", {}};
  root2.add_variables();
  Module &leaf2 = root2.add("leaf2");
  leaf2.add_variables();
  leaf2.add("leaf3");
  leaf2.add("leaf4");
  try {
    const ckview::View view = ckview::View::open(argv[1]);
    const ckview::Comparison diff = view.diff(handle(root2), [](uint64_t object, ckview::ChildSink &sink) {
      for (const auto &[name, child] : module_of(object).children) sink.add(name, handle(*child));
    });
    for (uint32_t node : diff.only_in_checkpoint()) std::cout << "only in checkpoint: " << node << " " << view.path(node) << "\n";
    for (uint64_t object : diff.only_in_live()) std::cout << "only in live: " << module_of(object).path << "\n";
  } catch (const ckview::Error &error) {
    std::cerr << error.status_name() << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
