package ckview

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TensorFlow restored each tables/ checkpoint with assert_consumed(), so every key it lists is
// one attribute's tensor: over every attribute of every node, AttributeTensors must give each
// key once, with TensorFlow's dtype and shape.
func TestAttributeTensorsAreTheKeysTensorFlowRestores(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixturesDir, "tables", "tf_answers.json"))
	if err != nil {
		t.Fatal(err)
	}
	var answers struct {
		Checkpoints map[string]struct {
			Variables [][2]json.RawMessage `json:"variables"`
			Dtypes    map[string]string    `json:"dtypes"`
		} `json:"checkpoints"`
	}
	if err := json.Unmarshal(data, &answers); err != nil {
		t.Fatal(err)
	}
	for prefix, answer := range answers.Checkpoints {
		expected := map[string]string{}
		for _, pair := range answer.Variables {
			var key string
			var shape []uint64
			if json.Unmarshal(pair[0], &key) != nil || json.Unmarshal(pair[1], &shape) != nil {
				t.Fatalf("%s: bad answer %s", prefix, pair)
			}
			if key != "_CHECKPOINTABLE_OBJECT_GRAPH" {
				expected[key] = answer.Dtypes[key] + " " + string(mustJSON(t, shape))
			}
		}
		view, err := Open(filepath.Join(fixturesDir, "tables", prefix))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		count, _ := view.NodeCount()
		for node := uint32(0); node < uint32(count); node++ {
			attributes, err := view.Attributes(node)
			if err != nil {
				t.Fatal(err)
			}
			for index := range attributes {
				tensors, err := view.AttributeTensors(node, index)
				if err != nil {
					t.Fatal(err)
				}
				for _, tensor := range tensors {
					if _, twice := got[tensor.Key]; twice {
						t.Errorf("%s: %s listed twice", prefix, tensor.Key)
					}
					got[tensor.Key] = tensor.DType.String() + " " + string(mustJSON(t, tensor.Shape))
				}
			}
		}
		if !reflect.DeepEqual(got, expected) {
			t.Errorf("%s: AttributeTensors %v, TensorFlow %v", prefix, got, expected)
		}
		if _, err := view.AttributeTensors(1, 5); err == nil {
			t.Errorf("%s: an attribute index past the end gave no error", prefix)
		}
		view.Close()
	}
}

func mustJSON(t *testing.T, value any) []byte {
	t.Helper()
	if s, ok := value.([]uint64); ok && len(s) == 0 {
		return []byte("[]")
	}
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
