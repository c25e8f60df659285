// C half of the Go children callback: libckview calls ckview_go_children, which forwards to the
// exported Go trampoline with the cgo.Handle of the call as an integer (Go must not turn an
// integer into an unsafe.Pointer itself).

#include <stdint.h>
#include "ckview.h"
#include "_cgo_export.h"

static int32_t ckview_go_children(void *userdata, uint64_t object, ckview_child_sink *sink) {
  return ckviewGoChildren((uintptr_t)userdata, object, sink);
}

ckview_status ckview_go_compare(const ckview_view *view, uint64_t root, uintptr_t session, int diff,
                                ckview_comparison **comparison_out, ckview_error **error_out) {
  if (diff) {
    return ckview_diff(view, root, ckview_go_children, (void *)session, comparison_out, error_out);
  }
  return ckview_match(view, root, ckview_go_children, (void *)session, comparison_out, error_out);
}
