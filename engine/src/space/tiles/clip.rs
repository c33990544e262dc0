//! Outlines cut to a tile and its buffer: an axis-aligned rectangle, so a
//! pass over the vertices does it, with no general polygon overlay.
//!
//! A ring is clipped by Sutherland–Hodgman, one side of the rectangle
//! after another. A concave ring leaving the rectangle more than once
//! comes back joined along the rectangle's edge by a bridge of no width:
//! it fills the same area, and lies on the buffer's outer edge, beyond
//! what a map draws of the tile.

use geo::{Coord, Rect};

/// The ring (closed or not) cut to `rect`, as an open ring; empty when
/// nothing of it is inside.
pub fn clip_ring(ring: &[Coord<f64>], rect: Rect<f64>) -> Vec<Coord<f64>> {
    let open = match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    };
    let (min, max) = (rect.min(), rect.max());
    let mut points = open.to_vec();
    let mut next = Vec::with_capacity(points.len() + 4);
    for side in [
        Side::West(min.x),
        Side::East(max.x),
        Side::South(min.y),
        Side::North(max.y),
    ] {
        next.clear();
        let Some(&last) = points.last() else {
            break;
        };
        let mut previous = last;
        for &p in &points {
            match (side.keeps(previous), side.keeps(p)) {
                (true, true) => next.push(p),
                (true, false) => next.push(side.crossing(previous, p)),
                (false, true) => {
                    next.push(side.crossing(previous, p));
                    next.push(p);
                }
                (false, false) => {}
            }
            previous = p;
        }
        std::mem::swap(&mut points, &mut next);
    }
    points
}

/// The parts of the line inside `rect`, each a line of two or more
/// vertices.
pub fn clip_line(line: impl Iterator<Item = Coord<f64>>, rect: Rect<f64>) -> Vec<Vec<Coord<f64>>> {
    let mut parts: Vec<Vec<Coord<f64>>> = Vec::new();
    let mut current: Vec<Coord<f64>> = Vec::new();
    let mut previous: Option<Coord<f64>> = None;
    for p in line {
        if let Some(from) = previous {
            match clip_segment(from, p, rect) {
                Some((a, b, entered, left)) => {
                    if entered || current.is_empty() {
                        finish(&mut parts, &mut current);
                        current.push(a);
                    }
                    current.push(b);
                    if left {
                        finish(&mut parts, &mut current);
                    }
                }
                None => finish(&mut parts, &mut current),
            }
        }
        previous = Some(p);
    }
    finish(&mut parts, &mut current);
    parts
}

fn finish(parts: &mut Vec<Vec<Coord<f64>>>, current: &mut Vec<Coord<f64>>) {
    if current.len() >= 2 {
        parts.push(std::mem::take(current));
    } else {
        current.clear();
    }
}

/// The part of the segment inside `rect` (Liang–Barsky), and whether it
/// starts by entering the rectangle or ends by leaving it.
fn clip_segment(
    a: Coord<f64>,
    b: Coord<f64>,
    rect: Rect<f64>,
) -> Option<(Coord<f64>, Coord<f64>, bool, bool)> {
    let d = b - a;
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    let (min, max) = (rect.min(), rect.max());
    for (p, q) in [
        (-d.x, a.x - min.x),
        (d.x, max.x - a.x),
        (-d.y, a.y - min.y),
        (d.y, max.y - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            // Held inside against rounding: a crossing is on the edge.
            let c = a + d * t;
            Coord {
                x: c.x.clamp(min.x, max.x),
                y: c.y.clamp(min.y, max.y),
            }
        }
    };
    Some((at(t0), at(t1), t0 > 0.0, t1 < 1.0))
}

/// One side of the rectangle, with the half-plane it keeps.
#[derive(Clone, Copy)]
enum Side {
    West(f64),
    East(f64),
    South(f64),
    North(f64),
}

