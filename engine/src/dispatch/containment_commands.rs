//! How the containment commands change the dispatch state: each is
//! checked completely first (the incident, the containment's state, every
//! order's crossing and responder, the times), so a refused one changes
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::containment::{Verdict, is_staffed};
use crate::dispatch::command::{AssignUnit, CommandError};
use crate::dispatch::containment_record::{
    Containment, ContainmentChange, ContainmentChangeKind, ContainmentMode, CrossingOrder,
    CrossingOutlook, CrossingResponder, HeldCrossing, Interception, SuspectSighting,
};
use crate::dispatch::coverage::GapChange;
use crate::dispatch::state::{Applied, DispatchState};
use crate::dispatch::unit_state::UnitStatus;
use crate::geo::LatLon;
use crate::incident::{Incident, IncidentId, Stage, Tier};
use crate::route::RouteQuery;

/// How far ahead of the command's own time a time it carries may be (ms):
/// a second of clock difference between a console and the server is not
/// "in the future".
pub const CLOCK_SLACK_MS: i64 = 1_000;

/// The largest speed factor: three times the car profile.
pub const MAX_SPEED_FACTOR: f64 = 3.0;

fn place(at: LatLon) -> String {
    format!("({}, {})", at.lat(), at.lon())
}

impl DispatchState {
    /// Each incident's containment, running or lifted, by incident.
    pub fn containments(&self) -> impl Iterator<Item = &Containment> + '_ {
        self.containments.values().map(Arc::as_ref)
    }

    /// An incident's containment (the latest, running or lifted).
    pub fn containment(&self, id: IncidentId) -> Option<&Containment> {
        self.containments.get(&id).map(Arc::as_ref)
    }

    /// The running containment of an incident.
    fn running(&self, id: IncidentId) -> Result<&Containment, CommandError> {
        self.open_incident(id)?;
        self.containment(id)
            .filter(|c| c.is_running())
            .ok_or(CommandError::NoContainment(id))
    }

    /// The index of a crossing site at `at`.
    pub fn crossing_site(&self, at: LatLon) -> Option<usize> {
        self.world
            .ring_crossings()
            .sites()
            .iter()
            .position(|s| s.at == at)
    }

    /// Whether an order still holds its crossing: a unit that left the case
    /// (set free or out of service by hand, or its case closed) does not.
    pub fn is_current(&self, incident: IncidentId, held: &HeldCrossing) -> bool {
        match &held.order.responder {
            CrossingResponder::Unit(unit) => self
                .unit_index(unit)
                .is_ok_and(|slot| self.units[slot].incident == Some(incident)),
            _ => true,
        }
    }

    /// How many of a station's teams running containments hold now.
    pub fn teams_out(&self, station: &str) -> u32 {
        self.containments()
            .filter(|c| c.is_running())
            .flat_map(|c| &c.held)
            .filter(
                |h| matches!(&h.order.responder, CrossingResponder::StationTeam(s) if s == station),
            )
            .count() as u32
    }

    /// Checks a command's orders against the world and the state: every
    /// crossing known and ordered once (and not held already), every
    /// station with a team left, every post staffed and at its own
    /// crossing, every unit free and dispatchable. Returns the units'
    /// ENCIRCLE assignments to their crossings.
    fn check_orders(
        &self,
        id: IncidentId,
        running: Option<&Containment>,
        orders: &[CrossingOrder],
    ) -> Result<Vec<AssignUnit>, CommandError> {
        let bad = |reason: String| CommandError::BadContainment {
            incident: id,
            reason,
        };
        let refused = |reason: String| CommandError::ContainmentRefused {
            incident: id,
            reason,
        };
        let sites = self.world.ring_crossings().sites();
        let rings = self.world.scenario().rings();
        let stations = self.world.scenario().stations();
        let mut teams: HashMap<&str, u32> = HashMap::new();
        let mut units = Vec::new();
        for (i, order) in orders.iter().enumerate() {
            let site = self
                .crossing_site(order.crossing)
                .ok_or_else(|| bad(format!("no crossing at {}", place(order.crossing))))?;
            if orders[..i].iter().any(|o| o.crossing == order.crossing) {
                return Err(bad(format!(
                    "crossing {} is ordered twice",
                    place(order.crossing)
                )));
            }
            if let Some(held) = running.and_then(|c| c.order_at(order.crossing))
                && self.is_current(id, held)
            {
                return Err(refused(format!(
                    "crossing {} is held already",
                    place(order.crossing)
                )));
            }
            match &order.responder {
                CrossingResponder::Unit(unit) => units.push(AssignUnit {
                    unit: unit.clone(),
                    tier: Tier::Encircle,
                    goal: Some(order.crossing),
                }),
                CrossingResponder::StationTeam(station) => {
                    let known = stations
                        .iter()
                        .find(|s| s.id.as_str() == station)
                        .ok_or_else(|| bad(format!("no station {station:?}")))?;
                    let used = teams.entry(station.as_str()).or_insert(0);
                    *used += 1;
                    let out = self.teams_out(station);
                    if out + *used > known.teams {
                        return Err(refused(format!(
                            "station {station} has no team left: its {} teams are out",
                            known.teams
                        )));
                    }
                }
                CrossingResponder::StaffedPost(post) => {
                    let k = rings
                        .checkpoints()
                        .iter()
                        .position(|c| c.id.as_str() == post)
                        .ok_or_else(|| bad(format!("no checkpoint {post:?}")))?;
                    let kind = rings.checkpoints()[k].kind;
                    if !is_staffed(kind) {
                        return Err(bad(format!(
                            "checkpoint {post} is a {} and has no staff of its own",
                            kind.as_str()
                        )));
                    }
                    if sites[site].checkpoint != Some(k) {
                        return Err(bad(format!(
                            "checkpoint {post} is not at crossing {}",
                            place(order.crossing)
                        )));
                    }
                }
            }
        }
        if !units.is_empty() {
            self.check_units_for(id, &units)?;
        }
        Ok(units)
    }

    /// Sends the orders' units (ENCIRCLE, to their crossings; the case is
    /// registered first if it was REPORTED). Checked already.
    fn send_units(
        &mut self,
        id: IncidentId,
        units: &[AssignUnit],
        at: i64,
        actor: &str,
        note: &str,
    ) -> Result<Vec<usize>, CommandError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.assign(id, units, true, at, actor, note)?.units)
    }

    #[allow(clippy::too_many_arguments, reason = "one per field of the command")]
    pub(super) fn start_containment(
        &mut self,
        id: IncidentId,
        mode: &ContainmentMode,
        orders: &[CrossingOrder],
        outlook: &[CrossingOutlook],
        note: &str,
        at: i64,
        actor: &str,
    ) -> Result<Applied, CommandError> {
        let incident = self.open_incident(id)?;
        let bad = |reason: String| CommandError::BadContainment {
            incident: id,
            reason,
        };
        if incident.stage() == Stage::Closed {
            return Err(CommandError::ContainmentRefused {
                incident: id,
                reason: "the case is closed".to_string(),
            });
        }
        if let Some(c) = self.containment(id).filter(|c| c.is_running()) {
            return Err(CommandError::ContainmentRunning {
                incident: id,
                since_ms: c.started_ms,
            });
        }
        match mode {
            ContainmentMode::Suspect {
                escape_ms,
                speed_factor,
            } => {
                if *escape_ms > at + CLOCK_SLACK_MS {
                    return Err(bad(format!(
                        "the escape at {escape_ms} ms is {} ms in the future",
                        escape_ms - at
                    )));
                }
                if !(speed_factor.is_finite()
                    && *speed_factor > 0.0
                    && *speed_factor <= MAX_SPEED_FACTOR)
                {
                    return Err(bad(format!(
                        "speed factor {speed_factor} is not in (0, {MAX_SPEED_FACTOR}]"
                    )));
                }
            }
            ContainmentMode::Lockdown { ring } => {
                if !self
                    .world
                    .ring_crossings()
                    .outlines()
                    .iter()
                    .any(|o| &o.id == ring)
                {
                    return Err(bad(format!("no ring {ring:?}")));
                }
            }
        }
        let units = self.check_orders(id, None, orders)?;
        // Checked: nothing below fails.
        let sent = self.send_units(id, &units, at, actor, note)?;
        let containment = Containment {
            incident: id,
            mode: mode.clone(),
            started_ms: at,
            started_by: actor.to_string(),
            sightings: Vec::new(),
            held: orders
                .iter()
                .map(|order| HeldCrossing {
                    order: order.clone(),
                    ordered_ms: at,
                    staffed_ms: None,
                })
                .collect(),
            outlook: outlook.to_vec(),
            interception: None,
            lifted_ms: None,
            lift_note: String::new(),
        };
        self.containments.insert(id, Arc::new(containment));
        Ok(Applied {
            incident: Some(id),
            units: sent,
            gaps: GapChange::default(),
            containment: Some(ContainmentChange {
                incident: id,
                kind: ContainmentChangeKind::Started,
                newly_needed: orders.iter().map(|o| o.crossing).collect(),
                now_too_late: too_late(&[], outlook),
                crossing: None,
            }),
        })
    }

    #[allow(clippy::too_many_arguments, reason = "one per field of the command")]
    pub(super) fn report_sighting(
        &mut self,
        id: IncidentId,
        location: LatLon,
        time_ms: i64,
        source: &str,
        orders: &[CrossingOrder],
        outlook: &[CrossingOutlook],
        at: i64,
        actor: &str,
    ) -> Result<Applied, CommandError> {
        let running = self.running(id)?;
        let refused = |reason: String| CommandError::ContainmentRefused {
            incident: id,
            reason,
        };
        let bad = |reason: String| CommandError::BadContainment {
            incident: id,
            reason,
        };
        let ContainmentMode::Suspect { escape_ms, .. } = running.mode else {
            return Err(refused("a lockdown has no suspect to sight".to_string()));
        };
        if let Some(caught) = &running.interception {
            return Err(refused(format!(
                "the suspect was intercepted at {} ms; lift the containment",
                caught.at_ms
            )));
        }
        if time_ms < escape_ms {
            return Err(bad(format!(
                "the sighting at {time_ms} ms is {} ms before the escape at {escape_ms} ms",
                escape_ms - time_ms
            )));
        }
        if time_ms > at + CLOCK_SLACK_MS {
            return Err(bad(format!(
                "the sighting at {time_ms} ms is {} ms in the future",
                time_ms - at
            )));
        }
        self.snap(location, "the sighting")?;
        let units = self.check_orders(id, Some(running), orders)?;
        let mut containment = Containment::clone(running);
        let sent = self.send_units(id, &units, at, actor, "ordered after a sighting")?;
        containment.sightings.push(SuspectSighting {
            at: location,
            time_ms,
            source: source.to_string(),
            reported_ms: at,
        });
        containment
            .held
            .extend(orders.iter().map(|order| HeldCrossing {
                order: order.clone(),
                ordered_ms: at,
                staffed_ms: None,
            }));
        let now_too_late = too_late(&containment.outlook, outlook);
        containment.outlook = outlook.to_vec();
        self.containments.insert(id, Arc::new(containment));
        Ok(Applied {
            incident: Some(id),
            units: sent,
            gaps: GapChange::default(),
            containment: Some(ContainmentChange {
                incident: id,
                kind: ContainmentChangeKind::Sighting,
                newly_needed: orders.iter().map(|o| o.crossing).collect(),
                now_too_late,
                crossing: None,
            }),
        })
    }

    pub(super) fn crossing_staffed(
        &mut self,
        id: IncidentId,
        crossing: LatLon,
        at: i64,
        actor: &str,
    ) -> Result<Applied, CommandError> {
        let running = self.running(id)?;
        let refused = |reason: String| CommandError::ContainmentRefused {
            incident: id,
            reason,
        };
        let held = running
            .order_at(crossing)
            .filter(|h| self.is_current(id, h))
            .ok_or_else(|| {
                refused(format!(
                    "nobody holds crossing {} for this containment",
                    place(crossing)
                ))
            })?;
        if let Some(since) = held.staffed_ms {
            return Err(refused(format!(
                "crossing {} is staffed since {since} ms",
                place(crossing)
            )));
        }
        if let CrossingResponder::Unit(unit) = &held.order.responder {
            // A unit at its crossing is its arrival: ON_SCENE there.
            let unit = unit.clone();
            return self.arrived(id, &unit, at, actor);
        }
        let mut containment = Containment::clone(running);
        if let Some(h) = containment
            .held
            .iter_mut()
            .rev()
            .find(|h| h.order.crossing == crossing)
        {
            h.staffed_ms = Some(at);
        }
        self.containments.insert(id, Arc::new(containment));
        Ok(Applied {
            incident: Some(id),
            units: Vec::new(),
            gaps: GapChange::default(),
            containment: Some(staffed(id, crossing)),
        })
    }

    /// Marks the crossing of a unit that arrived staffed, if it holds one
    /// of its case's running containment.
    pub(super) fn staffed_by_unit(
        &mut self,
        id: IncidentId,
        unit: &str,
        at: i64,
    ) -> Option<ContainmentChange> {
        let running = self.containment(id).filter(|c| c.is_running())?;
        let crossing = running
            .order_of_unit(unit)
            .filter(|h| h.staffed_ms.is_none())?
            .order
            .crossing;
        let mut containment = Containment::clone(running);
        if let Some(h) = containment
            .held
            .iter_mut()
            .rev()
            .find(|h| h.order.responder.unit() == Some(unit))
        {
            h.staffed_ms = Some(at);
        }
        self.containments.insert(id, Arc::new(containment));
        Some(staffed(id, crossing))
    }

    pub(super) fn intercepted(
        &mut self,
        id: IncidentId,
        location: LatLon,
        crossing: Option<LatLon>,
        note: &str,
        at: i64,
        actor: &str,
    ) -> Result<Applied, CommandError> {
        let running = self.running(id)?;
        if let Some(caught) = &running.interception {
            return Err(CommandError::ContainmentRefused {
                incident: id,
                reason: format!("the interception was recorded at {} ms", caught.at_ms),
            });
        }
        if let Some(c) = crossing
            && self.crossing_site(c).is_none()
        {
            return Err(CommandError::BadContainment {
                incident: id,
                reason: format!("no crossing at {}", place(c)),
            });
        }
        let mut containment = Containment::clone(running);
        containment.interception = Some(Interception {
            at: location,
            crossing,
            at_ms: at,
            actor: actor.to_string(),
            note: note.to_string(),
        });
        self.containments.insert(id, Arc::new(containment));
        Ok(Applied {
            incident: Some(id),
            units: Vec::new(),
            gaps: GapChange::default(),
            containment: Some(ContainmentChange {
                incident: id,
                kind: ContainmentChangeKind::Intercepted,
                newly_needed: Vec::new(),
                now_too_late: Vec::new(),
                crossing,
            }),
        })
    }

    pub(super) fn lift_containment(
        &mut self,
        query: &mut RouteQuery,
        id: IncidentId,
        note: &str,
        at: i64,
    ) -> Result<Applied, CommandError> {
        let running = self.running(id)?;
        let mut containment = Containment::clone(running);
        // The units still holding a crossing of it are free again.
        let slots: Vec<usize> = containment
            .held
            .iter()
            .filter(|h| self.is_current(id, h))
            .filter_map(|h| h.order.responder.unit())
            .filter_map(|u| self.unit_index(u).ok())
            .collect();
        if let Some(incident) = self.incidents.get(&id) {
            let mut incident = Incident::clone(incident);
            for a in incident
                .assignments
                .iter_mut()
                .filter(|a| slots.contains(&a.unit) && a.is_on_case())
            {
                a.left_ms = Some(at);
            }
            self.incidents.insert(id, Arc::new(incident));
        }
        for &slot in &slots {
            let unit = &mut self.units[slot];
            unit.incident = None;
            unit.status = UnitStatus::Available;
            self.sources.set(slot, query.source_space(&unit.snapped));
        }
        containment.lifted_ms = Some(at);
        containment.lift_note = note.to_string();
        self.containments.insert(id, Arc::new(containment));
        Ok(Applied {
            incident: Some(id),
            units: slots,
            gaps: GapChange::default(),
            containment: Some(ContainmentChange {
                incident: id,
                kind: ContainmentChangeKind::Lifted,
                newly_needed: Vec::new(),
                now_too_late: Vec::new(),
                crossing: None,
            }),
        })
    }
}

fn staffed(id: IncidentId, crossing: LatLon) -> ContainmentChange {
    ContainmentChange {
        incident: id,
        kind: ContainmentChangeKind::Staffed,
        newly_needed: Vec::new(),
        now_too_late: Vec::new(),
        crossing: Some(crossing),
    }
}

/// The crossings `after` says the suspect may pass first that `before`
/// did not.
fn too_late(before: &[CrossingOutlook], after: &[CrossingOutlook]) -> Vec<LatLon> {
    let late = |v: Verdict| matches!(v, Verdict::TooLate | Verdict::AlreadyPassed);
    after
        .iter()
        .filter(|a| late(a.verdict))
        .filter(|a| {
            !before
                .iter()
                .any(|b| b.crossing == a.crossing && late(b.verdict))
        })
        .map(|a| a.crossing)
        .collect()
}
