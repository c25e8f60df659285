/* ckview_export_safetensors and ckview_export_names from C: a naming callback that renames and
 * leaves out, a progress callback, the names list, and the statuses of mistakes, with nothing
 * written for them.
 * Usage: test_export TF2_CHECKPOINT ZOO_CHECKPOINT OUT_DIR
 * Prints `NAME KEY` per exported tensor, then `report TENSORS BYTES FILES DROPPED DESELECTED`. */
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

/* Kernels are renamed `weights/PATH`; every other tensor of the model keeps its name. */
static int32_t rename_kernels(void *userdata, const ckview_export_tensor *tensor, ckview_export_name *name) {
  int *calls = userdata;
  (*calls)++;
  if (!tensor->has_path || tensor->dtype == NULL || tensor->rank > 8) return 1;
  if (tensor->path.len > 7 && memcmp(tensor->path.ptr + tensor->path.len - 7, ".kernel", 7) == 0) {
    char renamed[512];
    int len = snprintf(renamed, sizeof renamed, "weights/%.*s", (int)tensor->path.len, tensor->path.ptr);
    return ckview_export_name_set(name, renamed, (size_t)len) == CKVIEW_OK ? 0 : 2;
  }
  if (strcmp(tensor->dtype, "int64") == 0) return ckview_export_name_skip(name) == CKVIEW_OK ? 0 : 2;
  return 0;
}

static int32_t stop_at_third(void *userdata, uint64_t done, uint64_t total) {
  int *calls = userdata;
  (*calls)++;
  return done <= total && *calls == 3 ? 77 : 0;
}

static int32_t one_name(void *userdata, const ckview_export_tensor *tensor, ckview_export_name *name) {
  (void)userdata;
  (void)tensor;
  return ckview_export_name_set(name, "same", 4) == CKVIEW_OK ? 0 : 2;
}

static void expect_failure(const ckview_reader *reader, const char *out, const ckview_export_options *options,
                           ckview_status expected, int32_t code, const char *needle) {
  ckview_error *error = NULL;
  ckview_export_report report;
  memset(&report, 0x5a, sizeof report);
  ckview_status status = ckview_export_safetensors(reader, out, options, &report, &error);
  CHECK(status == expected);
  CHECK(error != NULL && ckview_error_status(error) == expected);
  CHECK(ckview_error_callback_code(error) == code);
  if (needle) CHECK(strstr(ckview_error_message(error), needle) != NULL);
  if (status != expected) fprintf(stderr, "got %s: %s\n", ckview_status_name(status), ckview_error_message(error));
  ckview_error_free(error);
  CHECK(report.tensors == 0x5a5a5a5a5a5a5a5aULL); /* out-parameters are written only on success */
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s TF2_CHECKPOINT ZOO_CHECKPOINT OUT_DIR\n", argv[0]);
    return 2;
  }
  ckview_view *view = NULL;
  ckview_error *error = NULL;
  if (ckview_open(argv[1], &view, &error) != CKVIEW_OK) {
    fprintf(stderr, "%s\n", ckview_error_message(error));
    ckview_error_free(error);
    return 1;
  }
  const ckview_reader *reader = NULL;
  CHECK(ckview_reader_of_view(view, &reader) == CKVIEW_OK);

  int calls = 0;
  ckview_export_options options;
  memset(&options, 0, sizeof options);
  options.flags = CKVIEW_EXPORT_DROP_OPTIMIZER_STATE;
  options.name = rename_kernels;
  options.userdata = &calls;

  ckview_export_name_list *names = NULL;
  CHECK(ckview_export_names(reader, &options, &names, NULL) == CKVIEW_OK);
  size_t count = ckview_export_names_count(names);
  for (size_t i = 0; i < count; i++) {
    ckview_str name, key;
    CHECK(ckview_export_names_get(names, i, &name, &key) == CKVIEW_OK);
    printf("%.*s %.*s\n", (int)name.len, name.ptr, (int)key.len, key.ptr);
  }
  ckview_str unused;
  CHECK(ckview_export_names_get(names, count, &unused, &unused) == CKVIEW_INDEX_OUT_OF_RANGE);
  ckview_export_names_free(names);
  ckview_export_names_free(NULL);
  CHECK(calls > 0);

  ckview_export_report report;
  CHECK(ckview_export_safetensors(reader, out_path(argv[3], "c.safetensors"), &options, &report, NULL) == CKVIEW_OK);
  printf("report %llu %llu %llu %llu %llu\n", (unsigned long long)report.tensors, (unsigned long long)report.bytes,
         (unsigned long long)report.files, (unsigned long long)report.dropped_optimizer_state,
         (unsigned long long)report.deselected);
  CHECK(report.tensors == count);

  /* Mistakes: nothing is written for any of them. */
  ckview_export_options stopping;
  memset(&stopping, 0, sizeof stopping);
  int progress_calls = 0;
  stopping.progress = stop_at_third;
  stopping.userdata = &progress_calls;
  stopping.max_shard_size = 64;
  expect_failure(reader, out_path(argv[3], "stopped.safetensors"), &stopping, CKVIEW_CALLBACK_FAILED, 77, "stopped");
  ckview_export_options duplicate;
  memset(&duplicate, 0, sizeof duplicate);
  duplicate.name = one_name;
  expect_failure(reader, out_path(argv[3], "duplicate.safetensors"), &duplicate, CKVIEW_DUPLICATE_NAME, 0, "same");
  ckview_export_options bad;
  memset(&bad, 0, sizeof bad);
  bad.flags = 1u << 7;
  expect_failure(reader, out_path(argv[3], "bad.safetensors"), &bad, CKVIEW_INVALID_ARGUMENT, 0, "flags");
  expect_failure(reader, out_path(argv[3], "no/such/dir.safetensors"), NULL, CKVIEW_IO_ERROR, 0, NULL);
  CHECK(ckview_export_safetensors(NULL, "x", NULL, NULL, NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_export_safetensors(reader, NULL, NULL, NULL, NULL) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_export_name_set(NULL, "x", 1) == CKVIEW_INVALID_ARGUMENT);
  CHECK(ckview_export_name_skip(NULL) == CKVIEW_INVALID_ARGUMENT);

  ckview_reader *zoo = NULL;
  CHECK(ckview_reader_open(argv[2], &zoo, NULL) == CKVIEW_OK);
  expect_failure(zoo, out_path(argv[3], "zoo.safetensors"), NULL, CKVIEW_UNSUPPORTED_DTYPE, 0, "complex128");
  ckview_reader_free(zoo);
  ckview_close(view);
  return failed ? 1 : 0;
}
