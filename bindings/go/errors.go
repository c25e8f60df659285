package ckview

// #include <stdlib.h>
// #include "ckview.h"
import "C"

import (
	"errors"
	"fmt"
)

// Status is the outcome of a libckview call (ckview_status). Its numbers are those of
// include/ckview.h, which promises never to reuse one for another meaning.
type Status int32

// The statuses of include/ckview.h.
const (
	StatusOK                  Status = 0
	StatusInvalidArgument     Status = 1
	StatusNotFound            Status = 2
	StatusIOError             Status = 3
	StatusNotATable           Status = 4
	StatusCorruptTable        Status = 5
	StatusChecksumMismatch    Status = 6
	StatusUnsupportedVersion  Status = 7
	StatusUnsupported         Status = 8
	StatusCorruptEntry        Status = 9
	StatusCorruptData         Status = 10
	StatusKeyNotFound         Status = 11
	StatusNameBasedCheckpoint Status = 12
	StatusCorruptObjectGraph  Status = 13
	StatusNodeOutOfRange      Status = 14
	StatusIndexOutOfRange     Status = 15
	StatusBufferTooSmall      Status = 16
	StatusNodeUnreachable     Status = 17
	StatusCallbackFailed      Status = 18
	StatusUnsupportedDType    Status = 19
	StatusNotACheckpoint      Status = 20
	StatusDuplicateName       Status = 21
	StatusInternalError       Status = 255
)

// String is the library's name of the status ("CKVIEW_NAME_BASED_CHECKPOINT"), from
// ckview_status_name; "unknown status" for a number the library does not know.
func (s Status) String() string {
	return C.GoString(C.ckview_status_name(C.int(s)))
}

// Error is a failure reported by libckview: its status and a readable message (for calls that
// take an error_out parameter, the library's own message, which names the file and the problem).
//
// Compare with errors.Is against the Err* values, which match any *Error of the same Status:
//
//	if errors.Is(err, ckview.ErrNameBasedCheckpoint) { ... }
type Error struct {
	Status  Status
	Message string
	// CallbackCode is the nonzero value a children callback returned, for StatusCallbackFailed.
	// The Go functions of this package never let such an error escape when they know its cause:
	// they return the children function's own error instead. For StatusIOError it is the code
	// the Go binding gave the failing Storage callback (Err holds that callback's error).
	CallbackCode int32
	// Err is the error of the Storage (Options.Storage) whose failure this is: what its Open,
	// File.Size or File.ReadAt returned, or a *PanicError when it panicked. nil otherwise.
	// Unwrap returns it, so errors.Is and errors.As see through to the Storage's own errors.
	Err error
}

func (e *Error) Error() string {
	text := "ckview: " + e.Status.String()
	if e.Message != "" {
		text += ": " + e.Message
	}
	if e.Err != nil {
		text += ": " + e.Err.Error()
	}
	return text
}

// Unwrap returns Err: the Storage's error behind an I/O error, or nil.
func (e *Error) Unwrap() error {
	return e.Err
}

// Is reports whether target is an *Error with the same Status and either no Message (the Err*
// values) or the same Message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Status != e.Status {
		return false
	}
	return t.Message == "" || t.Message == e.Message
}

// Values to compare errors with, through errors.Is: each matches every *Error of its Status.
var (
	ErrInvalidArgument     = &Error{Status: StatusInvalidArgument}
	ErrNotFound            = &Error{Status: StatusNotFound}
	ErrIOError             = &Error{Status: StatusIOError}
	ErrNotATable           = &Error{Status: StatusNotATable}
	ErrCorruptTable        = &Error{Status: StatusCorruptTable}
	ErrChecksumMismatch    = &Error{Status: StatusChecksumMismatch}
	ErrUnsupportedVersion  = &Error{Status: StatusUnsupportedVersion}
	ErrUnsupported         = &Error{Status: StatusUnsupported}
	ErrCorruptEntry        = &Error{Status: StatusCorruptEntry}
	ErrCorruptData         = &Error{Status: StatusCorruptData}
	ErrKeyNotFound         = &Error{Status: StatusKeyNotFound}
	ErrNameBasedCheckpoint = &Error{Status: StatusNameBasedCheckpoint}
	ErrCorruptObjectGraph  = &Error{Status: StatusCorruptObjectGraph}
	ErrNodeOutOfRange      = &Error{Status: StatusNodeOutOfRange}
	ErrIndexOutOfRange     = &Error{Status: StatusIndexOutOfRange}
	ErrBufferTooSmall      = &Error{Status: StatusBufferTooSmall}
	ErrNodeUnreachable     = &Error{Status: StatusNodeUnreachable}
	ErrCallbackFailed      = &Error{Status: StatusCallbackFailed}
	ErrUnsupportedDType    = &Error{Status: StatusUnsupportedDType}
	ErrNotACheckpoint      = &Error{Status: StatusNotACheckpoint}
	ErrDuplicateName       = &Error{Status: StatusDuplicateName}
	ErrInternalError       = &Error{Status: StatusInternalError}
)

// ErrClosed is returned by every method of a View or Reader that has been closed (a Reader
// borrowed from a View also fails with it once the View is closed).
var ErrClosed = errors.New("ckview: use of a closed View or Reader")

// StatusOf returns the Status of the first *Error in err's chain: StatusOK for nil and
// StatusInternalError for an error that does not come from libckview.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return StatusInternalError
}

// PanicError is what Match and Diff return when the children function panicked, and the Err of
// the *Error a call returns when a method of its Storage or File panicked: the panic is
// recovered before it can cross the C library, which is then told the call failed.
type PanicError struct {
	// Value is the value given to panic.
	Value any
	// Stack is the goroutine's stack where the panic was recovered.
	Stack []byte
	// Callback is what panicked: "" for the children function, else "Storage.Open",
	// "File.Size" or "File.ReadAt".
	Callback string
}

func (e *PanicError) Error() string {
	what := e.Callback
	if what == "" {
		what = "the children function"
	}
	return fmt.Sprintf("ckview: %s panicked: %v", what, e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and errors.As see it.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// takeError turns a failed status and the error the library may have written into an *Error,
// freeing the C error. what describes the call when the library gave no message.
func takeError(status C.ckview_status, cerr *C.ckview_error, what string) *Error {
	if cerr == nil {
		return &Error{Status: Status(status), Message: what}
	}
	defer C.ckview_error_free(cerr)
	return &Error{
		Status:       Status(C.ckview_error_status(cerr)),
		Message:      C.GoString(C.ckview_error_message(cerr)),
		CallbackCode: int32(C.ckview_error_callback_code(cerr)),
	}
}

// statusError is the *Error of a call that reports only a status; nil for CKVIEW_OK.
func statusError(status C.ckview_status, format string, args ...any) error {
	if status == C.CKVIEW_OK {
		return nil
	}
	return &Error{Status: Status(status), Message: fmt.Sprintf(format, args...)}
}
