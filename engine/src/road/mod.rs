//! The car road network: the profile, road classes, the OSM loader, the
//! graph, road and place names, and snapping.

pub(crate) mod build;
pub(crate) mod class;
pub(crate) mod crossings;
pub(crate) mod graph;
pub(crate) mod names;
pub(crate) mod osm;
pub(crate) mod profile;
pub(crate) mod snap;
