// Prints everything the C++ binding says about a checkpoint's object graph, one fact per line,
// for tests/cpp_binding.rs to compare with TensorFlow's goldens:
//   nodes N
//   child NODE NAME ID                            children(NODE), in dict order
//   descendant ID                                 descendants(), in order
//   path ID PATH                                  paths(), in descendants() order
//   attribute NODE NAME FULL_NAME KEY
//   slot NODE ORIGINAL NAME SLOT                  slot_variables(NODE)
//   saver NODE NAME OBJECT_NAME
//   varslot NODE SLOT_NAME OPTIMIZER SLOT_NODE    variable_slots(NODE)
//   flag NODE unset|false|true
// or "error STATUS" when the checkpoint does not open. Usage: dump_view CHECKPOINT
#include <cstdint>
#include <iostream>
#include <string>

#include "ckview.hpp"

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  ckview::View view;
  try {
    view = ckview::View::open(argv[1]);
  } catch (const ckview::Error &error) {
    std::cout << "error " << error.status_name() << "\n";
    return 0;
  }
  const std::size_t nodes = view.node_count();
  std::cout << "nodes " << nodes << "\n";
  for (uint32_t node = 0; node < nodes; node++)
    for (auto [name, id] : view.children(node)) std::cout << "child " << node << " " << name << " " << id << "\n";
  for (uint32_t id : view.descendants()) std::cout << "descendant " << id << "\n";
  for (const auto &[id, path] : view.paths()) {
    if (path != view.path(id)) return 1;
    std::cout << "path " << id << " " << path << "\n";
  }
  for (uint32_t node = 0; node < nodes; node++) {
    for (const ckview::Attribute &a : view.attributes(node))
      std::cout << "attribute " << node << " " << a.name << " " << a.full_name << " " << a.checkpoint_key << "\n";
    for (const ckview::SlotVariable &s : view.slot_variables(node))
      std::cout << "slot " << node << " " << s.original_variable_node_id << " " << s.slot_name << " " << s.slot_variable_node_id << "\n";
    if (const auto saver = view.registered_saver(node))
      std::cout << "saver " << node << " " << saver->name << " " << saver->object_name << "\n";
    for (const ckview::VariableSlot &s : view.variable_slots(node))
      std::cout << "varslot " << node << " " << s.slot_name << " " << s.optimizer_node_id << " " << s.slot_node_id << "\n";
    const std::optional<bool> flag = view.has_checkpoint_values(node);
    std::cout << "flag " << node << " " << (!flag ? "unset" : *flag ? "true" : "false") << "\n";
  }
  return 0;
}
