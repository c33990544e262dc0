//! Who may call what: bearer tokens from an auth file, each with a role.
//!
//! ```toml
//! [[token]]
//! name = "desk-1"          # written to the journal as the actor
//! role = "dispatcher"      # everything
//! token = "…at least 16 characters…"
//!
//! [[token]]
//! name = "U07-terminal"
//! role = "unit"            # its own positions and status only
//! unit = "U07"
//! token = "…"
//!
//! [[token]]
//! name = "wall-screen"
//! role = "observer"        # read-only
//! token = "…"
//! ```
//!
//! Tokens are kept only as SHA-256 digests and compared in constant time,
//! against every entry, so neither timing nor a memory dump gives them away.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::Status;

/// The shortest token accepted: 16 characters of a random string are
/// far beyond guessing over a network.
pub const MIN_TOKEN_CHARS: usize = 16;

/// What a caller may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Dispatcher,
    /// Report positions and status for one unit.
    Unit(String),
    /// Read-only: lists, incidents, recommendations, coverage, events.
    Observer,
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The name journaled as the actor of its commands.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

impl Caller {
    /// The caller of a server without an auth file (loopback only): a
    /// dispatcher.
    pub fn anonymous() -> Caller {
        Caller {
            name: "anonymous".to_string(),
            role: Role::Dispatcher,
        }
    }

    /// Allows reading.
    pub fn may_read(&self, what: &str) -> Result<(), Status> {
        match self.role {
            Role::Dispatcher | Role::Observer => Ok(()),
            Role::Unit(_) => Err(self.denied(what)),
        }
    }

    /// Allows changing incidents and assignments.
    pub fn may_dispatch(&self, what: &str) -> Result<(), Status> {
        match self.role {
            Role::Dispatcher => Ok(()),
            _ => Err(self.denied(what)),
        }
    }

    /// Allows reporting for one unit.
    pub fn may_report_for(&self, unit: &str) -> Result<(), Status> {
        match &self.role {
            Role::Dispatcher => Ok(()),
            Role::Unit(own) if own == unit => Ok(()),
            Role::Unit(own) => Err(Status::permission_denied(format!(
                "{} is the terminal of unit {own}; it may not report for unit {unit}",
                self.name
            ))),
            Role::Observer => Err(self.denied("report for a unit")),
        }
    }

    fn denied(&self, what: &str) -> Status {
        let role = match self.role {
            Role::Dispatcher => "dispatcher",
            Role::Unit(_) => "unit",
            Role::Observer => "observer",
        };
        Status::permission_denied(format!("{} ({role}) may not {what}", self.name))
    }
}

/// Why an auth file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// It could not be read.
    #[error("cannot read the auth file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML of the expected shape.
    #[error("the auth file {path} is not valid: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// An entry is wrong.
    #[error("the auth file {path}, token {index} ({name:?}): {problem}")]
    Entry {
        /// The file.
        path: String,
        /// The entry, from 1.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    token: Vec<RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    role: String,
    token: String,
    unit: Option<String>,
}

struct Entry {
    digest: [u8; 32],
    caller: Caller,
}

/// The tokens a server accepts.
pub struct Tokens {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the digests.
        f.debug_struct("Tokens")
            .field(
                "callers",
                &self
                    .entries
                    .iter()
                    .map(|e| &e.caller.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Reads an auth file.
    pub fn load(path: &Path) -> Result<Tokens, AuthFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Tokens::parse(&text, &path.display().to_string())
    }

    /// Parses an auth file's text; `label` names it in errors.
    pub fn parse(text: &str, label: &str) -> Result<Tokens, AuthFileError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| AuthFileError::Syntax {
            path: label.to_string(),
            message: e.message().to_string(),
        })?;
        if raw.token.is_empty() {
            return Err(AuthFileError::Syntax {
                path: label.to_string(),
                message: "it lists no [[token]]".to_string(),
            });
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(raw.token.len());
        for (i, t) in raw.token.into_iter().enumerate() {
            let problem = |problem: String| AuthFileError::Entry {
                path: label.to_string(),
                index: i + 1,
                name: t.name.clone(),
                problem,
            };
            if t.name.trim().is_empty() {
                return Err(problem("the name is empty".to_string()));
            }
            if t.token.chars().count() < MIN_TOKEN_CHARS {
                return Err(problem(format!(
                    "the token is shorter than {MIN_TOKEN_CHARS} characters"
                )));
            }
            let role = match (t.role.as_str(), &t.unit) {
                ("dispatcher", None) => Role::Dispatcher,
                ("observer", None) => Role::Observer,
                ("unit", Some(unit)) => Role::Unit(unit.clone()),
                ("unit", None) => {
                    return Err(problem("a unit token needs `unit = \"<id>\"`".into()));
                }
                ("dispatcher" | "observer", Some(_)) => {
                    return Err(problem(format!("a {} token has no unit", t.role)));
                }
                (other, _) => {
                    return Err(problem(format!(
                        "role {other:?} is not one of dispatcher, unit, observer"
                    )));
                }
            };
            let digest = digest(&t.token);
            if entries.iter().any(|e| e.digest == digest) {
                return Err(problem("the same token is listed twice".to_string()));
            }
            if entries.iter().any(|e| e.caller.name == t.name) {
                return Err(problem("the name is listed twice".to_string()));
            }
            entries.push(Entry {
                digest,
                caller: Caller { name: t.name, role },
            });
        }
        Ok(Tokens { entries })
    }

    /// The unit ids that unit tokens are bound to, for checking against
    /// the scenario.
    pub fn bound_units(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|e| match &e.caller.role {
            Role::Unit(unit) => Some((e.caller.name.as_str(), unit.as_str())),
            _ => None,
        })
    }

    /// The caller presenting `metadata`'s bearer token.
    pub fn authenticate(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Caller, Status> {
        let header = metadata.get("authorization").ok_or_else(|| {
            Status::unauthenticated("no `authorization: Bearer <token>` metadata")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Status::unauthenticated("the authorization metadata is not `Bearer <token>`")
            })?;
        let presented = digest(token);
        // Every entry is compared, whatever matched, so the time taken
        // says nothing about which entry (if any) it was.
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            if bool::from(entry.digest.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        found
            .map(|e| e.caller.clone())
            .ok_or_else(|| Status::unauthenticated("the token is not valid"))
    }
}
