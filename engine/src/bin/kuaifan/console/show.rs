//! How the console shows answers: aligned tables for a dispatcher (Chinese
//! call signs and zone names count two columns each), or one JSON object
//! per answer for scripts.

use kuaifan_engine::service::proto;
use serde_json::{Value, json};
use tonic::Code;

/// Prints a line; a closed pipe (`kuaifan console units | head`) ends the
/// program quietly, as a reader going away is not an error.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// Where and how answers are shown.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// JSON instead of tables.
    pub json: bool,
    /// Hours from UTC for times.
    pub utc_offset_h: i64,
}

/// The gRPC name of a status code, as the standard spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Columns a character takes in a terminal: East Asian wide characters two.
fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// `text` padded with spaces to `width` columns.
fn pad(text: &str, width: usize) -> String {
    let mut padded = text.to_string();
    padded.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(columns(text)),
    ));
    padded
}

fn mm_ss(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".to_string();
    }
    let s = seconds.round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn name<E: Copy>(value: i32, from: fn(i32) -> Option<E>, as_str: fn(E) -> &'static str) -> String {
    from(value).map_or_else(|| value.to_string(), |e| as_str(e).to_string())
}

fn priority(p: i32) -> String {
    name(
        p,
        |v| proto::Priority::try_from(v).ok(),
        |e| e.as_str_name(),
    )
}

fn stage(s: i32) -> String {
    name(s, |v| proto::Stage::try_from(v).ok(), |e| e.as_str_name())
}

fn tier(t: i32) -> String {
    name(t, |v| proto::Tier::try_from(v).ok(), |e| e.as_str_name())
}

fn unit_status(s: i32) -> String {
    name(
        s,
        |v| proto::UnitStatus::try_from(v).ok(),
        |e| e.as_str_name(),
    )
}

fn point(p: Option<&proto::LatLng>) -> Value {
    p.map_or(Value::Null, |p| json!({ "lat": p.lat, "lng": p.lng }))
}

/// JSON of an incident.
fn incident_json(i: &proto::Incident) -> Value {
    json!({
        "id": i.id,
        "location": point(i.location.as_ref()),
        "priority": priority(i.priority),
        "stage": stage(i.stage),
        "unit_ids": i.unit_ids,
        "zone_id": i.zone_id,
        "reported_at_ms": i.reported_at_ms,
        "category": i.category,
        "description": i.description,
        "caller_ref": i.caller_ref,
        "history": i.history.iter().map(|h| json!({
            "stage": stage(h.stage), "at_ms": h.at_ms, "actor": h.actor, "note": h.note,
        })).collect::<Vec<_>>(),
        "assignments": i.assignments.iter().map(|a| json!({
            "unit_id": a.unit_id, "tier": tier(a.tier), "target_s": a.target_s,
            "assigned_at_ms": a.assigned_at_ms,
            "arrived_at_ms": (a.arrived_at_ms > 0).then_some(a.arrived_at_ms),
            "response_s": (a.arrived_at_ms > 0).then_some(a.response_s),
            "met_target": (a.arrived_at_ms > 0).then_some(a.met_target),
            "left_at_ms": (a.left_at_ms > 0).then_some(a.left_at_ms),
        })).collect::<Vec<_>>(),
        "needs_unit": i.needs_unit,
    })
}

fn unheld_reason(why: i32) -> String {
    name(
        why,
        |v| proto::UnheldReason::try_from(v).ok(),
        |e| e.as_str_name(),
    )
}

