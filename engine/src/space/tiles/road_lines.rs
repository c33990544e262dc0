//! The road network as lines, simplified and indexed once, so a tile only
//! gathers the stretches near it.
//!
//! A way's segments are consecutive in the graph, so a segment that starts
//! where the previous one ended (and is of the same class) continues its
//! line. Each line's vertices carry their Douglas–Peucker rank
//! ([`douglas_peucker_ranks`]), and each line is cut into pieces of at
//! most [`PIECE_SEGMENTS`] segments, boxed in one R-tree per road class.
//!
//! A tile opens the pieces whose boxes meet its area and draws, for each
//! run of opened pieces of a line, the line simplified to the tile's
//! tolerance from the kept vertex before the run to the kept vertex after
//! it. Every tile thus draws the same simplified line, so neighbours meet
//! without seams, and draws each simplified segment that comes within its
//! area: such a segment lies within the tolerance of the stretch of road
//! it replaces (the road runs from one end of the segment to the other
//! inside the tolerance's band around it), so the area grown by the
//! tolerance meets a piece of that stretch.

use std::ops::RangeInclusive;

use geo::{Coord, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::simplify::douglas_peucker_ranks;
use crate::road::class::RoadClass;

/// Segments per indexed piece: small enough that a tile opens little of a
/// long road beyond its edge, large enough that the trees stay small.
pub const PIECE_SEGMENTS: usize = 16;

/// A stretch of at most [`PIECE_SEGMENTS`] segments of one line, as
/// indices into the vertices.
#[derive(Clone, Copy, Debug)]
struct Piece {
    line_first: u32,
    line_last: u32,
    first: u32,
    last: u32,
}

type PieceBox = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The road lines of one graph, by class.
#[derive(Debug)]
pub struct RoadLines {
    vertices: Vec<Coord<f64>>,
    ranks: Vec<f64>,
    /// In order along each line, line after line.
    pieces: Vec<Piece>,
    /// One tree per class, in [`RoadClass::ALL`] order.
    trees: Vec<RTree<PieceBox>>,
}

impl RoadLines {
    /// Joins the segments (`[a, b]` node pairs, with their classes, in the
    /// graph's order) into lines over the projected `nodes`, ranks their
    /// vertices and indexes them.
    pub fn new(nodes: &[Coord<f64>], segments: &[[u32; 2]], classes: &[RoadClass]) -> Self {
        let mut vertices = Vec::with_capacity(segments.len() * 2);
        let mut ranks = Vec::with_capacity(segments.len() * 2);
        let mut pieces = Vec::new();
        let mut boxes: Vec<Vec<PieceBox>> = RoadClass::ALL.iter().map(|_| Vec::new()).collect();
        let mut start = 0;
        while start < segments.len() {
            let class = classes[start];
            let mut end = start + 1;
            while end < segments.len()
                && segments[end][0] == segments[end - 1][1]
                && classes[end] == class
            {
                end += 1;
            }
            let line_first = vertices.len();
            vertices.push(nodes[segments[start][0] as usize]);
            vertices.extend(segments[start..end].iter().map(|s| nodes[s[1] as usize]));
            ranks.extend(douglas_peucker_ranks(&vertices[line_first..]));
            let line_last = vertices.len() - 1;
            let slot = RoadClass::ALL.iter().position(|c| *c == class).unwrap_or(0);
            for first in (line_first..line_last).step_by(PIECE_SEGMENTS) {
                let last = (first + PIECE_SEGMENTS).min(line_last);
                let (min, max) = corners(&vertices[first..=last]);
                boxes[slot].push(GeomWithData::new(
                    Rectangle::from_corners(min, max),
                    pieces.len() as u32,
                ));
                pieces.push(Piece {
                    line_first: line_first as u32,
                    line_last: line_last as u32,
                    first: first as u32,
                    last: last as u32,
                });
            }
            start = end;
        }
        Self {
            vertices,
            ranks,
            pieces,
            trees: boxes.into_iter().map(RTree::bulk_load).collect(),
        }
    }

    /// The stretches of the class's lines to draw in `area` at `tolerance`,
    /// each from one kept vertex to another; draw each with [`kept`].
    ///
    /// [`kept`]: Self::kept
    pub fn stretches(
        &self,
        class: RoadClass,
        area: Rect<f64>,
        tolerance: f64,
    ) -> Vec<RangeInclusive<u32>> {
        let Some(tree) = RoadClass::ALL
            .iter()
            .position(|c| *c == class)
            .and_then(|slot| self.trees.get(slot))
        else {
            return Vec::new();
        };
        let envelope = AABB::from_corners(
            [area.min().x - tolerance, area.min().y - tolerance],
            [area.max().x + tolerance, area.max().y + tolerance],
        );
        let mut opened: Vec<u32> = tree
            .locate_in_envelope_intersecting(envelope)
            .map(|p| p.data)
            .collect();
        opened.sort_unstable();
        let mut stretches: Vec<(u32, RangeInclusive<u32>)> = Vec::new();
        for piece in opened.into_iter().map(|i| self.pieces[i as usize]) {
            // A stretch of the same line already drawn ends at a kept
            // vertex: scans stop there, so a line's vertices are scanned
            // about once per tile.
            let previous = stretches
                .last_mut()
                .filter(|(line, _)| *line == piece.line_first)
                .map(|(_, stretch)| stretch);
            let floor = previous.as_ref().map_or(piece.line_first, |s| *s.end());
            if piece.last <= floor {
                continue;
            }
            let first = self.kept_before(piece.first.max(floor), floor, tolerance);
            let last = self.kept_after(piece.last, piece.line_last, tolerance);
            match previous {
                Some(stretch) if first == floor => *stretch = *stretch.start()..=last,
                _ => stretches.push((piece.line_first, first..=last)),
            }
        }
        stretches.into_iter().map(|(_, s)| s).collect()
    }

    /// The vertices of the stretch kept at `tolerance`.
    pub fn kept(
        &self,
        stretch: RangeInclusive<u32>,
        tolerance: f64,
    ) -> impl Iterator<Item = Coord<f64>> + '_ {
        let range = *stretch.start() as usize..=*stretch.end() as usize;
        self.vertices[range.clone()]
            .iter()
            .zip(&self.ranks[range])
            .filter(move |(_, rank)| **rank > tolerance)
            .map(|(c, _)| *c)
    }

    /// The last vertex at or before `from`, and not before `floor` (a
    /// kept vertex), kept at `tolerance`.
    fn kept_before(&self, from: u32, floor: u32, tolerance: f64) -> u32 {
        let mut i = from;
        while i > floor && self.ranks[i as usize] <= tolerance {
            i -= 1;
        }
        i
    }

    /// The first vertex at or after `from`, and not after `ceiling` (a
    /// kept vertex), kept at `tolerance`.
    fn kept_after(&self, from: u32, ceiling: u32, tolerance: f64) -> u32 {
        let mut i = from;
        while i < ceiling && self.ranks[i as usize] <= tolerance {
            i += 1;
        }
        i
    }
}

