//! The doctrinal assignment against brute force on small cases: every
//! assignment of responders to crossings is tried, and the best by the
//! doctrine's order (rings closed innermost first, then crossings held,
//! then the latest arrival, then the preference for posts and teams) must
//! have the figures the fast assignment has, with and without a budget
//! of new units.

use kuaifan_engine::{
    CrossingNeed as Need, ResponderKind, ResponderSlot as Slot, RingAssignment as Assignment,
    UNREACHABLE_MS, assign_responders as assign, assign_responders_within as assign_within,
};
use proptest::prelude::*;

/// (closed rings, held, latest arrival, preference) of the best assignment,
/// by trying them all.
fn brute_force(needs: &[Need], slots: &[Slot], rings: u8) -> (u8, usize, u64, i64) {
    brute_force_within(needs, slots, rings, usize::MAX)
}

/// Whether the budget counts slot `k`: a unit holding no crossing now.
fn is_new_unit(slot: &Slot) -> bool {
    slot.kind == ResponderKind::Unit && slot.holds.is_none()
}

/// [`brute_force`] over the assignments that give crossings to at most
/// `budget` new units.
fn brute_force_within(
    needs: &[Need],
    slots: &[Slot],
    rings: u8,
    budget: usize,
) -> (u8, usize, u64, i64) {
    let n = needs.len();
    let usable = |s: usize, k: usize| {
        let t = slots[k].arrival_ms[s];
        t != UNREACHABLE_MS && needs[s].deadline_ms.is_none_or(|d| t <= d)
    };
    // Every assignment: each crossing none or a slot, capacities kept.
    let mut all: Vec<Vec<Option<usize>>> = Vec::new();
    let mut current = vec![None; n];
    fn walk(
        s: usize,
        current: &mut Vec<Option<usize>>,
        load: &mut Vec<u32>,
        slots: &[Slot],
        usable: &dyn Fn(usize, usize) -> bool,
        all: &mut Vec<Vec<Option<usize>>>,
    ) {
        if s == current.len() {
            all.push(current.clone());
            return;
        }
        current[s] = None;
        walk(s + 1, current, load, slots, usable, all);
        for k in 0..slots.len() {
            if load[k] < slots[k].capacity && usable(s, k) {
                load[k] += 1;
                current[s] = Some(k);
                walk(s + 1, current, load, slots, usable, all);
                load[k] -= 1;
                current[s] = None;
            }
        }
    }
    let mut load = vec![0; slots.len()];
    walk(0, &mut current, &mut load, slots, &usable, &mut all);
    all.retain(|a| {
        a.iter()
            .flatten()
            .filter(|&&k| is_new_unit(&slots[k]))
            .count()
            <= budget
    });
    let covers = |a: &[Option<usize>], mask: u8| {
        (0..n).all(|s| needs[s].rings & mask == 0 || a[s].is_some())
    };
    let mut closed = 0u8;
    for bit in [1u8, 2, 4] {
        if rings & bit != 0 && all.iter().any(|a| covers(a, closed | bit)) {
            closed |= bit;
        }
    }
    let score = |a: &Vec<Option<usize>>| {
        let mut held = 0;
        let mut latest = 0;
        let mut preference = 0;
        for s in 0..n {
            if needs[s].rings & rings == 0 {
                continue;
            }
            if let Some(k) = a[s] {
                held += 1;
                latest = latest.max(slots[k].arrival_ms[s]);
                preference += match slots[k].kind {
                    ResponderKind::Unit => 0,
                    ResponderKind::StationTeam => 1,
                    ResponderKind::StaffedPost => 2,
                };
            }
        }
        (held, std::cmp::Reverse(latest), preference)
    };
    let best = all
        .iter()
        .filter(|a| covers(a, closed))
        .map(score)
        .max()
        .unwrap_or((0, std::cmp::Reverse(0), 0));
    (closed, best.0, best.1.0, best.2)
}

