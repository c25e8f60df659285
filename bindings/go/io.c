// C half of a Go Storage: the ckview_io_methods table whose callbacks forward to the exported
// Go trampolines of storage_callbacks.go, with the cgo.Handle of the storage session and the
// id of each open file as integers (Go must not turn an integer into an unsafe.Pointer itself).

#include <stdint.h>
#include "ckview.h"
#include "_cgo_export.h"

static int32_t ckview_go_io_open(void *userdata, const char *path, size_t path_len, void **file_out) {
  uintptr_t file = 0;
  int32_t code = ckviewGoIOOpen((uintptr_t)userdata, (char *)path, path_len, &file);
  if (code == 0) *file_out = (void *)file;
  return code;
}

static int32_t ckview_go_io_size(void *userdata, void *file, uint64_t *size_out) {
  return ckviewGoIOSize((uintptr_t)userdata, (uintptr_t)file, size_out);
}

static int32_t ckview_go_io_read(void *userdata, void *file, uint64_t offset, void *buffer, size_t length) {
  return ckviewGoIORead((uintptr_t)userdata, (uintptr_t)file, offset, buffer, length);
}

static void ckview_go_io_close(void *userdata, void *file) {
  ckviewGoIOClose((uintptr_t)userdata, (uintptr_t)file);
}

static const ckview_io_methods ckview_go_io = {
    ckview_go_io_open, ckview_go_io_size, ckview_go_io_read, ckview_go_io_close};

// ckview_open_with / ckview_reader_open_with with flags and, when session is not 0, the Go
// storage whose session handle it is.
ckview_status ckview_go_open(const char *path, uint32_t flags, uintptr_t session, ckview_view **view_out,
                             ckview_error **error_out) {
  ckview_open_options options = {flags, session ? &ckview_go_io : NULL, (void *)session};
  return ckview_open_with(path, &options, view_out, error_out);
}

ckview_status ckview_go_reader_open(const char *path, uint32_t flags, uintptr_t session, ckview_reader **reader_out,
                                    ckview_error **error_out) {
  ckview_open_options options = {flags, session ? &ckview_go_io : NULL, (void *)session};
  return ckview_reader_open_with(path, &options, reader_out, error_out);
}
