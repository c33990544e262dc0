//! One feature's geometry written straight in MVT commands and zigzag
//! deltas, so a tile's roads and outlines need no geometry of their own
//! before encoding. Coordinates are placed on the tile's grid as geozero
//! places them (floored, y counted down from the top).

use geo::{Coord, Rect};
use geozero::mvt::tile::{Feature, GeomType};

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

/// The geometry of one feature: points, lines or polygons.
#[derive(Debug)]
pub struct MvtGeometry {
    left: f64,
    bottom: f64,
    x_scale: f64,
    y_scale: f64,
    extent: i32,
    commands: Vec<u32>,
    cursor: [i32; 2],
    /// The line or ring being written, reused from one to the next.
    points: Vec<[i32; 2]>,
}

impl MvtGeometry {
    /// An empty geometry for a tile over `bounds` with `extent` units a side.
    pub fn new(bounds: Rect<f64>, extent: u32) -> Self {
        Self {
            left: bounds.min().x,
            bottom: bounds.min().y,
            x_scale: f64::from(extent) / bounds.width(),
            y_scale: f64::from(extent) / bounds.height(),
            extent: extent as i32,
            commands: Vec::new(),
            cursor: [0, 0],
            points: Vec::new(),
        }
    }

    /// Adds a point.
    pub fn point(&mut self, at: Coord<f64>) {
        let p = self.unit(at);
        self.commands.push(command(MOVE_TO, 1));
        self.delta(p);
    }

    /// Adds a line. Vertices on the same tile unit as the one before are
    /// one vertex; a line left with a single one is not drawn.
    pub fn line(&mut self, coords: impl Iterator<Item = Coord<f64>>) {
        self.place(coords);
        if self.points.len() < 2 {
            return;
        }
        self.path();
    }

    /// Adds a polygon: its exterior ring and its holes, each closed or
    /// not. Rings are wound as the specification asks (the exterior
    /// clockwise on the tile, holes the other way); a ring with no area
    /// left on the tile's grid is not drawn, nor the holes of an exterior
    /// not drawn.
    pub fn polygon<'a, R>(&mut self, rings: impl IntoIterator<Item = R>)
    where
        R: IntoIterator<Item = &'a Coord<f64>>,
    {
        for (i, ring) in rings.into_iter().enumerate() {
            self.place(ring.into_iter().copied());
            if self.points.len() > 1 && self.points.first() == self.points.last() {
                self.points.pop();
            }
            // Twice the area by the shoelace formula, in tile units: the
            // exterior's is positive (the y axis points down).
            let area = twice_area(&self.points);
            if area == 0 {
                if i == 0 {
                    return;
                }
                continue;
            }
            if (area > 0) != (i == 0) {
                self.points.reverse();
            }
            self.path();
            self.commands.push(command(CLOSE_PATH, 1));
        }
    }

    /// The feature of this geometry; none when nothing was drawn.
    pub fn into_feature(self, kind: GeomType) -> Option<Feature> {
        if self.commands.is_empty() {
            return None;
        }
        Some(Feature {
            r#type: Some(kind as i32),
            geometry: self.commands,
            ..Feature::default()
        })
    }

    fn unit(&self, c: Coord<f64>) -> [i32; 2] {
        let x = ((c.x - self.left) * self.x_scale).floor() as i32;
        let y = self.extent - ((c.y - self.bottom) * self.y_scale).floor() as i32;
        [x, y]
    }

    /// The coordinates on the tile's grid, repeats dropped, in `points`.
    fn place(&mut self, coords: impl Iterator<Item = Coord<f64>>) {
        self.points.clear();
        for c in coords {
            let p = self.unit(c);
            if self.points.last() != Some(&p) {
                self.points.push(p);
            }
        }
    }

    /// `points` as a move to the first and a line through the rest.
    fn path(&mut self) {
        let points = std::mem::take(&mut self.points);
        if let Some((first, rest)) = points.split_first() {
            self.commands.push(command(MOVE_TO, 1));
            self.delta(*first);
            self.commands.push(command(LINE_TO, rest.len() as u32));
            for p in rest {
                self.delta(*p);
            }
        }
        self.points = points;
    }

    fn delta(&mut self, to: [i32; 2]) {
        for (axis, &at) in to.iter().enumerate() {
            let delta = at.wrapping_sub(self.cursor[axis]);
            self.commands.push(((delta << 1) ^ (delta >> 31)) as u32);
        }
        self.cursor = to;
    }
}

