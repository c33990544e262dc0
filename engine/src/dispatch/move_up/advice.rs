//! Advice as a dispatcher reads it: which unit to which post, how long the
//! drive, and in one line what it buys.

use crate::dispatch::move_up::problem::{FreeUnit, MoveUpProblem, Objective};
use crate::dispatch::move_up::search::{MoveUpPlan, PlanStep};
use crate::dispatch::state::DispatchState;
use crate::dispatch::unit_state::UnitStatus;
use crate::route::{Cost, RouteQuery};

/// One advised move.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveUp {
    /// The unit's slot.
    pub unit: usize,
    /// The post (a position in [`crate::Scenario::posts`]).
    pub post: usize,
    /// Its drive to the post.
    pub drive: Cost,
    /// The expected coverage it adds (a share of the calls), once the
    /// moves before it are made.
    pub gain: f64,
    /// The zone it helps most, and that zone's share of area within the
    /// cover target before and after.
    pub zone: Option<usize>,
    /// See `zone`.
    pub zone_share: (f64, f64),
    /// The share of the zoned area within the cover target, before and
    /// after.
    pub city_share: (f64, f64),
    /// What it buys, in one line: `U19 → 泽州路-凤台街路口岗 (Z17): Z17
    /// within 180 s 42 % → 88 %, city 81 % → 86 %`.
    pub reason: String,
}

/// The moves advised at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveUpAdvice {
    /// The moves, in order; empty when none is worth its drive.
    pub moves: Vec<MoveUp>,
    /// The fraction of the fleet busy (`q`).
    pub busy_fraction: f64,
    /// Free units counted.
    pub free_units: usize,
    /// The objective now and once the moves are made.
    pub before: Objective,
    /// See `before`.
    pub after: Objective,
    /// The share of the zoned area within the cover target of a free unit
    /// (each counted where the advice counts it), now and once the moves
    /// are made.
    pub city_share: (f64, f64),
    /// Single moves within the budget, and pairs evaluated exactly.
    pub moves_considered: usize,
    /// See `moves_considered`.
    pub pairs_evaluated: usize,
}

impl MoveUpAdvice {
    /// No advice: nothing is free, or the scenario has no coverage map.
    pub fn none() -> MoveUpAdvice {
        MoveUpAdvice {
            moves: Vec::new(),
            busy_fraction: 0.0,
            free_units: 0,
            before: Objective::default(),
            after: Objective::default(),
            city_share: (0.0, 0.0),
            moves_considered: 0,
            pairs_evaluated: 0,
        }
    }
}

impl DispatchState {
    /// The move-up advice now: which free units should shift to which
    /// posts, under the scenario's budget. Changes nothing.
    pub fn move_up_advice(&self, query: &mut RouteQuery, now_ms: i64) -> MoveUpAdvice {
        self.move_up_advice_without(query, now_ms, &[])
    }

    /// The advice that would follow sending the units in `leaving`
    /// (slots): they count as busy and are not moved. What a
    /// recommendation shows beside the units it recommends.
    pub fn move_up_advice_without(
        &self,
        query: &mut RouteQuery,
        now_ms: i64,
        leaving: &[usize],
    ) -> MoveUpAdvice {
        let Some(problem) = self.move_up_problem_at(query, leaving, now_ms) else {
            return MoveUpAdvice::none();
        };
        let config = self.world().scenario().config().move_up;
        let plan = problem.solve(&config);
        self.advice_of(&problem, &plan)
    }

