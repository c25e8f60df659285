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
// # Options and storage
//
// OpenWith and OpenReaderWith take Options. By default files are read with positioned reads
// and never mapped, so a failing or shrinking file gives ErrIOError instead of a SIGBUS;
// Options{MMap: true} maps the data shards so that Reader.Borrow can lend tensor bytes without
// a copy (without MMap, Borrow fails with ErrUnsupported; ReadBytes and the typed reads work
// either way). Options{Storage: s} reads the checkpoint's files through s instead of the local
// filesystem: FSStorage adapts an fs.FS whose files implement io.ReaderAt (os.DirFS, embed.FS),
// and any type with Open(name) (File, error), where a File is an io.ReaderAt and io.Closer with
// a Size, plugs in (files in memory, a cloud SDK's ranged reads). Its methods may be called from
// every goroutine using the View or Reader at once; the View or Reader keeps the Storage until
// it is closed, and ckview closes every file it opened. An error of the Storage comes back from
// the call that met it as an *Error of StatusIOError (or StatusNotFound when no form of the
// path could be opened) whose Err is the Storage's own error, so errors.Is and errors.As reach
// it. A panic in a Storage or File method is recovered (it never crosses C) and comes back the
// same way, as a *PanicError in Err; it is not re-raised.
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
