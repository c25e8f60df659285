package ckview

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"unsafe"
)

// The goldens give values as little-endian bytes; reads give them in the host's order.
func requireLittleEndian(t *testing.T) {
	one := uint16(1)
	if *(*byte)(unsafe.Pointer(&one)) != 1 {
		t.Skip("the goldens' bytes are little-endian; this host is not")
	}
}

// littleEndian encodes typed values the way the goldens' hex does.
func littleEndian[T any](values []T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, values); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// typedReads reads a tensor with the typed reader of its dtype, re-encoded as bytes.
var typedReads = map[string]func(r *Reader, key string) ([]byte, error){
	"float32":    func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadFloat32(k)) },
	"float64":    func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadFloat64(k)) },
	"int8":       func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadInt8(k)) },
	"int16":      func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadInt16(k)) },
	"int32":      func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadInt32(k)) },
	"int64":      func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadInt64(k)) },
	"uint8":      func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadUint8(k)) },
	"uint16":     func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadUint16(k)) },
	"uint32":     func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadUint32(k)) },
	"uint64":     func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadUint64(k)) },
	"complex64":  func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadComplex64(k)) },
	"complex128": func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadComplex128(k)) },
	"float16":    func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadFloat16Bits(k)) },
	"bfloat16":   func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadBFloat16Bits(k)) },
	"bool":       func(r *Reader, k string) ([]byte, error) { return littleEndian(r.ReadBool(k)) },
}

// checkTensors compares every tensor the golden lists, and the listing, with what r reads.
func checkTensors(t *testing.T, r *Reader, g *golden) {
	t.Helper()
	infos, err := r.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var keys, wantKeys []string
	byKey := map[string]TensorInfo{}
	for _, info := range infos {
		keys = append(keys, info.Key)
		byKey[info.Key] = info
	}
	for _, v := range g.Variables {
		wantKeys = append(wantKeys, v.First)
		info := byKey[v.First]
		shape := v.Second
		if shape == nil {
			shape = []uint64{}
		}
		wantEqual(t, v.First+" shape", info.Shape, shape)
		if got := info.DType.String(); got != g.DTypes[v.First] {
			t.Errorf("%s: dtype %q (%d), want %q", v.First, got, info.DType, g.DTypes[v.First])
		}
	}
	wantEqual(t, "List keys", keys, wantKeys)

	names := make([]string, 0, len(g.Tensors))
	for key := range g.Tensors {
		names = append(names, key)
	}
	sort.Strings(names)
	for _, key := range names {
		want := g.Tensors[key]
		info, err := r.Find(key)
		if err != nil {
			t.Fatalf("Find(%q): %v", key, err)
		}
		wantEqual(t, "Find("+key+")", info, byKey[key])
		if info.DType.String() != want.DType {
			t.Errorf("%s: dtype %v, want %s", key, info.DType, want.DType)
		}
		if want.Hex == nil {
			values, err := r.ReadStrings(key)
			if err != nil {
				t.Fatalf("ReadStrings(%q): %v", key, err)
			}
			got := []string{}
			for _, v := range values {
				got = append(got, hex.EncodeToString(v))
			}
			wantEqual(t, "ReadStrings("+key+")", got, append([]string{}, want.StringsHex...))
			if _, err := r.ReadBytes(key); !errors.Is(err, ErrUnsupportedDType) {
				t.Errorf("ReadBytes of string tensor %q: %v", key, err)
			}
			continue
		}
		value, err := r.ReadBytes(key)
		if err != nil {
			t.Fatalf("ReadBytes(%q): %v", key, err)
		}
		if got := hex.EncodeToString(value); got != *want.Hex {
			t.Errorf("ReadBytes(%q) = %s, want %s", key, got, *want.Hex)
		}
		if uint64(len(value)) != info.SizeBytes {
			t.Errorf("%s: %d bytes read, SizeBytes %d", key, len(value), info.SizeBytes)
		}
		buf := make([]byte, len(value)+3)
		for _, verify := range []bool{true, false} {
			n, err := r.ReadInto(key, buf, verify)
			if err != nil || n != len(value) || !bytes.Equal(buf[:n], value) {
				t.Errorf("ReadInto(%q, verify %v) = %d, %v", key, verify, n, err)
			}
		}
		if len(value) > 0 {
			if _, err := r.ReadInto(key, buf[:len(value)-1], true); !errors.Is(err, ErrBufferTooSmall) {
				t.Errorf("ReadInto(%q) with a short buffer: %v", key, err)
			}
		}
		read, ok := typedReads[want.DType]
		if !ok {
			t.Errorf("%s: no typed reader for %s", key, want.DType)
			continue
		}
		typed, err := read(r, key)
		if err != nil {
			t.Fatalf("typed read of %q: %v", key, err)
		}
		if got := hex.EncodeToString(typed); got != *want.Hex {
			t.Errorf("typed read of %q = %s, want %s", key, got, *want.Hex)
		}
		other := "float64"
		if want.DType == other {
			other = "float32"
		}
		if _, err := typedReads[other](r, key); !errors.Is(err, ErrUnsupportedDType) {
			t.Errorf("reading %s tensor %q as %s: %v", want.DType, key, other, err)
		}
	}
}

