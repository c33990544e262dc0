//! Lines written straight into a feature's MVT geometry (commands and
//! zigzag deltas), so a tile's roads need no geometry of their own before
//! encoding. Coordinates are placed on the tile's grid as geozero places
//! the other layers', so roads and outlines line up to the unit.

use geo::{Coord, Rect};

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;

/// One line-string feature's geometry, line by line.
#[derive(Debug)]
pub struct MvtLines {
    left: f64,
    bottom: f64,
    x_scale: f64,
    y_scale: f64,
    extent: i32,
    geometry: Vec<u32>,
    cursor: [i32; 2],
    /// The line being written, reused from line to line.
    points: Vec<[i32; 2]>,
}

impl MvtLines {
    /// An empty geometry for a tile over `bounds` with `extent` units a side.
    pub fn new(bounds: Rect<f64>, extent: u32) -> Self {
        Self {
            left: bounds.min().x,
            bottom: bounds.min().y,
            x_scale: f64::from(extent) / bounds.width(),
            y_scale: f64::from(extent) / bounds.height(),
            extent: extent as i32,
            geometry: Vec::new(),
            cursor: [0, 0],
            points: Vec::new(),
        }
    }

    /// Adds a line. Vertices falling on the same tile unit as the one
    /// before are one vertex; a line left with a single one is not drawn.
    pub fn line(&mut self, coords: impl Iterator<Item = Coord<f64>>) {
        self.points.clear();
        for c in coords {
            // Floored, and y counted down from the top, as geozero does.
            let x = ((c.x - self.left) * self.x_scale).floor() as i32;
            let y = self.extent - ((c.y - self.bottom) * self.y_scale).floor() as i32;
            if self.points.last() != Some(&[x, y]) {
                self.points.push([x, y]);
            }
        }
        let Some((first, rest)) = self.points.split_first() else {
            return;
        };
        if rest.is_empty() {
            return;
        }
        self.geometry.push(command(MOVE_TO, 1));
        push_delta(&mut self.geometry, &mut self.cursor, *first);
        self.geometry.push(command(LINE_TO, rest.len() as u32));
        for p in rest {
            push_delta(&mut self.geometry, &mut self.cursor, *p);
        }
    }

    /// The geometry written; empty when no line was drawn.
    pub fn into_geometry(self) -> Vec<u32> {
        self.geometry
    }
}

fn command(id: u32, count: u32) -> u32 {
    id | (count << 3)
}

fn push_delta(geometry: &mut Vec<u32>, cursor: &mut [i32; 2], to: [i32; 2]) {
    for axis in 0..2 {
        let delta = to[axis].wrapping_sub(cursor[axis]);
        geometry.push(((delta << 1) ^ (delta >> 31)) as u32);
    }
    *cursor = to;
}

#[cfg(test)]
mod tests {
    use geo::{LineString, MultiLineString};
    use geozero::ToMvt;

    use super::*;

    #[test]
    fn lines_encode_as_geozero_encodes_them() {
        let bounds = Rect::new(Coord { x: 100.0, y: 200.0 }, Coord { x: 500.0, y: 600.0 });
        let lines = vec![
            vec![
                Coord { x: 90.0, y: 250.0 },
                Coord { x: 150.3, y: 330.9 },
                Coord { x: 420.0, y: 610.0 },
            ],
            vec![Coord { x: 300.0, y: 300.0 }, Coord { x: 301.0, y: 299.5 }],
        ];
        let mut ours = MvtLines::new(bounds, 4096);
        for line in &lines {
            ours.line(line.iter().copied());
        }
        let expected = geo::Geometry::from(MultiLineString::new(
            lines.into_iter().map(LineString::new).collect(),
        ))
        .to_mvt(4096, 100.0, 200.0, 500.0, 600.0)
        .unwrap();
        assert_eq!(ours.into_geometry(), expected.geometry);
    }

    #[test]
    fn a_line_within_one_unit_is_not_drawn() {
        let bounds = Rect::new(
            Coord { x: 0.0, y: 0.0 },
            Coord {
                x: 4096.0,
                y: 4096.0,
            },
        );
        let mut lines = MvtLines::new(bounds, 4096);
        lines.line([Coord { x: 10.2, y: 10.2 }, Coord { x: 10.7, y: 10.9 }].into_iter());
        lines.line(std::iter::empty());
        assert!(lines.into_geometry().is_empty());
    }
}
