package ckview_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	ckview "github.com/ckview/ckview/bindings/go"
)

// The children of a checkpoint's root, printed as the tf.train.CheckpointView documentation
// prints them.
func ExampleView_Children() {
	view, err := ckview.Open("../../tests/fixtures/doc_children/tf_ckpts-1")
	if err != nil {
		log.Fatal(err)
	}
	defer view.Close()
	children, err := view.Children(0)
	if err != nil {
		log.Fatal(err)
	}
	for _, child := range children {
		fmt.Printf("- name: '%s', node_id: %d\n", child.Name, child.NodeID)
	}
	// Output:
	// - name: 'a_var', node_id: 1
	// - name: 'b_var', node_id: 2
	// - name: 'vars', node_id: 3
	// - name: 'leaf', node_id: 4
	// - name: 'root', node_id: 0
	// - name: 'save_counter', node_id: 5
}

// Module is a live object of the program: a name and named children.
type Module struct {
	Name     string
	Children []ckview.LiveChild
}

// Diff compares a checkpoint with a live Go object graph: which checkpoint nodes have no live
// object to restore into, and which live objects have no checkpoint value.
func ExampleView_Diff() {
	view, err := ckview.Open("../../tests/fixtures/doc_children/tf_ckpts-1")
	if err != nil {
		log.Fatal(err)
	}
	defer view.Close()

	aVar := &Module{Name: "a_var"}
	extra := &Module{Name: "extra"}
	root := &Module{Name: "root", Children: []ckview.LiveChild{{Name: "a_var", Child: aVar}, {Name: "extra", Child: extra}}}

	diff, err := view.Diff(root, func(obj any) ([]ckview.LiveChild, error) {
		return obj.(*Module).Children, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, pair := range diff.Matched {
		fmt.Printf("node %d restores into %s\n", pair.NodeID, pair.Object.(*Module).Name)
	}
	var missing []string
	for _, node := range diff.OnlyInCheckpoint {
		path, _ := view.Path(node)
		missing = append(missing, path)
	}
	fmt.Println("only in the checkpoint:", strings.Join(missing, " "))
	for _, obj := range diff.OnlyInLive {
		fmt.Println("only in the program:", obj.(*Module).Name)
	}
	// Output:
	// node 0 restores into root
	// node 1 restores into a_var
	// only in the checkpoint: root.b_var root.vars root.leaf root.save_counter root.vars.0 root.vars.1 root.leaf.a_var root.leaf.b_var root.leaf.vars root.leaf.vars.0 root.leaf.vars.1
	// only in the program: extra
}

// The tensors of a checkpoint, read by key.
func ExampleReader_ReadFloat32() {
	reader, err := ckview.OpenReader("../../tests/fixtures/dtype_zoo/zoo")
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	info, err := reader.Find("float32/.ATTRIBUTES/VARIABLE_VALUE")
	if err != nil {
		log.Fatal(err)
	}
	values, err := reader.ReadFloat32(info.Key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.DType, info.Shape, values)
	// Output:
	// float32 [2 3] [1.5 -2.25 0 3.4028235e+38 -1.1754944e-38 1e-45]
}

// A checkpoint read through an fs.FS instead of local paths: here os.DirFS, but any fs.FS whose
// files implement io.ReaderAt, or any ckview.Storage (files in memory, ranged reads of a cloud
// object store), does the same. The names ckview asks for are the save path's forms within it.
func ExampleOpenWith() {
	storage := ckview.FSStorage(os.DirFS("../../tests/fixtures"))
	view, err := ckview.OpenWith("doc_children", ckview.Options{Storage: storage})
	if err != nil {
		log.Fatal(err) // a failure of the storage: errors.Is(err, fs.ErrPermission), ...
	}
	defer view.Close()
	count, err := view.NodeCount()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(count, "nodes")
	// Output:
	// 13 nodes
}

// Memory-mapped shards let Borrow lend a tensor's stored bytes without a copy.
func ExampleReader_Borrow() {
	reader, err := ckview.OpenReaderWith("../../tests/fixtures/doc_children/tf_ckpts-1", ckview.Options{MMap: true})
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	err = reader.Borrow("save_counter/.ATTRIBUTES/VARIABLE_VALUE", true, func(data []byte) error {
		fmt.Println(len(data), "bytes") // valid only until this function returns
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 8 bytes
}
