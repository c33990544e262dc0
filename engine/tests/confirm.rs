//! Confirming assignments over gRPC to the real `kuaifan serve`: what the
//! dispatcher was shown is what is recorded, a confirmation that no longer
//! holds is refused with a fresh recommendation, and two consoles
//! confirming one fresh call are both accepted.

mod common;

use common::server::ServerProcess;
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use tonic::transport::Channel;

type Client = DispatchClient<Channel>;

/// In the urban core of Jincheng, on a street.
const DOWNTOWN: (f64, f64) = (35.4950, 112.8450);

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
        ..Default::default()
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Regression (issue 17, §7): whether to register a REPORTED case before
/// assigning was decided from a snapshot, so of two consoles confirming
/// units for the same fresh call at once, both asked to register it and
/// the second was refused. The writer decides now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_confirming_one_fresh_call_are_both_accepted() {
    let dir = scratch("two-consoles");
    let journal = dir.join("journal.sqlite");
    // A journal makes every commit wait for the disk, which widens the
    // window in which both consoles see the case REPORTED.
    let server = ServerProcess::ready(&["--journal", journal.to_str().expect("utf-8")]);
    let (mut first, mut second) = (client(&server).await, client(&server).await);
    let units = first
        .list_units(proto::ListUnitsRequest {})
        .await
        .expect("units")
        .into_inner()
        .units;
    let mut refused = Vec::new();
    for round in 0..10 {
        let incident = first
            .report_incident(report(proto::Priority::P3))
            .await
            .expect("reported")
            .into_inner()
            .incident
            .expect("an incident");
        let confirm = |unit: &proto::Unit| proto::ConfirmAssignmentRequest {
            incident_id: incident.id.clone(),
            unit_ids: vec![unit.id.clone()],
            note: format!("round {round}"),
            ..Default::default()
        };
        let (a, b) = (confirm(&units[2 * round]), confirm(&units[2 * round + 1]));
        let (a, b) = tokio::join!(first.confirm_assignment(a), second.confirm_assignment(b));
        for answer in [a, b] {
            if let Err(status) = answer {
                refused.push(format!("round {round}: {status:?}"));
            }
        }
        let read = first
            .get_incident(proto::GetIncidentRequest {
                id: incident.id.clone(),
            })
            .await
            .expect("read")
            .into_inner();
        let stages: Vec<i32> = read.history.iter().map(|h| h.stage).collect();
        assert_eq!(
            stages,
            vec![
                proto::Stage::Reported as i32,
                proto::Stage::Registered as i32,
                proto::Stage::Assigned as i32
            ],
            "registered once, assigned once"
        );
    }
    assert!(
        refused.is_empty(),
        "valid assignments refused: {refused:#?}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn as_confirmed(rec: &proto::Recommendation) -> Vec<proto::ConfirmedUnit> {
    rec.candidates
        .iter()
        .map(|c| proto::ConfirmedUnit {
            unit_id: c.unit_id.clone(),
            tier: c.tier,
            goal: c.goal,
        })
        .collect()
}

/// Moves a unit with one fix from its terminal, timed now.
async fn move_unit(c: &mut Client, unit: &str, to: proto::LatLng) {
    let fix = proto::UnitPosition {
        unit_id: unit.to_string(),
        position: Some(to),
        time_ms: 0,
        heading_deg: 0.0,
        speed_mps: 10.0,
    };
    let answer = c
        .report_positions(tokio_stream::iter(vec![fix]))
        .await
        .expect("the fix is taken")
        .into_inner();
    assert_eq!(answer.accepted, 1, "{:?}", answer.errors);
}

