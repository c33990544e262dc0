//! Writes the seed corpus of each target into `fuzz/corpus/`: valid
//! inputs to start from, and the bad inputs the README's table lists.
//! Run once when a target changes shape:
//! `cargo run -p kuaifan-fuzz-targets --example write_seeds`.

use std::path::{Path, PathBuf};

use kuaifan_engine::service::proto;
use kuaifan_fuzz::requests::{CALLS, encode, grpc_frame};
use prost::Message;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../engine/tests/fixtures");

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    pbf(&corpus.join("pbf"))?;
    scenario(&corpus.join("scenario"))?;
    requests(&corpus.join("requests"))?;
    commands(&corpus.join("commands"))?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

fn fixture(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(PathBuf::from(FIXTURES).join(name))
}

fn pbf(dir: &Path) -> std::io::Result<()> {
    let tiny = fixture("tiny.osm.pbf")?;
    write(dir, "tiny", &tiny)?;
    write(dir, "no-roads", &fixture("no_roads.osm.pbf")?)?;
    for cut in [3, 100, tiny.len() - 1] {
        write(dir, &format!("tiny-truncated-{cut}"), &tiny[..cut])?;
    }
    let mut flipped = tiny.clone();
    flipped[tiny.len() / 2] ^= 0x55;
    write(dir, "tiny-corrupt", &flipped)?;
    // A block header claiming a 2 GB block, and a header claiming 2 GB.
    let mut header = vec![0x0a, 7];
    header.extend_from_slice(b"OSMData");
    header.extend_from_slice(&[0x18, 0xff, 0xff, 0xff, 0xff, 0x07]);
    let mut claims = (header.len() as u32).to_be_bytes().to_vec();
    claims.extend_from_slice(&header);
    claims.extend_from_slice(&[0x5a; 16]);
    write(dir, "block-claims-2gb", &claims)?;
    write(dir, "header-claims-2gb", &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3])?;
    Ok(())
}

