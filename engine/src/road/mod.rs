//! The car road network: the profile, road classes, the OSM loader, the
//! graph, road and place names, snapping, and the cost of driving a path
//! over it.

pub(crate) mod build;
pub(crate) mod class;
pub(crate) mod cost;
pub(crate) mod crossings;
pub(crate) mod graph;
pub(crate) mod names;
pub(crate) mod osm;
pub(crate) mod profile;
pub(crate) mod snap;

pub use cost::Cost;
