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
  size_t count = 0;
  ckview_view_child_count(view, 0, &count);
  for (size_t i = 0; i < count; i++) {
    ckview_child child;
    ckview_view_child(view, 0, i, &child);
    printf("- name: '%.*s', node_id: %u\n", (int)child.name.len, child.name.ptr, child.node_id);
  }
  ckview_view_free(view);
  return 0;
}
