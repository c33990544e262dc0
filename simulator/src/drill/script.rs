//! A rehearsed drill: the calls come from a file instead of the random
//! day, so a command centre can replay a scenario it planned (a robbery
//! at 14:05 in Z15, a pursuit towards the Henan border at 14:12 ...).
//!
//! The file is CSV with a header: `time_s,lat,lng,priority`, and optionally
//! `on_scene_s` (the median otherwise). Times are seconds from the start
//! of the drill, in any order.

use kuaifan_engine::{LatLon, Priority, Scenario};

use crate::drill::arrivals::Arrival;

/// Why a script was refused; the line is the file's (the header is 1).
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("drill script line {line}: {problem}")]
pub struct ScriptError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    time_s: f64,
    lat: f64,
    lng: f64,
    priority: String,
    on_scene_s: Option<f64>,
}

/// Reads a script's calls, sorted by time; each must be a coordinate on
/// the scenario's road network.
pub fn read(
    text: &str,
    scenario: &Scenario,
    default_on_scene_s: f64,
) -> Result<Vec<Arrival>, ScriptError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let snap = scenario.incident_snap();
    let mut calls = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let bad = |problem: String| ScriptError { line, problem };
        let row =
            row.map_err(|e| bad(format!("not `time_s,lat,lng,priority[,on_scene_s]`: {e}")))?;
        if !(row.time_s.is_finite() && row.time_s >= 0.0) {
            return Err(bad(format!(
                "time_s {} is not a time from the start",
                row.time_s
            )));
        }
        let location = LatLon::new(row.lat, row.lng).map_err(|e| bad(e.to_string()))?;
        scenario
            .router()
            .graph()
            .snap(location, &snap)
            .map_err(|e| bad(format!("{location}: {e}")))?;
        let priority = match row.priority.to_uppercase().as_str() {
            "P1" => Priority::P1,
            "P2" => Priority::P2,
            "P3" => Priority::P3,
            other => return Err(bad(format!("priority {other:?} is not P1, P2 or P3"))),
        };
        let on_scene_s = row.on_scene_s.unwrap_or(default_on_scene_s);
        if !(on_scene_s.is_finite() && on_scene_s >= 0.0) {
            return Err(bad(format!("on_scene_s {on_scene_s} is not a duration")));
        }
        calls.push(Arrival {
            at_s: row.time_s,
            location,
            priority,
            on_scene_s,
        });
    }
    calls.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    Ok(calls)
}
