//go:build ckview_external

package ckview

// Built with `-tags ckview_external`, the package adds no flags of its own: give them in the
// environment, for example
//
//	CGO_CFLAGS="$(pkg-config --cflags ckview)" CGO_LDFLAGS="$(pkg-config --libs ckview)" go build -tags ckview_external

import "C"
