//! What the dispatch state offers a containment plan: its dispatchable
//! units from their cached search spaces (so a unit's times to every
//! crossing are one merge), every station's teams not out on a running
//! containment from the stations' cached spaces, and, for a running
//! containment, the responders it ordered, fixed at their crossings. And
//! the plan's orders and outlook as the containment commands carry them.

use crate::containment::{
    ContainmentRing, FastTimes, FixedHolder, Holder, Origin, Plan, PlanConfig, PlanRequest,
    Responders, Sighting, StationResponder, Suspect, UnitResponder, plan, ring1_for,
};
use crate::dispatch::DispatchState;
use crate::dispatch::command::{Command, CommandError};
use crate::dispatch::containment_record::{
    Containment, ContainmentMode, CrossingOrder, CrossingOutlook, CrossingResponder,
};
use crate::geo::LatLon;
use crate::incident::IncidentId;
use crate::route::RouteQuery;

impl DispatchState {
    /// Everyone who may hold a crossing at `now_ms`: the dispatchable
    /// units from where they are, at most as many of them as leave the
    /// city its reserve of fresh free units (`[containment] reserve`), and
    /// every station's teams not out on a running containment (a station
    /// off every road sends none).
    pub fn containment_responders(&self, now_ms: i64) -> Responders<'_> {
        let world = self.world();
        let prepared = world.prepared_rings();
        let units = (0..self.units().len())
            .filter_map(|unit| {
                Some(UnitResponder {
                    unit,
                    from: Origin::Cached(self.sources().get(unit)?),
                    holds: None,
                })
            })
            .collect();
        let stations = world
            .scenario()
            .stations()
            .iter()
            .enumerate()
            .filter_map(|(station, s)| {
                Some(StationResponder {
                    station,
                    from: Origin::Cached(prepared.station_space(station)?),
                    teams: s.teams.saturating_sub(self.teams_out(s.id.as_str())),
                    turnout_ms: u64::from(s.turnout_s) * 1000,
                })
            })
            .collect();
        // The reserve is of fresh units: a stale one covers no other call
        // (as for an encirclement's reserve).
        let reserve = world.containment().reserve;
        let new_units_allowed = (reserve > 0).then(|| {
            self.fresh_free_units(now_ms)
                .count()
                .saturating_sub(reserve)
        });
        Responders {
            units,
            stations,
            fixed: Vec::new(),
            new_units_allowed,
        }
    }

    /// The responders a running containment ordered and that still hold
    /// their crossings, each fixed there: at its crossing when it reported
    /// it staffed, else by the arrival planned when it was ordered.
    pub fn containment_holders(&self, containment: &Containment) -> Vec<FixedHolder> {
        let world = self.world();
        let rings = world.scenario().rings();
        containment
            .held
            .iter()
            .filter(|h| self.is_current(containment.incident, h))
            .filter_map(|h| {
                let site = self.crossing_site(h.order.crossing)?;
                let holder = match &h.order.responder {
                    CrossingResponder::Unit(u) => Holder::Unit(self.unit_index(u).ok()?),
                    CrossingResponder::StationTeam(s) => Holder::StationTeam(
                        world
                            .scenario()
                            .stations()
                            .iter()
                            .position(|st| st.id.as_str() == s)?,
                    ),
                    CrossingResponder::StaffedPost(p) => Holder::StaffedPost(
                        rings
                            .checkpoints()
                            .iter()
                            .position(|c| c.id.as_str() == p)?,
                    ),
                };
                let arrival = h.staffed_ms.unwrap_or(h.order.eta_ms);
                Some(FixedHolder {
                    site,
                    holder,
                    arrival_ms: u64::try_from(arrival).unwrap_or(0),
                })
            })
            .collect()
    }

    /// What a containment of incident `id` plans around at `now_ms`: its
    /// suspect from the incident (counted from `sighting`, the latest),
    /// or its ring for a lockdown. Refused for an incident outside every
    /// ring-1 area or off the road network, or an unknown ring.
    pub fn containment_request(
        &self,
        id: IncidentId,
        mode: &ContainmentMode,
        sighting: Option<(LatLon, i64)>,
        now_ms: i64,
    ) -> Result<PlanRequest, CommandError> {
        let now_ms = u64::try_from(now_ms).unwrap_or(0);
        let bad = |reason: String| CommandError::BadContainment {
            incident: id,
            reason,
        };
        let crossings = self.world().ring_crossings();
        match mode {
            ContainmentMode::Lockdown { ring } => {
                let ring = crossings
                    .outlines()
                    .iter()
                    .find(|o| &o.id == ring)
                    .map(|o| o.ring)
                    .ok_or_else(|| bad(format!("no ring {ring:?}")))?;
                Ok(PlanRequest::Lockdown { ring, now_ms })
            }
            ContainmentMode::Suspect {
                escape_ms,
                speed_factor,
            } => {
                let incident = self.incident(id).ok_or(CommandError::UnknownIncident(id))?;
                let ring1: ContainmentRing =
                    ring1_for(self.world().scenario().rings(), incident.location).ok_or_else(
                        || {
                            bad(format!(
                                "the incident at ({}, {}) is outside every ring-1 area",
                                incident.location.lat(),
                                incident.location.lon()
                            ))
                        },
                    )?;
                let from = self.snap(incident.location, "the incident")?;
                let sighting = match sighting {
                    Some((at, time_ms)) => Some(Sighting {
                        at: self.snap(at, "the sighting")?,
                        time_ms: u64::try_from(time_ms).unwrap_or(0),
                    }),
                    None => None,
                };
                Ok(PlanRequest::Suspect {
                    ring1,
                    suspect: Suspect {
                        from,
                        escape_ms: u64::try_from(*escape_ms).unwrap_or(0),
                        speed_factor: *speed_factor,
                        sighting,
                    },
                    now_ms,
                })
            }
        }
    }

    /// The plan of `request` over the responders `running` (a running
    /// containment) holds, fixed, and with `free` also over the free
    /// units and teams, who may be ordered out.
    pub fn plan_with(
        &self,
        query: &mut RouteQuery,
        request: &PlanRequest,
        running: Option<&Containment>,
        free: bool,
    ) -> Plan {
        let mut responders = if free {
            self.containment_responders(i64::try_from(request.now_ms()).unwrap_or(i64::MAX))
        } else {
            Responders::default()
        };
        if let Some(c) = running {
            responders.fixed = self.containment_holders(c);
        }
        let world = self.world();
        let prepared = world.prepared_rings();
        plan(
            prepared.crossings(),
            world.scenario().rings(),
            request,
            &responders,
            &PlanConfig::default(),
            &mut FastTimes {
                query,
                targets: prepared.targets(),
            },
        )
    }

    /// A plan's new orders (every crossing it holds that `running` does
    /// not hold already) and its outlook on every crossing in play.
    pub fn plan_orders(
        &self,
        plan: &Plan,
        running: Option<&Containment>,
    ) -> (Vec<CrossingOrder>, Vec<CrossingOutlook>) {
        let world = self.world();
        let sites = world.ring_crossings().sites();
        let scenario = world.scenario();
        let held_already = |at: LatLon| {
            running.is_some_and(|c| {
                c.order_at(at)
                    .is_some_and(|h| self.is_current(c.incident, h))
            })
        };
        let mut orders = Vec::new();
        let mut outlook = Vec::new();
        for c in plan.sites() {
            let at = sites[c.site].at;
            outlook.push(CrossingOutlook {
                crossing: at,
                suspect_ms: c.suspect_ms.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
                verdict: c.verdict,
            });
            let Some((holder, arrival)) = c.holder else {
                continue;
            };
            if held_already(at) {
                continue;
            }
            let responder = match holder {
                Holder::Unit(slot) => CrossingResponder::Unit(self.unit_id(slot).to_string()),
                Holder::StationTeam(i) => match scenario.stations().iter().nth(i) {
                    Some(s) => CrossingResponder::StationTeam(s.id.to_string()),
                    None => continue,
                },
                Holder::StaffedPost(k) => match scenario.rings().checkpoints().get(k) {
                    Some(p) => CrossingResponder::StaffedPost(p.id.to_string()),
                    None => continue,
                },
            };
            orders.push(CrossingOrder {
                crossing: at,
                responder,
                eta_ms: i64::try_from(arrival).unwrap_or(i64::MAX),
            });
        }
        (orders, outlook)
    }

    /// The `StartContainment` command for incident `id` at `now_ms`, with
    /// the plan it carries out: the plan made now over the free units and
    /// teams (the reserve kept), its orders and its outlook. What the RPC
    /// submits and the drill applies.
    pub fn start_containment_command(
        &self,
        query: &mut RouteQuery,
        id: IncidentId,
        mode: &ContainmentMode,
        now_ms: i64,
        note: String,
    ) -> Result<(Command, Plan), CommandError> {
        let request = self.containment_request(id, mode, None, now_ms)?;
        let plan = self.plan_with(query, &request, None, true);
        let (orders, outlook) = self.plan_orders(&plan, None);
        let command = Command::StartContainment {
            incident: id,
            mode: mode.clone(),
            orders,
            outlook,
            note,
        };
        Ok((command, plan))
    }

    /// The `ReportSighting` command for the running containment of
    /// incident `id`: the suspect seen at `at` at `time_ms`, reported at
    /// `now_ms` by `source`. The plan counts from the latest sighting by
    /// time, which need not be this one (a camera's hit may come late),
    /// over the responders already ordered and the free ones.
    pub fn sighting_command(
        &self,
        query: &mut RouteQuery,
        id: IncidentId,
        (at, time_ms): (LatLon, i64),
        now_ms: i64,
        source: String,
    ) -> Result<(Command, Plan), CommandError> {
        let running = self
            .containment(id)
            .filter(|c| c.is_running())
            .ok_or(CommandError::NoContainment(id))?;
        let latest = match running.latest_sighting() {
            Some(s) if s.time_ms > time_ms => (s.at, s.time_ms),
            _ => (at, time_ms),
        };
        let request = self.containment_request(id, &running.mode, Some(latest), now_ms)?;
        let plan = self.plan_with(query, &request, Some(running), true);
        let (orders, outlook) = self.plan_orders(&plan, Some(running));
        let command = Command::ReportSighting {
            incident: id,
            location: at,
            time_ms,
            source,
            orders,
            outlook,
        };
        Ok((command, plan))
    }
}