func TestGoldenTensors(t *testing.T) {
	requireLittleEndian(t)
	for _, g := range allGoldens(t) {
		g := g
		t.Run(g.name, func(t *testing.T) {
			r, err := OpenReader(g.prefixPath())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			checkTensors(t, r, g)
			if g.viewable() {
				v := openView(t, g.prefixPath())
				checkTensors(t, v.Reader(), g)
			}
		})
	}
}

// big_endian is dtype_zoo rewritten big-endian: reads convert to the host's order.
func TestBigEndianBundle(t *testing.T) {
	requireLittleEndian(t)
	g := loadGolden(t, "dtype_zoo")
	r, err := OpenReader(filepath.Join(fixturesDir, "big_endian", g.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkTensors(t, r, g)
}

func TestTensorMetadata(t *testing.T) {
	partitioned := loadGolden(t, "partitioned")
	r, err := OpenReader(partitioned.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	part, err := r.Find("part_var")
	if err != nil {
		t.Fatal(err)
	}
	if part.SliceCount() != 3 || part.DType != DTFloat32 || part.NumElements != 40 || part.SizeBytes != 160 {
		t.Errorf("part_var: %+v", part)
	}
	rows := uint64(0)
	for _, slice := range part.Slices {
		if len(slice) != 2 || slice[0].Start != rows || slice[1].Start != 0 || (slice[1].Length != -1 && slice[1].Length != 4) {
			t.Errorf("slice %+v", slice)
		}
		rows += uint64(slice[0].Length)
	}
	if rows != 10 {
		t.Errorf("the slices cover %d rows", rows)
	}
	plain, err := r.Find("plain_var")
	if err != nil || plain.SliceCount() != 0 || plain.Slices != nil {
		t.Errorf("plain_var: %+v, %v", plain, err)
	}

	sharded := loadGolden(t, "sharded")
	v := openView(t, sharded.prefixPath())
	infos, err := v.Reader().List()
	if err != nil {
		t.Fatal(err)
	}
	shards := map[uint32]bool{}
	for _, info := range infos {
		shards[info.Shard] = true
	}
	if len(shards) < 2 {
		t.Errorf("the sharded fixture's tensors all name one shard: %+v", infos)
	}

	zoo := loadGolden(t, "dtype_zoo")
	z, err := OpenReader(zoo.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	scalar, err := z.Find("scalar_f32/.ATTRIBUTES/VARIABLE_VALUE")
	if err != nil || len(scalar.Shape) != 0 || scalar.NumElements != 1 || scalar.SizeBytes != 4 {
		t.Errorf("scalar: %+v, %v", scalar, err)
	}
	if got, err := z.ReadFloat32("scalar_f32/.ATTRIBUTES/VARIABLE_VALUE"); err != nil || len(got) != 1 || got[0] != -7.25 {
		t.Errorf("scalar_f32 = %v, %v", got, err)
	}
	if got, err := z.ReadFloat32("empty_f32_2x0/.ATTRIBUTES/VARIABLE_VALUE"); err != nil || len(got) != 0 {
		t.Errorf("empty_f32_2x0 = %v, %v", got, err)
	}
	if _, err := z.Find("no such key"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Find(missing): %v", err)
	}
	if _, err := z.Find(""); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Find(\"\"): %v", err)
	}
	if _, err := z.ReadStrings("float32/.ATTRIBUTES/VARIABLE_VALUE"); err == nil {
		t.Error("ReadStrings of a float tensor succeeded")
	}
	for d, name := range map[DType]string{DTFloat32: "float32", DTBFloat16: "bfloat16", DTString: "string", DTComplex128: "complex128", DType(1000): "unknown"} {
		if d.String() != name {
			t.Errorf("DType(%d).String() = %q, want %q", int32(d), d.String(), name)
		}
	}
}

func TestReaderClose(t *testing.T) {
	g := loadGolden(t, "dtype_zoo")
	r, err := OpenReader(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(); err != ErrClosed {
		t.Errorf("List after Close: %v", err)
	}
	if _, err := r.ReadBytes("float32/.ATTRIBUTES/VARIABLE_VALUE"); err != ErrClosed {
		t.Errorf("ReadBytes after Close: %v", err)
	}

	// A borrowed reader: its Close leaves the view open; the view's Close ends it.
	v, err := Open(g.prefixPath())
	if err != nil {
		t.Fatal(err)
	}
	borrowed, kept := v.Reader(), v.Reader()
	borrowed.Close()
	if _, err := borrowed.List(); err != ErrClosed {
		t.Errorf("borrowed reader after its Close: %v", err)
	}
	if _, err := kept.Find("float32/.ATTRIBUTES/VARIABLE_VALUE"); err != nil {
		t.Errorf("another borrowed reader: %v", err)
	}
	if _, err := v.NodeCount(); err != nil {
		t.Errorf("view after a borrowed reader's Close: %v", err)
	}
	v.Close()
	if _, err := kept.ReadFloat32("float32/.ATTRIBUTES/VARIABLE_VALUE"); err != ErrClosed {
		t.Errorf("borrowed reader after the view's Close: %v", err)
	}

	if _, err := OpenReader(filepath.Join(fixturesDir, "nowhere", "x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenReader(missing): %v", err)
	}
	if _, err := OpenReader("a\x00b"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("OpenReader with a NUL: %v", err)
	}
}
