//! `kuaifan serve`: the gRPC server around the dispatch engine.
//!
//! It listens at once, answering health checks with NOT_SERVING while the
//! map loads (a few seconds for a city), then SERVING. Dispatch calls made
//! meanwhile get UNAVAILABLE. On shutdown, streams are told to end, calls
//! in flight finish, and the journal is closed cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::ServingStatus;
use tower_layer::Layer;

use crate::dispatch::{
    Command, DispatchConfig, DispatchEngine, EngineError, JournalPolicy, Policy, Stamped, World,
};
use crate::journal::{Journal, JournalError};
use crate::scenario::{Scenario, ScenarioError, ScenarioOverrides, ScenarioSource};
use crate::service::auth::{AuthFileError, Tokens};
use crate::service::caller_limits::CallerLimitsConfig;
use crate::service::dispatch::now_ms;
use crate::service::dispatch::{DispatchService, Live};
use crate::service::health_port::{HealthPort, Page, Pages, Scrape};
use crate::service::in_flight::InFlightLimit;
use crate::service::metrics::{self, MeteredRpc, Role};
#[cfg(feature = "etcd")]
use crate::service::node_role::NodeRole;
use crate::service::proto;
use crate::service::proto::dispatch_server::DispatchServer;
use crate::service::stale_sweep;
use crate::service::web::{self, WebState};
use crate::space::TileMaker;

/// The largest request accepted, in bytes. Every request is a few hundred
/// bytes; a megabyte is a client bug or an attack.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// HTTP/2 streams one connection may have open at once.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// Calls running at once, over all connections, per worker thread,
/// before new ones are refused with RESOURCE_EXHAUSTED (the default of
/// `--max-in-flight`). The limit is what keeps the calls taken answered in
/// time: the calls a worker has taken all run before the connections it
/// serves are read again, so a limit far above what a worker answers in a
/// few tens of milliseconds leaves new calls unread in the sockets, where
/// no limit sees them, until the callers' deadlines pass. With 1,024 on
/// one worker, 5.6 % of a flood's calls outlived the generator's 10 s
/// deadline and its cancellations reset whole connections; with 64, none.
pub const MAX_IN_FLIGHT_PER_WORKER: usize = 64;

/// The default limit on calls at once for a server of `workers` threads.
pub fn default_max_in_flight(workers: usize) -> usize {
    MAX_IN_FLIGHT_PER_WORKER * workers.max(1)
}

/// How long streams and calls get to finish at shutdown.
pub const DRAIN: Duration = Duration::from_secs(10);

/// The name health checks use for the dispatch service.
pub const SERVICE_NAME: &str = "kuaifan.v1.Dispatch";

/// Certificate and key files, PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The city.
    pub scenario: ScenarioSource,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The journal; without it nothing survives a restart.
    pub journal: Option<PathBuf>,
    /// The prepared road graph's cache file: loaded when it matches the
    /// map and profile, written when it does not.
    pub cache: Option<PathBuf>,
    /// The tokens and roles; without it every caller is a dispatcher
    /// (allowed on loopback only).
    pub auth: Option<PathBuf>,
    /// TLS; required off loopback.
    pub tls: Option<TlsFiles>,
    /// The default dispatch policy.
    pub policy: Policy,
    /// Calls running at once before RESOURCE_EXHAUSTED.
    pub max_in_flight: usize,
    /// A second port answering only health checks, from a thread of its
    /// own, so that a probe is answered promptly under a flood.
    pub health_listen: Option<SocketAddr>,
    /// When snapshots are written and which position fixes are journaled.
    pub journal_policy: JournalPolicy,
    /// How long a unit may go without a fix before it is stale.
    pub stale_after: Duration,
    /// Streams and position fixes per token (with an auth file).
    pub caller_limits: CallerLimitsConfig,
    /// A deployment with hot standbys: the journal in etcd, with the
    /// node's local copy in `EtcdServe::journal` (needs the `etcd`
    /// feature; `journal` is then unused).
    pub etcd: Option<EtcdServe>,
}

