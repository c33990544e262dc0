//! Planar geometry in metres on a local tangent plane around Jincheng.
//!
//! The generator lays every road out in metres (x east, y north) and only
//! converts to degrees when it writes a file, so spacings like "an arterial
//! every 400–800 m" read as they are meant.

use std::ops::{Add, Mul, Sub};

/// A point (or vector) on the plane, in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P {
    pub x: f64,
    pub y: f64,
}

impl P {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    pub fn length(self) -> f64 {
        self.x.hypot(self.y)
    }

    pub fn distance(self, other: P) -> f64 {
        (self - other).length()
    }

    /// The unit vector in this direction (zero stays zero).
    pub fn unit(self) -> P {
        let l = self.length();
        if l == 0.0 { self } else { self * (1.0 / l) }
    }

    /// This vector turned 90° clockwise: the right-hand side when driving along it.
    pub fn right(self) -> P {
        P::new(self.y, -self.x)
    }

    pub fn lerp(self, other: P, t: f64) -> P {
        self + (other - self) * t
    }
}

impl Add for P {
    type Output = P;
    fn add(self, o: P) -> P {
        P::new(self.x + o.x, self.y + o.y)
    }
}

impl Sub for P {
    type Output = P;
    fn sub(self, o: P) -> P {
        P::new(self.x - o.x, self.y - o.y)
    }
}

impl Mul<f64> for P {
    type Output = P;
    fn mul(self, k: f64) -> P {
        P::new(self.x * k, self.y * k)
    }
}

/// Degrees ↔ metres around a fixed origin (equirectangular). Over Jincheng's
/// 0.9° of latitude the scale error stays near 1 %, and the same projection
/// is used both ways, so generated geometry round-trips exactly.
#[derive(Clone, Copy, Debug)]
pub struct Projection {
    lat0: f64,
    lon0: f64,
    metres_per_deg_lat: f64,
    metres_per_deg_lon: f64,
}

impl Projection {
    pub fn new(lat0: f64, lon0: f64) -> Self {
        let metres_per_deg_lat = 6_371_008.8 * std::f64::consts::PI / 180.0;
        Self {
            lat0,
            lon0,
            metres_per_deg_lat,
            metres_per_deg_lon: metres_per_deg_lat * lat0.to_radians().cos(),
        }
    }

    pub fn to_plane(self, lat: f64, lon: f64) -> P {
        P::new(
            (lon - self.lon0) * self.metres_per_deg_lon,
            (lat - self.lat0) * self.metres_per_deg_lat,
        )
    }

    /// (lat, lon) in degrees.
    pub fn to_degrees(self, p: P) -> (f64, f64) {
        (
            self.lat0 + p.y / self.metres_per_deg_lat,
            self.lon0 + p.x / self.metres_per_deg_lon,
        )
    }
}

/// Whether `p` lies inside the closed ring `ring` (even–odd rule).
pub fn inside(ring: &[P], p: P) -> bool {
    let mut inside = false;
    let n = ring.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Where segment a→b crosses segment c→d, as the fraction along a→b.
pub fn crossing(a: P, b: P, c: P, d: P) -> Option<f64> {
    let r = b - a;
    let s = d - c;
    let denom = r.x * s.y - r.y * s.x;
    if denom.abs() < 1e-12 {
        return None;
    }
    let q = c - a;
    let t = (q.x * s.y - q.y * s.x) / denom;
    let u = (q.x * r.y - q.y * r.x) / denom;
    ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u)).then_some(t)
}

/// The first crossing of segment a→b with a polyline (closed if `closed`),
/// as the fraction along a→b.
pub fn first_crossing(a: P, b: P, line: &[P], closed: bool) -> Option<f64> {
    let n = line.len();
    let edges = if closed { n } else { n.saturating_sub(1) };
    (0..edges)
        .filter_map(|i| crossing(a, b, line[i], line[(i + 1) % n]))
        .min_by(f64::total_cmp)
}

/// Length of a polyline.
pub fn polyline_length(line: &[P]) -> f64 {
    line.windows(2).map(|w| w[0].distance(w[1])).sum()
}

/// The point at arc length `s` along a polyline, and the direction there.
pub fn along(line: &[P], s: f64) -> (P, P) {
    let mut left = s.max(0.0);
    for w in line.windows(2) {
        let l = w[0].distance(w[1]);
        if left <= l && l > 0.0 {
            return (w[0].lerp(w[1], left / l), (w[1] - w[0]).unit());
        }
        left -= l;
    }
    let n = line.len();
    (line[n - 1], (line[n - 1] - line[n - 2]).unit())
}

/// Resamples a polyline at roughly `step` metres, keeping its ends.
pub fn resample(line: &[P], step: f64) -> Vec<P> {
    let total = polyline_length(line);
    let pieces = (total / step).ceil().max(1.0) as usize;
    (0..=pieces)
        .map(|i| along(line, total * i as f64 / pieces as f64).0)
        .collect()
}
