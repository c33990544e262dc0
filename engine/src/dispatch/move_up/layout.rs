//! What move-up advice needs that never changes during a shift: each
//! cell's share of the calls, its area and zone, and each post's row of
//! ETAs to every cell, computed once.

use std::sync::Arc;

use crate::dispatch::coverage::{CoverageMap, CoverageMapError};
use crate::dispatch::move_up::cell_set::CellSet;
use crate::route::{Cost, RouteQuery, SourceSet, TargetSpace};
use crate::scenario::Scenario;

/// One cell as the advice weighs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellDemand {
    /// Its share of the calls (the cells' weights add up to 1).
    pub weight: f64,
    /// Its area, square metres.
    pub area_m2: f64,
    /// Its zone (a position in [`Scenario::zones`]).
    pub zone: usize,
}

/// A post's reach.
#[derive(Clone, Debug)]
pub(crate) struct PostCover {
    /// ETA to every cell.
    pub(crate) row: Arc<[Cost]>,
    /// Cells within the cover target (180 s).
    pub(crate) cover: CellSet,
    /// Cells within the handle target (60 s).
    pub(crate) handle: CellSet,
    /// The zone holding the post, if any.
    pub(crate) zone: Option<usize>,
}

/// The fixed part of move-up advice: the cells with their demand, the
/// targets, and every post's row (a post's ETAs to the cells, as a unit
/// waiting there would have them).
#[derive(Clone, Debug)]
pub struct MoveUpLayout {
    cells: Vec<CellDemand>,
    pub(crate) weights: Vec<f64>,
    pub(crate) areas: Vec<f64>,
    pub(crate) zones: Vec<usize>,
    zone_area_m2: Vec<f64>,
    area_m2: f64,
    pub(crate) cover_ms: u64,
    pub(crate) handle_ms: u64,
    pub(crate) posts: Vec<PostCover>,
    /// The posts' search spaces, for drive times to them; empty for a
    /// layout made from rows alone.
    spaces: Vec<TargetSpace>,
}

impl MoveUpLayout {
    /// The layout of a scenario on the cells of its coverage map: each
    /// cell weighted by its zone's incident rate, shared among the zone's
    /// on-road cells by area (calls happen on roads; a scenario with no
    /// rates weighs on-road cells by area alone), and one row per post of
    /// [`Scenario::posts`], in order. Covered means within the support
    /// target (180 s); the second criterion is the handle target (60 s).
    pub fn new(
        scenario: &Scenario,
        map: &CoverageMap,
        query: &mut RouteQuery,
    ) -> Result<MoveUpLayout, CoverageMapError> {
        let zones = scenario.zones().as_slice();
        let cells = map.cells();
        let mut on_road_area = vec![0.0; zones.len()];
        for c in cells.iter().filter(|c| c.snapped.is_some()) {
            if let Some(a) = on_road_area.get_mut(c.zone) {
                *a += c.area_m2;
            }
        }
        let rated = zones.iter().any(|z| z.incident_rate_per_day > 0.0);
        let demand: Vec<CellDemand> = cells
            .iter()
            .map(|c| {
                let rate = zones
                    .get(c.zone)
                    .map_or(0.0, |z| z.incident_rate_per_day.max(0.0));
                let zone_area = on_road_area.get(c.zone).copied().unwrap_or(0.0);
                let weight = match (c.snapped.is_some(), rated) {
                    (false, _) => 0.0,
                    (true, true) if zone_area > 0.0 => rate * c.area_m2 / zone_area,
                    (true, true) => 0.0,
                    (true, false) => c.area_m2,
                };
                CellDemand {
                    weight,
                    area_m2: c.area_m2,
                    zone: c.zone,
                }
            })
            .collect();
        let points = scenario.post_points();
        let mut rows = Vec::with_capacity(points.len());
        for p in points {
            rows.push(map.row_from(query, p)?);
        }
        let post_zones = scenario
            .posts()
            .iter()
            .map(|p| scenario.zones().zone_at(p.location))
            .map(|z| z.and_then(|z| scenario.zones().index_of(z.id.as_str())))
            .collect();
        let targets = scenario.config().targets;
        let mut layout = Self::from_rows(
            demand,
            rows,
            post_zones,
            targets.support_s,
            targets.handle_s,
        );
        layout.spaces = points.iter().map(|p| query.target_space(p)).collect();
        Ok(layout)
    }