/// A node of a deployment with hot standbys, its journal in etcd.
#[derive(Clone, Debug)]
pub struct EtcdServe {
    /// The etcd members' client URLs.
    pub endpoints: Vec<String>,
    /// This node's name, unique in the deployment.
    pub node: String,
    /// The key prefix of the deployment in etcd.
    pub prefix: String,
    /// The gRPC address clients reach this node at, told to them by the
    /// standbys while it leads; without it, the address it listens on.
    pub advertise: Option<String>,
    /// The leader's lease: how long a leader that stopped renewing it
    /// (crashed, paused, cut off) still holds the lead.
    pub lease: Duration,
    /// The node's local copy of the journal (SQLite): its audit archive
    /// and the archive of closed cases it reads.
    pub journal: PathBuf,
}

/// The key prefix of a deployment unless told otherwise.
pub const DEFAULT_ETCD_PREFIX: &str = "/kuaifan";

/// The leader's lease unless told otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(3);

impl ServeConfig {
    /// The defaults: the given scenario on 127.0.0.1:50051, no journal,
    /// no auth, no TLS.
    pub fn new(scenario: ScenarioSource) -> Self {
        Self {
            scenario,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            journal: None,
            cache: None,
            auth: None,
            tls: None,
            policy: Policy::default(),
            max_in_flight: default_max_in_flight(
                std::thread::available_parallelism().map_or(1, usize::from),
            ),
            health_listen: None,
            journal_policy: JournalPolicy::default(),
            stale_after: Duration::from_millis(DispatchConfig::default().stale_after_ms as u64),
            caller_limits: CallerLimitsConfig::default(),
            etcd: None,
        }
    }
}

/// Why the server did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A non-loopback address without TLS and auth.
    #[error(
        "refusing to listen on {0} without both TLS (--tls-cert, --tls-key) and an auth file \
         (--auth): off this machine, anyone could read and dispatch; listen on 127.0.0.1, \
         or give both"
    )]
    Exposed(SocketAddr),
    /// The auth file.
    #[error(transparent)]
    Auth(#[from] AuthFileError),
    /// A unit token names a unit the scenario does not have.
    #[error(
        "auth file: token {name:?} is bound to unit {unit:?}, which the scenario does not have"
    )]
    UnknownUnitToken {
        /// The token's name.
        name: String,
        /// The unit it names.
        unit: String,
    },
    /// A TLS file.
    #[error("cannot use {path} for TLS: {message}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario.
    #[error("loading the scenario: {0}")]
    Scenario(#[from] ScenarioError),
    /// The journal could not be opened.
    #[error("opening the journal: {0}")]
    Journal(#[from] JournalError),
    /// The journal could not be replayed.
    #[error("replaying the journal: {0}")]
    Replay(#[from] EngineError),
    /// The transport failed.
    #[error("serving: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The loading thread died.
    #[error("loading the scenario failed unexpectedly: {0}")]
    Loader(String),
    /// The health port's thread could not start.
    #[error("starting the health port: {0}")]
    HealthPort(std::io::Error),
    /// The etcd cluster of a deployment with standbys.
    #[error("the etcd cluster: {0}")]
    Etcd(String),
    /// `--etcd` given to a build without the `etcd` feature.
    #[error(
        "this kuaifan was built without etcd: build it with `cargo build --release --features \
         etcd` (which needs protoc: `apt-get install protobuf-compiler`) to run with standbys"
    )]
    NoEtcd,
}

/// What was loaded, for the start-up message.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The scenario's label (a directory or `embedded:jincheng`).
    pub scenario: String,
    /// Its units.
    pub units: usize,
    /// Its zones.
    pub zones: usize,
    /// Road nodes.
    pub nodes: usize,
    /// Journal entries replayed (after the snapshot, if any).
    pub replayed: usize,
    /// The last journal entry of the snapshot the start loaded.
    pub snapshot_seq: Option<i64>,
    /// Whether the road graph came from the cache file (`--cache`) rather
    /// than being prepared from the map.
    pub graph_from_cache: bool,
}