/// The assignment is one: usable pairs, capacities kept, its figures its own.
fn check_consistent(a: &Assignment, needs: &[Need], slots: &[Slot]) {
    let new_units = a
        .holder
        .iter()
        .flatten()
        .filter(|&&k| is_new_unit(&slots[k]))
        .count();
    assert_eq!(a.new_units, new_units);
    let mut load = vec![0; slots.len()];
    let mut latest = 0;
    for (s, h) in a.holder.iter().enumerate() {
        if let Some(k) = *h {
            load[k] += 1;
            let t = slots[k].arrival_ms[s];
            assert_ne!(t, UNREACHABLE_MS);
            // Every crossing held in time has its responder there by the
            // deadline (the suspect's arrival less the margin).
            assert!(needs[s].deadline_ms.is_none_or(|d| t <= d));
            latest = latest.max(t);
        }
    }
    for (k, slot) in slots.iter().enumerate() {
        assert!(load[k] <= slot.capacity, "no responder holds two crossings");
    }
    assert_eq!(a.held, a.holder.iter().flatten().count());
    assert_eq!(a.latest_ms, latest);
    for (s, need) in needs.iter().enumerate() {
        if need.rings & a.closed != 0 {
            assert!(
                a.holder[s].is_some(),
                "a closed ring's crossing {s} is held"
            );
        }
    }
}