fn scenario(dir: &Path) -> std::io::Result<()> {
    let files = [
        "scenario.toml",
        "zones.geojson",
        "units.toml",
        "stations.geojson",
        "rings.geojson",
    ];
    for (pick, name) in files.iter().enumerate() {
        let mut input = vec![pick as u8];
        input.extend(fixture(&format!("scenario/valid/{name}"))?);
        write(dir, name, &input)?;
    }
    for entry in std::fs::read_dir(PathBuf::from(FIXTURES).join("scenario/invalid"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let pick = if name.starts_with("zones") { 1 } else { 2 };
        let mut input = vec![pick];
        input.extend(std::fs::read(&path)?);
        write(dir, &format!("invalid-{name}"), &input)?;
    }
    let profile =
        b"blocked_access = [\"no\", \"private\"]\n[speeds]\nresidential = 25\nservice = 0\n";
    let mut input = vec![5];
    input.extend_from_slice(profile);
    write(dir, "profile.toml", &input)?;
    Ok(())
}

fn call(name: &str) -> usize {
    CALLS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no call {name}"))
}

fn at(lat: f64, lng: f64) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn requests(dir: &Path) -> std::io::Result<()> {
    let report = |lat, lng, priority, auto_assign| {
        proto::ReportIncidentRequest {
            location: at(lat, lng),
            priority,
            category: "抢劫".to_string(),
            description: "drill".to_string(),
            caller_ref: "110-0001".to_string(),
            auto_assign,
            ..Default::default()
        }
        .encode_to_vec()
    };
    let advance = |stage| {
        proto::AdvanceIncidentRequest {
            incident_id: "1".to_string(),
            to: stage,
            note: "ok".to_string(),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let closed_loop = vec![
        (call("ReportIncident"), report(35.5001, 112.8507, 2, false)),
        (call("AdvanceIncident"), advance(2)),
        (
            call("ConfirmAssignment"),
            proto::ConfirmAssignmentRequest {
                incident_id: "1".to_string(),
                unit_ids: vec!["U01".to_string()],
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            call("SetUnitStatus"),
            proto::SetUnitStatusRequest {
                unit_id: "U01".to_string(),
                status: 3,
                note: String::new(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (call("AdvanceIncident"), advance(5)),
        (call("AdvanceIncident"), advance(6)),
        (
            call("GetIncident"),
            proto::GetIncidentRequest {
                id: "1".to_string(),
            }
            .encode_to_vec(),
        ),
        (
            call("ListIncidents"),
            proto::ListIncidentsRequest::default().encode_to_vec(),
        ),
    ];
    write(dir, "closed-loop", &encode(0, &closed_loop))?;
    write(dir, "closed-loop-as-observer", &encode(1, &closed_loop))?;
    write(dir, "closed-loop-no-token", &encode(3, &closed_loop))?;
    let auto = vec![
        (call("ReportIncident"), report(35.5011, 112.8531, 1, true)),
        (call("ReportIncident"), report(35.5021, 112.8528, 3, true)),
        (
            call("GetCoverage"),
            proto::GetCoverageRequest::default().encode_to_vec(),
        ),
        (
            call("ListUnits"),
            proto::ListUnitsRequest::default().encode_to_vec(),
        ),
        (
            call("ListZones"),
            proto::ListZonesRequest::default().encode_to_vec(),
        ),
    ];
    write(dir, "auto-assign", &encode(0, &auto))?;
    write(dir, "auto-assign-coverage-policy", &encode(5, &auto))?;
    let recommend = |lat, lng, priority| {
        (
            call("Recommend"),
            proto::RecommendRequest {
                location: at(lat, lng),
                priority,
                with_routes: true,
                ..Default::default()
            }
            .encode_to_vec(),
        )
    };
    let bad_places = vec![
        recommend(f64::NAN, 112.85, 1),
        recommend(35.5, f64::INFINITY, 1),
        recommend(91.0, 112.85, 2),
        recommend(35.5, 112.85, 9),
        recommend(35.9, 113.5, 1),
        (call("ReportIncident"), report(0.0, 0.0, 1, true)),
        (call("ReportIncident"), report(35.5, 112.85, 0, false)),
    ];
    write(dir, "bad-places", &encode(0, &bad_places))?;
    let locate = |query: &str| {
        (
            call("Locate"),
            proto::LocateRequest {
                query: query.to_string(),
                limit: 8,
            }
            .encode_to_vec(),
        )
    };
    let plan =
        |request: proto::PlanContainmentRequest| (call("PlanContainment"), request.encode_to_vec());
    let heat = |window_s| {
        (
            call("GetHeatMap"),
            proto::GetHeatMapRequest { window_s }.encode_to_vec(),
        )
    };
    let what_ifs = vec![
        (call("ReportIncident"), report(35.5001, 112.8507, 2, false)),
        locate("凤台街与书院街"),
        locate("35.5001, 112.8507"),
        locate(""),
        plan(proto::PlanContainmentRequest {
            location: at(35.5001, 112.8507),
            with_possible_area: true,
            ..Default::default()
        }),
        plan(proto::PlanContainmentRequest {
            lockdown_ring: "R1".to_string(),
            ..Default::default()
        }),
        plan(proto::PlanContainmentRequest {
            location: at(35.5001, 112.8507),
            speed_factor: 9.0,
            ..Default::default()
        }),
        heat(0),
        heat(3600),
        heat(u32::MAX),
    ];
    write(dir, "what-ifs", &encode(0, &what_ifs))?;
    write(dir, "what-ifs-as-observer", &encode(1, &what_ifs))?;
    let position = |unit: &str, lat, lng| proto::UnitPosition {
        unit_id: unit.to_string(),
        position: at(lat, lng),
        heading_deg: 90.0,
        speed_mps: 8.0,
        ..Default::default()
    };
    let mut stream = grpc_frame(&position("U01", 35.5003, 112.8510).encode_to_vec());
    stream.extend(grpc_frame(
        &position("U01", f64::NAN, 112.8510).encode_to_vec(),
    ));
    stream.extend(grpc_frame(
        &position("U02", 35.5003, 112.8510).encode_to_vec(),
    ));
    let positions = vec![(call("ReportPositions"), stream)];
    write(dir, "positions", &encode(0, &positions))?;
    write(dir, "positions-as-unit", &encode(2, &positions))?;
    write(dir, "positions-wrong-token", &encode(4, &positions))?;
    Ok(())
}

/// The commands target reads its input through `arbitrary`, so any bytes
/// are a sequence of steps; these are a few lengths of fixed noise.
fn commands(dir: &Path) -> std::io::Result<()> {
    let mut state = 0x2020_0110_u64;
    for len in [16, 64, 256, 1024, 4096] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        write(dir, &format!("noise-{len}"), &bytes)?;
    }
    Ok(())
}
