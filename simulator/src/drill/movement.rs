//! A unit driving a road route: where it is at any second. The route and
//! its duration come from the engine's fastest path at the profile's
//! speeds; along it the unit moves at the route's average speed, so it
//! arrives exactly when the engine's ETA says.

use kuaifan_engine::{LatLon, RouteQuery, Snapped};

/// A timed drive along a polyline.
#[derive(Clone, Debug, PartialEq)]
pub struct Drive {
    points: Vec<LatLon>,
    /// Metres from the start to each point.
    along_m: Vec<f64>,
    /// When it leaves, seconds from the start of the drill.
    pub start_s: f64,
    /// How long it takes.
    pub duration_s: f64,
}

impl Drive {
    /// The fastest route from `from` to `to`, leaving at `start_s` and
    /// taking `slowdown` times its free-flow time (1 for a response, more
    /// for a patrol). `None` when there is no route.
    pub fn plan(
        query: &mut RouteQuery<'_>,
        from: &Snapped,
        to: &Snapped,
        start_s: f64,
        slowdown: f64,
    ) -> Option<Drive> {
        let route = query.route(from, to)?;
        if route.polyline.is_empty() {
            return None;
        }
        let mut along_m = Vec::with_capacity(route.polyline.len());
        let mut total = 0.0;
        for (i, p) in route.polyline.iter().enumerate() {
            if i > 0 {
                total += route.polyline[i - 1].haversine_m(*p);
            }
            along_m.push(total);
        }
        Some(Drive {
            points: route.polyline,
            along_m,
            start_s,
            duration_s: route.cost.seconds() * slowdown,
        })
    }

    /// Its length, metres.
    pub fn length_m(&self) -> f64 {
        self.along_m.last().copied().unwrap_or(0.0)
    }

    /// When it arrives.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }

    /// Where the unit is at `t_s`: the start before it leaves, the end
    /// after it arrives.
    pub fn position(&self, t_s: f64) -> LatLon {
        // `plan` keeps only routes with points.
        let (first, last) = (self.points[0], self.points[self.points.len() - 1]);
        if self.duration_s <= 0.0 || t_s <= self.start_s {
            return first;
        }
        if t_s >= self.end_s() {
            return last;
        }
        let total = self.along_m.last().copied().unwrap_or(0.0);
        let target = total * (t_s - self.start_s) / self.duration_s;
        let i = self.along_m.partition_point(|&m| m <= target).max(1);
        if i >= self.points.len() {
            return last;
        }
        let (a, b) = (self.along_m[i - 1], self.along_m[i]);
        let f = if b > a { (target - a) / (b - a) } else { 0.0 };
        let (p, q) = (self.points[i - 1], self.points[i]);
        LatLon::new(
            p.lat() + (q.lat() - p.lat()) * f,
            p.lon() + (q.lon() - p.lon()) * f,
        )
        .unwrap_or(p)
    }
}
