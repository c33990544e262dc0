//! Reaching a kuaifan server: the address, TLS trust and bearer token a
//! console or terminal would use.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

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
    pub async fn connect(&self) -> Result<Channel> {
        let mut endpoint = Channel::from_shared(self.addr.clone())
            .with_context(|| format!("{:?} is not a server address", self.addr))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10));
        if self.addr.starts_with("https://") {
            let Some(ca) = &self.ca else {
                bail!(
                    "{} uses TLS: give the server's CA certificate with --ca",
                    self.addr
                );
            };
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        endpoint
            .connect()
            .await
            .with_context(|| format!("the server is not reachable at {}", self.addr))
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
