//! Where each containment ring is closed: its crossings, found once when a
//! scenario is loaded. A crossing is a place where a road a car can drive
//! out on crosses the ring's outline (the same crossing finder and merging
//! as zone exits), or, for a ring closed at its checkpoints only, one of
//! its fixed checkpoints.
//!
//! A crossing of a ring closed at its roads counts only if it is a way
//! out ([`way_out`](super::way_out)): a village lane that crosses the
//! outline and comes back needs nobody.
//!
//! Rings share ground: ring 3 (the provincial border) is part of ring 2's
//! outline, and the outer edges of the county-level areas of ring 1 are
//! ring 2's too. One responder at such a place holds it for every ring, so
//! the crossings of all rings are kept once each, as [`CrossingSite`]s, and
//! each ring lists the sites it needs.

use geo::{Closest, ClosestPoint, Contains, Coord, MultiLineString, MultiPolygon, Point, Polygon};

use super::way_out::Outside;

use crate::geo::{EARTH_RADIUS_M, LatLon};
use crate::road::class::RoadClass;
use crate::road::crossings::{Boundary, CrossingConfig, CrossingSearch, RoadCrossing};
use crate::road::graph::RoadGraph;
use crate::road::names::MapPlace;
use crate::road::snap::{SnapConfig, Snapped};
use crate::route::{RouteQuery, TargetSet};
use crate::scenario::{Checkpoint, ClosedAt, Ring, RingLevel, RingShape, Rings};

/// Options for finding the rings' crossings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckpointsConfig {
    /// Crossings this close (metres) are one place, as for zone exits.
    pub merge_m: f64,
    /// The least important road that counts on ring 1 (the core and the
    /// county-level areas): tertiary, as for zone exits. Rings 2 and 3
    /// count every road.
    pub ring1_min_class: RoadClass,
    /// A crossing takes over the nearest fixed checkpoint of its ring
    /// within this many metres (300).
    pub checkpoint_within_m: f64,
    /// A crossing is a way out when the roads beyond it reach this many
    /// metres from the outline without crossing back (2,000); nearer, they
    /// only come back in or end.
    pub way_out_m: f64,
    /// An unnamed road's crossing is described by the nearest named place
    /// within this many metres (5,000).
    pub place_within_m: f64,
}

impl Default for CheckpointsConfig {
    fn default() -> Self {
        Self {
            merge_m: 60.0,
            ring1_min_class: RoadClass::Tertiary,
            checkpoint_within_m: 300.0,
            way_out_m: 2_000.0,
            place_within_m: 5_000.0,
        }
    }
}

/// Which ring an outline closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainmentRing {
    /// Ring 1 for an incident inside the urban core: the core's outline.
    Core,
    /// Ring 1 for an incident outside the core: the county-level area at
    /// this index of [`Rings::areas`].
    Area(usize),
    /// Ring 2, the city boundary.
    City,
    /// Ring 3, the provincial border.
    Border,
}

impl ContainmentRing {
    /// The ring's number, 1 to 3.
    pub fn level(self) -> RingLevel {
        match self {
            ContainmentRing::Core | ContainmentRing::Area(_) => RingLevel::UrbanCore,
            ContainmentRing::City => RingLevel::CityBoundary,
            ContainmentRing::Border => RingLevel::ProvincialBorder,
        }
    }
}

/// A place that closes one or more rings when a responder holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossingSite {
    /// On the outline.
    pub at: LatLon,
    /// The most important road crossing here.
    pub class: RoadClass,
    /// On its road, for ETA queries.
    pub location: Snapped,
    /// Each road crossing merged into this site, on its road (`location`
    /// among them): a responder here holds them all, and a car on any of
    /// them passes here.
    pub roads_at: Vec<Snapped>,
    /// The fixed checkpoint it takes over, an index into
    /// [`Rings::checkpoints`].
    pub checkpoint: Option<usize>,
    /// The road's name (`二广高速`, `书院街`) from the map, else its
    /// checkpoint's road; empty for an unnamed road.
    pub road: String,
    /// The road's reference (`G55`) from the map; empty if it has none.
    pub road_ref: String,
    /// The nearest named place of the map (a village, a town), for a
    /// dispatcher to find an unnamed lane by; empty if none is near.
    pub near: String,
}

impl CrossingSite {
    /// What to call the crossing: its checkpoint's name, else the road's
    /// name and reference, else the nearest place.
    pub fn label(&self, rings: &Rings) -> String {
        if let Some(k) = self.checkpoint
            && let Some(c) = rings.checkpoints().get(k)
            && !c.name.is_empty()
        {
            return c.name.clone();
        }
        match (self.road.is_empty(), self.road_ref.is_empty()) {
            (false, false) if self.road != self.road_ref => {
                format!("{} ({})", self.road, self.road_ref)
            }
            (false, _) => self.road.clone(),
            (true, false) => self.road_ref.clone(),
            (true, true) if !self.near.is_empty() => format!("road near {}", self.near),
            (true, true) => "unnamed road".to_owned(),
        }
    }
}

