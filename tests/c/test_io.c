/* The caller's own storage (ckview_io_methods): a checkpoint read through callbacks gives the
 * same answers as local files; a storage whose reads start failing gives CKVIEW_IO_ERROR with
 * the caller's code at every later call, never a crash; every file opened is closed.
 *   test_io CHECKPOINT_PREFIX FAIL_AFTER   (FAIL_AFTER reads succeed, then each fails; -1: none)
 * Prints the root's children as examples/c/children.c does, then one line per tensor read.
 */
#define _XOPEN_SOURCE 700 /* pread, fstat */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckview.h"

typedef struct {
  long reads_left; /* -1: never fail */
  int opens, closes;
} storage;

static int32_t io_open(void *userdata, const char *path, size_t path_len, void **file_out) {
  storage *s = userdata;
  char *name = malloc(path_len + 1);
  memcpy(name, path, path_len);
  name[path_len] = 0;
  int fd = open(name, O_RDONLY);
  free(name);
  if (fd < 0) return errno;
  s->opens++;
  *file_out = (void *)(intptr_t)(fd + 1); /* never NULL */
  return 0;
}

static int32_t io_size(void *userdata, void *file, uint64_t *size_out) {
  (void)userdata;
  struct stat st;
  if (fstat((int)(intptr_t)file - 1, &st) != 0) return errno;
  *size_out = (uint64_t)st.st_size;
  return 0;
}

static int32_t io_read(void *userdata, void *file, uint64_t offset, void *buffer, size_t length) {
  storage *s = userdata;
  if (s->reads_left == 0) return EIO;
  if (s->reads_left > 0) s->reads_left--;
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread((int)(intptr_t)file - 1, (char *)buffer + done, length - done, (off_t)(offset + done));
    if (n <= 0) return n == 0 ? ENODATA : errno;
    done += (size_t)n;
  }
  return 0;
}

static void io_close(void *userdata, void *file) {
  storage *s = userdata;
  s->closes++;
  close((int)(intptr_t)file - 1);
}

static const ckview_io_methods methods = {io_open, io_size, io_read, io_close};

/* Prints the status of a failed call; for an I/O error, the caller's code must come back. */
static int report(const char *what, ckview_status status, ckview_error *error) {
  int code = ckview_error_callback_code(error);
  printf("%s %s code %d\n", what, ckview_status_name(status), code);
  int bad = status == CKVIEW_IO_ERROR && code != EIO;
  ckview_error_free(error);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  storage s = {atol(argv[2]), 0, 0};
  ckview_open_options options = {0, &methods, &s};
  int failures = 0;

  ckview_view *view = NULL;
  ckview_error *error = NULL;
  ckview_status status = ckview_open_with(argv[1], &options, &view, &error);
  if (status != CKVIEW_OK) {
    failures += report("open", status, error);
  } else {
    const ckview_child *children = NULL;
    size_t count = 0;
    if (ckview_children(view, 0, &children, &count) == CKVIEW_OK)
      for (size_t i = 0; i < count; i++)
        printf("- name: '%.*s', node_id: %u\n", (int)children[i].name.len, children[i].name.ptr, children[i].node_id);
    const ckview_reader *reader = NULL;
    ckview_tensor_list *list = NULL;
    ckview_reader_of_view(view, &reader);
    status = ckview_reader_list(reader, &list, &error);
    if (status != CKVIEW_OK) {
      failures += report("list", status, error);
    } else {
      size_t tensors = 0;
      ckview_tensor_list_count(list, &tensors);
      for (size_t i = 0; i < tensors; i++) {
        const ckview_tensor *tensor = NULL;
        ckview_tensor_list_get(list, i, &tensor);
        ckview_str key;
        ckview_tensor_key(tensor, &key);
        uint64_t size = 0;
        error = NULL;
        status = ckview_tensor_size_bytes(tensor, &size);
        if (status == CKVIEW_OK) {
          void *buffer = malloc(size ? size : 1);
          status = ckview_tensor_read(tensor, buffer, size, 0, &error);
          free(buffer);
        }
        if (status == CKVIEW_OK || status == CKVIEW_UNSUPPORTED_DTYPE) {
          printf("read %.*s\n", (int)key.len, key.ptr);
          ckview_error_free(error);
        } else {
          failures += report("read", status, error);
        }
      }
      ckview_tensor_list_free(list);
    }
    /* A borrow needs maps, which the caller's storage cannot give: a clear status. */
    const ckview_tensor *first = NULL;
    ckview_tensor_list *again = NULL;
    if (ckview_reader_list(reader, &again, NULL) == CKVIEW_OK && ckview_tensor_list_get(again, 0, &first) == CKVIEW_OK) {
      const void *data = NULL;
      size_t length = 0;
      status = ckview_tensor_borrow(first, &data, &length, 0, NULL);
      if (status == CKVIEW_OK) failures++;
    }
    ckview_tensor_list_free(again);
    ckview_close(view);
  }
  /* Options that make no sense are refused before anything is opened. */
  ckview_open_options both = {CKVIEW_OPEN_MMAP, &methods, &s};
  if (ckview_open_with(argv[1], &both, &view, NULL) != CKVIEW_INVALID_ARGUMENT) failures++;
  ckview_open_options unknown = {0x80, NULL, NULL};
  if (ckview_open_with(argv[1], &unknown, &view, NULL) != CKVIEW_INVALID_ARGUMENT) failures++;
  ckview_io_methods incomplete = {io_open, NULL, io_read, NULL};
  ckview_open_options partial = {0, &incomplete, &s};
  if (ckview_open_with(argv[1], &partial, &view, NULL) != CKVIEW_INVALID_ARGUMENT) failures++;

  printf("opens %s closes\n", s.opens == s.closes ? "==" : "!=");
  return failures != 0 || s.opens != s.closes;
}
