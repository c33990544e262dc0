//! Compiles the console contract in `proto/` with protox, a protobuf
//! compiler written in Rust, so that building kuaifan needs no system
//! `protoc`. The descriptor set is kept for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    let proto = root.join("kuaifan/v1/dispatch.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    // The map console's built page is embedded (rust-embed): rebuild when
    // it changes.
    println!("cargo:rerun-if-changed=web/dist");
    let descriptors = protox::compile([&proto], [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("kuaifan_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
