package ckview

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// liveObject is a Go stand-in for a TensorFlow trackable: live graphs are pointers to it.
type liveObject struct {
	path     string
	children []LiveChild
}

func liveChildren(obj any) ([]LiveChild, error) {
	return obj.(*liveObject).children, nil
}

// liveTree builds the live graph of a golden trackable_tree: one *liveObject per entry, children
// pointing at the entries their indices name.
func liveTree(g *golden) []*liveObject {
	objects := make([]*liveObject, len(g.TrackableTree))
	for i, entry := range g.TrackableTree {
		objects[i] = &liveObject{path: entry.Path}
	}
	for i, entry := range g.TrackableTree {
		for _, c := range entry.Children {
			objects[i].children = append(objects[i].children, LiveChild{Name: c.First, Child: objects[c.Second]})
		}
	}
	return objects
}

// The fixtures whose live Python objects TensorFlow compared with match and diff.
var comparedFixtures = []string{"doc_children", "doc_diff", "cycles_and_shared"}

// wantComparison is the golden's match and diff results over the live objects.
func wantComparison(g *golden, objects []*liveObject, diff bool) *Comparison {
	want := &Comparison{}
	for _, m := range g.Match {
		want.Matched = append(want.Matched, Pair{NodeID: uint32(m[0]), Object: objects[m[1]]})
	}
	if diff {
		want.OnlyInCheckpoint = g.DiffOnlyInCkpt
		for _, index := range g.DiffOnlyInLive {
			want.OnlyInLive = append(want.OnlyInLive, any(objects[index]))
		}
	}
	return want
}

// normalize makes empty lists nil, so that DeepEqual compares contents only.
func normalize(c *Comparison) *Comparison {
	out := *c
	if len(out.Matched) == 0 {
		out.Matched = nil
	}
	if len(out.OnlyInCheckpoint) == 0 {
		out.OnlyInCheckpoint = nil
	}
	if len(out.OnlyInLive) == 0 {
		out.OnlyInLive = nil
	}
	if len(out.Conflicts) == 0 {
		out.Conflicts = nil
	}
	return &out
}

func TestMatchAndDiffGoldens(t *testing.T) {
	for _, name := range comparedFixtures {
		g := loadGolden(t, name)
		t.Run(name, func(t *testing.T) {
			if len(g.TrackableTree) == 0 {
				t.Fatal("no trackable_tree in the golden")
			}
			v := openView(t, g.prefixPath())
			objects := liveTree(g)
			var ids []uint32
			for _, m := range g.Match {
				ids = append(ids, uint32(m[0]))
			}
			wantEqual(t, "golden match and match_node_ids", ids, g.MatchNodeIDs)

			diff, err := v.Diff(objects[0], liveChildren)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "Diff", normalize(diff), normalize(wantComparison(g, objects, true)))

			match, err := v.Match(objects[0], liveChildren)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "Match", normalize(match), normalize(wantComparison(g, objects, false)))
		})
	}
}

// The documentation's diff example: diff(root2)[1] == [4, 5, 8, 9, 10, 11, 12, 13, 14].
func TestDocDiffExample(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	wantEqual(t, "golden diff_only_in_checkpoint", g.DiffOnlyInCkpt, []uint32{4, 5, 8, 9, 10, 11, 12, 13, 14})
	v := openView(t, g.prefixPath())
	objects := liveTree(g)
	diff, err := v.Diff(objects[0], liveChildren)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "OnlyInCheckpoint", diff.OnlyInCheckpoint, []uint32{4, 5, 8, 9, 10, 11, 12, 13, 14})
	var paths []string
	for _, obj := range diff.OnlyInLive {
		paths = append(paths, obj.(*liveObject).path)
	}
	var wantPaths []string
	for _, index := range g.DiffOnlyInLive {
		wantPaths = append(wantPaths, g.TrackableTree[index].Path)
	}
	wantEqual(t, "OnlyInLive paths", paths, wantPaths)
	for i, index := range g.DiffOnlyInLive {
		if diff.OnlyInLive[i] != any(objects[index]) {
			t.Errorf("OnlyInLive[%d] is not the very pointer of tree entry %d", i, index)
		}
	}
}

// edgesOf is a live tree as edges between integer ids (tree index + offset).
func edgesOf(g *golden, offset uint64) []Edge {
	var edges []Edge
	for i, entry := range g.TrackableTree {
		for _, c := range entry.Children {
			edges = append(edges, Edge{Parent: uint64(i) + offset, Name: c.First, Child: uint64(c.Second) + offset})
		}
	}
	return edges
}

