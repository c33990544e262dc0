//! Where things are: which patrol zone holds a location, and which units
//! are near it.
//!
//! [`ZoneIndex`] answers "which zone is this incident in" with one H3 cell
//! lookup for most locations and an exact point-in-polygon test for the
//! rest; [`UnitPositions`] keeps the units' live positions for nearest and
//! within-radius queries. [`Gazetteer`] finds a location from what a
//! caller says: a crossing, a road, a place, or coordinates. [`TileMaker`]
//! draws the city as vector tiles for the map console.

mod cell_outline;
mod locate;
mod tiles;
mod unit_positions;
mod zone_index;

pub use locate::{DEFAULT_LIMIT as LOCATE_DEFAULT_LIMIT, Gazetteer, Located, LocatedKind};
pub use tiles::{EXTENT as TILE_EXTENT, InvalidTile, MAX_ZOOM as MAX_TILE_ZOOM, TileId, TileMaker};
pub use unit_positions::UnitPositions;
pub use zone_index::{ZoneIndex, ZoneIndexConfig, ZoneIndexError, ZoneIndexStats};
