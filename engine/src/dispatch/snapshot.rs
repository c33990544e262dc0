//! Snapshots of the whole dispatch state, so that a start loads the latest
//! one and replays only the journal entries after it.
//!
//! A snapshot keeps what the commands made and cannot be recomputed:
//! every unit's status, incident, latest position (with heading and
//! time), whether it is marked stale and its accepted move-up (post,
//! time, hold), when the shift began, the incidents in the live state,
//! the next incident number, the recent request ids with their outcomes,
//! the heat map's events and the incidents' containments. What
//! follows from those (snapped positions, search spaces, the units'
//! R-tree, the coverage map) is rebuilt on load, as the writer builds it.
//!
//! Adding state (containment, move-up): add a field to [`StoredState`]
//! with `#[serde(default)]`, fill it in [`DispatchState::snapshot_body`]
//! and restore it in [`DispatchState::from_snapshot`]; a snapshot written
//! before the field existed then loads with its default, and the journal
//! entries after it replay as usual.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dispatch::containment_record::Containment;
use crate::dispatch::heat_map::{HeatMap, HeatMapConfig};
use crate::dispatch::requests::{RecentRequests, RequestRecord};
use crate::dispatch::state::DispatchState;
use crate::dispatch::unit_state::UnitStatus;
use crate::dispatch::world::World;
use crate::geo::LatLon;
use crate::incident::{Incident, IncidentId};
use crate::route::RouteQuery;

/// The version of the snapshot body; another is refused.
const SNAPSHOT_FORMAT: u32 = 1;

/// One unit as a snapshot keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredUnit {
    id: String,
    location: LatLon,
    heading: Option<f64>,
    reported_ms: Option<i64>,
    status: UnitStatus,
    incident: Option<IncidentId>,
    /// Marked stale (`MarkStale`), until its next fix.
    #[serde(default)]
    stale: bool,
    /// The id of the post an accepted move-up sent it to.
    #[serde(default)]
    post: Option<String>,
    #[serde(default)]
    moved_ms: Option<i64>,
    #[serde(default)]
    hold_s: u32,
    #[serde(default)]
    counts_at_post: bool,
}

/// The recent request ids as a snapshot keeps them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredRequests {
    records: Vec<RequestRecord>,
    next_order: u64,
    newest_ms: i64,
}

/// The heat map as a snapshot keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredHeat {
    events: Vec<(i64, u64)>,
    dropped_to_ms: Option<i64>,
    overflowed: u64,
}

/// The snapshot body (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredState {
    format: u32,
    units: Vec<StoredUnit>,
    incidents: Vec<Incident>,
    next_incident: u64,
    #[serde(default)]
    requests: StoredRequests,
    #[serde(default)]
    heat: StoredHeat,
    /// When the shift began (`OpenShift`, or the first command).
    #[serde(default)]
    shift_start_ms: Option<i64>,
    /// Each incident's containment, running or lifted.
    #[serde(default)]
    containments: Vec<Containment>,
}

impl DispatchState {
    /// The state as a snapshot body.
    pub(crate) fn snapshot_body(&self) -> Result<Vec<u8>, String> {
        let (records, (next_order, newest_ms)) = (
            self.requests.live_records().into_iter().cloned().collect(),
            self.requests.clock(),
        );
        let (events, dropped_to_ms, overflowed) = self.heat.parts();
        let stored = StoredState {
            format: SNAPSHOT_FORMAT,
            units: self
                .units
                .iter()
                .enumerate()
                .map(|(slot, u)| StoredUnit {
                    id: self.unit_id(slot).to_string(),
                    location: u.location,
                    heading: u.heading,
                    reported_ms: u.reported_ms,
                    status: u.status,
                    incident: u.incident,
                    stale: u.stale,
                    post: u
                        .post
                        .and_then(|p| self.world.scenario().posts().get(p))
                        .map(|p| p.id.as_str().to_string()),
                    moved_ms: u.moved_ms,
                    hold_s: u.hold_s,
                    counts_at_post: u.counts_at_post,
                })
                .collect(),
            incidents: self
                .incidents
                .values()
                .map(|i| Incident::clone(i))
                .collect(),
            next_incident: self.next_incident,
            requests: StoredRequests {
                records,
                next_order,
                newest_ms,
            },
            heat: StoredHeat {
                events,
                dropped_to_ms,
                overflowed,
            },
            shift_start_ms: self.shift_start_ms,
            containments: self
                .containments
                .values()
                .map(|c| Containment::clone(c))
                .collect(),
        };
        serde_json::to_vec(&stored).map_err(|e| e.to_string())
    }