/// A server bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    config: ServeConfig,
    incoming: TcpIncoming,
    local: SocketAddr,
    tokens: Option<Arc<Tokens>>,
    tls: Option<ServerTlsConfig>,
    health_port: Option<HealthPort>,
}

impl Server {
    /// Checks the configuration, reads the auth and TLS files, and binds.
    /// Call it inside a tokio runtime.
    pub fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        if !config.listen.ip().is_loopback() && (config.tls.is_none() || config.auth.is_none()) {
            return Err(ServeError::Exposed(config.listen));
        }
        let tokens = config
            .auth
            .as_ref()
            .map(|p| Tokens::load(p).map(Arc::new))
            .transpose()?;
        let tls = config.tls.as_ref().map(tls_config).transpose()?;
        let incoming = TcpIncoming::bind(config.listen)
            .map_err(|source| ServeError::Bind {
                addr: config.listen,
                source,
            })?
            .with_nodelay(Some(true));
        let local = incoming.local_addr().map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
        let health_port = config.health_listen.map(HealthPort::bind).transpose()?;
        Ok(Server {
            config,
            incoming,
            local,
            tokens,
            tls,
            health_port,
        })
    }

    /// The address it listens on (with the port picked, if 0 was given).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where the health-only port listens, if there is one.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_port.as_ref().map(HealthPort::local_addr)
    }

    /// Loads the scenario in the background and serves until `shutdown`
    /// completes; then ends the streams, lets calls finish and closes the
    /// journal. `on_ready` is called once the map is loaded.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        on_ready: impl FnOnce(&Loaded) + Send + 'static,
    ) -> Result<(), ServeError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        set_health(&reporter, ServingStatus::NotServing).await;
        // The recorder comes first: handles taken before it record nothing.
        metrics::exporter();
        metrics::set_role(Role::Single, 0);
        let live: Arc<OnceLock<Arc<Live>>> = Arc::new(OnceLock::new());
        let health_port = self
            .health_port
            .map(|port| {
                port.serve(
                    health.clone(),
                    scrape(Arc::clone(&live)),
                    pages(Arc::clone(&live)),
                )
            })
            .transpose()?;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| ServeError::Loader(format!("reflection: {e}")))?;

        let (stop, stopping) = watch::channel(false);
        let web_state = WebState {
            tiles: Arc::new(OnceLock::new()),
            bounds: Arc::new(OnceLock::new()),
            tokens: self.tokens.clone(),
            scheme: if self.tls.is_some() { "https" } else { "http" },
        };
        let engine: Arc<Mutex<Option<DispatchEngine>>> = Arc::new(Mutex::new(None));
        let node: Arc<Mutex<Option<Node>>> = Arc::new(Mutex::new(None));
        let failure: Arc<Mutex<Option<ServeError>>> = Arc::new(Mutex::new(None));
        let service = DispatchService::new(
            Arc::clone(&live),
            self.tokens.clone(),
            stopping.clone(),
            self.config.policy,
            self.config.caller_limits,
        );

        let loader = {
            let config = self.config.clone();
            let tokens = self.tokens.clone();
            let (live, engine, failure) = (live.clone(), engine.clone(), failure.clone());
            let node = node.clone();
            let (reporter, stop) = (reporter.clone(), stop.clone());
            let web_state = web_state.clone();
            let local = self.local;
            async move {
                let slot = Arc::clone(&engine);
                let loaded = tokio::task::spawn_blocking(move || {
                    load(&config, tokens.as_deref(), local, slot)
                })
                .await;
                let loaded = match loaded {
                    Ok(result) => result,
                    Err(e) => Err(ServeError::Loader(e.to_string())),
                };
                match loaded {
                    Ok((ready, started, report, tiles)) => {
                        tokio::spawn(stale_sweep::run(Arc::clone(&ready), stop.subscribe()));
                        let role = Arc::clone(&ready.role);
                        let _ = live.set(ready);
                        let _ = web_state.bounds.set(tiles.1);
                        let _ = web_state.tiles.set(tiles.0);
                        match started {
                            Started::Single(started) => {
                                *lock(&engine) = Some(started);
                                set_health(&reporter, ServingStatus::Serving).await;
                            }
                            #[cfg(feature = "etcd")]
                            Started::Node(started) => {
                                *lock(&node) = Some(started);
                                tokio::spawn(health_by_role(reporter, role, stop.subscribe()));
                            }
                        }
                        #[cfg(not(feature = "etcd"))]
                        let _ = (&node, &role);
                        on_ready(&report);
                    }
                    Err(e) => {
                        *lock(&failure) = Some(e);
                        let _ = stop.send(true);
                    }
                }
            }
        };
        tokio::spawn(loader);

        let signal = {
            let (stop, mut stopping) = (stop.clone(), stopping.clone());
            let reporter = reporter.clone();
            async move {
                tokio::select! {
                    () = shutdown => {}
                    _ = stopping.wait_for(|s| *s) => {}
                }
                set_health(&reporter, ServingStatus::NotServing).await;
                // Streams end now; unary calls in flight finish.
                let _ = stop.send(true);
            }
        };

        let mut builder = tonic::transport::Server::builder()
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .concurrency_limit_per_connection(MAX_STREAMS_PER_CONNECTION as usize)
            .load_shed(true)
            // A caller whose deadline passes before the server reads its
            // call cancels it; under a flood that is many streams at once,
            // and past h2's default of 20 such resets the whole connection
            // is closed, taking the caller's other calls and its event
            // stream with it. A caller can have no more of them pending
            // than it has streams open, so that is the bound.
            .http2_max_pending_accept_reset_streams(Some(MAX_STREAMS_PER_CONNECTION as usize))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)));
        if let Some(tls) = self.tls {
            builder = builder.tls_config(tls)?;
        }
        // The dispatch service also answers gRPC-Web (the map console in a
        // browser); the console's page and tiles share the port.
        let dispatch = tonic_web::GrpcWebLayer::new().layer(MeteredRpc::new(InFlightLimit::new(
            DispatchServer::new(service).max_decoding_message_size(MAX_REQUEST_BYTES),
            self.config.max_in_flight,
        )));
        let routes = tonic::service::Routes::new(health)
            .add_service(reflection)
            .add_service(dispatch)
            .into_axum_router()
            .merge(web::routes(web_state))
            .fallback(web::not_found);
        let router = builder
            .accept_http1(true)
            .add_routes(tonic::service::Routes::from(routes));
        let serve = router.serve_with_incoming_shutdown(self.incoming, signal);
        tokio::pin!(serve);
        let mut drained = stopping.clone();
        let outcome = tokio::select! {
            result = &mut serve => result.map_err(ServeError::from),
            () = async move {
                let _ = drained.wait_for(|s| *s).await;
                tokio::time::sleep(DRAIN).await;
            } => {
                log::warn!("calls still open {} s after shutdown began; closing anyway", DRAIN.as_secs());
                Ok(())
            }
        };
        // The health port answers NOT_SERVING until the main port is done.
        // Whatever happens to it, the journal below is still closed.
        if let Some(port) = health_port
            && let Err(e) = tokio::task::spawn_blocking(move || port.stop()).await
        {
            log::error!("stopping the health port: {e}");
        }
        // A standby stops following first, so that it cannot win the lead
        // while the server stops.
        let following = lock(&node).take();
        if let Some(following) = following {
            tokio::task::spawn_blocking(move || following.stop())
                .await
                .map_err(|e| ServeError::Loader(e.to_string()))?;
        }
        let started = lock(&engine).take();
        if let Some(engine) = started {
            tokio::task::spawn_blocking(move || engine.shutdown())
                .await
                .map_err(|e| ServeError::Loader(e.to_string()))?;
        }
        if let Some(error) = lock(&failure).take() {
            return Err(error);
        }
        outcome
    }
}

