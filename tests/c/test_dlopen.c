/* Loads libckview with dlopen/dlsym only (no link-time dependency), checks its version against
 * the header's before using anything else, then prints the documentation's listing.
 * Usage: test_dlopen PATH_TO_LIBCKVIEW CHECKPOINT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckview.h"

/* Resolves a symbol into a function pointer of the type the header declares. */
#define RESOLVE(handle, name)                                                   \
  __typeof__(&name) p_##name;                                                   \
  do {                                                                          \
    void *symbol_ = dlsym(handle, #name);                                       \
    if (!symbol_) {                                                             \
      fprintf(stderr, "missing symbol %s\n", #name);                            \
      return 1;                                                                 \
    }                                                                           \
    memcpy(&p_##name, &symbol_, sizeof symbol_);                                \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  RESOLVE(library, ckview_version);
  /* Same major (and, while it is 0, same minor) version as this header, or stop here. */
  unsigned major = 0, minor = 0, patch = 0;
  if (sscanf(p_ckview_version(), "%u.%u.%u", &major, &minor, &patch) != 3 || major != CKVIEW_VERSION_MAJOR ||
      (major == 0 && minor != CKVIEW_VERSION_MINOR)) {
    fprintf(stderr, "library version %s does not match the header's %d.%d\n", p_ckview_version(), CKVIEW_VERSION_MAJOR,
            CKVIEW_VERSION_MINOR);
    return 1;
  }
  RESOLVE(library, ckview_open);
  RESOLVE(library, ckview_error_message);
  RESOLVE(library, ckview_error_free);
  RESOLVE(library, ckview_children);
  RESOLVE(library, ckview_close);

  ckview_view *view = NULL;
  ckview_error *error = NULL;
  if (p_ckview_open(argv[2], &view, &error) != CKVIEW_OK) {
    fprintf(stderr, "%s\n", p_ckview_error_message(error));
    p_ckview_error_free(error);
    return 1;
  }
  const ckview_child *children = NULL;
  size_t count = 0;
  if (p_ckview_children(view, 0, &children, &count) != CKVIEW_OK) return 1;
  for (size_t i = 0; i < count; i++) {
    printf("- name: '%.*s', node_id: %u\n", (int)children[i].name.len, children[i].name.ptr, children[i].node_id);
  }
  p_ckview_close(view);
  dlclose(library);
  return 0;
}