fn recommendation_json(r: &proto::Recommendation) -> Value {
    json!({
        "zone_id": r.zone_id,
        "snap_distance_m": r.snap_distance_m,
        "candidates": r.candidates.iter().map(|c| json!({
            "unit_id": c.unit_id, "call_sign": c.call_sign, "tier": tier(c.tier),
            "eta_s": c.eta_s, "distance_m": c.distance_m, "meets_target": c.meets_target,
            "goal": point(c.goal.as_ref()), "reason": c.reason, "stale": c.stale,
        })).collect::<Vec<_>>(),
        "tiers": r.tiers.iter().map(|t| json!({
            "tier": tier(t.tier), "target_s": t.target_s, "met": t.met,
            "wanted": t.wanted, "assigned": t.assigned,
        })).collect::<Vec<_>>(),
        "uncovered_exits": r.uncovered_exits.iter().map(|p| point(Some(p))).collect::<Vec<_>>(),
        "unheld_exits": r.unheld_exits.iter().map(|u| json!({
            "exit_number": u.exit_number, "at": point(u.at.as_ref()), "rank": u.rank,
            "why": unheld_reason(u.why), "reason": u.reason,
        })).collect::<Vec<_>>(),
        "move_ups_after": r.move_ups_after.as_ref().map(move_ups_json),
    })
}

fn unit_json(u: &proto::Unit) -> Value {
    json!({
        "id": u.id, "call_sign": u.call_sign, "kind": u.kind, "home_zone_id": u.home_zone_id,
        "status": unit_status(u.status), "position": point(u.position.as_ref()),
        "position_time_ms": (u.position_time_ms > 0).then_some(u.position_time_ms),
        "incident_id": (!u.incident_id.is_empty()).then_some(&u.incident_id),
        "stale": u.stale,
        "post_id": u.post_id, "post_name": u.post_name,
        "moved_at_ms": (u.moved_at_ms > 0).then_some(u.moved_at_ms),
        "move_held_until_ms": (u.move_held_until_ms > 0).then_some(u.move_held_until_ms),
    })
}

/// ` moved up to P38 迎宾街-北环路路口岗` for a unit whose standby point is
/// a post it was moved to; nothing at its own.
fn moved_up(u: &proto::Unit) -> String {
    if u.post_id.is_empty() || u.post_id == u.id {
        String::new()
    } else {
        format!(" moved up to {} {}", u.post_id, u.post_name)
    }
}

fn move_ups_json(a: &proto::MoveUpAdvice) -> Value {
    json!({
        "moves": a.moves.iter().map(|m| json!({
            "unit_id": m.unit_id, "call_sign": m.call_sign, "post_id": m.post_id,
            "post_name": m.post_name, "post_location": point(m.post_location.as_ref()),
            "drive_s": m.drive_s, "drive_m": m.drive_m, "gain": m.gain,
            "zone_id": (!m.zone_id.is_empty()).then_some(&m.zone_id),
            "zone_covered_before": m.zone_covered_before, "zone_covered_after": m.zone_covered_after,
            "city_covered_before": m.city_covered_before, "city_covered_after": m.city_covered_after,
            "reason": m.reason,
        })).collect::<Vec<_>>(),
        "busy_fraction": a.busy_fraction, "free_units": a.free_units,
        "expected_before": a.expected_before, "expected_after": a.expected_after,
        "within_60s_before": a.within_60s_before, "within_60s_after": a.within_60s_after,
        "city_covered_before": a.city_covered_before, "city_covered_after": a.city_covered_after,
        "computed_at_ms": a.computed_at_ms, "journal_seq": a.journal_seq,
    })
}

impl Output {
    fn clock(&self, ms: i64) -> String {
        let local = ms.div_euclid(1000) + self.utc_offset_h * 3600;
        let day = local.rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", day / 3600, day / 60 % 60, day % 60)
    }

    /// A new incident and what to send.
    pub fn reported(&self, answer: &proto::ReportIncidentResponse) {
        if self.json {
            say!(
                "{}",
                json!({
                    "incident": answer.incident.as_ref().map(incident_json),
                    "recommendation": answer.recommendation.as_ref().map(recommendation_json),
                })
            );
            return;
        }
        if let Some(i) = &answer.incident {
            say!(
                "incident {} {} {} in zone {} at {}",
                i.id,
                priority(i.priority),
                stage(i.stage),
                if i.zone_id.is_empty() {
                    "(none)"
                } else {
                    &i.zone_id
                },
                self.clock(i.reported_at_ms)
            );
            if !i.unit_ids.is_empty() {
                say!("sent: {}", i.unit_ids.join(", "));
            }
        }
        match &answer.recommendation {
            Some(r) => self.recommendation_table(r),
            None => say!("no recommendation: no unit is dispatchable"),
        }
    }

