package ckview

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// memStorage is a Storage of files in memory, keyed by slash-separated name: the kind of
// Storage a program writes itself.
type memStorage struct {
	files         map[string][]byte
	opens, closes atomic.Int64
}

type memFile struct {
	*bytes.Reader
	s      *memStorage
	closed atomic.Bool
}

func (f *memFile) Size() (int64, error) { return f.Reader.Size(), nil }

func (f *memFile) Close() error {
	if f.closed.Swap(true) {
		panic("memFile closed twice")
	}
	f.s.closes.Add(1)
	return nil
}

func (s *memStorage) Open(name string) (File, error) {
	data, ok := s.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	s.opens.Add(1)
	return &memFile{Reader: bytes.NewReader(data), s: s}, nil
}

// loadFixtures reads every file of the fixtures into memory, by path from fixturesDir.
func loadFixtures(t testing.TB) *memStorage {
	t.Helper()
	s := &memStorage{files: map[string][]byte{}}
	err := filepath.WalkDir(fixturesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(fixturesDir, path)
		s.files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// savePaths is every save path of the fixtures, relative to fixturesDir: each prefix with an
// .index, and each directory with a checkpoint state file.
func savePaths(t testing.TB, files map[string][]byte) []string {
	var paths []string
	for name := range files {
		if prefix := strings.TrimSuffix(name, ".index"); prefix != name {
			paths = append(paths, prefix)
		}
		if dir := strings.TrimSuffix(name, "/checkpoint"); dir != name {
			paths = append(paths, dir)
		}
	}
	sort.Strings(paths)
	if len(paths) < 20 {
		t.Fatalf("only %d checkpoints under %s", len(paths), fixturesDir)
	}
	return paths
}

// describeReader is everything a Reader gives, as lines (an error as its status, since the
// messages name the paths, which differ between storages).
func describeReader(r *Reader) []string {
	infos, err := r.List()
	if err != nil {
		return []string{"List: " + StatusOf(err).String()}
	}
	lines := []string{fmt.Sprintf("List: %+v", infos)}
	for _, info := range infos {
		if value, err := r.ReadBytes(info.Key); err == nil {
			lines = append(lines, fmt.Sprintf("ReadBytes(%q) = %x", info.Key, value))
		} else {
			lines = append(lines, fmt.Sprintf("ReadBytes(%q): %v", info.Key, StatusOf(err)))
		}
		if value, err := r.ReadStrings(info.Key); err == nil {
			lines = append(lines, fmt.Sprintf("ReadStrings(%q) = %q", info.Key, value))
		} else {
			lines = append(lines, fmt.Sprintf("ReadStrings(%q): %v", info.Key, StatusOf(err)))
		}
	}
	return lines
}

// describeView is everything a View gives: the graph, node by node, and its tensors.
func describeView(v *View) []string {
	count, err := v.NodeCount()
	if err != nil {
		return []string{"NodeCount: " + StatusOf(err).String()}
	}
	lines := []string{fmt.Sprint("NodeCount: ", count)}
	add := func(what string, value any, err error) {
		if err != nil {
			lines = append(lines, what+": "+StatusOf(err).String())
		} else {
			lines = append(lines, fmt.Sprintf("%s = %+v", what, value))
		}
	}
	paths, err := v.Paths()
	add("Paths", paths, err)
	for id := uint32(0); id < uint32(count); id++ {
		children, err := v.Children(id)
		add(fmt.Sprint("Children ", id), children, err)
		attributes, err := v.Attributes(id)
		add(fmt.Sprint("Attributes ", id), attributes, err)
		slots, err := v.SlotVariables(id)
		add(fmt.Sprint("SlotVariables ", id), slots, err)
		vslots, err := v.VariableSlots(id)
		add(fmt.Sprint("VariableSlots ", id), vslots, err)
		saver, ok, err := v.RegisteredSaver(id)
		add(fmt.Sprint("RegisteredSaver ", id), fmt.Sprint(saver, ok), err)
	}
	return append(lines, describeReader(v.Reader())...)
}

// describeOpen opens savePath as a View and as a Reader with opts and describes both.
func describeOpen(t *testing.T, savePath string, opts Options) []string {
	t.Helper()
	var lines []string
	if v, err := OpenWith(savePath, opts); err != nil {
		lines = append(lines, "OpenWith: "+StatusOf(err).String())
	} else {
		lines = append(lines, describeView(v)...)
		v.Close()
	}
	if r, err := OpenReaderWith(savePath, opts); err != nil {
		lines = append(lines, "OpenReaderWith: "+StatusOf(err).String())
	} else {
		lines = append(lines, describeReader(r)...)
		r.Close()
	}
	return lines
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			g, w := "(none)", "(none)"
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			t.Fatalf("%s differs from local files at line %d:\n got %s\nwant %s", what, i, g, w)
		}
	}
}

