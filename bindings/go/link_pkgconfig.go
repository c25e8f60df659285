//go:build ckview_pkgconfig && !ckview_external

package ckview

// Built with `-tags ckview_pkgconfig`, the package takes its compiler and linker flags from
// `pkg-config ckview` (an installed libckview with its ckview.pc).

// #cgo pkg-config: ckview
import "C"
