//! One file per RPC of `kuaifan.v1.Dispatch`; `DispatchService` in
//! `dispatch.rs` authorises nothing itself and hands each call here.

pub(crate) mod accept_move_up;
pub(crate) mod advance_incident;
pub(crate) mod confirm_assignment;
pub(crate) mod get_containment;
pub(crate) mod get_coverage;
pub(crate) mod get_heat_map;
pub(crate) mod get_incident;
pub(crate) mod get_move_ups;
pub(crate) mod lift_containment;
pub(crate) mod list_incidents;
pub(crate) mod list_units;
pub(crate) mod list_zones;
pub(crate) mod locate;
pub(crate) mod mark_crossing_staffed;
pub(crate) mod plan_containment;
pub(crate) mod recommend;
pub(crate) mod record_interception;
pub(crate) mod report_incident;
pub(crate) mod report_positions;
pub(crate) mod report_sighting;
pub(crate) mod set_unit_status;
pub(crate) mod start_containment;
pub(crate) mod watch_events;
