/* The C ABI's contract on bad input: specific statuses, readable messages, NULL-tolerant frees,
 * out-parameters untouched on failure. Usage: test_errors FIXTURES_DIR */
#include <stdio.h>
#include <string.h>

#include "ckview.h"

static int passed, failed;

#define CHECK(condition)                                                  \
  do {                                                                    \
    if (condition) {                                                      \
      passed++;                                                           \
    } else {                                                              \
      failed++;                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
    }                                                                     \
  } while (0)

static char path_buffer[4096];
static const char *fixture(const char *dir, const char *relative) {
  snprintf(path_buffer, sizeof path_buffer, "%s/%s", dir, relative);
  return path_buffer;
}

/* Opens `path` and checks the status and that the message mentions `needle`. */
static void expect_open_failure(const char *path, ckview_status expected, const char *needle) {
  ckview_view *view = (ckview_view *)0x1; /* must stay untouched */
  ckview_error *error = NULL;
  ckview_status status = ckview_open(path, &view, &error);
  CHECK(status == expected);
  CHECK(view == (ckview_view *)0x1);
  CHECK(error != NULL);
  CHECK(ckview_error_status(error) == expected);
  CHECK(strstr(ckview_error_message(error), needle) != NULL);
  if (status != expected) fprintf(stderr, "  %s: got %s: %s\n", path, ckview_status_name(status), ckview_error_message(error));
  ckview_error_free(error);
  /* Without error_out, only the status. */
  CHECK(ckview_open(path, &view, NULL) == expected);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *dir = argv[1];

  expect_open_failure(fixture(dir, "tf1_name_based/model.ckpt"), CKVIEW_NAME_BASED_CHECKPOINT, "TF1 name-based");
  expect_open_failure(fixture(dir, "doc_children/missing-1"), CKVIEW_NOT_FOUND, "missing-1.index");
  expect_open_failure(fixture(dir, "crafted_bad_ref/bad"), CKVIEW_CORRUPT_OBJECT_GRAPH, "node id");
  expect_open_failure(fixture(dir, "crafted_corrupt_graph/corrupt"), CKVIEW_CORRUPT_OBJECT_GRAPH, "undecodable");
  expect_open_failure(fixture(dir, "doc_children/listing.txt"), CKVIEW_NOT_FOUND, "listing.txt");

  ckview_view *view = NULL;
  CHECK(ckview_open(NULL, &view, NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_open(fixture(dir, "doc_children/tf_ckpts-1"), NULL, NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_open(fixture(dir, "doc_children/tf_ckpts-1"), &view, NULL) == CKVIEW_OK);

  const ckview_child *children = NULL;
  size_t count = 99;
  CHECK(ckview_children(NULL, 0, &children, &count) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_children(view, 0, NULL, &count) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_children(view, 0, &children, NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_children(view, 13, &children, &count) == CKVIEW_NODE_OUT_OF_RANGE);
  CHECK(ckview_children(view, 0xffffffffu, &children, &count) == CKVIEW_NODE_OUT_OF_RANGE);
  CHECK(count == 99 && children == NULL);
  CHECK(ckview_children(view, 1, &children, &count) == CKVIEW_OK && count == 0);
  const ckview_attribute *attributes = NULL;
  CHECK(ckview_attributes(view, 0, &attributes, &count) == CKVIEW_OK && count == 0);
  CHECK(ckview_attributes(view, 1, &attributes, &count) == CKVIEW_OK && count == 1);
  CHECK(attributes[0].checkpoint_key.len == strlen("a_var/.ATTRIBUTES/VARIABLE_VALUE"));
  CHECK(ckview_attributes(view, 13, &attributes, &count) == CKVIEW_NODE_OUT_OF_RANGE);
  const ckview_slot_variable *slots = NULL;
  CHECK(ckview_slot_variables(view, 13, &slots, &count) == CKVIEW_NODE_OUT_OF_RANGE);
  const ckview_variable_slot *variable_slots = NULL;
  CHECK(ckview_variable_slots(view, 1, &variable_slots, NULL) == CKVIEW_INVALID_ARGUMENT);

  char small[4];
  size_t length = 0;
  CHECK(ckview_path(view, 1, small, sizeof small, &length) == CKVIEW_BUFFER_TOO_SMALL);
  CHECK(length == strlen("root.a_var"));
  CHECK(ckview_path(view, 1, NULL, 5, &length) == CKVIEW_INVALID_ARGUMENT);

  const uint32_t *ids = NULL;
  CHECK(ckview_descendants(view, &ids, NULL) == CKVIEW_INVALID_ARGUMENT);
  ckview_close(view);

  /* Frees accept NULL; accessors of a NULL error are harmless. */
  ckview_close(NULL);
  ckview_error_free(NULL);
  CHECK(ckview_error_status(NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(strcmp(ckview_error_message(NULL), "") == 0);

  /* Every status has a name; other numbers do not crash. */
  CHECK(strcmp(ckview_status_name(CKVIEW_OK), "CKVIEW_OK") == 0);
  CHECK(strcmp(ckview_status_name(CKVIEW_NAME_BASED_CHECKPOINT), "CKVIEW_NAME_BASED_CHECKPOINT") == 0);
  CHECK(strcmp(ckview_status_name(-7), "unknown status") == 0);
  CHECK(strlen(ckview_version()) >= 5);

  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
