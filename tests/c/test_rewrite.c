/* ckview_rewrite from C: a rewrite through a reader and through a view's reader, its summary,
 * and the statuses of mistakes, with nothing written for them.
 * Usage: test_rewrite TF2_CHECKPOINT TF1_CHECKPOINT OUT_DIR
 * Prints one line per rewrite: `NAME nodes A B tensors C D bytes E F`. */
#include <stdio.h>
#include <string.h>

#include "ckview.h"

static int failed;

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      failed++;                                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition);      \
    }                                                                                    \
  } while (0)

static char out_buffer[4096];
static const char *out_path(const char *dir, const char *name) {
  snprintf(out_buffer, sizeof out_buffer, "%s/%s", dir, name);
  return out_buffer;
}

static ckview_str str(const char *text) {
  ckview_str s = {text, strlen(text)};
  return s;
}

static void print_summary(const char *name, const ckview_rewrite_summary *s) {
  printf("%s nodes %zu %zu tensors %zu %zu bytes %llu %llu\n", name, s->nodes_before, s->nodes_after, s->tensors_before,
         s->tensors_after, (unsigned long long)s->bytes_before, (unsigned long long)s->bytes_after);
}

/* A rewrite that must fail with `expected` and a message containing `needle`. */
static void expect_failure(const ckview_reader *reader, const char *out, const ckview_rewrite_options *options,
                           ckview_status expected, const char *needle) {
  ckview_rewrite_summary summary;
  memset(&summary, 0x5a, sizeof summary);
  ckview_error *error = NULL;
  ckview_status status = ckview_rewrite(reader, out, options, &summary, &error);
  CHECK(status == expected);
  CHECK(summary.nodes_before == (size_t)0x5a5a5a5a5a5a5a5aULL); /* untouched on failure */
  if (expected != CKVIEW_OK) {
    CHECK(error != NULL && ckview_error_status(error) == expected);
    CHECK(error != NULL && strstr(ckview_error_message(error), needle) != NULL);
    if (status != expected || (error && !strstr(ckview_error_message(error), needle)))
      fprintf(stderr, "  got %s: %s\n", ckview_status_name(status), error ? ckview_error_message(error) : "");
  }
  ckview_error_free(error);
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const char *dir = argv[3];
  ckview_reader *reader = NULL;
  CHECK(ckview_reader_open(argv[1], &reader, NULL) == CKVIEW_OK);

  /* --drop-slots through a reader. */
  ckview_rewrite_options drop_slots = {CKVIEW_REWRITE_DROP_SLOTS, NULL, 0, NULL, 0};
  ckview_rewrite_summary summary;
  ckview_error *error = NULL;
  CHECK(ckview_rewrite(reader, out_path(dir, "c-drop-slots"), &drop_slots, &summary, &error) == CKVIEW_OK);
  print_summary("c-drop-slots", &summary);
  /* A plain copy, with NULL options and no summary. */
  CHECK(ckview_rewrite(reader, out_path(dir, "c-copy"), NULL, NULL, NULL) == CKVIEW_OK);

  /* --select root.model --drop-slots through the reader of a view. */
  ckview_view *view = NULL;
  CHECK(ckview_open(argv[1], &view, NULL) == CKVIEW_OK);
  const ckview_reader *of_view = NULL;
  CHECK(ckview_reader_of_view(view, &of_view) == CKVIEW_OK);
  ckview_str select[] = {str("root.model")};
  ckview_rewrite_options select_model = {CKVIEW_REWRITE_DROP_SLOTS, NULL, 0, select, 1};
  CHECK(ckview_rewrite(of_view, out_path(dir, "c-select-model"), &select_model, &summary, NULL) == CKVIEW_OK);
  print_summary("c-select-model", &summary);

  /* Mistakes: nothing is written for any of them (the caller checks OUT_DIR). */
  const char *never = out_path(dir, "never");
  char never_path[4096];
  snprintf(never_path, sizeof never_path, "%s", never);
  ckview_str unknown[] = {str("root.model.no_such_layer")};
  ckview_rewrite_options bad_path = {0, unknown, 1, NULL, 0};
  expect_failure(reader, never_path, &bad_path, CKVIEW_INVALID_ARGUMENT, "no_such_layer");
  ckview_str root[] = {str("root")};
  ckview_rewrite_options drop_root = {0, root, 1, NULL, 0};
  expect_failure(reader, never_path, &drop_root, CKVIEW_INVALID_ARGUMENT, "cannot be dropped");
  expect_failure(reader, argv[1], NULL, CKVIEW_INVALID_ARGUMENT, "the checkpoint being read");
  ckview_rewrite_options null_array = {0, NULL, 2, NULL, 0};
  expect_failure(reader, never_path, &null_array, CKVIEW_INVALID_ARGUMENT, "drop is NULL");
  ckview_str not_utf8[] = {{"\xff\xfe", 2}};
  ckview_rewrite_options bad_text = {0, NULL, 0, not_utf8, 1};
  expect_failure(reader, never_path, &bad_text, CKVIEW_INVALID_ARGUMENT, "not UTF-8");
  expect_failure(NULL, never_path, NULL, CKVIEW_INVALID_ARGUMENT, "reader");
  expect_failure(reader, NULL, NULL, CKVIEW_INVALID_ARGUMENT, "out_prefix");
  /* A directory that cannot be made: the output prefix under the TF1 checkpoint's index file. */
  char under_file[4096];
  snprintf(under_file, sizeof under_file, "%s.index/out", argv[2]);
  expect_failure(reader, under_file, NULL, CKVIEW_IO_ERROR, "cannot write");

  ckview_reader *tf1 = NULL;
  CHECK(ckview_reader_open(argv[2], &tf1, NULL) == CKVIEW_OK);
  snprintf(never_path, sizeof never_path, "%s/never", dir);
  expect_failure(tf1, never_path, &drop_slots, CKVIEW_NAME_BASED_CHECKPOINT, "by key");
  ckview_str no_key[] = {str("no/such/key")};
  ckview_rewrite_options bad_key = {0, NULL, 0, no_key, 1};
  expect_failure(tf1, never_path, &bad_key, CKVIEW_KEY_NOT_FOUND, "no/such/key");
  ckview_str adam[] = {str("*/Adam*")};
  ckview_rewrite_options drop_adam = {0, adam, 1, NULL, 0};
  CHECK(ckview_rewrite(tf1, out_path(dir, "c-tf1"), &drop_adam, &summary, NULL) == CKVIEW_OK);
  print_summary("c-tf1", &summary);

  ckview_reader_free(tf1);
  ckview_close(view);
  ckview_reader_free(reader);
  ckview_error_free(error);
  if (failed) fprintf(stderr, "%d checks failed\n", failed);
  return failed ? 1 : 0;
}
