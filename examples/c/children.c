/* Prints the children of a checkpoint's root as the tf.train.CheckpointView documentation does:
 *   cc children.c -Iinclude -Ltarget/release -lckview -o children && ./children CHECKPOINT
 */
#include <stdio.h>

#include "ckview.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CHECKPOINT\n", argv[0]);
    return 2;
  }
  ckview_view *view = NULL;
  ckview_error *error = NULL;
  if (ckview_open(argv[1], &view, &error) != CKVIEW_OK) {
    fprintf(stderr, "%s: %s\n", ckview_status_name(ckview_error_status(error)), ckview_error_message(error));
    ckview_error_free(error);
    return 1;
  }
  /* The children of node 0 (the root), in TensorFlow's order, borrowed from the view. */
  const ckview_child *children = NULL;
  size_t count = 0;
  ckview_status status = ckview_children(view, 0, &children, &count);
  for (size_t i = 0; status == CKVIEW_OK && i < count; i++) {
    printf("- name: '%.*s', node_id: %u\n", (int)children[i].name.len, children[i].name.ptr, children[i].node_id);
  }
  ckview_close(view);
  return status == CKVIEW_OK ? 0 : 1;
}
