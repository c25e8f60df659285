package ckview

/*
#include <stdint.h>
#include <stdlib.h>
#include "ckview.h"

// Defined in io.c: ckview_reader_open_with with flags and, unless session is 0, the Go storage
// session.
ckview_status ckview_go_reader_open(const char *path, uint32_t flags, uintptr_t session, ckview_reader **reader_out,
                                    ckview_error **error_out);
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Reader reads the tensors of a checkpoint by key. It is safe for concurrent use by any number
// of goroutines.
//
// A Reader from OpenReader owns its files: Close it when done (the garbage collector closes an
// unreachable one, late). A Reader from View.Reader borrows the view's: it keeps the View
// reachable, works until the View is closed, and its Close only ends its own use.
type Reader struct {
	ref     *cref           // an owned reader; nil when borrowed
	view    *View           // the view a borrowed reader belongs to
	storage *storageSession // an owned reader's Options.Storage
	mmap    bool            // an owned reader opened with Options.MMap
	closed  atomic.Bool
}

// TensorInfo is one tensor's key and metadata.
type TensorInfo struct {
	Key string
	// DType is the element type; DType.String() is TensorFlow's name of it.
	DType DType
	// Shape is the dimensions, outermost first; empty for a scalar.
	Shape []uint64
	// NumElements is the number of elements (1 for a scalar).
	NumElements uint64
	// SizeBytes is, for a fixed-size dtype, exactly the bytes ReadBytes returns (elements times
	// element size, partitioned tensors included); for strings and variants, the bytes stored.
	SizeBytes uint64
	// Shard is the data file holding the tensor (meaningless for a partitioned tensor).
	Shard uint32
	// Slices is the stored slices of a partitioned tensor, one extent per dimension; nil for a
	// tensor stored whole.
	Slices [][]SliceExtent
}

// SliceCount is the number of stored slices (0 for a tensor stored whole).
func (t TensorInfo) SliceCount() int {
	return len(t.Slices)
}

// SliceExtent is one dimension of a stored slice; Length is -1 for "the whole dimension".
type SliceExtent struct {
	Start  uint64
	Length int64
}

// OpenReader opens the bundle savePath leads to (a prefix, a directory, an ".index" file or a
// data shard) for reading tensors by key. Unlike Open it needs no object graph, so TF1
// name-based checkpoints open too.
func OpenReader(savePath string) (*Reader, error) {
	return OpenReaderWith(savePath, Options{})
}

// OpenReaderWith is OpenReader with options, as OpenWith is Open with options: MMap for
// Borrow, or a Storage to read from. The Reader keeps the Storage until it is closed.
func OpenReaderWith(savePath string, opts Options) (*Reader, error) {
	cpath, flags, err := openArgs(savePath, opts)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var session *storageSession
	if opts.Storage != nil {
		session = newStorageSession(opts.Storage)
	}
	var reader *C.ckview_reader
	var cerr *C.ckview_error
	if status := C.ckview_go_reader_open(cpath, flags, session.id(), &reader, &cerr); status != C.CKVIEW_OK {
		err := session.attachOpen(takeError(status, cerr, "ckview_reader_open_with failed"))
		session.close()
		return nil, err
	}
	r := &Reader{storage: session, mmap: opts.MMap, ref: newCref(unsafe.Pointer(reader), func(p unsafe.Pointer) {
		C.ckview_reader_free((*C.ckview_reader)(p))
		session.close()
	})}
	runtime.SetFinalizer(r, (*Reader).Close)
	return r, nil
}

// Reader returns the reader of the view's bundle, borrowed from the view (see Reader).
func (v *View) Reader() *Reader {
	return &Reader{view: v}
}

// Close releases the reader. It is idempotent and always returns nil; later calls return
// ErrClosed. Closing a borrowed Reader leaves its View open.
func (r *Reader) Close() error {
	r.closed.Store(true)
	if r.ref != nil {
		r.ref.close()
		runtime.SetFinalizer(r, nil)
	}
	return nil
}

// use runs body with the C reader, held open (with its view) for its duration.
func (r *Reader) use(body func(reader *C.ckview_reader) error) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if r.view != nil {
		return r.view.use(func(view *C.ckview_view) error {
			var reader *C.ckview_reader
			if err := statusError(C.ckview_reader_of_view(view, &reader), "View.Reader"); err != nil {
				return err
			}
			err := body(reader)
			runtime.KeepAlive(r)
			return err
		})
	}
	ptr, err := r.ref.acquire()
	if err != nil {
		return err
	}
	defer r.ref.release()
	err = r.storage.attach(body((*C.ckview_reader)(ptr)))
	runtime.KeepAlive(r)
	return err
}

// find looks up key; the caller frees the tensor with ckview_tensor_free before releasing the
// reader.
func find(reader *C.ckview_reader, key string) (*C.ckview_tensor, error) {
	if key == "" {
		// The empty key holds the bundle's header, not a tensor. libckview 0.1.0 tries to decode
		// the header as a tensor entry and reports CKVIEW_CORRUPT_ENTRY instead of
		// CKVIEW_KEY_NOT_FOUND; answer as the header promises.
		return nil, &Error{Status: StatusKeyNotFound, Message: "no tensor has the empty key (it holds the bundle header)"}
	}
	bytes := []byte(key)
	var tensor *C.ckview_tensor
	var cerr *C.ckview_error
	if status := C.ckview_reader_find(reader, (*C.char)(unsafe.Pointer(&bytes[0])), C.size_t(len(bytes)), &tensor, &cerr); status != C.CKVIEW_OK {
		return nil, takeError(status, cerr, fmt.Sprintf("Reader.Find(%q)", key))
	}
	return tensor, nil
}

// describe copies a tensor's metadata.
func describe(t *C.ckview_tensor) (TensorInfo, error) {
	var info TensorInfo
	var key C.ckview_str
	if err := statusError(C.ckview_tensor_key(t, &key), "ckview_tensor_key"); err != nil {
		return info, err
	}
	info.Key = goString(key)
	var dtype C.int32_t
	if err := statusError(C.ckview_tensor_dtype(t, &dtype), "ckview_tensor_dtype(%q)", info.Key); err != nil {
		return info, err
	}
	info.DType = DType(dtype)
	var dims *C.uint64_t
	var rank C.size_t
	if err := statusError(C.ckview_tensor_shape(t, &dims, &rank), "ckview_tensor_shape(%q)", info.Key); err != nil {
		return info, err
	}
	info.Shape = make([]uint64, int(rank))
	for i, d := range cArray(dims, rank) {
		info.Shape[i] = uint64(d)
	}
	var elements, size C.uint64_t
	if err := statusError(C.ckview_tensor_num_elements(t, &elements), "ckview_tensor_num_elements(%q)", info.Key); err != nil {
		return info, err
	}
	if err := statusError(C.ckview_tensor_size_bytes(t, &size), "ckview_tensor_size_bytes(%q)", info.Key); err != nil {
		return info, err
	}
	info.NumElements, info.SizeBytes = uint64(elements), uint64(size)
	var shard C.uint32_t
	if err := statusError(C.ckview_tensor_shard(t, &shard), "ckview_tensor_shard(%q)", info.Key); err != nil {
		return info, err
	}
	info.Shard = uint32(shard)
	var slices C.size_t
	if err := statusError(C.ckview_tensor_slice_count(t, &slices), "ckview_tensor_slice_count(%q)", info.Key); err != nil {
		return info, err
	}
	for i := C.size_t(0); i < slices; i++ {
		var extents *C.ckview_slice_extent
		var rank C.size_t
		if err := statusError(C.ckview_tensor_slice(t, i, &extents, &rank), "ckview_tensor_slice(%q, %d)", info.Key, i); err != nil {
			return info, err
		}
		slice := make([]SliceExtent, int(rank))
		for j, e := range cArray(extents, rank) {
			slice[j] = SliceExtent{Start: uint64(e.start), Length: int64(e.length)}
		}
		info.Slices = append(info.Slices, slice)
	}
	return info, nil
}

// List is every tensor in key order, as tf.train.list_variables gives them (the per-slice keys
// of partitioned tensors left out).
func (r *Reader) List() ([]TensorInfo, error) {
	var infos []TensorInfo
	err := r.use(func(reader *C.ckview_reader) error {
		var list *C.ckview_tensor_list
		var cerr *C.ckview_error
		if status := C.ckview_reader_list(reader, &list, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, "Reader.List")
		}
		defer C.ckview_tensor_list_free(list)
		var err error
		infos, err = describeList(list)
		return err
	})
	if err != nil {
		return nil, err
	}
	return infos, nil
}

// describeList is the metadata of every tensor of list, in its order.
func describeList(list *C.ckview_tensor_list) ([]TensorInfo, error) {
	var count C.size_t
	if err := statusError(C.ckview_tensor_list_count(list, &count), "ckview_tensor_list_count"); err != nil {
		return nil, err
	}
	infos := make([]TensorInfo, 0, int(count))
	for i := C.size_t(0); i < count; i++ {
		var t *C.ckview_tensor
		if err := statusError(C.ckview_tensor_list_get(list, i, &t), "ckview_tensor_list_get(%d)", i); err != nil {
			return nil, err
		}
		info, err := describe(t)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// withTensor runs body on the tensor stored under key.
func (r *Reader) withTensor(key string, body func(t *C.ckview_tensor) error) error {
	return r.use(func(reader *C.ckview_reader) error {
		t, err := find(reader, key)
		if err != nil {
			return err
		}
		defer C.ckview_tensor_free(t)
		return body(t)
	})
}

// Find is the metadata of the tensor stored under key; ErrKeyNotFound when there is none.
func (r *Reader) Find(key string) (TensorInfo, error) {
	var info TensorInfo
	err := r.withTensor(key, func(t *C.ckview_tensor) error {
		var err error
		info, err = describe(t)
		return err
	})
	return info, err
}

func readFlags(verify bool) C.uint32_t {
	if verify {
		return 0
	}
	return C.CKVIEW_READ_SKIP_CHECKSUMS
}

// checkDType fails with ErrUnsupportedDType unless the tensor's dtype is want.
func checkDType(t *C.ckview_tensor, key string, want DType) error {
	var dtype C.int32_t
	if err := statusError(C.ckview_tensor_dtype(t, &dtype), "ckview_tensor_dtype(%q)", key); err != nil {
		return err
	}
	if DType(dtype) != want {
		return &Error{Status: StatusUnsupportedDType, Message: fmt.Sprintf("tensor %q is %v, not %v", key, DType(dtype), want)}
	}
	return nil
}

// mapped says whether the reader's data shards are memory-mapped (Options.MMap), so that
// ckview_tensor_borrow can lend their bytes.
func (r *Reader) mapped() bool {
	if r.view != nil {
		return r.view.mmap
	}
	return r.mmap
}

// readValue reads the fixed-size tensor key into the memory alloc returns for its byte size.
// In a memory-mapped reader (Options.MMap), when the stored bytes can be borrowed (an unsliced
// tensor in the host's byte order), they are copied from the mapped file, whose bounds the
// library has checked: a corrupt index cannot make this allocate more than the file holds.
// Otherwise the library reads and converts them into the memory.
func (r *Reader) readValue(key string, want DType, verify bool, alloc func(size uint64) ([]byte, error)) error {
	mapped := r.mapped()
	return r.withTensor(key, func(t *C.ckview_tensor) error {
		if want != DTInvalid {
			if err := checkDType(t, key, want); err != nil {
				return err
			}
		}
		if mapped {
			var data unsafe.Pointer
			var length C.size_t
			var cerr *C.ckview_error
			switch status := C.ckview_tensor_borrow(t, &data, &length, readFlags(verify), &cerr); status {
			case C.CKVIEW_OK:
				dst, err := alloc(uint64(length))
				if err != nil {
					return err
				}
				if length > 0 {
					copy(dst, unsafe.Slice((*byte)(data), int(length)))
				}
				return nil
			case C.CKVIEW_UNSUPPORTED:
				C.ckview_error_free(cerr)
			default:
				return takeError(status, cerr, fmt.Sprintf("reading %q", key))
			}
		}
		var size C.uint64_t
		if err := statusError(C.ckview_tensor_size_bytes(t, &size), "ckview_tensor_size_bytes(%q)", key); err != nil {
			return err
		}
		dst, err := alloc(uint64(size))
		if err != nil {
			return err
		}
		return readInto(t, key, dst, verify)
	})
}

// Borrow lends body the stored bytes of the fixed-size tensor key without copying them: the
// mapped file's bytes, in the host's byte order, crc32c-verified first unless verify is false.
// data is valid only until body returns and is read-only: never write to it (that faults) and
// never keep it or a slice of it. Close waits for body to return. Borrow returns body's error.
//
// Borrow needs a Reader of a checkpoint opened with Options{MMap: true} (View.Reader of such a
// View, or OpenReaderWith): any other fails with ErrUnsupported, as do tensors that cannot be
// lent as stored (partitioned ones, bundles of the other byte order), strings and variants.
// ReadBytes, ReadInto and the typed reads work with or without MMap.
func (r *Reader) Borrow(key string, verify bool, body func(data []byte) error) error {
	if !r.mapped() {
		if err := r.use(func(*C.ckview_reader) error { return nil }); err != nil {
			return err // ErrClosed
		}
		return &Error{Status: StatusUnsupported, Message: fmt.Sprintf("Reader.Borrow(%q): lending tensor bytes needs memory maps: open with Options{MMap: true}, or read with ReadBytes", key)}
	}
	return r.withTensor(key, func(t *C.ckview_tensor) error {
		var data unsafe.Pointer
		var length C.size_t
		var cerr *C.ckview_error
		if status := C.ckview_tensor_borrow(t, &data, &length, readFlags(verify), &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, fmt.Sprintf("Reader.Borrow(%q)", key))
		}
		var bytes []byte
		if length > 0 {
			bytes = unsafe.Slice((*byte)(data), int(length))
		} else {
			bytes = []byte{}
		}
		return body(bytes)
	})
}

// readInto is ckview_tensor_read into dst.
func readInto(t *C.ckview_tensor, key string, dst []byte, verify bool) error {
	var ptr unsafe.Pointer
	if len(dst) > 0 {
		ptr = unsafe.Pointer(&dst[0])
	}
	var cerr *C.ckview_error
	if status := C.ckview_tensor_read(t, ptr, C.size_t(len(dst)), readFlags(verify), &cerr); status != C.CKVIEW_OK {
		return takeError(status, cerr, fmt.Sprintf("reading %q", key))
	}
	return nil
}

// ReadBytes is the value of the fixed-size tensor key: row-major, in the host's byte order,
// partitioned tensors assembled, every stored byte's crc32c verified. Strings and variants fail
// with ErrUnsupportedDType (use ReadStrings).
//
// In a checkpoint opened with Options{MMap: true}, where the library can lend the stored bytes
// (a tensor stored whole, in the host's byte order), the result is sized by the bytes actually
// in the file. Otherwise (the default positioned reads, a Storage, partitioned tensors,
// bundles of the other byte order) it is sized by the index entry's shape, before the data is
// looked at: for untrusted files, check TensorInfo.SizeBytes first or use ReadInto.
func (r *Reader) ReadBytes(key string) ([]byte, error) {
	var out []byte
	err := r.readValue(key, DTInvalid, true, func(size uint64) ([]byte, error) {
		if size > uint64(maxInt) {
			return nil, tooLarge(key, size)
		}
		out = make([]byte, int(size))
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadInto reads the fixed-size tensor key into buf, which must hold at least its SizeBytes
// (ErrBufferTooSmall otherwise), and returns the number of bytes written. verify false skips
// the crc32c checks (for a tensor read repeatedly).
func (r *Reader) ReadInto(key string, buf []byte, verify bool) (int, error) {
	written := 0
	err := r.withTensor(key, func(t *C.ckview_tensor) error {
		var size C.uint64_t
		if err := statusError(C.ckview_tensor_size_bytes(t, &size), "ckview_tensor_size_bytes(%q)", key); err != nil {
			return err
		}
		if err := readInto(t, key, buf, verify); err != nil {
			return err
		}
		written = int(size)
		return nil
	})
	return written, err
}

// ReadStrings is the elements of the DT_STRING tensor key, row-major, both of its checksums
// verified. Elements are any bytes.
func (r *Reader) ReadStrings(key string) ([][]byte, error) {
	var out [][]byte
	err := r.withTensor(key, func(t *C.ckview_tensor) error {
		var list *C.ckview_string_list
		var cerr *C.ckview_error
		if status := C.ckview_tensor_read_strings(t, &list, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, fmt.Sprintf("reading the strings of %q", key))
		}
		defer C.ckview_string_list_free(list)
		var count C.size_t
		if err := statusError(C.ckview_string_list_count(list, &count), "ckview_string_list_count(%q)", key); err != nil {
			return err
		}
		out = make([][]byte, int(count))
		for i := range out {
			var s C.ckview_str
			if err := statusError(C.ckview_string_list_get(list, C.size_t(i), &s), "ckview_string_list_get(%q, %d)", key, i); err != nil {
				return err
			}
			out[i] = make([]byte, int(s.len))
			if s.len > 0 {
				copy(out[i], unsafe.Slice((*byte)(unsafe.Pointer(s.ptr)), int(s.len)))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const maxInt = int(^uint(0) >> 1)

func tooLarge(key string, size uint64) error {
	return &Error{Status: StatusUnsupported, Message: fmt.Sprintf("tensor %q has %d bytes, more than a Go slice holds", key, size)}
}

// readTyped reads the tensor key, whose dtype must be want, as a []T of its elements.
func readTyped[T any](r *Reader, key string, want DType) ([]T, error) {
	var zero T
	width := uint64(unsafe.Sizeof(zero))
	var out []T
	err := r.readValue(key, want, true, func(size uint64) ([]byte, error) {
		if size%width != 0 {
			return nil, &Error{Status: StatusCorruptData, Message: fmt.Sprintf("tensor %q has %d bytes, not a whole number of %d-byte elements", key, size, width)}
		}
		if size/width > uint64(maxInt) || size > uint64(maxInt) {
			return nil, tooLarge(key, size)
		}
		out = make([]T, int(size/width))
		if len(out) == 0 {
			return nil, nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), int(size)), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadFloat32 reads a float32 tensor. Every typed reader checks the dtype (ErrUnsupportedDType
// when it differs), verifies checksums and sizes its result as ReadBytes does; values are
// row-major.
func (r *Reader) ReadFloat32(key string) ([]float32, error) {
	return readTyped[float32](r, key, DTFloat32)
}

// ReadFloat64 reads a float64 tensor.
func (r *Reader) ReadFloat64(key string) ([]float64, error) {
	return readTyped[float64](r, key, DTFloat64)
}

// ReadInt8 reads an int8 tensor.
func (r *Reader) ReadInt8(key string) ([]int8, error) { return readTyped[int8](r, key, DTInt8) }

// ReadInt16 reads an int16 tensor.
func (r *Reader) ReadInt16(key string) ([]int16, error) { return readTyped[int16](r, key, DTInt16) }

// ReadInt32 reads an int32 tensor.
func (r *Reader) ReadInt32(key string) ([]int32, error) { return readTyped[int32](r, key, DTInt32) }

// ReadInt64 reads an int64 tensor.
func (r *Reader) ReadInt64(key string) ([]int64, error) { return readTyped[int64](r, key, DTInt64) }

// ReadUint8 reads a uint8 tensor.
func (r *Reader) ReadUint8(key string) ([]uint8, error) { return readTyped[uint8](r, key, DTUint8) }

// ReadUint16 reads a uint16 tensor.
func (r *Reader) ReadUint16(key string) ([]uint16, error) { return readTyped[uint16](r, key, DTUint16) }

// ReadUint32 reads a uint32 tensor.
func (r *Reader) ReadUint32(key string) ([]uint32, error) { return readTyped[uint32](r, key, DTUint32) }

// ReadUint64 reads a uint64 tensor.
func (r *Reader) ReadUint64(key string) ([]uint64, error) { return readTyped[uint64](r, key, DTUint64) }

// ReadComplex64 reads a complex64 tensor.
func (r *Reader) ReadComplex64(key string) ([]complex64, error) {
	return readTyped[complex64](r, key, DTComplex64)
}

// ReadComplex128 reads a complex128 tensor.
func (r *Reader) ReadComplex128(key string) ([]complex128, error) {
	return readTyped[complex128](r, key, DTComplex128)
}

// ReadFloat16Bits reads a float16 (half) tensor as its raw IEEE 754 binary16 bit patterns.
func (r *Reader) ReadFloat16Bits(key string) ([]uint16, error) {
	return readTyped[uint16](r, key, DTFloat16)
}

// ReadBFloat16Bits reads a bfloat16 tensor as its raw bit patterns (the upper half of a float32:
// math.Float32frombits(uint32(b) << 16)).
func (r *Reader) ReadBFloat16Bits(key string) ([]uint16, error) {
	return readTyped[uint16](r, key, DTBFloat16)
}

// ReadBool reads a bool tensor.
func (r *Reader) ReadBool(key string) ([]bool, error) {
	raw, err := readTyped[uint8](r, key, DTBool)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(raw))
	for i, b := range raw {
		out[i] = b != 0
	}
	return out, nil
}