    /// A recommendation.
    pub fn recommendation(&self, r: &proto::Recommendation) {
        if self.json {
            say!("{}", recommendation_json(r));
        } else {
            self.recommendation_table(r);
        }
    }

    fn recommendation_table(&self, r: &proto::Recommendation) {
        say!(
            "{}  {}  {}  {:>6}  {:>8}  {:<7} reason",
            pad("tier", 8),
            pad("unit", 5),
            pad("call sign", 12),
            "ETA",
            "distance",
            "target"
        );
        for c in &r.candidates {
            say!(
                "{}  {}  {}  {:>6}  {:>5.1} km  {:<7} {}{}",
                pad(&tier(c.tier), 8),
                pad(&c.unit_id, 5),
                pad(&c.call_sign, 12),
                mm_ss(c.eta_s),
                c.distance_m / 1000.0,
                if c.meets_target { "met" } else { "MISSED" },
                c.reason,
                if c.stale { " (position stale)" } else { "" }
            );
        }
        for t in &r.tiers {
            let outcome = if t.met {
                "met".to_string()
            } else {
                format!("NOT MET ({} of {} in time)", t.assigned, t.wanted)
            };
            say!(
                "{} target {}  {outcome}",
                pad(&tier(t.tier), 8),
                mm_ss(t.target_s)
            );
        }
        if !r.uncovered_exits.is_empty() {
            say!("{} zone exits left uncovered", r.uncovered_exits.len());
        }
        for u in &r.unheld_exits {
            say!("  {}", u.reason);
        }
        if let Some(a) = &r.move_ups_after {
            for m in &a.moves {
                say!("then move up: {} ({})", m.reason, mm_ss(m.drive_s));
            }
        }
    }

