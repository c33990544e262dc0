//! The in-process drill on the Jincheng scenario: the same seed gives the
//! same day byte for byte, the engine refuses nothing the drill does, and
//! the day's figures hold together.

mod common;

use common::jincheng_world as world;
use kuaifan_engine::{Policy, RouteQuery, Stage, Tier};
use kuaifan_sim::drill::{
    DAY_S, DrillConfig, DrillSummary, Drive, OnScene, PriorityMix, RoutineResponder,
    SuspectsConfig, compare, daily_profile, generate, run,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn short(seed: u64) -> DrillConfig {
    DrillConfig {
        seed,
        hours: 2.0,
        ..DrillConfig::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_day_byte_for_byte() {
    let world = world();
    let json = |config: &DrillConfig| {
        let outcome = run(&world, config);
        serde_json::to_string(&DrillSummary::new(config, &outcome)).unwrap()
    };
    let first = json(&short(7));
    assert_eq!(first, json(&short(7)));
    assert_ne!(first, json(&short(8)));
}

#[test]
fn a_drill_runs_every_case_through_the_loop_and_the_engine_refuses_nothing() {
    let world = world();
    let config = short(356);
    let outcome = run(&world, &config);
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    let incidents: Vec<_> = outcome.state.incidents().collect();
    // The stations answer the P3 calls; the units get every other.
    let routine = outcome
        .arrivals
        .iter()
        .filter(|a| a.priority == kuaifan_engine::Priority::P3)
        .count();
    assert_eq!(outcome.routine_calls, routine);
    assert_eq!(incidents.len() + routine, outcome.arrivals.len());
    assert!(
        incidents
            .iter()
            .all(|i| i.priority != kuaifan_engine::Priority::P3)
    );
    // 600 calls a day at the night-time rate: about 32 an hour.
    let calls = outcome.arrivals.len();
    assert!((30..=110).contains(&calls), "{calls}");
    let closed: Vec<_> = incidents.iter().filter(|i| !i.is_open()).collect();
    assert!(
        closed.len() * 2 > incidents.len(),
        "most cases close within the drill"
    );
    for incident in &closed {
        let stages: Vec<Stage> = incident.history.iter().map(|t| t.stage).collect();
        assert_eq!(stages, Stage::ALL.to_vec(), "incident {}", incident.id);
        // Units leave only after the turnout delay.
        for a in &incident.assignments {
            if let Some(s) = a.response_s() {
                assert!(
                    s >= config.turnout_s,
                    "{} s for incident {}",
                    s,
                    incident.id
                );
            }
        }
        assert!(incident.assignments.iter().any(|a| a.tier == Tier::Handle));
    }
    // No unit is on two open incidents at the end.
    let mut on: Vec<usize> = incidents
        .iter()
        .filter(|i| i.is_open())
        .flat_map(|i| {
            i.assignments
                .iter()
                .map(|a| a.unit)
                .filter(|&u| outcome.state.units()[u].incident == Some(i.id))
        })
        .collect();
    let before = on.len();
    on.sort_unstable();
    on.dedup();
    assert_eq!(before, on.len());
    let summary = DrillSummary::new(&config, &outcome);
    assert!(summary.utilisation.iter().all(|u| (0.0..=1.0).contains(u)));
    assert_eq!(summary.coverage.len(), 9, "a sample every 15 min over 2 h");
    let handled: usize = summary.first_unit.iter().map(|p| p.incidents).sum();
    assert_eq!(handled, incidents.len());
    assert_eq!(summary.routine.as_ref().map(|r| r.calls), Some(routine));
}

#[test]
fn routine_calls_go_to_the_first_station_to_reach_them() {
    let world = world();
    let scenario = world.scenario();
    let config = short(11);
    let outcome = run(&world, &config);
    assert!(outcome.routine_calls > 5, "{}", outcome.routine_calls);
    // The reference: every station's turnout plus a point-to-point query
    // of its own from the station to the call, the least of them.
    let graph = scenario.router().graph();
    let snap = scenario.incident_snap();
    let mut query = RouteQuery::new(scenario.router());
    let stations: Vec<_> = scenario
        .stations()
        .iter()
        .filter_map(|s| graph.snap(s.location, &snap).ok().map(|at| (s, at)))
        .collect();
    let routine: Vec<usize> = (0..outcome.arrivals.len())
        .filter(|&i| outcome.arrivals[i].priority == kuaifan_engine::Priority::P3)
        .collect();
    let answered: Vec<usize> = outcome.station_responses.iter().map(|r| r.call).collect();
    let mut expected_answered = Vec::new();
    for &call in &routine {
        let scene = graph.snap(outcome.arrivals[call].location, &snap).unwrap();
        let best = stations
            .iter()
            .filter_map(|(s, at)| {
                let cost = query.one_to_one(at, &scene);
                cost.is_reachable()
                    .then(|| (f64::from(s.turnout_s) + cost.seconds(), s.id.as_str()))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((best_s, _)) = best else { continue };
        expected_answered.push(call);
        let got = outcome
            .station_responses
            .iter()
            .find(|r| r.call == call)
            .expect("an answer");
        assert!(
            (got.response_s - best_s).abs() < 1e-6,
            "call {call}: {} s from {}, the reference {best_s} s",
            got.response_s,
            got.station
        );
    }
    assert_eq!(answered, expected_answered);
    let summary = DrillSummary::new(&config, &outcome);
    let figures = summary.routine.expect("the stations' figures");
    assert_eq!(figures.calls, routine.len());
    assert_eq!(figures.answered, answered.len());
    let within = outcome
        .station_responses
        .iter()
        .filter(|r| r.response_s <= f64::from(config.p3_target_s))
        .count();
    assert!((figures.within_target - within as f64 / routine.len() as f64).abs() < 1e-12);
    // Sent to units instead, the same calls are dispatched by the engine.
    let to_units = DrillConfig {
        p3: RoutineResponder::Units,
        ..config.clone()
    };
    let units = run(&world, &to_units);
    assert_eq!(units.routine_calls, 0);
    assert_eq!(units.state.incidents().count(), outcome.arrivals.len());
    let summary = DrillSummary::new(&to_units, &units);
    assert!(summary.first_unit.iter().any(|p| p.priority == "P3"));
    assert_eq!(summary.routine, None);
}

#[test]
fn calls_follow_the_daily_cycle_and_the_zones_rates() {
    let world = world();
    // The profile averages to one over a day.
    let mean = (0..86_400)
        .map(|s| daily_profile(f64::from(s)))
        .sum::<f64>()
        / DAY_S;
    assert!((mean - 1.0).abs() < 1e-9, "{mean}");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let on_scene = OnScene {
        median_s: 900.0,
        sigma: 0.6,
    };
    let calls = generate(
        world.scenario(),
        240.0,
        600.0,
        &PriorityMix::default(),
        &on_scene,
        &mut rng,
    );
    // Ten days of 600 calls.
    assert!((5400..6600).contains(&calls.len()), "{}", calls.len());
    let in_hours = |from: f64, to: f64| {
        calls
            .iter()
            .filter(|c| {
                let h = (c.at_s / 3600.0).rem_euclid(24.0);
                (from..to).contains(&h)
            })
            .count()
    };
    assert!(in_hours(18.0, 22.0) > 2 * in_hours(2.0, 6.0));
    let p1 = calls
        .iter()
        .filter(|c| c.priority == kuaifan_engine::Priority::P1)
        .count() as f64
        / calls.len() as f64;
    assert!((0.03..0.07).contains(&p1), "{p1}");
    // Every call lies in a zone.
    let zones = world.scenario().zones();
    assert!(calls.iter().all(|c| zones.zone_at(c.location).is_some()));
}

#[test]
fn a_drive_moves_from_its_start_to_its_end_in_its_time() {
    let world = world();
    let scenario = world.scenario();
    let mut query = RouteQuery::new(scenario.router());
    let (from, to) = (scenario.standby_points()[0], scenario.standby_points()[5]);
    let drive = Drive::plan(&mut query, &from, &to, 100.0, 1.0).expect("a route");
    assert!((drive.duration_s - query.one_to_one(&from, &to).seconds()).abs() < 1e-9);
    assert_eq!(drive.position(0.0), drive.position(100.0));
    assert!(drive.position(100.0).haversine_m(from.point) < 1.0);
    assert!(drive.position(drive.end_s() + 5.0).haversine_m(to.point) < 1.0);
    // Halfway in time is about halfway along (the average speed is used).
    let mid = drive.position(100.0 + drive.duration_s / 2.0);
    let (a, b) = (mid.haversine_m(from.point), mid.haversine_m(to.point));
    assert!(a > 0.0 && b > 0.0);
}

#[test]
fn a_comparison_pairs_the_policies_on_the_same_calls() {
    let world = world();
    let base = DrillConfig {
        hours: 1.0,
        ..DrillConfig::default()
    };
    let comparison = compare(&world, &base, (Policy::Closest, Policy::Coverage), &[3, 4]);
    assert_eq!(comparison.runs.len(), 4);
    // The same seed, the same calls, whatever the policy.
    assert_eq!(comparison.runs[0].incidents, comparison.runs[1].incidents);
    assert_eq!(comparison.runs[2].incidents, comparison.runs[3].incidents);
    for d in &comparison.differences {
        assert!(
            (d.difference - (d.second_mean - d.first_mean)).abs() < 1e-9,
            "{d:?}"
        );
        assert!(d.ci95.is_finite() && d.ci95 >= 0.0);
    }
    assert!(
        comparison
            .differences
            .iter()
            .any(|d| d.metric == "P1 first unit ≤60 s")
    );
    // Late first arrivals of P1 and P2 together, recounted from each
    // run's incidents.
    let late = |run: &DrillSummary| -> f64 {
        let incidents = run.incidents as f64;
        let first = |p: &str| {
            run.first_unit
                .iter()
                .find(|f| f.priority == p)
                .expect("a row")
                .clone()
        };
        let (p1, p2) = (first("P1"), first("P2"));
        let on_time = p1.within_180s * p1.incidents as f64 + p2.within_180s * p2.incidents as f64;
        assert_eq!(
            p1.incidents + p2.incidents,
            run.incidents,
            "P3 goes to the stations"
        );
        1.0 - on_time / incidents
    };
    let late_metric = comparison
        .differences
        .iter()
        .find(|d| d.metric == "P1+P2 first unit >180 s")
        .expect("the late arrivals are compared");
    let firsts = (late(&comparison.runs[0]) + late(&comparison.runs[2])) / 2.0;
    let seconds = (late(&comparison.runs[1]) + late(&comparison.runs[3])) / 2.0;
    assert!(
        (late_metric.first_mean - firsts).abs() < 1e-9,
        "{late_metric:?}"
    );
    assert!(
        (late_metric.second_mean - seconds).abs() < 1e-9,
        "{late_metric:?}"
    );
}

#[test]
fn fleeing_suspects_take_their_units_from_the_day_until_their_chase_ends() {
    use kuaifan_sim::drill::{JournalSink, run_into_journal};

    let world = world();
    let with = DrillConfig {
        seed: 21,
        hours: 3.0,
        calls_per_day: Some(400.0),
        mix: PriorityMix {
            p1: 0.5,
            p2: 0.5,
            p3: 0.0,
        },
        suspects: Some(SuspectsConfig {
            share: 1.0,
            ..SuspectsConfig::default()
        }),
        ..DrillConfig::default()
    };
    let without = DrillConfig {
        suspects: None,
        ..with.clone()
    };
    // The chased day is also written into a journal through an engine, as
    // a server would write it.
    let path =
        std::env::temp_dir().join(format!("kuaifan-chased-day-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sink = JournalSink::open(&world, &path).expect("opens the journal");
    let (chased, journal_refused) = run_into_journal(&world, &with, sink);
    let plain = run(&world, &without);
    assert_eq!(chased.arrivals, plain.arrivals, "the same calls either way");
    assert!(plain.suspects.is_empty());
    assert!(chased.refused.is_empty(), "{:?}", chased.refused);
    assert_eq!(
        journal_refused, 0,
        "the engine takes every command of the chases"
    );

    let state = &chased.state;
    let p1: Vec<usize> = (0..chased.arrivals.len())
        .filter(|&i| chased.arrivals[i].priority == kuaifan_engine::Priority::P1)
        .collect();
    assert!(p1.len() >= 10, "{} P1 calls", p1.len());
    // Every P1 call has a suspect (a share of 1), save where no road
    // leads out of the rings.
    assert!(
        chased.suspects.len() * 10 >= p1.len() * 8,
        "{}",
        chased.suspects.len()
    );
    let day_end_ms = kuaifan_sim::drill::START_MS + (with.hours * 3600.0 * 1000.0) as i64;
    let mut orders_checked = 0;
    for s in &chased.suspects {
        assert!(p1.contains(&s.call), "suspects flee from P1 calls only");
        assert!(s.report_delay_s > 0.0);
        let incident = state
            .incidents()
            .find(|i| i.caller_ref == format!("drill-{}", s.call))
            .expect("the day's incident");
        assert_eq!(s.outcome.incident, incident.id.0, "the call's own case");
        assert_eq!(
            s.outcome.report_ms,
            incident.reported_ms(),
            "chased from the call"
        );
        assert!(s.outcome.refused.is_empty(), "{:?}", s.outcome.refused);
        assert!(s.outcome.caught_at.is_some() != s.outcome.escaped_at.is_some());
        assert!(s.free_units <= world.scenario().units().len());
        // Lifted when the chase ended, and the case not closed before; a
        // chase that ended after the day's end is still running in it.
        let containment = state.containment(incident.id).expect("its containment");
        let ended_ms = s.outcome.at_ms.max(s.outcome.report_ms);
        let lifted = match containment.lifted_ms {
            Some(lifted) => {
                assert_eq!(lifted, ended_ms, "{s:?}");
                assert_eq!(containment.interception.is_some(), s.outcome.caught());
                lifted
            }
            None => {
                assert!(ended_ms > day_end_ms, "{s:?} is still running");
                assert!(containment.interception.is_none());
                i64::MAX
            }
        };
        if let Some(closed) = incident.history.iter().find(|t| t.stage == Stage::Closed) {
            assert!(
                closed.at_ms >= lifted,
                "closed at {} before the lift at {lifted}",
                closed.at_ms
            );
        }
        // A unit holding a crossing is sent nowhere else until the lift.
        let units: Vec<_> = containment
            .held
            .iter()
            .filter_map(|h| Some((h.ordered_ms, h.order.responder.unit()?)))
            .collect();
        assert_eq!(units.len(), s.units_ordered);
        for (ordered_ms, unit) in units {
            let slot = state.unit_index(unit).unwrap();
            for other in state.incidents().filter(|i| i.id != incident.id) {
                for a in other.assignments.iter().filter(|a| a.unit == slot) {
                    assert!(
                        a.assigned_ms < ordered_ms || a.assigned_ms >= lifted,
                        "{unit} held a crossing of {} from {ordered_ms} to {lifted} and was sent to {} at {}",
                        incident.id,
                        other.id,
                        a.assigned_ms
                    );
                }
            }
            orders_checked += 1;
        }
    }
    assert!(orders_checked > 0, "the chases ordered no unit");
    let summary = DrillSummary::new(&with, &chased);
    let day = summary.suspects.as_ref().expect("the suspects' figures");
    assert_eq!(day.units_ordered, orders_checked);
    assert_eq!(day.p1_calls, p1.len());
    assert_eq!(day.chases.flights, chased.suspects.len());
    let caught = chased
        .suspects
        .iter()
        .filter(|s| s.outcome.caught())
        .count();
    assert_eq!(day.chases.caught, caught);
    assert_eq!(
        day.chases.caught_by_ring.iter().sum::<usize>()
            + day.chases.escaped_by_ring.iter().sum::<usize>(),
        day.chases.flights
    );
    // The ENCIRCLE tier counts zone exits, not the rings' crossings.
    let sites = world.ring_crossings().sites();
    let exits = state
        .incidents()
        .flat_map(|i| &i.assignments)
        .filter(|a| a.tier == Tier::Encircle && !sites.iter().any(|s| s.at == a.goal))
        .count();
    let encircle = summary.tiers.iter().find(|t| t.tier == "ENCIRCLE").unwrap();
    assert_eq!(encircle.sent, exits);

    // The journal replays to the same containments, and to the same
    // cases (the engine has archived the closed ones it no longer keeps
    // live; every open one is there).
    let journal = kuaifan_engine::Journal::open(&path).expect("reopens");
    let engine = kuaifan_engine::DispatchEngine::start_with(
        std::sync::Arc::clone(&world),
        Some(journal),
        kuaifan_engine::JournalPolicy::default(),
        Box::new(|_, _| {}),
    )
    .expect("replays");
    let replayed = engine.handle().snapshot();
    let containments = |s: &kuaifan_engine::DispatchState| {
        serde_json::to_value(s.containments().collect::<Vec<_>>()).unwrap()
    };
    assert!(
        containments(&replayed) == containments(state),
        "the journal replays to other containments"
    );
    let mut kept = 0;
    for incident in replayed.incidents() {
        let drilled = state.incident(incident.id).expect("a case of the day");
        assert!(
            incident == drilled,
            "case {} replays otherwise",
            incident.id
        );
        kept += 1;
    }
    let open = state.incidents().filter(|i| i.is_open()).count();
    assert!(open > 0 && replayed.incidents().filter(|i| i.is_open()).count() == open);
    assert!(kept >= open);
    engine.shutdown();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_report_is_one_self_contained_page_with_every_plot() {
    let world = world();
    let config = DrillConfig {
        hours: 1.0,
        ..DrillConfig::default()
    };
    let outcome = run(&world, &config);
    let summary = DrillSummary::new(&config, &outcome);
    let page = kuaifan_sim::drill::html(&world, &outcome, &summary, None);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        page.matches("<svg").count(),
        7,
        "three tiers, zones, coverage, units, map"
    );
    assert!(!page.contains("could not draw"));
    // Nothing is fetched: no scripts, images or style sheets from elsewhere.
    for outside in ["<script", "src=", "<link", "@import"] {
        assert!(!page.contains(outside), "{outside}");
    }
    // Every incident is on the map.
    assert!(page.matches("<circle").count() >= summary.incidents);
}

#[test]
fn a_rehearsed_drill_runs_the_calls_of_its_script() {
    let world = world();
    let script = "time_s,lat,lng,priority,on_scene_s\n\
                  600, 35.4950, 112.8450, P1, 300\n\
                  60, 35.5200, 112.8800, p3\n";
    let calls = kuaifan_sim::drill::read_script(script, world.scenario(), 900.0).unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].at_s, 60.0, "sorted by time");
    assert_eq!(calls[0].on_scene_s, 900.0, "the median when not given");
    assert_eq!(calls[1].priority, kuaifan_engine::Priority::P1);
    let config = DrillConfig {
        hours: 0.5,
        script: Some(calls),
        p3: RoutineResponder::Units,
        ..DrillConfig::default()
    };
    let outcome = run(&world, &config);
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    let incidents: Vec<_> = outcome.state.incidents().collect();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[1].priority, kuaifan_engine::Priority::P1);
    assert_eq!(
        incidents[1].reported_ms() - incidents[0].reported_ms(),
        540_000
    );
    assert!(
        incidents[1]
            .assignments
            .iter()
            .any(|a| a.tier == Tier::Encircle)
    );

    for (bad, line, why) in [
        (
            "time_s,lat,lng,priority\n10,35.49,112.84,P4\n",
            2,
            "priority \"P4\"",
        ),
        (
            "time_s,lat,lng,priority\n10,35.49,112.84,P1\n-5,35.49,112.84,P1\n",
            3,
            "time_s -5",
        ),
        (
            "time_s,lat,lng,priority\n10,95,112.84,P1\n",
            2,
            "latitude outside",
        ),
        (
            "time_s,lat,lng,priority\n10,30.0,112.0,P1\n",
            2,
            "from the nearest road",
        ),
        (
            "time_s,lat,lng\n10,35.49,112.84\n",
            2,
            "not `time_s,lat,lng,priority",
        ),
    ] {
        let error = kuaifan_sim::drill::read_script(bad, world.scenario(), 900.0).unwrap_err();
        assert_eq!(error.line, line, "{bad}");
        assert!(error.problem.contains(why), "{}", error.problem);
    }
}

#[test]
fn a_live_drill_over_grpc_leaves_the_server_as_the_drill_has_it() {
    use kuaifan_engine::service::{Endpoint, Servers};
    use kuaifan_sim::drill::{LiveLink, run_live};

    let world = world();
    // A real server on a free port, on its own runtime.
    let runtime = kuaifan_engine::service::runtime(2, "test-server").unwrap();
    let server = runtime.block_on(common::serve_jincheng());
    let addr = server.addr;

    let script = "time_s,lat,lng,priority,on_scene_s\n\
                  5, 35.4950, 112.8450, P2, 60\n\
                  20, 35.5200, 112.8800, P3, 30\n";
    let config = DrillConfig {
        hours: 0.1,
        confirm_delay_s: 5.0,
        script: Some(kuaifan_sim::drill::read_script(script, world.scenario(), 60.0).unwrap()),
        p3: RoutineResponder::Units,
        ..DrillConfig::default()
    };
    let endpoint = Endpoint {
        addr: format!("http://{addr}"),
        token: None,
        ca: None,
    };
    // 360 simulated seconds at 40× take 9 s.
    let link = LiveLink::connect(Servers::one(endpoint), 40.0).expect("connects");
    let (outcome, report) = run_live(&world, &config, link).expect("the live drill runs");
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.server_incidents, 2);
    assert_eq!(report.matching, 2);
    // 39 terminals a simulated second, every report accepted.
    assert!(report.positions_accepted >= 39 * 350, "{report:?}");
    assert_eq!(report.positions_rejected, 0);
    // Both cases ran their whole loop on the server too.
    let closed = outcome.state.incidents().filter(|i| !i.is_open()).count();
    assert_eq!(closed, 2);

    let _ = server.stop.send(());
    runtime
        .block_on(server.task)
        .expect("joins")
        .expect("stops cleanly");
}
