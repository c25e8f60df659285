package ckview

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// safetensorsFile reads a safetensors file's header: each tensor's data range, and the metadata.
func safetensorsFile(t *testing.T, path string) (map[string][]byte, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data[:8])
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	tensors, metadata := map[string][]byte{}, map[string]string{}
	for name, raw := range header {
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &metadata); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var info struct {
			DataOffsets [2]uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			t.Fatal(err)
		}
		tensors[name] = data[8+n+info.DataOffsets[0] : 8+n+info.DataOffsets[1]]
	}
	return tensors, metadata
}

// The file holds what ExportNames lists, each tensor's bytes those the reader reads for its key.
func TestExportSafetensorsWritesWhatExportNamesLists(t *testing.T) {
	reader, err := OpenReader(adamFixture("legacy"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	opts := ExportOptions{DropSlots: true, Names: "full_name"}
	listed, err := reader.ExportNames(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model.safetensors")
	report, err := reader.ExportSafetensors(out, opts)
	if err != nil {
		t.Fatal(err)
	}
	tensors, metadata := safetensorsFile(t, out)
	if report.Tensors != uint64(len(listed)) || len(tensors) != len(listed) || report.DroppedOptimizerState == 0 || report.Files != 1 {
		t.Fatalf("report %+v, %d listed, %d in the file", report, len(listed), len(tensors))
	}
	for _, tensor := range listed {
		want, err := reader.ReadBytes(tensor.Key)
		if err != nil {
			t.Fatal(err)
		}
		if string(tensors[tensor.Name]) != string(want) || metadata["tensorflow_key:"+tensor.Name] != tensor.Key {
			t.Errorf("%s (%s) differs from the checkpoint", tensor.Name, tensor.Key)
		}
	}
	names := make([]string, 0, len(listed))
	for _, tensor := range listed {
		names = append(names, tensor.Name)
	}
	sort.Strings(names)
	if want := []string{"hidden/bias", "hidden/kernel", "out/bias", "out/kernel", "save_counter"}; len(names) != len(want) || names[0] != want[0] || names[4] != want[4] {
		t.Errorf("names %v", names)
	}
}

func TestExportSafetensorsRefusalsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	zoo, err := OpenReader(filepath.Join(fixturesDir, "dtype_zoo", "zoo"))
	if err != nil {
		t.Fatal(err)
	}
	defer zoo.Close()
	if _, err := zoo.ExportSafetensors(filepath.Join(dir, "zoo.safetensors"), ExportOptions{}); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("unsupported dtypes: %v", err)
	}
	if _, err := zoo.ExportSafetensors(filepath.Join(dir, "zoo.safetensors"), ExportOptions{Names: "bogus"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad naming: %v", err)
	}
	tf1, err := OpenReader(adamFixture("tf1"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf1.Close()
	if _, err := tf1.ExportSafetensors(filepath.Join(dir, "tf1.safetensors"), ExportOptions{DropSlots: true}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("drop slots without a graph: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused export left %v", entries)
	}
	tf1.Close()
	if _, err := tf1.ExportNames(ExportOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("closed reader: %v", err)
	}
}
