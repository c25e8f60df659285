package ckview

// #include <stdint.h>
// #include "ckview.h"
import "C"

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// storageSession is a Storage seen from C: the io_userdata of one View or Reader (through a
// cgo.Handle) and its open files, each known to C by an integer id. It lives until the View or
// Reader is freed, and is safe for the concurrent callbacks of every goroutine using it.
//
// A failing callback cannot hand C a Go error, only a nonzero code. Every failure gets a code
// of its own and the session keeps the error under it; when a ckview call fails with
// CKVIEW_IO_ERROR and a code, attach puts the Go error back into the *Error returned. Errors
// are kept, not handed out once, because the library may report one failure again in a later
// call; only the last errorsKept are, since a failure may never be reported (ckview tries
// several forms of a path and swallows the failed opens of all but one).
type storageSession struct {
	storage Storage
	handle  cgo.Handle

	mu       sync.RWMutex
	files    map[uintptr]File
	lastFile uintptr

	lastCode atomic.Uint32
	errMu    sync.Mutex
	errs     map[int32]error
	recent   [errorsKept]int32
	next     int
	last     error // the last error other than fs.ErrNotExist

	opens, closes atomic.Int64 // files the library opened and closed, for the tests
}

const (
	errorsKept = 1024
	// The codes handed to C: far from the children callback's 1 and 2 and from errnos.
	firstCode = 1 << 16
	codeSpan  = math.MaxInt32 - firstCode
)

func newStorageSession(storage Storage) *storageSession {
	s := &storageSession{storage: storage, files: make(map[uintptr]File), errs: make(map[int32]error)}
	s.handle = cgo.NewHandle(s)
	return s
}

// id is the io_userdata of the session: 0 (no caller storage) for a nil session.
func (s *storageSession) id() C.uintptr_t {
	if s == nil {
		return 0
	}
	return C.uintptr_t(s.handle)
}

// fail keeps err under a new code, which the callback returns to C.
func (s *storageSession) fail(err error) C.int32_t {
	code := int32(firstCode + (s.lastCode.Add(1)-1)%codeSpan)
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if old := s.recent[s.next]; old != 0 {
		delete(s.errs, old)
	}
	s.recent[s.next] = code
	s.next = (s.next + 1) % errorsKept
	s.errs[code] = err
	if !errors.Is(err, fs.ErrNotExist) {
		s.last = err
	}
	return C.int32_t(code)
}

// attachOpen is attach for the error of the call that opened the session, which no other call
// shares. The library reports a checkpoint whose files fail to open (or to size) as not found,
// with no callback code, since it tries several forms of the path: the error then gets the last
// failure of the Storage other than fs.ErrNotExist (a permission error, a panic), if any.
func (s *storageSession) attachOpen(err error) error {
	err = s.attach(err)
	var e *Error
	if s == nil || !errors.As(err, &e) || e.Err != nil {
		return err
	}
	s.errMu.Lock()
	e.Err = s.last
	s.errMu.Unlock()
	return err
}

// attach gives an I/O error of the library the Go error of the callback that caused it, so that
// errors.Is and errors.As reach the Storage's own error. Other errors pass unchanged.
func (s *storageSession) attach(err error) error {
	var e *Error
	if s == nil || !errors.As(err, &e) || e.Status != StatusIOError || e.CallbackCode == 0 || e.Err != nil {
		return err
	}
	s.errMu.Lock()
	e.Err = s.errs[e.CallbackCode]
	s.errMu.Unlock()
	return err
}

// close ends the session once the library has freed what used it: it closes any file the
// library left open (it promises to close them all) and frees the handle.
func (s *storageSession) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	files := s.files
	s.files = make(map[uintptr]File)
	s.mu.Unlock()
	for _, f := range files {
		closeQuietly(f)
	}
	s.handle.Delete()
}

func (s *storageSession) file(id C.uintptr_t) (File, error) {
	s.mu.RLock()
	f := s.files[uintptr(id)]
	s.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("ckview: the library named file %d, which is not open", uintptr(id))
	}
	return f, nil
}

