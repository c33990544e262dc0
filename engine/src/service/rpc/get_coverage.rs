//! `GetCoverage`: the live coverage map, city-wide, per zone and per cell.

use std::collections::BTreeMap;

use tonic::{Request, Response, Status};

use crate::dispatch::DispatchState;
use crate::incident::Tier;
use crate::service::dispatch::DispatchService;
use crate::service::proto;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::GetCoverageRequest>,
) -> Result<Response<proto::Coverage>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("read coverage")?;
    let live = service.live()?;
    let state = live.engine.snapshot();
    Ok(Response::new(coverage(
        &state,
        request.get_ref().resolution,
    )?))
}

/// The coverage map at `resolution` (0: the map's own).
fn coverage(state: &DispatchState, resolution: u32) -> Result<proto::Coverage, Status> {
    let map = state
        .coverage()
        .ok_or_else(|| Status::failed_precondition("this scenario has no coverage map"))?;
    let own = map.config().resolution;
    let resolution = match resolution {
        0 => own,
        r => {
            let wanted = u8::try_from(r)
                .ok()
                .and_then(|r| h3o::Resolution::try_from(r).ok())
                .ok_or_else(|| {
                    Status::invalid_argument(format!("resolution {r} is not an H3 resolution"))
                })?;
            if wanted > own {
                return Err(Status::invalid_argument(format!(
                    "resolution {r} is finer than the coverage map's {}",
                    u8::from(own)
                )));
            }
            wanted
        }
    };
    // A coarser cell shows the worst of its finer cells: every part of it
    // is reached at least that soon.
    let mut cells: BTreeMap<u64, (f64, Option<usize>)> = BTreeMap::new();
    for (i, cell) in map.cells().iter().enumerate() {
        let key = cell.cell.parent(resolution).unwrap_or(cell.cell);
        let (eta, slot) = map
            .best(i)
            .filter(|r| r.eta.is_reachable())
            .map_or((f64::INFINITY, None), |r| (r.eta.seconds(), Some(r.slot)));
        let entry = cells.entry(u64::from(key)).or_insert((eta, slot));
        if eta > entry.0 {
            *entry = (eta, slot);
        }
    }
    let support_s = state.world().target_s(Tier::Support);
    let gaps = map.gaps(support_s);
    let zones = state
        .world()
        .scenario()
        .zones()
        .iter()
        .enumerate()
        .map(|(z, zone)| proto::ZoneCoverage {
            zone_id: zone.id.as_str().to_string(),
            name: zone.name.clone(),
            within_60s: map.zone_share_within(z, 60).unwrap_or(0.0),
            within_180s: map.zone_share_within(z, 180).unwrap_or(0.0),
            within_300s: map.zone_share_within(z, 300).unwrap_or(0.0),
            gap: gaps.contains(&z),
        })
        .collect();
    Ok(proto::Coverage {
        cells: cells
            .into_iter()
            .map(|(h3, (eta, slot))| proto::CellCoverage {
                h3,
                best_eta_s: eta,
                best_unit_id: slot.map_or_else(String::new, |s| state.unit_id(s).to_string()),
            })
            .collect(),
        within_60s: map.share_within(60),
        within_180s: map.share_within(180),
        within_300s: map.share_within(300),
        resolution: u32::from(u8::from(resolution)),
        zones,
    })
}