// Every fixture reads the same through an os.DirFS, through files in memory, and memory-mapped
// as from local files; every file the library opened is closed.
func TestStoragesReadAsLocalFiles(t *testing.T) {
	mem := loadFixtures(t)
	dirFS := FSStorage(os.DirFS(fixturesDir))
	views := 0
	for _, savePath := range savePaths(t, mem.files) {
		savePath := savePath
		t.Run(strings.ReplaceAll(savePath, "/", "_"), func(t *testing.T) {
			local := describeOpen(t, filepath.Join(fixturesDir, savePath), Options{})
			if !strings.HasPrefix(local[0], "OpenWith:") {
				views++
			}
			sameLines(t, "os.DirFS", describeOpen(t, savePath, Options{Storage: dirFS}), local)
			sameLines(t, "in memory", describeOpen(t, savePath, Options{Storage: mem}), local)
			sameLines(t, "./ in the name", describeOpen(t, "./"+savePath, Options{Storage: dirFS}), local)
			sameLines(t, "MMap", describeOpen(t, filepath.Join(fixturesDir, savePath), Options{MMap: true}), local)
		})
	}
	if views < 10 {
		t.Errorf("only %d fixtures opened as views", views)
	}
	if mem.opens.Load() == 0 || mem.opens.Load() != mem.closes.Load() {
		t.Errorf("in memory: %d files opened, %d closed", mem.opens.Load(), mem.closes.Load())
	}
}

var errInjected = errors.New("injected storage failure")

// failingStorage passes Open through to a memStorage; every ReadAt after the first `after`
// fails with errInjected, or panics with it when panics is set.
type failingStorage struct {
	mem    *memStorage
	after  int64
	panics bool
	reads  atomic.Int64
	failed atomic.Int64
}

type failingFile struct {
	File
	s *failingStorage
}

func (s *failingStorage) Open(name string) (File, error) {
	f, err := s.mem.Open(name)
	if err != nil {
		return nil, err
	}
	return failingFile{f, s}, nil
}

func (f failingFile) ReadAt(p []byte, off int64) (int, error) {
	if f.s.reads.Add(1) > f.s.after {
		f.s.failed.Add(1)
		if f.s.panics {
			panic(errInjected)
		}
		return 0, fmt.Errorf("reading at %d: %w", off, errInjected)
	}
	return f.File.ReadAt(p, off)
}

// checkFailure checks an error of a call during which a read failed.
func checkFailure(t *testing.T, what string, err error, panics bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: a read failed, but the call succeeded", what)
	}
	if !errors.Is(err, errInjected) || !errors.Is(err, ErrIOError) || StatusOf(err) != StatusIOError {
		t.Fatalf("%s: %v (%#v), want an I/O error wrapping errInjected", what, err, err)
	}
	var p *PanicError
	if errors.As(err, &p) != panics {
		t.Fatalf("%s: %v: a *PanicError inside is %v, want %v", what, err, !panics, panics)
	}
	if panics && (p.Callback != "File.ReadAt" || !strings.Contains(p.Error(), "File.ReadAt panicked")) {
		t.Fatalf("%s: %v, callback %q", what, p, p.Callback)
	}
}

