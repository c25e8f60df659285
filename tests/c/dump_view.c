/* Prints everything the C ABI says about a checkpoint's object graph, one fact per line, so that
 * tests/c_abi.rs can compare it with TensorFlow's goldens:
 *   nodes N
 *   child NODE NAME ID           (children(NODE) in dict order)
 *   descendant ID                (descendants() in order)
 *   path ID PATH                 (for each descendant)
 *   attribute NODE NAME FULL_NAME KEY
 *   slot NODE ORIGINAL NAME SLOT
 *   saver NODE NAME OBJECT_NAME
 *   varslot NODE SLOT_NAME OPTIMIZER SLOT_NODE   (the optimizer slots of a variable)
 *   flag NODE unset|false|true
 */
#include <stdio.h>
#include <stdlib.h>

#include "ckview.h"

#define MUST(call)                                                           \
  do {                                                                       \
    ckview_status status_ = (call);                                          \
    if (status_ != CKVIEW_OK) {                                              \
      fprintf(stderr, "%s failed: %s\n", #call, ckview_status_name(status_)); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

static void print_str(ckview_str text) { printf(" %.*s", (int)text.len, text.ptr); }

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  ckview_view *view = NULL;
  ckview_error *error = NULL;
  if (ckview_open(argv[1], &view, &error) != CKVIEW_OK) {
    printf("error %s\n", ckview_status_name(ckview_error_status(error)));
    ckview_error_free(error);
    return 0;
  }
  size_t nodes = 0;
  MUST(ckview_view_node_count(view, &nodes));
  printf("nodes %zu\n", nodes);
  for (uint32_t node = 0; node < nodes; node++) {
    size_t count = 0;
    MUST(ckview_view_child_count(view, node, &count));
    for (size_t i = 0; i < count; i++) {
      ckview_child child;
      MUST(ckview_view_child(view, node, i, &child));
      printf("child %u", node);
      print_str(child.name);
      printf(" %u\n", child.node_id);
    }
  }
  const uint32_t *ids = NULL;
  size_t count = 0;
  MUST(ckview_view_descendants(view, &ids, &count));
  for (size_t i = 0; i < count; i++) printf("descendant %u\n", ids[i]);
  for (size_t i = 0; i < count; i++) {
    size_t length = 0;
    if (ckview_view_path(view, ids[i], NULL, 0, &length) != CKVIEW_BUFFER_TOO_SMALL) return 1;
    char *path = malloc(length + 1);
    MUST(ckview_view_path(view, ids[i], path, length + 1, &length));
    printf("path %u %s\n", ids[i], path);
    free(path);
  }
  for (uint32_t node = 0; node < nodes; node++) {
    size_t attributes = 0, slots = 0;
    MUST(ckview_view_attribute_count(view, node, &attributes));
    for (size_t i = 0; i < attributes; i++) {
      ckview_attribute attribute;
      MUST(ckview_view_attribute(view, node, i, &attribute));
      printf("attribute %u", node);
      print_str(attribute.name);
      print_str(attribute.full_name);
      print_str(attribute.checkpoint_key);
      printf("\n");
    }
    MUST(ckview_view_slot_variable_count(view, node, &slots));
    for (size_t i = 0; i < slots; i++) {
      ckview_slot_variable slot;
      MUST(ckview_view_slot_variable(view, node, i, &slot));
      printf("slot %u %u", node, slot.original_variable_node_id);
      print_str(slot.slot_name);
      printf(" %u\n", slot.slot_variable_node_id);
    }
    bool present = false;
    ckview_registered_saver saver;
    MUST(ckview_view_registered_saver(view, node, &present, &saver));
    if (present) {
      printf("saver %u", node);
      print_str(saver.name);
      print_str(saver.object_name);
      printf("\n");
    }
    size_t variable_slots = 0;
    MUST(ckview_view_variable_slot_count(view, node, &variable_slots));
    for (size_t i = 0; i < variable_slots; i++) {
      ckview_variable_slot slot;
      MUST(ckview_view_variable_slot(view, node, i, &slot));
      printf("varslot %u", node);
      print_str(slot.slot_name);
      printf(" %u %u\n", slot.optimizer_node_id, slot.slot_node_id);
    }
    ckview_optional_bool flag;
    MUST(ckview_view_has_checkpoint_values(view, node, &flag));
    printf("flag %u %s\n", node, flag == CKVIEW_UNSET ? "unset" : flag == CKVIEW_TRUE ? "true" : "false");
  }
  ckview_view_free(view);
  return 0;
}
