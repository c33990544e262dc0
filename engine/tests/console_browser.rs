//! The map console in a real browser: headless Chromium (Debian's
//! `chromium`, started by the test) worked by `engine/web/test/console.mjs`
//! (playwright-core over the DevTools protocol) against the real
//! `kuaifan serve`. The driver reports what the page drew and did; this
//! test moves units over gRPC and checks the page's recommendation and
//! dispatches against the server's own answers.
//!
//! Needs `node`, `npm ci` in `engine/web` and `/usr/bin/chromium` (or
//! `KUAIFAN_CHROMIUM`): skipped with one line without them, failed under
//! CI (`.ci/run` installs them).

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::browser::{self, Chromium, Driver};
use common::server::ServerProcess;
use kuaifan_engine::service::Endpoint;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{
    Containment, ContainmentCrossing, ContainmentPlan, ContainmentState, CrossingOrder,
    CrossingVerdict, GetContainmentRequest, GetHeatMapRequest, GetIncidentRequest,
    GetMoveUpsRequest, LatLng, ListIncidentsRequest, ListUnitsRequest, ListZonesRequest,
    LocateRequest, MoveUpAdvice, PlanContainmentRequest, Priority, RecommendRequest, ResponderKind,
    SetUnitStatusRequest, Tier, UnitPosition, UnitStatus,
};
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Chromium's path, or `None` after saying why the test is skipped.
fn chromium_or_skip() -> Option<PathBuf> {
    match browser::find() {
        Ok(path) => Some(path),
        Err(why) => {
            let why = format!("no browser for the map console test: {why}");
            assert!(!common::in_ci(), "{why}");
            common::skip(&why);
            None
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// The page's rows of a recommendation: (unit, ETA, tier).
fn rows(shown: &Value) -> Vec<(String, f64, i32)> {
    shown["units"]
        .as_array()
        .unwrap_or_else(|| panic!("no units in {shown}"))
        .iter()
        .map(|u| {
            (
                u["unit"].as_str().expect("a unit id").to_string(),
                u["eta"].as_f64().expect("an ETA"),
                u["tier"].as_i64().expect("a tier") as i32,
            )
        })
        .collect()
}

fn at(shown: &Value) -> LatLng {
    LatLng {
        lat: shown["at"]["lat"].as_f64().expect("the call's latitude"),
        lng: shown["at"]["lng"].as_f64().expect("the call's longitude"),
    }
}

/// What Recommend answers at the same point: (unit, ETA, tier), and how
/// many candidates have a route.
async fn recommended(
    c: &mut DispatchClient<Channel>,
    location: LatLng,
    priority: Priority,
) -> (Vec<(String, f64, i32)>, usize) {
    let r = c
        .recommend(RecommendRequest {
            location: Some(location),
            priority: priority as i32,
            with_routes: true,
            ..RecommendRequest::default()
        })
        .await
        .expect("Recommend")
        .into_inner();
    let routes = r.candidates.iter().filter(|c| c.route.len() > 1).count();
    let units = r
        .candidates
        .into_iter()
        .map(|c| (c.unit_id, c.eta_s, c.tier))
        .collect();
    (units, routes)
}

/// Where a crossing of a running containment stands, as the page says it:
/// held once its responder reported there; else late when the suspect may
/// pass first (or has); on the way when ordered and there in time; open.
fn standing(x: &ContainmentCrossing, order: Option<&CrossingOrder>) -> &'static str {
    let verdict = x.verdict;
    if verdict == CrossingVerdict::OutOfReach as i32 {
        "unreachable"
    } else if order.is_some_and(|o| o.staffed_at_ms > 0) {
        "held"
    } else if verdict == CrossingVerdict::TooLate as i32
        || verdict == CrossingVerdict::AlreadyPassed as i32
    {
        "late"
    } else if order.is_some() && verdict == CrossingVerdict::ClosedInTime as i32 {
        "on_way"
    } else {
        "open"
    }
}

const STEP: Duration = Duration::from_secs(90);

/// One browser at a time: two on the 2-core machine would slow each
/// other's first draw and steps.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

fn one_browser() -> MutexGuard<'static, ()> {
    ONE_BROWSER.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn the_console_draws_moves_recommends_and_dispatches_in_a_real_browser() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one = one_browser();
    let rt = runtime();
    let server = ServerProcess::ready(&[]);
    let mut c = rt
        .block_on(DispatchClient::connect(server.url()))
        .expect("the server answers gRPC");
    let zones = rt
        .block_on(c.list_zones(ListZonesRequest {}))
        .expect("ListZones")
        .into_inner()
        .zones;
    let units = rt
        .block_on(c.list_units(ListUnitsRequest {}))
        .expect("ListUnits")
        .into_inner()
        .units;
    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let browser = Chromium::launch(&chromium);
    let url = format!("{}/", server.url());
    let mut driver = Driver::start(
        "console.mjs",
        &[
            &browser.endpoint,
            &url,
            screenshot.to_str().expect("a UTF-8 path"),
        ],
    );

    let drawn = driver.expect("UNITS_DRAWN", STEP);
    assert_eq!(drawn["units"], units.len(), "{drawn}");
    assert_eq!(units.len(), 39);
    eprintln!(
        "first draw: {} ms from navigation to {} units on the map",
        drawn["firstDrawMs"], drawn["units"]
    );
    let city = driver.expect("CITY_DRAWN", STEP);
    assert!(city["roads"].as_u64().unwrap_or(0) > 0, "no roads: {city}");
    assert_eq!(city["zones"], zones.len(), "{city}");
    assert_eq!(zones.len(), 34);
    assert!(city["stations"].as_u64().unwrap_or(0) > 0, "{city}");
    assert!(city["rings"].as_u64().unwrap_or(0) > 0, "{city}");
    assert!(city["coverageCells"].as_u64().unwrap_or(0) > 0, "{city}");
    eprintln!("city drawn: {city}");
    driver.expect("READY", STEP);

    // A unit reports a new position; its marker moves within 2 s.
    let unit = &units[0];
    let from = unit.position.expect("a position");
    let to = LatLng {
        lat: from.lat + 0.0015,
        lng: from.lng + 0.0015,
    };
    driver.send(&json!({"unit": unit.id, "lat": to.lat, "lng": to.lng}));
    let report = |unit: &str, position: LatLng, time_ms: i64| UnitPosition {
        unit_id: unit.to_string(),
        position: Some(position),
        time_ms,
        ..UnitPosition::default()
    };
    let answer = rt
        .block_on(c.report_positions(tokio_stream::iter(vec![report(&unit.id, to, 0)])))
        .expect("ReportPositions")
        .into_inner();
    assert_eq!(answer.accepted, 1, "{answer:?}");
    let moved = driver.expect("MOVED", STEP);
    eprintln!("unit moved on the page {} ms after the report", moved["ms"]);

    // A fix taken 117 s ago is stale 3 s later (the limit is 120 s): the
    // page greys the unit and its popup says so.
    let stale = &units[1];
    let answer = rt
        .block_on(c.report_positions(tokio_stream::iter(vec![report(
            &stale.id,
            stale.position.expect("a position"),
            now_ms() - 117_000,
        )])))
        .expect("ReportPositions")
        .into_inner();
    assert_eq!(answer.accepted, 1, "{answer:?}");
    driver.send(&json!({"unit": stale.id}));
    let popup = driver.expect("STALE", STEP);
    assert_eq!(popup["popup"], stale.id.as_str(), "{popup}");
    let text = popup["text"].as_str().unwrap_or("");
    assert!(
        text.contains("位置过期") && text.contains(&stale.call_sign),
        "{popup}"
    );

    // 39 units at 1 Hz for three seconds, the second with a burst of 100
    // more fixes: the page draws every unit at its last fix and saw an
    // event for every accepted fix.
    let seen_before = popup["events"].as_u64().expect("the page's event count");
    let mut last: Vec<LatLng> = units
        .iter()
        .map(|u| u.position.expect("a position"))
        .collect();
    let mut accepted = 0;
    let sent_ms = now_ms();
    for second in 0..3_u32 {
        let mut fixes = Vec::new();
        for (i, u) in units.iter().enumerate() {
            let home = u.position.expect("a position");
            let step = 0.0001 * f64::from(second + 1);
            last[i] = LatLng {
                lat: home.lat + step,
                lng: home.lng,
            };
            fixes.push(report(&u.id, last[i], 0));
        }
        if second == 1 {
            for k in 0..100_u32 {
                let i = k as usize % units.len();
                let home = units[i].position.expect("a position");
                last[i] = LatLng {
                    lat: home.lat + 0.00025,
                    lng: home.lng + 0.00001 * f64::from(k / 39 + 1),
                };
                fixes.push(report(&units[i].id, last[i], 0));
            }
        }
        let answer = rt
            .block_on(c.report_positions(tokio_stream::iter(fixes)))
            .expect("ReportPositions")
            .into_inner();
        assert_eq!(answer.rejected, 0, "{answer:?}");
        accepted += answer.accepted;
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(accepted, 39 * 3 + 100);
    let last: Vec<Value> = units
        .iter()
        .zip(&last)
        .map(|(u, at)| json!({"unit": u.id, "lat": at.lat, "lng": at.lng}))
        .collect();
    driver.send(&json!({"last": last, "seenBefore": seen_before, "sentMs": sent_ms}));
    let burst = driver.expect("BURST", STEP);
    let events = burst["events"].as_u64().expect("the events seen");
    assert!(
        events >= accepted,
        "{events} events seen for {accepted} fixes"
    );
    eprintln!(
        "burst: {accepted} fixes in 3 s (100 in one second), {events} events seen, every unit drawn at its last fix {} ms after the first report",
        burst["ms"]
    );

    // A call in the city centre, clicked on the map at priority 1: the page
    // shows what Recommend answers for the point it placed, with routes.
    let centre = (35.4957, 112.8521);
    driver.send(&json!({"lat": centre.0, "lng": centre.1}));
    let shown = driver.expect("RECOMMENDED", STEP);
    let placed = at(&shown);
    assert!(
        (placed.lat - centre.0).abs() < 1e-4 && (placed.lng - centre.1).abs() < 1e-4,
        "{shown}"
    );
    let (from_server, routes) = rt.block_on(recommended(&mut c, placed, Priority::P1));
    assert!(from_server.len() >= 3, "{from_server:?}");
    assert_eq!(rows(&shown), from_server);
    assert_eq!(shown["routes"], routes, "{shown}");
    assert_eq!(shown["drawn"], routes, "{shown}");
    assert_eq!(shown["confirmEnabled"], true, "{shown}");

    // Enter confirms; the incident is on the server with exactly the units
    // and tiers shown.
    let confirmed = driver.expect("CONFIRMED", STEP);
    let id = confirmed["incident"].as_str().expect("an incident id");
    let incidents = rt
        .block_on(c.list_incidents(ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        }))
        .expect("ListIncidents")
        .into_inner()
        .incidents;
    let incident = incidents
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} is not among {incidents:?}"));
    assert_eq!(incident.priority, Priority::P1 as i32);
    let sent: Vec<(String, i32)> = incident
        .assignments
        .iter()
        .map(|a| (a.unit_id.clone(), a.tier))
        .collect();
    let shown_units: Vec<(String, i32)> = from_server
        .iter()
        .map(|(u, _, t)| (u.clone(), *t))
        .collect();
    assert_eq!(sent, shown_units);

    // A crossing as a caller says it: the page lists what Locate answers.
    let query = "凤台街与书院街";
    driver.send(&json!({"query": query}));
    let found = driver.expect("FOUND", STEP);
    let places = rt
        .block_on(c.locate(LocateRequest {
            query: query.to_string(),
            limit: 8,
        }))
        .expect("Locate")
        .into_inner()
        .results;
    let located_at = places.first().and_then(|p| p.location);
    let located: Vec<String> = places.into_iter().map(|r| r.name).collect();
    assert!(!located.is_empty(), "Locate finds nothing for {query}");
    assert_eq!(found["results"], json!(located));

    // A second call at another unit's standby point, priority 2,
    // overridden: the last recommended unit dropped, a free unit the
    // recommendation did not name added (as support, since the handling
    // unit stays).
    let second = units[10].position.expect("a position");
    driver.send(&json!({"lat": second.lat, "lng": second.lng}));
    let shown = driver.expect("SECOND_SHOWN", STEP);
    assert_eq!(at(&shown), second, "{shown}");
    let (expected, routes) = rt.block_on(recommended(&mut c, second, Priority::P2));
    assert_eq!(rows(&shown), expected, "{shown}");
    assert_eq!(shown["routes"], routes, "{shown}");
    assert_eq!(shown["drawn"], routes, "{shown}");
    let now = rt
        .block_on(c.list_units(ListUnitsRequest {}))
        .expect("ListUnits")
        .into_inner()
        .units;
    let add = now
        .iter()
        .find(|u| {
            u.status == UnitStatus::Available as i32 && !expected.iter().any(|(id, ..)| *id == u.id)
        })
        .expect("a free unit the recommendation does not name")
        .id
        .clone();
    driver.send(&json!({ "add": add }));
    let overridden = driver.expect("OVERRIDDEN", STEP);
    let dropped = overridden["dropped"].as_str().expect("the dropped unit");
    assert_eq!(Some(dropped), expected.last().map(|(u, ..)| u.as_str()));
    let id = overridden["incident"].as_str().expect("an incident id");
    let incident = rt
        .block_on(c.list_incidents(ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        }))
        .expect("ListIncidents")
        .into_inner()
        .incidents
        .into_iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} is not listed"));
    assert_eq!(incident.priority, Priority::P2 as i32);
    let mut wanted: Vec<(String, i32)> = expected
        .iter()
        .filter(|(u, ..)| u != dropped)
        .map(|(u, _, t)| (u.clone(), *t))
        .collect();
    wanted.push((add, Tier::Support as i32));
    let sent: Vec<(String, i32)> = incident
        .assignments
        .iter()
        .map(|a| (a.unit_id.clone(), a.tier))
        .collect();
    assert_eq!(sent, wanted);

    // Move-up advice: the page shows GetMoveUps's advice move by move, each
    // drawn; the first accepted on the page moves that unit's post on the
    // server, the page lists and draws it there and shows the advice the
    // server gives after it; released on the page, the unit is back at its
    // own post.
    let moves = |a: &MoveUpAdvice| -> Value {
        json!(
            a.moves
                .iter()
                .map(|m| json!({"unit": m.unit_id, "post": m.post_id, "reason": m.reason}))
                .collect::<Vec<_>>()
        )
    };
    let advice = rt
        .block_on(c.get_move_ups(GetMoveUpsRequest {}))
        .expect("GetMoveUps")
        .into_inner();
    assert!(
        !advice.moves.is_empty(),
        "no move-up advice after two dispatches: {advice:?}"
    );
    driver.send(&json!({"journalSeq": advice.journal_seq, "moves": moves(&advice)}));
    let shown = driver.expect("MOVE_UPS", STEP);
    assert_eq!(shown["journalSeq"], advice.journal_seq, "{shown}");
    assert_eq!(shown["moves"], moves(&advice), "{shown}");
    assert_eq!(shown["drawn"], advice.moves.len(), "{shown}");
    assert_eq!(shown["moved"], json!([]), "{shown}");
    let moved = driver.expect("MOVED_UP", STEP);
    let first = &advice.moves[0];
    let unit_now = |c: &mut DispatchClient<Channel>, id: &str| {
        rt.block_on(c.list_units(ListUnitsRequest {}))
            .expect("ListUnits")
            .into_inner()
            .units
            .into_iter()
            .find(|u| u.id == id)
            .unwrap_or_else(|| panic!("no unit {id}"))
    };
    let unit = unit_now(&mut c, &first.unit_id);
    assert_eq!(unit.post_id, first.post_id, "{moved}");
    assert!(unit.moved_at_ms > 0, "{unit:?}");
    let after = rt
        .block_on(c.get_move_ups(GetMoveUpsRequest {}))
        .expect("GetMoveUps")
        .into_inner();
    assert_eq!(moved["advice"]["journalSeq"], after.journal_seq, "{moved}");
    assert_eq!(moved["advice"]["moves"], moves(&after), "{moved}");
    assert_eq!(
        moved["advice"]["moved"],
        json!([{"unit": first.unit_id, "post": first.post_id}]),
        "{moved}"
    );
    driver.send(&json!({}));
    let released = driver.expect("RELEASED", STEP);
    let unit = unit_now(&mut c, &first.unit_id);
    assert_eq!(unit.post_id, unit.id, "{released}");
    let after = rt
        .block_on(c.get_move_ups(GetMoveUpsRequest {}))
        .expect("GetMoveUps")
        .into_inner();
    assert_eq!(
        released["advice"]["journalSeq"], after.journal_seq,
        "{released}"
    );
    assert_eq!(released["advice"]["moves"], moves(&after), "{released}");
    assert_eq!(released["advice"]["moved"], json!([]), "{released}");

    // Containment: the page's lockdown of ring 1 is PlanContainment's,
    // crossing by crossing with its verdict; the suspect plan from the
    // first incident has the same rings and crossings (its verdicts depend
    // on the moment each was planned).
    let plan_rows = |plan: &ContainmentPlan, verdicts: bool| -> Value {
        json!(
            plan.rings
                .iter()
                .map(|r| json!({
                    "id": r.id,
                    "crossings": r.crossings.iter().map(|c| if verdicts {
                        json!({"verdict": c.verdict, "label": c.label})
                    } else {
                        json!(c.label)
                    }).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>()
        )
    };
    let page_rows = |shown: &Value, verdicts: bool| -> Value {
        json!(shown["rings"]
            .as_array()
            .expect("rings")
            .iter()
            .map(|r| json!({
                "id": r["id"],
                "crossings": r["crossings"].as_array().expect("crossings").iter().map(|c| if verdicts {
                    c.clone()
                } else {
                    c["label"].clone()
                }).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>())
    };
    let lockdown = driver.expect("LOCKDOWN", STEP);
    let served = rt
        .block_on(c.plan_containment(PlanContainmentRequest {
            lockdown_ring: "R1".to_string(),
            ..PlanContainmentRequest::default()
        }))
        .expect("PlanContainment")
        .into_inner();
    assert!(!served.rings.is_empty() && !served.rings[0].crossings.is_empty());
    assert_eq!(
        page_rows(&lockdown, true),
        plan_rows(&served, true),
        "{lockdown}"
    );
    assert_eq!(lockdown["summary"], served.summary.as_str());
    assert!(lockdown["drawn"].as_u64().unwrap_or(0) > 0, "{lockdown}");
    let plan = driver.expect("PLAN", STEP);
    let fled = incidents
        .iter()
        .find(|i| i.id == plan["incident"].as_str().unwrap_or(""))
        .expect("the first incident");
    let served = rt
        .block_on(c.plan_containment(PlanContainmentRequest {
            location: fled.location,
            escape_time_ms: fled.reported_at_ms,
            with_possible_area: true,
            ..PlanContainmentRequest::default()
        }))
        .expect("PlanContainment")
        .into_inner();
    assert_eq!(
        page_rows(&plan["plan"], false),
        plan_rows(&served, false),
        "{plan}"
    );
    let reached: Vec<bool> = plan["timeline"]
        .as_array()
        .expect("the timeline")
        .iter()
        .map(|s| s["done"].as_bool().unwrap_or(false))
        .collect();
    // Reported, registered and assigned; not yet handling, feedback, closed.
    assert_eq!(reached, [true, true, true, false, false, false], "{plan}");
    let first_incident = fled.id.clone();

    // A running containment, started on the page for the first incident:
    // the page shows GetContainment's crossings, each where it stands (its
    // order and the plan's verdict), drawn in the colour of its standing,
    // and the suspect's possible area; a sighting clicked on the map is
    // the server's; lifted on the page, it is lifted on the server.
    let standings = |c: &Containment| -> Value {
        let plan = c.plan.as_ref().expect("a running containment's plan");
        json!(
            plan.rings
                .iter()
                .flat_map(|r| r.crossings.iter().map(move |x| (r.ring, x)))
                .map(|(ring, x)| {
                    let order = c.orders.iter().rev().find(|o| {
                        !o.left
                            && o.crossing
                                .as_ref()
                                .is_some_and(|oc| oc.crossing_id == x.crossing_id)
                    });
                    json!({
                        "ring": ring,
                        "id": x.crossing_id,
                        "label": x.label,
                        "standing": standing(x, order),
                    })
                })
                .collect::<Vec<_>>()
        )
    };
    let containment = |c: &mut DispatchClient<Channel>| {
        rt.block_on(c.get_containment(GetContainmentRequest {
            incident_id: first_incident.clone(),
            with_possible_area: true,
        }))
        .expect("GetContainment")
        .into_inner()
    };
    let page_matches = |shown: &Value, served: &Containment| {
        assert_eq!(shown["state"], served.state, "{shown}");
        assert_eq!(shown["crossings"], standings(served), "{shown}");
        // Every crossing drawn is in the colour of its standing on the list.
        let listed: Vec<&Value> = shown["crossings"]
            .as_array()
            .expect("crossings")
            .iter()
            .collect();
        for drawn in shown["rendered"].as_array().expect("rendered crossings") {
            let row = listed
                .iter()
                .find(|c| c["id"] == drawn["id"])
                .unwrap_or_else(|| panic!("{drawn} is drawn but not listed: {shown}"));
            assert_eq!(row["standing"], drawn["standing"], "{shown}");
        }
        let rows: Vec<Value> = listed
            .iter()
            .map(|c| json!({"id": c["id"], "standing": c["standing"]}))
            .collect();
        assert_eq!(shown["rows"], json!(rows), "{shown}");
    };
    driver.send(&json!({}));
    let started = driver.expect("CONTAINMENT_STARTED", STEP);
    let served = containment(&mut c);
    assert_eq!(served.state, ContainmentState::Running as i32, "{served:?}");
    assert!(!served.orders.is_empty(), "{served:?}");
    page_matches(&started, &served);
    assert!(started["area"].as_u64().unwrap_or(0) > 0, "{started}");
    assert!(
        !served
            .plan
            .as_ref()
            .expect("a plan")
            .possible_area_cells
            .is_empty(),
        "{served:?}"
    );
    eprintln!("containment started on the page: {started}");

    // Seen at the crossing the caller named (on the road, away from units).
    let seen = located_at.expect("Locate's first place has a location");
    driver.send(&json!({"lat": seen.lat, "lng": seen.lng}));
    let sighted = driver.expect("SIGHTED", STEP);
    let served = containment(&mut c);
    assert_eq!(served.sightings.len(), 1, "{served:?}");
    let recorded = served.sightings[0].location.expect("the sighting's place");
    assert!(
        (recorded.lat - seen.lat).abs() < 1e-4 && (recorded.lng - seen.lng).abs() < 1e-4,
        "seen at {seen:?}, recorded at {recorded:?}"
    );
    assert_eq!(sighted["sightings"][0]["lat"], recorded.lat, "{sighted}");
    assert_eq!(sighted["sightings"][0]["lng"], recorded.lng, "{sighted}");
    page_matches(&sighted, &served);

    driver.send(&json!({}));
    let lifted = driver.expect("LIFTED", STEP);
    let served = containment(&mut c);
    assert_eq!(served.state, ContainmentState::Lifted as i32, "{served:?}");
    assert_eq!(lifted["state"], served.state, "{lifted}");
    let now = rt
        .block_on(c.list_units(ListUnitsRequest {}))
        .expect("ListUnits")
        .into_inner()
        .units;
    for o in served
        .orders
        .iter()
        .filter(|o| o.responder_kind == ResponderKind::ResponderUnit as i32 && !o.left)
    {
        let u = now
            .iter()
            .find(|u| u.id == o.responder_id)
            .expect("the unit");
        assert_eq!(
            u.status,
            UnitStatus::Available as i32,
            "{u:?} still held after the lift"
        );
    }

    // The heat map shows GetHeatMap's day: both incidents, cell by cell.
    let heat = driver.expect("HEAT", STEP);
    let served = rt
        .block_on(c.get_heat_map(GetHeatMapRequest { window_s: 0 }))
        .expect("GetHeatMap")
        .into_inner();
    assert_eq!(served.incidents, 2, "{served:?}");
    let cells: Vec<Value> = served
        .cells
        .iter()
        .map(|c| json!([format!("{:x}", c.h3), c.incidents]))
        .collect();
    assert_eq!(heat["cells"], json!(cells), "{heat}");
    assert_eq!(heat["incidents"], served.incidents, "{heat}");
    assert_eq!(heat["windowS"], served.horizon_s, "{heat}");
    assert_eq!(
        heat["changed"], true,
        "the heat layer changed no pixel: {heat}"
    );

    // A refused confirmation: the page recommends a third call; the test
    // takes its first unit out of service before the click on confirm; the
    // page shows the fresh recommendation the refusal carries (Recommend's
    // for the point now) and confirming again records exactly it.
    let third = units[25].position.expect("a position");
    driver.send(&json!({"lat": third.lat, "lng": third.lng}));
    let shown = driver.expect("THIRD_SHOWN", STEP);
    let placed = at(&shown);
    let (before, _) = rt.block_on(recommended(&mut c, placed, Priority::P3));
    assert_eq!(rows(&shown), before, "{shown}");
    let taken = before[0].0.clone();
    rt.block_on(c.set_unit_status(SetUnitStatusRequest {
        unit_id: taken.clone(),
        status: UnitStatus::OutOfService as i32,
        ..SetUnitStatusRequest::default()
    }))
    .expect("SetUnitStatus");
    driver.send(&json!({}));
    let refused = driver.expect("REFUSED", STEP);
    let (fresh, _) = rt.block_on(recommended(&mut c, placed, Priority::P3));
    assert!(!fresh.iter().any(|(u, ..)| *u == taken), "{fresh:?}");
    assert_eq!(rows(&refused), fresh, "{refused}");
    assert_eq!(refused["confirmEnabled"], true, "{refused}");
    driver.send(&json!({}));
    let again = driver.expect("CONFIRMED_AGAIN", STEP);
    let id = again["incident"].as_str().expect("an incident id");
    let incident = rt
        .block_on(c.get_incident(GetIncidentRequest { id: id.to_string() }))
        .expect("GetIncident")
        .into_inner();
    let sent: Vec<(String, i32)> = incident
        .assignments
        .iter()
        .map(|a| (a.unit_id.clone(), a.tier))
        .collect();
    let wanted: Vec<(String, i32)> = fresh.iter().map(|(u, _, t)| (u.clone(), *t)).collect();
    assert_eq!(sent, wanted, "{again}");

    let languages = driver.expect("LANGUAGES", STEP);
    assert_eq!(languages["english"]["title"], "kuaifan · incident map");
    assert_eq!(languages["english"]["status"], "live");
    assert_eq!(languages["chinese"]["title"], "快反 · 警情云图");
    assert_eq!(languages["chinese"]["status"], "实时");
    let problems = driver.expect("PROBLEMS", STEP);
    assert_eq!(
        problems,
        json!([]),
        "console errors, failed requests or requests off the origin"
    );
    let status = driver.finish(Duration::from_secs(30));
    assert!(status.success(), "the driver exited with {status}");
    assert!(
        screenshot.exists(),
        "no screenshot at {}",
        screenshot.display()
    );
    drop(browser);
}

const AUTH: &str = r#"
[[token]]
name = "wall-screen"
role = "observer"
token = "observer-token-0123456789"

[[token]]
name = "desk-1"
role = "dispatcher"
token = "dispatcher-token-0123456789"
"#;

#[test]
fn under_an_auth_file_the_console_asks_for_a_token_and_an_observer_cannot_dispatch() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one = one_browser();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../target/console-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory under target/");
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).expect("the auth file is written");
    let rt = runtime();
    let server = ServerProcess::ready(&["--auth", auth.to_str().expect("a UTF-8 path")]);
    let browser = Chromium::launch(&chromium);
    let url = format!("{}/", server.url());
    let mut driver = Driver::start("auth.mjs", &[&browser.endpoint, &url]);

    driver
        .send(&json!({"wrong": "wrong-token-0123456789", "observer": "observer-token-0123456789"}));
    let refused = driver.expect("TOKEN_REFUSED", STEP);
    assert_eq!(refused["prompt"], "此服务器需要令牌(token):", "{refused}");
    let why = refused["refused"].as_str().unwrap_or("");
    assert!(why.starts_with("令牌被拒绝: "), "{refused}");
    let drawn = driver.expect("OBSERVER_DRAWN", STEP);
    assert_eq!(drawn["units"], 39, "{drawn}");
    assert!(drawn["roads"].as_u64().unwrap_or(0) > 0, "{drawn}");

    // The incidents before and after the observer's Enter: the same.
    let endpoint = Endpoint {
        addr: server.url(),
        token: Some("dispatcher-token-0123456789".to_string()),
        ca: None,
    };
    let mut c = DispatchClient::new(
        rt.block_on(endpoint.connect())
            .expect("a dispatcher's connection"),
    );
    let all = || {
        endpoint.request(ListIncidentsRequest {
            open_only: false,
            ..Default::default()
        })
    };
    let before = rt
        .block_on(c.list_incidents(all()))
        .expect("ListIncidents")
        .into_inner()
        .incidents;
    driver.send(&json!({"lat": 35.4957, "lng": 112.8521}));
    let observer = driver.expect("OBSERVER_REFUSED", STEP);
    assert_eq!(observer["dispatched"], 0, "{observer}");
    let text = observer["text"].as_str().unwrap_or("");
    assert!(text.starts_with("此令牌无权派警"), "{observer}");
    let after = rt
        .block_on(c.list_incidents(all()))
        .expect("ListIncidents")
        .into_inner()
        .incidents;
    assert_eq!(
        after, before,
        "the observer's dispatch changed the incidents"
    );
    let problems = driver.expect("PROBLEMS", STEP);
    assert_eq!(
        problems,
        json!([]),
        "problems besides the 401s before the token"
    );
    let status = driver.finish(Duration::from_secs(30));
    assert!(status.success(), "the driver exited with {status}");
    drop(browser);
    let _ = std::fs::remove_dir_all(&dir);
}