    /// The state a snapshot body holds, on `world`. Refused, with the
    /// reason, when the body cannot be read or does not fit the scenario
    /// (another city's units, a unit position off its roads).
    pub(crate) fn from_snapshot(
        world: Arc<World>,
        query: &mut RouteQuery,
        body: &[u8],
    ) -> Result<DispatchState, String> {
        let stored: StoredState = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if stored.format != SNAPSHOT_FORMAT {
            return Err(format!(
                "snapshot format {} (this build reads {SNAPSHOT_FORMAT})",
                stored.format
            ));
        }
        let mut state = DispatchState::new(Arc::clone(&world), query);
        let ids: Vec<&str> = (0..state.units.len()).map(|s| state.unit_id(s)).collect();
        let stored_ids: Vec<&str> = stored.units.iter().map(|u| u.id.as_str()).collect();
        if ids != stored_ids {
            return Err(format!(
                "its units {stored_ids:?} are not the scenario's {ids:?}"
            ));
        }
        let standby = world.scenario().standby_points().to_vec();
        for (slot, u) in stored.units.into_iter().enumerate() {
            // A unit that never reported stands at its standby point, snapped
            // as the scenario snapped it; a reported position is snapped as
            // the report was.
            let snapped = match u.reported_ms {
                None => standby
                    .get(slot)
                    .copied()
                    .ok_or("a unit without a standby point")?,
                Some(_) => state
                    .snap(u.location, "a unit's position")
                    .map_err(|e| format!("unit {}: {e}", u.id))?,
            };
            let post = match &u.post {
                None => None,
                Some(id) => Some(
                    world
                        .scenario()
                        .post_index(id)
                        .ok_or_else(|| format!("unit {}: no post {id:?}", u.id))?,
                ),
            };
            let unit = &mut state.units[slot];
            unit.post = post;
            unit.moved_ms = u.moved_ms;
            unit.hold_s = u.hold_s;
            unit.counts_at_post = u.counts_at_post;
            unit.location = u.location;
            unit.snapped = snapped;
            unit.heading = u.heading;
            unit.reported_ms = u.reported_ms;
            unit.status = u.status;
            unit.incident = u.incident;
            unit.stale = u.stale;
            state.positions.update(slot, u.location);
            if u.status.is_dispatchable() {
                state.sources.set(slot, query.source_space(&snapped));
            } else {
                state.sources.remove(slot);
            }
        }
        if let Some(map) = state.coverage.as_mut() {
            for (slot, unit) in state.units.iter().enumerate() {
                let at = unit.counts_as_coverage().then_some(&unit.snapped);
                map.set_unit(query, slot, at).map_err(|e| e.to_string())?;
            }
        }
        state.incidents = stored
            .incidents
            .into_iter()
            .map(|i| (i.id, Arc::new(i)))
            .collect::<BTreeMap<_, _>>();
        state.next_incident = stored.next_incident;
        state.shift_start_ms = stored.shift_start_ms;
        state.containments = stored
            .containments
            .into_iter()
            .map(|c| (c.incident, Arc::new(c)))
            .collect();
        state.requests = RecentRequests::restore(
            world.config().requests,
            stored.requests.records,
            stored.requests.next_order,
            stored.requests.newest_ms,
        );
        state.heat = HeatMap::from_parts(
            HeatMapConfig::default(),
            &stored.heat.events,
            stored.heat.dropped_to_ms,
            stored.heat.overflowed,
        )?;
        Ok(state)
    }
}
