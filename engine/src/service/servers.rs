//! The nodes a client may reach: one server, or every node of a
//! deployment with hot standbys, and the one it talks to now.
//!
//! A standby answers reads from the state it follows and refuses commands
//! with UNAVAILABLE, naming the leader in [`LEADER_HEADER`]. A client
//! given every node's address therefore needs no load balancer: a refusal
//! that names the leader sends it there, and a node that does not answer
//! (down, or a refusal naming nobody while an election runs) is passed
//! over for the next. [`RetryPolicy::run_on`](super::RetryPolicy::run_on)
//! does this for every command call.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tonic::Status;
use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::client::{ConnectError, Endpoint};
use super::node_role::LEADER_HEADER;
use super::server::SERVICE_NAME;

/// How long a health check asking a node whether it leads may take.
const HEALTH_CHECK_WITHIN: Duration = Duration::from_secs(5);

/// The nodes, in the order given, and the current one.
#[derive(Debug)]
pub struct Servers {
    nodes: Mutex<Nodes>,
}

#[derive(Debug)]
struct Nodes {
    list: Vec<Node>,
    current: usize,
}

#[derive(Debug)]
struct Node {
    endpoint: Endpoint,
    /// The connection, once made (tonic reconnects it when it breaks).
    channel: Option<Channel>,
}

/// Where a client turns after a refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextNode {
    /// The refusal named the leader: go there at once.
    Leader(String),
    /// Nobody was named: the next node, after the usual wait.
    Next(String),
}

impl Servers {
    /// The nodes of `--addr`: one address, or several separated by commas
    /// (`http://10.0.0.1:50051,http://10.0.0.2:50051`), each reached with
    /// the same token and CA.
    pub fn parse(
        list: &str,
        token: Option<String>,
        ca: Option<PathBuf>,
    ) -> Result<Servers, ConnectError> {
        let addrs: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        if addrs.is_empty() {
            return Err(ConnectError::BadAddress(list.to_string()));
        }
        Ok(Servers::new(
            addrs
                .into_iter()
                .map(|addr| Endpoint {
                    addr: addr.to_string(),
                    token: token.clone(),
                    ca: ca.clone(),
                })
                .collect(),
        ))
    }

    /// The given nodes, the first current.
    ///
    /// # Panics
    /// With no node.
    pub fn new(endpoints: Vec<Endpoint>) -> Servers {
        assert!(!endpoints.is_empty(), "a client needs a server");
        Servers {
            nodes: Mutex::new(Nodes {
                list: endpoints
                    .into_iter()
                    .map(|endpoint| Node {
                        endpoint,
                        channel: None,
                    })
                    .collect(),
                current: 0,
            }),
        }
    }

    /// A single server.
    pub fn one(endpoint: Endpoint) -> Servers {
        Servers::new(vec![endpoint])
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Nodes> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current node.
    pub fn current(&self) -> Endpoint {
        let nodes = self.lock();
        nodes.list[nodes.current].endpoint.clone()
    }

    /// Every node, in order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.lock()
            .list
            .iter()
            .map(|n| n.endpoint.clone())
            .collect()
    }

    /// Every node's address, in order (a leader named by a refusal and
    /// not given is added at the end).
    pub fn addrs(&self) -> Vec<String> {
        self.lock()
            .list
            .iter()
            .map(|n| n.endpoint.addr.clone())
            .collect()
    }

