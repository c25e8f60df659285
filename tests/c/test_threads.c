/* One view shared by many threads: every thread walks the whole graph through every read-only
 * call at once and must see exactly what the main thread saw. Usage: test_threads CHECKPOINT */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ckview.h"

#define THREADS 8
#define ROUNDS 200

/* A checksum of everything the view answers, so threads can compare without sharing buffers. */
static unsigned long walk(const ckview_view *view) {
  unsigned long sum = 0;
  size_t nodes = 0;
  if (ckview_node_count(view, &nodes) != CKVIEW_OK) return 0;
  for (uint32_t node = 0; node < nodes; node++) {
    const ckview_child *children = NULL;
    size_t count = 0;
    if (ckview_children(view, node, &children, &count) != CKVIEW_OK) return 0;
    for (size_t i = 0; i < count; i++) {
      for (size_t j = 0; j < children[i].name.len; j++) sum = sum * 31 + (unsigned char)children[i].name.ptr[j];
      sum = sum * 31 + children[i].node_id;
    }
    char path[256];
    size_t length = 0;
    if (ckview_path(view, node, path, sizeof path, &length) == CKVIEW_OK)
      for (size_t j = 0; j < length; j++) sum = sum * 31 + (unsigned char)path[j];
  }
  const uint32_t *ids = NULL;
  size_t count = 0;
  ckview_descendants(view, &ids, &count);
  for (size_t i = 0; i < count; i++) sum = sum * 31 + ids[i];
  return sum;
}

static const ckview_view *shared_view;
static unsigned long expected;

static void *worker(void *argument) {
  int *mismatches = argument;
  for (int round = 0; round < ROUNDS; round++)
    if (walk(shared_view) != expected) (*mismatches)++;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  ckview_view *view = NULL, *fresh = NULL;
  if (ckview_open(argv[1], &view, NULL) != CKVIEW_OK) return 1;
  if (ckview_open(argv[1], &fresh, NULL) != CKVIEW_OK) return 1;
  expected = walk(view);
  /* The threads start on a view none of whose borrowed arrays exist yet, so they race to build
   * them on first use. */
  shared_view = fresh;
  pthread_t threads[THREADS];
  int mismatches[THREADS];
  memset(mismatches, 0, sizeof mismatches);
  for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, &mismatches[i]);
  int passed = 0, failed = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    if (mismatches[i] == 0) passed++; else failed++;
  }
  ckview_close(fresh);
  ckview_close(view);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0 || expected == 0;
}
