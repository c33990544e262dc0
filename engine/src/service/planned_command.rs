//! A command planned from the state it will apply to (a containment's
//! start, a sighting's re-plan): planned on a snapshot, submitted, and
//! planned again from the newer state when a unit or team it chose was
//! taken meanwhile by another console. The writer checks every order
//! again, so a plan made on an old snapshot is never applied as it was.

use tonic::Status;

use crate::dispatch::{Command, CommandError, DispatchState, EngineError, Outcome};
use crate::service::dispatch::{DispatchService, Live};
use crate::service::requests::CommandCall;
use crate::service::status;

/// How many times a command is planned in all before its refusal is the
/// answer.
const ATTEMPTS: usize = 3;

impl DispatchService {
    /// Plans the command with `plan` on the latest state and submits it
    /// for `actor` under `call`, planning again while what it ordered was
    /// taken meanwhile.
    pub(crate) async fn submit_planned(
        &self,
        live: &Live,
        call: &CommandCall,
        actor: &str,
        mut plan: impl FnMut(&DispatchState) -> Result<Command, Status>,
    ) -> Result<Outcome, Status> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let command = plan(&live.engine.snapshot())?;
            match self
                .submit_call_for_engine_error(live, call, vec![self.stamp(actor, command)])
                .await
            {
                Ok(outcome) => return Ok(outcome),
                Err(EngineError::Command(
                    CommandError::UnitBusy { .. }
                    | CommandError::UnitUnavailable { .. }
                    | CommandError::ContainmentRefused { .. },
                )) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(status::engine(&e)),
            }
        }
    }
}
