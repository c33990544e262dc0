//! Reaching a kuaifan server as a console or terminal does: the address,
//! the CA to trust for TLS, and the bearer token sent with every call.

use std::path::PathBuf;
use std::time::Duration;

use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

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
