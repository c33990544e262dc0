//! The dispatch state and how each command changes it.
//!
//! `apply` checks everything a command needs before it changes anything,
//! so a refused command leaves the state exactly as it was. The state is
//! cheap to clone (incidents are shared behind `Arc`), which is how the
//! writer publishes immutable snapshots for readers.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dispatch::command::{AssignUnit, Command, CommandError, Stamped};
use crate::dispatch::containment_record::{Containment, ContainmentChange, ContainmentChangeKind};
use crate::dispatch::coverage::{CoverageMap, GapChange};
use crate::dispatch::departures::Departures;
use crate::dispatch::heat_map::{HeatMap, HeatMapConfig};
use crate::dispatch::move_up::MoveUpLayout;
use crate::dispatch::requests::RecentRequests;
use crate::dispatch::unit_state::{UnitState, UnitStatus};
use crate::dispatch::world::World;
use crate::geo::LatLon;
use crate::incident::{Assignment, Incident, IncidentId, Stage, Transition};
use crate::road::snap::{SnapError, Snapped};
use crate::route::{RouteQuery, SourceSet};
use crate::scenario::CoverageConfig;
use crate::space::UnitPositions;

/// What a command changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// The incident it created or changed.
    pub incident: Option<IncidentId>,
    /// The units whose state changed (indices into the scenario's units).
    pub units: Vec<usize>,
    /// Zones that became coverage gaps (no dispatchable unit within the
    /// support target) or stopped being one.
    pub gaps: GapChange,
    /// What a containment command changed.
    pub containment: Option<ContainmentChange>,
}

/// The coverage map's joint departure loss, for the coverage policy.
struct MapLoss<'a> {
    map: Option<&'a CoverageMap>,
    seconds: u32,
}

impl crate::dispatch::recommend::DepartureLoss for MapLoss<'_> {
    fn among<'a>(&'a self, candidates: &[usize]) -> crate::dispatch::recommend::SubsetLoss<'a> {
        match self.map {
            Some(map) => {
                let departures = Departures::new(map, candidates, self.seconds);
                Box::new(move |sent| departures.loss(sent))
            }
            None => Box::new(|_| 0.0),
        }
    }
}

/// Units, incidents and the units' cached road search spaces.
#[derive(Clone, Debug)]
pub struct DispatchState {
    pub(super) world: Arc<World>,
    pub(super) units: Vec<UnitState>,
    pub(super) incidents: BTreeMap<IncidentId, Arc<Incident>>,
    pub(super) next_incident: u64,
    /// Search spaces of the dispatchable units, slot = unit index.
    pub(super) sources: SourceSet,
    /// Every unit's last position, for "units near here".
    pub(super) positions: UnitPositions,
    /// The live coverage map; `None` if the zones could not be tiled.
    pub(super) coverage: Option<CoverageMap>,
    /// The posts' rows on the map's cells, computed once.
    pub(super) move_up: Option<Arc<MoveUpLayout>>,
    /// Incidents per H3 cell over the last day.
    pub(super) heat: HeatMap,
    /// The client request ids applied lately, with their outcomes.
    pub(super) requests: RecentRequests,
    /// Each incident's containment, running or lifted (the latest one).
    pub(super) containments: BTreeMap<IncidentId, Arc<Containment>>,
    /// The last journal entry this state includes (0 for none).
    pub(super) journal_seq: i64,
    /// When the shift began: the time of `OpenShift`, or of the first
    /// command this state applied. A unit that has sent no fix counts as
    /// heard of then. Replay reaches the same time, so a restart does not
    /// give silent units a fresh start.
    pub(super) shift_start_ms: Option<i64>,
}

impl PartialEq for DispatchState {
    /// Equal when units, incidents, the remembered request ids and the
    /// heat map's events are; the search spaces and the coverage map follow
    /// from the units, and the journal position is where, not what.
    fn eq(&self, other: &Self) -> bool {
        self.units == other.units
            && self.incidents == other.incidents
            && self.next_incident == other.next_incident
            && self.requests == other.requests
            && self.heat.parts() == other.heat.parts()
            && self.shift_start_ms == other.shift_start_ms
            && self.containments == other.containments
    }
}

