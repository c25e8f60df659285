package ckview

import (
	"os"
	"testing"
)

// BenchmarkChildrenEveryNode calls Children on every node of the checkpoint named by
// CKVIEW_BENCH_CHECKPOINT (for example one written by
// `cargo run --release --example generate -- 300000 /tmp/big/ckpt` at the repository root).
// Without it the benchmark is skipped.
//
//	CKVIEW_BENCH_CHECKPOINT=/tmp/big/ckpt go test -run '^$' -bench ChildrenEveryNode
func BenchmarkChildrenEveryNode(b *testing.B) {
	path := os.Getenv("CKVIEW_BENCH_CHECKPOINT")
	if path == "" {
		b.Skip("set CKVIEW_BENCH_CHECKPOINT to a checkpoint")
	}
	v, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	count, err := v.NodeCount()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		edges := 0
		for node := 0; node < count; node++ {
			children, err := v.Children(uint32(node))
			if err != nil {
				b.Fatal(err)
			}
			edges += len(children)
		}
		b.ReportMetric(float64(edges), "edges")
	}
	b.ReportMetric(float64(count), "nodes")
}