/// Regression (issue 17, §3): a confirmation carried only unit ids, and
/// tiers and goals were recomputed at confirm time, so a unit shown as
/// HANDLE that had moved meanwhile was recorded as SUPPORT or ENCIRCLE and
/// the case could be left without a handling unit. The confirmation now
/// carries what the dispatcher was shown, and that is what is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_records_the_tiers_and_goals_the_dispatcher_was_shown() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let answer = c
        .report_incident(report(proto::Priority::P1))
        .await
        .expect("reported")
        .into_inner();
    let incident = answer.incident.expect("an incident");
    let shown = answer.recommendation.expect("a recommendation");
    let handle = shown.candidates[0].clone();
    assert_eq!(handle.tier, proto::Tier::Handle as i32);
    assert!(
        shown
            .candidates
            .iter()
            .any(|c| c.tier == proto::Tier::Encircle as i32),
        "a P1 encircles its zone"
    );

    // Meanwhile the handling unit drives off to the far end of the city:
    // to the standby point of the unit farthest from the incident.
    let units = c
        .list_units(proto::ListUnitsRequest {})
        .await
        .expect("units")
        .into_inner()
        .units;
    let far = units
        .iter()
        .filter_map(|u| u.position)
        .max_by(|a, b| {
            let d = |p: &proto::LatLng| (p.lat - DOWNTOWN.0).hypot(p.lng - DOWNTOWN.1);
            d(a).total_cmp(&d(b))
        })
        .expect("a position");
    move_unit(&mut c, &handle.unit_id, far).await;
    let now = c
        .recommend(proto::RecommendRequest {
            location: at(DOWNTOWN.0, DOWNTOWN.1),
            priority: proto::Priority::P1 as i32,
            ..Default::default()
        })
        .await
        .expect("recommended")
        .into_inner();
    assert_ne!(
        now.candidates[0].unit_id, handle.unit_id,
        "recomputed now, the unit would not handle: the test would prove nothing"
    );

    let confirmed = c
        .confirm_assignment(proto::ConfirmAssignmentRequest {
            incident_id: incident.id.clone(),
            units: as_confirmed(&shown),
            note: "as shown".to_string(),
            ..Default::default()
        })
        .await
        .expect("confirmed")
        .into_inner();
    assert_eq!(confirmed.assignments.len(), shown.candidates.len());
    for (a, shown) in confirmed.assignments.iter().zip(&shown.candidates) {
        assert_eq!(
            (&a.unit_id, a.tier),
            (&shown.unit_id, shown.tier),
            "each unit with the tier it was shown with"
        );
        let goal = if shown.tier == proto::Tier::Encircle as i32 {
            shown.goal
        } else {
            incident.location
        };
        assert_eq!(a.goal, goal, "{}: the goal it was shown", a.unit_id);
    }
    assert_eq!(confirmed.stage, proto::Stage::Assigned as i32);
}

/// Issue 17, §3: a confirmation that no longer holds (a unit shown was
/// taken by another case meanwhile, or went out of service) is refused
/// with FAILED_PRECONDITION, records nothing, and carries a fresh
/// recommendation in the status details, which can be confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_that_no_longer_holds_is_refused_with_a_fresh_recommendation() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    for taken_by in ["another case", "out of service"] {
        let answer = c
            .report_incident(report(proto::Priority::P2))
            .await
            .expect("reported")
            .into_inner();
        let incident = answer.incident.expect("an incident");
        let shown = answer.recommendation.expect("a recommendation");
        let support = shown.candidates[1].unit_id.clone();
        match taken_by {
            "another case" => {
                let other = c
                    .report_incident(report(proto::Priority::P3))
                    .await
                    .expect("reported")
                    .into_inner()
                    .incident
                    .expect("an incident");
                c.confirm_assignment(proto::ConfirmAssignmentRequest {
                    incident_id: other.id,
                    unit_ids: vec![support.clone()],
                    ..Default::default()
                })
                .await
                .expect("the other console sends the unit first");
            }
            _ => {
                c.set_unit_status(proto::SetUnitStatusRequest {
                    unit_id: support.clone(),
                    status: proto::UnitStatus::OutOfService as i32,
                    note: "flat tyre".to_string(),
                    ..Default::default()
                })
                .await
                .expect("out of service");
            }
        }
        let refused = c
            .confirm_assignment(proto::ConfirmAssignmentRequest {
                incident_id: incident.id.clone(),
                units: as_confirmed(&shown),
                ..Default::default()
            })
            .await
            .expect_err("the confirmation no longer holds");
        assert_eq!(
            refused.code(),
            tonic::Code::FailedPrecondition,
            "{taken_by}: {refused:?}"
        );
        assert!(
            refused.message().contains(&support),
            "{}",
            refused.message()
        );
        let fresh = kuaifan_engine::service::fresh_recommendation(&refused)
            .unwrap_or_else(|| panic!("{taken_by}: no fresh recommendation in {refused:?}"));
        assert!(
            fresh.candidates.iter().all(|c| c.unit_id != support),
            "{taken_by}: the fresh recommendation does not send {support}"
        );
        assert_eq!(fresh.candidates[0].tier, proto::Tier::Handle as i32);
        let unchanged = c
            .get_incident(proto::GetIncidentRequest {
                id: incident.id.clone(),
            })
            .await
            .expect("read")
            .into_inner();
        assert_eq!(unchanged, incident, "{taken_by}: nothing was recorded");
        let confirmed = c
            .confirm_assignment(proto::ConfirmAssignmentRequest {
                incident_id: incident.id.clone(),
                units: as_confirmed(&fresh),
                ..Default::default()
            })
            .await
            .expect("the fresh recommendation is confirmed")
            .into_inner();
        assert_eq!(confirmed.assignments.len(), fresh.candidates.len());
    }
}

