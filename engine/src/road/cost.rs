//! The weight of a path: travel time first, road distance second.

use std::fmt;

/// The cost of driving a path: travel time in milliseconds, then road
/// distance in decimetres, packed into one `u64` (time in the high half).
///
/// Comparing packed values compares time first and breaks ties by distance,
/// so "the fastest path" has one well-defined distance even on grid-like
/// maps where many paths tie on time. Integer addition is associative, so a
/// contraction hierarchy sums to exactly what plain Dijkstra sums: the two are
/// equal bit for bit, not just within rounding. The distance half cannot
/// carry into the time half because a graph is refused when its total length
/// does not fit in 32 bits of decimetres (see [`Cost::MAX_TOTAL_DM`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cost(u64);

impl Cost {
    /// Nothing to drive.
    pub const ZERO: Cost = Cost(0);
    /// No path.
    pub const UNREACHABLE: Cost = Cost(u64::MAX);
    /// The largest total road length, in decimetres, a graph may have
    /// (429,496 km) so that no path's distance overflows its half.
    pub const MAX_TOTAL_DM: u64 = u32::MAX as u64;

    /// A cost from its parts.
    pub const fn new(time_ms: u32, distance_dm: u32) -> Self {
        Cost(((time_ms as u64) << 32) | distance_dm as u64)
    }

    /// The cost of driving `length_m` metres at `speed_kmh`.
    pub(crate) fn of_drive(length_m: f64, speed_kmh: f64) -> Self {
        let time_ms = length_m / (speed_kmh / 3.6) * 1000.0;
        Cost::new(saturate(time_ms), saturate(length_m * 10.0))
    }

    /// The cost of driving `fraction` (0..=1) of a segment that costs `self`
    /// in full; rounded to the nearest millisecond and decimetre.
    pub(crate) fn part(self, fraction: f64) -> Self {
        debug_assert!(self != Cost::UNREACHABLE);
        Cost::new(
            saturate(f64::from(self.time_ms()) * fraction),
            saturate(f64::from(self.distance_dm()) * fraction),
        )
    }

    /// Travel time in milliseconds.
    pub const fn time_ms(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Road distance in decimetres.
    pub const fn distance_dm(self) -> u32 {
        self.0 as u32
    }

    /// Travel time in seconds.
    pub fn seconds(self) -> f64 {
        f64::from(self.time_ms()) / 1000.0
    }

    /// Road distance in metres.
    pub fn metres(self) -> f64 {
        f64::from(self.distance_dm()) / 10.0
    }

    /// Whether this is a real path's cost.
    pub const fn is_reachable(self) -> bool {
        self.0 != u64::MAX
    }

    /// `None` for [`Cost::UNREACHABLE`].
    pub fn reachable(self) -> Option<Cost> {
        self.is_reachable().then_some(self)
    }

    /// The packed value, for storage.
    pub(crate) const fn to_bits(self) -> u64 {
        self.0
    }

    /// A cost from its packed value.
    pub(crate) const fn from_bits(bits: u64) -> Self {
        Cost(bits)
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;

    /// Unreachable stays unreachable; real sums never come near `u64::MAX`.
    #[inline]
    fn add(self, rhs: Cost) -> Cost {
        Cost(self.0.saturating_add(rhs.0))
    }
}

impl fmt::Debug for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_reachable() {
            write!(f, "{:.3}s/{:.1}m", self.seconds(), self.metres())
        } else {
            f.write_str("unreachable")
        }
    }
}

fn saturate(x: f64) -> u32 {
    // `as` saturates, and maps NaN to 0.
    x.round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_decides_and_distance_breaks_ties() {
        assert!(Cost::new(10, 900) < Cost::new(11, 1));
        assert!(Cost::new(10, 5) < Cost::new(10, 6));
        let sum = Cost::new(1000, 70) + Cost::new(500, 30);
        assert_eq!((sum.time_ms(), sum.distance_dm()), (1500, 100));
        assert_eq!(Cost::UNREACHABLE + Cost::new(1, 1), Cost::UNREACHABLE);
    }

    #[test]
    fn a_drive_costs_length_over_speed() {
        let c = Cost::of_drive(1000.0, 36.0);
        assert_eq!(c.time_ms(), 100_000);
        assert_eq!(c.distance_dm(), 10_000);
        let half = c.part(0.5);
        assert_eq!((half.seconds(), half.metres()), (50.0, 500.0));
    }
}
