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
// or "error STATUS" when the checkpoint does not open. The same checkpoint opened with memory
// maps, through a pread-backed ckview::Storage and through an in-memory one must print the very
// same (else exit 1), and every file those storages open must be closed. Usage: dump_view CHECKPOINT
#include <cstdint>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "ckview.hpp"
#include "storages.hpp"

static std::string dump(const char *save_path, const ckview::OpenOptions &options) {
  std::ostringstream out;
  ckview::View view;
  try {
    view = ckview::View::open(save_path, options);
  } catch (const ckview::Error &error) {
    out << "error " << error.status_name() << "\n";
    return out.str();
  }
  const std::size_t nodes = view.node_count();
  out << "nodes " << nodes << "\n";
  for (uint32_t node = 0; node < nodes; node++)
    for (auto [name, id] : view.children(node)) out << "child " << node << " " << name << " " << id << "\n";
  for (uint32_t id : view.descendants()) out << "descendant " << id << "\n";
  for (const auto &[id, path] : view.paths()) {
    if (path != view.path(id)) out << "path() disagrees with paths() for " << id << "\n";
    out << "path " << id << " " << path << "\n";
  }
  for (uint32_t node = 0; node < nodes; node++) {
    for (const ckview::Attribute &a : view.attributes(node))
      out << "attribute " << node << " " << a.name << " " << a.full_name << " " << a.checkpoint_key << "\n";
    for (const ckview::SlotVariable &s : view.slot_variables(node))
      out << "slot " << node << " " << s.original_variable_node_id << " " << s.slot_name << " " << s.slot_variable_node_id << "\n";
    if (const auto saver = view.registered_saver(node))
      out << "saver " << node << " " << saver->name << " " << saver->object_name << "\n";
    for (const ckview::VariableSlot &s : view.variable_slots(node))
      out << "varslot " << node << " " << s.slot_name << " " << s.optimizer_node_id << " " << s.slot_node_id << "\n";
    const std::optional<bool> flag = view.has_checkpoint_values(node);
    out << "flag " << node << " " << (!flag ? "unset" : *flag ? "true" : "false") << "\n";
  }
  return out.str();
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const std::string text = dump(argv[1], ckview::OpenOptions{});
  std::cout << text;
  int failures = 0;
  const auto expect_same = [&](const char *how, const std::string &other) {
    if (other == text) return;
    failures++;
    std::cerr << "opened " << how << ", the dump differs:\n" << other;
  };
  // The default, without options at all.
  {
    std::ostringstream out;
    try {
      const ckview::View view = ckview::View::open(argv[1]);
      out << "nodes " << view.node_count() << "\n";
    } catch (const ckview::Error &error) {
      out << "error " << error.status_name() << "\n";
    }
    if (text.compare(0, out.str().size(), out.str()) != 0) expect_same("with ckview_open", out.str());
  }
  ckview::OpenOptions mapped;
  mapped.mmap = true;
  expect_same("with memory maps", dump(argv[1], mapped));
  const auto pread = std::make_shared<test::PreadStorage>();
  expect_same("through a pread Storage", dump(argv[1], ckview::OpenOptions{false, pread}));
  const auto memory = test::MemoryStorage::of_checkpoint(argv[1]);
  expect_same("through a memory Storage", dump(argv[1], ckview::OpenOptions{false, memory}));
  if (!pread->counts.balanced() || !memory->counts.balanced()) {
    failures++;
    std::cerr << "files left open: pread " << pread->counts.opened << "/" << pread->counts.closed << ", memory "
              << memory->counts.opened << "/" << memory->counts.closed << "\n";
  }
  if (pread->counts.opened == 0 || memory->counts.opened == 0) {
    failures++;
    std::cerr << "a storage opened nothing\n";
  }
  return failures != 0;
}

