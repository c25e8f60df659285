//! Generates the protobuf types from `proto/` with a pure-Rust schema compiler (protox), so that a
//! fresh machine needs no system `protoc`.

fn main() {
    let schemas = [
        "proto/ckview/tensor_bundle.proto",
        "proto/ckview/trackable_object_graph.proto",
        "proto/ckview/tensor.proto",
        "proto/ckview/saved_tensor_slice.proto",
    ];
    for schema in schemas {
        println!("cargo:rerun-if-changed={schema}");
    }
    let descriptors = protox::compile(schemas, ["proto"]).expect("proto/ schemas must compile");
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("prost code generation from proto/ must succeed");
}
