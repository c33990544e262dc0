//! The incident half of the live map (警情云图): how many incidents each H3
//! cell had over a recent window, for the heat layer beside the coverage.
//!
//! Times are milliseconds as `i64`, as commands are stamped
//! ([`crate::Stamped::at_ms`]); lengths (windows, the horizon) are `u64`.
//!
//! Events are kept in time order and only as long as the longest window
//! asked about (the horizon), with a cap on their number, so memory stays
//! bounded whatever the incident rate.

use std::collections::VecDeque;

use h3o::{CellIndex, LatLng, Resolution};

use crate::geo::LatLon;

/// Options of a [`HeatMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeatMapConfig {
    /// The cells' resolution (9 by default, as the coverage map's).
    pub resolution: Resolution,
    /// The longest window counts can be asked for, in milliseconds (24 h by
    /// default); older events are dropped.
    pub horizon_ms: u64,
    /// The most events kept (1,000,000 by default, 16 MB); beyond it the
    /// oldest are dropped early, and windows reaching back to them are
    /// refused rather than undercounted. At least one is always kept.
    pub max_events: usize,
}

impl Default for HeatMapConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::Nine,
            horizon_ms: 24 * 3600 * 1000,
            max_events: 1_000_000,
        }
    }
}

/// Why a heat map refused an event or a count.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HeatMapError {
    /// The event is at or before the time up to which events are dropped.
    #[error("incident at {at_ms} ms is too old: events up to {dropped_to_ms} ms are dropped")]
    Expired {
        /// The event's time.
        at_ms: i64,
        /// Events at or before this time are no longer kept.
        dropped_to_ms: i64,
    },
    /// The window reaches back to events no longer kept.
    #[error(
        "a window of {window_ms} ms before {now_ms} ms reaches back past {dropped_to_ms} ms, up to which events are dropped"
    )]
    BeyondHorizon {
        /// The window's end.
        now_ms: i64,
        /// Its length.
        window_ms: u64,
        /// Events at or before this time are no longer kept.
        dropped_to_ms: i64,
    },
    /// The cell is coarser than the map's cells, so it cannot be counted
    /// in one of them.
    #[error("cell {cell} is coarser than the heat map's resolution {resolution}")]
    CoarserCell {
        /// The cell given.
        cell: CellIndex,
        /// The map's resolution.
        resolution: Resolution,
    },
    /// h3o refused the location (it takes any finite coordinates, which a
    /// [`LatLon`] always is, so this is not expected).
    #[error("cannot place the location in a cell: {0}")]
    Location(#[from] h3o::error::InvalidLatLng),
}

/// Incident counts per H3 cell over sliding time windows (times in
/// milliseconds, on any clock the caller keeps to).
///
/// A count over `window_ms` at `now_ms` covers the events at times `t` with
/// `now_ms - window_ms < t <= now_ms`. Events at or before the drop time
/// ([`HeatMap::dropped_to_ms`]: the newest event's time, or
/// [`HeatMap::prune`]'s `now_ms`, minus [`HeatMapConfig::horizon_ms`], or
/// the oldest events dropped beyond [`HeatMapConfig::max_events`]) are not
/// kept, so a count whose window starts before the drop time is refused
/// rather than undercounted.
///
/// ```
/// use kuaifan_engine::{HeatMap, HeatMapConfig, LatLon};
/// let mut heat = HeatMap::new(HeatMapConfig::default());
/// let cell = heat.record_at(LatLon::new(35.49, 112.85)?, 1_000)?;
/// heat.record(cell, 61_000)?;
/// assert_eq!(heat.counts(61_000, 60_000)?, vec![(cell, 1)]);
/// assert_eq!(heat.counts(61_000, 60_001)?, vec![(cell, 2)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct HeatMap {
    config: HeatMapConfig,
    /// Sorted by time; events of the same time in the order recorded.
    events: VecDeque<(i64, CellIndex)>,
    /// Events at or before this time have been dropped (or may have been).
    dropped_to_ms: Option<i64>,
    /// Events dropped because of [`HeatMapConfig::max_events`].
    overflowed: u64,
}

impl HeatMap {
    /// An empty heat map.
    pub fn new(config: HeatMapConfig) -> HeatMap {
        HeatMap {
            config,
            events: VecDeque::new(),
            dropped_to_ms: None,
            overflowed: 0,
        }
    }

    /// The options.
    pub fn config(&self) -> &HeatMapConfig {
        &self.config
    }

