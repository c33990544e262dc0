//! A refusal that carries what to do instead: a FAILED_PRECONDITION whose
//! `grpc-status-details-bin` holds a fresh recommendation.
//!
//! The details follow gRPC's richer error model, so that any gRPC library
//! reads them with its standard helpers (Python's `grpc_status`, Go's
//! `status.FromError(...).Details()`, Java's `StatusProto`): a
//! `google.rpc.Status` with the same code and message as the call's
//! status, whose `details` hold one `google.protobuf.Any` of
//! `kuaifan.v1.Recommendation`. The two standard messages are written out
//! here with prost, as they are on the wire, rather than pulled in with a
//! crate of all of Google's common protos.

use prost::Message;
use tonic::codegen::Bytes;
use tonic::{Code, Status};

use crate::service::proto;

/// The type URL of a recommendation packed in a `google.protobuf.Any`.
pub const RECOMMENDATION_TYPE_URL: &str = "type.googleapis.com/kuaifan.v1.Recommendation";

/// `google.rpc.Status`, as `google/rpc/status.proto` defines it.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

/// `google.protobuf.Any`, as `google/protobuf/any.proto` defines it.
#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// A FAILED_PRECONDITION with `message`, carrying `fresh` in its details.
pub fn failed_precondition_with(message: String, fresh: &proto::Recommendation) -> Status {
    let details = RpcStatus {
        code: Code::FailedPrecondition as i32,
        message: message.clone(),
        details: vec![Any {
            type_url: RECOMMENDATION_TYPE_URL.to_string(),
            value: fresh.encode_to_vec(),
        }],
    };
    Status::with_details(
        Code::FailedPrecondition,
        message,
        Bytes::from(details.encode_to_vec()),
    )
}

/// The fresh recommendation a refusal carries, if it carries one: what a
/// Rust console reads from a refused `ConfirmAssignment`.
pub fn fresh_recommendation(status: &Status) -> Option<proto::Recommendation> {
    let details = RpcStatus::decode(status.details()).ok()?;
    details
        .details
        .iter()
        .find(|any| any.type_url == RECOMMENDATION_TYPE_URL)
        .and_then(|any| proto::Recommendation::decode(any.value.as_slice()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recommendation_survives_the_details_and_nothing_else_is_taken_for_one() {
        let fresh = proto::Recommendation {
            zone_id: "Z07".to_string(),
            snap_distance_m: 3.5,
            ..Default::default()
        };
        let status = failed_precondition_with("unit U05 is busy".to_string(), &fresh);
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(fresh_recommendation(&status), Some(fresh));
        let decoded = RpcStatus::decode(status.details()).expect("a google.rpc.Status");
        assert_eq!(decoded.code, 9, "the code of FAILED_PRECONDITION");
        assert_eq!(decoded.message, "unit U05 is busy");
        assert_eq!(
            fresh_recommendation(&Status::failed_precondition("no details")),
            None
        );
    }
}
