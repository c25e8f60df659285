package ckview

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// The fixtures and TensorFlow's answers for them (tests/fixtures/README.md has the schema).
var fixturesDir = filepath.Join("..", "..", "tests", "fixtures")

// pair decodes a two-element JSON array such as ["a_var", 1].
type pair[A, B any] struct {
	First  A
	Second B
}

func (p *pair[A, B]) UnmarshalJSON(data []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &p.First); err != nil {
		return err
	}
	return json.Unmarshal(raw[1], &p.Second)
}

type pythonError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type goldenNode struct {
	ChildrenRaw []pair[string, int64] `json:"children_raw"`
	Attributes  []struct {
		Name          string `json:"name"`
		FullName      string `json:"full_name"`
		CheckpointKey string `json:"checkpoint_key"`
	} `json:"attributes"`
	SlotVariables []struct {
		OriginalVariableNodeID uint32 `json:"original_variable_node_id"`
		SlotName               string `json:"slot_name"`
		SlotVariableNodeID     uint32 `json:"slot_variable_node_id"`
	} `json:"slot_variables"`
	RegisteredSaver *struct {
		Name       string `json:"name"`
		ObjectName string `json:"object_name"`
	} `json:"registered_saver"`
	HasCheckpointValues *bool `json:"has_checkpoint_values"`
}

type goldenTensor struct {
	DType      string   `json:"dtype"`
	Shape      []uint64 `json:"shape"`
	Hex        *string  `json:"hex"`
	StringsHex []string `json:"strings_hex"`
}

type trackable struct {
	Path     string              `json:"path"`
	Type     string              `json:"type"`
	Children []pair[string, int] `json:"children"`
}

type golden struct {
	name             string
	dir              string
	Prefix           string                               `json:"prefix"`
	ViewError        *pythonError                         `json:"view_error"`
	NumNodes         *int                                 `json:"num_nodes"`
	Children         []pair[int64, []pair[string, int64]] `json:"children"`
	Paths            []pair[int64, string]                `json:"paths"`
	Descendants      []int64                              `json:"descendants"`
	DescendantsError *pythonError                         `json:"descendants_error"`
	Nodes            []goldenNode                         `json:"nodes"`
	Variables        []pair[string, []uint64]             `json:"variables"`
	DTypes           map[string]string                    `json:"dtypes"`
	Tensors          map[string]goldenTensor              `json:"tensors"`
	TrackableTree    []trackable                          `json:"trackable_tree"`
	Match            [][2]int                             `json:"match"`
	MatchNodeIDs     []uint32                             `json:"match_node_ids"`
	DiffOnlyInCkpt   []uint32                             `json:"diff_only_in_checkpoint"`
	DiffOnlyInLive   []int                                `json:"diff_only_in_trackable"`
}

// prefixPath is the checkpoint prefix of the fixture, as a path from this folder.
func (g *golden) prefixPath() string {
	return filepath.Join(g.dir, g.Prefix)
}

