//! The drill with a dispatcher who takes every move-up the engine
//! advises: the engine refuses none of them, each keeps the scenario's
//! budget (moves per change, drive limit, hold time), the units stand by
//! where the engine says they do, and a drill without move-ups takes none.

mod common;

use std::collections::BTreeMap;

use common::jincheng_world as world;
use kuaifan_sim::drill::{DrillConfig, DrillSummary, html, run};

/// Three hours of the evening peak's build-up from midnight: enough calls
/// for the fleet to thin out and advice to follow.
fn config(move_up: bool) -> DrillConfig {
    DrillConfig {
        seed: 356,
        hours: 3.0,
        calls_per_day: Some(1_200.0),
        move_up,
        ..DrillConfig::default()
    }
}

#[test]
fn every_move_up_advised_is_taken_within_the_budget() {
    let world = world();
    let budget = world.scenario().config().move_up;
    let outcome = run(&world, &config(true));
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(
        outcome.move_ups.len() >= 5,
        "the fleet thins out and advice follows: {} moves",
        outcome.move_ups.len()
    );

    let mut per_moment: BTreeMap<u64, usize> = BTreeMap::new();
    let mut last_move: BTreeMap<usize, f64> = BTreeMap::new();
    for taken in &outcome.move_ups {
        *per_moment.entry(taken.at_s as u64).or_default() += 1;
        assert!(
            taken.drive_s <= f64::from(budget.drive_limit_s),
            "a move beyond the drive limit: {taken:?}"
        );
        if let Some(before) = last_move.insert(taken.unit, taken.at_s) {
            assert!(
                taken.at_s - before >= f64::from(budget.hold_s),
                "unit {} moved again {} s after its last move (hold {} s)",
                taken.unit,
                taken.at_s - before,
                budget.hold_s
            );
        }
    }
    let most = per_moment.values().copied().max().unwrap_or(0);
    assert!(
        most <= budget.max_moves,
        "{most} moves at one moment, budget {}",
        budget.max_moves
    );

    // Where each unit was last moved is its post in the engine's state,
    // unless it was sent since (a dispatch keeps the post) or moved again.
    let state = &outcome.state;
    for &unit in last_move.keys() {
        let last = outcome
            .move_ups
            .iter()
            .rev()
            .find(|m| m.unit == unit)
            .expect("a move of the unit");
        assert_eq!(state.post_of(unit), last.post, "unit {unit}");
    }
    // No two free units stand by at one post. A unit on its way back is
    // not standing by yet: a dispatch keeps its post, and another unit
    // may have been moved there while it was away (the advice when it is
    // back weighs the two).
    let mut at_post: BTreeMap<usize, usize> = BTreeMap::new();
    for (slot, unit) in state.units().iter().enumerate() {
        if unit.is_free() && unit.status != kuaifan_engine::UnitStatus::Returning {
            let other = at_post.insert(state.post_of(slot), slot);
            assert!(other.is_none(), "units {other:?} and {slot} share a post");
        }
    }

    let summary = DrillSummary::new(&config(true), &outcome);
    assert_eq!(summary.move_ups, outcome.move_ups.len() as u64);
    assert!(summary.move_up_km > 0.0 && summary.move_up_km < summary.driven_km);

    // The report maps every move and sets the coverage beside the same
    // day without move-ups.
    let without = DrillSummary::new(&config(false), &run(&world, &config(false)));
    let page = html(&world, &outcome, &summary, Some(&without));
    assert!(!page.contains("could not draw"));
    assert!(page.contains(&format!("Move-ups taken: {} moves", outcome.move_ups.len())));
    assert!(page.contains("the same day without move-ups"));
    assert_eq!(
        page.matches("<svg").count(),
        8,
        "the seven plots and the moves"
    );
    assert!(
        page.matches("<circle").count() >= summary.incidents + outcome.move_ups.len(),
        "every incident and every post moved to"
    );
    let plain = html(&world, &outcome, &summary, None);
    assert!(!plain.contains("the same day without move-ups"));
}

#[test]
fn a_drill_without_move_ups_takes_none_and_still_counts_its_kilometres() {
    let world = world();
    let outcome = run(&world, &config(false));
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(outcome.move_ups.is_empty());
    assert!(
        (0..outcome.state.units().len()).all(|slot| outcome.state.post_of(slot) == slot),
        "every unit at its own standby point"
    );
    let summary = DrillSummary::new(&config(false), &outcome);
    // 39 units patrolling and answering calls for three hours.
    assert!(summary.driven_km > 100.0, "{} km", summary.driven_km);
    assert_eq!(summary.move_up_km, 0.0);
}
