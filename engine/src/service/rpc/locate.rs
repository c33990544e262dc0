//! `Locate`: a location from what a caller says (a crossing, a road, a
//! place, coordinates), ranked, each with its zone and how far it lies from
//! the nearest road.

use tonic::{Request, Response, Status};

use crate::road::snap::{SnapConfig, SnapError};
use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};
use crate::space::{LOCATE_DEFAULT_LIMIT, LocatedKind};

/// The longest query accepted, in bytes: an address, not a document.
pub const MAX_QUERY_BYTES: usize = 256;

/// The most results one call returns.
pub const MAX_RESULTS: usize = 50;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::LocateRequest>,
) -> Result<Response<proto::LocateResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("locate places")?;
    let live = service.live()?;
    let request = request.into_inner();
    if request.query.len() > MAX_QUERY_BYTES {
        return Err(Status::invalid_argument(format!(
            "query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            request.query.len()
        )));
    }
    if request.query.trim().is_empty() {
        return Err(Status::invalid_argument(
            "query is empty: give a place, a road, two crossing roads or coordinates",
        ));
    }
    let limit = match request.limit as usize {
        0 => LOCATE_DEFAULT_LIMIT,
        n => n.min(MAX_RESULTS),
    };
    let world = &live.world;
    let graph = world.scenario().router().graph();
    let snap = SnapConfig::default();
    let results = world
        .gazetteer()
        .locate(&request.query, limit)
        .into_iter()
        .map(|found| proto::LocatedPlace {
            kind: match found.kind {
                LocatedKind::Coordinates => proto::LocationKind::Coordinates,
                LocatedKind::Intersection => proto::LocationKind::Intersection,
                LocatedKind::Place => proto::LocationKind::Place,
                LocatedKind::Road => proto::LocationKind::Road,
            } as i32,
            location: Some(convert::lat_lng(found.at)),
            zone_id: world
                .zone_at(found.at)
                .and_then(|z| world.scenario().zones().as_slice().get(z))
                .map(|z| z.id.to_string())
                .unwrap_or_default(),
            road_distance_m: match graph.snap(found.at, &snap) {
                Ok(snapped) => snapped.distance_m,
                Err(SnapError::OffNetwork { distance_m, .. }) => distance_m,
            },
            name: found.name,
            distance: f64::from(found.distance),
            detail: found.detail,
        })
        .collect();
    Ok(Response::new(proto::LocateResponse { results }))
}
