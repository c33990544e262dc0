//! `GetHeatMap`: the incident heat map (警情云图), incidents per H3 cell
//! over a window counted back from now.

use tonic::{Request, Response, Status};

use crate::dispatch::HeatMapError;
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::proto;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::GetHeatMapRequest>,
) -> Result<Response<proto::IncidentHeatMap>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("read the heat map")?;
    let live = service.live()?;
    let state = live.engine.snapshot();
    let heat = state.heat_map();
    let horizon_s = heat.config().horizon_ms / 1000;
    let window_s = match u64::from(request.get_ref().window_s) {
        0 => horizon_s,
        s if s > horizon_s => {
            return Err(Status::invalid_argument(format!(
                "window_s {s} is longer than the {horizon_s} s the heat map keeps"
            )));
        }
        s => s,
    };
    let now = now_ms();
    let counts = heat.counts(now, window_s * 1000).map_err(|e| match e {
        // The oldest events were dropped to bound memory (or the clock
        // stepped back): a count would be short, so it is refused.
        HeatMapError::BeyondHorizon { .. } => Status::out_of_range(e.to_string()),
        other => Status::internal(other.to_string()),
    })?;
    let incidents = counts.iter().map(|&(_, n)| u64::from(n)).sum();
    Ok(Response::new(proto::IncidentHeatMap {
        cells: counts
            .into_iter()
            .map(|(cell, n)| proto::HeatCell {
                h3: u64::from(cell),
                incidents: n,
            })
            .collect(),
        window_s: u32::try_from(window_s).unwrap_or(u32::MAX),
        horizon_s: u32::try_from(horizon_s).unwrap_or(u32::MAX),
        resolution: u32::from(u8::from(heat.config().resolution)),
        at_ms: now,
        incidents,
    }))
}