fn case() -> impl Strategy<Value = (Vec<Need>, Vec<Slot>, bool)> {
    (1usize..=5, 1usize..=4, any::<bool>()).prop_flat_map(|(n, k, lockdown)| {
        let needs = prop::collection::vec((1u8..8, 0u64..10), n);
        let kinds = prop::collection::vec(
            (
                prop_oneof![
                    Just(ResponderKind::Unit),
                    Just(ResponderKind::StationTeam),
                    Just(ResponderKind::StaffedPost)
                ],
                0u32..3,
                prop::collection::vec(prop_oneof![4 => 0u64..10, 1 => Just(UNREACHABLE_MS)], n),
                prop::option::of(0..n),
            ),
            k,
        );
        (needs, kinds).prop_map(move |(needs, kinds)| {
            let needs = needs
                .into_iter()
                .map(|(rings, deadline)| Need {
                    rings,
                    deadline_ms: (!lockdown).then_some(deadline),
                })
                .collect();
            let slots = kinds
                .into_iter()
                .map(|(kind, capacity, arrival_ms, holds)| Slot {
                    kind,
                    capacity,
                    arrival_ms,
                    holds,
                })
                .collect();
            (needs, slots, lockdown)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_assignment_equals_brute_force((needs, slots, _lockdown) in case(), rings in 1u8..8) {
        let a = assign(&needs, &slots, rings);
        check_consistent(&a, &needs, &slots);
        let (closed, held, latest, preference) = brute_force(&needs, &slots, rings);
        prop_assert_eq!((a.closed, a.held, a.latest_ms, a.preference), (closed, held, latest, preference));
    }

    #[test]
    fn the_assignment_within_a_budget_of_new_units_equals_brute_force(
        (needs, slots, _lockdown) in case(),
        rings in 1u8..8,
        budget in 0usize..4,
    ) {
        let a = assign_within(&needs, &slots, rings, budget);
        check_consistent(&a, &needs, &slots);
        prop_assert!(a.new_units <= budget, "{} new units over a budget of {budget}", a.new_units);
        let (closed, held, latest, preference) = brute_force_within(&needs, &slots, rings, budget);
        prop_assert_eq!((a.closed, a.held, a.latest_ms, a.preference), (closed, held, latest, preference));
    }
}

/// Two crossings of ring 1, each held in time by 10.
fn two_crossings_of_ring_1() -> Vec<Need> {
    vec![
        Need {
            rings: 1,
            deadline_ms: Some(10),
        };
        2
    ]
}

/// A responder of `kind` holding one crossing and none now.
fn slot(kind: ResponderKind, arrival_ms: Vec<u64>) -> Slot {
    Slot {
        kind,
        capacity: 1,
        arrival_ms,
        holds: None,
    }
}

#[test]
fn a_full_budget_sends_a_new_units_crossing_on_to_a_team() {
    // Two crossings; a budget of one new unit. Unit A (slot 0) reaches the
    // first, and so does the team, later; unit B (slot 1) only the
    // second. A takes the first; the second finds the budget full, and
    // the path back through it moves A's crossing to the team, so that B
    // can take the second: both held, one new unit.
    let needs = two_crossings_of_ring_1();
    let slots = vec![
        slot(ResponderKind::Unit, vec![2, UNREACHABLE_MS]),
        slot(ResponderKind::Unit, vec![UNREACHABLE_MS, 3]),
        slot(ResponderKind::StationTeam, vec![4, UNREACHABLE_MS]),
    ];
    let a = assign_within(&needs, &slots, 1, 1);
    assert_eq!((a.closed, a.held, a.new_units), (1, 2, 1));
    assert_eq!(a.holder, vec![Some(2), Some(1)]);
    assert_eq!(a.latest_ms, 4);
    assert_eq!(brute_force_within(&needs, &slots, 1, 1), (1, 2, 4, 1));
    // Without the budget, A holds the first: sooner.
    let free = assign(&needs, &slots, 1);
    assert_eq!(
        (free.holder.clone(), free.latest_ms),
        (vec![Some(0), Some(1)], 3)
    );
    // With none, only the team holds.
    let none = assign_within(&needs, &slots, 1, 0);
    assert_eq!((none.held, none.new_units), (1, 0));
    assert_eq!(none.holder, vec![Some(2), None]);
}

#[test]
fn a_lockdown_is_the_brute_force_bottleneck() {
    // Three crossings of one ring, three units. Holding the first two with
    // the nearest unit each (1 and 5) is worse than swapping them (2 and
    // 2); the third unit's 4 is then the bottleneck.
    let needs = vec![
        Need {
            rings: 1,
            deadline_ms: None,
        };
        3
    ];
    let unit = |arrival_ms: Vec<u64>| Slot {
        kind: ResponderKind::Unit,
        capacity: 1,
        arrival_ms,
        holds: None,
    };
    let slots = vec![
        unit(vec![1, 2, 9]),
        unit(vec![2, 5, 9]),
        unit(vec![9, 9, 4]),
    ];
    let a = assign(&needs, &slots, 1);
    assert_eq!((a.closed, a.held), (1, 3));
    assert_eq!(a.latest_ms, 4);
    assert_eq!(a.holder, vec![Some(1), Some(0), Some(2)]);
    assert_eq!(brute_force(&needs, &slots, 1).2, 4);
}

#[test]
fn a_free_team_takes_a_crossing_through_a_chain_of_exchanges() {
    // Two crossings, everyone there at 5. The matching first gives the
    // unit the first crossing and team A the second; team B reaches only
    // the second, team A both. B takes the second from A, A the first from
    // the unit: both held by teams, the unit free for 110 calls.
    let needs = two_crossings_of_ring_1();
    let slots = vec![
        slot(ResponderKind::Unit, vec![5, UNREACHABLE_MS]),
        slot(ResponderKind::StationTeam, vec![5, 5]),
        slot(ResponderKind::StationTeam, vec![UNREACHABLE_MS, 5]),
    ];
    let a = assign(&needs, &slots, 1);
    assert_eq!(a.holder, vec![Some(1), Some(2)]);
    assert_eq!(a.preference, 2);
    assert_eq!(brute_force(&needs, &slots, 1).3, 2);
}

#[test]
fn the_inner_ring_is_closed_first_even_if_the_outer_one_then_cannot_be() {
    // Ring 1 (bit 0) has one crossing, ring 2 (bit 1) another; one unit
    // reaches both in time. Doctrine: the innermost ring that can be
    // closed is closed.
    let needs = vec![
        Need {
            rings: 1,
            deadline_ms: Some(10),
        },
        Need {
            rings: 2,
            deadline_ms: Some(10),
        },
    ];
    let slots = vec![Slot {
        kind: ResponderKind::Unit,
        capacity: 1,
        arrival_ms: vec![9, 1],
        holds: None,
    }];
    let a = assign(&needs, &slots, 3);
    assert_eq!((a.closed, a.holder.clone()), (1, vec![Some(0), None]));
}

#[test]
fn a_present_holder_keeps_its_crossing_when_the_plan_is_as_good() {
    // Two units reach two crossings at the same times; the one holding
    // the second keeps it.
    let needs = vec![
        Need {
            rings: 1,
            deadline_ms: Some(10),
        };
        2
    ];
    let unit = |holds| Slot {
        kind: ResponderKind::Unit,
        capacity: 1,
        arrival_ms: vec![5, 5],
        holds,
    };
    let a = assign(&needs, &[unit(Some(1)), unit(None)], 1);
    assert_eq!(a.holder, vec![Some(1), Some(0)]);
    let b = assign(&needs, &[unit(None), unit(None)], 1);
    assert_eq!(b.holder, vec![Some(0), Some(1)]);
}
