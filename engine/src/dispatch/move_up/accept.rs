//! Taking advice: a dispatcher accepts a move (the unit's standby point
//! becomes the post) or releases it (its own standby point again).
//!
//! Every check is made before anything changes, by the handler against
//! the snapshot it answers from and again by the writer against the state
//! it applies to. The drive is measured once, when the move is given, and
//! travels in the command with the budget it was checked against, so a
//! replay (whose unit positions may be older than the live ones) decides
//! exactly as the writer did.

use crate::dispatch::command::{Command, MoveUpRefusal};
use crate::dispatch::state::DispatchState;
use crate::route::{Cost, RouteQuery};

impl DispatchState {
    /// Whether unit `unit` may be moved up to post `post` at `at_ms`,
    /// drive aside: both known, the unit free and past the hold time of its
    /// last move, not there already, and no other free unit standing by
    /// there. Returns their positions (slot, post).
    pub fn check_move_up(
        &self,
        unit: &str,
        post: &str,
        at_ms: i64,
    ) -> Result<(usize, usize), MoveUpRefusal> {
        let scenario = self.world.scenario();
        let slot = scenario
            .units()
            .index_of(unit)
            .ok_or_else(|| MoveUpRefusal::UnknownUnit(unit.to_string()))?;
        let to = scenario
            .post_index(post)
            .ok_or_else(|| MoveUpRefusal::UnknownPost(post.to_string()))?;
        let state = &self.units[slot];
        if !state.is_free() {
            return Err(MoveUpRefusal::NotFree {
                unit: unit.to_string(),
                status: state.status,
            });
        }
        if let (Some(moved_ms), Some(until_ms)) = (state.moved_ms, state.held_until_ms())
            && at_ms < until_ms
        {
            return Err(MoveUpRefusal::Held {
                unit: unit.to_string(),
                moved_ms,
                until_ms,
                hold_s: state.hold_s,
            });
        }
        if self.post_of(slot) == to {
            return Err(MoveUpRefusal::AlreadyThere {
                unit: unit.to_string(),
                post: post.to_string(),
            });
        }
        if let Some(by) = (0..self.units.len()).find(|&other| {
            other != slot && self.units[other].is_free() && self.post_of(other) == to
        }) {
            return Err(MoveUpRefusal::PostTaken {
                post: post.to_string(),
                by: self.unit_id(by).to_string(),
            });
        }
        Ok((slot, to))
    }

    /// The post a unit stands by at: the one it was moved to, else its own
    /// standby point (post `slot`).
    pub fn post_of(&self, slot: usize) -> usize {
        self.units.get(slot).and_then(|u| u.post).unwrap_or(slot)
    }

    /// The road drive of a unit from its live position to a post.
    pub fn drive_to_post(&self, query: &mut RouteQuery, slot: usize, post: usize) -> Cost {
        match (
            self.units.get(slot),
            self.world.scenario().post_points().get(post),
        ) {
            (Some(unit), Some(to)) => query.one_to_one(&unit.snapped, to),
            _ => Cost::UNREACHABLE,
        }
    }

    /// The command that accepts moving `unit` to `post` now, checked
    /// completely against this state and the scenario's `[move_up]`
    /// budget, with the drive measured from the unit's live position.
    pub fn move_up_command(
        &self,
        query: &mut RouteQuery,
        unit: &str,
        post: &str,
        note: &str,
        at_ms: i64,
    ) -> Result<Command, MoveUpRefusal> {
        let (slot, to) = self.check_move_up(unit, post, at_ms)?;
        let budget = self.world.scenario().config().move_up;
        let drive = self.drive_to_post(query, slot, to);
        let limit_ms = u64::from(budget.drive_limit_s) * 1000;
        if !drive.is_reachable() || u64::from(drive.time_ms()) > limit_ms {
            return Err(MoveUpRefusal::TooFar {
                unit: unit.to_string(),
                post: post.to_string(),
                drive_s: if drive.is_reachable() {
                    f64::from(drive.time_ms()) / 1000.0
                } else {
                    f64::INFINITY
                },
                limit_s: budget.drive_limit_s,
            });
        }
        Ok(Command::AcceptMoveUp {
            unit: unit.to_string(),
            post: post.to_string(),
            drive_ms: drive.time_ms(),
            drive_limit_s: budget.drive_limit_s,
            hold_s: budget.hold_s,
            note: note.to_string(),
        })
    }

    /// Applies an accepted move: checked again, then the unit's standby
    /// point is the post (or its own again, for its own standby point),
    /// its hold time starts, and advice counts it at the post.
    pub(crate) fn accept_move_up(
        &mut self,
        unit: &str,
        post: &str,
        drive_ms: u32,
        drive_limit_s: u32,
        hold_s: u32,
        at_ms: i64,
    ) -> Result<usize, MoveUpRefusal> {
        let (slot, to) = self.check_move_up(unit, post, at_ms)?;
        if u64::from(drive_ms) > u64::from(drive_limit_s) * 1000 {
            return Err(MoveUpRefusal::TooFar {
                unit: unit.to_string(),
                post: post.to_string(),
                drive_s: f64::from(drive_ms) / 1000.0,
                limit_s: drive_limit_s,
            });
        }
        let state = &mut self.units[slot];
        state.post = (to != slot).then_some(to);
        state.moved_ms = Some(at_ms);
        state.hold_s = hold_s;
        state.counts_at_post = true;
        Ok(slot)
    }

    /// Releases a unit from the post it was moved to.
    pub(crate) fn release_move_up(&mut self, unit: &str) -> Result<usize, MoveUpRefusal> {
        let slot = self
            .world
            .scenario()
            .units()
            .index_of(unit)
            .ok_or_else(|| MoveUpRefusal::UnknownUnit(unit.to_string()))?;
        let state = &mut self.units[slot];
        if state.post.is_none() {
            return Err(MoveUpRefusal::NotMoved(unit.to_string()));
        }
        state.post = None;
        state.counts_at_post = false;
        Ok(slot)
    }
}
