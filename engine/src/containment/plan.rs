//! The containment plan: a pure function of the request and the
//! responders' positions. The suspect's earliest arrival at every crossing
//! of the rings in play, each responder's arrival, the doctrinal
//! assignment ([`assign_responders`]) and what it means, ring by ring.
//!
//! Times are milliseconds on one clock (the journal's: since the Unix
//! epoch). Road times come from a [`SiteTimes`]: the contraction hierarchy
//! against the crossings' cached target spaces ([`FastTimes`]) or plain
//! Dijkstra ([`ReferenceTimes`]), which the tests and the benchmark compare.

use geo::{Contains, Point};

use crate::containment::assign::{
    CrossingNeed, ResponderKind, ResponderSlot, UNREACHABLE_MS, assign_responders,
    assign_responders_within,
};
use crate::containment::crossings::{ContainmentRing, RingCrossings};
use crate::geo::LatLon;
use crate::road::snap::Snapped;
use crate::route::{Cost, Dijkstra, RouteQuery, SourceSpace, TargetSet};
use crate::scenario::{CheckpointKind, Ring, RingLevel, RingShape, Rings};

/// The rules of a plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanConfig {
    /// A crossing is closed in time when its responder is there at least
    /// this long before the suspect could be (60 s).
    pub safety_margin_ms: u64,
    /// A staffed post (toll station, border post) starts checking this long
    /// after the order (120 s).
    pub activation_ms: u64,
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            safety_margin_ms: 60_000,
            activation_ms: 120_000,
        }
    }
}

/// Where the suspect was seen, and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sighting {
    /// On the road network.
    pub at: Snapped,
    /// When (ms).
    pub time_ms: u64,
}

/// A fleeing suspect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suspect {
    /// Where they left from (the incident).
    pub from: Snapped,
    /// When they left (ms).
    pub escape_ms: u64,
    /// Their speed as a multiple of the car profile's, in (0, 3].
    pub speed_factor: f64,
    /// The latest sighting, if any.
    pub sighting: Option<Sighting>,
}

impl Suspect {
    /// Their earliest arrival (ms) at a place `escape_road_ms` by road from
    /// where they left and `sighting_road_ms` from the sighting: counted
    /// from the sighting, but never earlier than the escape allowed (a
    /// sighting the speeds cannot explain does not make them faster
    /// elsewhere). `None` where there is no road.
    pub fn earliest_ms(&self, escape_road_ms: u64, sighting_road_ms: Option<u64>) -> Option<u64> {
        let drive = |road_ms: u64| (road_ms as f64 / self.speed_factor).round() as u64;
        if escape_road_ms == UNREACHABLE_MS {
            return None;
        }
        let from_escape = self.escape_ms.saturating_add(drive(escape_road_ms));
        match (self.sighting, sighting_road_ms) {
            (Some(seen), Some(road)) if road != UNREACHABLE_MS => {
                Some(from_escape.max(seen.time_ms.saturating_add(drive(road))))
            }
            (Some(_), _) => None,
            (None, _) => Some(from_escape),
        }
    }
}

/// What to plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlanRequest {
    /// Close rings 1, 2 and 3 around a fleeing suspect.
    Suspect {
        /// Ring 1 for this incident ([`ring1_for`]).
        ring1: ContainmentRing,
        /// Who flees.
        suspect: Suspect,
        /// Now (ms).
        now_ms: u64,
    },
    /// Lockdown (一键封控): hold every crossing of one ring as fast as
    /// possible; no suspect.
    Lockdown {
        /// The ring.
        ring: ContainmentRing,
        /// Now (ms).
        now_ms: u64,
    },
}

impl PlanRequest {
    /// The clock the plan is made at (ms).
    pub fn now_ms(&self) -> u64 {
        match *self {
            PlanRequest::Suspect { now_ms, .. } | PlanRequest::Lockdown { now_ms, .. } => now_ms,
        }
    }
}

/// Where a responder starts from.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A place: its times need one search.
    Place(Snapped),
    /// A cached source space (a waiting unit, a station): its times need
    /// only a merge.
    Cached(&'a SourceSpace),
}

