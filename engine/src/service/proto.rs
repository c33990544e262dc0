//! The wire types and service stubs generated from
//! `proto/kuaifan/v1/dispatch.proto`.

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

tonic::include_proto!("kuaifan.v1");

/// The compiled descriptors of the contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kuaifan_descriptor.bin"));
