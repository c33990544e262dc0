//! Engine errors as gRPC statuses. A console's mistake is never INTERNAL:
//! each refusal gets the code a client can act on and a message a
//! dispatcher can read.

use tonic::Status;

use crate::dispatch::{CommandError, EngineError, MoveUpField, MoveUpRefusal, RecommendError};

/// The status of a refused command.
pub fn command(error: &CommandError) -> Status {
    let message = error.to_string();
    match error {
        CommandError::UnknownIncident(_) | CommandError::UnknownUnit(_) => {
            Status::not_found(message)
        }
        CommandError::OutOfOrder { .. }
        | CommandError::UnitBusy { .. }
        | CommandError::UnitUnavailable { .. }
        | CommandError::NotAssigned { .. }
        | CommandError::OlderFix { .. }
        | CommandError::ShiftOpen(_)
        | CommandError::NothingStale { .. }
        | CommandError::ContainmentRunning { .. }
        | CommandError::NoContainment(_)
        | CommandError::ContainmentRefused { .. }
        | CommandError::Archived(_)
        | CommandError::StillOpen(_) => Status::failed_precondition(message),
        CommandError::BadAssignment { .. }
        | CommandError::StatusNotSettable(_)
        | CommandError::BadHeading(_)
        | CommandError::RequestIdReused { .. }
        | CommandError::ListedTwice(_)
        | CommandError::BadContainment { .. }
        | CommandError::EngineOnly(_) => Status::invalid_argument(message),
        CommandError::OffNetwork { .. } => Status::out_of_range(message),
        CommandError::MoveUp(refusal) => move_up(refusal),
    }
}

/// The status of a refused move-up: INVALID_ARGUMENT naming the request
/// field it is about (`unit_id`, `post_id`), whatever the reason, so a
/// console can point at what to change.
pub fn move_up(refusal: &MoveUpRefusal) -> Status {
    let field = match refusal.field() {
        MoveUpField::Unit => "unit_id",
        MoveUpField::Post => "post_id",
    };
    Status::invalid_argument(format!("{field}: {refusal}"))
}

/// The status of a command the engine did not acknowledge.
pub fn engine(error: &EngineError) -> Status {
    match error {
        EngineError::Command(e) => command(e),
        EngineError::Busy { .. } => Status::resource_exhausted(error.to_string()),
        EngineError::Journal(_) | EngineError::Stopped => Status::unavailable(error.to_string()),
        _ => Status::internal(error.to_string()),
    }
}

/// The status of a recommendation that could not be made.
pub fn recommend(error: &RecommendError) -> Status {
    match error {
        RecommendError::OffNetwork { .. } => Status::out_of_range(error.to_string()),
        RecommendError::NothingDispatchable => {
            Status::failed_precondition(format!("{error}: every unit is busy or out of service"))
        }
    }
}
