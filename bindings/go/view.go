package ckview

/*
#include <stdint.h>
#include <stdlib.h>
#include "ckview.h"

// Defined in io.c: ckview_open_with with flags and, unless session is 0, the Go storage session.
ckview_status ckview_go_open(const char *path, uint32_t flags, uintptr_t session, ckview_view **view_out,
                             ckview_error **error_out);
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Version is the version of the libckview the program runs with ("MAJOR.MINOR.PATCH").
func Version() string {
	return C.GoString(C.ckview_version())
}

// View is an open checkpoint and its object graph: what tf.train.CheckpointView gives Python.
//
// A View is safe for concurrent use by any number of goroutines. Close it when done; a View
// that becomes unreachable unclosed is closed by the garbage collector, but that may be late
// (the view keeps files open, and its Storage).
type View struct {
	ref     *cref
	storage *storageSession // the Options.Storage it reads through; nil for local files
	mmap    bool            // opened with Options.MMap
}

// Child is one entry of a node's children: the local name and the child's node id.
type Child struct {
	Name   string
	NodeID uint32
}

// NodePath is a node and its dotted path ("root", "root.leaf.a_var").
type NodePath struct {
	NodeID uint32
	Path   string
}

// Attribute is one serialized tensor of a node: its attribute name ("VARIABLE_VALUE"), the full
// name of the object it came from, and its key in the bundle (for Reader.Find and the reads).
type Attribute struct {
	Name          string
	FullName      string
	CheckpointKey string
}

// SlotVariable is an optimizer slot variable recorded on an optimizer node.
type SlotVariable struct {
	OriginalVariableNodeID uint32
	SlotName               string
	SlotVariableNodeID     uint32
}

// VariableSlot is one optimizer slot of a variable, seen from the variable: the slot's name
// ("m", "v"), the optimizer node that recorded it, and the slot variable's node (whose
// attributes hold its tensor).
type VariableSlot struct {
	SlotName        string
	OptimizerNodeID uint32
	SlotNodeID      uint32
}

// RegisteredSaver is a saver registered for a node.
type RegisteredSaver struct {
	Name       string
	ObjectName string
}

// OptionalBool is a protobuf optional bool: Unset, False or True.
type OptionalBool int

// The values of an OptionalBool.
const (
	Unset OptionalBool = 0
	False OptionalBool = 1
	True  OptionalBool = 2
)

func (b OptionalBool) String() string {
	switch b {
	case Unset:
		return "unset"
	case False:
		return "false"
	case True:
		return "true"
	}
	return "invalid"
}

// Open opens the checkpoint savePath leads to and loads its object graph. savePath may be the
// checkpoint prefix ("dir/ckpt-1"), a directory whose "checkpoint" file names the latest
// checkpoint, the ".index" file, or a data shard. A TF1 name-based checkpoint fails with
// ErrNameBasedCheckpoint (read its tensors with OpenReader). Files are read with positioned
// reads, never mapped: a file that fails or shrinks gives ErrIOError, not a signal.
func Open(savePath string) (*View, error) {
	return OpenWith(savePath, Options{})
}

// OpenWith is Open with options: MMap to memory-map the data shards (for Reader.Borrow), or a
// Storage to read the checkpoint's files from instead of the local filesystem. An error of the
// Storage comes back as an *Error of StatusIOError whose Err is the Storage's own error (so
// errors.Is(err, fs.ErrNotExist) and errors.As work); a panic in it, as one whose Err is a
// *PanicError. The View keeps the Storage until it is closed.
func OpenWith(savePath string, opts Options) (*View, error) {
	cpath, flags, err := openArgs(savePath, opts)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var session *storageSession
	if opts.Storage != nil {
		session = newStorageSession(opts.Storage)
	}
	var view *C.ckview_view
	var cerr *C.ckview_error
	if status := C.ckview_go_open(cpath, flags, session.id(), &view, &cerr); status != C.CKVIEW_OK {
		err := session.attachOpen(takeError(status, cerr, "ckview_open_with failed"))
		session.close()
		return nil, err
	}
	v := &View{storage: session, mmap: opts.MMap, ref: newCref(unsafe.Pointer(view), func(p unsafe.Pointer) {
		C.ckview_close((*C.ckview_view)(p))
		session.close()
	})}
	runtime.SetFinalizer(v, (*View).Close)
	return v, nil
}

// openArgs checks what OpenWith and OpenReaderWith share: the path as a C string (for the
// caller to free) and the open flags.
func openArgs(savePath string, opts Options) (*C.char, C.uint32_t, error) {
	if strings.IndexByte(savePath, 0) >= 0 {
		return nil, 0, &Error{Status: StatusInvalidArgument, Message: "the path contains a NUL byte"}
	}
	var flags C.uint32_t
	if opts.MMap {
		if opts.Storage != nil {
			return nil, 0, &Error{Status: StatusInvalidArgument, Message: "Options: MMap maps local files; it cannot be combined with a Storage"}
		}
		flags |= C.CKVIEW_OPEN_MMAP
	}
	return C.CString(savePath), flags, nil
}

// Close frees the view. It is idempotent and always returns nil. Calls running in other
// goroutines finish first; calls made after Close (also on a Reader borrowed from the view)
// return ErrClosed.
func (v *View) Close() error {
	v.ref.close()
	runtime.SetFinalizer(v, nil)
	return nil
}

// use runs body with the C view, held open for its duration.
func (v *View) use(body func(view *C.ckview_view) error) error {
	ptr, err := v.ref.acquire()
	if err != nil {
		return err
	}
	defer v.ref.release()
	err = v.storage.attach(body((*C.ckview_view)(ptr)))
	runtime.KeepAlive(v)
	return err
}

// goString copies a string borrowed from the library.
func goString(s C.ckview_str) string {
	if s.len == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(s.ptr)), int(s.len)))
}

// borrowed is the array of count elements at ptr, borrowed from the view (valid while the view
// is held open by use): the caller copies what it keeps. A count of 0 gives nil without reading
// ptr, which the library leaves valid but not to be read.
func borrowed[T any](ptr *T, count C.size_t) []T {
	if count == 0 || ptr == nil {
		return nil
	}
	return unsafe.Slice(ptr, int(count))
}

// NodeCount is the number of nodes of the object graph; ids run from 0 (the root) to
// NodeCount()-1.
func (v *View) NodeCount() (int, error) {
	var count C.size_t
	err := v.use(func(view *C.ckview_view) error {
		return statusError(C.ckview_node_count(view, &count), "View.NodeCount")
	})
	return int(count), err
}

// Children is CheckpointView.children(node): the node's named children in the order of
// TensorFlow's dict. A name the node gives twice keeps its first place and its last child.
func (v *View) Children(node uint32) ([]Child, error) {
	var children []Child
	err := v.use(func(view *C.ckview_view) error {
		var ptr *C.ckview_child
		var count C.size_t
		if err := statusError(C.ckview_children(view, C.uint32_t(node), &ptr, &count), "View.Children(%d)", node); err != nil {
			return err
		}
		children = make([]Child, int(count))
		for i, child := range borrowed(ptr, count) {
			children[i] = Child{Name: goString(child.name), NodeID: uint32(child.node_id)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return children, nil
}

// Descendants is CheckpointView.descendants(): node 0 and every node reachable from it,
// breadth first.
func (v *View) Descendants() ([]uint32, error) {
	var ids []uint32
	err := v.use(func(view *C.ckview_view) error {
		var ptr *C.uint32_t
		var count C.size_t
		if err := statusError(C.ckview_descendants(view, &ptr, &count), "View.Descendants"); err != nil {
			return err
		}
		ids = make([]uint32, int(count))
		if count > 0 {
			copy(ids, unsafe.Slice((*uint32)(unsafe.Pointer(ptr)), int(count)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// path writes the dotted path of node through buf, growing it as needed.
func path(view *C.ckview_view, node uint32, buf []byte) (string, []byte, error) {
	for {
		var length C.size_t
		var status C.ckview_status
		if len(buf) == 0 {
			status = C.ckview_path(view, C.uint32_t(node), nil, 0, &length)
		} else {
			status = C.ckview_path(view, C.uint32_t(node), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &length)
		}
		switch status {
		case C.CKVIEW_OK:
			return string(buf[:int(length)]), buf, nil
		case C.CKVIEW_BUFFER_TOO_SMALL:
			buf = make([]byte, int(length)+1)
		default:
			return "", buf, statusError(status, "View.Path(%d)", node)
		}
	}
}

// Path is the dotted path of node as TensorFlow builds it ("root", "root.leaf.a_var",
// "root.vars.0"). A node the root does not reach has none: ErrNodeUnreachable.
func (v *View) Path(node uint32) (string, error) {
	var p string
	err := v.use(func(view *C.ckview_view) error {
		var err error
		p, _, err = path(view, node, make([]byte, 64))
		return err
	})
	return p, err
}

// Paths is every node reachable from the root with its path, in Descendants order (TensorFlow's
// _descendants_with_paths).
func (v *View) Paths() ([]NodePath, error) {
	ids, err := v.Descendants()
	if err != nil {
		return nil, err
	}
	paths := make([]NodePath, 0, len(ids))
	err = v.use(func(view *C.ckview_view) error {
		buf := make([]byte, 256)
		for _, id := range ids {
			var p string
			var err error
			if p, buf, err = path(view, id, buf); err != nil {
				return err
			}
			paths = append(paths, NodePath{NodeID: id, Path: p})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return paths, nil
}

// Attributes is the node's serialized tensors, in stored order.
func (v *View) Attributes(node uint32) ([]Attribute, error) {
	var attributes []Attribute
	err := v.use(func(view *C.ckview_view) error {
		var ptr *C.ckview_attribute
		var count C.size_t
		if err := statusError(C.ckview_attributes(view, C.uint32_t(node), &ptr, &count), "View.Attributes(%d)", node); err != nil {
			return err
		}
		attributes = make([]Attribute, int(count))
		for i, a := range borrowed(ptr, count) {
			attributes[i] = Attribute{
				Name:          goString(a.name),
				FullName:      goString(a.full_name),
				CheckpointKey: goString(a.checkpoint_key),
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return attributes, nil
}

// AttributeTensors is the tensors of attribute number attribute of node (an index into
// Attributes(node)), read through the view's Reader. A variable's attribute has one tensor, under
// its CheckpointKey; a table (MutableHashTable, DenseHashTable) stores its tensors under the
// CheckpointKey plus a suffix each ("-keys", "-values"), listed in key order. Empty when the
// checkpoint has neither: the attribute's tensor is missing.
func (v *View) AttributeTensors(node uint32, attribute int) ([]TensorInfo, error) {
	if attribute < 0 {
		return nil, fmt.Errorf("ckview: View.AttributeTensors(%d, %d): negative attribute index", node, attribute)
	}
	var infos []TensorInfo
	err := v.use(func(view *C.ckview_view) error {
		var list *C.ckview_tensor_list
		var cerr *C.ckview_error
		if status := C.ckview_attribute_tensors(view, C.uint32_t(node), C.size_t(attribute), &list, &cerr); status != C.CKVIEW_OK {
			return takeError(status, cerr, "View.AttributeTensors")
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

// SlotVariables is the optimizer slot variables recorded on node (legacy Keras optimizers record
// them on the optimizer's node).
func (v *View) SlotVariables(node uint32) ([]SlotVariable, error) {
	var slots []SlotVariable
	err := v.use(func(view *C.ckview_view) error {
		var ptr *C.ckview_slot_variable
		var count C.size_t
		if err := statusError(C.ckview_slot_variables(view, C.uint32_t(node), &ptr, &count), "View.SlotVariables(%d)", node); err != nil {
			return err
		}
		slots = make([]SlotVariable, int(count))
		for i, s := range borrowed(ptr, count) {
			slots[i] = SlotVariable{
				OriginalVariableNodeID: uint32(s.original_variable_node_id),
				SlotName:               goString(s.slot_name),
				SlotVariableNodeID:     uint32(s.slot_variable_node_id),
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slots, nil
}

// VariableSlots is the optimizer slots recorded for the variable node (the reverse of
// SlotVariables).
func (v *View) VariableSlots(node uint32) ([]VariableSlot, error) {
	var slots []VariableSlot
	err := v.use(func(view *C.ckview_view) error {
		var ptr *C.ckview_variable_slot
		var count C.size_t
		if err := statusError(C.ckview_variable_slots(view, C.uint32_t(node), &ptr, &count), "View.VariableSlots(%d)", node); err != nil {
			return err
		}
		slots = make([]VariableSlot, int(count))
		for i, s := range borrowed(ptr, count) {
			slots[i] = VariableSlot{
				SlotName:        goString(s.slot_name),
				OptimizerNodeID: uint32(s.optimizer_node_id),
				SlotNodeID:      uint32(s.slot_node_id),
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slots, nil
}

// RegisteredSaver is the saver registered for node; ok is false when there is none.
func (v *View) RegisteredSaver(node uint32) (saver RegisteredSaver, ok bool, err error) {
	err = v.use(func(view *C.ckview_view) error {
		var present C.bool
		var s C.ckview_registered_saver
		if err := statusError(C.ckview_saver(view, C.uint32_t(node), &present, &s), "View.RegisteredSaver(%d)", node); err != nil {
			return err
		}
		if ok = bool(present); ok {
			saver = RegisteredSaver{Name: goString(s.name), ObjectName: goString(s.object_name)}
		}
		return nil
	})
	return saver, ok, err
}

// HasCheckpointValues is the node's has_checkpoint_values flag, which writers may leave unset.
func (v *View) HasCheckpointValues(node uint32) (OptionalBool, error) {
	var value C.ckview_optional_bool
	err := v.use(func(view *C.ckview_view) error {
		return statusError(C.ckview_has_checkpoint_values(view, C.uint32_t(node), &value), "View.HasCheckpointValues(%d)", node)
	})
	if err != nil {
		return Unset, err
	}
	return OptionalBool(value), nil
}
