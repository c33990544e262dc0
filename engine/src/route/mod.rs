//! Road travel costs: the plain Dijkstra reference and the contraction
//! hierarchy that answers the same questions thousands of times faster.

mod cache;
mod contraction;
mod cost;
mod dijkstra;
mod hierarchy;
mod network;
mod path;
mod query;
mod space;

pub use cache::CacheError;
pub use contraction::PrepareConfig;
pub use cost::Cost;
pub use dijkstra::Dijkstra;
pub use hierarchy::Router;
pub use network::{NetworkError, NetworkPhase, NetworkStats, PreparedNetwork};
pub use path::Route;
pub use query::RouteQuery;
pub use space::{
    SearchSpace, Source, SourceSet, SourceSpace, SpaceSet, Target, TargetSet, TargetSpace,
};
