// Package ckview reads TensorFlow 2 object-based checkpoints without TensorFlow, through
// libckview's C ABI: the object graph that tf.train.CheckpointView shows Python (Children,
// Descendants, the dotted Path of every node, attributes and optimizer slots), Match and Diff
// against a live Go object graph, and the checkpoint's tensors (Reader).
//
// Results equal TensorFlow 2.21's, order included. Every malformed input ends in an *Error
// carrying a Status and the library's message; compare with errors.Is against the Err* values:
//
//	view, err := ckview.Open("tests/fixtures/doc_children/tf_ckpts-1")
//	if errors.Is(err, ckview.ErrNameBasedCheckpoint) {
//		// a TF1 checkpoint: no object graph; read its tensors with OpenReader
//	}
//	defer view.Close()
//	children, err := view.Children(0)
//
// # Resources and goroutines
//
// View and Reader hold C resources: Close them (Close is idempotent; a finalizer closes what
// the program forgot, late). Both are safe for concurrent use by any number of goroutines, and
// Close may race with other calls: it waits for the calls already running, and later calls
// return ErrClosed.
//
// # Live objects
//
// Match and Diff walk a live graph through a ChildrenFunc. Each distinct live object travels
// through C as one cgo.Handle for the duration of the call, and objects are told apart with ==,
// so they must be comparable values; pointers are the normal case. An error returned by the
// ChildrenFunc comes back from Match or Diff unchanged; a panic in it is recovered (it never
// crosses C) and comes back as a *PanicError. MatchEdges and DiffEdges take the live graph as
// edges between integer ids instead.
//
// # Building
//
// Inside the ckview repository nothing needs configuring: build the library with
// `cargo build --release` at the repository root, then `go test ./...` in bindings/go. The
// package links target/release/libckview.so with an rpath to it.
//
// Against an installed libckview with its ckview.pc, build with one of these tags:
//
//	go build -tags ckview_pkgconfig ./...   # cgo runs `pkg-config ckview` itself
//
//	CGO_CFLAGS="$(pkg-config --cflags ckview)" CGO_LDFLAGS="$(pkg-config --libs ckview)" \
//	    go build -tags ckview_external ./...  # flags from the environment only
package ckview
