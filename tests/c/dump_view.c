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
  MUST(ckview_node_count(view, &nodes));
  printf("nodes %zu\n", nodes);
  for (uint32_t node = 0; node < nodes; node++) {
    const ckview_child *children = NULL;
    size_t count = 0;
    MUST(ckview_children(view, node, &children, &count));
    for (size_t i = 0; i < count; i++) {
      printf("child %u", node);
      print_str(children[i].name);
      printf(" %u\n", children[i].node_id);
    }
  }
  const uint32_t *ids = NULL;
  size_t count = 0;
  MUST(ckview_descendants(view, &ids, &count));
  for (size_t i = 0; i < count; i++) printf("descendant %u\n", ids[i]);
  for (size_t i = 0; i < count; i++) {
    size_t length = 0;
    if (ckview_path(view, ids[i], NULL, 0, &length) != CKVIEW_BUFFER_TOO_SMALL) return 1;
    char *path = malloc(length + 1);
    MUST(ckview_path(view, ids[i], path, length + 1, &length));
    printf("path %u %s\n", ids[i], path);
    free(path);
  }
  for (uint32_t node = 0; node < nodes; node++) {
    const ckview_attribute *attributes = NULL;
    size_t attribute_count = 0;
    MUST(ckview_attributes(view, node, &attributes, &attribute_count));
    for (size_t i = 0; i < attribute_count; i++) {
      printf("attribute %u", node);
      print_str(attributes[i].name);
      print_str(attributes[i].full_name);
      print_str(attributes[i].checkpoint_key);
      printf("\n");
    }
    const ckview_slot_variable *slots = NULL;
    size_t slot_count = 0;
    MUST(ckview_slot_variables(view, node, &slots, &slot_count));
    for (size_t i = 0; i < slot_count; i++) {
      printf("slot %u %u", node, slots[i].original_variable_node_id);
      print_str(slots[i].slot_name);
      printf(" %u\n", slots[i].slot_variable_node_id);
    }
    bool present = false;
    ckview_registered_saver saver;
    MUST(ckview_saver(view, node, &present, &saver));
    if (present) {
      printf("saver %u", node);
      print_str(saver.name);
      print_str(saver.object_name);
      printf("\n");
    }
    const ckview_variable_slot *variable_slots = NULL;
    size_t variable_slot_count = 0;
    MUST(ckview_variable_slots(view, node, &variable_slots, &variable_slot_count));
    for (size_t i = 0; i < variable_slot_count; i++) {
      printf("varslot %u", node);
      print_str(variable_slots[i].slot_name);
      printf(" %u %u\n", variable_slots[i].optimizer_node_id, variable_slots[i].slot_node_id);
    }
    ckview_optional_bool flag;
    MUST(ckview_has_checkpoint_values(view, node, &flag));
    printf("flag %u %s\n", node, flag == CKVIEW_UNSET ? "unset" : flag == CKVIEW_TRUE ? "true" : "false");
  }
  ckview_close(view);
  return 0;
}