    /// Records an incident in `cell` at `at_ms`; a finer cell counts in its
    /// parent at the map's resolution. Returns the cell counted in.
    ///
    /// Events may arrive out of order; one at or before the drop time is
    /// refused.
    pub fn record(&mut self, cell: CellIndex, at_ms: i64) -> Result<CellIndex, HeatMapError> {
        let resolution = self.config.resolution;
        let cell = cell
            .parent(resolution)
            .ok_or(HeatMapError::CoarserCell { cell, resolution })?;
        if let Some(dropped_to_ms) = self.dropped_to_ms
            && at_ms <= dropped_to_ms
        {
            return Err(HeatMapError::Expired {
                at_ms,
                dropped_to_ms,
            });
        }
        // Late events are rare and the queue short: a sorted insert.
        let at = self.events.partition_point(|&(t, _)| t <= at_ms);
        self.events.insert(at, (at_ms, cell));
        if let Some(&(newest, _)) = self.events.back() {
            self.drop_through(newest.checked_sub_unsigned(self.config.horizon_ms));
        }
        while self.events.len() > self.config.max_events.max(1) {
            if let Some((t, _)) = self.events.pop_front() {
                self.overflowed += 1;
                self.raise_drop_time(t);
            }
        }
        Ok(cell)
    }

    /// Its events (time, cell), oldest first, the drop time and the
    /// overflow count: what a snapshot keeps.
    pub(crate) fn parts(&self) -> (Vec<(i64, u64)>, Option<i64>, u64) {
        (
            self.events
                .iter()
                .map(|&(t, c)| (t, u64::from(c)))
                .collect(),
            self.dropped_to_ms,
            self.overflowed,
        )
    }

    /// A heat map rebuilt from [`HeatMap::parts`]; a cell index that is not
    /// one is an error naming it.
    pub(crate) fn from_parts(
        config: HeatMapConfig,
        events: &[(i64, u64)],
        dropped_to_ms: Option<i64>,
        overflowed: u64,
    ) -> Result<HeatMap, String> {
        let events = events
            .iter()
            .map(|&(t, c)| {
                CellIndex::try_from(c)
                    .map(|cell| (t, cell))
                    .map_err(|_| format!("{c:#x} is not an H3 cell"))
            })
            .collect::<Result<VecDeque<_>, _>>()?;
        Ok(HeatMap {
            config,
            events,
            dropped_to_ms,
            overflowed,
        })
    }

    /// Records an incident at a location, in the cell holding it.
    pub fn record_at(&mut self, at: LatLon, at_ms: i64) -> Result<CellIndex, HeatMapError> {
        let cell = LatLng::new(at.lat(), at.lon())?.to_cell(self.config.resolution);
        self.record(cell, at_ms)
    }

    /// Drops the events at or before `now_ms` minus the horizon, so that a
    /// quiet map also gives memory back.
    pub fn prune(&mut self, now_ms: i64) {
        self.drop_through(now_ms.checked_sub_unsigned(self.config.horizon_ms));
    }

    fn drop_through(&mut self, cut_ms: Option<i64>) {
        let Some(cut_ms) = cut_ms else { return };
        while self.events.front().is_some_and(|&(t, _)| t <= cut_ms) {
            self.events.pop_front();
        }
        self.raise_drop_time(cut_ms);
    }

    fn raise_drop_time(&mut self, t: i64) {
        self.dropped_to_ms = Some(self.dropped_to_ms.map_or(t, |d| d.max(t)));
    }

    /// The incidents per cell in the window `(now_ms - window_ms, now_ms]`,
    /// by cell index, only cells with at least one.
    pub fn counts(
        &self,
        now_ms: i64,
        window_ms: u64,
    ) -> Result<Vec<(CellIndex, u32)>, HeatMapError> {
        // `None`: the window reaches back beyond the clock's range, to all time.
        let start = now_ms.checked_sub_unsigned(window_ms);
        if let Some(dropped_to_ms) = self.dropped_to_ms
            && start.is_none_or(|s| s < dropped_to_ms)
        {
            return Err(HeatMapError::BeyondHorizon {
                now_ms,
                window_ms,
                dropped_to_ms,
            });
        }
        let from = start.map_or(0, |s| self.events.partition_point(|&(t, _)| t <= s));
        let to = self.events.partition_point(|&(t, _)| t <= now_ms);
        let mut cells: Vec<CellIndex> = self
            .events
            .range(from..to.max(from))
            .map(|&(_, c)| c)
            .collect();
        cells.sort_unstable();
        let mut counts: Vec<(CellIndex, u32)> = Vec::new();
        for cell in cells {
            match counts.last_mut() {
                Some((c, n)) if *c == cell => *n = n.saturating_add(1),
                _ => counts.push((cell, 1)),
            }
        }
        Ok(counts)
    }

    /// The number of events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is kept.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events at or before this time are not kept (the newest event's time
    /// minus the horizon, or later after [`HeatMap::prune`] or an overflow);
    /// `None` before the first event, or while the horizon reaches beyond
    /// the clock's range.
    pub fn dropped_to_ms(&self) -> Option<i64> {
        self.dropped_to_ms
    }

    /// How many events were dropped early because of
    /// [`HeatMapConfig::max_events`].
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}