    /// The question the advice answers: the free units (less `leaving`)
    /// where they count, and the busy fraction. `None` without a coverage
    /// map or a free unit. Every free unit may be moved (hold times aside:
    /// see [`DispatchState::move_up_problem_at`]).
    pub fn move_up_problem(
        &self,
        query: &mut RouteQuery,
        leaving: &[usize],
    ) -> Option<MoveUpProblem<'_>> {
        self.move_up_problem_at(query, leaving, i64::MAX)
    }

    /// As [`DispatchState::move_up_problem`] at `now_ms`: a unit moved
    /// within its hold time may not move; a unit that accepted a move
    /// counts at its post (its row is the post's) until it is next sent;
    /// each free unit belongs to its standby point, or to the post it was
    /// moved to, and no other unit is advised there.
    pub fn move_up_problem_at(
        &self,
        query: &mut RouteQuery,
        leaving: &[usize],
        now_ms: i64,
    ) -> Option<MoveUpProblem<'_>> {
        let layout = self.move_up_layout()?;
        let map = self.coverage()?;
        let drive = layout.drive_times(query, self.sources());
        let mut in_service = 0usize;
        let mut units = Vec::new();
        for (slot, unit) in self.units().iter().enumerate() {
            if unit.status == UnitStatus::OutOfService {
                continue;
            }
            in_service += 1;
            if leaving.contains(&slot) || !unit.is_free() {
                continue;
            }
            let post = self.post_of(slot);
            let row = if unit.counts_at_post {
                layout.post_row(post).cloned()
            } else {
                map.shared_row(slot)
            };
            let Some(row) = row else {
                continue;
            };
            units.push(FreeUnit {
                slot,
                row,
                post: Some(post),
                movable: unit.held_until_ms().is_none_or(|until| now_ms >= until),
                drive: drive
                    .iter()
                    .map(|to_post| to_post.get(slot).copied().unwrap_or(Cost::UNREACHABLE))
                    .collect(),
            });
        }
        if units.is_empty() {
            return None;
        }
        let busy = in_service - units.len();
        Some(MoveUpProblem::new(
            layout,
            units,
            busy as f64 / in_service as f64,
        ))
    }

    fn advice_of(&self, problem: &MoveUpProblem<'_>, plan: &MoveUpPlan) -> MoveUpAdvice {
        let moves = plan
            .steps
            .iter()
            .filter_map(|step| {
                let unit = problem.units().get(step.mv.unit)?;
                let drive = unit.drive.get(step.mv.post).copied()?;
                Some(MoveUp {
                    unit: unit.slot,
                    post: step.mv.post,
                    drive,
                    gain: step.gain,
                    zone: step.zone,
                    zone_share: step.zone_share,
                    city_share: step.city_share,
                    reason: self.move_up_line(unit.slot, step, problem.layout().cover_s()),
                })
            })
            .collect();
        MoveUpAdvice {
            moves,
            busy_fraction: problem.busy_fraction(),
            free_units: problem.units().len(),
            before: plan.before,
            after: plan.after,
            city_share: (
                problem.area_shares().0,
                problem.after(&plan.moves()).area_shares().0,
            ),
            moves_considered: plan.moves_considered,
            pairs_evaluated: plan.pairs_evaluated,
        }
    }

    /// `U19 → 泽州路-凤台街路口岗 (Z17): Z17 within 180 s 42 % → 88 %, city
    /// 81 % → 86 %`; a move that only adds a second unit in reach says so
    /// with the expected coverage instead.
    fn move_up_line(&self, slot: usize, step: &PlanStep, cover_s: u32) -> String {
        let scenario = self.world().scenario();
        let zone_id = |z: usize| {
            scenario
                .zones()
                .as_slice()
                .get(z)
                .map_or_else(|| format!("zone {z}"), |z| z.id.to_string())
        };
        let post = scenario.posts().get(step.mv.post);
        let post_zone = post
            .and_then(|p| scenario.zones().zone_at(p.location))
            .map(|z| format!(" ({})", z.id));
        let head = format!(
            "{} → {}{}",
            self.unit_id(slot),
            post.map_or("?", |p| p.name.as_str()),
            post_zone.unwrap_or_default()
        );
        let (zone_before, zone_after) = step.zone_share;
        let (city_before, city_after) = step.city_share;
        match step.zone {
            Some(z) if zone_after > zone_before || city_after > city_before => {
                let (zb, za) = percents(zone_before, zone_after);
                let (cb, ca) = percents(city_before, city_after);
                format!(
                    "{head}: {} within {cover_s} s {zb} → {za}, city {cb} → {ca}",
                    zone_id(z)
                )
            }
            _ => format!(
                "{head}: a second unit within {cover_s} s where one is, expected coverage +{:.1} points",
                step.gain * 100.0
            ),
        }
    }
}

/// Two shares as whole percentages, or with one decimal when the whole
/// numbers would hide the change.
fn percents(before: f64, after: f64) -> (String, String) {
    let whole = |s: f64| format!("{:.0} %", s * 100.0);
    if whole(before) == whole(after) {
        let tenth = |s: f64| format!("{:.1} %", s * 100.0);
        (tenth(before), tenth(after))
    } else {
        (whole(before), whole(after))
    }
}
