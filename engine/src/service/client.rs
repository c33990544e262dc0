//! Reaching a kuaifan server as a console or terminal does: the address,
//! the CA to trust for TLS, and the bearer token sent with every call.

use std::path::PathBuf;
use std::time::Duration;

use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use super::servers::{NextNode, Servers};

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The address is not a URI.
    #[error("{0:?} is not a server address (write http://host:port or https://host:port)")]
    BadAddress(String),
    /// TLS without a CA to trust.
    #[error("{0} uses TLS: give the server's CA certificate (PEM) with --ca")]
    NoCa(String),
    /// The CA file could not be read.
    #[error("cannot read the CA certificate {path}: {source}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing answered.
    #[error("the server is not reachable at {addr}: {source}")]
    Unreachable {
        /// The address.
        addr: String,
        /// Why.
        source: tonic::transport::Error,
    },
}

/// Where the server is and how to present ourselves.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `http://host:port` or `https://host:port`.
    pub addr: String,
    /// Sent as `authorization: Bearer <token>` on every call.
    pub token: Option<String>,
    /// The CA certificate (PEM) to trust for `https://`.
    pub ca: Option<PathBuf>,
}

impl Endpoint {
    /// A new connection (each is its own HTTP/2 connection).
    pub async fn connect(&self) -> Result<Channel, ConnectError> {
        let bad = || ConnectError::BadAddress(self.addr.clone());
        let mut endpoint = Channel::from_shared(self.addr.clone())
            .map_err(|_| bad())?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10));
        if self.addr.starts_with("https://") {
            let Some(ca) = &self.ca else {
                return Err(ConnectError::NoCa(self.addr.clone()));
            };
            let pem = std::fs::read(ca).map_err(|source| ConnectError::Ca {
                path: ca.display().to_string(),
                source,
            })?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
                .map_err(|_| bad())?;
        }
        endpoint
            .connect()
            .await
            .map_err(|source| ConnectError::Unreachable {
                addr: self.addr.clone(),
                source,
            })
    }

    /// A request carrying the token, if any.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(token) = &self.token
            && let Ok(value) = format!("Bearer {token}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
}

/// A new client request id: 128 bits, unique across processes and calls
/// (the process id, the clock and a counter, digested). One per user
/// action; every retry of the action sends the same one.
pub fn new_request_id() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hash = Sha256::new();
    hash.update(std::process::id().to_le_bytes());
    hash.update(nanos.to_le_bytes());
    hash.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let bytes = hash.finalize();
    let hex: String = bytes[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// How a command is retried: on UNAVAILABLE, DEADLINE_EXCEEDED and
/// CANCELLED, with the same request id, at most `attempts` times in all,
/// waiting `first_backoff` and then twice as long each time, up to
/// `max_backoff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry.
    pub first_backoff: Duration,
    /// The longest wait between two calls.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Ten calls, 100 ms, 200 ms, 400 ms, 800 ms and then 1 s apart: 6.5 s
    /// in all, longer than a standby's takeover (a 3 s lease, then the
    /// election), so that a command sent as the leader dies is answered by
    /// the next.
    fn default() -> Self {
        Self {
            attempts: 10,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// Whether a status may be the answer to a call the server applied or
/// never saw, so that a retry with the same id is the safe next step.
pub fn is_retryable(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
    )
}

impl RetryPolicy {
    /// Calls `call` (which builds its request anew each time, with the
    /// same request id) until it is answered with anything but a
    /// retryable status, or the attempts run out; returns the last answer.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, tonic::Status>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let mut backoff = self.first_backoff;
        let mut attempt = 1;
        loop {
            match call().await {
                Err(status) if is_retryable(status.code()) && attempt < self.attempts => {
                    log::info!(
                        "call {attempt} of {}: {:?}: {}; again in {backoff:?}",
                        self.attempts,
                        status.code(),
                        status.message()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    /// Like [`RetryPolicy::run`], on the nodes of `servers`: each call
    /// goes to the current node, and after a retryable refusal the next
    /// call goes to the leader it names at once, or to the next node
    /// after the wait. A node that cannot be reached counts as a refusal
    /// with UNAVAILABLE.
    pub async fn run_on<T, F, Fut>(
        &self,
        servers: &Servers,
        mut call: F,
    ) -> Result<T, tonic::Status>
    where
        F: FnMut(Channel) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let mut backoff = self.first_backoff;
        let mut attempt = 1;
        loop {
            let answer = match servers.channel().await {
                Ok(channel) => call(channel).await,
                Err(e) => Err(tonic::Status::unavailable(e.to_string())),
            };
            match answer {
                Err(status) if is_retryable(status.code()) && attempt < self.attempts => {
                    let next = servers.after_refusal(&status);
                    log::info!(
                        "call {attempt} of {}: {:?}: {}; next {next:?}",
                        self.attempts,
                        status.code(),
                        status.message()
                    );
                    // A named leader is tried at once, but only once
                    // without a wait: a leader that has just lost the lead
                    // may still be named for a moment.
                    if !matches!(next, NextNode::Leader(_)) || attempt > 1 {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(self.max_backoff);
                    }
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }
}