// A Storage whose reads start failing after N: every call during which a read fails returns an
// error that errors.Is finds errInjected in, for every N, at open and later; what succeeds
// reads right; Close works; every file opened is closed. Likewise when ReadAt panics instead:
// the panic is recovered in the callback and comes back as the error's *PanicError.
func TestFailingStorage(t *testing.T) {
	mem := loadFixtures(t)
	const savePath = "dtype_zoo/zoo"
	local := describeOpen(t, filepath.Join(fixturesDir, savePath), Options{})
	localReader, err := OpenReader(filepath.Join(fixturesDir, savePath))
	if err != nil {
		t.Fatal(err)
	}
	defer localReader.Close()
	infos, err := localReader.List()
	if err != nil {
		t.Fatal(err)
	}
	// Reading everything through a storage that never fails counts the reads.
	counting := &failingStorage{mem: mem, after: 1 << 62}
	sameLines(t, "counting storage", describeOpen(t, savePath, Options{Storage: counting}), local)
	total := counting.reads.Load()
	if total < 10 {
		t.Fatalf("only %d reads", total)
	}
	for _, panics := range []bool{false, true} {
		for after := int64(0); after < total; after += 1 + after/3 {
			after, panics := after, panics
			t.Run(fmt.Sprintf("panics=%v/after=%d", panics, after), func(t *testing.T) {
				s := &failingStorage{mem: mem, after: after, panics: panics}
				opens, closes := mem.opens.Load(), mem.closes.Load()
				// watch runs call and checks it against whether a read failed during it.
				watch := func(what string, call func() error) error {
					t.Helper()
					before := s.failed.Load()
					err := call()
					if s.failed.Load() > before {
						checkFailure(t, what, err, panics)
					} else if errors.Is(err, errInjected) {
						t.Fatalf("%s: %v, but no read failed", what, err)
					}
					return err
				}
				var v *View
				if watch("OpenWith", func() (err error) { v, err = OpenWith(savePath, Options{Storage: s}); return err }) == nil {
					reader := v.Reader()
					watch("List", func() error { _, err := reader.List(); return err })
					for round := 0; round < 2; round++ {
						for _, info := range infos {
							want, wantErr := localReader.ReadBytes(info.Key)
							watch("ReadBytes "+info.Key, func() error {
								got, err := reader.ReadBytes(info.Key)
								if err == nil && (wantErr != nil || !bytes.Equal(got, want)) {
									t.Errorf("ReadBytes(%q) = %x, want %x, %v", info.Key, got, want, wantErr)
								}
								if err != nil && wantErr != nil && StatusOf(err) == StatusOf(wantErr) {
									return nil // the same error as local files (a string tensor)
								}
								return err
							})
						}
						// Once reads fail, they keep failing: so does every call that reads.
						if s.failed.Load() > 0 {
							for _, info := range infos {
								if info.DType == DTString {
									continue
								}
								if _, err := reader.ReadBytes(info.Key); !errors.Is(err, errInjected) && info.SizeBytes > 0 {
									t.Errorf("ReadBytes(%q) after reads began failing: %v", info.Key, err)
								}
							}
						}
					}
					if err := v.Close(); err != nil {
						t.Fatal(err)
					}
					if _, err := reader.List(); err != ErrClosed {
						t.Fatalf("List after Close: %v", err)
					}
				}
				var r *Reader
				if watch("OpenReaderWith", func() (err error) { r, err = OpenReaderWith(savePath, Options{Storage: s}); return err }) == nil {
					for _, info := range infos {
						watch("Reader.ReadBytes "+info.Key, func() error {
							_, err := r.ReadBytes(info.Key)
							if info.DType == DTString && errors.Is(err, ErrUnsupportedDType) {
								return nil
							}
							return err
						})
					}
					r.Close()
				}
				if o, c := mem.opens.Load()-opens, mem.closes.Load()-closes; o != c {
					t.Errorf("%d files opened, %d closed", o, c)
				}
			})
		}
	}
}

