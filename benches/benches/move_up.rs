//! Move-up advice after a change on the Jincheng scenario: the 39 units
//! with some away on calls (drawn with a fixed seed), the advice of up to
//! two moves under the scenario's budget, from building the question (the
//! free units' cells and drive times to the 100 posts) to the explained
//! plan. One move only (`max_moves = 1`, every single move scored) sits
//! beside it, so the pair search's share is a ratio measured in one run.
//! After criterion, a plain loop prints p50/p99/max of single calls, as
//! the target is a p50.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_engine::{
    AssignUnit, Command, DispatchConfig, DispatchState, IncidentId, MoveUpConfig, Priority,
    RouteQuery, Scenario, ScenarioOverrides, Stage, Stamped, Tier, World, jincheng,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: i64 = 1_795_622_400_000;

/// The state with `away` units (a seeded draw) each sent to a call.
fn with_units_away(world: &Arc<World>, query: &mut RouteQuery, away: usize) -> DispatchState {
    let mut state = DispatchState::new(Arc::clone(world), query);
    let mut rng = ChaCha8Rng::seed_from_u64(kuaifan_benches::SEED ^ away as u64);
    let mut slots: Vec<usize> = (0..world.scenario().units().len()).collect();
    for i in (1..slots.len()).rev() {
        slots.swap(i, rng.random_range(0..=i));
    }
    for (n, &slot) in slots.iter().take(away).enumerate() {
        let unit = &world.scenario().units().as_slice()[slot];
        let id = IncidentId(n as u64 + 1);
        for command in [
            Command::ReportIncident {
                location: unit.standby.location,
                priority: Priority::P2,
                category: "bench".into(),
                description: String::new(),
                caller_ref: String::new(),
            },
            Command::Advance {
                incident: id,
                stage: Stage::Registered,
                note: String::new(),
            },
            Command::Assign {
                incident: id,
                units: vec![AssignUnit {
                    unit: unit.id.to_string(),
                    tier: Tier::Handle,
                    goal: None,
                }],
                note: String::new(),
                register: false,
            },
        ] {
            let stamped = Stamped {
                at_ms: T0,
                actor: "bench".into(),
                command,
            };
            state.apply(query, &stamped).expect("a valid command");
        }
    }
    state
}

fn move_up(c: &mut Criterion) {
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("the built-in scenario loads");
    let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
    let mut query = RouteQuery::new(world.scenario().router());
    let budget = world.scenario().config().move_up;
    let one_move = MoveUpConfig {
        max_moves: 1,
        ..budget
    };
    let sweeps = [0usize, 6, 15, 25];
    let states: Vec<(usize, DispatchState)> = sweeps
        .iter()
        .map(|&away| (away, with_units_away(&world, &mut query, away)))
        .collect();
    let mut group = c.benchmark_group("move_up/jincheng");
    for (away, state) in &states {
        group.bench_function(BenchmarkId::new("advice", format!("{away}_away")), |b| {
            b.iter(|| black_box(state.move_up_advice(&mut query, T0).moves.len()))
        });
        group.bench_function(BenchmarkId::new("one_move", format!("{away}_away")), |b| {
            b.iter(|| {
                let problem = state.move_up_problem(&mut query, &[]);
                black_box(problem.map(|p| p.solve(&one_move).steps.len()))
            })
        });
    }
    group.finish();

    for (away, state) in &states {
        let mut times: Vec<f64> = (0..400)
            .map(|_| {
                let start = Instant::now();
                black_box(state.move_up_advice(&mut query, T0));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
        let advice = state.move_up_advice(&mut query, T0);
        println!(
            "move_up/jincheng/{away}_away single calls: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} moves considered, {} pairs evaluated, {} advised",
            q(0.5),
            q(0.99),
            q(1.0),
            advice.moves_considered,
            advice.pairs_evaluated,
            advice.moves.len()
        );
    }
}

criterion_group!(benches, move_up);
criterion_main!(benches);
