//! Douglas–Peucker simplification done once for every tolerance: each
//! vertex of a line gets the tolerance up to which it survives, so a tile
//! simplifies a line by keeping the vertices whose rank exceeds its pixel,
//! with no simplification work of its own.
//!
//! The recursion of Douglas–Peucker does not depend on the tolerance: a
//! stretch is always split at its vertex farthest from the chord, and the
//! tolerance only decides where splitting stops. A vertex is kept when its
//! distance to its chord exceeds the tolerance and so does every split
//! above it; its rank is therefore the smallest of those distances. Kept
//! at a tolerance `t` means `rank > t`, exactly the vertices
//! [`geo::Simplify`] keeps at `t` (the same distance, the same choice among
//! equally far vertices).

use geo::{Coord, Distance, Euclidean, Line};

/// The rank of each vertex of `line`: it is kept at any tolerance below
/// its rank. The ends are never dropped (infinite rank).
pub fn douglas_peucker_ranks(line: &[Coord<f64>]) -> Vec<f64> {
    let mut ranks = vec![f64::INFINITY; line.len()];
    if line.len() < 3 {
        return ranks;
    }
    // Stretches still to split, with the smallest split distance above
    // them; a stack rather than recursion, as a long road would recurse
    // once per vertex at worst.
    let mut stretches = vec![(0, line.len() - 1, f64::INFINITY)];
    while let Some((first, last, above)) = stretches.pop() {
        if last - first < 2 {
            continue;
        }
        let chord = Line::new(line[first], line[last]);
        let (mut farthest, mut distance) = (first + 1, 0.0);
        for (i, &c) in line.iter().enumerate().take(last).skip(first + 1) {
            let d = Euclidean.distance(c, &chord);
            // `>=` as geo does: the last of equally far vertices splits.
            if d >= distance {
                (farthest, distance) = (i, d);
            }
        }
        let rank = distance.min(above);
        ranks[farthest] = rank;
        stretches.push((first, farthest, rank));
        stretches.push((farthest, last, rank));
    }
    ranks
}

/// A line with its vertices' ranks: simplified at any tolerance for the
/// cost of reading it.
#[derive(Debug)]
pub struct RankedLine {
    coords: Vec<Coord<f64>>,
    ranks: Vec<f64>,
}

impl RankedLine {
    /// Ranks the line's vertices.
    pub fn new(coords: Vec<Coord<f64>>) -> Self {
        let ranks = douglas_peucker_ranks(&coords);
        Self { coords, ranks }
    }

    /// Every vertex.
    pub fn coords(&self) -> &[Coord<f64>] {
        &self.coords
    }

    /// The vertices kept at `tolerance`.
    pub fn simplified(&self, tolerance: f64) -> impl Iterator<Item = Coord<f64>> + '_ {
        self.coords
            .iter()
            .zip(&self.ranks)
            .filter(move |(_, rank)| **rank > tolerance)
            .map(|(c, _)| *c)
    }
}

#[cfg(test)]
mod tests {
    use geo::{LineString, Simplify};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const SEED: u64 = 0x7469_6c65_7331;

    fn kept(line: &[Coord<f64>], ranks: &[f64], tolerance: f64) -> Vec<Coord<f64>> {
        line.iter()
            .zip(ranks)
            .filter(|(_, r)| **r > tolerance)
            .map(|(c, _)| *c)
            .collect()
    }

    /// A wandering road of `n` vertices, with some vertices repeated and
    /// some straight stretches, so ties and zero distances occur.
    fn random_line(rng: &mut ChaCha8Rng, n: usize) -> Vec<Coord<f64>> {
        let mut at = Coord { x: 0.0, y: 0.0 };
        let mut line = Vec::with_capacity(n);
        for _ in 0..n {
            match rng.random_range(0..10) {
                0 => {}
                1 => at.x += 10.0,
                _ => {
                    at.x += rng.random_range(-20.0..40.0);
                    at.y += rng.random_range(-30.0..30.0);
                }
            }
            line.push(at);
        }
        line
    }

    #[test]
    fn ranks_keep_what_geo_simplify_keeps_at_every_tolerance() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        for n in [2, 3, 4, 5, 17, 200, 1000] {
            for _ in 0..20 {
                let line = random_line(&mut rng, n);
                let ranks = douglas_peucker_ranks(&line);
                for tolerance in [0.5, 1.0, 3.0, 10.0, 25.0, 100.0, 1e6] {
                    let expected = LineString::new(line.clone()).simplify(tolerance);
                    assert_eq!(
                        kept(&line, &ranks, tolerance),
                        expected.0,
                        "{n} vertices at {tolerance}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_closed_ring_keeps_what_geo_keeps() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
        let mut line = random_line(&mut rng, 50);
        line.push(line[0]);
        let ranks = douglas_peucker_ranks(&line);
        for tolerance in [1.0, 10.0, 50.0] {
            let expected = LineString::new(line.clone()).simplify(tolerance);
            assert_eq!(kept(&line, &ranks, tolerance), expected.0, "{tolerance}");
        }
    }

    #[test]
    fn the_ends_are_never_dropped() {
        let line = [
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 1.0, y: 0.1 },
            Coord { x: 2.0, y: 0.0 },
        ];
        let ranks = douglas_peucker_ranks(&line);
        assert_eq!(ranks[0], f64::INFINITY);
        assert_eq!(ranks[2], f64::INFINITY);
        assert!((ranks[1] - 0.1).abs() < 1e-12);
    }
}
