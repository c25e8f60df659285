package ckview

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	slashpath "path"
	"strings"
)

// Options says how OpenWith and OpenReaderWith open a checkpoint. The zero Options are the
// defaults of Open and OpenReader: local files, read with positioned reads.
type Options struct {
	// MMap memory-maps the data shards of a local checkpoint, so that Reader.Borrow can lend
	// tensor bytes without a copy (and ReadBytes sizes its result by the bytes in the file).
	// The cost: a mapped page that cannot be read (a failing disk, a network filesystem, a
	// file truncated or rewritten under the open view) kills the process with SIGBUS instead
	// of returning an error. It cannot be combined with Storage (ErrInvalidArgument).
	MMap bool
	// Storage, when not nil, is where the checkpoint's files are read from instead of the
	// local filesystem: the savePath and every path ckview derives from it ("dir/ckpt-1.index",
	// "dir/checkpoint", the data shards) are names passed to Storage.Open.
	Storage Storage
}

// Storage is the caller's own storage for OpenWith and OpenReaderWith: an fs.FS (FSStorage),
// files in memory, a cloud SDK's ranged reads, ...
//
// Open is called with slash-separated names derived from the savePath, as given (not
// cleaned). A name that does not exist is an error like any other (wrap fs.ErrNotExist):
// ckview then tries the next form of the path. Open, and the methods of the files it returns,
// may be called from several goroutines at once (those using the View or Reader), so they must
// be safe for concurrent use. ckview closes every file it opened exactly once, at the latest
// when the View or Reader is closed; it may close an idle data shard and open it again later.
type Storage interface {
	Open(name string) (File, error)
}

// File is one file of a Storage. ReadAt follows io.ReaderAt (parallel calls included); a read
// that cannot fill the whole buffer is a failure. Size is called once, right after Open. The
// error of Close is dropped: nothing in ckview could report it.
type File interface {
	io.ReaderAt
	io.Closer
	Size() (int64, error)
}

// ErrNoReaderAt is what FSStorage's Open fails with (inside an *fs.PathError) for a file of the
// fs.FS that does not implement io.ReaderAt.
var ErrNoReaderAt = errors.New("ckview: the file does not implement io.ReaderAt")

// FSStorage is a Storage reading the files of fsys, which must implement io.ReaderAt (as those
// of os.DirFS, embed.FS and testing/fstest.MapFS do; others fail to open with ErrNoReaderAt).
// Names are cleaned with path.Clean and a leading "/" is dropped, so that "./ckpt-1.index" and,
// with os.DirFS("/"), absolute paths work. Directories fail to open.
//
//	view, err := ckview.OpenWith("run7/ckpt-1", ckview.Options{Storage: ckview.FSStorage(os.DirFS("/data"))})
func FSStorage(fsys fs.FS) Storage {
	return fsStorage{fsys}
}

type fsStorage struct{ fsys fs.FS }

type fsFile struct {
	io.ReaderAt
	io.Closer
	size int64
}

func (f *fsFile) Size() (int64, error) { return f.size, nil }

func (s fsStorage) Open(name string) (File, error) {
	clean := strings.TrimLeft(slashpath.Clean(name), "/")
	if clean == "" {
		clean = "."
	}
	f, err := s.fsys.Open(clean)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: clean, Err: fmt.Errorf("is a directory: %w", fs.ErrInvalid)}
	}
	at, ok := f.(io.ReaderAt)
	if !ok {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: clean, Err: ErrNoReaderAt}
	}
	return &fsFile{ReaderAt: at, Closer: f, size: info.Size()}, nil
}