    /// A layout from its parts: the cells, each post's row (an ETA per
    /// cell) and zone, the cover target and the handle target in seconds.
    /// Weights are scaled to add up to 1. Drive times to posts are not
    /// known to such a layout ([`MoveUpLayout::drive_times`] gives none).
    pub fn from_rows(
        cells: Vec<CellDemand>,
        post_rows: Vec<Arc<[Cost]>>,
        post_zones: Vec<Option<usize>>,
        cover_s: u32,
        handle_s: u32,
    ) -> MoveUpLayout {
        let total: f64 = cells.iter().map(|c| c.weight.max(0.0)).sum();
        let weights = cells
            .iter()
            .map(|c| {
                if total > 0.0 {
                    c.weight.max(0.0) / total
                } else {
                    0.0
                }
            })
            .collect();
        let areas: Vec<f64> = cells.iter().map(|c| c.area_m2).collect();
        let zones: Vec<usize> = cells.iter().map(|c| c.zone).collect();
        let zone_count = zones.iter().map(|z| z + 1).max().unwrap_or(0);
        let mut zone_area_m2 = vec![0.0; zone_count];
        for c in &cells {
            zone_area_m2[c.zone] += c.area_m2;
        }
        let area_m2 = areas.iter().sum();
        let cover_ms = u64::from(cover_s) * 1000;
        let handle_ms = u64::from(handle_s) * 1000;
        let n = cells.len();
        let posts = post_rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| PostCover {
                cover: CellSet::within(&row, n, cover_ms),
                handle: CellSet::within(&row, n, handle_ms),
                row,
                zone: post_zones.get(i).copied().flatten(),
            })
            .collect();
        MoveUpLayout {
            cells,
            weights,
            areas,
            zones,
            zone_area_m2,
            area_m2,
            cover_ms,
            handle_ms,
            posts,
            spaces: Vec::new(),
        }
    }

    /// The cells, in the coverage map's order.
    pub fn cells(&self) -> &[CellDemand] {
        &self.cells
    }

    /// Each cell's share of the calls, scaled to add up to 1.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The number of posts.
    pub fn post_count(&self) -> usize {
        self.posts.len()
    }

    /// A post's ETA to every cell; `None` for an unknown post.
    pub fn post_row(&self, post: usize) -> Option<&Arc<[Cost]>> {
        self.posts.get(post).map(|p| &p.row)
    }

    /// The zone holding a post.
    pub fn post_zone(&self, post: usize) -> Option<usize> {
        self.posts.get(post).and_then(|p| p.zone)
    }

    /// The cover target (a cell is covered by a unit within it), seconds.
    pub fn cover_s(&self) -> u32 {
        (self.cover_ms / 1000) as u32
    }

    /// The handle target (the second criterion), seconds.
    pub fn handle_s(&self) -> u32 {
        (self.handle_ms / 1000) as u32
    }

    /// The area of a zone's cells; 0 for an unknown zone.
    pub fn zone_area_m2(&self, zone: usize) -> f64 {
        self.zone_area_m2.get(zone).copied().unwrap_or(0.0)
    }

    /// The area of all the cells.
    pub fn area_m2(&self) -> f64 {
        self.area_m2
    }

    /// The number of zones the cells are in.
    pub fn zone_count(&self) -> usize {
        self.zone_area_m2.len()
    }

    /// The drive time of every unit of `sources` (by slot) to every post:
    /// `result[post][slot]`, [`Cost::UNREACHABLE`] where there is none,
    /// and for every post of a layout made from rows alone. One merge of
    /// each post's cached search space with the units' spaces, no search.
    pub fn drive_times(&self, query: &mut RouteQuery, sources: &SourceSet) -> Vec<Vec<Cost>> {
        let slots = sources.slot_count();
        (0..self.posts.len())
            .map(|p| match self.spaces.get(p) {
                Some(space) => {
                    let costs = query.many_to_space(sources, space);
                    (0..slots)
                        .map(|s| costs.get(s).copied().unwrap_or(Cost::UNREACHABLE))
                        .collect()
                }
                None => vec![Cost::UNREACHABLE; slots],
            })
            .collect()
    }
}
