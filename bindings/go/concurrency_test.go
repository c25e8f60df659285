package ckview

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// One View shared by many goroutines: graph queries, tensor reads through its borrowed reader
// and through a shared owned reader, and Match and Diff with Go callbacks, all at once. Run it
// with -race.
func TestConcurrentUseOfOneView(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	v := openView(t, g.prefixPath())
	shared, err := OpenReader(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	objects := liveTree(g)

	wantPaths, err := v.Paths()
	if err != nil {
		t.Fatal(err)
	}
	wantDiff, err := v.Diff(objects[0], liveChildren)
	if err != nil {
		t.Fatal(err)
	}
	wantEdges, err := v.DiffEdges(1000, edgesOf(g, 1000))
	if err != nil {
		t.Fatal(err)
	}
	wantValues := map[string][]byte{}
	for key, tensor := range g.Tensors {
		if tensor.Hex != nil {
			wantValues[key], err = v.Reader().ReadBytes(key)
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	const goroutines, rounds = 16, 25
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- func() error {
				reader := v.Reader()
				for round := 0; round < rounds; round++ {
					switch (i + round) % 4 {
					case 0:
						paths, err := v.Paths()
						if err != nil || !reflect.DeepEqual(paths, wantPaths) {
							return fmt.Errorf("Paths: %v", err)
						}
						for _, p := range paths {
							if _, err := v.Children(p.NodeID); err != nil {
								return err
							}
						}
					case 1:
						diff, err := v.Diff(objects[0], liveChildren)
						if err != nil || !reflect.DeepEqual(diff, wantDiff) {
							return fmt.Errorf("Diff: %v", err)
						}
					case 2:
						diff, err := v.DiffEdges(1000, edgesOf(g, 1000))
						if err != nil || !reflect.DeepEqual(diff, wantEdges) {
							return fmt.Errorf("DiffEdges: %v", err)
						}
					case 3:
						for key, want := range wantValues {
							r := reader
							if round%2 == 0 {
								r = shared
							}
							got, err := r.ReadBytes(key)
							if err != nil || !reflect.DeepEqual(got, want) {
								return fmt.Errorf("ReadBytes(%q): %v", key, err)
							}
						}
					}
				}
				return nil
			}()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Close racing with running calls: every call either completes normally or fails with
// ErrClosed, and the view is freed once, after the last of them.
func TestCloseWhileInUse(t *testing.T) {
	g := loadGolden(t, "doc_diff")
	objects := liveTree(g)
	for trial := 0; trial < 5; trial++ {
		v, err := Open(g.prefixPath())
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		errs := make(chan error, 8)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for n := 0; ; n++ {
					if i == 0 && n == 3 {
						close(started)
					}
					var err error
					if (i+n)%2 == 0 {
						_, err = v.Diff(objects[0], liveChildren)
					} else {
						_, err = v.Reader().ReadBytes("save_counter/.ATTRIBUTES/VARIABLE_VALUE")
					}
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							errs <- err
						}
						return
					}
				}
			}(i)
		}
		<-started
		v.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("a call racing with Close: %v", err)
		}
		if v.ref.ptr != nil || v.ref.users != 0 {
			t.Errorf("after the last call: ptr %v, users %d", v.ref.ptr, v.ref.users)
		}
	}
}