// What Storage.Open returns comes back from OpenWith; a missing checkpoint is ErrNotFound.
func TestStorageOpenErrors(t *testing.T) {
	mem := loadFixtures(t)
	_, err := OpenWith("no/such/ckpt-1", Options{Storage: mem})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing checkpoint: %v", err)
	}
	_, err = OpenWith("doc_children/tf_ckpts-1", Options{Storage: mem, MMap: true})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("MMap with a Storage: %v", err)
	}
	_, err = OpenReaderWith("doc_children/tf_ckpts-1", Options{Storage: mem, MMap: true})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("MMap with a Storage: %v", err)
	}
	// A storage whose every Open panics.
	_, err = OpenWith("doc_children/tf_ckpts-1", Options{Storage: storageFunc(func(name string) (File, error) {
		panic("no opening " + name)
	})})
	var p *PanicError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &p) || p.Callback != "Storage.Open" || !strings.HasPrefix(fmt.Sprint(p.Value), "no opening doc_children/") {
		t.Fatalf("a panicking Open: %v", err)
	}
	// Open's own error, other than fs.ErrNotExist, comes back too.
	_, err = OpenReaderWith("doc_children/tf_ckpts-1", Options{Storage: storageFunc(func(name string) (File, error) {
		if strings.HasSuffix(name, ".index") {
			return nil, fs.ErrPermission
		}
		return nil, fs.ErrNotExist
	})})
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("an Open that is refused: %v", err)
	}
	// A File whose Size fails, or is negative.
	sizeErr := errors.New("no size")
	for _, f := range []File{badSize{-1, nil}, badSize{0, sizeErr}} {
		_, err = OpenWith("doc_children/tf_ckpts-1", Options{Storage: storageFunc(func(name string) (File, error) { return f, nil })})
		if err == nil || (f.(badSize).err != nil && !errors.Is(err, sizeErr)) {
			t.Fatalf("%+v: %v", f, err)
		}
	}
}

type storageFunc func(name string) (File, error)

func (f storageFunc) Open(name string) (File, error) { return f(name) }

type badSize struct {
	size int64
	err  error
}

func (b badSize) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }
func (b badSize) Close() error                            { return nil }
func (b badSize) Size() (int64, error)                    { return b.size, b.err }