impl Side {
    fn keeps(self, c: Coord<f64>) -> bool {
        match self {
            Side::West(x) => c.x >= x,
            Side::East(x) => c.x <= x,
            Side::South(y) => c.y >= y,
            Side::North(y) => c.y <= y,
        }
    }

    /// Where the segment from `a` to `b`, one on each side, crosses.
    fn crossing(self, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
        match self {
            Side::West(x) | Side::East(x) => Coord {
                x,
                y: a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x),
            },
            Side::South(y) | Side::North(y) => Coord {
                x: a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y),
                y,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use geo::{Area, BooleanOps, LineString, MultiLineString, Polygon};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const SEED: u64 = 0x636c_6970_7331;

    fn rect() -> Rect<f64> {
        Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 100.0, y: 60.0 })
    }

    /// A star-shaped ring around a random centre, concave and reaching out
    /// of the rectangle or not.
    fn random_ring(rng: &mut ChaCha8Rng) -> Vec<Coord<f64>> {
        let centre = Coord {
            x: rng.random_range(-50.0..150.0),
            y: rng.random_range(-50.0..110.0),
        };
        let n = rng.random_range(3..40);
        let mut ring: Vec<Coord<f64>> = (0..n)
            .map(|i| {
                let angle = std::f64::consts::TAU * f64::from(i) / f64::from(n);
                let r = rng.random_range(5.0..120.0);
                centre
                    + Coord {
                        x: r * angle.cos(),
                        y: r * angle.sin(),
                    }
            })
            .collect();
        ring.push(ring[0]);
        ring
    }

    #[test]
    fn a_clipped_ring_covers_what_geo_intersection_covers() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        for _ in 0..300 {
            let ring = random_ring(&mut rng);
            let polygon = Polygon::new(LineString::new(ring.clone()), vec![]);
            let expected = polygon.intersection(&rect().to_polygon()).unsigned_area();
            let clipped = clip_ring(&ring, rect());
            let ours = Polygon::new(LineString::new(clipped), vec![]).unsigned_area();
            assert!(
                (ours - expected).abs() <= 1e-6 * expected.max(1.0),
                "{ours} against {expected} for {ring:?}"
            );
        }
    }

    #[test]
    fn a_ring_around_the_rectangle_becomes_the_rectangle_and_one_beside_it_nothing() {
        let around = [
            Coord { x: -10.0, y: -10.0 },
            Coord { x: 200.0, y: -10.0 },
            Coord { x: 200.0, y: 200.0 },
            Coord { x: -10.0, y: 200.0 },
        ];
        let clipped = Polygon::new(LineString::new(clip_ring(&around, rect())), vec![]);
        assert!((clipped.unsigned_area() - 6000.0).abs() < 1e-9);
        let beside = around.map(|c| c + Coord { x: 500.0, y: 0.0 });
        assert!(clip_ring(&beside, rect()).is_empty());
    }

    #[test]
    fn a_clipped_line_is_what_geo_clips() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
        for _ in 0..300 {
            let line = random_ring(&mut rng);
            let ours = clip_line(line.iter().copied(), rect());
            let expected = rect().to_polygon().clip(
                &MultiLineString::new(vec![LineString::new(line.clone())]),
                false,
            );
            let length = |lines: &[Vec<Coord<f64>>]| -> f64 {
                lines
                    .iter()
                    .flat_map(|l| l.windows(2))
                    .map(|w| (w[1] - w[0]).x.hypot((w[1] - w[0]).y))
                    .sum()
            };
            let theirs: Vec<Vec<Coord<f64>>> = expected.0.into_iter().map(|l| l.0).collect();
            // geo's overlay works on a fixed grid, about 1e-7 here.
            assert!(
                (length(&ours) - length(&theirs)).abs() < 1e-5,
                "{ours:?} against {theirs:?}"
            );
            for c in ours.iter().flatten() {
                assert!(
                    c.x >= 0.0 && c.x <= 100.0 && c.y >= 0.0 && c.y <= 60.0,
                    "{c:?}"
                );
            }
        }
    }
}
