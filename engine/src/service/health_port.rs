//! A second port that answers only health checks, from a thread of its
//! own (`kuaifan serve --health-listen ADDR`).
//!
//! Under a flood the server's workers are busy taking and refusing calls,
//! and a health check on the main port waits its turn behind them: up to
//! a second with one worker (README, "Overload"). A probe with a one-second
//! timeout, Kubernetes' default, would then call a server that is shedding
//! load as it should dead, and restart it, losing the calls in flight. On
//! its own thread and runtime a health check does not queue behind
//! dispatch work.
//!
//! The port is plaintext whatever the main port uses: it tells only
//! SERVING or NOT_SERVING, and probes (Kubernetes' gRPC probe among them)
//! do not speak TLS.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::service::server::ServeError;

/// A bound health port, not yet serving.
#[derive(Debug)]
pub struct HealthPort {
    listener: std::net::TcpListener,
    local: SocketAddr,
}

/// A health port being served; [`Serving::stop`] ends it.
#[derive(Debug)]
pub struct Serving {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl HealthPort {
    /// Binds `addr` now, so that a port in use stops the start.
    pub fn bind(addr: SocketAddr) -> Result<HealthPort, ServeError> {
        let bind_error = |source| ServeError::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        Ok(HealthPort { listener, local })
    }

    /// The address it listens on (with the port picked, if 0 was given).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves `health` on a thread of its own until stopped.
    pub fn serve<H: Health>(self, health: HealthServer<H>) -> Result<Serving, ServeError> {
        let (stop, stopped) = oneshot::channel::<()>();
        let local = self.local;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::HealthPort)?;
        // The listener joins the runtime it will be polled on.
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(self.listener).map_err(ServeError::HealthPort)?
        };
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let thread = std::thread::Builder::new()
            .name("kuaifan-health".to_string())
            .spawn(move || {
                let served = runtime.block_on(
                    tonic::transport::Server::builder()
                        .add_service(health)
                        .serve_with_incoming_shutdown(incoming, async {
                            let _ = stopped.await;
                        }),
                );
                if let Err(e) = served {
                    log::error!("health port {local}: {e}");
                }
            })
            .map_err(ServeError::HealthPort)?;
        Ok(Serving { stop, thread })
    }
}

impl Serving {
    /// Stops answering and waits for the thread to end.
    pub fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            log::error!("the health port's thread panicked");
        }
    }
}