impl Origin<'_> {
    /// The place.
    pub fn location(&self) -> &Snapped {
        match self {
            Origin::Place(at) => at,
            Origin::Cached(space) => space.location(),
        }
    }
}

/// A unit that may be sent.
#[derive(Clone, Copy, Debug)]
pub struct UnitResponder<'a> {
    /// Its index in the scenario's units.
    pub unit: usize,
    /// Where it is.
    pub from: Origin<'a>,
    /// The crossing (site) it holds now, in a re-plan.
    pub holds: Option<usize>,
}

/// A station whose teams may be ordered out.
#[derive(Clone, Copy, Debug)]
pub struct StationResponder<'a> {
    /// Its index in the scenario's stations.
    pub station: usize,
    /// Where it is.
    pub from: Origin<'a>,
    /// Teams it can still send.
    pub teams: u32,
    /// From the order until a team drives off (ms).
    pub turnout_ms: u64,
}

/// A responder already ordered to a crossing that stays there: a station
/// team on its way (no live position to re-route it from) or an
/// activated post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHolder {
    /// The site it holds.
    pub site: usize,
    /// Who.
    pub holder: Holder,
    /// When it is there (ms).
    pub arrival_ms: u64,
}

/// Everyone who may hold a crossing.
#[derive(Clone, Debug, Default)]
pub struct Responders<'a> {
    /// Units: dispatchable ones, and those already holding a crossing of
    /// this containment.
    pub units: Vec<UnitResponder<'a>>,
    /// Stations with teams to order.
    pub stations: Vec<StationResponder<'a>>,
    /// Teams and posts already ordered.
    pub fixed: Vec<FixedHolder>,
    /// At most this many of `units` may be ordered out, so that the city
    /// keeps its reserve for 110 calls (`[containment] reserve`); `None`:
    /// any of them.
    pub new_units_allowed: Option<usize>,
}

/// Who holds a crossing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The unit at this index of the scenario's units.
    Unit(usize),
    /// A team of the station at this index of the scenario's stations.
    StationTeam(usize),
    /// The staffed checkpoint at this index of the rings' checkpoints, at
    /// its own crossing.
    StaffedPost(usize),
}

/// A crossing's verdict. (serde: the journal keeps what a plan said.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Its responder is there at least the margin before the suspect
    /// (in a lockdown: it is held).
    ClosedInTime,
    /// Nobody is assigned who gets there in time: the suspect may pass
    /// first.
    TooLate,
    /// The suspect could have been there already.
    AlreadyPassed,
    /// Lockdown: no responder is left for it.
    Unheld,
    /// No road leads there from the suspect: nothing to hold.
    OutOfReach,
}

/// One crossing of the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlannedCrossing {
    /// The site, an index into [`RingCrossings::sites`].
    pub site: usize,
    /// The suspect's earliest arrival (ms); `None` in a lockdown or where
    /// no road leads.
    pub suspect_ms: Option<u64>,
    /// Who holds it in time, and when they are there (ms).
    pub holder: Option<(Holder, u64)>,
    /// The verdict.
    pub verdict: Verdict,
}

impl PlannedCrossing {
    /// The suspect's earliest arrival less the holder's (ms).
    pub fn margin_ms(&self) -> Option<i64> {
        match (self.suspect_ms, self.holder) {
            (Some(s), Some((_, h))) => Some(s as i64 - h as i64),
            _ => None,
        }
    }
}

/// One ring of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRing {
    /// Which ring.
    pub ring: ContainmentRing,
    /// Its crossings, in the outline's order (most important road first).
    pub crossings: Vec<PlannedCrossing>,
    /// Whether every crossing is closed in time.
    pub closed: bool,
}

/// A containment plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Rings 1, 2 and 3 (or the one ring of a lockdown), innermost first;
    /// a ring the scenario lacks is left out.
    pub rings: Vec<PlannedRing>,
    /// The innermost ring closed completely, if any.
    pub innermost_closed: Option<ContainmentRing>,
    /// The latest arrival among the held crossings (ms), if any is held:
    /// in a lockdown, when the ring is held if it is closed.
    pub latest_arrival_ms: Option<u64>,
    /// When no ring can be closed: the sites of the outermost ring not
    /// closed in time, for the neighbours to take over.
    pub for_neighbours: Vec<usize>,
    /// What keeping the reserve of units cost the plan, when it cost
    /// anything.
    pub reserve_cost: Option<ReserveCost>,
}