func TestEdgesGoldens(t *testing.T) {
	const offset = 1000
	for _, name := range comparedFixtures {
		g := loadGolden(t, name)
		t.Run(name, func(t *testing.T) {
			v := openView(t, g.prefixPath())
			want := &IDComparison{}
			for _, m := range g.Match {
				want.Matched = append(want.Matched, IDPair{NodeID: uint32(m[0]), Object: uint64(m[1]) + offset})
			}
			match, err := v.MatchEdges(offset, edgesOf(g, offset))
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "MatchEdges", match, want)
			want.OnlyInCheckpoint = g.DiffOnlyInCkpt
			for _, index := range g.DiffOnlyInLive {
				want.OnlyInLive = append(want.OnlyInLive, uint64(index)+offset)
			}
			if len(want.OnlyInCheckpoint) == 0 {
				want.OnlyInCheckpoint = nil
			}
			diff, err := v.DiffEdges(offset, edgesOf(g, offset))
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "DiffEdges", diff, want)
		})
	}
}

// A node reached as a second live object is a conflict (TensorFlow logs it and keeps the first);
// with no edges at all only the root matches.
func TestConflictsAndEmptyEdges(t *testing.T) {
	// In cycles_and_shared, the root's children "first" and "second" are one node.
	v := openView(t, loadGolden(t, "cycles_and_shared").prefixPath())
	children, err := v.Children(0)
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]uint32{}
	for _, c := range children {
		shared[c.Name] = c.NodeID
	}
	if shared["first"] == 0 || shared["first"] != shared["second"] {
		t.Fatalf("the fixture changed: %v", children)
	}
	node := shared["first"]
	got, err := v.MatchEdges(100, []Edge{{Parent: 100, Name: "first", Child: 200}, {Parent: 100, Name: "second", Child: 300}})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "Conflicts", got.Conflicts, []IDConflict{{NodeID: node, Matched: 200, Other: 300}})

	root, first, second := &liveObject{path: "root"}, &liveObject{path: "first"}, &liveObject{path: "second"}
	root.children = []LiveChild{{Name: "first", Child: first}, {Name: "second", Child: second}}
	c, err := v.Match(root, liveChildren)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Conflicts) != 1 || c.Conflicts[0] != (Conflict{NodeID: node, Matched: first, Other: second}) {
		t.Errorf("Conflicts = %#v", c.Conflicts)
	}

	empty, err := v.DiffEdges(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "DiffEdges(nil).Matched", empty.Matched, []IDPair{{NodeID: 0, Object: 7}})
	descendants, _ := v.Descendants()
	wantEqual(t, "DiffEdges(nil).OnlyInCheckpoint", empty.OnlyInCheckpoint, descendants[1:])
	if len(empty.OnlyInLive) != 0 {
		t.Errorf("DiffEdges(nil).OnlyInLive = %v", empty.OnlyInLive)
	}
}

// DiffView is DiffEdges with the other checkpoint's graph as the live one.
func TestDiffView(t *testing.T) {
	a := openView(t, loadGolden(t, "doc_children").prefixPath())
	b := openView(t, loadGolden(t, "doc_diff").prefixPath())
	count, err := b.NodeCount()
	if err != nil {
		t.Fatal(err)
	}
	var edges []Edge
	for node := 0; node < count; node++ {
		children, err := b.Children(uint32(node))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range children {
			edges = append(edges, Edge{Parent: uint64(node), Name: c.Name, Child: uint64(c.NodeID)})
		}
	}
	got, err := a.DiffView(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.DiffEdges(0, edges)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "DiffView", got, want)
	// doc_diff has everything doc_children has, and root.leaf.leaf3 and root.leaf.leaf4.
	if len(got.OnlyInCheckpoint) != 0 || len(got.OnlyInLive) != 2 {
		t.Errorf("DiffView = %+v", got)
	}
	for _, id := range got.OnlyInLive {
		if path, err := b.Path(uint32(id)); err != nil || !strings.HasPrefix(path, "root.leaf.leaf") {
			t.Errorf("only in doc_diff: %d %q %v", id, path, err)
		}
	}

	self, err := a.DiffView(a)
	if err != nil {
		t.Fatal(err)
	}
	descendants, _ := a.Descendants()
	if len(self.Matched) != len(descendants) || len(self.OnlyInCheckpoint) != 0 || len(self.OnlyInLive) != 0 {
		t.Errorf("DiffView(self) = %+v", self)
	}
	if _, err := a.DiffView(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("DiffView(nil): %v", err)
	}
}

var errStop = errors.New("stop listing")

type listingError struct{ path string }

func (e *listingError) Error() string { return "cannot list " + e.path }

