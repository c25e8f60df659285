package ckview

/*
#include <stdlib.h>
#include "ckview.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// RewriteOptions says what Reader.Rewrite leaves out of the new checkpoint.
type RewriteOptions struct {
	// DropSlots leaves out the optimizer state: optimizers, their slot variables and what only
	// they hold. A TF1 name-based checkpoint refuses it (ErrNameBasedCheckpoint).
	DropSlots bool
	// Drop lists nodes to leave out with everything only they reach: ids ("#14"), dotted paths
	// as `ckview tree` prints them, or full names. For a TF1 checkpoint: keys or globs ("*/adam_m").
	Drop []string
	// Select, when not empty, keeps only these nodes' subtrees, the path to them and the root's
	// save_counter; for a TF1 checkpoint, these keys or globs.
	Select []string
}

// RewriteSummary is what Reader.Rewrite did.
type RewriteSummary struct {
	// Nodes of the object graph before and after (0 for a TF1 checkpoint).
	NodesBefore, NodesAfter int
	// Tensors before and after (the object graph and slices of partitioned tensors not counted).
	TensorsBefore, TensorsAfter int
	// Bytes of the files (the index and every data shard) read and written.
	BytesBefore, BytesAfter uint64
}

// cStrings copies strings into C memory as a ckview_str array; free it with the returned func.
func cStrings(items []string) (*C.ckview_str, C.size_t, func()) {
	if len(items) == 0 {
		return nil, 0, func() {}
	}
	size := C.size_t(unsafe.Sizeof(C.ckview_str{}))
	array := (*[1 << 28]C.ckview_str)(C.malloc(size * C.size_t(len(items))))[:len(items):len(items)]
	for i, item := range items {
		array[i] = C.ckview_str{ptr: (*C.char)(C.CBytes([]byte(item))), len: C.size_t(len(item))}
	}
	return &array[0], C.size_t(len(items)), func() {
		for i := range array {
			C.free(unsafe.Pointer(array[i].ptr))
		}
		C.free(unsafe.Pointer(&array[0]))
	}
}

// Rewrite writes a new checkpoint at outPrefix (outPrefix.index and one data shard, no
// `checkpoint` state file) holding the reader's checkpoint without what opts leaves out
// (ckview_rewrite). For an object-based checkpoint the object graph is rewritten to match, so
// that TensorFlow restores it; every kept tensor's bytes are copied unchanged with their
// checksum, verified on the way. The files appear only when complete: on any error nothing is
// left at outPrefix. A path naming nothing or the source as output is ErrInvalidArgument, a TF1
// pattern matching nothing ErrKeyNotFound, a damaged source ErrChecksumMismatch.
func (r *Reader) Rewrite(outPrefix string, opts RewriteOptions) (RewriteSummary, error) {
	drop, dropCount, freeDrop := cStrings(opts.Drop)
	defer freeDrop()
	sel, selCount, freeSelect := cStrings(opts.Select)
	defer freeSelect()
	options := (*C.ckview_rewrite_options)(C.malloc(C.size_t(unsafe.Sizeof(C.ckview_rewrite_options{}))))
	defer C.free(unsafe.Pointer(options))
	*options = C.ckview_rewrite_options{drop: drop, drop_count: dropCount, _select: sel, select_count: selCount}
	if opts.DropSlots {
		options.flags = C.CKVIEW_REWRITE_DROP_SLOTS
	}
	out := C.CString(outPrefix)
	defer C.free(unsafe.Pointer(out))
	var summary C.ckview_rewrite_summary
	err := r.use(func(reader *C.ckview_reader) error {
		var cerr *C.ckview_error
		if status := C.ckview_rewrite(reader, out, options, &summary, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, "ckview_rewrite")
		}
		return nil
	})
	runtime.KeepAlive(r)
	if err != nil {
		return RewriteSummary{}, err
	}
	return RewriteSummary{
		NodesBefore: int(summary.nodes_before), NodesAfter: int(summary.nodes_after),
		TensorsBefore: int(summary.tensors_before), TensorsAfter: int(summary.tensors_after),
		BytesBefore: uint64(summary.bytes_before), BytesAfter: uint64(summary.bytes_after),
	}, nil
}