fn command(id: u32, count: u32) -> u32 {
    id | (count << 3)
}

fn twice_area(ring: &[[i32; 2]]) -> i64 {
    let Some(&last) = ring.last() else {
        return 0;
    };
    let mut previous = last;
    let mut sum = 0i64;
    for &p in ring {
        sum += i64::from(previous[0]) * i64::from(p[1]) - i64::from(p[0]) * i64::from(previous[1]);
        previous = p;
    }
    sum
}

#[cfg(test)]
mod tests {
    use geo::{LineString, MultiLineString, Point};
    use geozero::ToMvt;
    use geozero::mvt::{Message, Tile, tile};

    use super::*;

    fn decoded(feature: Feature) -> geo::Geometry<f32> {
        let tile = Tile {
            layers: vec![tile::Layer {
                version: 2,
                name: "test".to_string(),
                features: vec![feature],
                keys: Vec::new(),
                values: Vec::new(),
                extent: Some(4096),
            }],
        };
        let reader = mvt_reader::Reader::new(tile.encode_to_vec()).unwrap();
        reader.get_features(0).unwrap().remove(0).geometry
    }

    #[test]
    fn lines_and_points_encode_as_geozero_encodes_them() {
        let bounds = Rect::new(Coord { x: 100.0, y: 200.0 }, Coord { x: 500.0, y: 600.0 });
        let lines = vec![
            vec![
                Coord { x: 90.0, y: 250.0 },
                Coord { x: 150.3, y: 330.9 },
                Coord { x: 420.0, y: 610.0 },
            ],
            vec![Coord { x: 300.0, y: 300.0 }, Coord { x: 301.0, y: 299.5 }],
        ];
        let mut ours = MvtGeometry::new(bounds, 4096);
        for line in &lines {
            ours.line(line.iter().copied());
        }
        let expected = geo::Geometry::from(MultiLineString::new(
            lines.into_iter().map(LineString::new).collect(),
        ))
        .to_mvt(4096, 100.0, 200.0, 500.0, 600.0)
        .unwrap();
        let ours = ours.into_feature(GeomType::Linestring).unwrap();
        assert_eq!(ours.geometry, expected.geometry);

        let at = Coord { x: 123.4, y: 567.8 };
        let mut ours = MvtGeometry::new(bounds, 4096);
        ours.point(at);
        let expected = geo::Geometry::from(Point::from(at))
            .to_mvt(4096, 100.0, 200.0, 500.0, 600.0)
            .unwrap();
        let ours = ours.into_feature(GeomType::Point).unwrap();
        assert_eq!(ours.geometry, expected.geometry);
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
        let mut lines = MvtGeometry::new(bounds, 4096);
        lines.line([Coord { x: 10.2, y: 10.2 }, Coord { x: 10.7, y: 10.9 }].into_iter());
        lines.line(std::iter::empty());
        assert!(lines.into_feature(GeomType::Linestring).is_none());
    }

    #[test]
    fn polygons_decode_with_their_holes_whichever_way_they_were_wound() {
        let bounds = Rect::new(
            Coord { x: 0.0, y: 0.0 },
            Coord {
                x: 4096.0,
                y: 4096.0,
            },
        );
        let square = |x0: f64, y0: f64, side: f64| {
            vec![
                Coord { x: x0, y: y0 },
                Coord {
                    x: x0 + side,
                    y: y0,
                },
                Coord {
                    x: x0 + side,
                    y: y0 + side,
                },
                Coord {
                    x: x0,
                    y: y0 + side,
                },
                Coord { x: x0, y: y0 },
            ]
        };
        for reversed in [false, true] {
            let mut rings = [square(100.0, 100.0, 1000.0), square(300.0, 300.0, 200.0)];
            if reversed {
                rings.iter_mut().for_each(|r| r.reverse());
            }
            let mut geometry = MvtGeometry::new(bounds, 4096);
            // A second polygon whose exterior has no area: it is dropped,
            // and its hole with it.
            geometry.polygon(&rings);
            geometry.polygon(&[square(2000.0, 2000.0, 0.2), square(2000.0, 2000.0, 100.0)]);
            let feature = geometry.into_feature(GeomType::Polygon).unwrap();
            let geo::Geometry::MultiPolygon(polygons) = decoded(feature) else {
                panic!("polygons")
            };
            assert_eq!(polygons.0.len(), 1, "{polygons:?}");
            assert_eq!(polygons.0[0].interiors().len(), 1, "{polygons:?}");
        }
    }
}
