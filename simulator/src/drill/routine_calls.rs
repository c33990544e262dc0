//! Who answers a routine (P3) call in the drill. In a Chinese city the
//! rapid-response units (最小作战单元) are for urgent calls; a noise
//! complaint or a lost wallet goes to the police station (派出所) of the
//! area, whose own officers answer it. By default the drill does the
//! same: a P3 call takes no rapid-response unit, and its response is the
//! first station to reach it (its turnout, then the fastest drive). The
//! stations' officers are not simulated in detail: each station is taken
//! to have someone free, which flatters the P3 figure at a busy station
//! and is said so in the README. [`RoutineResponder::Units`] sends units
//! to P3 calls as to any other, the drill as it was before.

use kuaifan_engine::{LatLon, RouteQuery, SourceSet, World};
use serde::Serialize;

/// The target for a routine call's first response, seconds: 15 minutes,
/// the response many Chinese cities promise for non-urgent calls in town
/// (urgent calls have the 1-3-5 standard).
pub const DEFAULT_P3_TARGET_S: u32 = 900;

/// Who answers P3 calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum RoutineResponder {
    /// The police stations' own officers (the default).
    #[default]
    Stations,
    /// The rapid-response units, as P1 and P2 calls.
    Units,
}

/// The stations as responders: where each starts from, and its turnout.
#[derive(Debug)]
pub struct Stations {
    sources: SourceSet,
    turnout_s: Vec<f64>,
    ids: Vec<String>,
}

/// A station's answer to one routine call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StationResponse {
    /// The call's index in the day's calls.
    pub call: usize,
    /// The station that answers first.
    pub station: String,
    /// Seconds from the dispatcher's order to arrival: turnout and drive.
    pub response_s: f64,
    /// Metres driven there.
    pub driven_m: f64,
}

impl Stations {
    /// The scenario's stations, snapped to the road network; a station
    /// off every road is left out.
    pub fn of(world: &World) -> Stations {
        let scenario = world.scenario();
        let graph = scenario.router().graph();
        let snap = scenario.incident_snap();
        let mut query = RouteQuery::new(scenario.router());
        let mut sources = SourceSet::new();
        let mut turnout_s = Vec::new();
        let mut ids = Vec::new();
        for station in scenario.stations().iter() {
            let Ok(at) = graph.snap(station.location, &snap) else {
                continue;
            };
            sources.set(ids.len(), query.source_space(&at));
            turnout_s.push(f64::from(station.turnout_s));
            ids.push(station.id.as_str().to_string());
        }
        Stations {
            sources,
            turnout_s,
            ids,
        }
    }

    /// How many stations answer.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The station that reaches `location` first (turnout and drive) and
    /// when; `None` where no station reaches it by road.
    pub fn answer(
        &self,
        query: &mut RouteQuery<'_>,
        world: &World,
        call: usize,
        location: LatLon,
    ) -> Option<StationResponse> {
        let scenario = world.scenario();
        let scene = scenario
            .router()
            .graph()
            .snap(location, &scenario.incident_snap())
            .ok()?;
        let costs = query.many_to_one(&self.sources, &scene);
        costs
            .iter()
            .zip(&self.turnout_s)
            .enumerate()
            .filter(|(_, (cost, _))| cost.is_reachable())
            .map(|(i, (cost, turnout))| (i, turnout + cost.seconds(), cost.metres()))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, response_s, driven_m)| StationResponse {
                call,
                station: self.ids[i].clone(),
                response_s,
                driven_m,
            })
    }
}

/// The routine calls' figures, when the stations answer them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutineFigures {
    /// P3 calls.
    pub calls: usize,
    /// Of which a station reached.
    pub answered: usize,
    /// The target, seconds.
    pub target_s: u32,
    /// Share of the calls answered within the target (a call no station
    /// reaches counts as not).
    pub within_target: f64,
    /// Median response, seconds.
    pub p50_s: f64,
    /// 90th percentile, seconds.
    pub p90_s: f64,
    /// Kilometres the stations' officers drove to them.
    pub driven_km: f64,
}