// An error of the children function comes back unchanged, whichever object it stops at.
func TestChildrenFuncError(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	v := openView(t, g.prefixPath())
	objects := liveTree(g)
	// Match asks only matched objects for their children (root and root.vars are; root.leaf2.vars
	// is not); Diff asks every live object.
	for _, stop := range []struct {
		index int
		diff  bool
	}{{0, false}, {3, false}, {0, true}, {3, true}, {9, true}} {
		stopAt := objects[stop.index]
		children := func(obj any) ([]LiveChild, error) {
			if obj == any(stopAt) {
				return nil, fmt.Errorf("at %s: %w", stopAt.path, errStop)
			}
			return liveChildren(obj)
		}
		compare := v.Match
		if stop.diff {
			compare = v.Diff
		}
		c, err := compare(objects[0], children)
		if c != nil || !errors.Is(err, errStop) || !strings.Contains(err.Error(), stopAt.path) {
			t.Errorf("stopping at %s (diff %v): %v, %v", stopAt.path, stop.diff, c, err)
		}
	}
	// The very error value, not a copy or a wrapper.
	mine := &listingError{path: "root"}
	_, err := v.Diff(objects[0], func(any) ([]LiveChild, error) { return nil, mine })
	if err != error(mine) {
		t.Errorf("Diff returned %#v, want the children function's own error", err)
	}
	var le *listingError
	if !errors.As(err, &le) || le != mine {
		t.Errorf("errors.As: %v", err)
	}
}

// A panic in the children function never crosses C: it comes back as a *PanicError.
func TestChildrenFuncPanic(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	v := openView(t, g.prefixPath())
	objects := liveTree(g)
	_, err := v.Diff(objects[0], func(obj any) ([]LiveChild, error) {
		if obj == any(objects[3]) {
			panic("no children today")
		}
		return liveChildren(obj)
	})
	var p *PanicError
	if !errors.As(err, &p) || p.Value != "no children today" || len(p.Stack) == 0 {
		t.Fatalf("Diff: %#v", err)
	}
	// A panic with an error value unwraps to it; a runtime error (nil map, bad assertion) too.
	_, err = v.Match(objects[0], func(any) ([]LiveChild, error) { panic(io.ErrUnexpectedEOF) })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Match: %v", err)
	}
	_, err = v.Match(objects[0], func(any) ([]LiveChild, error) { panic(nil) })
	if !errors.As(err, &p) {
		t.Errorf("panic(nil): %v", err)
	}
	_, err = v.Match("not a *liveObject", liveChildren)
	if !errors.As(err, &p) {
		t.Errorf("bad type assertion in the children function: %v", err)
	}
	// The view is still fine.
	if _, err := v.Diff(objects[0], liveChildren); err != nil {
		t.Fatal(err)
	}
}

// Objects without identity (slices, maps) are refused with an error, not a crash.
func TestIncomparableObjects(t *testing.T) {
	v := openView(t, loadGolden(t, "doc_children").prefixPath())
	_, err := v.Diff([]int{1}, liveChildren)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("slice root: %v", err)
	}
	root := &liveObject{children: []LiveChild{{Name: "a_var", Child: map[string]int{}}}}
	_, err = v.Diff(root, liveChildren)
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "map[string]int") {
		t.Errorf("map child: %v", err)
	}
	if _, err := v.Match(root, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil children function: %v", err)
	}
	// Comparable non-pointer values work: equal values are one object.
	type key struct{ name string }
	values := map[key][]LiveChild{
		{"root"}: {{Name: "a_var", Child: key{"a"}}, {Name: "b_var", Child: key{"a"}}},
		{"a"}:    nil,
	}
	c, err := v.Match(key{"root"}, func(obj any) ([]LiveChild, error) { return values[obj.(key)], nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Matched) != 3 || c.Matched[1].Object != any(key{"a"}) || c.Matched[2].Object != any(key{"a"}) {
		t.Errorf("Matched = %#v", c.Matched)
	}
}

// The children function may call back into the view, and even close it: the close waits for
// the running Diff.
func TestChildrenFuncReentry(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	v, err := Open(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	objects := liveTree(g)
	want, err := v.Diff(objects[0], liveChildren)
	if err != nil {
		t.Fatal(err)
	}
	nested := 0
	got, err := v.Diff(objects[0], func(obj any) ([]LiveChild, error) {
		_, err := v.Children(0)
		switch {
		case nested == 0 && err != nil:
			return nil, err
		case nested > 0 && err != ErrClosed:
			return nil, fmt.Errorf("Children after the Close: %v", err)
		}
		if obj == any(objects[4]) {
			inner, err := v.Diff(objects[0], liveChildren)
			if err != nil {
				return nil, err
			}
			if !reflect.DeepEqual(inner, want) {
				return nil, errors.New("the nested Diff differs")
			}
			nested++
			v.Close()
		}
		return liveChildren(obj)
	})
	if err != nil || nested != 1 {
		t.Fatalf("Diff: %v (nested %d)", err, nested)
	}
	wantEqual(t, "Diff with reentry", got, want)
	if _, err := v.Children(0); err != ErrClosed {
		t.Errorf("after the Close inside the Diff: %v", err)
	}
}
