//! How the dispatch layer's values are kept in a journal: a command is
//! an entry with audit columns and its JSON body; the group's request id
//! is the journal's request tag; a closed case is an archive row with
//! its JSON body.

use std::path::Path;

use crate::dispatch::command::Stamped;
use crate::dispatch::requests::ClientRequest;
use crate::dispatch::state::DispatchState;
use crate::incident::Incident;
use crate::journal::{ArchivedCase, Entry, Group, Journal, JournalError, RequestTag, StoredGroup};

/// A command as a journal entry.
pub(crate) fn entry(stamped: &Stamped) -> Result<Entry, JournalError> {
    let body = serde_json::to_string(&stamped.command).map_err(|e| JournalError::Entry {
        path: Default::default(),
        seq: -1,
        reason: e.to_string(),
    })?;
    Ok(Entry {
        at_ms: stamped.at_ms,
        actor: stamped.actor.clone(),
        kind: stamped.command.kind().to_string(),
        incident: stamped.command.incident().map(|i| i.0),
        unit: stamped.command.unit().map(str::to_string),
        body,
    })
}

/// A request id as the journal keeps it (the actor is every entry's).
pub(crate) fn tag(request: &ClientRequest) -> RequestTag {
    RequestTag {
        id: request.id.clone(),
        digest: request.digest.clone(),
    }
}

/// A stored group read back: its commands and the request it answered.
pub(crate) fn group(
    path: &Path,
    stored: &StoredGroup,
) -> Result<(Vec<Stamped>, Option<ClientRequest>), JournalError> {
    let mut commands = Vec::with_capacity(stored.entries.len());
    for (seq, e) in &stored.entries {
        let command = serde_json::from_str(&e.body).map_err(|error| JournalError::Entry {
            path: path.to_path_buf(),
            seq: *seq,
            reason: error.to_string(),
        })?;
        commands.push(Stamped {
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            command,
        });
    }
    let request = stored.request.as_ref().map(|t| ClientRequest {
        actor: commands
            .first()
            .map(|c| c.actor.clone())
            .unwrap_or_default(),
        id: t.id.clone(),
        digest: t.digest.clone(),
    });
    Ok((commands, request))
}

/// Every command a journal holds after its last prune, in order: for
/// audits and tests (it reads them all into memory; the engine's start
/// does not).
pub fn read_journal(journal: &Journal) -> Result<Vec<Stamped>, JournalError> {
    read_journal_after(journal, 0)
}

/// As [`read_journal`], the commands after entry `after_seq`.
pub fn read_journal_after(journal: &Journal, after_seq: i64) -> Result<Vec<Stamped>, JournalError> {
    let mut out = Vec::new();
    journal.for_each_group_after(after_seq, |g| {
        out.extend(group(journal.path(), &g)?.0);
        Ok::<(), JournalError>(())
    })?;
    Ok(out)
}

/// Appends commands to a journal, each a group of its own with no request
/// id, in one transaction: how tools and tests write a journal without an
/// engine.
pub fn append_to_journal(journal: &mut Journal, commands: &[&Stamped]) -> Result<(), JournalError> {
    let groups = commands
        .iter()
        .map(|c| {
            Ok(Group {
                request: None,
                entries: vec![entry(c)?],
                archived: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, JournalError>>()?;
    journal.append(&groups).map(drop)
}

/// A closed case as the archive keeps it: the columns an auditor filters
/// on, and the whole case (its history and assignments) as JSON.
pub(crate) fn archived_case(
    state: &DispatchState,
    incident: &Incident,
) -> Result<ArchivedCase, JournalError> {
    let body = serde_json::to_string(incident).map_err(|e| JournalError::Entry {
        path: Default::default(),
        seq: -1,
        reason: e.to_string(),
    })?;
    let mut units: Vec<&str> = Vec::new();
    for a in &incident.assignments {
        let id = state.unit_id(a.unit);
        if !units.contains(&id) {
            units.push(id);
        }
    }
    Ok(ArchivedCase {
        incident: incident.id.0,
        reported_ms: incident.reported_ms(),
        closed_ms: incident
            .closed_ms()
            .unwrap_or_else(|| incident.reported_ms()),
        priority: incident.priority.to_string(),
        zone: incident
            .zone
            .and_then(|z| state.world().scenario().zones().as_slice().get(z))
            .map(|z| z.id.as_str().to_string()),
        category: incident.category.clone(),
        units: units.join(" "),
        body,
    })
}

/// The case an archive row holds.
pub fn archived_incident(path: &Path, case: &ArchivedCase) -> Result<Incident, JournalError> {
    serde_json::from_str(&case.body).map_err(|error| JournalError::Entry {
        path: path.to_path_buf(),
        seq: -1,
        reason: format!("archived incident {}: {error}", case.incident),
    })
}
