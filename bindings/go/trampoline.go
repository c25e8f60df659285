package ckview

// #include <stdint.h>
// #include "ckview.h"
import "C"

import "runtime/cgo"

// ckviewGoChildren is the children callback libckview calls during Match and Diff (through
// ckview_go_children in callback.c). userdata is the cgo.Handle of the call's *compareSession.
// It never lets a panic reach C: a panic is recovered, kept as a *PanicError for the Go caller,
// and reported to the library as a nonzero return, which stops the comparison.
//
//export ckviewGoChildren
func ckviewGoChildren(userdata C.uintptr_t, object C.uint64_t, sink *C.ckview_child_sink) (code C.int32_t) {
	var s *compareSession
	returned := false
	defer func() {
		r := recover()
		if returned {
			return
		}
		// Not returned normally: a panic, also panic(nil), for which recover gives nil before
		// Go 1.21.
		if s != nil {
			s.fail(newPanicError(r))
		}
		code = callbackPanicked
	}()
	s = cgo.Handle(userdata).Value().(*compareSession)
	code = s.list(uint64(object), sink)
	returned = true
	return code
}
