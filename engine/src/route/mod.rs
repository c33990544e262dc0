//! Road travel costs: the plain Dijkstra reference and the contraction
//! hierarchy that answers the same questions thousands of times faster.

mod cache;
mod contraction;
mod dijkstra;
mod hierarchy;
mod network;
mod path;
mod query;
mod space;
mod sweep;

pub use cache::CacheError;
pub use contraction::PrepareConfig;
// Routes are priced in the road network's cost; the route layer's users
// find it here too.
pub use crate::road::Cost;
pub use dijkstra::Dijkstra;
pub use hierarchy::Router;
pub use network::{NetworkError, NetworkPhase, NetworkStats, PreparedNetwork};
pub use path::Route;
pub use query::RouteQuery;
pub use space::{
    SearchSpace, Source, SourceSet, SourceSpace, SpaceSet, Target, TargetSet, TargetSpace,
};