fn corners(coords: &[Coord<f64>]) -> ([f64; 2], [f64; 2]) {
    coords.iter().fold(
        ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]),
        |(min, max), c| {
            (
                [min[0].min(c.x), min[1].min(c.y)],
                [max[0].max(c.x), max[1].max(c.y)],
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use geo::{Intersects, Line};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const SEED: u64 = 0x726f_6164_7331;

    /// Lines of `n` nodes wandering east from `x0`, one after the other in
    /// node and segment order, every third line of another class.
    fn wandering_roads(rng: &mut ChaCha8Rng, lines: usize, n: usize, x0: f64) -> RoadLines {
        let mut nodes = Vec::new();
        let mut segments = Vec::new();
        let mut classes = Vec::new();
        for line in 0..lines {
            let mut at = Coord {
                x: x0 + rng.random_range(-500.0..500.0),
                y: rng.random_range(-1500.0..1500.0),
            };
            for i in 0..n {
                if i > 0 {
                    segments.push([nodes.len() as u32 - 1, nodes.len() as u32]);
                    classes.push(if line % 3 == 0 {
                        RoadClass::Primary
                    } else {
                        RoadClass::Minor
                    });
                }
                nodes.push(at);
                at.x += rng.random_range(0.0..40.0);
                at.y += rng.random_range(-25.0..25.0);
            }
        }
        RoadLines::new(&nodes, &segments, &classes)
    }

    /// The simplified segments drawn in `area`, as vertex index pairs.
    fn drawn(
        roads: &RoadLines,
        class: RoadClass,
        area: Rect<f64>,
        tolerance: f64,
    ) -> Vec<[u32; 2]> {
        let mut pairs = Vec::new();
        for stretch in roads.stretches(class, area, tolerance) {
            let kept: Vec<u32> = stretch
                .filter(|&i| roads.ranks[i as usize] > tolerance)
                .collect();
            pairs.extend(kept.windows(2).map(|w| [w[0], w[1]]));
        }
        pairs
    }

    /// Every simplified segment of the class's lines meeting `area`, by
    /// simplifying each whole line.
    fn reference(
        roads: &RoadLines,
        class: RoadClass,
        area: Rect<f64>,
        tolerance: f64,
    ) -> HashSet<[u32; 2]> {
        let slot = RoadClass::ALL.iter().position(|c| *c == class).unwrap();
        let lines: HashSet<(u32, u32)> = roads.trees[slot]
            .iter()
            .map(|p| roads.pieces[p.data as usize])
            .map(|p| (p.line_first, p.line_last))
            .collect();
        let mut pairs = HashSet::new();
        for (first, last) in lines {
            let kept: Vec<u32> = (first..=last)
                .filter(|&i| roads.ranks[i as usize] > tolerance)
                .collect();
            for w in kept.windows(2) {
                let segment =
                    Line::new(roads.vertices[w[0] as usize], roads.vertices[w[1] as usize]);
                if segment.intersects(&area) {
                    pairs.insert([w[0], w[1]]);
                }
            }
        }
        pairs
    }

    fn square(min_x: f64, min_y: f64, side: f64) -> Rect<f64> {
        Rect::new(
            Coord { x: min_x, y: min_y },
            Coord {
                x: min_x + side,
                y: min_y + side,
            },
        )
    }

    #[test]
    fn a_tile_draws_every_simplified_segment_meeting_it_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let roads = wandering_roads(&mut rng, 30, 300, -6000.0);
        for tolerance in [0.5, 4.0, 30.0, 400.0] {
            for _ in 0..50 {
                let side = rng.random_range(50.0..8000.0);
                let area = square(
                    rng.random_range(-8000.0..8000.0),
                    rng.random_range(-3000.0..3000.0),
                    side,
                );
                for class in [RoadClass::Minor, RoadClass::Primary] {
                    let drawn = drawn(&roads, class, area, tolerance);
                    let unique: HashSet<[u32; 2]> = drawn.iter().copied().collect();
                    assert_eq!(unique.len(), drawn.len(), "a segment drawn twice");
                    let missing: Vec<_> = reference(&roads, class, area, tolerance)
                        .difference(&unique)
                        .copied()
                        .collect();
                    assert!(missing.is_empty(), "{missing:?} missing at {tolerance}");
                }
            }
        }
    }

    #[test]
    fn a_line_crossing_a_tile_edge_is_drawn_in_both_tiles_up_to_the_buffer() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
        // Lines from about x = -6 km to +6 km, across the edge x = 0 of two
        // 4,096 m tiles with a buffer of 64 m.
        let roads = wandering_roads(&mut rng, 12, 300, -6000.0);
        let buffer = 64.0;
        let west = square(-4096.0 - buffer, -2048.0 - buffer, 4096.0 + 2.0 * buffer);
        let east = square(-buffer, -2048.0 - buffer, 4096.0 + 2.0 * buffer);
        for tolerance in [1.0, 16.0] {
            for class in [RoadClass::Minor, RoadClass::Primary] {
                let in_west: HashSet<[u32; 2]> =
                    drawn(&roads, class, west, tolerance).into_iter().collect();
                let in_east: HashSet<[u32; 2]> =
                    drawn(&roads, class, east, tolerance).into_iter().collect();
                let edge = Line::new(Coord { x: 0.0, y: -2048.0 }, Coord { x: 0.0, y: 2048.0 });
                let crossing: Vec<[u32; 2]> = in_west
                    .iter()
                    .filter(|[a, b]| {
                        Line::new(roads.vertices[*a as usize], roads.vertices[*b as usize])
                            .intersects(&edge)
                    })
                    .copied()
                    .collect();
                assert!(!crossing.is_empty(), "no line crosses the edge");
                for pair in &crossing {
                    assert!(in_east.contains(pair), "{pair:?} is only in the west tile");
                }
                // Each tile's lines reach past the edge by the buffer.
                let reach = |pairs: &HashSet<[u32; 2]>| {
                    pairs
                        .iter()
                        .flatten()
                        .map(|i| roads.vertices[*i as usize].x)
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                            (lo.min(x), hi.max(x))
                        })
                };
                assert!(reach(&in_west).1 >= buffer, "{:?}", reach(&in_west));
                assert!(reach(&in_east).0 <= -buffer, "{:?}", reach(&in_east));
            }
        }
    }

    #[test]
    fn consecutive_segments_of_one_class_make_one_line() {
        let nodes: Vec<Coord<f64>> = (0..6)
            .map(|i| Coord {
                x: f64::from(i),
                y: 0.0,
            })
            .collect();
        // 0-1-2-3 one line, 3-4 another class, 0-5 not continuing 3-4.
        let segments = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 5]];
        let classes = [
            RoadClass::Minor,
            RoadClass::Minor,
            RoadClass::Minor,
            RoadClass::Primary,
            RoadClass::Primary,
        ];
        let roads = RoadLines::new(&nodes, &segments, &classes);
        let lines: Vec<(u32, u32)> = roads
            .pieces
            .iter()
            .map(|p| (p.line_first, p.line_last))
            .collect();
        assert_eq!(lines, [(0, 3), (4, 5), (6, 7)]);
    }
}