func loadGolden(t testing.TB, name string) *golden {
	t.Helper()
	dir := filepath.Join(fixturesDir, name)
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := &golden{name: name, dir: dir}
	if err := json.Unmarshal(data, g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

// allGoldens is every fixture that has a golden.json, by name.
func allGoldens(t testing.TB) []*golden {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures under %s", fixturesDir)
	}
	sort.Strings(files)
	var goldens []*golden
	for _, file := range files {
		goldens = append(goldens, loadGolden(t, filepath.Base(filepath.Dir(file))))
	}
	return goldens
}

// refusedByCkview are the fixtures TensorFlow opens (or half-opens) but ckview refuses at open,
// on purpose (README: "Where ckview differs from TensorFlow").
var refusedByCkview = map[string]bool{
	"crafted_bad_ref":       true,
	"crafted_negative_ref":  true,
	"crafted_empty_graph":   true,
	"crafted_corrupt_graph": true,
}

// viewable says whether TensorFlow opens the fixture's view and walks its graph, and ckview
// agrees to.
func (g *golden) viewable() bool {
	return g.ViewError == nil && g.DescendantsError == nil && !refusedByCkview[g.name]
}

func openView(t testing.TB, path string) *View {
	t.Helper()
	v, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func wantEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestGoldenObjectGraphs(t *testing.T) {
	viewable := 0
	for _, g := range allGoldens(t) {
		g := g
		t.Run(g.name, func(t *testing.T) {
			if !g.viewable() {
				v, err := Open(g.prefixPath())
				if err == nil {
					v.Close()
					t.Fatalf("Open succeeded; TensorFlow: view_error %v, descendants_error %v", g.ViewError, g.DescendantsError)
				}
				want := ErrCorruptObjectGraph
				if g.ViewError != nil && g.ViewError.Type == "ValueError" {
					want = ErrNameBasedCheckpoint
				}
				if !errors.Is(err, want) {
					t.Fatalf("Open: %v, want status %v", err, want.Status)
				}
				return
			}
			viewable++
			v := openView(t, g.prefixPath())
			count, err := v.NodeCount()
			if err != nil || g.NumNodes == nil || count != *g.NumNodes {
				t.Fatalf("NodeCount = %d, %v; want %v", count, err, g.NumNodes)
			}
			if len(g.Children) != count {
				t.Fatalf("the golden lists the children of %d nodes, the view has %d", len(g.Children), count)
			}
			for _, entry := range g.Children {
				got, err := v.Children(uint32(entry.First))
				if err != nil {
					t.Fatalf("Children(%d): %v", entry.First, err)
				}
				want := []Child{}
				for _, c := range entry.Second {
					want = append(want, Child{Name: c.First, NodeID: uint32(c.Second)})
				}
				wantEqual(t, fmt.Sprintf("Children(%d)", entry.First), got, want)
			}
			descendants, err := v.Descendants()
			if err != nil {
				t.Fatal(err)
			}
			wantDescendants := []uint32{}
			for _, id := range g.Descendants {
				wantDescendants = append(wantDescendants, uint32(id))
			}
			wantEqual(t, "Descendants()", descendants, wantDescendants)
			paths, err := v.Paths()
			if err != nil {
				t.Fatal(err)
			}
			var wantPaths []NodePath
			for _, p := range g.Paths {
				wantPaths = append(wantPaths, NodePath{NodeID: uint32(p.First), Path: p.Second})
				if got, err := v.Path(uint32(p.First)); err != nil || got != p.Second {
					t.Errorf("Path(%d) = %q, %v; want %q", p.First, got, err, p.Second)
				}
			}
			wantEqual(t, "Paths()", paths, wantPaths)
			checkNodes(t, v, g)
		})
	}
	if viewable < 8 {
		t.Errorf("only %d fixtures were compared", viewable)
	}
}

// checkNodes compares each node's attributes, slot variables, saver and flag with the proto.
func checkNodes(t *testing.T, v *View, g *golden) {
	t.Helper()
	for id, node := range g.Nodes {
		id := uint32(id)
		attributes, err := v.Attributes(id)
		if err != nil {
			t.Fatalf("Attributes(%d): %v", id, err)
		}
		wantAttributes := []Attribute{}
		for _, a := range node.Attributes {
			wantAttributes = append(wantAttributes, Attribute{Name: a.Name, FullName: a.FullName, CheckpointKey: a.CheckpointKey})
		}
		wantEqual(t, fmt.Sprintf("Attributes(%d)", id), attributes, wantAttributes)

		slots, err := v.SlotVariables(id)
		if err != nil {
			t.Fatalf("SlotVariables(%d): %v", id, err)
		}
		wantSlots := []SlotVariable{}
		for _, s := range node.SlotVariables {
			wantSlots = append(wantSlots, SlotVariable{s.OriginalVariableNodeID, s.SlotName, s.SlotVariableNodeID})
		}
		wantEqual(t, fmt.Sprintf("SlotVariables(%d)", id), slots, wantSlots)

		saver, ok, err := v.RegisteredSaver(id)
		if err != nil {
			t.Fatalf("RegisteredSaver(%d): %v", id, err)
		}
		if (node.RegisteredSaver != nil) != ok {
			t.Errorf("RegisteredSaver(%d): present %v, want %v", id, ok, node.RegisteredSaver != nil)
		} else if ok {
			wantEqual(t, fmt.Sprintf("RegisteredSaver(%d)", id), saver, RegisteredSaver{node.RegisteredSaver.Name, node.RegisteredSaver.ObjectName})
		}

		flag, err := v.HasCheckpointValues(id)
		if err != nil {
			t.Fatalf("HasCheckpointValues(%d): %v", id, err)
		}
		want := Unset
		if node.HasCheckpointValues != nil {
			want = map[bool]OptionalBool{false: False, true: True}[*node.HasCheckpointValues]
		}
		if flag != want {
			t.Errorf("HasCheckpointValues(%d) = %v, want %v", id, flag, want)
		}
	}
	// VariableSlots is SlotVariables seen from the variables: rebuild it from the golden's
	// slot_variables, optimizer nodes in id order.
	wantSlots := map[uint32][]VariableSlot{}
	for id, node := range g.Nodes {
		for _, s := range node.SlotVariables {
			wantSlots[s.OriginalVariableNodeID] = append(wantSlots[s.OriginalVariableNodeID],
				VariableSlot{SlotName: s.SlotName, OptimizerNodeID: uint32(id), SlotNodeID: s.SlotVariableNodeID})
		}
	}
	for id := range g.Nodes {
		got, err := v.VariableSlots(uint32(id))
		if err != nil {
			t.Fatalf("VariableSlots(%d): %v", id, err)
		}
		want := wantSlots[uint32(id)]
		if want == nil {
			want = []VariableSlot{}
		}
		wantEqual(t, fmt.Sprintf("VariableSlots(%d)", id), got, want)
	}
}

// The four hand-made graphs TensorFlow half-opens are refused whole, with status 13.
func TestCraftedGraphsFailToOpen(t *testing.T) {
	for name := range refusedByCkview {
		g := loadGolden(t, name)
		_, err := Open(g.prefixPath())
		var e *Error
		if !errors.As(err, &e) || int(e.Status) != 13 || e.Message == "" {
			t.Errorf("%s: Open: %v, want CKVIEW_CORRUPT_OBJECT_GRAPH (13) with a message", name, err)
		}
	}
}

func TestNameBasedCheckpoint(t *testing.T) {
	g := loadGolden(t, "tf1_name_based")
	_, err := Open(g.prefixPath())
	if !errors.Is(err, ErrNameBasedCheckpoint) || StatusOf(err) != 12 {
		t.Fatalf("Open: %v, want CKVIEW_NAME_BASED_CHECKPOINT", err)
	}
	if err.Error() == "" || err.(*Error).Message == "" {
		t.Fatal("no message")
	}
	// Its tensors are readable all the same.
	r, err := OpenReader(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.List(); err != nil {
		t.Fatal(err)
	}
}

// The documentation's listing, from Children(0).
func TestDocListing(t *testing.T) {
	g := loadGolden(t, "doc_children")
	listing, err := os.ReadFile(filepath.Join(g.dir, "listing.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v := openView(t, g.prefixPath())
	children, err := v.Children(0)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, c := range children {
		got += fmt.Sprintf("- name: '%s', node_id: %d\n", c.Name, c.NodeID)
	}
	if got != string(listing) {
		t.Fatalf("listing:\n%s\nwant:\n%s", got, listing)
	}
}

// ckview opens what TensorFlow's save_path refuses: the directory, the .index, a data shard.
func TestOpenVariants(t *testing.T) {
	g := loadGolden(t, "doc_children")
	for _, path := range []string{
		g.prefixPath(),
		g.dir,
		g.prefixPath() + ".index",
		g.prefixPath() + ".data-00000-of-00001",
	} {
		v := openView(t, path)
		if n, err := v.NodeCount(); err != nil || n != *g.NumNodes {
			t.Errorf("Open(%q).NodeCount() = %d, %v", path, n, err)
		}
	}
	_, err := Open(filepath.Join(g.dir, "missing-1"))
	if !errors.Is(err, ErrNotFound) || err.(*Error).Message == "" {
		t.Errorf("missing checkpoint: %v", err)
	}
}
