//! `ListZones`: the patrol zones and their outlines.

use tonic::{Request, Response, Status};

use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ListZonesRequest>,
) -> Result<Response<proto::ListZonesResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("list zones")?;
    let live = service.live()?;
    let zones = live
        .world
        .scenario()
        .zones()
        .iter()
        .map(convert::zone)
        .collect();
    Ok(Response::new(proto::ListZonesResponse { zones }))
}