    /// One incident in full.
    pub fn incident(&self, i: &proto::Incident) {
        if self.json {
            say!("{}", incident_json(i));
            return;
        }
        say!(
            "incident {}  {}  {}  zone {}  {}{}",
            i.id,
            priority(i.priority),
            stage(i.stage),
            if i.zone_id.is_empty() {
                "(none)"
            } else {
                &i.zone_id
            },
            i.category,
            if i.description.is_empty() {
                String::new()
            } else {
                format!(": {}", i.description)
            }
        );
        for h in &i.history {
            say!(
                "  {}  {}  by {}{}",
                self.clock(h.at_ms),
                pad(&stage(h.stage), 10),
                h.actor,
                if h.note.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", h.note)
                }
            );
        }
        for a in &i.assignments {
            let response = if a.left_at_ms > 0 {
                format!("LEFT the case at {}", self.clock(a.left_at_ms))
            } else if a.arrived_at_ms > 0 {
                format!(
                    "arrived after {} ({})",
                    mm_ss(a.response_s),
                    if a.met_target { "met" } else { "MISSED" }
                )
            } else {
                "on the way".to_string()
            };
            say!(
                "  {}  {}  target {}  {response}",
                pad(&a.unit_id, 5),
                pad(&tier(a.tier), 8),
                mm_ss(a.target_s)
            );
        }
        if i.needs_unit && !i.assignments.is_empty() {
            say!("  NEEDS A UNIT: every unit sent has left the case");
        }
    }

    /// A list of incidents.
    /// A page of incidents; `next_page` continues it when not empty.
    pub fn incidents(&self, list: &[proto::Incident], next_page: &str) {
        if self.json {
            for i in list {
                say!("{}", incident_json(i));
            }
            return;
        }
        say!(
            "{}  pri  {}  zone  reported  units",
            pad("id", 5),
            pad("stage", 10)
        );
        for i in list {
            say!(
                "{}  {}   {}  {}  {}  {}",
                pad(&i.id, 5),
                priority(i.priority),
                pad(&stage(i.stage), 10),
                pad(&i.zone_id, 4),
                self.clock(i.reported_at_ms),
                i.unit_ids.join(",")
            );
        }
        say!("{} incidents", list.len());
        if !next_page.is_empty() {
            say!("more: incidents --page {next_page} (with the same filters)");
        }
    }

    /// Units.
    pub fn units(&self, units: &[proto::Unit]) {
        if self.json {
            for u in units {
                say!("{}", unit_json(u));
            }
            return;
        }
        say!(
            "{}  {}  {}  zone  {}  incident  position",
            pad("unit", 5),
            pad("call sign", 12),
            pad("kind", 12),
            pad("status", 14)
        );
        for u in units {
            let at = u
                .position
                .map_or_else(String::new, |p| format!("{:.5}, {:.5}", p.lat, p.lng));
            let when = if u.position_time_ms > 0 {
                format!(" at {}", self.clock(u.position_time_ms))
            } else {
                " (standby point)".to_string()
            };
            say!(
                "{}  {}  {}  {}  {}  {}  {at}{when}{}{}",
                pad(&u.id, 5),
                pad(&u.call_sign, 12),
                pad(&u.kind, 12),
                pad(&u.home_zone_id, 4),
                pad(&unit_status(u.status), 14),
                pad(&u.incident_id, 8),
                if u.stale { " STALE" } else { "" },
                moved_up(u)
            );
        }
        if units.len() > 1 {
            say!("{} units", units.len());
        }
    }

    /// Zones.
    pub fn zones(&self, zones: &[proto::Zone]) {
        if self.json {
            for z in zones {
                say!(
                    "{}",
                    json!({ "id": z.id, "name": z.name, "area_km2": z.area_km2,
                            "incident_rate_per_day": z.incident_rate_per_day,
                            "outline": z.outline.iter().map(|p| point(Some(p))).collect::<Vec<_>>() })
                );
            }
            return;
        }
        say!(
            "{}  {}  {:>8}  {:>9}",
            pad("zone", 4),
            pad("name", 24),
            "km²",
            "calls/day"
        );
        for z in zones {
            say!(
                "{}  {}  {:>8.2}  {:>9.1}",
                pad(&z.id, 4),
                pad(&z.name, 24),
                z.area_km2,
                z.incident_rate_per_day
            );
        }
    }

    /// Coverage: the city's shares and the `worst` zones by the support
    /// target.
    pub fn coverage(&self, c: &proto::Coverage, worst: usize) {
        let mut zones: Vec<&proto::ZoneCoverage> = c.zones.iter().collect();
        zones.sort_by(|a, b| a.within_180s.total_cmp(&b.within_180s));
        zones.truncate(worst);
        if self.json {
            say!(
                "{}",
                json!({
                    "within_60s": c.within_60s, "within_180s": c.within_180s,
                    "within_300s": c.within_300s, "resolution": c.resolution,
                    "cells": c.cells.len(),
                    "gaps": c.zones.iter().filter(|z| z.gap).map(|z| &z.zone_id).collect::<Vec<_>>(),
                    "worst_zones": zones.iter().map(|z| json!({
                        "zone_id": z.zone_id, "name": z.name, "within_60s": z.within_60s,
                        "within_180s": z.within_180s, "within_300s": z.within_300s, "gap": z.gap,
                    })).collect::<Vec<_>>(),
                })
            );
            return;
        }
        say!(
            "zoned area reached by road: {:.1}% within 1 min, {:.1}% within 3 min, {:.1}% within 5 min",
            c.within_60s * 100.0,
            c.within_180s * 100.0,
            c.within_300s * 100.0
        );
        let gaps: Vec<&str> = c
            .zones
            .iter()
            .filter(|z| z.gap)
            .map(|z| z.zone_id.as_str())
            .collect();
        if gaps.is_empty() {
            say!("no coverage gap");
        } else {
            say!("COVERAGE GAPS: {}", gaps.join(", "));
        }
        say!(
            "worst zones:\n{}  {}  {:>6}  {:>6}  {:>6}",
            pad("zone", 4),
            pad("name", 24),
            "≤1min",
            "≤3min",
            "≤5min"
        );
        for z in zones {
            say!(
                "{}  {}  {:>5.1}%  {:>5.1}%  {:>5.1}%{}",
                pad(&z.zone_id, 4),
                pad(&z.name, 24),
                z.within_60s * 100.0,
                z.within_180s * 100.0,
                z.within_300s * 100.0,
                if z.gap { "  GAP" } else { "" }
            );
        }
    }

    /// One live event.
    pub fn event(&self, e: &proto::Event) {
        use proto::event::Kind;
        if self.json {
            let kind = match &e.kind {
                Some(Kind::Incident(i)) => json!({ "incident": incident_json(i) }),
                Some(Kind::Unit(u)) => json!({ "unit": unit_json(u) }),
                Some(Kind::CoverageGapZoneId(z)) => json!({ "coverage_gap_zone_id": z }),
                Some(Kind::CoverageRestoredZoneId(z)) => json!({ "coverage_restored_zone_id": z }),
                Some(Kind::MoveUps(a)) => json!({ "move_ups": move_ups_json(a) }),
                Some(Kind::Containment(c)) => json!({ "containment": containment_event_json(c) }),
                None => Value::Null,
            };
            say!("{}", json!({ "time_ms": e.time_ms, "event": kind }));
            return;
        }
        let what = match &e.kind {
            Some(Kind::Incident(i)) => format!(
                "incident {} {} {} zone {} {}",
                i.id,
                priority(i.priority),
                stage(i.stage),
                i.zone_id,
                i.unit_ids.join(",")
            ),
            Some(Kind::Unit(u)) => format!(
                "unit     {} {} {}{}{}",
                u.id,
                unit_status(u.status),
                u.position
                    .map_or_else(String::new, |p| format!("({:.5}, {:.5})", p.lat, p.lng)),
                if u.incident_id.is_empty() {
                    String::new()
                } else {
                    format!(" incident {}", u.incident_id)
                },
                moved_up(u)
            ),
            Some(Kind::CoverageGapZoneId(z)) => {
                format!("GAP      zone {z}: no unit within 3 min")
            }
            Some(Kind::CoverageRestoredZoneId(z)) => format!("covered  zone {z} again"),
            Some(Kind::MoveUps(a)) if a.moves.is_empty() => format!(
                "move-up  none advised (city within 3 min {:.1} %)",
                a.city_covered_before * 100.0
            ),
            Some(Kind::MoveUps(a)) => {
                let lines: Vec<String> = a.moves.iter().map(|m| m.reason.clone()).collect();
                format!("move-up  {}", lines.join("\n                  "))
            }
            Some(Kind::Containment(c)) => {
                let labels = |list: &[proto::ContainmentCrossing]| {
                    list.iter()
                        .map(|x| format!("{} {}", x.crossing_id, x.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut line = format!(
                    "contain  incident {} {}",
                    c.incident_id,
                    containment_event_kind(c.kind)
                );
                if !c.crossing_id.is_empty() {
                    line.push_str(&format!(" at {}", c.crossing_id));
                }
                if !c.newly_needed.is_empty() {
                    line.push_str(&format!("; newly needed: {}", labels(&c.newly_needed)));
                }
                if !c.now_too_late.is_empty() {
                    line.push_str(&format!("; NOW TOO LATE: {}", labels(&c.now_too_late)));
                }
                line
            }
            None => "(an event of a newer server)".to_string(),
        };
        say!("{}  {what}", self.clock(e.time_ms));
    }
}

fn containment_event_kind(kind: i32) -> &'static str {
    match proto::ContainmentEventKind::try_from(kind) {
        Ok(proto::ContainmentEventKind::Started) => "started",
        Ok(proto::ContainmentEventKind::Sighting) => "sighting, re-planned",
        Ok(proto::ContainmentEventKind::CrossingStaffed) => "crossing staffed",
        Ok(proto::ContainmentEventKind::Intercepted) => "SUSPECT INTERCEPTED",
        Ok(proto::ContainmentEventKind::Lifted) => "lifted",
        _ => "changed",
    }
}

fn containment_event_json(c: &proto::ContainmentEvent) -> Value {
    json!({
        "kind": name(c.kind, |v| proto::ContainmentEventKind::try_from(v).ok(), |k| k.as_str_name()),
        "incident_id": c.incident_id,
        "newly_needed": c.newly_needed.iter().map(crossing_json).collect::<Vec<_>>(),
        "now_too_late": c.now_too_late.iter().map(crossing_json).collect::<Vec<_>>(),
        "crossing_id": (!c.crossing_id.is_empty()).then_some(&c.crossing_id),
        "containment": c.containment.as_ref().map(running_json),
    })
}

fn running_json(c: &proto::Containment) -> Value {
    let ms = |t: i64| (t > 0).then_some(t);
    json!({
        "incident_id": c.incident_id,
        "state": name(c.state, |v| proto::ContainmentState::try_from(v).ok(), |k| k.as_str_name()),
        "escape_time_ms": ms(c.escape_time_ms),
        "speed_factor": c.speed_factor,
        "lockdown_ring": (!c.lockdown_ring.is_empty()).then_some(&c.lockdown_ring),
        "started_at_ms": c.started_at_ms,
        "started_by": c.started_by,
        "sightings": c.sightings.iter().map(|s| json!({
            "location": point(s.location.as_ref()),
            "time_ms": s.time_ms,
            "source": s.source,
            "reported_at_ms": s.reported_at_ms,
        })).collect::<Vec<_>>(),
        "orders": c.orders.iter().map(|o| json!({
            "crossing": o.crossing.as_ref().map(crossing_json),
            "responder_kind": name(o.responder_kind, |v| proto::ResponderKind::try_from(v).ok(), |k| k.as_str_name()),
            "responder_id": o.responder_id,
            "ordered_at_ms": o.ordered_at_ms,
            "eta_ms": o.eta_ms,
            "staffed_at_ms": ms(o.staffed_at_ms),
            "left": o.left,
        })).collect::<Vec<_>>(),
        "interception": c.interception.as_ref().map(|i| json!({
            "location": point(i.location.as_ref()),
            "crossing_id": (!i.crossing_id.is_empty()).then_some(&i.crossing_id),
            "at_ms": i.at_ms,
            "actor": i.actor,
            "note": i.note,
        })),
        "lifted_at_ms": ms(c.lifted_at_ms),
        "lift_note": c.lift_note,
        "plan": c.plan.as_ref().map(containment_json),
    })
}

fn crossing_json(c: &proto::ContainmentCrossing) -> Value {
    let ms = |t: i64| (t > 0).then_some(t);
    json!({
        "crossing_id": c.crossing_id,
        "label": c.label,
        "location": point(c.location.as_ref()),
        "road": c.road,
        "road_ref": c.road_ref,
        "road_class": c.road_class,
        "checkpoint_id": (!c.checkpoint_id.is_empty()).then_some(&c.checkpoint_id),
        "suspect_earliest_ms": ms(c.suspect_earliest_ms),
        "holder_kind": name(c.holder_kind, |v| proto::ResponderKind::try_from(v).ok(), |k| k.as_str_name()),
        "holder_id": (!c.holder_id.is_empty()).then_some(&c.holder_id),
        "holder_arrival_ms": ms(c.holder_arrival_ms),
        "margin_ms": (c.holder_arrival_ms > 0 && c.suspect_earliest_ms > 0).then_some(c.margin_ms),
        "verdict": name(c.verdict, |v| proto::CrossingVerdict::try_from(v).ok(), |k| k.as_str_name()),
        "rings": c.rings,
    })
}

fn containment_json(p: &proto::ContainmentPlan) -> Value {
    json!({
        "summary": p.summary,
        "planned_at_ms": p.planned_at_ms,
        "innermost_closed_ring_id": (!p.innermost_closed_ring_id.is_empty()).then_some(&p.innermost_closed_ring_id),
        "latest_arrival_ms": (p.latest_arrival_ms > 0).then_some(p.latest_arrival_ms),
        "rings": p.rings.iter().map(|r| json!({
            "ring": r.ring,
            "id": r.id,
            "name": r.name,
            "closed": r.closed,
            "crossings": r.crossings.iter().map(crossing_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "for_neighbours": p.for_neighbours.iter().map(crossing_json).collect::<Vec<_>>(),
        "possible_area_cells": p.possible_area_cells,
    })
}

fn verdict(v: i32) -> &'static str {
    match proto::CrossingVerdict::try_from(v) {
        Ok(proto::CrossingVerdict::ClosedInTime) => "closed in time",
        Ok(proto::CrossingVerdict::TooLate) => "TOO LATE",
        Ok(proto::CrossingVerdict::AlreadyPassed) => "ALREADY PASSED",
        Ok(proto::CrossingVerdict::Unheld) => "UNHELD",
        Ok(proto::CrossingVerdict::OutOfReach) => "out of reach",
        _ => "?",
    }
}

fn holder_kind(k: i32) -> &'static str {
    match proto::ResponderKind::try_from(k) {
        Ok(proto::ResponderKind::ResponderUnit) => "unit",
        Ok(proto::ResponderKind::ResponderStationTeam) => "team",
        Ok(proto::ResponderKind::ResponderStaffedPost) => "post",
        _ => "",
    }
}

impl Output {
    /// A containment plan: a table per ring, then the verdict.
    pub fn containment(&self, p: &proto::ContainmentPlan) {
        if self.json {
            say!("{}", containment_json(p));
            return;
        }
        let at = |ms: i64| {
            if ms > 0 {
                self.clock(ms)
            } else {
                "-".to_string()
            }
        };
        for r in &p.rings {
            say!(
                "ring {} {} {}: {}",
                r.ring,
                r.id,
                r.name,
                if r.closed { "CLOSED" } else { "OPEN" }
            );
            say!(
                "  {}  {}  {}  {:>8}  {}  {}  {:>8}  {:>7}  verdict",
                pad("id", 4),
                pad("crossing", 28),
                pad("class", 9),
                "suspect",
                pad("holder", 4),
                pad("id", 10),
                "arrives",
                "margin"
            );
            for c in &r.crossings {
                let margin = if c.holder_arrival_ms > 0 && c.suspect_earliest_ms > 0 {
                    mm_ss(c.margin_ms as f64 / 1000.0)
                } else {
                    "-".to_string()
                };
                say!(
                    "  {}  {}  {}  {:>8}  {}  {}  {:>8}  {:>7}  {}",
                    pad(&c.crossing_id, 4),
                    pad(&c.label, 28),
                    pad(&c.road_class, 9),
                    at(c.suspect_earliest_ms),
                    pad(holder_kind(c.holder_kind), 4),
                    pad(&c.holder_id, 10),
                    at(c.holder_arrival_ms),
                    margin,
                    verdict(c.verdict)
                );
            }
        }
        say!("{}", p.summary);
        if !p.possible_area_cells.is_empty() {
            say!(
                "possible area now: {} H3 resolution-8 cells (--json lists them)",
                p.possible_area_cells.len()
            );
        }
    }
}

impl Output {
    /// Move-up advice: one line per move, what it buys, and the drive.
    pub fn move_ups(&self, a: &proto::MoveUpAdvice) {
        if self.json {
            say!("{}", move_ups_json(a));
            return;
        }
        say!(
            "{} of {} units busy; city within 3 min {:.1} % → {:.1} %, expected coverage {:.1} % → {:.1} %",
            (f64::from(a.free_units) * a.busy_fraction / (1.0 - a.busy_fraction).max(1e-9)).round(),
            (f64::from(a.free_units) / (1.0 - a.busy_fraction).max(1e-9)).round(),
            a.city_covered_before * 100.0,
            a.city_covered_after * 100.0,
            a.expected_before * 100.0,
            a.expected_after * 100.0
        );
        if a.moves.is_empty() {
            say!("no move advised: none is worth its drive within the budget");
            return;
        }
        say!(
            "{}  {}  {}  {:>6}  {:>8}  what it buys",
            pad("unit", 5),
            pad("post", 6),
            pad("call sign", 12),
            "drive",
            "distance"
        );
        for m in &a.moves {
            say!(
                "{}  {}  {}  {:>6}  {:>5.1} km  {}",
                pad(&m.unit_id, 5),
                pad(&m.post_id, 6),
                pad(&m.call_sign, 12),
                mm_ss(m.drive_s),
                m.drive_m / 1000.0,
                m.reason
            );
        }
        if let Some(first) = a.moves.first() {
            say!(
                "accept with: kuaifan console accept-moveup {} {}",
                first.unit_id,
                first.post_id
            );
        }
    }

    /// A unit after a move-up was accepted or released, and the advice now.
    pub fn moved(&self, answer: &proto::MoveUpResponse) {
        if self.json {
            say!(
                "{}",
                json!({
                    "unit": answer.unit.as_ref().map(unit_json),
                    "advice": answer.advice.as_ref().map(move_ups_json),
                })
            );
            return;
        }
        if let Some(u) = &answer.unit {
            let held = if u.move_held_until_ms > 0 {
                format!(", held until {}", self.clock(u.move_held_until_ms))
            } else {
                String::new()
            };
            say!(
                "{} {} stands by at {} {}{held}",
                u.id,
                u.call_sign,
                u.post_id,
                u.post_name
            );
        }
        if let Some(a) = &answer.advice {
            self.move_ups(a);
        }
    }
    /// A containment: its state, sightings and orders, then the plan of its
    /// responders as a table per ring.
    pub fn running(&self, c: &proto::Containment) {
        if self.json {
            say!("{}", running_json(c));
            return;
        }
        let state = match proto::ContainmentState::try_from(c.state) {
            Ok(proto::ContainmentState::Running) => "RUNNING".to_string(),
            Ok(proto::ContainmentState::Intercepted) => "RUNNING, SUSPECT INTERCEPTED".to_string(),
            Ok(proto::ContainmentState::Lifted) => {
                format!("LIFTED at {} ({})", self.clock(c.lifted_at_ms), c.lift_note)
            }
            _ => "?".to_string(),
        };
        let what = if c.lockdown_ring.is_empty() {
            format!(
                "suspect left at {}, speed x{}",
                self.clock(c.escape_time_ms),
                c.speed_factor
            )
        } else {
            format!("lockdown of {}", c.lockdown_ring)
        };
        say!(
            "containment of incident {}: {state}; {what}; started {} by {}",
            c.incident_id,
            self.clock(c.started_at_ms),
            c.started_by
        );
        for s in &c.sightings {
            let at = s
                .location
                .map_or_else(String::new, |p| format!("({:.5}, {:.5})", p.lat, p.lng));
            say!("  seen {} at {at} {}", self.clock(s.time_ms), s.source);
        }
        if let Some(i) = &c.interception {
            say!(
                "  INTERCEPTED {} {} by {}: {}",
                self.clock(i.at_ms),
                i.crossing_id,
                i.actor,
                i.note
            );
        }
        say!(
            "  {}  {}  {}  {}  {:>8}  {:>8}  {:>8}",
            pad("id", 4),
            pad("crossing", 28),
            pad("by", 4),
            pad("responder", 10),
            "ordered",
            "eta",
            "staffed"
        );
        for o in &c.orders {
            let crossing = o.crossing.clone().unwrap_or_default();
            let staffed = if o.left {
                "LEFT".to_string()
            } else if o.staffed_at_ms > 0 {
                self.clock(o.staffed_at_ms)
            } else {
                "-".to_string()
            };
            say!(
                "  {}  {}  {}  {}  {:>8}  {:>8}  {:>8}",
                pad(&crossing.crossing_id, 4),
                pad(&crossing.label, 28),
                pad(holder_kind(o.responder_kind), 4),
                pad(&o.responder_id, 10),
                self.clock(o.ordered_at_ms),
                self.clock(o.eta_ms),
                staffed
            );
        }
        if let Some(plan) = &c.plan {
            self.containment(plan);
        }
    }
}
