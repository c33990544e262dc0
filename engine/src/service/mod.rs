//! The gRPC service that 110 consoles and unit terminals talk to: the
//! contract in `proto/kuaifan/v1/dispatch.proto`, its server, and who may
//! call what.

pub mod auth;
mod caller_limits;
mod client;
mod containment_wire;
mod convert;
mod dispatch;
mod events;
mod health_port;
mod in_flight;
pub mod metrics;
mod move_ups;
#[cfg(feature = "etcd")]
mod node_copy;
pub mod node_role;
mod planned_command;
pub mod proto;
mod queries;
mod refusal_details;
mod requests;
mod rpc;
mod server;
mod servers;
mod stale_sweep;
#[cfg(feature = "etcd")]
mod standby_node;
mod status;
mod web;

pub use auth::{AuthFileError, Caller, Role, Tokens};
pub use caller_limits::CallerLimitsConfig;
pub use client::{ConnectError, Endpoint, RetryPolicy, is_retryable, new_request_id};
pub use dispatch::{DispatchService, Live};
pub use in_flight::InFlightLimit;
pub use refusal_details::{RECOMMENDATION_TYPE_URL, fresh_recommendation};
pub use requests::{MAX_REQUEST_ID_BYTES, REPLAYED_HEADER};
pub use server::{
    DEFAULT_ETCD_PREFIX, DEFAULT_LEASE, EtcdServe, Loaded, MAX_IN_FLIGHT_PER_WORKER,
    MAX_REQUEST_BYTES, MAX_STREAMS_PER_CONNECTION, SERVICE_NAME, ServeConfig, ServeError, Server,
    TlsFiles, default_max_in_flight, runtime,
};
pub use servers::{NextNode, Servers};
