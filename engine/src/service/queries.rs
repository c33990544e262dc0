//! Warm route query objects for the service's handlers.
//!
//! A [`RouteQuery`] owns per-node buffers (megabytes on a city map), so
//! building one per call would cost more than the call. Handlers borrow one
//! from the pool and give it back; the pool grows to the number of calls
//! that ever ran at once.

use std::sync::Mutex;

use crate::route::{RouteQuery, Router};

/// A pool of query objects on one road network.
#[derive(Debug)]
pub struct QueryPool {
    router: &'static Router,
    idle: Mutex<Vec<RouteQuery<'static>>>,
}

impl QueryPool {
    /// An empty pool on `router`, which lives as long as the process.
    pub fn new(router: &'static Router) -> Self {
        Self {
            router,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a query object.
    pub fn with<R>(&self, f: impl FnOnce(&mut RouteQuery<'static>) -> R) -> R {
        let taken = self.lock().pop();
        let mut query = taken.unwrap_or_else(|| RouteQuery::new(self.router));
        let result = f(&mut query);
        self.lock().push(query);
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RouteQuery<'static>>> {
        // A panic elsewhere cannot leave the list half-changed: push and
        // pop are whole operations.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
