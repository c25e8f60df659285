/* Lists every tensor of a bundle through ckview_reader and prints its value, for
 * tests/c_abi.rs to compare with TensorFlow's load_checkpoint:
 *   key KEY DTYPE [D0,D1]          (every listed tensor, in order)
 *   value KEY HEX                  (fixed-size tensors; the zero-copy borrow must agree)
 *   strings KEY HEX HEX ...        (string tensors, one hex word per element, "-" for empty)
 * Usage: dump_tensors CHECKPOINT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckview.h"

static void print_hex(const unsigned char *bytes, size_t len) {
  if (len == 0) printf("-");
  for (size_t i = 0; i < len; i++) printf("%02x", bytes[i]);
}

static int dump_value(const ckview_tensor *tensor, ckview_str key) {
  int32_t dtype = 0;
  ckview_tensor_dtype(tensor, &dtype);
  if (strcmp(ckview_dtype_name(dtype), "string") == 0) {
    ckview_string_list *strings = NULL;
    if (ckview_tensor_read_strings(tensor, &strings, NULL) != CKVIEW_OK) return 1;
    size_t count = 0;
    ckview_string_list_count(strings, &count);
    printf("strings %.*s", (int)key.len, key.ptr);
    for (size_t i = 0; i < count; i++) {
      ckview_str element;
      ckview_string_list_get(strings, i, &element);
      printf(" ");
      print_hex((const unsigned char *)element.ptr, element.len);
    }
    printf("\n");
    ckview_string_list_free(strings);
    return 0;
  }
  uint64_t size = 0;
  ckview_tensor_size_bytes(tensor, &size);
  unsigned char *buffer = malloc(size + 1);
  ckview_error *error = NULL;
  if (ckview_tensor_read(tensor, buffer, size, 0, &error) != CKVIEW_OK) {
    fprintf(stderr, "read failed: %s\n", ckview_error_message(error));
    ckview_error_free(error);
    free(buffer);
    return 1;
  }
  int failed = 0;
  const void *borrowed = NULL;
  size_t borrowed_len = 0;
  if (ckview_tensor_borrow(tensor, &borrowed, &borrowed_len, 0, NULL) == CKVIEW_OK)
    failed = borrowed_len != size || memcmp(borrowed, buffer, size) != 0;
  if (size > 0 && ckview_tensor_read(tensor, buffer, size - 1, 0, NULL) != CKVIEW_BUFFER_TOO_SMALL) failed = 1;
  printf("value %.*s ", (int)key.len, key.ptr);
  print_hex(buffer, size);
  printf("\n");
  free(buffer);
  return failed;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  /* Memory maps, so that ckview_tensor_borrow can lend the stored bytes. */
  ckview_open_options options = {CKVIEW_OPEN_MMAP, NULL, NULL};
  ckview_reader *reader = NULL;
  if (ckview_reader_open_with(argv[1], &options, &reader, NULL) != CKVIEW_OK) return 1;
  ckview_tensor_list *list = NULL;
  if (ckview_reader_list(reader, &list, NULL) != CKVIEW_OK) return 1;
  size_t count = 0, failures = 0;
  ckview_tensor_list_count(list, &count);
  for (size_t i = 0; i < count; i++) {
    const ckview_tensor *tensor = NULL;
    ckview_tensor_list_get(list, i, &tensor);
    ckview_str key;
    int32_t dtype = 0;
    const uint64_t *dims = NULL;
    size_t rank = 0;
    ckview_tensor_key(tensor, &key);
    ckview_tensor_dtype(tensor, &dtype);
    ckview_tensor_shape(tensor, &dims, &rank);
    printf("key %.*s %s [", (int)key.len, key.ptr, ckview_dtype_name(dtype));
    for (size_t d = 0; d < rank; d++) printf(d ? ",%llu" : "%llu", (unsigned long long)dims[d]);
    printf("]\n");
  }
  for (size_t i = 0; i < count; i++) {
    const ckview_tensor *listed = NULL;
    ckview_tensor_list_get(list, i, &listed);
    ckview_str key;
    ckview_tensor_key(listed, &key);
    if (key.len == 28 && memcmp(key.ptr, "_CHECKPOINTABLE_OBJECT_GRAPH", 28) == 0) continue;
    /* Look each key up again, as a program that knows its key would. */
    ckview_tensor *found = NULL;
    if (ckview_reader_find(reader, key.ptr, key.len, &found, NULL) != CKVIEW_OK) return 1;
    failures += dump_value(found, key);
    ckview_tensor_free(found);
  }
  ckview_tensor *missing = NULL;
  if (ckview_reader_find(reader, "no such key", 11, &missing, NULL) != CKVIEW_KEY_NOT_FOUND) failures++;
  ckview_tensor_list_free(list);
  ckview_reader_free(reader);
  return failures != 0;
}