/// A confirmation's units are checked before anything is recorded: a
/// tier is required, an ENCIRCLE goal must be an exit of the incident's
/// zone, and ids and units are not mixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_with_a_bad_tier_or_goal_is_invalid_and_records_nothing() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let answer = c
        .report_incident(report(proto::Priority::P1))
        .await
        .expect("reported")
        .into_inner();
    let incident = answer.incident.expect("an incident");
    let shown = answer.recommendation.expect("a recommendation");
    let ring = shown
        .candidates
        .iter()
        .find(|c| c.tier == proto::Tier::Encircle as i32)
        .expect("an ENCIRCLE unit")
        .clone();
    let one = |tier: i32, goal: Option<proto::LatLng>| proto::ConfirmAssignmentRequest {
        incident_id: incident.id.clone(),
        units: vec![proto::ConfirmedUnit {
            unit_id: ring.unit_id.clone(),
            tier,
            goal,
        }],
        ..Default::default()
    };
    let exit = ring.goal.expect("an exit");
    let cases = [
        (one(0, None), "the tier is missing"),
        (one(9, None), "tier 9 is not one of"),
        (one(proto::Tier::Encircle as i32, None), "goal is missing"),
        (
            one(proto::Tier::Encircle as i32, at(exit.lat + 0.001, exit.lng)),
            "is not an exit of zone",
        ),
        (
            proto::ConfirmAssignmentRequest {
                unit_ids: vec![ring.unit_id.clone()],
                ..one(proto::Tier::Support as i32, None)
            },
            "not both",
        ),
        (
            proto::ConfirmAssignmentRequest {
                incident_id: incident.id.clone(),
                ..Default::default()
            },
            "lists no unit",
        ),
    ];
    for (request, why) in cases {
        let refused = c
            .confirm_assignment(request.clone())
            .await
            .expect_err("refused");
        assert_eq!(
            refused.code(),
            tonic::Code::InvalidArgument,
            "{why}: {refused:?}"
        );
        assert!(
            refused.message().contains(why),
            "{why}: {}",
            refused.message()
        );
    }
    let unchanged = c
        .get_incident(proto::GetIncidentRequest {
            id: incident.id.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(unchanged, incident, "nothing was recorded");
    // The exit's coordinates rounded to six decimals still name it.
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let rounded = at(round(exit.lat), round(exit.lng));
    let confirmed = c
        .confirm_assignment(one(proto::Tier::Encircle as i32, rounded))
        .await
        .expect("a rounded exit is found")
        .into_inner();
    assert_eq!(confirmed.assignments[0].goal, Some(exit));
}
