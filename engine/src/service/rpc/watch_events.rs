//! `WatchEvents`: every change from now on, in journal order.

use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::service::dispatch::{DispatchService, EventStream};
use crate::service::proto;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::WatchEventsRequest>,
) -> Result<Response<EventStream>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("watch events")?;
    let live = service.live()?;
    let slot = service
        .limits
        .open_stream(&caller, "another WatchEvents stream")?;
    let mut events = live.events.subscribe();
    let mut shutdown = service.shutdown.clone();
    let (out, stream) = mpsc::channel(64);
    tokio::spawn(async move {
        // The token's stream allowance is given back when the stream ends.
        let _slot = slot;
        loop {
            let next = tokio::select! {
                next = events.recv() => next,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            let item = match next {
                Ok(event) => Ok(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Err(Status::resource_exhausted(format!(
                        "this watcher fell {missed} events behind and was cut off; \
                         re-read the lists and watch again"
                    )))
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            let last = item.is_err();
            if out.send(item).await.is_err() || last {
                break;
            }
        }
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
}
