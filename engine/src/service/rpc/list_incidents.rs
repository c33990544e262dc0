//! `ListIncidents`: the incidents, live and archived, a page at a time,
//! filtered by stage, priority, time reported and zone, in the order of
//! their numbers.
//!
//! Live cases come from the current snapshot and archived ones from the
//! archive, read after it: a case archived in between is in both, and is
//! listed once (as the snapshot has it), so none is missed.

use std::collections::BTreeMap;

use tonic::{Request, Response, Status};

use crate::incident::{Incident, IncidentId, Priority, Stage};
use crate::journal::CaseQuery;
use crate::service::dispatch::{DispatchService, Live};
use crate::service::{convert, proto};

/// The page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page a request may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// What a request asks for, checked.
struct Filter {
    open_only: bool,
    stages: Vec<Stage>,
    priorities: Vec<Priority>,
    from_ms: Option<i64>,
    before_ms: Option<i64>,
    /// Zone indices and ids, in the request's order.
    zones: Vec<(usize, String)>,
    newest_first: bool,
    after: Option<u64>,
    limit: usize,
}

impl Filter {
    fn keeps(&self, incident: &Incident) -> bool {
        let reported = incident.reported_ms();
        (!self.open_only || incident.is_open())
            && (self.stages.is_empty() || self.stages.contains(&incident.stage()))
            && (self.priorities.is_empty() || self.priorities.contains(&incident.priority))
            && self.from_ms.is_none_or(|from| reported >= from)
            && self.before_ms.is_none_or(|before| reported < before)
            && (self.zones.is_empty()
                || incident
                    .zone
                    .is_some_and(|z| self.zones.iter().any(|(i, _)| *i == z)))
            && self.after.is_none_or(|after| {
                if self.newest_first {
                    incident.id.0 < after
                } else {
                    incident.id.0 > after
                }
            })
    }

    /// Whether archived (closed) cases can match.
    fn wants_archive(&self) -> bool {
        !self.open_only && (self.stages.is_empty() || self.stages.contains(&Stage::Closed))
    }
}

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ListIncidentsRequest>,
) -> Result<Response<proto::ListIncidentsResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("list incidents")?;
    let live = service.live()?;
    let filter = filter(live, request.get_ref())?;
    let state = live.engine.snapshot();
    // One more than the page from each source says whether a next page
    // exists.
    let mut found: BTreeMap<IncidentId, proto::Incident> = BTreeMap::new();
    let take = filter.limit + 1;
    let mut add = |i: &Incident| {
        found.insert(i.id, convert::incident(&state, i));
    };
    if filter.newest_first {
        state
            .incidents()
            .rev()
            .filter(|i| filter.keeps(i))
            .take(take)
            .for_each(&mut add);
    } else {
        state
            .incidents()
            .filter(|i| filter.keeps(i))
            .take(take)
            .for_each(&mut add);
    }
    if filter.wants_archive()
        && let Some(archive) = &live.archive
    {
        let query = CaseQuery {
            after: filter.after,
            newest_first: filter.newest_first,
            reported_from_ms: filter.from_ms,
            reported_before_ms: filter.before_ms,
            zones: filter.zones.iter().map(|(_, id)| id.clone()).collect(),
            priorities: filter.priorities.iter().map(ToString::to_string).collect(),
            limit: take,
        };
        let unreadable = |e: String| {
            log::error!("the archive cannot be read: {e}");
            Status::internal(format!("the archive of closed cases cannot be read: {e}"))
        };
        for case in archive
            .cases(&query)
            .map_err(|e| unreadable(e.to_string()))?
        {
            let id = IncidentId(case.incident);
            if found.contains_key(&id) {
                continue;
            }
            let incident = crate::dispatch::archived_incident(archive.path(), &case)
                .map_err(|e| unreadable(e.to_string()))?;
            found.insert(id, convert::incident(&state, &incident));
        }
    }
    let mut incidents: Vec<proto::Incident> = if filter.newest_first {
        found.into_values().rev().collect()
    } else {
        found.into_values().collect()
    };
    let next_page_token = if incidents.len() > filter.limit {
        incidents.truncate(filter.limit);
        incidents
            .last()
            .map_or_else(String::new, |i| page_token(&i.id))
    } else {
        String::new()
    };
    Ok(Response::new(proto::ListIncidentsResponse {
        incidents,
        next_page_token,
    }))
}

/// The token of a page that continues after incident `id`.
fn page_token(id: &str) -> String {
    format!("after-{id}")
}

/// The request's filters, checked: every problem names its field.
fn filter(live: &Live, request: &proto::ListIncidentsRequest) -> Result<Filter, Status> {
    let bad = |message: String| Err(Status::invalid_argument(message));
    let limit = match usize::try_from(request.page_size) {
        Ok(0) => DEFAULT_PAGE_SIZE,
        Ok(n) if n <= MAX_PAGE_SIZE => n,
        _ => {
            return bad(format!(
                "page_size {} is above the limit of {MAX_PAGE_SIZE}",
                request.page_size
            ));
        }
    };
    let after = if request.page_token.is_empty() {
        None
    } else {
        match request
            .page_token
            .strip_prefix("after-")
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(n) => Some(n),
            None => {
                return bad(format!(
                    "page_token {:?} is not a token this server gave (pass next_page_token as it came)",
                    request.page_token
                ));
            }
        }
    };
    let mut stages = Vec::new();
    for (i, &wire) in request.stages.iter().enumerate() {
        match convert::stage(wire) {
            Ok(stage) => stages.push(stage),
            Err(_) => {
                return bad(format!(
                    "stages[{i}]: {wire} is not one of REPORTED (1) to CLOSED (6)"
                ));
            }
        }
    }
    let mut priorities = Vec::new();
    for (i, &wire) in request.priorities.iter().enumerate() {
        match convert::priority(wire) {
            Ok(priority) => priorities.push(priority),
            Err(_) => {
                return bad(format!(
                    "priorities[{i}]: {wire} is not one of P1 (1), P2 (2), P3 (3)"
                ));
            }
        }
    }
    let bound = |value: i64, field: &str| -> Result<Option<i64>, Status> {
        match value {
            0 => Ok(None),
            v if v < 0 => Err(Status::invalid_argument(format!(
                "{field} {v} is before 1970; give milliseconds since the epoch, or 0 for no bound"
            ))),
            v => Ok(Some(v)),
        }
    };
    let from_ms = bound(request.reported_from_ms, "reported_from_ms")?;
    let before_ms = bound(request.reported_before_ms, "reported_before_ms")?;
    if let (Some(from), Some(before)) = (from_ms, before_ms)
        && before <= from
    {
        return bad(format!(
            "reported_before_ms {before} is not after reported_from_ms {from}: the range is empty"
        ));
    }
    let known = live.world.scenario().zones();
    let mut zones = Vec::new();
    for (i, id) in request.zone_ids.iter().enumerate() {
        match known.index_of(id) {
            Some(index) => zones.push((index, id.clone())),
            None => {
                return bad(format!(
                    "zone_ids[{i}]: no zone {id:?} (ListZones gives the ids)"
                ));
            }
        }
    }
    Ok(Filter {
        open_only: request.open_only,
        stages,
        priorities,
        from_ms,
        before_ms,
        zones,
        newest_first: request.newest_first,
        after,
        limit,
    })
}
