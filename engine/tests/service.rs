//! The gRPC service, driven as consoles and unit terminals drive it: the
//! real `kuaifan serve` binary on a free loopback port, real tonic clients.
//! Every RPC, every error status, auth roles, TLS, the position stream,
//! events seen by another client, health, reflection and shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, event};
use kuaifan_engine::{
    DispatchConfig, DispatchState, Journal, LatLon, Policy, Priority, RouteQuery, Scenario,
    ScenarioOverrides, World, jincheng,
};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// In the urban core of Jincheng, on a street.
const DOWNTOWN: (f64, f64) = (35.4950, 112.8450);

type Client = DispatchClient<Channel>;

async fn client(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("the server accepts connections")
}

fn at(lat: f64, lng: f64) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn report(priority: proto::Priority) -> proto::ReportIncidentRequest {
    proto::ReportIncidentRequest {
        location: at(DOWNTOWN.0, DOWNTOWN.1),
        priority: priority as i32,
        category: "robbery".to_string(),
        description: "two men, one knife".to_string(),
        caller_ref: "110-0001".to_string(),
        ..Default::default()
    }
}

fn advance(id: &str, to: proto::Stage) -> proto::AdvanceIncidentRequest {
    proto::AdvanceIncidentRequest {
        incident_id: id.to_string(),
        to: to as i32,
        note: String::new(),
        request_id: String::new(),
    }
}

fn stage_of(incident: &proto::Incident) -> proto::Stage {
    proto::Stage::try_from(incident.stage).expect("a known stage")
}

fn status_of(unit: &proto::Unit) -> proto::UnitStatus {
    proto::UnitStatus::try_from(unit.status).expect("a known status")
}