/// The metrics of this process, with the state's read from the current
/// snapshot once the map is loaded.
fn scrape(live: Arc<OnceLock<Arc<Live>>>) -> Scrape {
    Arc::new(move || {
        let state = live.get().map(|l| l.engine.snapshot());
        metrics::scrape(state.as_deref(), now_ms())
    })
}

/// The health port's pages for a load balancer and an operator:
/// `/ready` (200 once the state is loaded and caught up with the journal,
/// on the leader and on a standby), `/leader` (200 on the node that takes
/// commands: the leader, or a single node; 503 on a standby) and `/state`
/// (the role, the last journal entry applied and a digest of the state,
/// which is the same on every node that applied the same entries).
fn pages(live: Arc<OnceLock<Arc<Live>>>) -> Pages {
    Arc::new(move |path| {
        let live = live.get();
        let ready = live.is_some_and(|l| l.role.caught_up());
        let writes = live.is_some_and(|l| l.role.writes() && l.role.caught_up());
        let probe = |yes: bool, what: &str| Page {
            status: if yes {
                tonic::codegen::http::StatusCode::OK
            } else {
                tonic::codegen::http::StatusCode::SERVICE_UNAVAILABLE
            },
            content_type: "text/plain; charset=utf-8",
            body: format!(
                "{}\n",
                if yes {
                    what.to_string()
                } else {
                    format!("not {what}")
                }
            ),
        };
        match path {
            "/ready" => Some(probe(ready, "ready")),
            "/leader" => Some(probe(writes, "the leader")),
            "/state" => Some(state_page(live.map(Arc::as_ref))),
            _ => None,
        }
    })
}

