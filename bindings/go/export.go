package ckview

/*
#include <stdlib.h>
#include "ckview.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// ExportOptions says how Reader.ExportSafetensors names and chooses the tensors it writes.
type ExportOptions struct {
	// Names is "path" (object paths without "root.", the default with an object graph), "key"
	// (bundle keys, the default without one) or "full_name" (Keras names); "" is the default.
	Names string
	// DropSlots leaves out the optimizer state (slot variables, the optimizer's own variables).
	// A checkpoint without an object graph refuses it (ErrInvalidArgument).
	DropSlots bool
	// SkipUnsupported leaves out tensors of dtypes safetensors cannot hold (strings, complex128,
	// int4, ...) instead of failing with ErrUnsupportedDType.
	SkipUnsupported bool
	// MaxShardSize, when not 0, splits the output into files of at most this many bytes of
	// values (STEM-00001-of-0000N.safetensors beside the path, and PATH.index.json).
	MaxShardSize uint64
}

// ExportReport is what Reader.ExportSafetensors wrote.
type ExportReport struct {
	// Tensors written, bytes of their values (headers not counted), and files written.
	Tensors, Bytes, Files uint64
	// Tensors left out for their dtype (SkipUnsupported) and as optimizer state (DropSlots).
	SkippedUnsupported, DroppedOptimizerState uint64
}

// ExportedTensor is one tensor an export writes: its name in the file and its bundle key.
type ExportedTensor struct {
	Name, Key string
}

func exportOptions(opts ExportOptions) (*C.ckview_export_options, func(), error) {
	naming := map[string]C.uint32_t{"": C.CKVIEW_EXPORT_NAMES_DEFAULT, "path": C.CKVIEW_EXPORT_NAMES_PATH,
		"key": C.CKVIEW_EXPORT_NAMES_KEY, "full_name": C.CKVIEW_EXPORT_NAMES_FULL_NAME}
	names, ok := naming[opts.Names]
	if !ok {
		return nil, nil, &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf("Names must be \"path\", \"key\" or \"full_name\", not %q", opts.Names)}
	}
	options := (*C.ckview_export_options)(C.calloc(1, C.size_t(unsafe.Sizeof(C.ckview_export_options{}))))
	options.naming = names
	if opts.DropSlots {
		options.flags |= C.CKVIEW_EXPORT_DROP_OPTIMIZER_STATE
	}
	if opts.SkipUnsupported {
		options.flags |= C.CKVIEW_EXPORT_SKIP_UNSUPPORTED
	}
	options.max_shard_size = C.uint64_t(opts.MaxShardSize)
	return options, func() { C.free(unsafe.Pointer(options)) }, nil
}

// ExportSafetensors writes the reader's tensors to the safetensors file path
// (ckview_export_safetensors): values verified, partitioned tensors assembled, big-endian ones
// swapped; each file's metadata records the checkpoint and every tensor's bundle key. The
// output appears only when complete: on any error nothing is left at path. Two tensors under
// one name are ErrDuplicateName, an unsupported dtype ErrUnsupportedDType.
func (r *Reader) ExportSafetensors(path string, opts ExportOptions) (ExportReport, error) {
	options, free, err := exportOptions(opts)
	if err != nil {
		return ExportReport{}, err
	}
	defer free()
	out := C.CString(path)
	defer C.free(unsafe.Pointer(out))
	var report C.ckview_export_report
	err = r.use(func(reader *C.ckview_reader) error {
		var cerr *C.ckview_error
		if status := C.ckview_export_safetensors(reader, out, options, &report, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, "ckview_export_safetensors")
		}
		return nil
	})
	runtime.KeepAlive(r)
	if err != nil {
		return ExportReport{}, err
	}
	return ExportReport{
		Tensors: uint64(report.tensors), Bytes: uint64(report.bytes), Files: uint64(report.files),
		SkippedUnsupported: uint64(report.skipped_unsupported), DroppedOptimizerState: uint64(report.dropped_optimizer_state),
	}, nil
}

// ExportNames lists the tensors ExportSafetensors would write with opts, in key order, with
// their names in the file (ckview_export_names); nothing is written or read. MaxShardSize plays
// no part. What a Go program needs to load a state dict under export's names itself.
func (r *Reader) ExportNames(opts ExportOptions) ([]ExportedTensor, error) {
	options, free, err := exportOptions(opts)
	if err != nil {
		return nil, err
	}
	defer free()
	var tensors []ExportedTensor
	err = r.use(func(reader *C.ckview_reader) error {
		var list *C.ckview_export_name_list
		var cerr *C.ckview_error
		if status := C.ckview_export_names(reader, options, &list, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, "ckview_export_names")
		}
		defer C.ckview_export_names_free(list)
		count := C.ckview_export_names_count(list)
		for i := C.size_t(0); i < count; i++ {
			var name, key C.ckview_str
			if status := C.ckview_export_names_get(list, i, &name, &key); status != C.CKVIEW_OK {
				return takeError(status, nil, "ckview_export_names_get")
			}
			tensors = append(tensors, ExportedTensor{Name: goString(name), Key: goString(key)})
		}
		return nil
	})
	runtime.KeepAlive(r)
	return tensors, err
}