/// What a plan would be without the reserve of units
/// ([`Responders::new_units_allowed`]): set when that plan is better by
/// the doctrine (a ring more closed, a crossing more held, or the last
/// responder there sooner), so that a dispatcher can decide to send more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReserveCost {
    /// Units the plan was allowed to order out.
    pub units_allowed: usize,
    /// Units the plan without the reserve orders out.
    pub units_without: usize,
    /// The innermost ring closed completely without the reserve.
    pub innermost_closed_without: Option<ContainmentRing>,
    /// Crossings held in time without it.
    pub held_without: usize,
    /// The latest arrival among them (ms).
    pub latest_arrival_without_ms: Option<u64>,
}

impl Plan {
    /// Each distinct site of the plan once, with its planned crossing.
    pub fn sites(&self) -> impl Iterator<Item = &PlannedCrossing> {
        let mut seen = std::collections::HashSet::new();
        self.rings
            .iter()
            .flat_map(|r| &r.crossings)
            .filter(move |c| seen.insert(c.site))
    }
}

/// Road times from one place to sites.
pub trait SiteTimes {
    /// The road time (ms) from `from` to each of `sites` (indices into
    /// [`RingCrossings::sites`]), [`UNREACHABLE_MS`] where there is no
    /// road.
    fn row(&mut self, from: &Origin<'_>, sites: &[usize]) -> Vec<u64>;
}

/// Road times through the contraction hierarchy against the sites' cached
/// target spaces: a cached origin costs one merge, a place one upward
/// search and a merge.
#[derive(Debug)]
pub struct FastTimes<'q, 'r> {
    /// The query object.
    pub query: &'q mut RouteQuery<'r>,
    /// The sites' target spaces, slot = site
    /// ([`RingCrossings::target_set`]).
    pub targets: &'q TargetSet,
}

impl SiteTimes for FastTimes<'_, '_> {
    fn row(&mut self, from: &Origin<'_>, sites: &[usize]) -> Vec<u64> {
        let costs = match from {
            Origin::Place(at) => self.query.one_to_targets(at, self.targets),
            Origin::Cached(space) => self.query.space_to_targets(space, self.targets),
        };
        sites
            .iter()
            .map(|&s| costs.get(s).map_or(UNREACHABLE_MS, |&c| ms(c)))
            .collect()
    }
}

/// Road times by plain Dijkstra: the reference.
#[derive(Debug)]
pub struct ReferenceTimes<'g> {
    /// The search.
    pub dijkstra: Dijkstra<'g>,
    /// Every site's location, in site order.
    pub sites: Vec<Snapped>,
}

impl SiteTimes for ReferenceTimes<'_> {
    fn row(&mut self, from: &Origin<'_>, sites: &[usize]) -> Vec<u64> {
        let targets: Vec<Snapped> = sites.iter().map(|&s| self.sites[s]).collect();
        self.dijkstra
            .one_to_many(from.location(), &targets)
            .into_iter()
            .map(ms)
            .collect()
    }
}

fn ms(c: Cost) -> u64 {
    if c.is_reachable() {
        u64::from(c.time_ms())
    } else {
        UNREACHABLE_MS
    }
}

/// Ring 1 for an incident at `at`: the urban core if it holds `at`, else
/// the county-level area that does; `None` outside every one.
pub fn ring1_for(rings: &Rings, at: LatLon) -> Option<ContainmentRing> {
    let point = Point::new(at.lon(), at.lat());
    let holds = |ring: &Ring| match &ring.shape {
        RingShape::Area(area) => area.contains(&point),
        RingShape::Line(_) => false,
    };
    if rings.ring(RingLevel::UrbanCore).is_some_and(holds) {
        return Some(ContainmentRing::Core);
    }
    rings
        .areas()
        .iter()
        .position(holds)
        .map(ContainmentRing::Area)
}

