package ckview

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

var allStatuses = []Status{
	StatusOK, StatusInvalidArgument, StatusNotFound, StatusIOError, StatusNotATable,
	StatusCorruptTable, StatusChecksumMismatch, StatusUnsupportedVersion, StatusUnsupported,
	StatusCorruptEntry, StatusCorruptData, StatusKeyNotFound, StatusNameBasedCheckpoint,
	StatusCorruptObjectGraph, StatusNodeOutOfRange, StatusIndexOutOfRange, StatusBufferTooSmall,
	StatusNodeUnreachable, StatusCallbackFailed, StatusUnsupportedDType, StatusNotACheckpoint, StatusDuplicateName, StatusInternalError,
}

// The Go statuses are exactly the header's: same numbers, and the library names them.
func TestStatusesMatchTheHeader(t *testing.T) {
	header, err := os.ReadFile(filepath.Join("..", "..", "include", "ckview.h"))
	if err != nil {
		t.Fatal(err)
	}
	enum := regexp.MustCompile(`(?s)typedef enum \{(.*?)\} ckview_status;`).FindSubmatch(header)
	if enum == nil {
		t.Fatal("no ckview_status enum in ckview.h")
	}
	inHeader := map[Status]string{}
	for _, m := range regexp.MustCompile(`(CKVIEW_[A-Z_]+) = (\d+),`).FindAllStringSubmatch(string(enum[1]), -1) {
		n, _ := strconv.Atoi(m[2])
		inHeader[Status(n)] = m[1]
	}
	inGo := map[Status]string{}
	for _, s := range allStatuses {
		inGo[s] = s.String()
	}
	wantEqual(t, "statuses (Go vs ckview.h)", inGo, inHeader)
	if got := Status(1000).String(); got != "unknown status" {
		t.Errorf("Status(1000) = %q", got)
	}
}

func TestErrorMatching(t *testing.T) {
	err := error(&Error{Status: StatusNotFound, Message: "no checkpoint at x"})
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrIOError) {
		t.Error("errors.Is against the Err* values")
	}
	if !errors.Is(err, &Error{Status: StatusNotFound, Message: "no checkpoint at x"}) || errors.Is(err, &Error{Status: StatusNotFound, Message: "y"}) {
		t.Error("errors.Is against an *Error with a message")
	}
	if StatusOf(err) != StatusNotFound || StatusOf(nil) != StatusOK || StatusOf(errors.New("x")) != StatusInternalError {
		t.Error("StatusOf")
	}
	if got := err.Error(); got != "ckview: CKVIEW_NOT_FOUND: no checkpoint at x" {
		t.Errorf("Error() = %q", got)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version()) {
		t.Errorf("Version() = %q", Version())
	}
}

func TestNodeErrors(t *testing.T) {
	v := openView(t, loadGolden(t, "crafted_graph").prefixPath())
	count, err := v.NodeCount()
	if err != nil {
		t.Fatal(err)
	}
	out := uint32(count)
	if _, err := v.Children(out); !errors.Is(err, ErrNodeOutOfRange) || !strings.Contains(err.Error(), "CKVIEW_NODE_OUT_OF_RANGE") {
		t.Errorf("Children(%d): %v", out, err)
	}
	for name, call := range map[string]func() error{
		"Attributes":          func() error { _, err := v.Attributes(out); return err },
		"SlotVariables":       func() error { _, err := v.SlotVariables(out); return err },
		"VariableSlots":       func() error { _, err := v.VariableSlots(out); return err },
		"RegisteredSaver":     func() error { _, _, err := v.RegisteredSaver(out); return err },
		"HasCheckpointValues": func() error { _, err := v.HasCheckpointValues(out); return err },
		"Path":                func() error { _, err := v.Path(out); return err },
	} {
		if err := call(); !errors.Is(err, ErrNodeOutOfRange) {
			t.Errorf("%s(%d): %v", name, out, err)
		}
	}
	// Node 9 is in the graph, but no edge reaches it.
	if p, err := v.Path(9); !errors.Is(err, ErrNodeUnreachable) {
		t.Errorf("Path(9) = %q, %v", p, err)
	}
	if _, err := Open("a\x00b"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Open with a NUL: %v", err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	v, err := Open(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	other := openView(t, g.prefixPath())
	reader := v.Reader()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	root := liveTree(g)[0]
	for name, call := range map[string]func() error{
		"NodeCount":           func() error { _, err := v.NodeCount(); return err },
		"Children":            func() error { _, err := v.Children(0); return err },
		"Descendants":         func() error { _, err := v.Descendants(); return err },
		"Path":                func() error { _, err := v.Path(0); return err },
		"Paths":               func() error { _, err := v.Paths(); return err },
		"Attributes":          func() error { _, err := v.Attributes(0); return err },
		"SlotVariables":       func() error { _, err := v.SlotVariables(0); return err },
		"VariableSlots":       func() error { _, err := v.VariableSlots(0); return err },
		"RegisteredSaver":     func() error { _, _, err := v.RegisteredSaver(0); return err },
		"HasCheckpointValues": func() error { _, err := v.HasCheckpointValues(0); return err },
		"Match":               func() error { _, err := v.Match(root, liveChildren); return err },
		"Diff":                func() error { _, err := v.Diff(root, liveChildren); return err },
		"MatchEdges":          func() error { _, err := v.MatchEdges(0, []Edge{{0, "a", 1}}); return err },
		"DiffEdges":           func() error { _, err := v.DiffEdges(0, nil); return err },
		"DiffView":            func() error { _, err := v.DiffView(other); return err },
		"other.DiffView":      func() error { _, err := other.DiffView(v); return err },
		"Reader().List":       func() error { _, err := v.Reader().List(); return err },
		"reader.Find":         func() error { _, err := reader.Find("save_counter/.ATTRIBUTES/VARIABLE_VALUE"); return err },
		"reader.ReadBytes":    func() error { _, err := reader.ReadBytes("save_counter/.ATTRIBUTES/VARIABLE_VALUE"); return err },
		"reader.ReadStrings":  func() error { _, err := reader.ReadStrings("x"); return err },
	} {
		if err := call(); err != ErrClosed {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
	if _, err := other.NodeCount(); err != nil {
		t.Errorf("the other view: %v", err)
	}
}

// The finalizer closes a View the program forgot.
func TestFinalizerClosesForgottenViews(t *testing.T) {
	path := loadGolden(t, "doc_children").prefixPath()
	var refs []*cref
	for i := 0; i < 20; i++ {
		v, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, v.ref)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		open := 0
		for _, r := range refs {
			r.mu.Lock()
			if r.ptr != nil {
				open++
			}
			r.mu.Unlock()
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d forgotten views are still open", open, len(refs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
