//! The car road network: the profile, the OSM loader, the graph and snapping.

pub(crate) mod build;
pub(crate) mod graph;
pub(crate) mod osm;
pub(crate) mod profile;
pub(crate) mod snap;