fn state_page(live: Option<&Live>) -> Page {
    use sha2::Digest;
    let body = match live {
        None => serde_json::json!({ "role": "loading" }),
        Some(live) => {
            let state = live.engine.snapshot();
            let digest = state.snapshot_body().map(|body| {
                sha2::Sha256::digest(&body)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            });
            serde_json::json!({
                "role": live.role.role().name(),
                "leader": live.role.leader(),
                "caught_up": live.role.caught_up(),
                "lead_in_doubt": live.role.in_doubt(),
                "journal_seq": state.journal_seq(),
                "state_sha256": digest.unwrap_or_else(|e| format!("error: {e}")),
            })
        }
    };
    Page {
        status: tonic::codegen::http::StatusCode::OK,
        content_type: "application/json",
        body: format!("{body}\n"),
    }
}

/// A node with standbys: the health of the server ("") is SERVING once
/// its state is caught up, and that of the dispatch service only while it
/// leads, so that a gRPC load balancer sends commands to the leader.
#[cfg(feature = "etcd")]
async fn health_by_role(
    reporter: tonic_health::server::HealthReporter,
    role: Arc<NodeRole>,
    mut stopping: watch::Receiver<bool>,
) {
    let serving = |yes: bool| {
        if yes {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    };
    let mut last = None;
    loop {
        let now = (role.caught_up(), role.writes() && role.caught_up());
        if last != Some(now) {
            reporter.set_service_status("", serving(now.0)).await;
            reporter
                .set_service_status(SERVICE_NAME, serving(now.1))
                .await;
            last = Some(now);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

/// What the loader started: a single node's engine, or a node of a
/// deployment with standbys (its writer, once it leads, goes to the
/// engine's slot).
enum Started {
    Single(DispatchEngine),
    #[cfg(feature = "etcd")]
    Node(Node),
}

#[cfg(feature = "etcd")]
type Node = crate::service::standby_node::NodeThread;

/// No node without the `etcd` feature.
#[cfg(not(feature = "etcd"))]
#[derive(Debug)]
enum Node {}

#[cfg(not(feature = "etcd"))]
impl Node {
    fn stop(self) {}
}

/// The health of the server ("") and of the dispatch service, which are
/// the same: the server exists to dispatch.
async fn set_health(reporter: &tonic_health::server::HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    reporter.set_service_status(SERVICE_NAME, status).await;
}

/// A runtime with `workers` threads; 1 runs everything on the calling
/// thread.
pub fn runtime(workers: usize, name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match workers {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    builder.enable_all().thread_name(name).build()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn tls_config(files: &TlsFiles) -> Result<ServerTlsConfig, ServeError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| ServeError::Tls {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    };
    let (cert, key) = (read(&files.cert)?, read(&files.key)?);
    // tonic reads PEM lazily; check now so a wrong file fails at start.
    for (path, bytes, marker) in [
        (&files.cert, &cert, "CERTIFICATE"),
        (&files.key, &key, "PRIVATE KEY"),
    ] {
        let text = String::from_utf8_lossy(bytes);
        if !text.contains("-----BEGIN") || !text.contains(marker) {
            return Err(ServeError::Tls {
                path: path.display().to_string(),
                message: format!("not a PEM file holding a {marker}"),
            });
        }
    }
    Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
}

/// The console's tiles and the map's bounds (west, south, east, north).
type Tiles = (Arc<TileMaker>, [f64; 4]);

/// Loads the scenario, replays the journal and starts the engine; with
/// `etcd`, starts the node as a standby instead.
fn load(
    config: &ServeConfig,
    tokens: Option<&Tokens>,
    local: SocketAddr,
    slot: Arc<Mutex<Option<DispatchEngine>>>,
) -> Result<(Arc<Live>, Started, Loaded, Tiles), ServeError> {
    #[cfg(not(feature = "etcd"))]
    if config.etcd.is_some() {
        return Err(ServeError::NoEtcd);
    }
    let overrides = ScenarioOverrides {
        cache: config.cache.clone(),
        ..ScenarioOverrides::default()
    };
    let scenario = Scenario::from_source(&config.scenario, &overrides, &mut |_| {})?;
    if let Some(tokens) = tokens {
        for (name, unit) in tokens.bound_units() {
            if scenario.units().get(unit).is_none() {
                return Err(ServeError::UnknownUnitToken {
                    name: name.to_string(),
                    unit: unit.to_string(),
                });
            }
        }
    }
    let dispatch = DispatchConfig {
        policy: config.policy,
        stale_after_ms: i64::try_from(config.stale_after.as_millis()).unwrap_or(i64::MAX),
        ..DispatchConfig::default()
    };
    // The world lives as long as the process: route query objects borrow
    // its road network from any handler thread.
    let world: &'static Arc<World> =
        Box::leak(Box::new(Arc::new(World::from_scenario(scenario, dispatch))));
    let tiles = Arc::new(TileMaker::new(world.scenario()));
    let b = world.scenario().router().graph().bounding_box();
    let bounds = [b.min_lon, b.min_lat, b.max_lon, b.max_lat];
    let mut loaded = Loaded {
        scenario: config.scenario.label(),
        units: world.scenario().units().len(),
        zones: world.scenario().zones().len(),
        nodes: world.scenario().router().graph().node_count(),
        replayed: 0,
        snapshot_seq: None,
        graph_from_cache: world.scenario().network_stats().from_cache,
    };
    #[cfg(feature = "etcd")]
    if let Some(etcd) = &config.etcd {
        let advertise = etcd.advertise.clone().unwrap_or_else(|| local.to_string());
        let (live, node, snapshot_seq) = crate::service::standby_node::start(
            world,
            etcd,
            advertise,
            config.journal_policy,
            slot,
        )?;
        loaded.snapshot_seq = snapshot_seq;
        return Ok((live, Started::Node(node), loaded, (tiles, bounds)));
    }
    let _ = (local, slot);
    let journal = config
        .journal
        .as_ref()
        .map(|p| Journal::open(p))
        .transpose()?;
    let (live, engine) = Live::start_with(world, journal, config.journal_policy)?;
    // A journal with nothing in it: the shift begins now, and a unit that
    // never reports turns stale once the limit has passed since.
    if live.engine.snapshot().shift_start_ms().is_none() {
        live.engine.submit(Stamped {
            at_ms: now_ms(),
            actor: "system".to_string(),
            command: Command::OpenShift,
        })?;
    }
    loaded.replayed = engine.replayed();
    loaded.snapshot_seq = engine.snapshot_seq();
    Ok((live, Started::Single(engine), loaded, (tiles, bounds)))
}
