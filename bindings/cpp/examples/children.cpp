// Prints the children of a checkpoint's root, as the tf.train.CheckpointView documentation does.
// Usage: children CHECKPOINT   (e.g. tests/fixtures/doc_children/tf_ckpts-1)
#include <iostream>

#include "ckview.hpp"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: children CHECKPOINT\n";
    return 2;
  }
  try {
    const ckview::View view = ckview::View::open(argv[1]);
    for (auto [name, node_id] : view.children(0)) std::cout << "- name: '" << name << "', node_id: " << node_id << "\n";
  } catch (const ckview::Error &error) {
    std::cerr << error.status_name() << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