/// A ring's outline and the sites that close it.
#[derive(Clone, Debug, PartialEq)]
pub struct RingOutline {
    /// Which ring.
    pub ring: ContainmentRing,
    /// Its id in `rings.geojson`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its sites, indices into [`RingCrossings::sites`], most important
    /// road first.
    pub sites: Vec<usize>,
    /// Checkpoints of a ring closed at its checkpoints that are farther
    /// than the takeover distance from any road, so cannot be held by car
    /// (ids); empty for a ring closed at its roads.
    pub off_road_checkpoints: Vec<String>,
    /// Outbound crossings of its roads that are not ways out (a lane that
    /// comes back in, a dead end just outside), so need nobody.
    pub not_ways_out: usize,
}

/// Every ring's crossings, found once from the rings and the road graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RingCrossings {
    sites: Vec<CrossingSite>,
    outlines: Vec<RingOutline>,
}

impl RingCrossings {
    /// Finds the crossings of every ring the file has: the core, each
    /// county-level area, the city boundary and the provincial border.
    pub fn find(rings: &Rings, graph: &RoadGraph, config: &CheckpointsConfig) -> RingCrossings {
        let mut out = RingCrossings::default();
        let mut wanted: Vec<(ContainmentRing, &Ring)> = Vec::new();
        if let Some(core) = rings.ring(RingLevel::UrbanCore) {
            wanted.push((ContainmentRing::Core, core));
        }
        wanted.extend(
            rings
                .areas()
                .iter()
                .enumerate()
                .map(|(i, a)| (ContainmentRing::Area(i), a)),
        );
        if let Some(city) = rings.ring(RingLevel::CityBoundary) {
            wanted.push((ContainmentRing::City, city));
        }
        if let Some(border) = rings.ring(RingLevel::ProvincialBorder) {
            wanted.push((ContainmentRing::Border, border));
        }
        // Ring 2 first, so that the places shared with ring 3 and the
        // counties take ring 2's merging (every class).
        wanted.sort_by_key(|(r, _)| match r {
            ContainmentRing::City => 0,
            ContainmentRing::Border => 1,
            _ => 2,
        });
        let mut found: Vec<Found> = Vec::new();
        for (which, ring) in wanted {
            let (sites, off_road, not_ways_out) = match ring.closed_at {
                ClosedAt::Roads => {
                    let enclosed = enclosed_by(ring, rings);
                    let crossings =
                        road_crossings(which, ring, enclosed.as_ref(), rings, graph, config);
                    let outside = enclosed
                        .as_ref()
                        .map(|area| Outside::new(area, graph, config.way_out_m));
                    let mut not_ways_out = 0;
                    let mut sites = Vec::new();
                    for c in crossings.into_iter().filter(|c| c.outbound) {
                        if outside.as_ref().is_some_and(|o| !o.leads_out(&c)) {
                            not_ways_out += 1;
                            continue;
                        }
                        sites.push(out.site(c.at, c.class, c.location, &c.members, config.merge_m));
                    }
                    (sites, Vec::new(), not_ways_out)
                }
                ClosedAt::Checkpoints => {
                    let (sites, off_road) = out.checkpoint_sites(which, ring, rings, graph, config);
                    (sites, off_road, 0)
                }
            };
            found.push(Found {
                which,
                ring,
                sites,
                off_road,
                not_ways_out,
            });
        }
        out.take_over_checkpoints(rings, &found, config);
        out.name_sites(rings, graph, config);
        found.sort_by_key(|f| f.which);
        for Found {
            which,
            ring,
            mut sites,
            off_road,
            not_ways_out,
        } in found
        {
            sites.sort_unstable();
            sites.dedup();
            // Most important road first, then in the order found.
            sites.sort_by_key(|&s| std::cmp::Reverse(out.sites[s].class));
            out.outlines.push(RingOutline {
                ring: which,
                id: ring.id.as_str().to_owned(),
                name: ring.name.clone(),
                sites,
                off_road_checkpoints: off_road,
                not_ways_out,
            });
        }
        out
    }