impl DispatchState {
    /// The start of a shift: every unit available at its standby point.
    pub fn new(world: Arc<World>, query: &mut RouteQuery) -> Self {
        let scenario = world.scenario();
        let mut sources = SourceSet::new();
        let mut positions = UnitPositions::new();
        let units: Vec<UnitState> = scenario
            .units()
            .iter()
            .zip(scenario.standby_points())
            .enumerate()
            .map(|(slot, (unit, snapped))| {
                sources.set(slot, query.source_space(snapped));
                positions.update(slot, unit.standby.location);
                UnitState {
                    location: unit.standby.location,
                    snapped: *snapped,
                    heading: None,
                    reported_ms: None,
                    status: UnitStatus::Available,
                    incident: None,
                    stale: false,
                    post: None,
                    moved_ms: None,
                    hold_s: 0,
                    counts_at_post: false,
                }
            })
            .collect();
        let mut coverage = match CoverageMap::new(world.scenario(), &CoverageConfig::default()) {
            Ok(map) => Some(map),
            Err(e) => {
                log::warn!("no live coverage map: {e}");
                None
            }
        };
        if let Some(map) = coverage.as_mut() {
            for (slot, unit) in units.iter().enumerate() {
                let _ = map.set_unit(query, slot, Some(&unit.snapped));
            }
        }
        let requests = RecentRequests::new(world.config().requests);
        let move_up = coverage.as_ref().and_then(|map| {
            MoveUpLayout::new(world.scenario(), map, query)
                .map(Arc::new)
                .map_err(|e| log::warn!("no move-up advice: {e}"))
                .ok()
        });
        Self {
            world,
            units,
            incidents: BTreeMap::new(),
            next_incident: 1,
            sources,
            positions,
            coverage,
            move_up,
            heat: HeatMap::new(HeatMapConfig::default()),
            requests,
            containments: BTreeMap::new(),
            journal_seq: 0,
            shift_start_ms: None,
        }
    }

    /// The last journal entry this state includes (0 for none): a
    /// snapshot of it is a snapshot through that entry.
    pub fn journal_seq(&self) -> i64 {
        self.journal_seq
    }

    pub(crate) fn set_journal_seq(&mut self, seq: i64) {
        self.journal_seq = seq;
    }

    /// The client request ids applied lately.
    pub fn requests(&self) -> &RecentRequests {
        &self.requests
    }

    pub(crate) fn requests_mut(&mut self) -> &mut RecentRequests {
        &mut self.requests
    }

    /// When the shift began (see [`Command::OpenShift`]); `None` before any
    /// command.
    pub fn shift_start_ms(&self) -> Option<i64> {
        self.shift_start_ms
    }

    /// Whether the unit in `slot` is stale at `now_ms`: marked so, or
    /// unheard of for longer than the stale limit. Stale units rank after
    /// fresh ones and are never auto-assigned.
    pub fn is_stale_at(&self, slot: usize, now_ms: i64) -> bool {
        let limit = self.world.config().stale_after_ms;
        self.units
            .get(slot)
            .is_some_and(|u| u.is_stale(now_ms, limit, self.shift_start_ms))
    }

