//! A containment run as a dispatcher runs it, over gRPC against the real
//! `kuaifan serve` on a journal: started for a robbery in the core (its
//! units DISPATCHED to their crossings, its teams and posts ordered), a
//! retry answered once, a sighting re-planning it, crossings staffed (a
//! unit by its ON_SCENE, a team by the console), the interception, a
//! SIGKILL and a restart that keep every bit of it, the lift freeing its
//! units, and a clean restart; every step seen in `WatchEvents`; roles.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, ContainmentEventKind, ContainmentState};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request, Streaming};

type Client = DispatchClient<Channel>;

/// 凤台街 in the urban core.
const CORE: (f64, f64) = (35.4950, 112.8450);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

fn at((lat, lng): (f64, f64)) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn replayed<T>(response: &tonic::Response<T>) -> bool {
    response
        .metadata()
        .get("kuaifan-replayed")
        .is_some_and(|v| v == "true")
}

async fn connect(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("connects")
}

async fn units(c: &mut Client) -> Vec<proto::Unit> {
    c.list_units(proto::ListUnitsRequest {})
        .await
        .expect("lists units")
        .into_inner()
        .units
}

async fn containment(c: &mut Client, id: &str) -> proto::Containment {
    c.get_containment(proto::GetContainmentRequest {
        incident_id: id.to_string(),
        with_possible_area: false,
    })
    .await
    .expect("the containment")
    .into_inner()
}

/// The next containment event of `kind` within 20 s.
async fn next_event(
    events: &mut Streaming<proto::Event>,
    kind: ContainmentEventKind,
) -> proto::ContainmentEvent {
    let wait = async {
        while let Some(event) = events.next().await {
            if let Some(proto::event::Kind::Containment(c)) = event.expect("an event").kind
                && c.kind == kind as i32
            {
                return c;
            }
        }
        panic!("the event stream ended before a {kind:?} event")
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind:?} event within 20 s"))
}

