//! The live coverage map against its references: a full recomputation
//! after every step of a random sequence of moves, removals and re-adds on
//! Jincheng; plain Dijkstra for a sample of cells; the standby count with
//! every unit at standby. And the heat map's window semantics.

mod common;

use std::sync::OnceLock;

use kuaifan_engine::{
    Cost, CoverageConfig, CoverageMap, CoverageMapError, Dijkstra, GapChange, HeatMap,
    HeatMapConfig, HeatMapError, LatLon, Refresh, Resolution, RouteQuery, Scenario,
    ScenarioOverrides, SnapConfig, Snapped, StandbyCoverage,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed of the random sequences, so a failure reproduces.
const SEED: u64 = 0x636f_7665_7261_6765;

/// The three targets of the 1-3-5 minute standard, in seconds.
const TARGETS: [u32; 3] = [60, 180, 300];

fn jincheng() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The map with every unit at its standby point.
fn at_standby(s: &Scenario, query: &mut RouteQuery) -> CoverageMap {
    let mut map = CoverageMap::new(s, &CoverageConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    map.recompute_all(query, &standby(s))
        .unwrap_or_else(|e| panic!("{e}"));
    map
}

fn standby(s: &Scenario) -> Vec<(usize, Option<Snapped>)> {
    s.standby_points()
        .iter()
        .map(|p| Some(*p))
        .enumerate()
        .collect()
}

/// A random location on a road in the zoned core: near a random cell's
/// centre.
fn somewhere(map: &CoverageMap, s: &Scenario, rng: &mut ChaCha8Rng) -> Snapped {
    loop {
        let cells = map.cells();
        let centre = cells[rng.random_range(0..cells.len())].centre;
        let at = LatLon::new(
            centre.lat() + rng.random_range(-0.002..0.002),
            centre.lon() + rng.random_range(-0.002..0.002),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        if let Ok(p) = s.router().graph().snap(at, &SnapConfig { limit_m: 300.0 }) {
            return p;
        }
    }
}

/// A location on a road within about `metres` of `near`.
fn nearby(s: &Scenario, near: &Snapped, metres: f64, rng: &mut ChaCha8Rng) -> Snapped {
    let deg = metres / 111_000.0 / 2.0;
    loop {
        let at = LatLon::new(
            near.point.lat() + rng.random_range(-deg..deg),
            near.point.lon() + rng.random_range(-deg..deg),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        if let Ok(p) = s.router().graph().snap(at, &SnapConfig { limit_m: 100.0 }) {
            return p;
        }
    }
}

/// Everything a reader can see, equal between two maps.
fn assert_same(map: &CoverageMap, reference: &CoverageMap, step: usize) {
    for slot in 0..map.slots() {
        assert_eq!(
            map.row(slot),
            reference.row(slot),
            "step {step}: row of slot {slot}"
        );
    }
    for cell in 0..map.cells().len() {
        assert_eq!(
            map.best(cell),
            reference.best(cell),
            "step {step}: best of cell {cell}"
        );
        assert_eq!(
            map.second_best(cell),
            reference.second_best(cell),
            "step {step}: second of cell {cell}"
        );
    }
    for seconds in TARGETS {
        assert_eq!(
            map.share_within(seconds),
            reference.share_within(seconds),
            "step {step}: share within {seconds} s"
        );
        for zone in 0..map.zone_count() {
            assert_eq!(
                map.zone_share_within(zone, seconds),
                reference.zone_share_within(zone, seconds),
                "step {step}: zone {zone} within {seconds} s"
            );
        }
        for slot in 0..map.slots() {
            assert_eq!(
                map.loss_without(slot, seconds),
                reference.loss_without(slot, seconds),
                "step {step}: loss without slot {slot} within {seconds} s"
            );
        }
        assert_eq!(
            map.gaps(seconds),
            reference.gaps(seconds),
            "step {step}: gaps within {seconds} s"
        );
    }
}

#[test]
fn incremental_updates_equal_a_full_recomputation_at_every_step() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let units = map.slots();
    assert_eq!(units, 39);
    let (mut moves, mut removals, mut readds, mut ties, mut jitters) = (0, 0, 0, 0, 0);
    for step in 0..300 {
        let slot = rng.random_range(0..units);
        let roll = rng.random_range(0..100);
        if !map.is_dispatchable(slot) {
            // Back on duty: at standby or somewhere else.
            let at = if roll < 50 {
                s.standby_points()[slot]
            } else {
                somewhere(&map, s, &mut rng)
            };
            map.set_unit(&mut query, slot, Some(&at))
                .unwrap_or_else(|e| panic!("{e}"));
            readds += 1;
        } else if roll < 20 {
            map.set_unit(&mut query, slot, None)
                .unwrap_or_else(|e| panic!("{e}"));
            removals += 1;
        } else if roll < 30 {
            // Onto another unit's spot: equal rows, ties broken by slot.
            let other = rng.random_range(0..units);
            let at = map
                .unit_at(other)
                .copied()
                .unwrap_or(s.standby_points()[other]);
            map.set_unit(&mut query, slot, Some(&at))
                .unwrap_or_else(|e| panic!("{e}"));
            ties += 1;
        } else if roll < 45 {
            // A small move, through the report path that may skip it.
            let from = *map.unit_at(slot).expect("dispatchable");
            let at = nearby(s, &from, 250.0, &mut rng);
            let expected = if map.needs_refresh(slot, &at) {
                Refresh::Recomputed
            } else {
                Refresh::Skipped
            };
            let did = map
                .report_unit(&mut query, slot, Some(&at))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(did, expected);
            jitters += 1;
        } else {
            let at = somewhere(&map, s, &mut rng);
            map.set_unit(&mut query, slot, Some(&at))
                .unwrap_or_else(|e| panic!("{e}"));
            moves += 1;
        }

        // The reference: every row recomputed from where the map holds
        // each unit, best and second-best from scratch.
        let positions: Vec<(usize, Option<Snapped>)> =
            (0..units).map(|u| (u, map.unit_at(u).copied())).collect();
        let mut reference = map.clone();
        reference
            .recompute_all(&mut query, &positions)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_same(&map, &reference, step);
    }
    let stats = map.stats();
    assert!(moves > 50 && removals > 20 && readds > 20 && ties > 10 && jitters > 20);
    assert!(stats.skips > 0 && stats.rescanned_cells > 0, "{stats:?}");
    assert_eq!(stats.refreshes + stats.skips, 300);
}

#[test]
fn rows_equal_plain_dijkstra_for_a_sample_of_cells() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    // Some units elsewhere, one not dispatchable.
    for slot in [3, 11, 27] {
        let at = somewhere(&map, s, &mut rng);
        map.set_unit(&mut query, slot, Some(&at))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    map.set_unit(&mut query, 5, None)
        .unwrap_or_else(|e| panic!("{e}"));

    let cells: Vec<usize> = (0..12)
        .map(|_| rng.random_range(0..map.cells().len()))
        .filter(|&c| map.cells()[c].snapped.is_some())
        .collect();
    assert!(cells.len() >= 8);
    let centres: Vec<Snapped> = cells
        .iter()
        .filter_map(|&c| map.cells()[c].snapped)
        .collect();
    let mut dijkstra = Dijkstra::new(s.router().graph());
    let mut best = vec![Vec::new(); cells.len()];
    for slot in 0..map.slots() {
        let Some(from) = map.unit_at(slot) else {
            assert_eq!(slot, 5);
            continue;
        };
        let reference = dijkstra.one_to_many(from, &centres);
        let row = map.row(slot).expect("dispatchable");
        for (i, &cell) in cells.iter().enumerate() {
            assert_eq!(row[cell], reference[i], "slot {slot} to cell {cell}");
            best[i].push((reference[i], slot));
        }
    }
    for (i, &cell) in cells.iter().enumerate() {
        best[i].sort();
        let reach = map.best(cell).expect("reached");
        assert_eq!((reach.eta, reach.slot), best[i][0]);
        let second = map.second_best(cell).expect("reached twice");
        assert_eq!((second.eta, second.slot), best[i][1]);
    }
}

#[test]
fn at_standby_the_map_counts_what_the_standby_coverage_counts() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let map = at_standby(s, &mut query);
    let standby = StandbyCoverage::compute(s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(map.cells().len(), standby.cells.len());
    for (i, (cell, reference)) in map.cells().iter().zip(&standby.cells).enumerate() {
        assert_eq!(
            (cell.cell, cell.zone, cell.snapped),
            (reference.cell, reference.zone, reference.snapped)
        );
        assert_eq!(
            map.best(i).map_or(Cost::UNREACHABLE, |r| r.eta),
            reference.eta,
            "cell {}",
            cell.cell
        );
    }
    assert_eq!(map.area_m2(), standby.overall.area_m2);
    for (i, &seconds) in TARGETS.iter().enumerate() {
        assert_eq!(
            Some(map.share_within(seconds)),
            standby.overall.share_within(i)
        );
        for (zone, z) in standby.zones.iter().enumerate() {
            assert_eq!(
                map.zone_share_within(zone, seconds),
                z.coverage.share_within(i)
            );
        }
    }
    assert!(map.share_within(180) > 0.5);
    // Tiling: every zone has cells, and they are the zone's own.
    for zone in 0..map.zone_count() {
        assert!(map.zone_cells(zone).iter().all(|c| c.zone == zone));
    }
    assert!(map.zone_cells(map.zone_count()).is_empty());
    assert_eq!(map.position(map.cells()[17].cell), Some(17));
}

#[test]
fn gaps_open_as_units_leave_and_close_as_they_return() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let before = map.gaps(60);
    let mut previous = before.clone();
    let mut entered = Vec::new();
    for slot in 0..map.slots() {
        let loss = map.loss_without(slot, 180);
        let share = map.share_within(180);
        map.set_unit(&mut query, slot, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!((share - map.share_within(180) - loss / map.area_m2()).abs() < 1e-12);
        let now = map.gaps(60);
        let change = GapChange::between(&previous, &now);
        assert!(change.cleared.is_empty(), "removing a unit covers nothing");
        entered.extend(change.entered);
        previous = now;
    }
    // Nobody left: every zone is a gap, and nothing is covered.
    let all: Vec<usize> = (0..map.zone_count()).collect();
    assert_eq!(map.gaps(300), all);
    assert_eq!(map.share_within(300), 0.0);
    assert!(map.best(0).is_none());
    entered.sort_unstable();
    assert_eq!(GapChange::between(&before, &all).entered, entered);

    // One unit back closes the gaps around it.
    let at = s.standby_points()[0];
    assert_eq!(
        map.report_unit(&mut query, 0, Some(&at)),
        Ok(Refresh::Recomputed)
    );
    let change = GapChange::between(&all, &map.gaps(300));
    assert!(!change.cleared.is_empty() && change.entered.is_empty());
    // Unit 0 alone: all that is reached is lost without it.
    let alone = map.loss_without(0, 300);
    assert!(alone > 0.0 && (alone / map.area_m2() - map.share_within(300)).abs() < 1e-12);
}

#[test]
fn reports_skip_small_moves_and_count_them() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 2);
    let home = s.standby_points()[7];
    let near = loop {
        let p = nearby(s, &home, 200.0, &mut rng);
        if p.point.haversine_m(home.point) < 100.0 {
            break p;
        }
    };
    let far = loop {
        let p = somewhere(&map, s, &mut rng);
        if p.point.haversine_m(home.point) > 1_000.0 {
            break p;
        }
    };
    let row = map.row(7).map(<[Cost]>::to_vec);
    assert!(!map.needs_refresh(7, &near));
    assert_eq!(
        map.report_unit(&mut query, 7, Some(&near)),
        Ok(Refresh::Skipped)
    );
    assert_eq!(
        map.row(7).map(<[Cost]>::to_vec),
        row,
        "a skipped report keeps the row"
    );
    assert_eq!(map.unit_at(7), Some(&home));
    assert_eq!(
        map.report_unit(&mut query, 7, Some(&far)),
        Ok(Refresh::Recomputed)
    );
    assert_eq!(map.unit_at(7), Some(&far));
    assert_eq!(
        map.report_unit(&mut query, 7, None),
        Ok(Refresh::Recomputed)
    );
    assert_eq!(map.report_unit(&mut query, 7, None), Ok(Refresh::Skipped));
    assert!(
        map.needs_refresh(7, &home),
        "a unit coming back is always computed"
    );
    assert_eq!(
        map.report_unit(&mut query, 7, Some(&home)),
        Ok(Refresh::Recomputed)
    );
    let stats = map.stats();
    assert_eq!((stats.refreshes, stats.skips, stats.rebuilds), (3, 2, 1));
}

#[test]
fn a_snapshot_shares_rows_and_does_not_see_later_updates() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let snapshot = map.clone();
    let shared = |a: &CoverageMap, b: &CoverageMap, slot| {
        std::ptr::eq(a.row(slot).expect("row"), b.row(slot).expect("row"))
    };
    assert!(shared(&map, &snapshot, 0) && shared(&map, &snapshot, 1));
    let share = snapshot.share_within(180);
    map.set_unit(&mut query, 0, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 3);
    let at = somewhere(&map, s, &mut rng);
    map.set_unit(&mut query, 1, Some(&at))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(snapshot.is_dispatchable(0));
    assert_eq!(snapshot.unit_at(1), Some(&s.standby_points()[1]));
    assert_eq!(snapshot.share_within(180), share);
    assert!(shared(&map, &snapshot, 2) && !shared(&map, &snapshot, 1));
}

