package ckview

// #include "ckview.h"
import "C"

// DType is TensorFlow's DataType number of a tensor (DT_FLOAT = 1, ...).
type DType int32

// TensorFlow's DataType numbers.
const (
	DTInvalid    DType = 0
	DTFloat32    DType = 1
	DTFloat64    DType = 2
	DTInt32      DType = 3
	DTUint8      DType = 4
	DTInt16      DType = 5
	DTInt8       DType = 6
	DTString     DType = 7
	DTComplex64  DType = 8
	DTInt64      DType = 9
	DTBool       DType = 10
	DTQInt8      DType = 11
	DTQUint8     DType = 12
	DTQInt32     DType = 13
	DTBFloat16   DType = 14
	DTQInt16     DType = 15
	DTQUint16    DType = 16
	DTUint16     DType = 17
	DTComplex128 DType = 18
	DTFloat16    DType = 19
	DTResource   DType = 20
	DTVariant    DType = 21
	DTUint32     DType = 22
	DTUint64     DType = 23
)

// String is TensorFlow's name of the dtype ("float32", "bfloat16", "string"), from
// ckview_dtype_name; "unknown" for a number that is not a dtype.
func (d DType) String() string {
	return C.GoString(C.ckview_dtype_name(C.int32_t(d)))
}
