package ckview

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func adamFixture(kind string) string {
	if kind == "tf1" {
		return filepath.Join(fixturesDir, "adam_trained", "tf1", "model.ckpt")
	}
	return filepath.Join(fixturesDir, "adam_trained", kind, "ckpt-1")
}

func filesSize(t *testing.T, prefix string) uint64 {
	t.Helper()
	var total uint64
	for _, suffix := range []string{".index", ".data-00000-of-00001"} {
		info, err := os.Stat(prefix + suffix)
		if err != nil {
			t.Fatal(err)
		}
		total += uint64(info.Size())
	}
	return total
}

// tensorflowRestores runs tests/python/tf_restore.py: TensorFlow 2.21 restores each output into
// a fresh model with assert_existing_objects_matched.
func tensorflowRestores(t *testing.T, jobs []map[string]string) []map[string]any {
	t.Helper()
	python := filepath.Join("..", "..", ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: TensorFlow 2.21 is the oracle of this test (.ci/run installs it)", python)
	}
	input, _ := json.Marshal(jobs)
	command := exec.Command(python, filepath.Join("..", "..", "tests", "python", "tf_restore.py"))
	command.Stdin = bytes.NewReader(input)
	command.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=3")
	output, err := command.Output()
	if err != nil {
		t.Fatalf("tf_restore.py: %v", err)
	}
	var verdicts []map[string]any
	if err := json.Unmarshal(output, &verdicts); err != nil {
		t.Fatal(err)
	}
	return verdicts
}

func TestRewriteDropSlotsRestoresInTensorFlow(t *testing.T) {
	dir := t.TempDir()
	var jobs []map[string]string
	for _, kind := range []string{"keras3", "legacy"} {
		for _, how := range []string{"reader", "view"} {
			out := filepath.Join(dir, kind+"-"+how)
			var reader *Reader
			if how == "reader" {
				var err error
				if reader, err = OpenReader(adamFixture(kind)); err != nil {
					t.Fatal(err)
				}
			} else {
				view, err := Open(adamFixture(kind))
				if err != nil {
					t.Fatal(err)
				}
				defer view.Close()
				reader = view.Reader()
			}
			summary, err := reader.Rewrite(out, RewriteOptions{DropSlots: true})
			reader.Close()
			if err != nil {
				t.Fatal(err)
			}
			if summary.BytesBefore != filesSize(t, adamFixture(kind)) || summary.BytesAfter != filesSize(t, out) || summary.BytesAfter*2 >= summary.BytesBefore {
				t.Errorf("%s %s: %+v", kind, how, summary)
			}
			copy, err := OpenReader(out)
			if err != nil {
				t.Fatal(err)
			}
			infos, err := copy.List()
			if err != nil {
				t.Fatal(err)
			}
			for _, info := range infos {
				if strings.Contains(info.Key, ".OPTIMIZER_SLOT") {
					t.Errorf("%s: slot %s is left", kind, info.Key)
				}
			}
			copy.Close()
			jobs = append(jobs, map[string]string{"kind": kind, "source": adamFixture(kind), "out": out})
		}
	}
	for i, verdict := range tensorflowRestores(t, jobs) {
		if verdict["error"] != nil {
			t.Errorf("%v: TensorFlow: %v", jobs[i], verdict["error"])
		}
		for _, variable := range verdict["variables"].([]any) {
			if variable.([]any)[1] != true {
				t.Errorf("%v: %v was not restored to the trained value", jobs[i], variable)
			}
		}
	}
}

func TestRewriteKeepsBytesAndRefusesMistakes(t *testing.T) {
	dir := t.TempDir()
	source, err := OpenReader(adamFixture("legacy"))
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close()
	out := filepath.Join(dir, "layer0")
	if _, err := source.Rewrite(out, RewriteOptions{Select: []string{"root.model.layer_with_weights-0"}}); err != nil {
		t.Fatal(err)
	}
	copy, err := OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	infos, _ := copy.List()
	if len(infos) < 3 {
		t.Fatalf("kept %+v", infos)
	}
	for _, info := range infos {
		if strings.Contains(info.Key, "layer_with_weights-1") {
			t.Errorf("%s was not selected", info.Key)
		}
		if info.Key == "_CHECKPOINTABLE_OBJECT_GRAPH" {
			continue
		}
		a, errA := copy.ReadBytes(info.Key)
		b, errB := source.ReadBytes(info.Key)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %v %v", info.Key, errA, errB)
		}
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tf1, err := OpenReader(adamFixture("tf1"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf1.Close()
	cases := []struct {
		reader *Reader
		opts   RewriteOptions
		want   error
	}{
		{source, RewriteOptions{Drop: []string{"root.model.nope"}}, ErrInvalidArgument},
		{source, RewriteOptions{Drop: []string{"root"}}, ErrInvalidArgument},
		{tf1, RewriteOptions{DropSlots: true}, ErrNameBasedCheckpoint},
		{tf1, RewriteOptions{Select: []string{"no/such/key"}}, ErrKeyNotFound},
	}
	for _, c := range cases {
		if _, err := c.reader.Rewrite(filepath.Join(empty, "out"), c.opts); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.opts, err, c.want)
		}
	}
	if _, err := source.Rewrite(adamFixture("legacy"), RewriteOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("the source as output: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a failed rewrite left %v", entries)
	}
	source.Close()
	if _, err := source.Rewrite(filepath.Join(empty, "out"), RewriteOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("a closed reader: %v", err)
	}
}
