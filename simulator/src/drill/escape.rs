//! A suspect fleeing by car: the escape model and the timed route it
//! gives. The suspect heads for a crossing of the city boundary (ring 2),
//! drawn with weights: a crossing into Henan (also on ring 3) counts
//! `henan_weight` times, a motorway or trunk four times and a primary or
//! secondary road twice a smaller road, and every weight is divided by
//! the road minutes to it, so a near exit is likelier than a far one. The
//! car drives the fastest route there at the car profile's speeds times
//! the speed factor, or, for `detour_share` of the suspects, the fastest
//! route through a random road point within `detour_m` of the way's
//! midpoint.
//!
//! A crossing counts as passed when the route drives the road segment it
//! lies on, or that of another road merged into it (within the crossing
//! finder's merge distance, 60 m); its time is the leg's start plus the road time to it, which
//! is the time along the route (a part of a fastest route is a fastest
//! route). The same holds for the fixed checkpoints, whose ANPR cameras
//! read the plate.

use std::collections::HashMap;

use kuaifan_engine::{ContainmentRing, LatLon, RoadClass, RouteQuery, Snapped, World, ring1_for};
use rand::{Rng, RngExt};

/// How suspects flee.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct EscapeModel {
    /// How many times likelier a crossing into Henan is than another.
    pub henan_weight: f64,
    /// The share of suspects who take a detour.
    pub detour_share: f64,
    /// How far from the way's midpoint a detour goes, metres.
    pub detour_m: f64,
    /// The car's speed as a multiple of the profile's (1.0; 1.2 speeding).
    pub speed_factor: f64,
}

impl Default for EscapeModel {
    fn default() -> Self {
        Self {
            henan_weight: 3.0,
            detour_share: 0.25,
            detour_m: 5_000.0,
            speed_factor: 1.0,
        }
    }
}

/// The suspect at a crossing of the rings in play.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Pass {
    /// The site, an index into the world's ring crossings.
    pub site: usize,
    /// When (ms).
    pub at_ms: i64,
}

/// The suspect's plate read by a fixed checkpoint's camera.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CameraHit {
    /// The checkpoint, an index into the rings' checkpoints.
    pub checkpoint: usize,
    /// Where.
    pub at: LatLon,
    /// When (ms).
    pub at_ms: i64,
}

/// One suspect's flight, timed.
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// The incident.
    pub from_at: LatLon,
    /// The incident on its road.
    pub from: Snapped,
    /// Ring 1 for the incident.
    pub ring1: ContainmentRing,
    /// When the suspect left (ms).
    pub escape_ms: i64,
    /// Their speed as a multiple of the profile's.
    pub speed_factor: f64,
    /// The crossing of ring 2 they head for (a site).
    pub exit: usize,
    /// The detour's road point, if they take one.
    pub detour: Option<Snapped>,
    /// The crossings of rings 1 to 3 they pass, in time order; the exit is
    /// the last.
    pub passes: Vec<Pass>,
    /// The cameras they pass, in time order.
    pub cameras: Vec<CameraHit>,
}

impl Flight {
    /// The flight of a suspect leaving `from_at` at `escape_ms` for the
    /// crossing `exit`, through `detour` if given. `None` when the
    /// incident is outside every ring-1 area, off the roads, or no road
    /// leads to the exit.
    pub fn plan(
        world: &World,
        query: &mut RouteQuery<'_>,
        from_at: LatLon,
        escape_ms: i64,
        exit: usize,
        detour: Option<Snapped>,
        speed_factor: f64,
    ) -> Option<Flight> {
        let scenario = world.scenario();
        let graph = scenario.router().graph();
        let crossings = world.ring_crossings();
        let ring1 = ring1_for(scenario.rings(), from_at)?;
        let from = graph.snap(from_at, &scenario.incident_snap()).ok()?;
        let exit_at = crossings.sites().get(exit)?.location;
        // The sites in play and the cameras, by the road segment they lie
        // on (its two nodes, in either order).
        let key = |segment: u32| {
            let s = graph.segments()[segment as usize];
            (s.a.min(s.b), s.a.max(s.b))
        };
        // A site merges the roads that cross its outline within the merge
        // distance (both carriageways of a divided road, a lane beside a
        // highway): a car on any of them passes it, where it drives across.
        let mut sites_on: HashMap<(u32, u32), Vec<(usize, Snapped)>> = HashMap::new();
        for ring in [ring1, ContainmentRing::City, ContainmentRing::Border] {
            for &s in crossings.outline(ring).map_or(&[][..], |o| &o.sites[..]) {
                for &at in &crossings.sites()[s].roads_at {
                    let list = sites_on.entry(key(at.segment)).or_default();
                    if !list.iter().any(|&(k, _)| k == s) {
                        list.push((s, at));
                    }
                }
            }
        }
        let snap = scenario.incident_snap();
        let mut cameras_on: HashMap<(u32, u32), Vec<(usize, Snapped)>> = HashMap::new();
        for (k, c) in scenario.rings().checkpoints().iter().enumerate() {
            if let Ok(at) = graph.snap(c.location, &snap) {
                cameras_on.entry(key(at.segment)).or_default().push((k, at));
            }
        }
        let legs: Vec<(Snapped, Snapped)> = match detour {
            Some(via) => vec![(from, via), (via, exit_at)],
            None => vec![(from, exit_at)],
        };
        let drive =
            |cost: kuaifan_engine::Cost| (f64::from(cost.time_ms()) / speed_factor).round() as i64;
        let mut passes: Vec<Pass> = Vec::new();
        let mut cameras: Vec<CameraHit> = Vec::new();
        let mut leg_start_ms = escape_ms;
        for (a, b) in legs {
            let route = query.route(&a, &b)?;
            let mut segments: Vec<(u32, u32)> = route
                .nodes
                .windows(2)
                .map(|w| (w[0].min(w[1]), w[0].max(w[1])))
                .collect();
            segments.push(key(b.segment));
            for seg in segments {
                for &(s, at) in sites_on.get(&seg).map_or(&[][..], |v| &v[..]) {
                    if passes.iter().any(|p| p.site == s) {
                        continue;
                    }
                    let cost = query.one_to_one(&a, &at);
                    if cost.is_reachable() {
                        passes.push(Pass {
                            site: s,
                            at_ms: leg_start_ms + drive(cost),
                        });
                    }
                }
                for &(k, at) in cameras_on.get(&seg).map_or(&[][..], |v| &v[..]) {
                    if cameras.iter().any(|c| c.checkpoint == k) {
                        continue;
                    }
                    let cost = query.one_to_one(&a, &at);
                    if cost.is_reachable() {
                        cameras.push(CameraHit {
                            checkpoint: k,
                            at: scenario.rings().checkpoints()[k].location,
                            at_ms: leg_start_ms + drive(cost),
                        });
                    }
                }
            }
            leg_start_ms += drive(route.cost);
        }
        // The exit last: the flight ends there, whatever it passed on the
        // way at the same time.
        passes.retain(|p| p.site != exit);
        passes.push(Pass {
            site: exit,
            at_ms: leg_start_ms,
        });
        passes.sort_by_key(|p| p.at_ms);
        cameras.sort_by_key(|c| c.at_ms);
        Some(Flight {
            from_at,
            from,
            ring1,
            escape_ms,
            speed_factor,
            exit,
            detour,
            passes,
            cameras,
        })
    }

