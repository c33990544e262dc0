//! Web Mercator (EPSG:3857) and the tile grid the map's vector tiles use:
//! at zoom `z` the world is `2^z × 2^z` square tiles, `x` growing east and
//! `y` growing south from the top-left corner.

use std::f64::consts::PI;

use geo::{Coord, Rect};

/// The sphere Web Mercator is defined on, in metres.
const RADIUS_M: f64 = 6_378_137.0;

/// Half the width of the projected world, in metres.
const HALF_WORLD_M: f64 = PI * RADIUS_M;

/// The latitude where the square world of Web Mercator ends.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// The deepest zoom tiles are made for: a tile is then about 100 m wide,
/// finer than any road of the graph needs.
pub const MAX_ZOOM: u8 = 18;

/// One tile of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

/// A tile address outside the grid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no tile {z}/{x}/{y}: the zoom must be at most {MAX_ZOOM} and x and y below 2^zoom")]
pub struct InvalidTile {
    z: u32,
    x: u32,
    y: u32,
}

impl TileId {
    /// Checks the address: `z ≤ MAX_ZOOM`, `x, y < 2^z`.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, InvalidTile> {
        let invalid = InvalidTile { z, x, y };
        if z > u32::from(MAX_ZOOM) {
            return Err(invalid);
        }
        let side = 1u32 << z;
        if x >= side || y >= side {
            return Err(invalid);
        }
        Ok(Self { z: z as u8, x, y })
    }

    /// The zoom.
    pub fn z(self) -> u8 {
        self.z
    }

    /// The column, from the west.
    pub fn x(self) -> u32 {
        self.x
    }

    /// The row, from the north.
    pub fn y(self) -> u32 {
        self.y
    }

    /// The tile's square in projected metres (y up).
    pub fn bounds(self) -> Rect<f64> {
        let size = tile_size_m(self.z);
        let left = -HALF_WORLD_M + f64::from(self.x) * size;
        let top = HALF_WORLD_M - f64::from(self.y) * size;
        Rect::new(
            Coord {
                x: left,
                y: top - size,
            },
            Coord {
                x: left + size,
                y: top,
            },
        )
    }
}

/// The width of one tile at zoom `z`, in projected metres.
pub fn tile_size_m(z: u8) -> f64 {
    2.0 * HALF_WORLD_M / f64::from(1u32 << z)
}

/// A WGS 84 position (degrees, x = longitude) in projected metres (y up).
/// Latitudes beyond the square world are held at its edge.
pub fn project(c: Coord<f64>) -> Coord<f64> {
    let lat = c.y.clamp(-MAX_LAT, MAX_LAT).to_radians();
    Coord {
        x: c.x.to_radians() * RADIUS_M,
        y: (PI / 4.0 + lat / 2.0).tan().ln() * RADIUS_M,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_outside_the_grid_are_refused() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(1, 2, 0).is_err());
        assert!(TileId::new(3, 0, 8).is_err());
        assert!(TileId::new(19, 0, 0).is_err());
        assert!(TileId::new(40, 0, 0).is_err());
    }

    #[test]
    fn a_point_lands_in_the_tile_the_standard_formula_names() {
        // The slippy-map formula, independent of the projection above.
        let (lat, lon, z) = (35.4957_f64, 112.8521_f64, 14u8);
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
        let lat_r = lat.to_radians();
        let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / PI) / 2.0 * n).floor() as u32;
        let tile = TileId::new(u32::from(z), x, y).unwrap();
        let p = project(Coord { x: lon, y: lat });
        let b = tile.bounds();
        assert!(b.min().x <= p.x && p.x < b.max().x, "{p:?} not in {b:?}");
        assert!(b.min().y <= p.y && p.y < b.max().y, "{p:?} not in {b:?}");
    }
}