fn refusal<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
) -> (Code, String) {
    let status = result.expect_err("the call is refused");
    (status.code(), status.message().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_runs_its_closed_loop_over_grpc() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;

    let zones = c.list_zones(proto::ListZonesRequest {}).await.unwrap();
    let zones = zones.into_inner().zones;
    assert_eq!(zones.len(), 34);
    assert!(
        zones
            .iter()
            .all(|z| z.outline.len() >= 4 && z.area_km2 > 0.0)
    );
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let units = units.into_inner().units;
    assert_eq!(units.len(), 39);
    assert!(
        units
            .iter()
            .all(|u| status_of(u) == proto::UnitStatus::Available && !u.call_sign.is_empty())
    );

    let answer = c
        .report_incident(report(proto::Priority::P2))
        .await
        .unwrap()
        .into_inner();
    let incident = answer.incident.expect("the incident");
    assert_eq!(stage_of(&incident), proto::Stage::Reported);
    assert!(!incident.zone_id.is_empty(), "downtown lies in a zone");
    let rec = answer.recommendation.expect("a recommendation");
    let handle = rec.candidates.first().expect("a handling unit").clone();
    assert_eq!(handle.tier, proto::Tier::Handle as i32);
    assert!(handle.eta_s > 0.0 && handle.distance_m > 0.0);
    assert_eq!(rec.tiers.len(), 2, "P2: handle and support");

    let id = incident.id.clone();
    let confirmed = c
        .confirm_assignment(proto::ConfirmAssignmentRequest {
            incident_id: id.clone(),
            unit_ids: vec![handle.unit_id.clone()],
            note: "first car".to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stage_of(&confirmed), proto::Stage::Assigned);
    assert_eq!(confirmed.unit_ids, vec![handle.unit_id.clone()]);
    assert_eq!(confirmed.assignments[0].tier, proto::Tier::Handle as i32);

    let on_scene = c
        .set_unit_status(proto::SetUnitStatusRequest {
            unit_id: handle.unit_id.clone(),
            status: proto::UnitStatus::OnScene as i32,
            note: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_of(&on_scene), proto::UnitStatus::OnScene);
    assert_eq!(on_scene.incident_id, id);
    let handling = c
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stage_of(&handling), proto::Stage::Handling);
    assert!(handling.assignments[0].arrived_at_ms > 0);

    for to in [proto::Stage::Feedback, proto::Stage::Closed] {
        let next = c.advance_incident(advance(&id, to)).await.unwrap();
        assert_eq!(stage_of(&next.into_inner()), to);
    }
    let closed = c
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    let stages: Vec<i32> = closed.history.iter().map(|h| h.stage).collect();
    assert_eq!(stages, vec![1, 2, 3, 4, 5, 6], "all six steps, in order");
    assert!(closed.history.iter().all(|h| h.actor == "anonymous"));

    let open = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.into_inner().incidents.is_empty());
    let all = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: false,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.into_inner().incidents.len(), 1);
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let freed = units
        .into_inner()
        .units
        .into_iter()
        .find(|u| u.id == handle.unit_id)
        .expect("the unit");
    assert_eq!(status_of(&freed), proto::UnitStatus::Returning);
    assert!(freed.incident_id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_assign_routes_and_coverage() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let mut request = report(proto::Priority::P1);
    request.auto_assign = true;
    request.with_routes = true;
    let answer = c.report_incident(request).await.unwrap().into_inner();
    let incident = answer.incident.expect("the incident");
    let rec = answer.recommendation.expect("a recommendation");
    assert_eq!(stage_of(&incident), proto::Stage::Assigned);
    let sent: Vec<&str> = rec.candidates.iter().map(|c| c.unit_id.as_str()).collect();
    assert_eq!(incident.unit_ids, sent, "every recommended unit is sent");
    assert_eq!(rec.tiers.len(), 3, "P1: handle, support, encircle");
    for candidate in &rec.candidates {
        let route = &candidate.route;
        assert!(route.len() >= 2, "{} has a route", candidate.unit_id);
        let goal = candidate.goal.as_ref().expect("a goal");
        let end = route.last().expect("an end");
        let end_m = LatLon::new(end.lat, end.lng)
            .unwrap()
            .haversine_m(LatLon::new(goal.lat, goal.lng).unwrap());
        assert!(end_m < 200.0, "the route ends near its goal ({end_m:.0} m)");
    }

    let coverage = c
        .get_coverage(proto::GetCoverageRequest { resolution: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(coverage.resolution, 9);
    assert!(0.0 <= coverage.within_60s && coverage.within_60s <= coverage.within_180s);
    assert!(coverage.within_180s <= coverage.within_300s && coverage.within_300s <= 1.0);
    assert_eq!(coverage.zones.len(), 34);
    let coarse = c
        .get_coverage(proto::GetCoverageRequest { resolution: 7 })
        .await
        .unwrap()
        .into_inner();
    assert!(coarse.cells.len() * 10 < coverage.cells.len());
    assert_eq!(coarse.within_180s, coverage.within_180s);
    // A coarse cell shows the worst of the fine cells inside it.
    let worst_fine = coverage
        .cells
        .iter()
        .map(|c| c.best_eta_s)
        .fold(0.0_f64, f64::max);
    let worst_coarse = coarse
        .cells
        .iter()
        .map(|c| c.best_eta_s)
        .fold(0.0_f64, f64::max);
    assert_eq!(worst_fine, worst_coarse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommendations_over_the_wire_equal_the_engine() {
    let server = ServerProcess::start(&[]);
    // Load the same scenario here while the server loads its own.
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("the built-in scenario loads");
    let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
    let mut query = RouteQuery::new(world.scenario().router());
    let state = DispatchState::new(world.clone(), &mut query);
    let mut server = server;
    server.wait_ready();
    let mut c = client(&server).await;
    let places = [
        (35.4950, 112.8450),
        (35.5200, 112.8800),
        (35.4700, 112.8200),
        (35.7000, 112.9000),
    ];
    for (lat, lng) in places {
        for (priority, wire) in [
            (Priority::P1, proto::Priority::P1),
            (Priority::P3, proto::Priority::P3),
        ] {
            for (policy, wire_policy) in [
                (Policy::Closest, proto::Policy::Closest),
                (Policy::Coverage, proto::Policy::Coverage),
            ] {
                let location = LatLon::new(lat, lng).unwrap();
                let local = state.recommend(&mut query, location, priority, 0, policy);
                let remote = c
                    .recommend(proto::RecommendRequest {
                        location: at(lat, lng),
                        priority: wire as i32,
                        with_routes: false,
                        policy: wire_policy as i32,
                        ..Default::default()
                    })
                    .await;
                let (local, remote) = match (local, remote) {
                    (Ok(l), Ok(r)) => (l, r.into_inner()),
                    (Err(_), Err(status)) => {
                        assert_eq!(status.code(), Code::OutOfRange);
                        continue;
                    }
                    (l, r) => panic!("engine and service disagree at {location}: {l:?} / {r:?}"),
                };
                let here: Vec<(String, f64, bool)> = local
                    .candidates
                    .iter()
                    .map(|c| {
                        (
                            state.unit_id(c.unit).to_string(),
                            c.eta.seconds(),
                            c.meets_target,
                        )
                    })
                    .collect();
                let there: Vec<(String, f64, bool)> = remote
                    .candidates
                    .iter()
                    .map(|c| (c.unit_id.clone(), c.eta_s, c.meets_target))
                    .collect();
                assert_eq!(here, there, "at {location} {priority} {policy:?}");
                assert_eq!(local.uncovered_exits.len(), remote.uncovered_exits.len());
                let met: Vec<bool> = local.tiers.iter().map(|t| t.met).collect();
                let met_there: Vec<bool> = remote.tiers.iter().map(|t| t.met).collect();
                assert_eq!(met, met_there);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_status_and_changes_nothing() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let base = c
        .report_incident(report(proto::Priority::P3))
        .await
        .unwrap()
        .into_inner();
    let id = base.incident.unwrap().id;
    let unit = base.recommendation.unwrap().candidates[0].unit_id.clone();

    let mut cases: Vec<(&str, Code, String)> = Vec::new();
    let mut case = |name, (code, message): (Code, String)| cases.push((name, code, message));

    let mut r = report(proto::Priority::P1);
    r.location = None;
    case("missing location", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.location = at(f64::NAN, 112.8);
    case("NaN latitude", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.location = at(35.5, f64::INFINITY);
    case("infinite longitude", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.location = at(91.0, 112.8);
    case("latitude 91", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.priority = 0;
    case("no priority", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.priority = 9;
    case("priority 9", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.location = at(30.0, 112.0);
    case("far from every road", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.location = at(0.0, 0.0);
    case("in the sea", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.description = "x".repeat(5000);
    case("description too long", refusal(c.report_incident(r).await));
    let mut r = report(proto::Priority::P1);
    r.description = "x".repeat(2 << 20);
    case("message too large", refusal(c.report_incident(r).await));
    case(
        "unknown incident",
        refusal(
            c.get_incident(proto::GetIncidentRequest {
                id: "999".to_string(),
            })
            .await,
        ),
    );
    case(
        "malformed incident id",
        refusal(
            c.get_incident(proto::GetIncidentRequest {
                id: "abc".to_string(),
            })
            .await,
        ),
    );
    case(
        "empty incident id",
        refusal(
            c.get_incident(proto::GetIncidentRequest { id: String::new() })
                .await,
        ),
    );
    case(
        "unknown unit",
        refusal(
            c.set_unit_status(proto::SetUnitStatusRequest {
                unit_id: "U999".to_string(),
                status: proto::UnitStatus::OutOfService as i32,
                note: String::new(),
                request_id: String::new(),
            })
            .await,
        ),
    );
    case(
        "stage skipped",
        refusal(
            c.advance_incident(advance(&id, proto::Stage::Handling))
                .await,
        ),
    );
    case(
        "no stage",
        refusal(
            c.advance_incident(advance(&id, proto::Stage::Unspecified))
                .await,
        ),
    );
    case(
        "assigned by hand",
        refusal(
            c.advance_incident(advance(&id, proto::Stage::Assigned))
                .await,
        ),
    );
    case(
        "status set by assignments",
        refusal(
            c.set_unit_status(proto::SetUnitStatusRequest {
                unit_id: unit.clone(),
                status: proto::UnitStatus::Dispatched as i32,
                note: String::new(),
                request_id: String::new(),
            })
            .await,
        ),
    );
    case(
        "on scene without an incident",
        refusal(
            c.set_unit_status(proto::SetUnitStatusRequest {
                unit_id: unit.clone(),
                status: proto::UnitStatus::OnScene as i32,
                note: String::new(),
                request_id: String::new(),
            })
            .await,
        ),
    );
    case(
        "no unit listed",
        refusal(
            c.confirm_assignment(proto::ConfirmAssignmentRequest {
                incident_id: id.clone(),
                unit_ids: vec![],
                note: String::new(),
                ..Default::default()
            })
            .await,
        ),
    );
    case(
        "coverage finer than the map",
        refusal(
            c.get_coverage(proto::GetCoverageRequest { resolution: 12 })
                .await,
        ),
    );
    case(
        "not an H3 resolution",
        refusal(
            c.get_coverage(proto::GetCoverageRequest { resolution: 99 })
                .await,
        ),
    );
    case(
        "unknown policy",
        refusal(
            c.recommend(proto::RecommendRequest {
                location: at(DOWNTOWN.0, DOWNTOWN.1),
                priority: proto::Priority::P1 as i32,
                with_routes: false,
                policy: 7,
                ..Default::default()
            })
            .await,
        ),
    );

    // Send the unit, then try to send it again elsewhere.
    let confirm = |incident: &str| proto::ConfirmAssignmentRequest {
        incident_id: incident.to_string(),
        unit_ids: vec![unit.clone()],
        note: String::new(),
        ..Default::default()
    };
    c.confirm_assignment(confirm(&id))
        .await
        .expect("the first assignment");
    let other = c
        .report_incident(report(proto::Priority::P3))
        .await
        .unwrap()
        .into_inner()
        .incident
        .unwrap()
        .id;
    let before = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let double = refusal(c.confirm_assignment(confirm(&other)).await);
    for to in [
        proto::Stage::Handling,
        proto::Stage::Feedback,
        proto::Stage::Closed,
    ] {
        c.advance_incident(advance(&id, to))
            .await
            .expect("advances");
    }
    let closed = refusal(c.confirm_assignment(confirm(&id)).await);
    let reopened = refusal(
        c.advance_incident(advance(&id, proto::Stage::Feedback))
            .await,
    );

    let mut expected = vec![
        (
            "missing location",
            Code::InvalidArgument,
            "location is missing",
        ),
        ("NaN latitude", Code::InvalidArgument, "not a finite number"),
        (
            "infinite longitude",
            Code::InvalidArgument,
            "not a finite number",
        ),
        ("latitude 91", Code::InvalidArgument, "latitude outside"),
        ("no priority", Code::InvalidArgument, "priority is missing"),
        ("priority 9", Code::InvalidArgument, "priority 9"),
        (
            "far from every road",
            Code::OutOfRange,
            "m from the nearest road",
        ),
        ("in the sea", Code::OutOfRange, "m from the nearest road"),
        ("description too long", Code::InvalidArgument, "5000 bytes"),
        ("message too large", Code::OutOfRange, "too large"),
        ("unknown incident", Code::NotFound, "no incident 999"),
        (
            "malformed incident id",
            Code::NotFound,
            "no incident \"abc\"",
        ),
        ("empty incident id", Code::InvalidArgument, "id is missing"),
        ("unknown unit", Code::NotFound, "no unit \"U999\""),
        ("stage skipped", Code::FailedPrecondition, "one at a time"),
        (
            "no stage",
            Code::InvalidArgument,
            "stage to advance to is missing",
        ),
        (
            "assigned by hand",
            Code::FailedPrecondition,
            "when units are assigned",
        ),
        (
            "status set by assignments",
            Code::InvalidArgument,
            "not by hand",
        ),
        (
            "on scene without an incident",
            Code::FailedPrecondition,
            "not assigned",
        ),
        ("no unit listed", Code::InvalidArgument, "no unit"),
        (
            "coverage finer than the map",
            Code::InvalidArgument,
            "finer than",
        ),
        (
            "not an H3 resolution",
            Code::InvalidArgument,
            "not an H3 resolution",
        ),
        ("unknown policy", Code::InvalidArgument, "policy 7"),
    ];
    assert_eq!(cases.len(), expected.len());
    for ((name, code, message), (want_name, want_code, want_text)) in
        cases.iter().zip(expected.drain(..))
    {
        assert_eq!(*name, want_name);
        assert_eq!(*code, want_code, "{name}: {message}");
        assert!(
            message.contains(want_text),
            "{name}: {message:?} lacks {want_text:?}"
        );
    }
    assert_eq!(double.0, Code::FailedPrecondition, "{}", double.1);
    assert!(double.1.contains("already assigned"), "{}", double.1);
    assert_eq!(closed.0, Code::FailedPrecondition, "{}", closed.1);
    assert!(closed.1.contains("closed"), "{}", closed.1);
    assert_eq!(reopened.0, Code::FailedPrecondition, "{}", reopened.1);

    // The refused double assignment changed nothing, and no refused report
    // created an incident.
    let after_double = c
        .get_incident(proto::GetIncidentRequest { id: other.clone() })
        .await
        .unwrap()
        .into_inner();
    let before_other = before.incidents.iter().find(|i| i.id == other).unwrap();
    assert_eq!(&after_double, before_other);
    let all = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.incidents.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_stream_counts_bad_reports_and_goes_on() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let unit = units.into_inner().units[0].clone();
    let home = unit.position.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let fix = |lat: f64, lng: f64, time_ms: i64, heading: f64| proto::UnitPosition {
        unit_id: unit.id.clone(),
        position: at(lat, lng),
        time_ms,
        heading_deg: heading,
        speed_mps: 8.0,
    };
    let mut unknown = fix(home.lat, home.lng, 0, 0.0);
    unknown.unit_id = "U999".to_string();
    let reports = vec![
        fix(home.lat + 0.0004, home.lng, now - 2000, 10.0),
        fix(f64::NAN, home.lng, 0, 10.0),
        fix(home.lat + 0.0008, home.lng, now - 1000, 370.0),
        unknown,
        fix(30.0, 112.0, 0, 0.0),
        fix(home.lat + 0.0008, home.lng, now - 2500, 20.0),
        fix(home.lat + 0.0008, home.lng, now + 60_000, 20.0),
        fix(home.lat + 0.0012, home.lng, now, 20.0),
    ];
    let answer = c
        .report_positions(tokio_stream::iter(reports))
        .await
        .expect("the stream is not ended by bad reports")
        .into_inner();
    assert_eq!(
        (answer.accepted, answer.rejected),
        (2, 6),
        "{:?}",
        answer.errors
    );
    let joined = answer.errors.join("\n");
    for reason in [
        "not a finite number",
        "heading 370",
        "no unit \"U999\"",
        "m from the nearest road",
        "older than its last report",
        "ahead of the server's clock",
    ] {
        assert!(joined.contains(reason), "{reason:?} missing from {joined}");
    }
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let moved = units.into_inner().units[0].clone();
    let position = moved.position.unwrap();
    assert!((position.lat - (home.lat + 0.0012)).abs() < 1e-9);
    assert!(moved.position_time_ms >= now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_sees_what_another_console_does() {
    let server = ServerProcess::ready(&[]);
    let mut watcher = client(&server).await;
    let mut events = watcher
        .watch_events(proto::WatchEventsRequest {})
        .await
        .expect("watching starts")
        .into_inner();
    let mut console = client(&server).await;
    let mut request = report(proto::Priority::P2);
    request.auto_assign = true;
    let answer = console.report_incident(request).await.unwrap().into_inner();
    let incident = answer.incident.unwrap();
    let mut seen_incident = false;
    let mut seen_units = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(seen_incident && seen_units.len() == incident.unit_ids.len()) {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("the events arrive in time")
            .expect("the stream goes on")
            .expect("no error");
        assert!(next.time_ms > 0);
        match next.kind.expect("a kind") {
            event::Kind::Incident(i) if i.id == incident.id => seen_incident = true,
            event::Kind::Unit(u) if incident.unit_ids.contains(&u.id) => {
                assert_eq!(status_of(&u), proto::UnitStatus::Dispatched);
                seen_units.push(u.id);
            }
            _ => {}
        }
    }
    // Shutdown ends the watch instead of waiting for it.
    let (status, said) = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(said.iter().any(|l| l.contains("stopped")), "{said:?}");
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(_)) = events.next().await {}
    })
    .await;
    assert!(rest.is_ok(), "the watch ended with the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_loading_then_serving_and_reflection_lists_the_service() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let mut server = ServerProcess::start(&[]);
    let channel = Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .expect("connects while loading");
    let mut health = HealthClient::new(channel.clone());
    let check = |service: &str| HealthCheckRequest {
        service: service.to_string(),
    };
    // The map takes seconds to load; the server answers at once.
    let early = health.check(check("kuaifan.v1.Dispatch")).await.unwrap();
    assert_eq!(early.into_inner().status, ServingStatus::NotServing as i32);
    let mut dispatch = DispatchClient::new(channel.clone());
    let (code, message) = refusal(dispatch.list_units(proto::ListUnitsRequest {}).await);
    assert_eq!(code, Code::Unavailable, "{message}");
    assert!(message.contains("loading"));
    server.wait_ready();
    for service in ["", "kuaifan.v1.Dispatch"] {
        let ready = health.check(check(service)).await.unwrap();
        assert_eq!(ready.into_inner().status, ServingStatus::Serving as i32);
    }

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel);
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![ask]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.next().await.expect("an answer").unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"kuaifan.v1.Dispatch".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_port_answers_health_checks_only_and_follows_the_server() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let mut server = ServerProcess::start(&["--health-listen", "127.0.0.1:0"]);
    let port = server.health.expect("a health port");
    assert_ne!(port, server.addr);
    let channel = Channel::from_shared(format!("http://{port}"))
        .unwrap()
        .connect()
        .await
        .expect("the health port takes connections while the map loads");
    let mut health = HealthClient::new(channel.clone());
    let check = |service: &str| HealthCheckRequest {
        service: service.to_string(),
    };
    let early = health.check(check("")).await.unwrap();
    assert_eq!(early.into_inner().status, ServingStatus::NotServing as i32);
    server.wait_ready();
    for service in ["", "kuaifan.v1.Dispatch"] {
        let ready = health.check(check(service)).await.unwrap();
        assert_eq!(ready.into_inner().status, ServingStatus::Serving as i32);
    }
    let (code, message) = refusal(health.check(check("kuaifan.v1.Nothing")).await);
    assert_eq!(code, Code::NotFound, "{message}");

    // Dispatch is on the main port only.
    let mut dispatch = DispatchClient::new(channel);
    let (code, message) = refusal(dispatch.list_units(proto::ListUnitsRequest {}).await);
    assert_eq!(code, Code::Unimplemented, "{message}");

    // The port is taken while the server runs: a second server on it
    // does not start, and says why.
    let taken = std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["serve", "--listen", "127.0.0.1:0", "--health-listen"])
        .arg(port.to_string())
        .output()
        .expect("kuaifan runs");
    assert!(!taken.status.success());
    let said = String::from_utf8_lossy(&taken.stderr);
    assert!(said.contains(&format!("cannot listen on {port}")), "{said}");

    // It closes with the server.
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");
    let after = tokio::net::TcpStream::connect(port).await;
    assert!(after.is_err(), "the health port still takes connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_keeps_every_acknowledged_command() {
    let dir = std::env::temp_dir().join(format!("kuaifan-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&journal);
    let path = journal.to_str().unwrap();
    let server = ServerProcess::ready(&["--journal", path]);
    let mut c = client(&server).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut request = report(proto::Priority::P3);
        request.auto_assign = true;
        let answer = c.report_incident(request).await.unwrap().into_inner();
        ids.push(answer.incident.unwrap().id);
    }
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");
    let entries = kuaifan_engine::read_journal(&Journal::open(&journal).unwrap()).unwrap();
    // The first start on an empty journal opens the shift (the server's
    // own entry); then each auto-assigned report is two commands: the
    // report, and the assignment that registers it.
    let (shift, calls) = entries.split_first().expect("the journal holds entries");
    assert!(
        matches!(shift.command, kuaifan_engine::Command::OpenShift) && shift.actor == "system",
        "{shift:?}"
    );
    assert_eq!(calls.len(), 10);
    assert!(calls.iter().all(|e| e.actor == "anonymous"));

    let restarted = ServerProcess::ready(&["--journal", path]);
    let mut c = client(&restarted).await;
    let listed = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<String> = listed.incidents.iter().map(|i| i.id.clone()).collect();
    assert_eq!(listed, ids);
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_with_resource_exhausted_not_queued() {
    let server = ServerProcess::ready(&["--max-in-flight", "2"]);
    let c = client(&server).await;
    let calls = (0..64).map(|_| {
        let mut c = c.clone();
        tokio::spawn(async move {
            let mut request = report(proto::Priority::P3);
            request.description = "drill".to_string();
            c.report_incident(request).await
        })
    });
    let mut accepted = 0;
    let mut shed = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("at its limit of 2 calls"));
                shed += 1;
            }
        }
    }
    assert!(shed > 0 && accepted > 0, "{accepted} accepted, {shed} shed");
    let mut c = c;
    let listed = c
        .list_incidents(proto::ListIncidentsRequest {
            open_only: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.incidents.len(),
        accepted,
        "every accepted report, no other"
    );
}

#[test]
fn an_exposed_address_needs_tls_and_auth() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

const AUTH: &str = r#"
[[token]]
name = "desk-1"
role = "dispatcher"
token = "dispatcher-token-0123456789"

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

const DISPATCHER: &str = "dispatcher-token-0123456789";
const OBSERVER: &str = "observer-token-0123456789";
const TERMINAL: &str = "unit-token-U01-0123456789";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_who_may_do_what_and_the_journal_names_them() {
    let dir = scratch("auth");
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).unwrap();
    let journal = dir.join("journal.sqlite");
    let server = ServerProcess::ready(&[
        "--auth",
        auth.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ]);
    let mut c = client(&server).await;

    let (code, message) = refusal(c.list_units(proto::ListUnitsRequest {}).await);
    assert_eq!(code, Code::Unauthenticated, "{message}");
    let (code, _) = refusal(
        c.list_units(with_token(
            proto::ListUnitsRequest {},
            "wrong-token-0123456789",
        ))
        .await,
    );
    assert_eq!(code, Code::Unauthenticated);

    // The observer reads but changes nothing.
    c.list_units(with_token(proto::ListUnitsRequest {}, OBSERVER))
        .await
        .expect("observers read");
    let what_if = proto::RecommendRequest {
        location: at(DOWNTOWN.0, DOWNTOWN.1),
        priority: proto::Priority::P1 as i32,
        with_routes: false,
        policy: 0,
        ..Default::default()
    };
    c.recommend(with_token(what_if, OBSERVER))
        .await
        .expect("observers ask what-if");
    let (code, message) = refusal(
        c.report_incident(with_token(report(proto::Priority::P1), OBSERVER))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    assert!(message.contains("wall-screen (observer) may not report incidents"));

    // The terminal reports for its own unit only.
    let own = proto::SetUnitStatusRequest {
        unit_id: "U01".to_string(),
        status: proto::UnitStatus::OutOfService as i32,
        note: "refuelling".to_string(),
        request_id: String::new(),
    };
    c.set_unit_status(with_token(own, TERMINAL))
        .await
        .expect("a unit sets its own status");
    let other = proto::SetUnitStatusRequest {
        unit_id: "U02".to_string(),
        status: proto::UnitStatus::OutOfService as i32,
        note: String::new(),
        request_id: String::new(),
    };
    let (code, message) = refusal(c.set_unit_status(with_token(other, TERMINAL)).await);
    assert_eq!(code, Code::PermissionDenied);
    assert!(message.contains("may not report for unit U02"), "{message}");
    // An observer learns nothing about which unit ids exist.
    for unit in ["U02", "U999"] {
        let probe = proto::SetUnitStatusRequest {
            unit_id: unit.to_string(),
            status: proto::UnitStatus::OutOfService as i32,
            note: String::new(),
            request_id: String::new(),
        };
        let (code, _) = refusal(c.set_unit_status(with_token(probe, OBSERVER)).await);
        assert_eq!(code, Code::PermissionDenied, "{unit}");
    }
    let (code, _) = refusal(
        c.list_units(with_token(proto::ListUnitsRequest {}, TERMINAL))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    let spoof = proto::UnitPosition {
        unit_id: "U02".to_string(),
        position: at(DOWNTOWN.0, DOWNTOWN.1),
        ..Default::default()
    };
    let (code, _) = refusal(
        c.report_positions(with_token(tokio_stream::iter(vec![spoof]), TERMINAL))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);

    let answer = c
        .report_incident(with_token(report(proto::Priority::P3), DISPATCHER))
        .await
        .expect("dispatchers report")
        .into_inner();
    assert_eq!(answer.incident.unwrap().history[0].actor, "desk-1");

    let (status, _) = server.terminate();
    assert!(status.success());
    let entries = kuaifan_engine::read_journal(&Journal::open(&journal).unwrap()).unwrap();
    let actors: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.actor.as_str(), e.command.kind()))
        .collect();
    assert_eq!(
        actors,
        vec![
            // The server's own: the shift opens with the first start.
            ("system", "open_shift"),
            ("U01-terminal", "set_unit_status"),
            ("desk-1", "report_incident")
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_its_certificate() {
    use tonic::transport::{Certificate, ClientTlsConfig};

    let dir = scratch("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path, auth) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("auth.toml"),
    );
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    std::fs::write(&auth, AUTH).unwrap();
    let server = ServerProcess::ready(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
        "--auth",
        auth.to_str().unwrap(),
    ]);
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection");
    let mut c = DispatchClient::new(channel);
    let zones = c
        .list_zones(with_token(proto::ListZonesRequest {}, OBSERVER))
        .await
        .expect("served over TLS");
    assert_eq!(zones.into_inner().zones.len(), 34);

    // A plaintext client gets nothing.
    let plain = DispatchClient::connect(server.url()).await;
    if let Ok(mut plain) = plain {
        let refused = plain
            .list_zones(with_token(proto::ListZonesRequest {}, OBSERVER))
            .await;
        assert!(refused.is_err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_auth_file_stops_the_start_with_its_problem() {
    let dir = scratch("bad-auth");
    let cases = [
        (
            "[[token]]\nname = \"a\"\nrole = \"chief\"\ntoken = \"0123456789abcdef\"\n",
            "role \"chief\"",
        ),
        (
            "[[token]]\nname = \"a\"\nrole = \"dispatcher\"\ntoken = \"short\"\n",
            "shorter than 16",
        ),
        (
            "[[token]]\nname = \"a\"\nrole = \"unit\"\ntoken = \"0123456789abcdef\"\n",
            "needs `unit",
        ),
        ("token = 3\n", "not valid"),
    ];
    for (text, problem) in cases {
        let auth = dir.join("auth.toml");
        std::fs::write(&auth, text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
            .args(["serve", "--listen", "127.0.0.1:0", "--auth"])
            .arg(&auth)
            .output()
            .expect("runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(problem), "{problem:?} not in {stderr}");
    }
    let auth = dir.join("auth.toml");
    std::fs::write(
        &auth,
        "[[token]]\nname = \"t\"\nrole = \"unit\"\nunit = \"U99\"\ntoken = \"0123456789abcdef\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["serve", "--listen", "127.0.0.1:0", "--auth"])
        .arg(&auth)
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bound to unit \"U99\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_stops_reading_is_cut_off_not_buffered() {
    let server = ServerProcess::ready(&[]);
    let mut watcher = client(&server).await;
    // Watch, and read nothing for now.
    let mut events = watcher
        .watch_events(proto::WatchEventsRequest {})
        .await
        .expect("watching starts")
        .into_inner();
    let mut c = client(&server).await;
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let unit = units.into_inner().units[0].clone();
    let home = unit.position.unwrap();
    // Each accepted fix is one unit event: far more than the 4,096 a
    // watcher may fall behind, and than HTTP/2's windows hold (a few MB).
    const FIXES: u32 = 60_000;
    let fixes: Vec<proto::UnitPosition> = (0..FIXES)
        .map(|i| proto::UnitPosition {
            unit_id: unit.id.clone(),
            position: at(home.lat + f64::from(i % 7) * 1e-5, home.lng),
            ..Default::default()
        })
        .collect();
    let answer = c
        .report_positions(tokio_stream::iter(fixes))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.accepted, u64::from(FIXES), "{:?}", answer.errors);
    let mut delivered = 0;
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.next().await {
                Some(Ok(_)) => delivered += 1,
                Some(Err(status)) => return Some(status),
                None => return None,
            }
        }
    })
    .await
    .expect("the watch ends in time")
    .expect("with a status");
    // Cut off either by the server, 4,096 events behind, or first by the
    // watcher's own HTTP/2 library, which refuses to buffer that many small
    // frames; both say RESOURCE_EXHAUSTED and neither buffers the backlog.
    assert_eq!(ended.code(), Code::ResourceExhausted, "{ended:?}");
    let why = format!("{ended:?}");
    assert!(
        why.contains("fell") || why.contains("too_many_data_frames"),
        "{why} after {delivered} events"
    );
    assert!(delivered < FIXES, "{delivered} events were buffered");
    // The server carries on.
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    assert_eq!(units.into_inner().units.len(), 39);
}