/// The next move-up advice in the feed within 20 s.
async fn next_move_ups(events: &mut Streaming<proto::Event>) -> proto::MoveUpAdvice {
    let wait = async {
        while let Some(event) = events.next().await {
            if let Some(proto::event::Kind::MoveUps(advice)) = event.expect("an event").kind {
                return advice;
            }
        }
        panic!("the event stream ended before move-up advice")
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no move-up advice within 20 s"))
}

async fn move_ups(c: &mut Client) -> proto::MoveUpAdvice {
    c.get_move_ups(proto::GetMoveUpsRequest {})
        .await
        .expect("the advice")
        .into_inner()
}

/// What a restart must keep of a containment: all but its plan (made
/// again at each read, from the clock).
fn durable(c: &proto::Containment) -> proto::Containment {
    proto::Containment {
        plan: None,
        ..c.clone()
    }
}

fn order_of(c: &proto::Containment, kind: proto::ResponderKind) -> Option<&proto::CrossingOrder> {
    c.orders.iter().find(|o| o.responder_kind == kind as i32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_containment_runs_from_start_to_lift_and_survives_kill_9() {
    let dir = scratch("containment-ops");
    let journal = dir.join("journal.sqlite");
    let journal_arg = journal.to_string_lossy().to_string();
    let server = ServerProcess::ready(&["--journal", &journal_arg]);
    let mut c = connect(&server).await;
    let mut events = c
        .watch_events(proto::WatchEventsRequest {})
        .await
        .expect("watches")
        .into_inner();

    // A home robbery in the core, reported; the robbers left 5 min ago.
    let incident = c
        .report_incident(proto::ReportIncidentRequest {
            location: at(CORE),
            priority: proto::Priority::P1 as i32,
            category: "robbery".to_string(),
            ..Default::default()
        })
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident");
    let id = incident.id.clone();
    let start = proto::StartContainmentRequest {
        incident_id: id.clone(),
        escape_time_ms: now_ms() - 300_000,
        request_id: "start-1".to_string(),
        note: "fled by car".to_string(),
        ..Default::default()
    };
    let free_before = move_ups(&mut c).await.free_units;
    let first = c
        .start_containment(Request::new(start.clone()))
        .await
        .expect("started");
    assert!(!replayed(&first));
    let started = first.into_inner();
    assert_eq!(started.state, ContainmentState::Running as i32);
    assert_eq!(started.incident_id, id);
    assert_eq!(started.speed_factor, 1.0);
    let plan = started.plan.clone().expect("a plan");
    assert_eq!(
        plan.rings.iter().map(|r| r.ring).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let kinds: Vec<i32> = started.orders.iter().map(|o| o.responder_kind).collect();
    for kind in [
        proto::ResponderKind::ResponderUnit,
        proto::ResponderKind::ResponderStationTeam,
        proto::ResponderKind::ResponderStaffedPost,
    ] {
        assert!(kinds.contains(&(kind as i32)), "no {kind:?} ordered");
    }
    // Every crossing ordered is held in time by its responder in the plan
    // of the ordered responders, and once.
    let mut ids = std::collections::HashSet::new();
    for o in &started.orders {
        let crossing = o.crossing.as_ref().expect("a crossing");
        assert!(ids.insert(crossing.crossing_id.clone()), "{o:?} twice");
        let planned = plan
            .rings
            .iter()
            .flat_map(|r| &r.crossings)
            .find(|x| x.crossing_id == crossing.crossing_id)
            .expect("the crossing is in the plan");
        assert_eq!(
            planned.verdict,
            proto::CrossingVerdict::ClosedInTime as i32,
            "{planned:?}"
        );
        assert!(o.eta_ms + 60_000 <= planned.suspect_earliest_ms, "{o:?}");
        assert_eq!(o.staffed_at_ms, 0);
        assert!(!o.left);
    }
    // Its units are DISPATCHED to their crossings, as ENCIRCLE assignments
    // of the case, which is ASSIGNED.
    let unit_orders: Vec<&proto::CrossingOrder> = started
        .orders
        .iter()
        .filter(|o| o.responder_kind == proto::ResponderKind::ResponderUnit as i32)
        .collect();
    let listed = units(&mut c).await;
    for o in &unit_orders {
        let u = listed
            .iter()
            .find(|u| u.id == o.responder_id)
            .expect("a unit");
        assert_eq!(
            (u.status, u.incident_id.as_str()),
            (proto::UnitStatus::Dispatched as i32, id.as_str())
        );
    }
    let case = c
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .expect("the case")
        .into_inner();
    assert_eq!(case.stage, proto::Stage::Assigned as i32);
    let encircle: Vec<&proto::Assignment> = case
        .assignments
        .iter()
        .filter(|a| a.tier == proto::Tier::Encircle as i32)
        .collect();
    assert_eq!(encircle.len(), unit_orders.len());
    for (a, o) in encircle.iter().zip(&unit_orders) {
        assert_eq!(a.unit_id, o.responder_id);
        assert_eq!(a.goal, o.crossing.as_ref().and_then(|x| x.location));
    }
    let event = next_event(&mut events, ContainmentEventKind::Started).await;
    assert_eq!(event.incident_id, id);
    assert_eq!(event.newly_needed.len(), started.orders.len());
    // Units at crossings are not free: the advice that follows the start,
    // in the feed and asked for, counts without them and moves none of
    // them, and moving one up is refused.
    let sent: Vec<&str> = unit_orders
        .iter()
        .map(|o| o.responder_id.as_str())
        .collect();
    let expected_free = free_before - sent.len() as u32;
    for advice in [next_move_ups(&mut events).await, move_ups(&mut c).await] {
        assert_eq!(advice.free_units, expected_free, "{advice:?}");
        assert!(
            advice
                .moves
                .iter()
                .all(|m| !sent.contains(&m.unit_id.as_str())),
            "{advice:?}"
        );
    }
    let refused = c
        .accept_move_up(proto::AcceptMoveUpRequest {
            unit_id: sent[0].to_string(),
            post_id: "P01".to_string(),
            ..Default::default()
        })
        .await
        .expect_err("a unit at a crossing is not moved up");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("unit_id: ") && refused.message().contains("DISPATCHED"),
        "{}",
        refused.message()
    );

    // A retry (the same id) is answered as the first call, and applies
    // nothing; a second start is refused.
    let again = c
        .start_containment(Request::new(start.clone()))
        .await
        .expect("answered");
    assert!(replayed(&again));
    assert_eq!(durable(again.get_ref()), durable(&started));
    let twice = c
        .start_containment(proto::StartContainmentRequest {
            request_id: "start-2".to_string(),
            ..start.clone()
        })
        .await
        .expect_err("one containment per incident");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert!(
        twice.message().contains("has a containment running"),
        "{}",
        twice.message()
    );

    // Seen at the incident a minute ago: counted from there, the suspect is
    // later everywhere, so crossings written off may be held now.
    let seen = now_ms() - 60_000;
    let sighted = c
        .report_sighting(proto::ReportSightingRequest {
            incident_id: id.clone(),
            sighting: Some(proto::Sighting {
                location: at(CORE),
                time_ms: seen,
            }),
            source: "CP05 ANPR".to_string(),
            request_id: "seen-1".to_string(),
        })
        .await
        .expect("sighted")
        .into_inner();
    assert_eq!(sighted.sightings.len(), 1);
    assert_eq!(sighted.sightings[0].time_ms, seen);
    assert!(sighted.orders.len() >= started.orders.len());
    assert_eq!(
        sighted.orders[..started.orders.len()]
            .iter()
            .map(|o| (&o.responder_id, o.eta_ms))
            .collect::<Vec<_>>(),
        started
            .orders
            .iter()
            .map(|o| (&o.responder_id, o.eta_ms))
            .collect::<Vec<_>>(),
        "a sighting keeps the orders given"
    );
    let event = next_event(&mut events, ContainmentEventKind::Sighting).await;
    assert_eq!(
        event.newly_needed.len(),
        sighted.orders.len() - started.orders.len()
    );
    for x in &event.newly_needed {
        assert!(
            sighted.orders[started.orders.len()..].iter().any(|o| o
                .crossing
                .as_ref()
                .map(|c| &c.crossing_id)
                == Some(&x.crossing_id)),
            "{x:?} is newly needed but not ordered"
        );
    }

    // A unit at its crossing is ON_SCENE there: the crossing is staffed.
    let unit = order_of(&sighted, proto::ResponderKind::ResponderUnit)
        .expect("a unit order")
        .clone();
    c.set_unit_status(proto::SetUnitStatusRequest {
        unit_id: unit.responder_id.clone(),
        status: proto::UnitStatus::OnScene as i32,
        ..Default::default()
    })
    .await
    .expect("on scene");
    let event = next_event(&mut events, ContainmentEventKind::CrossingStaffed).await;
    let unit_crossing = unit.crossing.clone().expect("a crossing").crossing_id;
    assert_eq!(event.crossing_id, unit_crossing);
    // A team reported there by the console.
    let team = order_of(&sighted, proto::ResponderKind::ResponderStationTeam)
        .expect("a team order")
        .clone();
    let team_crossing = team.crossing.clone().expect("a crossing").crossing_id;
    let staffed = c
        .mark_crossing_staffed(proto::MarkCrossingStaffedRequest {
            incident_id: id.clone(),
            crossing_id: team_crossing.clone(),
            request_id: "staffed-1".to_string(),
        })
        .await
        .expect("staffed")
        .into_inner();
    let staffed_at = |c: &proto::Containment, x: &str| {
        c.orders
            .iter()
            .find(|o| o.crossing.as_ref().map(|c| c.crossing_id.as_str()) == Some(x))
            .map(|o| o.staffed_at_ms)
            .unwrap_or(0)
    };
    assert!(staffed_at(&staffed, &unit_crossing) > 0);
    assert!(staffed_at(&staffed, &team_crossing) > 0);
    let again = c
        .mark_crossing_staffed(proto::MarkCrossingStaffedRequest {
            incident_id: id.clone(),
            crossing_id: team_crossing.clone(),
            request_id: "staffed-2".to_string(),
        })
        .await
        .expect_err("staffed already");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let listed = units(&mut c).await;
    let on_scene = listed
        .iter()
        .find(|u| u.id == unit.responder_id)
        .expect("the unit");
    assert_eq!(on_scene.status, proto::UnitStatus::OnScene as i32);

    // Caught at the unit's crossing; later sightings are refused.
    let caught = c
        .record_interception(proto::RecordInterceptionRequest {
            incident_id: id.clone(),
            crossing_id: unit_crossing.clone(),
            note: "two suspects detained".to_string(),
            request_id: "caught-1".to_string(),
            ..Default::default()
        })
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(caught.state, ContainmentState::Intercepted as i32);
    let interception = caught.interception.clone().expect("an interception");
    assert_eq!(interception.crossing_id, unit_crossing);
    assert_eq!(
        interception.location,
        unit.crossing.as_ref().and_then(|x| x.location)
    );
    next_event(&mut events, ContainmentEventKind::Intercepted).await;
    let late = c
        .report_sighting(proto::ReportSightingRequest {
            incident_id: id.clone(),
            sighting: Some(proto::Sighting {
                location: at(CORE),
                time_ms: now_ms() - 1000,
            }),
            ..Default::default()
        })
        .await
        .expect_err("after the interception");
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(late.message().contains("intercepted"), "{}", late.message());

    // A power cut: everything acknowledged is there after the restart.
    let before = durable(&containment(&mut c, &id).await);
    assert_eq!(before, durable(&caught));
    drop(events);
    server.kill();
    let server = ServerProcess::ready(&["--journal", &journal_arg]);
    let mut c = connect(&server).await;
    assert_eq!(durable(&containment(&mut c, &id).await), before);
    // The retry of the start after the restart is still answered once.
    let again = c
        .start_containment(Request::new(start.clone()))
        .await
        .expect("answered");
    assert!(replayed(&again));
    let mut events = c
        .watch_events(proto::WatchEventsRequest {})
        .await
        .expect("watches")
        .into_inner();

    // Lifted: the units still on it are AVAILABLE, off the case.
    let lifted = c
        .lift_containment(proto::LiftContainmentRequest {
            incident_id: id.clone(),
            note: "suspects detained".to_string(),
            request_id: "lift-1".to_string(),
        })
        .await
        .expect("lifted")
        .into_inner();
    assert_eq!(lifted.state, ContainmentState::Lifted as i32);
    assert!(lifted.lifted_at_ms > 0);
    assert_eq!(lifted.lift_note, "suspects detained");
    next_event(&mut events, ContainmentEventKind::Lifted).await;
    // The lift gives them back to move-up advice, at once in the feed.
    let advice = next_move_ups(&mut events).await;
    assert_eq!(advice.free_units, free_before, "{advice:?}");
    assert_eq!(move_ups(&mut c).await.free_units, free_before);
    let listed = units(&mut c).await;
    for o in lifted
        .orders
        .iter()
        .filter(|o| o.responder_kind == proto::ResponderKind::ResponderUnit as i32)
    {
        let u = listed
            .iter()
            .find(|u| u.id == o.responder_id)
            .expect("a unit");
        assert_eq!(u.status, proto::UnitStatus::Available as i32, "{u:?}");
        assert!(u.incident_id.is_empty());
    }
    let case = c
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .expect("the case")
        .into_inner();
    assert!(
        case.assignments
            .iter()
            .filter(|a| a.tier == proto::Tier::Encircle as i32)
            .all(|a| a.left_at_ms > 0)
    );
    let none = c
        .lift_containment(proto::LiftContainmentRequest {
            incident_id: id.clone(),
            request_id: "lift-2".to_string(),
            ..Default::default()
        })
        .await
        .expect_err("lifted already");
    assert_eq!(none.code(), Code::FailedPrecondition);
    assert!(
        none.message().contains("has no containment running"),
        "{}",
        none.message()
    );

    // Its station teams are free again: a lockdown of ring 2 for another
    // case may order them.
    let other = c
        .report_incident(proto::ReportIncidentRequest {
            location: at(CORE),
            priority: proto::Priority::P1 as i32,
            ..Default::default()
        })
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident");
    let lockdown = c
        .start_containment(proto::StartContainmentRequest {
            incident_id: other.id.clone(),
            lockdown_ring: "R2".to_string(),
            ..Default::default()
        })
        .await
        .expect("a lockdown")
        .into_inner();
    assert_eq!(lockdown.lockdown_ring, "R2");
    let ring = &lockdown.plan.as_ref().expect("a plan").rings;
    assert_eq!(ring.len(), 1);
    assert!(ring[0].closed, "ring 2 is held by the responders ordered");

    // A clean stop and start (from the snapshot) keeps both.
    let lifted_before = durable(&containment(&mut c, &id).await);
    let lockdown_before = durable(&containment(&mut c, &other.id).await);
    drop(events);
    let (status, _) = server.terminate();
    assert!(status.success());
    let server = ServerProcess::ready(&["--journal", &journal_arg]);
    let mut c = connect(&server).await;
    assert_eq!(durable(&containment(&mut c, &id).await), lifted_before);
    assert_eq!(
        durable(&containment(&mut c, &other.id).await),
        lockdown_before
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
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
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_may_read_a_containment_but_not_start_or_lift_one() {
    let dir = scratch("containment-roles");
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).expect("writes");
    let server = ServerProcess::ready(&["--auth", auth.to_str().expect("UTF-8")]);
    let mut c = connect(&server).await;
    fn with<T>(message: T, token: &str) -> Request<T> {
        let mut r = Request::new(message);
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ASCII"),
        );
        r
    }
    let desk = "dispatcher-token-0123456789";
    let wall = "observer-token-0123456789";
    let id = c
        .report_incident(with(
            proto::ReportIncidentRequest {
                location: at(CORE),
                priority: proto::Priority::P1 as i32,
                ..Default::default()
            },
            desk,
        ))
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident")
        .id;
    let start = proto::StartContainmentRequest {
        incident_id: id.clone(),
        escape_time_ms: now_ms() - 600_000,
        ..Default::default()
    };
    let denied = c
        .start_containment(with(start.clone(), wall))
        .await
        .expect_err("an observer may not start");
    assert_eq!(denied.code(), Code::PermissionDenied);
    c.start_containment(with(start, desk))
        .await
        .expect("a dispatcher may");
    let read = c
        .get_containment(with(
            proto::GetContainmentRequest {
                incident_id: id.clone(),
                with_possible_area: true,
            },
            wall,
        ))
        .await
        .expect("an observer may read")
        .into_inner();
    assert_eq!(read.started_by, "desk-1");
    assert!(!read.plan.expect("a plan").possible_area_cells.is_empty());
    for denied in [
        c.lift_containment(with(
            proto::LiftContainmentRequest {
                incident_id: id.clone(),
                ..Default::default()
            },
            wall,
        ))
        .await
        .map(drop),
        c.report_sighting(with(
            proto::ReportSightingRequest {
                incident_id: id.clone(),
                ..Default::default()
            },
            wall,
        ))
        .await
        .map(drop),
    ] {
        assert_eq!(denied.expect_err("denied").code(), Code::PermissionDenied);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
