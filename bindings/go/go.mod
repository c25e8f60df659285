module github.com/ckview/ckview/bindings/go

go 1.19