    /// A flight drawn by `model` from `from_at`.
    pub fn draw(
        world: &World,
        query: &mut RouteQuery<'_>,
        from_at: LatLon,
        escape_ms: i64,
        model: &EscapeModel,
        rng: &mut impl Rng,
    ) -> Option<Flight> {
        let scenario = world.scenario();
        let graph = scenario.router().graph();
        let crossings = world.ring_crossings();
        let from = graph.snap(from_at, &scenario.incident_snap()).ok()?;
        let city = crossings.outline(ContainmentRing::City)?;
        let border = crossings.outline(ContainmentRing::Border);
        let times = query
            .one_to_targets(&from, world.prepared_rings().targets())
            .to_vec();
        let weights: Vec<f64> = city
            .sites
            .iter()
            .map(|&s| {
                let site = &crossings.sites()[s];
                let class = match site.class {
                    RoadClass::Motorway | RoadClass::Trunk => 4.0,
                    RoadClass::Primary | RoadClass::Secondary => 2.0,
                    _ => 1.0,
                };
                let henan = if border.is_some_and(|b| b.sites.contains(&s)) {
                    model.henan_weight
                } else {
                    1.0
                };
                match times.get(s) {
                    Some(c) if c.is_reachable() => class * henan / (c.seconds() / 60.0).max(1.0),
                    _ => 0.0,
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let mut pick = rng.random_range(0.0..total);
        let mut exit = *city.sites.first()?;
        for (&s, &w) in city.sites.iter().zip(&weights) {
            if w > 0.0 {
                exit = s;
            }
            if pick < w {
                break;
            }
            pick -= w;
        }
        let detour = if rng.random_range(0.0..1.0) < model.detour_share {
            let to = crossings.sites()[exit].at;
            let mid_lat = (from_at.lat() + to.lat()) / 2.0;
            let mid_lon = (from_at.lon() + to.lon()) / 2.0;
            let r = model.detour_m;
            let north = rng.random_range(-r..=r) / 111_320.0;
            let east = rng.random_range(-r..=r) / (111_320.0 * mid_lat.to_radians().cos());
            LatLon::new(mid_lat + north, mid_lon + east)
                .ok()
                .and_then(|at| graph.snap(at, &scenario.incident_snap()).ok())
        } else {
            None
        };
        Flight::plan(
            world,
            query,
            from_at,
            escape_ms,
            exit,
            detour,
            model.speed_factor,
        )
        .or_else(|| {
            Flight::plan(
                world,
                query,
                from_at,
                escape_ms,
                exit,
                None,
                model.speed_factor,
            )
        })
    }

    /// When the suspect reaches the exit (ms).
    pub fn end_ms(&self) -> i64 {
        self.passes.last().map_or(self.escape_ms, |p| p.at_ms)
    }
}

/// The ring a crossing counts for in a flight's rings: the outermost it
/// closes (a border post on the city boundary is the border, a county's
/// edge on the city boundary is the city's), 1 to 3.
pub fn ring_of(world: &World, ring1: ContainmentRing, site: usize) -> u8 {
    let crossings = world.ring_crossings();
    let on = |ring: ContainmentRing| {
        crossings
            .outline(ring)
            .is_some_and(|o| o.sites.contains(&site))
    };
    if on(ContainmentRing::Border) {
        3
    } else if on(ContainmentRing::City) {
        2
    } else if on(ring1) {
        1
    } else {
        0
    }
}
