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
//!
//! It also answers `GET /metrics` over plain HTTP/1.1 with the Prometheus
//! text format, for the scraper. One port for both: the health checks
//! and the scrape are what an operator's monitoring reaches, and neither
//! should wait behind dispatch work. gRPC is HTTP/2, so a connection
//! that opens with the HTTP/2 preface goes to the health service and any
//! other is read as HTTP/1.1 (tonic's `accept_http1`); a gRPC call over
//! HTTP/1.1 is refused by the gRPC service as before.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::service::Routes;
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

    /// Serves `health`, and `scrape` at `GET /metrics`, on a thread of its
    /// own until stopped.
    pub fn serve<H: Health>(
        self,
        health: HealthServer<H>,
        scrape: Scrape,
        pages: Pages,
    ) -> Result<Serving, ServeError> {
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
                let service = WithMetrics {
                    inner: Routes::new(health),
                    scrape,
                    pages,
                };
                let served = runtime.block_on(
                    tonic::transport::Server::builder()
                        .accept_http1(true)
                        .serve_with_incoming_shutdown(service, incoming, async {
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

/// Renders the metrics, in the Prometheus text format.
pub type Scrape = Arc<dyn Fn() -> String + Send + Sync>;

/// The plain HTTP pages beside `/metrics`: the answer to `GET path`, if
/// there is such a page (its status, content type and body).
pub type Pages = Arc<dyn Fn(&str) -> Option<Page> + Send + Sync>;

/// One answer of [`Pages`].
#[derive(Clone, Debug)]
pub struct Page {
    /// 200, or 503 for a probe that says no.
    pub status: http::StatusCode,
    /// Its content type.
    pub content_type: &'static str,
    /// Its body.
    pub body: String,
}

/// The health service, with `GET /metrics` answered beside it.
#[derive(Clone)]
struct WithMetrics {
    inner: Routes,
    scrape: Scrape,
    pages: Pages,
}

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

impl<B> Service<http::Request<B>> for WithMetrics
where
    Routes: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
    <Routes as Service<http::Request<B>>>::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<http::Request<B>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
        let metrics = request.uri().path() == "/metrics";
        let page = if metrics || request.method() != http::Method::GET {
            None
        } else {
            (self.pages)(request.uri().path())
        };
        if grpc && !metrics && page.is_none() {
            return Box::pin(self.inner.call(request));
        }
        let answer = if let Some(page) = page {
            http::Response::builder()
                .status(page.status)
                .header(http::header::CONTENT_TYPE, page.content_type)
                .body(Body::new(page.body))
        } else if !metrics {
            http::Response::builder()
                .status(http::StatusCode::NOT_FOUND)
                .body(Body::new(
                    "not found: this port serves GET /metrics, /ready, /leader, /state and gRPC health checks\n".to_string(),
                ))
        } else if request.method() == http::Method::GET {
            http::Response::builder()
                .header(http::header::CONTENT_TYPE, PROMETHEUS_TEXT)
                .body(Body::new((self.scrape)()))
        } else {
            http::Response::builder()
                .status(http::StatusCode::METHOD_NOT_ALLOWED)
                .header(http::header::ALLOW, "GET")
                .body(Body::new("use GET /metrics\n".to_string()))
        };
        let answer = answer.unwrap_or_else(|_| http::Response::new(Body::empty()));
        Box::pin(std::future::ready(Ok(answer)))
    }
}