    /// A request carrying the token, if any (the same for every node).
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        self.current().request(message)
    }

    /// A connection to the current node. One that cannot be reached is
    /// passed over for the next, each node tried once; the error of the
    /// last when none can be.
    pub async fn channel(&self) -> Result<Channel, ConnectError> {
        let count = self.lock().list.len();
        let mut last = None;
        for _ in 0..count {
            let (index, endpoint, channel) = {
                let nodes = self.lock();
                let node = &nodes.list[nodes.current];
                (nodes.current, node.endpoint.clone(), node.channel.clone())
            };
            if let Some(channel) = channel {
                return Ok(channel);
            }
            match endpoint.connect().await {
                Ok(channel) => {
                    let mut nodes = self.lock();
                    nodes.list[index].channel = Some(channel.clone());
                    return Ok(channel);
                }
                Err(e) => {
                    log::info!("{e}; trying the next node");
                    last = Some(e);
                    let mut nodes = self.lock();
                    if nodes.current == index {
                        nodes.current = (index + 1) % nodes.list.len();
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| ConnectError::BadAddress(String::new())))
    }

    /// Turns to the node to try after `status` refused a call on the
    /// current one: the leader it names (added if it was not given), else
    /// the next node.
    pub fn after_refusal(&self, status: &Status) -> NextNode {
        let named = status
            .metadata()
            .get(LEADER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let mut nodes = self.lock();
        let Some(leader) = named else {
            nodes.current = (nodes.current + 1) % nodes.list.len();
            return NextNode::Next(nodes.list[nodes.current].endpoint.addr.clone());
        };
        // The header is host:port as the leader advertises it; the given
        // addresses carry a scheme.
        let found = nodes
            .list
            .iter()
            .position(|n| host_port(&n.endpoint.addr) == leader);
        let index = found.unwrap_or_else(|| {
            let like = nodes.list[nodes.current].endpoint.clone();
            let scheme = if like.addr.starts_with("https://") {
                "https"
            } else {
                "http"
            };
            nodes.list.push(Node {
                endpoint: Endpoint {
                    addr: format!("{scheme}://{leader}"),
                    ..like
                },
                channel: None,
            });
            nodes.list.len() - 1
        });
        nodes.current = index;
        NextNode::Leader(nodes.list[index].endpoint.addr.clone())
    }

    /// Makes the node that takes commands now the current one: the first
    /// whose dispatch service is SERVING in a gRPC health check (a single
    /// server, or the leader of a deployment; a standby says NOT_SERVING).
    /// Its connection; when none says so, the current node's.
    pub async fn find_leader(&self) -> Result<Channel, ConnectError> {
        let count = self.lock().list.len();
        if count == 1 {
            return self.channel().await;
        }
        for index in 0..count {
            let endpoint = self.lock().list[index].endpoint.clone();
            let Ok(channel) = endpoint.connect().await else {
                continue;
            };
            let mut check = endpoint.request(HealthCheckRequest {
                service: SERVICE_NAME.to_string(),
            });
            check.set_timeout(HEALTH_CHECK_WITHIN);
            let serving = HealthClient::new(channel.clone())
                .check(check)
                .await
                .is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32);
            let mut nodes = self.lock();
            nodes.list[index].channel = Some(channel.clone());
            if serving {
                nodes.current = index;
                return Ok(channel);
            }
        }
        self.channel().await
    }
}

/// `host:port` of `http://host:port/…`.
fn host_port(addr: &str) -> &str {
    let rest = addr.split_once("://").map_or(addr, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(leader: Option<&str>) -> Status {
        let mut status = Status::unavailable("this node is a standby");
        if let Some(leader) = leader {
            status
                .metadata_mut()
                .insert(LEADER_HEADER, leader.parse().expect("ascii"));
        }
        status
    }

    #[test]
    fn a_list_of_addresses_is_split_on_commas() {
        let servers = Servers::parse(" http://a:1 ,http://b:2,", Some("t".into()), None)
            .expect("two addresses");
        assert_eq!(servers.addrs(), ["http://a:1", "http://b:2"]);
        assert_eq!(servers.current().token.as_deref(), Some("t"));
        assert!(matches!(
            Servers::parse(" , ", None, None),
            Err(ConnectError::BadAddress(_))
        ));
    }

    #[test]
    fn a_refusal_naming_the_leader_goes_there_and_one_naming_nobody_to_the_next() {
        let servers = Servers::parse("http://a:1,http://b:2,http://c:3", None, None).unwrap();
        assert_eq!(
            servers.after_refusal(&refusal(Some("c:3"))),
            NextNode::Leader("http://c:3".into())
        );
        assert_eq!(servers.current().addr, "http://c:3");
        assert_eq!(
            servers.after_refusal(&refusal(None)),
            NextNode::Next("http://a:1".into())
        );
        // A leader not given is added, with the scheme and token of the rest.
        assert_eq!(
            servers.after_refusal(&refusal(Some("d:4"))),
            NextNode::Leader("http://d:4".into())
        );
        assert_eq!(servers.addrs().len(), 4);
    }

    #[test]
    fn host_and_port_are_read_from_an_address() {
        assert_eq!(host_port("https://10.0.0.1:50051"), "10.0.0.1:50051");
        assert_eq!(host_port("http://a:1/"), "a:1");
        assert_eq!(host_port("a:1"), "a:1");
    }
}