// guard runs one callback's body: its error, or a panic recovered as a *PanicError (also
// panic(nil)), becomes a code for C. Nothing unwinds into the library.
func (s *storageSession) guard(callback string, body func() error) (code C.int32_t) {
	returned := false
	defer func() {
		r := recover()
		if !returned {
			p := newPanicError(r)
			p.Callback = callback
			code = s.fail(p)
		}
	}()
	err := body()
	returned = true
	if err != nil {
		return s.fail(err)
	}
	return 0
}

func sessionOf(userdata C.uintptr_t) *storageSession {
	return cgo.Handle(userdata).Value().(*storageSession)
}

//export ckviewGoIOOpen
func ckviewGoIOOpen(userdata C.uintptr_t, name *C.char, length C.size_t, fileOut *C.uintptr_t) C.int32_t {
	s := sessionOf(userdata)
	return s.guard("Storage.Open", func() error {
		path := ""
		if length > 0 {
			path = string(unsafe.Slice((*byte)(unsafe.Pointer(name)), int(length)))
		}
		f, err := s.storage.Open(path)
		if err != nil {
			return err
		}
		if f == nil {
			return fmt.Errorf("ckview: Storage.Open(%q) returned neither a File nor an error", path)
		}
		s.opens.Add(1)
		s.mu.Lock()
		s.lastFile++
		id := s.lastFile
		s.files[id] = f
		s.mu.Unlock()
		*fileOut = C.uintptr_t(id)
		return nil
	})
}

//export ckviewGoIOSize
func ckviewGoIOSize(userdata C.uintptr_t, file C.uintptr_t, sizeOut *C.uint64_t) C.int32_t {
	s := sessionOf(userdata)
	return s.guard("File.Size", func() error {
		f, err := s.file(file)
		if err != nil {
			return err
		}
		size, err := f.Size()
		if err != nil {
			return err
		}
		if size < 0 {
			return fmt.Errorf("ckview: File.Size returned %d", size)
		}
		*sizeOut = C.uint64_t(size)
		return nil
	})
}

//export ckviewGoIORead
func ckviewGoIORead(userdata C.uintptr_t, file C.uintptr_t, offset C.uint64_t, buffer unsafe.Pointer, length C.size_t) C.int32_t {
	s := sessionOf(userdata)
	return s.guard("File.ReadAt", func() error {
		f, err := s.file(file)
		if err != nil {
			return err
		}
		if length == 0 {
			return nil
		}
		if uint64(offset) > math.MaxInt64-uint64(length) {
			return fmt.Errorf("ckview: a read of %d bytes at offset %d is beyond what io.ReaderAt reaches", uint64(length), uint64(offset))
		}
		buf := unsafe.Slice((*byte)(buffer), int(length))
		off := int64(offset)
		for done := 0; done < len(buf); {
			n, err := f.ReadAt(buf[done:], off+int64(done))
			if n < 0 || n > len(buf)-done {
				return fmt.Errorf("ckview: File.ReadAt returned %d for a %d-byte buffer", n, len(buf)-done)
			}
			done += n
			switch {
			case done == len(buf):
				// io.ReaderAt may report io.EOF along with the last bytes.
			case err == io.EOF:
				return io.ErrUnexpectedEOF
			case err != nil:
				return err
			case n == 0:
				return io.ErrNoProgress
			}
		}
		return nil
	})
}

//export ckviewGoIOClose
func ckviewGoIOClose(userdata C.uintptr_t, file C.uintptr_t) {
	s := sessionOf(userdata)
	s.mu.Lock()
	f := s.files[uintptr(file)]
	delete(s.files, uintptr(file))
	s.mu.Unlock()
	if f == nil {
		return
	}
	s.closes.Add(1)
	closeQuietly(f)
}

// closeQuietly closes f. The library cannot be told that closing failed: the error, or a
// panic, is dropped (and kept from the errors that explain failed calls).
func closeQuietly(f File) {
	defer func() { _ = recover() }()
	_ = f.Close()
}
