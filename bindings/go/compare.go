package ckview

/*
#include <stdint.h>
#include <stdlib.h>
#include "ckview.h"

// Defined in callback.c: match (diff = 0) or diff with the Go children callback.
ckview_status ckview_go_compare(const ckview_view *view, uint64_t root, uintptr_t session, int diff,
                                ckview_comparison **comparison_out, ckview_error **error_out);
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

// LiveChild is one named child of a live object.
type LiveChild struct {
	Name  string
	Child any
}

// ChildrenFunc lists the named children of a live object, in the object's own order (for
// TensorFlow objects, the order of their _trackable_children). ckview asks for the children of
// each object at most once per call, synchronously, on the calling goroutine. It may call any
// method of any View, including the one being compared. It must not call runtime.Goexit (as
// t.Fatal does): that cannot be recovered inside a call from C.
type ChildrenFunc func(obj any) ([]LiveChild, error)

// Pair is a checkpoint node and the live object it restores into.
type Pair struct {
	NodeID uint32
	Object any
}

// Conflict is a checkpoint node reached as two different live objects. TensorFlow only logs
// "Inconsistent references when matching the checkpoint" and keeps the first.
type Conflict struct {
	NodeID uint32
	// Matched is the object the node was matched to first (and stays matched to).
	Matched any
	// Other is the other object reached later under the same node.
	Other any
}

// Comparison is the result of Match or Diff.
type Comparison struct {
	// Matched is the (node, object) pairs in the insertion order of TensorFlow's match dict,
	// starting with (0, root).
	Matched []Pair
	// OnlyInCheckpoint is the reachable checkpoint nodes no object matched, in Descendants order
	// (Diff only).
	OnlyInCheckpoint []uint32
	// OnlyInLive is the live objects no node matched, breadth first from the root, each once
	// (Diff only).
	OnlyInLive []any
	// Conflicts is every checkpoint node reached as two different objects, in the order met.
	Conflicts []Conflict
}

// IDPair, IDConflict and IDComparison are Pair, Conflict and Comparison for live graphs whose
// objects are integers: MatchEdges, DiffEdges and DiffView.
type IDPair struct {
	NodeID uint32
	Object uint64
}

// IDConflict is a Conflict between two integer objects.
type IDConflict struct {
	NodeID  uint32
	Matched uint64
	Other   uint64
}

// IDComparison is a Comparison whose objects are integers.
type IDComparison struct {
	Matched          []IDPair
	OnlyInCheckpoint []uint32
	OnlyInLive       []uint64
	Conflicts        []IDConflict
}

// Edge is one edge of a live graph given up front: Parent has the child Child under Name.
type Edge struct {
	Parent uint64
	Name   string
	Child  uint64
}

// The values the children callback returns to the library to stop a comparison.
const (
	callbackFailed   C.int32_t = 1
	callbackPanicked C.int32_t = 2
)

// compareSession is the state of one Match or Diff. Every distinct live object gets one
// cgo.Handle for the duration of the call: the library compares objects by their handles, so
// the same object must always travel as the same integer.
type compareSession struct {
	children ChildrenFunc
	handles  map[any]cgo.Handle
	objects  map[cgo.Handle]any
	made     []cgo.Handle
	err      error
	names    []byte
}

func newPanicError(value any) *PanicError {
	return &PanicError{Value: value, Stack: debug.Stack()}
}

// fail keeps the first error of the call.
func (s *compareSession) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// handleOf returns the one handle of obj, making it on first sight.
func (s *compareSession) handleOf(obj any) (h cgo.Handle, err error) {
	defer func() {
		// Hashing an interface holding a slice, map or func panics: such a value has no identity.
		if recover() != nil {
			err = &Error{
				Status:  StatusInvalidArgument,
				Message: fmt.Sprintf("a live object of type %T is not comparable, so it has no identity (use a pointer)", obj),
			}
		}
	}()
	if h, ok := s.handles[obj]; ok {
		return h, nil
	}
	h = cgo.NewHandle(obj)
	s.handles[obj] = h
	s.objects[h] = obj
	s.made = append(s.made, h)
	return h, nil
}

// deleteHandles ends the call: the handles of its objects are no longer valid.
func (s *compareSession) deleteHandles() {
	for _, h := range s.made {
		h.Delete()
	}
	s.made = nil
}

// list asks the Go children function for the children of object and hands them to sink.
func (s *compareSession) list(object uint64, sink *C.ckview_child_sink) C.int32_t {
	kids, err := s.children(cgo.Handle(object).Value())
	if err != nil {
		s.fail(err)
		return callbackFailed
	}
	ids := make([]cgo.Handle, len(kids))
	names := s.names[:0]
	for i, kid := range kids {
		if ids[i], err = s.handleOf(kid.Child); err != nil {
			s.fail(err)
			return callbackFailed
		}
		names = append(names, kid.Name...)
	}
	s.names = names
	offset := 0
	for i, kid := range kids {
		var name *C.char
		if len(kid.Name) > 0 {
			name = (*C.char)(unsafe.Pointer(&names[offset]))
			offset += len(kid.Name)
		}
		if status := C.ckview_child_sink_add(sink, name, C.size_t(len(kid.Name)), C.uint64_t(ids[i])); status != C.CKVIEW_OK {
			s.fail(statusError(status, "ckview_child_sink_add(%q)", kid.Name))
			return callbackFailed
		}
	}
	return 0
}

// Match is CheckpointView.match(root): which checkpoint node restores into which live object.
// children lists the children of a live object. Objects are told apart with ==, so they must
// be comparable; pointers are the normal case. Matched starts with (0, root); OnlyInCheckpoint
// and OnlyInLive are empty; Conflicts lists the nodes reached as two different objects.
//
// An error returned by children stops the match, and Match returns that very error; a panic in
// children is recovered and returned as a *PanicError.
func (v *View) Match(root any, children ChildrenFunc) (*Comparison, error) {
	return v.compare(root, children, false)
}

// Diff is CheckpointView.diff(root): Match, plus the reachable checkpoint nodes no object
// matched and the live objects no node matched. Errors and panics of children are returned as
// for Match.
func (v *View) Diff(root any, children ChildrenFunc) (*Comparison, error) {
	return v.compare(root, children, true)
}

func (v *View) compare(root any, children ChildrenFunc, diff bool) (*Comparison, error) {
	if children == nil {
		return nil, &Error{Status: StatusInvalidArgument, Message: "the children function is nil"}
	}
	s := &compareSession{children: children, handles: make(map[any]cgo.Handle), objects: make(map[cgo.Handle]any)}
	defer s.deleteHandles()
	rootHandle, err := s.handleOf(root)
	if err != nil {
		return nil, err
	}
	self := cgo.NewHandle(s)
	defer self.Delete()
	flag := C.int(0)
	if diff {
		flag = 1
	}
	var ids *IDComparison
	err = v.use(func(view *C.ckview_view) error {
		var out *C.ckview_comparison
		var cerr *C.ckview_error
		status := C.ckview_go_compare(view, C.uint64_t(rootHandle), C.uintptr_t(self), flag, &out, &cerr)
		if status != C.CKVIEW_OK {
			if status == C.CKVIEW_CALLBACK_FAILED && s.err != nil {
				C.ckview_error_free(cerr)
				return s.err
			}
			return takeError(status, cerr, "View.Match/Diff")
		}
		defer C.ckview_comparison_free(out)
		var err error
		ids, err = readComparison(out)
		return err
	})
	if err != nil {
		return nil, err
	}
	unknown := false
	object := func(id uint64) any {
		obj, ok := s.objects[cgo.Handle(id)]
		unknown = unknown || !ok
		return obj
	}
	result := &Comparison{
		Matched:          make([]Pair, len(ids.Matched)),
		OnlyInCheckpoint: ids.OnlyInCheckpoint,
		OnlyInLive:       make([]any, len(ids.OnlyInLive)),
		Conflicts:        make([]Conflict, len(ids.Conflicts)),
	}
	for i, p := range ids.Matched {
		result.Matched[i] = Pair{NodeID: p.NodeID, Object: object(p.Object)}
	}
	for i, id := range ids.OnlyInLive {
		result.OnlyInLive[i] = object(id)
	}
	for i, c := range ids.Conflicts {
		result.Conflicts[i] = Conflict{NodeID: c.NodeID, Matched: object(c.Matched), Other: object(c.Other)}
	}
	if unknown {
		return nil, &Error{Status: StatusInternalError, Message: "the comparison names a live object this call never passed to the library"}
	}
	return result, nil
}

// cArray views count elements of a C array borrowed from the library (nil when empty).
func cArray[T any](ptr *T, count C.size_t) []T {
	if ptr == nil || count == 0 {
		return nil
	}
	return unsafe.Slice(ptr, int(count))
}

// readComparison copies a comparison's four lists.
func readComparison(c *C.ckview_comparison) (*IDComparison, error) {
	result := &IDComparison{}
	var pairs *C.ckview_matched_pair
	var count C.size_t
	if err := statusError(C.ckview_comparison_matched(c, &pairs, &count), "ckview_comparison_matched"); err != nil {
		return nil, err
	}
	for _, p := range cArray(pairs, count) {
		result.Matched = append(result.Matched, IDPair{NodeID: uint32(p.node_id), Object: uint64(p.object)})
	}
	var nodes *C.uint32_t
	if err := statusError(C.ckview_comparison_only_in_checkpoint(c, &nodes, &count), "ckview_comparison_only_in_checkpoint"); err != nil {
		return nil, err
	}
	for _, n := range cArray(nodes, count) {
		result.OnlyInCheckpoint = append(result.OnlyInCheckpoint, uint32(n))
	}
	var objects *C.uint64_t
	if err := statusError(C.ckview_comparison_only_in_live(c, &objects, &count), "ckview_comparison_only_in_live"); err != nil {
		return nil, err
	}
	for _, o := range cArray(objects, count) {
		result.OnlyInLive = append(result.OnlyInLive, uint64(o))
	}
	var conflicts *C.ckview_conflict
	if err := statusError(C.ckview_comparison_conflicts(c, &conflicts, &count), "ckview_comparison_conflicts"); err != nil {
		return nil, err
	}
	for _, k := range cArray(conflicts, count) {
		result.Conflicts = append(result.Conflicts, IDConflict{
			NodeID:  uint32(k.node_id),
			Matched: uint64(k.matched_object),
			Other:   uint64(k.other_object),
		})
	}
	return result, nil
}

// MatchEdges is Match on a live graph given as edges between integer objects: an object's
// children are its edges, in the order given.
func (v *View) MatchEdges(root uint64, edges []Edge) (*IDComparison, error) {
	return v.compareEdges(root, edges, false)
}

// DiffEdges is Diff on a live graph given as edges between integer objects.
func (v *View) DiffEdges(root uint64, edges []Edge) (*IDComparison, error) {
	return v.compareEdges(root, edges, true)
}

func (v *View) compareEdges(root uint64, edges []Edge, diff bool) (*IDComparison, error) {
	// The edges and their names go to C in C memory: cgo forbids handing C Go memory that
	// holds Go pointers.
	var cedges *C.ckview_edge
	if len(edges) > 0 {
		total := 0
		for _, e := range edges {
			total += len(e.Name)
		}
		names := C.malloc(C.size_t(total + 1))
		defer C.free(names)
		cedges = (*C.ckview_edge)(C.malloc(C.size_t(len(edges)) * C.size_t(unsafe.Sizeof(C.ckview_edge{}))))
		defer C.free(unsafe.Pointer(cedges))
		bytes := unsafe.Slice((*byte)(names), total+1)
		list := unsafe.Slice(cedges, len(edges))
		offset := 0
		for i, e := range edges {
			copy(bytes[offset:], e.Name)
			list[i] = C.ckview_edge{
				parent: C.uint64_t(e.Parent),
				name:   C.ckview_str{ptr: (*C.char)(unsafe.Pointer(&bytes[offset])), len: C.size_t(len(e.Name))},
				child:  C.uint64_t(e.Child),
			}
			offset += len(e.Name)
		}
	}
	var result *IDComparison
	err := v.use(func(view *C.ckview_view) error {
		var out *C.ckview_comparison
		var cerr *C.ckview_error
		var status C.ckview_status
		if diff {
			status = C.ckview_diff_edges(view, C.uint64_t(root), cedges, C.size_t(len(edges)), &out, &cerr)
		} else {
			status = C.ckview_match_edges(view, C.uint64_t(root), cedges, C.size_t(len(edges)), &out, &cerr)
		}
		if status != C.CKVIEW_OK {
			return takeError(status, cerr, "View.MatchEdges/DiffEdges")
		}
		defer C.ckview_comparison_free(out)
		var err error
		result, err = readComparison(out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// DiffView diffs the structure of this checkpoint against other: other's node ids play the live
// objects, so a node matches when it has the same name at the same place. OnlyInCheckpoint is
// the nodes only in v; OnlyInLive is the node ids only in other.
func (v *View) DiffView(other *View) (*IDComparison, error) {
	if other == nil {
		return nil, &Error{Status: StatusInvalidArgument, Message: "the other view is nil"}
	}
	var result *IDComparison
	err := v.use(func(view *C.ckview_view) error {
		return other.use(func(otherView *C.ckview_view) error {
			var out *C.ckview_comparison
			var cerr *C.ckview_error
			if status := C.ckview_diff_view(view, otherView, &out, &cerr); status != C.CKVIEW_OK {
				return takeError(status, cerr, "View.DiffView")
			}
			defer C.ckview_comparison_free(out)
			var err error
			result, err = readComparison(out)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}
