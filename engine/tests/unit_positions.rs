//! Unit positions against brute force: after every one of thousands of
//! random moves and removals (fixed seed), nearest-k and within-radius
//! answers equal a scan of all units by haversine distance, ties included.

use std::collections::BTreeMap;

use kuaifan_engine::{LatLon, UnitPositions};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 0x6b75_6169_6661_6e34;

/// Every unit by distance then slot, the order the index promises.
fn by_distance(units: &BTreeMap<usize, LatLon>, at: LatLon) -> Vec<(usize, f64)> {
    let mut all: Vec<(usize, f64)> = units
        .iter()
        .map(|(&slot, &p)| (slot, at.haversine_m(p)))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all
}

/// A location: mostly in Jincheng's core, some on a coarse grid (so that
/// several units share a spot and distances tie), some anywhere on Earth.
fn location(rng: &mut ChaCha8Rng) -> LatLon {
    let (lat, lon) = match rng.random_range(0..10) {
        0..6 => (
            rng.random_range(35.43..35.56),
            rng.random_range(112.76..112.94),
        ),
        6..9 => (
            35.43 + 0.01 * f64::from(rng.random_range(0..13u8)),
            112.76 + 0.01 * f64::from(rng.random_range(0..18u8)),
        ),
        _ => (
            rng.random_range(-90.0..=90.0),
            rng.random_range(-180.0..=180.0),
        ),
    };
    LatLon::new(lat, lon).expect("in range")
}

#[test]
fn random_moves_and_queries_equal_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut units = UnitPositions::new();
    let mut reference: BTreeMap<usize, LatLon> = BTreeMap::new();
    let (mut nearest_checked, mut within_checked, mut ties) = (0, 0, 0);
    for step in 0..30_000 {
        let slot = rng.random_range(0..300usize);
        match rng.random_range(0..10) {
            0..5 => {
                let at = location(&mut rng);
                assert_eq!(units.update(slot, at), reference.insert(slot, at), "{step}");
            }
            5..7 => {
                assert_eq!(units.remove(slot), reference.remove(&slot), "{step}");
            }
            7..9 => {
                let at = location(&mut rng);
                let k = rng.random_range(0..12usize);
                let all = by_distance(&reference, at);
                let expected: Vec<(usize, f64)> = all.iter().copied().take(k).collect();
                if all.len() > k && k > 0 && all[k].1 == all[k - 1].1 {
                    ties += 1;
                }
                assert_eq!(
                    units.nearest(at, k),
                    expected,
                    "step {step}: {k} nearest {at}"
                );
                nearest_checked += 1;
            }
            _ => {
                let at = location(&mut rng);
                let radius_m = match rng.random_range(0..4) {
                    0 => 0.0,
                    1 => rng.random_range(0.0..2_000.0),
                    2 => rng.random_range(0.0..20_000.0),
                    _ => rng.random_range(0.0..25_000_000.0),
                };
                let expected: Vec<usize> = by_distance(&reference, at)
                    .into_iter()
                    .filter(|&(_, d)| d <= radius_m)
                    .map(|(slot, _)| slot)
                    .collect();
                assert_eq!(
                    units.within(at, radius_m),
                    expected,
                    "step {step}: {radius_m} m of {at}"
                );
                within_checked += 1;
            }
        }
        assert_eq!(units.len(), reference.len());
        assert_eq!(units.get(slot), reference.get(&slot).copied());
    }
    assert!(nearest_checked > 5_000 && within_checked > 2_000);
    // The grid puts several units on one spot: ties at the k-th place occur
    // and are broken by slot, as in the scan.
    assert!(ties > 100, "{ties}");
    let mut listed: Vec<(usize, LatLon)> = units.iter().collect();
    listed.sort_by_key(|&(slot, _)| slot);
    assert_eq!(listed, reference.into_iter().collect::<Vec<_>>());
}

#[test]
fn a_unit_on_the_spot_is_at_zero_metres_and_radius_edge_cases_hold() {
    let mut units = UnitPositions::new();
    let here = LatLon::new(35.49, 112.85).expect("valid");
    let antipode = LatLon::new(-35.49, -67.15).expect("valid");
    units.update(7, here);
    units.update(3, antipode);
    assert_eq!(
        units.nearest(here, 5),
        [(7, 0.0), (3, here.haversine_m(antipode))]
    );
    assert_eq!(units.within(here, 0.0), [7]);
    assert_eq!(units.within(here, f64::INFINITY), [7, 3]);
    assert_eq!(units.within(here, -1.0), Vec::<usize>::new());
    assert_eq!(units.within(here, f64::NAN), Vec::<usize>::new());
    assert_eq!(units.nearest(here, 0), []);
    assert_eq!(units.nearest(here, usize::MAX).len(), 2);
    assert_eq!(units.remove(7), Some(here));
    assert_eq!(units.remove(7), None);
    assert_eq!(units.nearest(here, 1)[0].0, 3);
    assert!(UnitPositions::new().nearest(here, 3).is_empty());
}
