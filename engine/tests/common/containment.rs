//! Containment commands for the random command streams of the restart
//! tests: sensible ones (a start planned from the state, a sighting
//! re-planned, a crossing staffed, an interception, a lift) and, as often,
//! nonsensical ones (an incident without a containment, a crossing
//! nobody holds, a sighting before the escape).

use kuaifan_engine::{
    Command, ContainmentMode, DispatchState, IncidentId, LatLon, RouteQuery, Stage,
};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// A containment command at `at_ms`, for a random open incident.
pub fn command(
    rng: &mut ChaCha8Rng,
    state: &DispatchState,
    query: &mut RouteQuery,
    at_ms: i64,
) -> Command {
    let open: Vec<IncidentId> = state
        .incidents()
        .filter(|i| i.stage() != Stage::Closed)
        .map(|i| i.id)
        .collect();
    let incident = if open.is_empty() || rng.random_range(0..8) == 0 {
        IncidentId(rng.random_range(1..=state.incidents().count() as u64 + 2))
    } else {
        open[rng.random_range(0..open.len())]
    };
    let running = state.containment(incident).filter(|c| c.is_running());
    let sites = state.world().ring_crossings().sites();
    let any_site = sites[rng.random_range(0..sites.len())].at;
    match (running, rng.random_range(0..10)) {
        (None, _) | (Some(_), 0) => {
            let mode = if rng.random_range(0..5) == 0 {
                ContainmentMode::Lockdown {
                    ring: ["R1", "R2", "R3", "R9"][rng.random_range(0..4)].to_string(),
                }
            } else {
                ContainmentMode::Suspect {
                    escape_ms: at_ms - rng.random_range(0..1_800_000),
                    speed_factor: [1.0, 1.2, 0.8][rng.random_range(0..3)],
                }
            };
            let (orders, outlook) = match state.containment_request(incident, &mode, None, at_ms) {
                Ok(request) => {
                    let plan = state.plan_with(query, &request, None, true);
                    state.plan_orders(&plan, None)
                }
                Err(_) => (Vec::new(), Vec::new()),
            };
            Command::StartContainment {
                incident,
                mode,
                orders,
                outlook,
                note: "drill".to_string(),
            }
        }
        (Some(c), 1..=3) => {
            let seen = LatLon::new(
                rng.random_range(35.40..35.60),
                rng.random_range(112.70..113.00),
            )
            .expect("valid");
            let time_ms = match &c.mode {
                ContainmentMode::Suspect { escape_ms, .. } if rng.random_range(0..6) != 0 => {
                    rng.random_range(*escape_ms..=at_ms)
                }
                _ => at_ms - 3_600_000,
            };
            let (orders, outlook) =
                match state.containment_request(incident, &c.mode, Some((seen, time_ms)), at_ms) {
                    Ok(request) => {
                        let plan = state.plan_with(query, &request, Some(c), true);
                        state.plan_orders(&plan, Some(c))
                    }
                    Err(_) => (Vec::new(), Vec::new()),
                };
            Command::ReportSighting {
                incident,
                location: seen,
                time_ms,
                source: "ANPR".to_string(),
                orders,
                outlook,
            }
        }
        (Some(c), 4..=6) => {
            let crossing = if c.held.is_empty() || rng.random_range(0..5) == 0 {
                any_site
            } else {
                c.held[rng.random_range(0..c.held.len())].order.crossing
            };
            Command::CrossingStaffed { incident, crossing }
        }
        (Some(_), 7) => Command::Intercepted {
            incident,
            location: any_site,
            crossing: Some(any_site),
            note: "caught".to_string(),
        },
        (Some(_), _) => Command::LiftContainment {
            incident,
            note: "lifted".to_string(),
        },
    }
}