#[test]
fn bad_slots_and_foreign_queries_are_refused() {
    let s = jincheng();
    let mut query = RouteQuery::new(s.router());
    let mut map = at_standby(s, &mut query);
    let at = s.standby_points()[0];
    assert_eq!(
        map.set_unit(&mut query, 39, Some(&at)),
        Err(CoverageMapError::UnknownSlot {
            slot: 39,
            slots: 39
        })
    );
    assert_eq!(
        map.report_unit(&mut query, usize::MAX, None),
        Err(CoverageMapError::UnknownSlot {
            slot: usize::MAX,
            slots: 39
        })
    );
    // A refused rebuild changes nothing.
    let share = map.share_within(180);
    assert!(
        map.recompute_all(&mut query, &[(0, None), (40, None)])
            .is_err()
    );
    assert_eq!(map.share_within(180), share);
    assert!(map.is_dispatchable(0));

    let tiny = Scenario::load(
        &common::fixture("scenario").join("valid"),
        &ScenarioOverrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut other = RouteQuery::new(tiny.router());
    assert_eq!(
        map.set_unit(&mut other, 0, Some(&at)),
        Err(CoverageMapError::OtherNetwork)
    );
    assert_eq!(map.best(usize::MAX), None);
    assert_eq!(map.zone_share_within(usize::MAX, 60), None);
    assert_eq!(map.loss_without(usize::MAX, 60), 0.0);
}

fn cell(lat: f64, lon: f64) -> kuaifan_engine::CellIndex {
    h3o::LatLng::new(lat, lon)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_cell(Resolution::Nine)
}

#[test]
fn heat_map_windows_are_half_open_and_out_of_order_events_count() {
    let mut heat = HeatMap::new(HeatMapConfig::default());
    let (a, b) = (cell(35.49, 112.85), cell(35.51, 112.87));
    heat.record(a, 10_000).unwrap();
    heat.record(b, 20_000).unwrap();
    heat.record(a, 30_000).unwrap();
    // Late, out of order.
    heat.record(b, 15_000).unwrap();
    let counts = |heat: &HeatMap, now, window| heat.counts(now, window).unwrap();
    // (now - window, now]: an event exactly `window` ago is out, one at
    // `now` is in, one after `now` is out.
    assert_eq!(counts(&heat, 30_000, 20_000), {
        let mut v = vec![(a, 1), (b, 2)];
        v.sort();
        v
    });
    assert_eq!(counts(&heat, 30_000, 20_001), {
        let mut v = vec![(a, 2), (b, 2)];
        v.sort();
        v
    });
    assert_eq!(counts(&heat, 20_000, 5_000), vec![(b, 1)]);
    assert_eq!(counts(&heat, 14_999, 100_000), vec![(a, 1)]);
    assert!(counts(&heat, 9_999, 1_000).is_empty());
    // Ordered by cell.
    let all = counts(&heat, 40_000, 40_000);
    assert_eq!(all.len(), 2);
    assert!(all[0].0 < all[1].0);
    // A finer cell counts in its parent; a coarser one is refused.
    let fine = h3o::LatLng::new(35.49, 112.85)
        .unwrap()
        .to_cell(Resolution::Twelve);
    assert_eq!(heat.record(fine, 31_000), Ok(a));
    let coarse = a.parent(Resolution::Five).unwrap();
    assert!(matches!(
        heat.record(coarse, 31_000),
        Err(HeatMapError::CoarserCell { .. })
    ));
    let at = LatLon::new(35.49, 112.85).unwrap();
    assert_eq!(heat.record_at(at, 32_000), Ok(a));
    assert_eq!(counts(&heat, 40_000, 10_000), vec![(a, 2)]);
    assert_eq!(counts(&heat, 40_000, 10_001), vec![(a, 3)]);
}

#[test]
fn heat_map_memory_is_bounded_by_the_horizon_and_the_cap() {
    let config = HeatMapConfig {
        horizon_ms: 60_000,
        max_events: 100,
        ..HeatMapConfig::default()
    };
    let mut heat = HeatMap::new(config);
    let a = cell(35.49, 112.85);
    for t in 0..50i64 {
        heat.record(a, t * 1_000).unwrap();
    }
    // Nothing is dropped yet, but only the horizon behind the newest event
    // (49 s) is promised: windows reaching further back are refused.
    assert_eq!((heat.len(), heat.dropped_to_ms()), (50, Some(-11_000)));
    assert_eq!(heat.counts(49_000, 60_000).unwrap(), vec![(a, 50)]);
    assert!(heat.counts(49_000, 60_001).is_err());
    assert!(heat.counts(49_000, u64::MAX).is_err());
    heat.record(a, 70_000).unwrap();
    // Events at or before 70 s - 60 s are gone.
    assert_eq!(heat.dropped_to_ms(), Some(10_000));
    assert_eq!(heat.len(), 40);
    assert_eq!(heat.counts(70_000, 60_000).unwrap(), vec![(a, 40)]);
    assert!(matches!(
        heat.counts(70_000, 60_001),
        Err(HeatMapError::BeyondHorizon {
            dropped_to_ms: 10_000,
            ..
        })
    ));
    assert!(matches!(
        heat.record(a, 10_000),
        Err(HeatMapError::Expired {
            at_ms: 10_000,
            dropped_to_ms: 10_000
        })
    ));
    heat.record(a, 10_001).unwrap();
    // A quiet map gives memory back.
    heat.prune(1_000_000);
    assert!(heat.is_empty());
    assert_eq!(heat.counts(1_000_000, 60_000).unwrap(), vec![]);

    // The cap drops the oldest and refuses windows that reach them.
    let mut heat = HeatMap::new(HeatMapConfig {
        horizon_ms: u64::MAX,
        max_events: 100,
        ..HeatMapConfig::default()
    });
    for t in 1..=150i64 {
        heat.record(a, t).unwrap();
    }
    assert_eq!(
        (heat.len(), heat.overflowed(), heat.dropped_to_ms()),
        (100, 50, Some(50))
    );
    assert_eq!(heat.counts(150, 100).unwrap(), vec![(a, 100)]);
    assert!(heat.counts(150, 101).is_err());
}
