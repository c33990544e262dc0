//! The units' live positions, for "which units are nearest" and "which are
//! within so many metres" by straight-line (great-circle) distance.

use std::collections::HashMap;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::geo::{EARTH_RADIUS_M, LatLon};

/// A unit's position as a point on the sphere of radius [`EARTH_RADIUS_M`]
/// (metres, Earth-centred), tagged with its slot and its position.
type Entry = GeomWithData<[f64; 3], (usize, LatLon)>;

/// Rounding in the two distance formulas is nanometres; candidates are
/// gathered this much (a millimetre) beyond the limit so that none is lost
/// to it, and then decided by the haversine distance alone.
const SLACK_M: f64 = 1e-3;

/// Live positions of units, each in a slot the caller chooses (the unit's
/// position in its list, typically), in an R-tree.
///
/// Distances are great-circle metres, the same haversine distance as
/// [`LatLon::haversine_m`], everywhere on Earth: the tree holds the units
/// as points on a sphere in 3-D, where the straight chord between two
/// points grows with the great-circle distance between them, so the nearest
/// by chord are the nearest by great circle. Results are exact against the
/// haversine distance, ties going to the lower slot.
///
/// ```
/// use kuaifan_engine::{LatLon, UnitPositions};
/// let mut units = UnitPositions::new();
/// units.update(0, LatLon::new(35.490, 112.850)?);
/// units.update(1, LatLon::new(35.500, 112.850)?);
/// units.update(2, LatLon::new(35.520, 112.850)?);
/// let here = LatLon::new(35.491, 112.850)?;
/// let nearest = units.nearest(here, 2);
/// assert_eq!(nearest.iter().map(|&(slot, _)| slot).collect::<Vec<_>>(), [0, 1]);
/// assert!((nearest[0].1 - 111.2).abs() < 0.1);
/// assert_eq!(units.within(here, 1_500.0), [0, 1]);
/// units.update(2, LatLon::new(35.4905, 112.850)?); // unit 2 moved
/// assert_eq!(units.nearest(here, 1)[0].0, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct UnitPositions {
    tree: RTree<Entry>,
    /// Each slot's position, and the point stored for it in the tree (kept,
    /// so that removal finds the very same entry).
    slots: HashMap<usize, (LatLon, [f64; 3])>,
}

impl UnitPositions {
    /// No units.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a unit at a position, moving it if it was elsewhere; returns its
    /// previous position.
    pub fn update(&mut self, slot: usize, at: LatLon) -> Option<LatLon> {
        let point = on_sphere(at);
        let previous = self.slots.insert(slot, (at, point));
        if let Some((old_at, old_point)) = previous {
            self.tree
                .remove(&GeomWithData::new(old_point, (slot, old_at)));
        }
        self.tree.insert(GeomWithData::new(point, (slot, at)));
        previous.map(|(at, _)| at)
    }

    /// Takes a unit out; returns its last position.
    pub fn remove(&mut self, slot: usize) -> Option<LatLon> {
        let (at, point) = self.slots.remove(&slot)?;
        self.tree.remove(&GeomWithData::new(point, (slot, at)));
        Some(at)
    }

    /// A unit's position.
    pub fn get(&self, slot: usize) -> Option<LatLon> {
        self.slots.get(&slot).map(|&(at, _)| at)
    }

    /// How many units have a position.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no unit has a position.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every unit's slot and position, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, LatLon)> + '_ {
        self.slots.iter().map(|(&slot, &(at, _))| (slot, at))
    }

    /// The `k` units nearest to a location, with their great-circle
    /// distances in metres, nearest first (ties: lower slot first). Fewer
    /// when fewer units have a position.
    pub fn nearest(&self, at: LatLon, k: usize) -> Vec<(usize, f64)> {
        if k == 0 {
            return Vec::new();
        }
        let query = on_sphere(at);
        let mut found: Vec<(usize, f64)> = Vec::with_capacity(k.min(self.len()));
        // Once k are found, the farthest of them bounds the rest: a unit
        // whose chord is beyond that distance's chord (plus the slack) is
        // farther by great circle too.
        let mut bound_chord2 = f64::INFINITY;
        for (entry, chord2) in self.tree.nearest_neighbor_iter_with_distance_2(query) {
            if chord2 > bound_chord2 {
                break;
            }
            let (slot, position) = entry.data;
            found.push((slot, at.haversine_m(position)));
            if found.len() == k {
                let farthest = found.iter().map(|&(_, d)| d).fold(0.0, f64::max);
                bound_chord2 = chord_m(farthest + SLACK_M).powi(2);
            }
        }
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(k);
        found
    }

    /// The units within `radius_m` metres (great circle, inclusive) of a
    /// location, nearest first (ties: lower slot first). None for a
    /// negative or NaN radius.
    pub fn within(&self, at: LatLon, radius_m: f64) -> Vec<usize> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let query = on_sphere(at);
        let reach = chord_m(radius_m + SLACK_M).powi(2);
        let mut found: Vec<(usize, f64)> = self
            .tree
            .locate_within_distance(query, reach)
            .map(|entry| (entry.data.0, at.haversine_m(entry.data.1)))
            .filter(|&(_, d)| d <= radius_m)
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.into_iter().map(|(slot, _)| slot).collect()
    }
}

/// A location as a point on the sphere, in metres from the Earth's centre.
fn on_sphere(at: LatLon) -> [f64; 3] {
    let (lat, lon) = (at.lat().to_radians(), at.lon().to_radians());
    [
        EARTH_RADIUS_M * lat.cos() * lon.cos(),
        EARTH_RADIUS_M * lat.cos() * lon.sin(),
        EARTH_RADIUS_M * lat.sin(),
    ]
}

/// The chord through the sphere spanning a great-circle distance: it grows
/// with the distance up to half the globe, and stays at the diameter beyond.
fn chord_m(great_circle_m: f64) -> f64 {
    let half_angle = (great_circle_m / (2.0 * EARTH_RADIUS_M)).min(std::f64::consts::FRAC_PI_2);
    2.0 * EARTH_RADIUS_M * half_angle.sin()
}