// FSStorage refuses directories and files without ReadAt, and takes absolute paths with
// os.DirFS("/").
func TestFSStorage(t *testing.T) {
	s := FSStorage(os.DirFS(fixturesDir))
	if _, err := s.Open("doc_children"); err == nil {
		t.Error("a directory opened")
	}
	if _, err := s.Open("doc_children/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := FSStorage(noReaderAtFS{}).Open("x"); !errors.Is(err, ErrNoReaderAt) {
		t.Errorf("a file without ReadAt: %v", err)
	}
	abs, err := filepath.Abs(filepath.Join(fixturesDir, "doc_children", "tf_ckpts-1"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := OpenWith(abs, Options{Storage: FSStorage(os.DirFS("/"))})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if children, err := v.Children(0); err != nil || len(children) != 6 {
		t.Errorf("Children(0) = %v, %v", children, err)
	}
}

type noReaderAtFS struct{}

func (noReaderAtFS) Open(name string) (fs.File, error) { return noReaderAtFile{}, nil }

type noReaderAtFile struct{}

func (noReaderAtFile) Stat() (fs.FileInfo, error) { return os.Stat(fixturesDir + "/README.md") }
func (noReaderAtFile) Read(p []byte) (int, error) { return 0, io.EOF }
func (noReaderAtFile) Close() error               { return nil }

// Borrow lends the mapped bytes with MMap, and fails with ErrUnsupported without it, while
// ReadBytes works either way.
func TestBorrow(t *testing.T) {
	g := loadGolden(t, "dtype_zoo")
	want := map[string][]byte{}
	local, err := OpenReader(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	infos, err := local.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.DType != DTString {
			if want[info.Key], err = local.ReadBytes(info.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	mapped, err := OpenReaderWith(g.prefixPath(), Options{MMap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mapped.Close()
	view, err := OpenWith(g.prefixPath(), Options{MMap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	lent := 0
	for _, r := range []*Reader{mapped, view.Reader()} {
		for key, value := range want {
			for _, verify := range []bool{true, false} {
				err := r.Borrow(key, verify, func(data []byte) error {
					if !bytes.Equal(data, value) {
						t.Errorf("Borrow(%q) = %x, want %x", key, data, value)
					}
					lent++
					return nil
				})
				if err != nil && !errors.Is(err, ErrUnsupported) {
					t.Errorf("Borrow(%q): %v", key, err)
				}
			}
			if got, err := r.ReadBytes(key); err != nil || !bytes.Equal(got, value) {
				t.Errorf("mapped ReadBytes(%q) = %x, %v", key, got, err)
			}
		}
	}
	if lent < len(want) {
		t.Errorf("only %d of %d tensors lent", lent, 2*2*len(want))
	}
	sentinel := errors.New("from body")
	for key := range want {
		if err := mapped.Borrow(key, true, func([]byte) error { return sentinel }); err != sentinel {
			t.Errorf("Borrow returned %v, not body's error", err)
		}
		break
	}
	if err := mapped.Borrow("no such key", true, func([]byte) error { return nil }); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Borrow of a missing key: %v", err)
	}
	for key := range want {
		if err := local.Borrow(key, true, func([]byte) error { t.Error("lent without MMap"); return nil }); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Borrow without MMap: %v", err)
		}
		v := openView(t, g.prefixPath())
		if err := v.Reader().Borrow(key, true, func([]byte) error { return nil }); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Borrow from a View without MMap: %v", err)
		}
		v.Close()
		if err := v.Reader().Borrow(key, true, func([]byte) error { return nil }); err != ErrClosed {
			t.Errorf("Borrow after Close: %v", err)
		}
	}
	mapped.Close()
	if err := mapped.Borrow("x", true, func([]byte) error { return nil }); err != ErrClosed {
		t.Errorf("Borrow after Close: %v", err)
	}
}

// Many goroutines read through one caller Storage at once (run with -race); one of them makes
// its reads fail, which the others do not see.
func TestConcurrentReadsThroughStorage(t *testing.T) {
	mem := loadFixtures(t)
	g := loadGolden(t, "doc_diff")
	const savePath = "doc_diff/tf_ckpts-1"
	local := describeOpen(t, g.prefixPath(), Options{})
	v, err := OpenWith(savePath, Options{Storage: mem})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := OpenReaderWith(savePath, Options{Storage: FSStorage(os.DirFS(fixturesDir))})
	if err != nil {
		t.Fatal(err)
	}
	want := describeView(v)
	sameLines(t, "view", append(want, describeReader(shared)...), local)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for round := 0; round < 10; round++ {
				if i%2 == 0 {
					if got := describeView(v); !reflect.DeepEqual(got, want) {
						errs <- fmt.Errorf("goroutine %d: the view differs", i)
						return
					}
				} else if got := describeReader(shared); !reflect.DeepEqual(got, want[len(want)-len(got):]) {
					errs <- fmt.Errorf("goroutine %d: the reader differs", i)
					return
				}
			}
			// A storage of this goroutine's own, failing from its third read.
			s := &failingStorage{mem: mem, after: 2}
			r, err := OpenReaderWith(savePath, Options{Storage: s})
			if err == nil {
				_, err = r.ReadBytes("save_counter/.ATTRIBUTES/VARIABLE_VALUE")
				r.Close()
			}
			if !errors.Is(err, errInjected) {
				errs <- fmt.Errorf("goroutine %d: a failing storage gave %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sessions := []*storageSession{v.storage, shared.storage}
	v.Close()
	shared.Close()
	for _, s := range sessions {
		if s.opens.Load() == 0 || s.opens.Load() != s.closes.Load() {
			t.Errorf("the library opened %d files and closed %d", s.opens.Load(), s.closes.Load())
		}
	}
	if mem.opens.Load() != mem.closes.Load() {
		t.Errorf("%d files opened, %d closed", mem.opens.Load(), mem.closes.Load())
	}
}
