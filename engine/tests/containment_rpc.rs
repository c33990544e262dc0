//! `PlanContainment` over gRPC against the real `kuaifan serve`: the plan
//! the engine makes on the same scenario at the same clock, crossing for
//! crossing; a lockdown; every bad field refused with its name; readers
//! only.

mod common;

use std::sync::OnceLock;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, CrossingVerdict};
use kuaifan_engine::{
    CheckpointsConfig, ContainmentRing, FastTimes, LatLon, Origin, PlanConfig, PlanRequest,
    PreparedRings, Responders, RouteQuery, Scenario, ScenarioOverrides, SourceSpace,
    StationResponder, Suspect, UnitResponder, Verdict, plan, ring1_for,
};
use tonic::{Code, Request};

/// 凤台街 in the urban core.
const CORE: (f64, f64) = (35.4950, 112.8450);

fn jincheng() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .expect("the built-in scenario loads")
    })
}

fn at((lat, lng): (f64, f64)) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn suspect_request(escape_ago_ms: i64) -> proto::PlanContainmentRequest {
    proto::PlanContainmentRequest {
        location: at(CORE),
        escape_time_ms: now_ms() - escape_ago_ms,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_over_grpc_is_the_engines_plan_at_the_same_clock() {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let request = suspect_request(300_000);
    let wire = c
        .plan_containment(Request::new(request.clone()))
        .await
        .unwrap()
        .into_inner();

    // The same plan in process: every unit idle at its standby point, as
    // the server starts, and every station's teams, at the server's clock.
    let s = jincheng();
    let router = s.router();
    let rings = PreparedRings::new(s, &CheckpointsConfig::default());
    let mut query = RouteQuery::new(router);
    let spaces: Vec<SourceSpace> = s
        .standby_points()
        .iter()
        .map(|p| query.source_space(p))
        .collect();
    let responders = Responders {
        units: spaces
            .iter()
            .enumerate()
            .map(|(unit, space)| UnitResponder {
                unit,
                from: Origin::Cached(space),
                holds: None,
            })
            .collect(),
        stations: s
            .stations()
            .iter()
            .enumerate()
            .filter_map(|(station, st)| {
                Some(StationResponder {
                    station,
                    from: Origin::Cached(rings.station_space(station)?),
                    teams: st.teams,
                    turnout_ms: u64::from(st.turnout_s) * 1000,
                })
            })
            .collect(),
        fixed: Vec::new(),
        // As the server counts them: every unit fresh and free at its
        // start, less the scenario's reserve.
        new_units_allowed: Some(s.units().len() - s.config().containment.reserve),
    };
    let incident = LatLon::new(CORE.0, CORE.1).unwrap();
    assert_eq!(ring1_for(s.rings(), incident), Some(ContainmentRing::Core));
    let from = router.graph().snap(incident, &s.incident_snap()).unwrap();
    let engine = plan(
        rings.crossings(),
        s.rings(),
        &PlanRequest::Suspect {
            ring1: ContainmentRing::Core,
            suspect: Suspect {
                from,
                escape_ms: request.escape_time_ms as u64,
                speed_factor: 1.0,
                sighting: None,
            },
            now_ms: wire.planned_at_ms as u64,
        },
        &responders,
        &PlanConfig::default(),
        &mut FastTimes {
            query: &mut query,
            targets: rings.targets(),
        },
    );

    assert_eq!(wire.rings.len(), 3);
    assert_eq!(
        wire.rings.iter().map(|r| r.ring).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(wire.rings[0].id, "R1");
    let innermost = engine
        .innermost_closed
        .and_then(|r| rings.crossings().outline(r))
        .map(|o| o.id.clone())
        .unwrap_or_default();
    assert_eq!(wire.innermost_closed_ring_id, innermost);
    assert!(!wire.summary.is_empty());
    let mut holders = std::collections::HashSet::new();
    for (w, e) in wire.rings.iter().zip(&engine.rings) {
        assert_eq!(w.closed, e.closed);
        assert_eq!(w.crossings.len(), e.crossings.len());
        for (wc, ec) in w.crossings.iter().zip(&e.crossings) {
            let site = &rings.crossings().sites()[ec.site];
            let loc = wc.location.as_ref().unwrap();
            assert_eq!((loc.lat, loc.lng), (site.at.lat(), site.at.lon()));
            assert_eq!(wc.suspect_earliest_ms, ec.suspect_ms.unwrap_or(0) as i64);
            assert_eq!(wc.holder_arrival_ms, ec.holder.map_or(0, |(_, t)| t as i64));
            let verdict = match ec.verdict {
                Verdict::ClosedInTime => CrossingVerdict::ClosedInTime,
                Verdict::TooLate => CrossingVerdict::TooLate,
                Verdict::AlreadyPassed => CrossingVerdict::AlreadyPassed,
                Verdict::Unheld => CrossingVerdict::Unheld,
                Verdict::OutOfReach => CrossingVerdict::OutOfReach,
            };
            assert_eq!(wc.verdict, verdict as i32);
            if wc.verdict == CrossingVerdict::ClosedInTime as i32 {
                // In time: there the margin before the suspect could be.
                assert!(
                    wc.holder_arrival_ms + 60_000 <= wc.suspect_earliest_ms,
                    "{wc:?}"
                );
                assert!(!wc.holder_id.is_empty());
                assert_eq!(wc.margin_ms, wc.suspect_earliest_ms - wc.holder_arrival_ms);
                holders.insert((
                    wc.holder_kind,
                    wc.holder_id.clone(),
                    loc.lat.to_bits(),
                    loc.lng.to_bits(),
                ));
            }
        }
    }
    // A unit or a post holds one crossing (a station's teams may hold
    // several, one each).
    let mut units = std::collections::HashSet::new();
    for (kind, id, _, _) in &holders {
        if *kind != proto::ResponderKind::ResponderStationTeam as i32 {
            assert!(units.insert(id.clone()), "{id} holds two crossings");
        }
    }
    assert!(!holders.is_empty());

    // The possible area, when asked for: H3 resolution-8 cells.
    let with_area = c
        .plan_containment(Request::new(proto::PlanContainmentRequest {
            with_possible_area: true,
            ..request.clone()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!with_area.possible_area_cells.is_empty());
    for cell in &with_area.possible_area_cells {
        let cell: h3o::CellIndex = cell.parse().unwrap();
        assert_eq!(cell.resolution(), h3o::Resolution::Eight);
    }
    assert!(wire.possible_area_cells.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockdown_holds_one_ring_and_says_when() {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let plan = c
        .plan_containment(Request::new(proto::PlanContainmentRequest {
            lockdown_ring: "R2".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.rings.len(), 1);
    let ring = &plan.rings[0];
    assert_eq!((ring.ring, ring.id.as_str()), (2, "R2"));
    assert!(
        ring.closed,
        "39 units and 46 teams hold ring 2's 13 crossings"
    );
    assert_eq!(plan.innermost_closed_ring_id, "R2");
    let latest = ring
        .crossings
        .iter()
        .map(|c| c.holder_arrival_ms)
        .max()
        .unwrap();
    assert_eq!(plan.latest_arrival_ms, latest);
    for c in &ring.crossings {
        assert_eq!(c.verdict, CrossingVerdict::ClosedInTime as i32);
        assert_eq!(c.suspect_earliest_ms, 0);
        assert!(!c.checkpoint_id.is_empty() && !c.label.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_is_refused_by_name() {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let now = now_ms();
    let good = suspect_request(600_000);
    let sighting = |time_ms: i64| {
        Some(proto::Sighting {
            location: at(CORE),
            time_ms,
        })
    };
    let cases: Vec<(proto::PlanContainmentRequest, &str)> = vec![
        (
            proto::PlanContainmentRequest {
                location: None,
                ..good.clone()
            },
            "location is missing",
        ),
        (
            proto::PlanContainmentRequest {
                location: at((95.0, 112.0)),
                ..good.clone()
            },
            "location (95, 112) is not a coordinate",
        ),
        (
            proto::PlanContainmentRequest {
                location: at((39.9, 116.4)),
                ..good.clone()
            },
            "location (39.9, 116.4) is",
        ),
        (
            proto::PlanContainmentRequest {
                escape_time_ms: now + 3_600_000,
                ..good.clone()
            },
            "escape_time_ms is",
        ),
        (
            proto::PlanContainmentRequest {
                speed_factor: 3.5,
                ..good.clone()
            },
            "speed_factor is 3.5; expected more than 0 and at most 3",
        ),
        (
            proto::PlanContainmentRequest {
                speed_factor: -1.0,
                ..good.clone()
            },
            "speed_factor is -1",
        ),
        (
            proto::PlanContainmentRequest {
                sighting: sighting(good.escape_time_ms - 60_000),
                ..good.clone()
            },
            "sighting.time_ms is",
        ),
        (
            proto::PlanContainmentRequest {
                sighting: sighting(now + 3_600_000),
                ..good.clone()
            },
            "sighting.time_ms is",
        ),
        (
            proto::PlanContainmentRequest {
                sighting: Some(proto::Sighting {
                    location: None,
                    time_ms: now - 1000,
                }),
                ..good.clone()
            },
            "sighting.location is missing",
        ),
        (
            proto::PlanContainmentRequest {
                lockdown_ring: "R9".into(),
                ..good.clone()
            },
            "lockdown_ring is \"R9\": no such ring; expected one of R1,",
        ),
    ];
    for (request, wanted) in cases {
        let status = c
            .plan_containment(Request::new(request.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            status.message().starts_with(wanted),
            "{wanted:?}: {}",
            status.message()
        );
    }
    // The messages say why.
    let future = c
        .plan_containment(Request::new(proto::PlanContainmentRequest {
            escape_time_ms: now + 3_600_000,
            ..good.clone()
        }))
        .await
        .unwrap_err();
    assert!(
        future.message().contains("in the future"),
        "{}",
        future.message()
    );
    // And the good request is planned.
    let ok = c
        .plan_containment(Request::new(good))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.rings.len(), 3);
}

const AUTH: &str = r#"
[[token]]
name = "wall-screen"
role = "observer"
token = "observer-token-0123456789"

[[token]]
name = "U01-terminal"
role = "unit"
unit = "U01"
token = "unit-token-U01-0123456789"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_may_plan_and_a_unit_terminal_may_not() {
    let dir = std::env::temp_dir().join(format!("kuaifan-containment-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).unwrap();
    let server = ServerProcess::ready(&["--auth", auth.to_str().unwrap()]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let with = |token: &str| {
        let mut r = Request::new(suspect_request(300_000));
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    };
    let plan = c
        .plan_containment(with("observer-token-0123456789"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.rings.len(), 3);
    let denied = c
        .plan_containment(with("unit-token-U01-0123456789"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let _ = std::fs::remove_dir_all(&dir);
}