    /// Names each site by its road (from the map, else its checkpoint) and
    /// the nearest named place.
    fn name_sites(&mut self, rings: &Rings, graph: &RoadGraph, config: &CheckpointsConfig) {
        let settlements: Vec<&MapPlace> = graph
            .places()
            .iter()
            .filter(|p| matches!(p.kind.as_str(), "city" | "town" | "village" | "hamlet"))
            .collect();
        for site in &mut self.sites {
            if let Some(name) = graph.segment_road(site.location.segment as usize) {
                site.road = name.name.clone();
                site.road_ref = name.reference.clone();
            }
            if site.road.is_empty()
                && site.road_ref.is_empty()
                && let Some(k) = site.checkpoint
            {
                site.road = rings.checkpoints()[k].road.clone();
            }
            site.near = settlements
                .iter()
                .map(|p| (p.at.haversine_m(site.at), p))
                .filter(|(d, _)| *d <= config.place_within_m)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, p)| p.name.clone())
                .unwrap_or_default();
        }
    }

    /// The sites' cached target spaces (slot = site): the sites never
    /// move, so a responder's times to all of them are one search and a
    /// merge.
    pub fn target_set(&self, query: &mut RouteQuery<'_>) -> TargetSet {
        TargetSet::from_spaces(
            self.sites
                .iter()
                .enumerate()
                .map(|(i, s)| (i, query.target_space(&s.location))),
        )
    }

    /// Every site, each once.
    pub fn sites(&self) -> &[CrossingSite] {
        &self.sites
    }

    /// Every ring's outline: the core, the county-level areas in file
    /// order, the city boundary, the provincial border (those the file
    /// has).
    pub fn outlines(&self) -> &[RingOutline] {
        &self.outlines
    }

    /// The outline of a ring, if the file has it.
    pub fn outline(&self, ring: ContainmentRing) -> Option<&RingOutline> {
        self.outlines.iter().find(|o| o.ring == ring)
    }

    /// How many sites of an outline have no fixed checkpoint.
    pub fn without_checkpoint(&self, outline: &RingOutline) -> usize {
        outline
            .sites
            .iter()
            .filter(|&&s| self.sites[s].checkpoint.is_none())
            .count()
    }

    /// The site at `at`, or a new one: a place within `merge_m` of an
    /// existing site is that site (rings sharing an outline find the same
    /// crossings, up to rounding and merging).
    fn site(
        &mut self,
        at: LatLon,
        class: RoadClass,
        location: Snapped,
        roads_at: &[Snapped],
        merge_m: f64,
    ) -> usize {
        if let Some(i) = self
            .sites
            .iter()
            .position(|s| s.at.haversine_m(at) <= merge_m.max(0.0))
        {
            let s = &mut self.sites[i];
            if class > s.class {
                s.class = class;
                s.location = location;
            }
            for r in roads_at {
                if !s.roads_at.iter().any(|k| k.segment == r.segment) {
                    s.roads_at.push(*r);
                }
            }
            return i;
        }
        self.sites.push(CrossingSite {
            at,
            class,
            location,
            roads_at: roads_at.to_vec(),
            checkpoint: None,
            road: String::new(),
            road_ref: String::new(),
            near: String::new(),
        });
        self.sites.len() - 1
    }

    /// The sites of a ring closed at its checkpoints: each checkpoint of
    /// the ring placed on its road (for a county-level area, the ring-1
    /// checkpoints near its outline).
    fn checkpoint_sites(
        &mut self,
        which: ContainmentRing,
        ring: &Ring,
        rings: &Rings,
        graph: &RoadGraph,
        config: &CheckpointsConfig,
    ) -> (Vec<usize>, Vec<String>) {
        let snap = SnapConfig {
            limit_m: config.checkpoint_within_m,
        };
        let mut sites = Vec::new();
        let mut off_road = Vec::new();
        for (k, c) in rings.checkpoints().iter().enumerate() {
            if !on_ring(which, ring, c, config.checkpoint_within_m) {
                continue;
            }
            match graph.snap(c.location, &snap) {
                Ok(location) => {
                    let class = graph.segment_class(location.segment as usize);
                    let s = self.site(c.location, class, location, &[location], config.merge_m);
                    self.sites[s].checkpoint = Some(k);
                    sites.push(s);
                }
                Err(_) => off_road.push(c.id.as_str().to_owned()),
            }
        }
        (sites, off_road)
    }

    /// Each site without a checkpoint takes over the nearest free fixed
    /// checkpoint of one of its rings within the takeover distance,
    /// nearest pairs first, so a checkpoint serves one site.
    fn take_over_checkpoints(
        &mut self,
        rings: &Rings,
        found: &[Found<'_>],
        config: &CheckpointsConfig,
    ) {
        let mut levels: Vec<Vec<RingLevel>> = vec![Vec::new(); self.sites.len()];
        for f in found {
            for &s in &f.sites {
                levels[s].push(f.which.level());
            }
        }
        let mut taken = vec![false; rings.checkpoints().len()];
        for s in &self.sites {
            if let Some(k) = s.checkpoint {
                taken[k] = true;
            }
        }
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (s, site) in self.sites.iter().enumerate() {
            if site.checkpoint.is_some() {
                continue;
            }
            for (k, c) in rings.checkpoints().iter().enumerate() {
                let d = site.at.haversine_m(c.location);
                if !taken[k] && d <= config.checkpoint_within_m && levels[s].contains(&c.ring) {
                    pairs.push((d, s, k));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (_, s, k) in pairs {
            if taken[k] || self.sites[s].checkpoint.is_some() {
                continue;
            }
            taken[k] = true;
            self.sites[s].checkpoint = Some(k);
        }
    }
}

/// One ring's sites while they are found.
struct Found<'r> {
    which: ContainmentRing,
    ring: &'r Ring,
    sites: Vec<usize>,
    off_road: Vec<String>,
    not_ways_out: usize,
}

/// What a ring encloses: an area with its holes filled (泽州县 surrounds
/// 城区, and a suspect who drives into an enclave is still inside the
/// loop, so only the exterior is closed), or ring 2's for the provincial
/// border (part of ring 2's outline); `None` for a border line without
/// ring 2, whose crossings all count.
fn enclosed_by(ring: &Ring, rings: &Rings) -> Option<MultiPolygon<f64>> {
    let area = match &ring.shape {
        RingShape::Area(area) => area,
        RingShape::Line(_) => match rings.ring(RingLevel::CityBoundary).map(|r| &r.shape) {
            Some(RingShape::Area(city)) => city,
            _ => return None,
        },
    };
    Some(MultiPolygon::new(
        area.iter()
            .map(|p| Polygon::new(p.exterior().clone(), Vec::new()))
            .collect(),
    ))
}

/// The crossings of a ring closed at its roads: of what it encloses for
/// an area, of the line for a border.
fn road_crossings(
    which: ContainmentRing,
    ring: &Ring,
    enclosed: Option<&MultiPolygon<f64>>,
    rings: &Rings,
    graph: &RoadGraph,
    config: &CheckpointsConfig,
) -> Vec<RoadCrossing> {
    let min_class = match which {
        ContainmentRing::Core | ContainmentRing::Area(_) => config.ring1_min_class,
        ContainmentRing::City | ContainmentRing::Border => RoadClass::Minor,
    };
    let crossing = CrossingConfig {
        merge_m: config.merge_m,
        min_class,
    };
    let boundary = match &ring.shape {
        RingShape::Area(area) => Boundary::of_area(enclosed.unwrap_or(area), graph),
        RingShape::Line(lines) => Boundary::of_lines(lines, inside_is_left(lines, rings), graph),
    };
    boundary.crossings(graph, &crossing, CrossingSearch::Tree)
}

/// Which side of a border line is inside: the side ring 2's area is on,
/// tested a metre off the middle of the line's first edge. Without ring 2,
/// the left.
fn inside_is_left(lines: &MultiLineString<f64>, rings: &Rings) -> bool {
    let (Some(RingShape::Area(city)), Some(line)) = (
        rings.ring(RingLevel::CityBoundary).map(|r| &r.shape),
        lines.iter().next(),
    ) else {
        return true;
    };
    let Some(edge) = line.lines().find(|l| l.start != l.end) else {
        return true;
    };
    let mid = Coord {
        x: (edge.start.x + edge.end.x) / 2.0,
        y: (edge.start.y + edge.end.y) / 2.0,
    };
    let d = edge.end - edge.start;
    let len = (d.x * d.x + d.y * d.y).sqrt();
    let metre_deg = (1.0 / EARTH_RADIUS_M).to_degrees();
    let left = Point::new(mid.x - d.y / len * metre_deg, mid.y + d.x / len * metre_deg);
    city.contains(&left)
}

/// Whether a checkpoint closes the ring: a checkpoint of that ring, and
/// for a county-level area one within `within_m` of its exterior (an
/// enclave inside it is enclosed, as for its roads).
fn on_ring(which: ContainmentRing, ring: &Ring, c: &Checkpoint, within_m: f64) -> bool {
    if c.ring != which.level() {
        return false;
    }
    let ContainmentRing::Area(_) = which else {
        return true;
    };
    let RingShape::Area(area) = &ring.shape else {
        return false;
    };
    let p = Point::new(c.location.lon(), c.location.lat());
    area.iter()
        .map(|poly| poly.exterior())
        .any(|outline| match outline.closest_point(&p) {
            Closest::Intersection(_) => true,
            Closest::SinglePoint(q) => {
                LatLon::new(q.y(), q.x()).is_ok_and(|q| q.haversine_m(c.location) <= within_m)
            }
            Closest::Indeterminate => false,
        })
}
