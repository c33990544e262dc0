//! What this node is in a deployment, for the handlers, the health checks
//! and the metrics: a single node with its own journal, the leader that
//! writes the shared journal, or a standby following it.
//!
//! A standby refuses every command with UNAVAILABLE and the leader's
//! address in the [`LEADER_HEADER`] metadata, so that a client retries
//! there; it answers reads from the state it followed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::service::metrics::{self, Role};

/// The response metadata a standby names the leader's gRPC address in
/// (`host:port`, as the leader advertises it).
pub const LEADER_HEADER: &str = "kuaifan-leader";

/// The node's role, shared by the handlers, the health checks and the
/// node's own loop.
#[derive(Debug)]
pub struct NodeRole {
    role: AtomicU8,
    /// The leader's advertised gRPC address, when known.
    leader: Mutex<Option<String>>,
    /// Whether the state is caught up with the journal's end (always, for
    /// a single node once loaded and for the leader).
    caught_up: AtomicBool,
    /// Journal batches committed that this node has not applied yet.
    behind: AtomicU64,
    /// Set while the leader's lease is in doubt (etcd has not confirmed
    /// it for longer than its TTL): the leader then takes no command.
    in_doubt: AtomicBool,
}

impl NodeRole {
    /// A single node: it writes its own journal.
    pub fn single() -> NodeRole {
        NodeRole::new(Role::Single)
    }

    /// A node in a deployment with standbys, starting as a standby that
    /// has not caught up.
    pub fn standby() -> NodeRole {
        let role = NodeRole::new(Role::Standby);
        role.caught_up.store(false, Ordering::Release);
        role
    }

    fn new(role: Role) -> NodeRole {
        NodeRole {
            role: AtomicU8::new(code(role)),
            leader: Mutex::new(None),
            caught_up: AtomicBool::new(true),
            behind: AtomicU64::new(0),
            in_doubt: AtomicBool::new(false),
        }
    }

    /// The role now.
    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Acquire) {
            1 => Role::Leader,
            2 => Role::Standby,
            _ => Role::Single,
        }
    }

    /// Whether this node takes commands (a single node, or the leader
    /// while its lease is not in doubt).
    pub fn writes(&self) -> bool {
        self.role() != Role::Standby && !self.in_doubt()
    }

    /// Whether this node leads but etcd has not confirmed its lease for
    /// longer than its TTL.
    pub fn in_doubt(&self) -> bool {
        self.in_doubt.load(Ordering::Acquire)
    }

    /// The leader's lease is in doubt (`true`) or confirmed again
    /// (`false`).
    pub fn doubt(&self, in_doubt: bool) {
        self.in_doubt.store(in_doubt, Ordering::Release);
        metrics::set_lead_in_doubt(in_doubt);
    }

    /// Whether its state is caught up with the journal.
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// The leader's address, when known.
    pub fn leader(&self) -> Option<String> {
        self.leader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A standby's progress: who leads and how many batches it is behind.
    pub fn following(&self, leader: Option<String>, behind: u64) {
        *self.leader.lock().unwrap_or_else(|e| e.into_inner()) = leader;
        self.behind.store(behind, Ordering::Release);
        self.caught_up.store(behind == 0, Ordering::Release);
        self.role.store(code(Role::Standby), Ordering::Release);
        metrics::set_role(Role::Standby, behind);
    }

    /// This node leads now, reached at `advertise`.
    pub fn leading(&self, advertise: &str) {
        *self.leader.lock().unwrap_or_else(|e| e.into_inner()) = Some(advertise.to_string());
        self.behind.store(0, Ordering::Release);
        self.caught_up.store(true, Ordering::Release);
        self.role.store(code(Role::Leader), Ordering::Release);
        metrics::set_role(Role::Leader, 0);
    }

    /// This node lost the lead: it takes no command from now on.
    pub fn lost_lead(&self) {
        self.doubt(false);
        *self.leader.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.caught_up.store(false, Ordering::Release);
        self.role.store(code(Role::Standby), Ordering::Release);
        metrics::set_role(Role::Standby, 0);
    }

    /// The answer to a command on a standby: UNAVAILABLE, naming the
    /// leader in [`LEADER_HEADER`] when it is known.
    pub fn refusal(&self) -> Status {
        if self.in_doubt() {
            return Status::unavailable(
                "this node leads, but etcd has not confirmed its lease for longer than the \
                 lease's TTL (an etcd election, or etcd out of reach): it takes no command until \
                 etcd does; retry shortly",
            );
        }
        let leader = self.leader();
        let mut status = Status::unavailable(match &leader {
            Some(leader) => format!(
                "this node is a standby; send commands to the leader at {leader} \
                 (also in the {LEADER_HEADER} metadata)"
            ),
            None => {
                "this node is a standby and no leader is elected yet; retry shortly".to_string()
            }
        });
        if let Some(value) = leader.and_then(|l| MetadataValue::try_from(l.as_str()).ok()) {
            status.metadata_mut().insert(LEADER_HEADER, value);
        }
        status
    }

    /// [`NodeRole::refusal`] unless this node takes commands.
    pub fn check_writes(&self) -> Result<(), Status> {
        if self.writes() {
            Ok(())
        } else {
            Err(self.refusal())
        }
    }
}

fn code(role: Role) -> u8 {
    match role {
        Role::Single => 0,
        Role::Leader => 1,
        Role::Standby => 2,
    }
}
