// match and diff through the C++ binding, with the live graph read from an edge file
// ("PARENT<TAB>CHILD<TAB>NAME" per line; objects are numbers, 0 is the root).
// Usage: test_compare CHECKPOINT EDGE_FILE callback|edges
// Prints "matched NODE OBJECT", "only_in_checkpoint NODE" and "only_in_live OBJECT" lines for
// tests/cpp_binding.rs to compare with TensorFlow, then checks the callable's contract (at most
// one call per object, re-entrant use of the view) and exits 1 if it is broken.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ckview.hpp"

static std::vector<ckview::Edge> read_edges(const char *path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(std::string("cannot read ") + path);
  std::vector<ckview::Edge> edges;
  std::string line;
  while (std::getline(file, line)) {
    const std::size_t first = line.find('\t');
    const std::size_t second = line.find('\t', first + 1);
    if (first == std::string::npos || second == std::string::npos) throw std::runtime_error("bad edge line: " + line);
    edges.push_back(ckview::Edge{std::stoull(line.substr(0, first)), line.substr(second + 1),
                                 std::stoull(line.substr(first + 1, second - first - 1))});
  }
  return edges;
}

static std::vector<std::pair<uint32_t, uint64_t>> pairs_of(const ckview::Comparison &comparison) {
  std::vector<std::pair<uint32_t, uint64_t>> pairs;
  for (const auto &[node, object] : comparison.matched()) pairs.emplace_back(node, object);
  return pairs;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const std::string mode = argv[3];
  int failures = 0;
  const ckview::View view = ckview::View::open(argv[1]);
  const std::vector<ckview::Edge> edges = read_edges(argv[2]);

  // The live graph as the program's own structure: children of each object, in order.
  std::multimap<uint64_t, std::pair<std::string, uint64_t>> children_of;
  for (const ckview::Edge &edge : edges) children_of.emplace(edge.parent, std::make_pair(edge.name, edge.child));
  std::map<uint64_t, int> calls;
  const auto list_children = [&](uint64_t object, ckview::ChildSink &sink) {
    calls[object]++;
    // Re-entrant use of the same view, including a nested match, must work.
    if (view.children(0).size() != view.children(0).size()) failures++;
    const ckview::Comparison nested = view.match(7, [](uint64_t, ckview::ChildSink &) {});
    if (nested.matched().size() != 1 || nested.matched()[0].node_id != 0 || nested.matched()[0].object != 7) failures++;
    const auto range = children_of.equal_range(object);
    for (auto it = range.first; it != range.second; ++it) sink.add(it->second.first, it->second.second);
  };

  ckview::Comparison diff, match;
  if (mode == "callback") {
    diff = view.diff(0, list_children);
    for (const auto &[object, count] : calls)
      if (count > 1) std::cerr << "object " << object << " listed " << count << " times\n", failures++;
    match = view.match(0, list_children);
  } else {
    diff = view.diff_edges(0, edges);
    match = view.match_edges(0, edges);
  }
  for (const auto &[node, object] : diff.matched()) std::cout << "matched " << node << " " << object << "\n";
  for (uint32_t node : diff.only_in_checkpoint()) std::cout << "only_in_checkpoint " << node << "\n";
  for (uint64_t object : diff.only_in_live()) std::cout << "only_in_live " << object << "\n";

  // match gives the same pairs as diff, and no "only in" lists.
  if (pairs_of(match) != pairs_of(diff)) std::cerr << "match and diff disagree\n", failures++;
  if (!match.only_in_checkpoint().empty() || !match.only_in_live().empty()) failures++;
  if (diff.matched().empty() || diff.matched()[0].node_id != 0 || diff.matched()[0].object != 0) failures++;

  // The checkpoint against itself: everything matches, node by node.
  const ckview::Comparison itself = view.diff(view);
  if (!itself.only_in_checkpoint().empty() || !itself.only_in_live().empty()) failures++;
  for (const auto &[node, object] : itself.matched())
    if (node != object) failures++;

  if (failures != 0) std::cerr << failures << " failures\n";
  return failures != 0;
}
