//! Where simulated calls come from: points inside the patrol zones, more
//! often in the zones with more incidents (the commercial centres), as
//! the server's own zone list describes them.

use anyhow::{Result, bail};
use geo::{Contains, Coord, LineString, Point, Polygon};
use kuaifan_engine::service::proto;
use rand::{Rng, RngExt};

/// Zones to draw incident locations from.
#[derive(Debug)]
pub struct Places {
    zones: Vec<(Polygon<f64>, f64)>,
    total_weight: f64,
}

impl Places {
    /// From the server's zones; each zone's weight is its incident rate
    /// (or its area, when no rate is given).
    pub fn new(zones: &[proto::Zone]) -> Result<Places> {
        let zones: Vec<(Polygon<f64>, f64)> = zones
            .iter()
            .filter(|z| z.outline.len() >= 4)
            .map(|z| {
                let ring: LineString<f64> = z
                    .outline
                    .iter()
                    .map(|p| Coord { x: p.lng, y: p.lat })
                    .collect();
                let weight = if z.incident_rate_per_day > 0.0 {
                    z.incident_rate_per_day
                } else {
                    z.area_km2
                };
                (Polygon::new(ring, Vec::new()), weight.max(0.0))
            })
            .collect();
        let total_weight = zones.iter().map(|(_, w)| w).sum();
        if zones.is_empty() || total_weight <= 0.0 {
            bail!("the server lists no zone to place incidents in");
        }
        Ok(Places {
            zones,
            total_weight,
        })
    }

    /// A random point inside a zone drawn by weight.
    pub fn sample(&self, rng: &mut impl Rng) -> proto::LatLng {
        let mut pick = rng.random_range(0.0..self.total_weight);
        let mut chosen = &self.zones[0].0;
        for (polygon, weight) in &self.zones {
            chosen = polygon;
            if pick < *weight {
                break;
            }
            pick -= weight;
        }
        let bounds = bounding(chosen);
        // Rejection sampling; zones are compact, so this ends quickly, and
        // the bound keeps a sliver-shaped zone from stalling the driver.
        for _ in 0..1000 {
            let x = rng.random_range(bounds.0.x..=bounds.1.x);
            let y = rng.random_range(bounds.0.y..=bounds.1.y);
            if chosen.contains(&Point::new(x, y)) {
                return proto::LatLng { lat: y, lng: x };
            }
        }
        let first = chosen.exterior().0[0];
        proto::LatLng {
            lat: first.y,
            lng: first.x,
        }
    }
}

fn bounding(polygon: &Polygon<f64>) -> (Coord<f64>, Coord<f64>) {
    let mut lo = Coord {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut hi = Coord {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    for c in polygon.exterior().coords() {
        lo.x = lo.x.min(c.x);
        lo.y = lo.y.min(c.y);
        hi.x = hi.x.max(c.x);
        hi.y = hi.y.max(c.y);
    }
    (lo, hi)
}