    /// The units that can be sent and are fresh at `now_ms`: what a
    /// reserve (an encirclement's, a containment's) is counted in, since
    /// a stale unit covers no other call.
    pub fn fresh_free_units(&self, now_ms: i64) -> impl Iterator<Item = usize> + '_ {
        (0..self.units.len()).filter(move |&slot| {
            self.units[slot].status.is_dispatchable() && !self.is_stale_at(slot, now_ms)
        })
    }

    /// The units not yet marked stale that are overdue at `now_ms`: what a
    /// [`Command::MarkStale`] at that time would mark.
    pub fn overdue_units(&self, now_ms: i64) -> Vec<usize> {
        let limit = self.world.config().stale_after_ms;
        self.units
            .iter()
            .enumerate()
            .filter(|(_, u)| !u.stale && u.is_overdue(now_ms, limit, self.shift_start_ms))
            .map(|(slot, _)| slot)
            .collect()
    }

    /// Incidents per H3 cell (resolution 9) over the last day: the
    /// console's heat map.
    pub fn heat_map(&self) -> &HeatMap {
        &self.heat
    }

    /// The live coverage map.
    pub fn coverage(&self) -> Option<&CoverageMap> {
        self.coverage.as_ref()
    }

    /// The fixed part of move-up advice: the cells' demand and the posts'
    /// rows; `None` without a coverage map.
    pub fn move_up_layout(&self) -> Option<&MoveUpLayout> {
        self.move_up.as_deref()
    }

    /// The area (m²) the unit's departure would leave without a unit within
    /// the support target, if it went alone.
    pub fn departure_loss(&self, slot: usize) -> f64 {
        let seconds = self.world.target_s(crate::incident::Tier::Support);
        self.coverage
            .as_ref()
            .map_or(0.0, |c| c.loss_without(slot, seconds))
    }

    /// The area (m²) the units' joint departure would leave without a unit
    /// within the support target: what the coverage policy minimises.
    pub fn joint_departure_loss(&self, slots: &[usize]) -> f64 {
        let seconds = self.world.target_s(crate::incident::Tier::Support);
        self.coverage
            .as_ref()
            .map_or(0.0, |c| c.joint_loss(slots, seconds))
    }

    /// What to send to an incident, with the coverage map's joint departure
    /// loss for the coverage policy. Changes nothing.
    pub fn recommend(
        &self,
        query: &mut RouteQuery,
        at: LatLon,
        priority: crate::incident::Priority,
        now_ms: i64,
        policy: crate::dispatch::config::Policy,
    ) -> Result<
        crate::dispatch::recommend::Recommendation,
        crate::dispatch::recommend::RecommendError,
    > {
        let seconds = self.world.target_s(crate::incident::Tier::Support);
        let map = MapLoss {
            map: self.coverage.as_ref(),
            seconds,
        };
        self.recommend_with(query, at, priority, now_ms, policy, &map)
    }

    /// The fixed part.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Every unit, in scenario order.
    pub fn units(&self) -> &[UnitState] {
        &self.units
    }

    /// One incident.
    pub fn incident(&self, id: IncidentId) -> Option<&Incident> {
        self.incidents.get(&id).map(Arc::as_ref)
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> impl DoubleEndedIterator<Item = &Incident> + '_ {
        self.incidents.values().map(Arc::as_ref)
    }

    /// The dispatchable units' search spaces.
    pub fn sources(&self) -> &SourceSet {
        &self.sources
    }

    /// The `k` units nearest to a point in a straight line, with metres:
    /// the map's "units near here", before any road ETA.
    pub fn units_near(&self, at: LatLon, k: usize) -> Vec<(usize, f64)> {
        self.positions.nearest(at, k)
    }

    /// The index of a unit by id.
    pub fn unit_index(&self, id: &str) -> Result<usize, CommandError> {
        self.world
            .scenario()
            .units()
            .index_of(id)
            .ok_or_else(|| CommandError::UnknownUnit(id.to_string()))
    }

    /// A unit's id.
    pub fn unit_id(&self, slot: usize) -> &str {
        self.world
            .scenario()
            .units()
            .as_slice()
            .get(slot)
            .map_or("", |u| u.id.as_str())
    }

    /// Applies a command, or refuses it and changes nothing; then brings
    /// the coverage map up to date for the units it changed.
    pub fn apply(
        &mut self,
        query: &mut RouteQuery,
        stamped: &Stamped,
    ) -> Result<Applied, CommandError> {
        let mut applied = self.apply_command(query, stamped)?;
        if self.shift_start_ms.is_none() {
            self.shift_start_ms = Some(stamped.at_ms);
        }
        if let Some(map) = self.coverage.as_mut()
            && !applied.units.is_empty()
        {
            let seconds = self.world.target_s(crate::incident::Tier::Support);
            let before = map.gaps(seconds);
            for &slot in &applied.units {
                let unit = &self.units[slot];
                let at = unit.counts_as_coverage().then_some(&unit.snapped);
                // A slot of this scenario on its own network: cannot fail.
                let _ = map.report_unit(query, slot, at);
            }
            applied.gaps = GapChange::between(&before, &map.gaps(seconds));
        }
        Ok(applied)
    }

    fn apply_command(
        &mut self,
        query: &mut RouteQuery,
        stamped: &Stamped,
    ) -> Result<Applied, CommandError> {
        let at = stamped.at_ms;
        let actor = stamped.actor.as_str();
        match &stamped.command {
            Command::ReportIncident {
                location,
                priority,
                category,
                description,
                caller_ref,
            } => {
                let id = IncidentId(self.next_incident);
                let incident = Incident {
                    id,
                    location: *location,
                    priority: *priority,
                    zone: self.world.zone_at(*location),
                    category: category.clone(),
                    description: description.clone(),
                    caller_ref: caller_ref.clone(),
                    history: vec![Transition {
                        stage: Stage::Reported,
                        at_ms: at,
                        actor: actor.to_string(),
                        note: String::new(),
                    }],
                    assignments: Vec::new(),
                };
                self.incidents.insert(id, Arc::new(incident));
                self.next_incident += 1;
                // A report older than the heat map's day is still a case;
                // it just does not count on the map.
                let _ = self.heat.record_at(*location, at);
                Ok(Applied {
                    incident: Some(id),
                    units: Vec::new(),
                    gaps: GapChange::default(),
                    containment: None,
                })
            }
            Command::Advance {
                incident,
                stage,
                note,
            } => self.advance(query, *incident, *stage, at, actor, note),
            Command::Assign {
                incident,
                units,
                note,
                register,
            } => self.assign(*incident, units, *register, at, actor, note),
            Command::Arrived { incident, unit } => self.arrived(*incident, unit, at, actor),
            Command::SetUnitStatus { unit, status, .. } => {
                self.set_status(query, unit, *status, at)
            }
            Command::ReportPosition {
                unit,
                location,
                heading,
            } => self.report_position(query, unit, *location, *heading, at),
            Command::OpenShift => match self.shift_start_ms {
                Some(since) => Err(CommandError::ShiftOpen(since)),
                None => {
                    self.shift_start_ms = Some(at);
                    Ok(Applied {
                        incident: None,
                        units: Vec::new(),
                        gaps: GapChange::default(),
                        containment: None,
                    })
                }
            },
            Command::MarkStale { units } => self.mark_stale(units, at),
            Command::AcceptMoveUp {
                unit,
                post,
                drive_ms,
                drive_limit_s,
                hold_s,
                ..
            } => {
                let slot =
                    self.accept_move_up(unit, post, *drive_ms, *drive_limit_s, *hold_s, at)?;
                Ok(Applied {
                    incident: None,
                    units: vec![slot],
                    gaps: GapChange::default(),
                    containment: None,
                })
            }
            Command::ReleaseMoveUp { unit, .. } => {
                let slot = self.release_move_up(unit)?;
                Ok(Applied {
                    incident: None,
                    units: vec![slot],
                    gaps: GapChange::default(),
                    containment: None,
                })
            }
            Command::StartContainment {
                incident,
                mode,
                orders,
                outlook,
                note,
            } => self.start_containment(*incident, mode, orders, outlook, note, at, actor),
            Command::ReportSighting {
                incident,
                location,
                time_ms,
                source,
                orders,
                outlook,
            } => self.report_sighting(
                *incident, *location, *time_ms, source, orders, outlook, at, actor,
            ),
            Command::CrossingStaffed { incident, crossing } => {
                self.crossing_staffed(*incident, *crossing, at, actor)
            }
            Command::Intercepted {
                incident,
                location,
                crossing,
                note,
            } => self.intercepted(*incident, *location, *crossing, note, at, actor),
            Command::LiftContainment { incident, note } => {
                self.lift_containment(query, *incident, note, at)
            }
            Command::Archive { incident } => self.archive(*incident),
        }
    }

    fn mark_stale(&mut self, units: &[String], at: i64) -> Result<Applied, CommandError> {
        let limit = self.world.config().stale_after_ms;
        let mut slots = Vec::with_capacity(units.len());
        for unit in units {
            let slot = self.unit_index(unit)?;
            if slots.contains(&slot) {
                return Err(CommandError::ListedTwice(unit.clone()));
            }
            slots.push(slot);
        }
        let start = self.shift_start_ms;
        slots.retain(|&slot| {
            let u = &self.units[slot];
            !u.stale && u.is_overdue(at, limit, start)
        });
        if slots.is_empty() {
            return Err(CommandError::NothingStale {
                at_ms: at,
                limit_s: limit / 1000,
            });
        }
        for &slot in &slots {
            self.units[slot].stale = true;
        }
        Ok(Applied {
            incident: None,
            units: slots,
            gaps: GapChange::default(),
            containment: None,
        })
    }

    /// Takes a closed case out of the live state (the writer has written
    /// it into the archive in the same transaction).
    fn archive(&mut self, id: IncidentId) -> Result<Applied, CommandError> {
        if self.open_incident(id)?.is_open() {
            return Err(CommandError::StillOpen(id));
        }
        // Its containment, lifted when the case closed, stays readable
        // (GetContainment) in the live state.
        self.incidents.remove(&id);
        Ok(Applied {
            incident: Some(id),
            units: Vec::new(),
            gaps: GapChange::default(),
            containment: None,
        })
    }

    /// The closed cases in the live state that were closed at or before
    /// `closed_by_ms`, lowest number first: what the writer archives.
    pub fn closed_by(&self, closed_by_ms: i64) -> Vec<IncidentId> {
        self.incidents
            .values()
            .filter(|i| !i.is_open() && i.closed_ms().is_some_and(|at| at <= closed_by_ms))
            .map(|i| i.id)
            .collect()
    }

    pub(super) fn open_incident(&self, id: IncidentId) -> Result<&Incident, CommandError> {
        self.incidents.get(&id).map(Arc::as_ref).ok_or({
            // Numbers are given in order and a case leaves the live state
            // only for the archive, so a number given before is archived.
            if id != IncidentId::REPORTED && id.0 < self.next_incident {
                CommandError::Archived(id)
            } else {
                CommandError::UnknownIncident(id)
            }
        })
    }

    /// Whether incident `id` was reported and has left the live state for
    /// the archive.
    pub fn is_archived(&self, id: IncidentId) -> bool {
        id != IncidentId::REPORTED && id.0 < self.next_incident && !self.incidents.contains_key(&id)
    }

    fn advance(
        &mut self,
        query: &mut RouteQuery,
        id: IncidentId,
        to: Stage,
        at: i64,
        actor: &str,
        note: &str,
    ) -> Result<Applied, CommandError> {
        let incident = self.open_incident(id)?;
        let from = incident.stage();
        let refuse = |reason| {
            Err(CommandError::OutOfOrder {
                incident: id,
                from,
                to,
                reason,
            })
        };
        if from == Stage::Closed {
            return refuse("the case is closed");
        }
        if to == Stage::Assigned {
            return refuse("a case becomes ASSIGNED when units are assigned to it");
        }
        if to <= from {
            return refuse("stages only move forward");
        }
        if from.next() != Some(to) {
            return refuse("stages are taken one at a time");
        }
        let mut incident = incident.clone();
        incident.history.push(Transition {
            stage: to,
            at_ms: at,
            actor: actor.to_string(),
            note: note.to_string(),
        });
        let mut changed = Vec::new();
        let mut containment = None;
        if to == Stage::Closed
            && let Some(running) = self.containments.get(&id).filter(|c| c.is_running())
        {
            // A closed case lifts its containment; its units are freed
            // with the case's others just below.
            let mut lifted = Containment::clone(running);
            lifted.lifted_ms = Some(at);
            lifted.lift_note = "the case was closed".to_string();
            self.containments.insert(id, Arc::new(lifted));
            containment = Some(ContainmentChange {
                incident: id,
                kind: ContainmentChangeKind::Lifted,
                newly_needed: Vec::new(),
                now_too_late: Vec::new(),
                crossing: None,
            });
        }
        if to == Stage::Closed {
            // Closing the case frees its units: they drive back and can be
            // sent again on the way.
            for (slot, unit) in self.units.iter_mut().enumerate() {
                if unit.incident == Some(id) {
                    unit.incident = None;
                    unit.status = UnitStatus::Returning;
                    self.sources.set(slot, query.source_space(&unit.snapped));
                    changed.push(slot);
                }
            }
        }
        self.incidents.insert(id, Arc::new(incident));
        Ok(Applied {
            incident: Some(id),
            units: changed,
            gaps: GapChange::default(),
            containment,
        })
    }

    pub(super) fn assign(
        &mut self,
        id: IncidentId,
        units: &[AssignUnit],
        register: bool,
        at: i64,
        actor: &str,
        note: &str,
    ) -> Result<Applied, CommandError> {
        let incident = self.open_incident(id)?;
        let stage = incident.stage();
        if stage == Stage::Closed || (stage == Stage::Reported && !register) {
            return Err(CommandError::OutOfOrder {
                incident: id,
                from: stage,
                to: Stage::Assigned,
                reason: if stage == Stage::Closed {
                    "the case is closed"
                } else {
                    "register the case first"
                },
            });
        }
        let slots = self.check_units_for(id, units)?;
        let mut incident = incident.clone();
        if stage == Stage::Reported {
            incident.history.push(Transition {
                stage: Stage::Registered,
                at_ms: at,
                actor: actor.to_string(),
                note: "registered on assignment".to_string(),
            });
        }
        for (u, &slot) in units.iter().zip(&slots) {
            incident.assignments.push(Assignment {
                unit: slot,
                tier: u.tier,
                target_s: self.world.target_s(u.tier),
                assigned_ms: at,
                arrived_ms: None,
                goal: u.goal.unwrap_or(incident.location),
                left_ms: None,
            });
            let unit = &mut self.units[slot];
            unit.status = UnitStatus::Dispatched;
            unit.incident = Some(id);
            unit.counts_at_post = false;
            self.sources.remove(slot);
        }
        if stage <= Stage::Registered {
            incident.history.push(Transition {
                stage: Stage::Assigned,
                at_ms: at,
                actor: actor.to_string(),
                note: note.to_string(),
            });
        }
        self.incidents.insert(id, Arc::new(incident));
        Ok(Applied {
            incident: Some(id),
            units: slots,
            gaps: GapChange::default(),
            containment: None,
        })
    }

    /// Whether `units` could be sent to incident `id` now, whatever its
    /// stage: each known, listed once, free and dispatchable. Returns their
    /// slots.
    pub fn check_units_for(
        &self,
        id: IncidentId,
        units: &[AssignUnit],
    ) -> Result<Vec<usize>, CommandError> {
        if units.is_empty() {
            return Err(CommandError::BadAssignment {
                incident: id,
                reason: "no unit listed".to_string(),
            });
        }
        let mut slots = Vec::with_capacity(units.len());
        for u in units {
            let slot = self.unit_index(&u.unit)?;
            if slots.contains(&slot) {
                return Err(CommandError::BadAssignment {
                    incident: id,
                    reason: format!("unit {} listed twice", u.unit),
                });
            }
            let state = &self.units[slot];
            if let Some(other) = state.incident {
                return Err(CommandError::UnitBusy {
                    unit: u.unit.clone(),
                    incident: other,
                });
            }
            if !state.status.is_dispatchable() {
                return Err(CommandError::UnitUnavailable {
                    unit: u.unit.clone(),
                    status: state.status,
                });
            }
            slots.push(slot);
        }
        Ok(slots)
    }

    pub(super) fn arrived(
        &mut self,
        id: IncidentId,
        unit: &str,
        at: i64,
        actor: &str,
    ) -> Result<Applied, CommandError> {
        let incident = self.open_incident(id)?;
        let slot = self.unit_index(unit)?;
        let state = &self.units[slot];
        if state.incident != Some(id) || state.status != UnitStatus::Dispatched {
            return Err(CommandError::NotAssigned {
                unit: unit.to_string(),
                incident: id,
            });
        }
        let mut incident = incident.clone();
        if let Some(a) = incident
            .assignments
            .iter_mut()
            .rev()
            .find(|a| a.unit == slot && a.arrived_ms.is_none() && a.is_on_case())
        {
            a.arrived_ms = Some(at);
        }
        if incident.stage() == Stage::Assigned {
            incident.history.push(Transition {
                stage: Stage::Handling,
                at_ms: at,
                actor: actor.to_string(),
                note: format!("{unit} on scene"),
            });
        }
        self.units[slot].status = UnitStatus::OnScene;
        self.incidents.insert(id, Arc::new(incident));
        // A unit holding a crossing is on scene there: the crossing is
        // staffed.
        let containment = self.staffed_by_unit(id, unit, at);
        Ok(Applied {
            incident: Some(id),
            units: vec![slot],
            gaps: GapChange::default(),
            containment,
        })
    }

    fn set_status(
        &mut self,
        query: &mut RouteQuery,
        unit: &str,
        status: UnitStatus,
        at: i64,
    ) -> Result<Applied, CommandError> {
        let slot = self.unit_index(unit)?;
        if matches!(status, UnitStatus::Dispatched | UnitStatus::OnScene) {
            return Err(CommandError::StatusNotSettable(status));
        }
        // A unit taken out of service (a breakdown) or declared free by
        // hand leaves its incident: the case records when it left, and
        // says it needs a unit once none is left on it.
        let left = self.units[slot].incident;
        if let Some(id) = left
            && let Some(incident) = self.incidents.get(&id)
        {
            let mut incident = Incident::clone(incident);
            for a in incident
                .assignments
                .iter_mut()
                .filter(|a| a.unit == slot && a.is_on_case())
            {
                a.left_ms = Some(at);
            }
            self.incidents.insert(id, Arc::new(incident));
        }
        let state = &mut self.units[slot];
        state.incident = None;
        state.status = status;
        if status.is_dispatchable() {
            self.sources.set(slot, query.source_space(&state.snapped));
        } else {
            self.sources.remove(slot);
            state.counts_at_post = false;
        }
        Ok(Applied {
            incident: left,
            units: vec![slot],
            gaps: GapChange::default(),
            containment: None,
        })
    }

    fn report_position(
        &mut self,
        query: &mut RouteQuery,
        unit: &str,
        location: LatLon,
        heading: Option<f64>,
        at: i64,
    ) -> Result<Applied, CommandError> {
        let slot = self.unit_index(unit)?;
        if let Some(h) = heading
            && !(0.0..360.0).contains(&h)
        {
            return Err(CommandError::BadHeading(h));
        }
        // Fixes are ordered here, by the one writer, so that two streams
        // for one unit (or a fix timed ahead, then one timed "now") never
        // move a unit back to where it was.
        if let Some(last_ms) = self.units[slot].reported_ms
            && at < last_ms
        {
            return Err(CommandError::OlderFix {
                unit: unit.to_string(),
                at_ms: at,
                last_ms,
            });
        }
        let snapped = self.snap(location, "the unit's position")?;
        // Its standby point: the post it was moved to, else its own.
        let standby = self
            .world
            .scenario()
            .posts()
            .get(self.post_of(slot))
            .map(|p| p.location);
        let back_at_standby = self.world.config().back_at_standby_m;
        self.positions.update(slot, location);
        let state = &mut self.units[slot];
        state.location = location;
        state.snapped = snapped;
        state.heading = heading;
        state.reported_ms = Some(at);
        state.stale = false;
        if state.status == UnitStatus::Returning
            && standby.is_some_and(|s| s.haversine_m(location) <= back_at_standby)
        {
            state.status = UnitStatus::Available;
        }
        if state.status.is_dispatchable() {
            self.sources.set(slot, query.source_space(&state.snapped));
        }
        Ok(Applied {
            incident: None,
            units: vec![slot],
            gaps: GapChange::default(),
            containment: None,
        })
    }

    /// A location on the road network, within the scenario's incident limit.
    pub fn snap(&self, at: LatLon, what: &'static str) -> Result<Snapped, CommandError> {
        let config = self.world.scenario().incident_snap();
        self.world
            .scenario()
            .router()
            .graph()
            .snap(at, &config)
            .map_err(
                |SnapError::OffNetwork {
                     distance_m,
                     limit_m,
                 }| CommandError::OffNetwork {
                    what,
                    distance_m,
                    limit_m,
                },
            )
    }
}