/// Whether a checkpoint is staffed: it checks after an activation delay,
/// with nobody driving there.
pub fn is_staffed(kind: CheckpointKind) -> bool {
    matches!(
        kind,
        CheckpointKind::TollStation | CheckpointKind::BorderPost
    )
}

/// Plans a containment: which responder holds which crossing, and the
/// verdicts.
pub fn plan(
    crossings: &RingCrossings,
    rings: &Rings,
    request: &PlanRequest,
    responders: &Responders<'_>,
    config: &PlanConfig,
    times: &mut dyn SiteTimes,
) -> Plan {
    let order: Vec<ContainmentRing> = match *request {
        PlanRequest::Suspect { ring1, .. } => {
            vec![ring1, ContainmentRing::City, ContainmentRing::Border]
        }
        PlanRequest::Lockdown { ring, .. } => vec![ring],
    };
    let now_ms = request.now_ms();
    let outlines: Vec<_> = order.iter().filter_map(|&r| crossings.outline(r)).collect();
    // The sites in play, each once, with the rings they close: `index[s]`
    // is site `s`'s place among them.
    let mut sites: Vec<usize> = Vec::new();
    let mut mask: Vec<u8> = Vec::new();
    let mut index = vec![usize::MAX; crossings.sites().len()];
    let mut ring_bits = 0u8;
    for (i, outline) in outlines.iter().enumerate() {
        let bit = 1u8 << i;
        ring_bits |= bit;
        for &s in &outline.sites {
            if index[s] == usize::MAX {
                index[s] = sites.len();
                sites.push(s);
                mask.push(0);
            }
            mask[index[s]] |= bit;
        }
    }

    // The suspect's earliest arrival at each.
    let suspect: Vec<Option<u64>> = match request {
        PlanRequest::Suspect { suspect: who, .. } => {
            let escape = times.row(&Origin::Place(who.from), &sites);
            let seen = who
                .sighting
                .map(|s| times.row(&Origin::Place(s.at), &sites));
            (0..sites.len())
                .map(|j| who.earliest_ms(escape[j], seen.as_ref().map(|r| r[j])))
                .collect()
        }
        PlanRequest::Lockdown { .. } => vec![None; sites.len()],
    };
    let lockdown = matches!(request, PlanRequest::Lockdown { .. });
    let needs: Vec<CrossingNeed> = (0..sites.len())
        .map(|j| match (lockdown, suspect[j]) {
            (true, _) => CrossingNeed {
                rings: mask[j],
                deadline_ms: None,
            },
            // A crossing the suspect cannot drive to needs nobody.
            (false, None) => CrossingNeed {
                rings: 0,
                deadline_ms: Some(0),
            },
            (false, Some(t)) => CrossingNeed {
                rings: mask[j],
                deadline_ms: Some(t.saturating_sub(config.safety_margin_ms)),
            },
        })
        .collect();

    // The responders: one slot per unit, station, fixed holder and post.
    let mut slots: Vec<ResponderSlot> = Vec::new();
    let mut holders: Vec<Holder> = Vec::new();
    let arrivals = |row: Vec<u64>, ready_ms: u64| -> Vec<u64> {
        row.into_iter()
            .map(|t| {
                if t == UNREACHABLE_MS {
                    UNREACHABLE_MS
                } else {
                    ready_ms.saturating_add(t)
                }
            })
            .collect()
    };
    for u in &responders.units {
        slots.push(ResponderSlot {
            kind: ResponderKind::Unit,
            capacity: 1,
            arrival_ms: arrivals(times.row(&u.from, &sites), now_ms),
            holds: u
                .holds
                .and_then(|s| index.get(s).copied())
                .filter(|&j| j != usize::MAX),
        });
        holders.push(Holder::Unit(u.unit));
    }
    for st in responders.stations.iter().filter(|st| st.teams > 0) {
        slots.push(ResponderSlot {
            kind: ResponderKind::StationTeam,
            capacity: st.teams,
            arrival_ms: arrivals(times.row(&st.from, &sites), now_ms + st.turnout_ms),
            holds: None,
        });
        holders.push(Holder::StationTeam(st.station));
    }
    let one_site = |j: usize, arrival: u64| {
        let mut arrival_ms = vec![UNREACHABLE_MS; sites.len()];
        arrival_ms[j] = arrival;
        arrival_ms
    };
    let mut fixed_post = vec![false; sites.len()];
    for f in &responders.fixed {
        let Some(&j) = index.get(f.site).filter(|&&j| j != usize::MAX) else {
            continue;
        };
        let kind = match f.holder {
            Holder::Unit(_) => ResponderKind::Unit,
            Holder::StationTeam(_) => ResponderKind::StationTeam,
            Holder::StaffedPost(_) => {
                fixed_post[j] = true;
                ResponderKind::StaffedPost
            }
        };
        slots.push(ResponderSlot {
            kind,
            capacity: 1,
            arrival_ms: one_site(j, f.arrival_ms),
            holds: Some(j),
        });
        holders.push(f.holder);
    }
    for (j, &s) in sites.iter().enumerate() {
        let Some(k) = crossings.sites()[s].checkpoint else {
            continue;
        };
        if fixed_post[j]
            || !rings
                .checkpoints()
                .get(k)
                .is_some_and(|c| is_staffed(c.kind))
        {
            continue;
        }
        slots.push(ResponderSlot {
            kind: ResponderKind::StaffedPost,
            capacity: 1,
            arrival_ms: one_site(j, now_ms + config.activation_ms),
            holds: None,
        });
        holders.push(Holder::StaffedPost(k));
    }

    let allowed = responders.new_units_allowed.unwrap_or(usize::MAX);
    let assignment = assign_responders_within(&needs, &slots, ring_bits, allowed);
    // Only a budget the plan used up can have cost it anything.
    let reserve_cost = (assignment.new_units >= allowed)
        .then(|| assign_responders(&needs, &slots, ring_bits))
        .filter(|free| {
            (free.closed, free.held, std::cmp::Reverse(free.latest_ms))
                != (
                    assignment.closed,
                    assignment.held,
                    std::cmp::Reverse(assignment.latest_ms),
                )
        })
        .map(|free| ReserveCost {
            units_allowed: allowed,
            units_without: free.new_units,
            innermost_closed_without: (0..outlines.len())
                .find(|&i| free.closed & (1 << i) != 0)
                .map(|i| outlines[i].ring),
            held_without: free.held,
            latest_arrival_without_ms: (free.held > 0).then_some(free.latest_ms),
        });

    let planned = |j: usize| {
        let held = assignment.holder[j].map(|k| (holders[k], slots[k].arrival_ms[j]));
        let verdict = match (held, suspect[j]) {
            (Some(_), _) => Verdict::ClosedInTime,
            (None, _) if lockdown => Verdict::Unheld,
            (None, None) => Verdict::OutOfReach,
            (None, Some(t)) if t <= now_ms => Verdict::AlreadyPassed,
            (None, Some(_)) => Verdict::TooLate,
        };
        PlannedCrossing {
            site: sites[j],
            suspect_ms: suspect[j],
            holder: held,
            verdict,
        }
    };
    let planned_rings: Vec<PlannedRing> = outlines
        .iter()
        .enumerate()
        .map(|(i, outline)| {
            let crossings: Vec<PlannedCrossing> =
                outline.sites.iter().map(|&s| planned(index[s])).collect();
            PlannedRing {
                ring: outline.ring,
                // A ring whose every crossing is out of the suspect's reach
                // is closed too: the assignment counts it so.
                closed: assignment.closed & (1 << i) != 0,
                crossings,
            }
        })
        .collect();
    let innermost_closed = planned_rings.iter().find(|r| r.closed).map(|r| r.ring);
    let for_neighbours = match (innermost_closed, planned_rings.last()) {
        (None, Some(outer)) if !lockdown => outer
            .crossings
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::TooLate | Verdict::AlreadyPassed))
            .map(|c| c.site)
            .collect(),
        _ => Vec::new(),
    };
    Plan {
        rings: planned_rings,
        innermost_closed,
        latest_arrival_ms: (assignment.held > 0).then_some(assignment.latest_ms),
        for_neighbours,
        reserve_cost,
    }
}
