package ckview

import (
	"sync"
	"unsafe"
)

// cref owns one C handle and guards it against use after free. Every call into C holds the
// handle (acquire … release) while it runs; close marks it closed at once, so that new calls
// fail with ErrClosed, and frees it when the last running call releases it.
//
// libckview lets any number of threads use a view at once but forbids freeing it while another
// call runs; with cref a Close that races with other goroutines (or that a children function
// calls in the middle of a Diff on the same View) is safe: the free waits for them.
type cref struct {
	mu     sync.Mutex
	ptr    unsafe.Pointer
	users  int
	closed bool
	free   func(unsafe.Pointer)
}

func newCref(ptr unsafe.Pointer, free func(unsafe.Pointer)) *cref {
	return &cref{ptr: ptr, free: free}
}

// acquire returns the handle and counts one more user, or fails with ErrClosed.
func (r *cref) acquire() (unsafe.Pointer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.users++
	return r.ptr, nil
}

// release ends one use; the last use after close frees the handle.
func (r *cref) release() {
	r.mu.Lock()
	r.users--
	ptr := r.take()
	r.mu.Unlock()
	if ptr != nil {
		r.free(ptr)
	}
}

// close marks the handle closed and frees it unless a call is still using it. Idempotent.
func (r *cref) close() {
	r.mu.Lock()
	r.closed = true
	ptr := r.take()
	r.mu.Unlock()
	if ptr != nil {
		r.free(ptr)
	}
}

// take hands out the pointer to free, once, when closed and unused; r.mu must be held.
func (r *cref) take() unsafe.Pointer {
	if !r.closed || r.users > 0 || r.ptr == nil {
		return nil
	}
	ptr := r.ptr
	r.ptr = nil
	return ptr
}
