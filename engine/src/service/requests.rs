//! Client request ids: the one helper every command RPC goes through, so
//! that a retried call is applied once and answered the same.
//!
//! A handler takes the request id out of its request, calls
//! [`DispatchService::command_call`] with what is left (the digest of the
//! rest tells a retry from a different request), answers at once from
//! [`DispatchService::done_before`] when the id was applied already, and
//! submits its commands with [`DispatchService::submit_call`]; the writer
//! decides again, so two retries racing each other apply once.

use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tonic::metadata::MetadataValue;
use tonic::{Response, Status};

use crate::dispatch::{ClientRequest, EngineError, Outcome, RequestRecord, Seen, Stamped};
use crate::service::auth::Caller;
use crate::service::dispatch::{DispatchService, Live, now_ms};
use crate::service::status;

/// The longest request id accepted, in bytes (a UUID is 36).
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// The response header that marks an answer to a retry: nothing was
/// applied again, and the answer describes what the first call did.
pub const REPLAYED_HEADER: &str = "kuaifan-replayed";

/// One command call: the caller's request id with the request's digest,
/// or none when the client gave no id (then nothing is deduplicated).
#[derive(Clone, Debug)]
pub(crate) struct CommandCall {
    request: Option<ClientRequest>,
}

impl DispatchService {
    /// Checks `request_id` and digests `message` (the request with its id
    /// taken out) under the RPC's name. An empty id means none.
    pub(crate) fn command_call<M: prost::Message>(
        &self,
        caller: &Caller,
        rpc: &str,
        request_id: String,
        message: &M,
    ) -> Result<CommandCall, Status> {
        // A standby takes no command, not even a retry it could answer
        // from its record: the client learns where the leader is.
        if let Ok(live) = self.live() {
            live.role.check_writes()?;
        }
        if request_id.is_empty() {
            return Ok(CommandCall { request: None });
        }
        if request_id.len() > MAX_REQUEST_ID_BYTES {
            return Err(Status::invalid_argument(format!(
                "request_id is {} bytes long; at most {MAX_REQUEST_ID_BYTES} are accepted",
                request_id.len()
            )));
        }
        if request_id.chars().any(char::is_control) {
            return Err(Status::invalid_argument(
                "request_id holds a control character",
            ));
        }
        let mut hash = Sha256::new();
        hash.update(rpc.as_bytes());
        hash.update([0]);
        hash.update(message.encode_to_vec());
        let digest = hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        Ok(CommandCall {
            request: Some(ClientRequest {
                actor: caller.name.clone(),
                id: request_id,
                digest,
            }),
        })
    }

    /// The record of this call's request if it was applied before; an id
    /// used before for a different request is INVALID_ARGUMENT. Read from
    /// the current snapshot, so that a retry is answered before the
    /// handler checks anything that its first call changed.
    pub(crate) fn done_before(
        &self,
        live: &Live,
        call: &CommandCall,
    ) -> Result<Option<RequestRecord>, Status> {
        let Some(request) = &call.request else {
            return Ok(None);
        };
        let state = live.engine.snapshot();
        match state.requests().seen(request, now_ms()) {
            Seen::New => Ok(None),
            Seen::Done(record) => Ok(Some(record.clone())),
            Seen::Conflict(record) => Err(status::command(
                &crate::dispatch::CommandError::RequestIdReused {
                    id: request.id.clone(),
                    at_ms: record.at_ms,
                },
            )),
        }
    }

    /// Submits the call's commands as one group, with its request id, and
    /// waits until they are durable, refused, or found applied before.
    pub(crate) async fn submit_call(
        &self,
        live: &Live,
        call: &CommandCall,
        commands: Vec<Stamped>,
    ) -> Result<Outcome, Status> {
        self.submit_call_for_engine_error(live, call, commands)
            .await
            .map_err(|e| status::engine(&e))
    }

    /// As [`DispatchService::submit_call`], with the engine's own error,
    /// for the handlers that answer some refusals in their own way.
    pub(crate) async fn submit_call_for_engine_error(
        &self,
        live: &Live,
        call: &CommandCall,
        commands: Vec<Stamped>,
    ) -> Result<Outcome, EngineError> {
        if !live.role.writes() {
            return Err(EngineError::Stopped);
        }
        let (reply, answer) = oneshot::channel();
        live.engine
            .submit_request_then(commands, call.request.clone(), move |result| {
                let _ = reply.send(result);
            })?;
        answer.await.unwrap_or(Err(EngineError::Stopped))
    }
}

/// The answer to a command call: marked as the answer to a retry when its
/// request id had been applied before.
pub(crate) fn answer_to<T>(outcome: &Outcome, message: T) -> Response<T> {
    match outcome {
        Outcome::Applied(_) => Response::new(message),
        Outcome::Replayed(_) => replayed(message),
    }
}

/// A response marked as the answer to a retry.
pub(crate) fn replayed<T>(message: T) -> Response<T> {
    let mut response = Response::new(message);
    response
        .metadata_mut()
        .insert(REPLAYED_HEADER, MetadataValue::from_static("true"));
    response
}
