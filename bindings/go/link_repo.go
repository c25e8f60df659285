//go:build !ckview_pkgconfig && !ckview_external

package ckview

// The default build links the library built in this repository (`cargo build --release` at the
// repository root), so that `go test ./...` needs no environment variables. The rpath lets the
// test binaries find libckview.so without LD_LIBRARY_PATH.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lckview -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
