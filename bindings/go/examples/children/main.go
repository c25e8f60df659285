// Prints the children of a checkpoint's root as the tf.train.CheckpointView documentation does:
//
//	cd bindings/go && go run ./examples/children ../../tests/fixtures/doc_children/tf_ckpts-1
package main

import (
	"fmt"
	"log"
	"os"

	ckview "github.com/ckview/ckview/bindings/go"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: children CHECKPOINT")
	}
	view, err := ckview.Open(os.Args[1])
	if err != nil {
		log.Fatal(err) // an *ckview.Error: errors.Is(err, ckview.ErrNameBasedCheckpoint), ...
	}
	defer view.Close()
	children, err := view.Children(0)
	if err != nil {
		log.Fatal(err)
	}
	for _, child := range children {
		fmt.Printf("- name: '%s', node_id: %d\n", child.Name, child.NodeID)
	}
}
