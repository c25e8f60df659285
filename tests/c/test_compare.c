/* match and diff through the C ABI, with the live graph read from an edge file
 * ("PARENT<TAB>CHILD<TAB>NAME" per line, objects are numbers, 0 is the root).
 * Usage: test_compare CHECKPOINT EDGE_FILE callback|edges
 * Prints "matched NODE OBJECT", "only_in_checkpoint NODE", "only_in_live OBJECT" lines, then
 * checks the callback contract (at most one call per object, re-entrant calls, errors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckview.h"

#define MAX_EDGES 4096
#define MAX_OBJECTS 4096

typedef struct {
  uint64_t parent, child;
  char name[256];
} edge;

typedef struct {
  const ckview_view *view;
  const edge *edges;
  size_t edge_count;
  int calls[MAX_OBJECTS];
  uint64_t fail_on; /* object whose listing fails, or UINT64_MAX */
} live_graph;

static int no_children(void *userdata, uint64_t object, ckview_child_sink *sink) {
  (void)userdata, (void)object, (void)sink;
  return 0;
}

static int list_children(void *userdata, uint64_t object, ckview_child_sink *sink) {
  live_graph *graph = userdata;
  if (object >= MAX_OBJECTS) return -1;
  graph->calls[object]++;
  if (object == graph->fail_on) return 42;
  /* Re-entrant calls on the same view, including a nested match, must work. */
  const ckview_child *children = NULL;
  size_t count = 0;
  if (ckview_children(graph->view, 0, &children, &count) != CKVIEW_OK) return -2;
  ckview_comparison *nested = NULL;
  if (ckview_match(graph->view, 7, no_children, NULL, &nested, NULL) != CKVIEW_OK) return -3;
  ckview_comparison_free(nested);
  for (size_t i = 0; i < graph->edge_count; i++) {
    const edge *e = &graph->edges[i];
    if (e->parent == object && ckview_child_sink_add(sink, e->name, strlen(e->name), e->child) != CKVIEW_OK) return -4;
  }
  return 0;
}

static size_t read_edges(const char *path, edge *edges) {
  FILE *file = fopen(path, "r");
  if (!file) exit(3);
  size_t count = 0;
  unsigned long long parent, child;
  while (count < MAX_EDGES && fscanf(file, "%llu\t%llu\t%255[^\n]\n", &parent, &child, edges[count].name) == 3) {
    edges[count].parent = parent;
    edges[count].child = child;
    count++;
  }
  fclose(file);
  return count;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  static edge edges[MAX_EDGES];
  static live_graph graph;
  ckview_view *view = NULL;
  if (ckview_open(argv[1], &view, NULL) != CKVIEW_OK) return 1;
  graph.view = view;
  graph.edges = edges;
  graph.edge_count = read_edges(argv[2], edges);
  graph.fail_on = UINT64_MAX;

  ckview_comparison *diff = NULL;
  ckview_error *error = NULL;
  ckview_status status;
  if (strcmp(argv[3], "callback") == 0) {
    status = ckview_diff(view, 0, list_children, &graph, &diff, &error);
  } else {
    static ckview_edge c_edges[MAX_EDGES];
    for (size_t i = 0; i < graph.edge_count; i++) {
      c_edges[i].parent = edges[i].parent;
      c_edges[i].child = edges[i].child;
      c_edges[i].name.ptr = edges[i].name;
      c_edges[i].name.len = strlen(edges[i].name);
    }
    status = ckview_diff_edges(view, 0, c_edges, graph.edge_count, &diff, &error);
  }
  if (status != CKVIEW_OK) {
    fprintf(stderr, "diff failed: %s\n", ckview_error_message(error));
    return 1;
  }
  const ckview_matched_pair *pairs = NULL;
  const uint32_t *nodes = NULL;
  const uint64_t *objects = NULL;
  size_t count = 0;
  ckview_comparison_matched(diff, &pairs, &count);
  for (size_t i = 0; i < count; i++) printf("matched %u %llu\n", pairs[i].node_id, (unsigned long long)pairs[i].object);
  ckview_comparison_only_in_checkpoint(diff, &nodes, &count);
  for (size_t i = 0; i < count; i++) printf("only_in_checkpoint %u\n", nodes[i]);
  ckview_comparison_only_in_live(diff, &objects, &count);
  for (size_t i = 0; i < count; i++) printf("only_in_live %llu\n", (unsigned long long)objects[i]);
  ckview_comparison_free(diff);

  int failures = 0;
  for (size_t object = 0; object < MAX_OBJECTS; object++)
    if (graph.calls[object] > 1) fprintf(stderr, "object %zu listed %d times\n", object, graph.calls[object]), failures++;

  /* A failing callback aborts with its own status and its code intact; nothing is returned. */
  graph.fail_on = 0;
  ckview_comparison *none = NULL;
  status = ckview_match(view, 0, list_children, &graph, &none, &error);
  if (status != CKVIEW_CALLBACK_FAILED || ckview_error_callback_code(error) != 42 || none != NULL) failures++;
  ckview_error_free(error);
  if (ckview_match(view, 0, NULL, NULL, &none, NULL) != CKVIEW_INVALID_ARGUMENT) failures++;
  if (ckview_diff_edges(view, 0, NULL, 3, &none, NULL) != CKVIEW_INVALID_ARGUMENT) failures++;
  if (ckview_child_sink_add(NULL, "x", 1, 0) != CKVIEW_INVALID_ARGUMENT) failures++;
  ckview_comparison_free(NULL);

  /* Checkpoint against itself: everything matches. */
  if (ckview_diff_view(view, view, &diff, NULL) != CKVIEW_OK) failures++;
  ckview_comparison_only_in_checkpoint(diff, &nodes, &count);
  if (count != 0) failures++;
  ckview_comparison_free(diff);

  ckview_close(view);
  fprintf(stderr, "%d failures\n", failures);
  return failures != 0;
}
