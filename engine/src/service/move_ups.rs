//! Move-up advice on the wire, and how the service computes it: from a
//! snapshot, with a pooled route query, at a given clock.

use crate::dispatch::{DispatchState, MoveUpAdvice};
use crate::route::RouteQuery;
use crate::service::convert::lat_lng;
use crate::service::proto;

/// The advice now (`leaving`: units about to be sent, which count as busy
/// and are not moved), in its wire form.
pub(crate) fn advice(
    state: &DispatchState,
    query: &mut RouteQuery,
    now_ms: i64,
    leaving: &[usize],
) -> proto::MoveUpAdvice {
    let advice = state.move_up_advice_without(query, now_ms, leaving);
    wire(state, &advice, now_ms)
}

/// The advice that would follow sending a recommendation's candidates:
/// they count as busy and are not moved.
pub(crate) fn after_sending(
    state: &DispatchState,
    query: &mut RouteQuery,
    now_ms: i64,
    recommendation: &proto::Recommendation,
) -> proto::MoveUpAdvice {
    let leaving: Vec<usize> = recommendation
        .candidates
        .iter()
        .filter_map(|c| state.unit_index(&c.unit_id).ok())
        .collect();
    advice(state, query, now_ms, &leaving)
}

/// The wire form of advice computed at `now_ms` on `state`.
pub(crate) fn wire(
    state: &DispatchState,
    advice: &MoveUpAdvice,
    now_ms: i64,
) -> proto::MoveUpAdvice {
    let scenario = state.world().scenario();
    let units = scenario.units().as_slice();
    let zones = scenario.zones().as_slice();
    let budget = scenario.config().move_up;
    proto::MoveUpAdvice {
        moves: advice
            .moves
            .iter()
            .map(|m| {
                let post = scenario.posts().get(m.post);
                proto::MoveUp {
                    unit_id: state.unit_id(m.unit).to_string(),
                    call_sign: units
                        .get(m.unit)
                        .map(|u| u.call_sign.clone())
                        .unwrap_or_default(),
                    post_id: post.map(|p| p.id.as_str().to_string()).unwrap_or_default(),
                    post_name: post.map(|p| p.name.clone()).unwrap_or_default(),
                    post_location: post.map(|p| lat_lng(p.location)),
                    drive_s: m.drive.seconds(),
                    drive_m: m.drive.metres(),
                    gain: m.gain,
                    zone_id: m
                        .zone
                        .and_then(|z| zones.get(z))
                        .map(|z| z.id.as_str().to_string())
                        .unwrap_or_default(),
                    zone_covered_before: m.zone_share.0,
                    zone_covered_after: m.zone_share.1,
                    city_covered_before: m.city_share.0,
                    city_covered_after: m.city_share.1,
                    reason: m.reason.clone(),
                }
            })
            .collect(),
        busy_fraction: advice.busy_fraction,
        free_units: u32::try_from(advice.free_units).unwrap_or(u32::MAX),
        expected_before: advice.before.expected,
        expected_after: advice.after.expected,
        within_60s_before: advice.before.within_handle,
        within_60s_after: advice.after.within_handle,
        city_covered_before: advice.city_share.0,
        city_covered_after: advice.city_share.1,
        budget: Some(proto::MoveUpBudget {
            max_moves: u32::try_from(budget.max_moves).unwrap_or(u32::MAX),
            drive_limit_s: budget.drive_limit_s,
            hold_s: budget.hold_s,
            min_gain: budget.min_gain,
        }),
        computed_at_ms: now_ms,
        journal_seq: state.journal_seq(),
    }
}
