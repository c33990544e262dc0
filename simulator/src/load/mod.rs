//! `kuaifan-sim load`: an open-loop load generator against a live server.

mod mix;
mod open_loop;
mod places;
mod summary;
mod terminals;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use kuaifan_engine::service::{Endpoint, RetryPolicy, Servers, new_request_id};

pub use mix::{BadMix, Kind, Mix};
pub use open_loop::{MAX_LATENCY, Outcome, Sample, drive};
pub use places::Places;
pub use summary::{LoadSummary, Percentiles};
pub use terminals::{TerminalTotals, Terminals};

/// How long every call may take before it counts as DEADLINE_EXCEEDED.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// How long a run waits for its last answers.
const DRAIN: Duration = Duration::from_secs(15);

/// One load run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server, or every node of a deployment with hot standbys: the
    /// run goes to the node that leads, and each connection follows the
    /// lead if it moves.
    pub servers: Vec<Endpoint>,
    /// Requests per second.
    pub rate: f64,
    /// How long to measure.
    pub duration: Duration,
    /// How long to send before measuring (not recorded).
    pub warmup: Duration,
    /// Connections the requests are spread over.
    pub connections: usize,
    /// What to send.
    pub mix: Mix,
    /// Unit terminals streaming positions meanwhile (at most the server's
    /// units).
    pub terminals: usize,
    /// Their fixes per second each.
    pub terminal_hz: f64,
    /// Seed of the locations and the mix.
    pub seed: u64,
}

/// A connected load generator.
#[derive(Debug)]
pub struct Load {
    config: LoadConfig,
    requests: Requests,
}

/// What requests are drawn from; cheap to clone into the schedule thread.
#[derive(Clone, Debug)]
struct Requests {
    mix: Mix,
    /// One per connection, each its own HTTP/2 connection to the node that
    /// leads, following the lead on its own.
    connections: Vec<Arc<Servers>>,
    /// The node that led when the run connected, and a connection to it
    /// for the terminals' streams (which stay there).
    leader: Endpoint,
    leader_channel: Channel,
    places: Arc<Places>,
    units: Arc<Vec<proto::Unit>>,
}

impl Load {
    /// Connects and reads the zones and units to draw requests from.
    pub async fn connect(config: LoadConfig) -> Result<Load> {
        if config.connections == 0 {
            bail!("--connections must be at least 1");
        }
        if !(config.rate.is_finite() && config.rate > 0.0) {
            bail!("the rate must be a positive number of requests a second");
        }
        if config.servers.is_empty() {
            bail!("give the server's address");
        }
        let finder = Servers::new(config.servers.clone());
        let first = finder.find_leader().await?;
        // The leader first, then the others in the order given.
        let leader = finder.current();
        let mut order = vec![leader.clone()];
        order.extend(
            config
                .servers
                .iter()
                .filter(|e| e.addr != leader.addr)
                .cloned(),
        );
        let mut connections = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            let servers = Servers::new(order.clone());
            servers.channel().await?;
            connections.push(Arc::new(servers));
        }
        let mut client = DispatchClient::new(first.clone());
        let zones = client
            .list_zones(leader.request(proto::ListZonesRequest {}))
            .await
            .context("listing the zones")?
            .into_inner()
            .zones;
        let units = client
            .list_units(leader.request(proto::ListUnitsRequest {}))
            .await
            .context("listing the units")?
            .into_inner()
            .units;
        let requests = Requests {
            mix: config.mix.clone(),
            connections,
            leader,
            leader_channel: first,
            places: Arc::new(Places::new(&zones)?),
            units: Arc::new(units),
        };
        Ok(Load { config, requests })
    }

    /// Runs at `rate` for the configured warm-up and duration, with the
    /// terminals streaming throughout.
    pub async fn run_at(&self, rate: f64) -> LoadSummary {
        let c = &self.config;
        let r = &self.requests;
        let count = c.terminals.min(r.units.len());
        let terminals = Terminals::start(
            &r.leader,
            &r.leader_channel,
            &r.units[..count],
            c.terminal_hz,
            c.seed,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        if !c.warmup.is_zero() {
            let requests = r.clone();
            let mut warm = rng.clone();
            drive(rate, c.warmup, DRAIN, move |i| requests.make(i, &mut warm)).await;
            rng = ChaCha8Rng::seed_from_u64(c.seed.wrapping_add(1));
        }
        let requests = r.clone();
        let outcome = drive(rate, c.duration, DRAIN, move |i| requests.make(i, &mut rng)).await;
        let totals = terminals.stop().await;
        LoadSummary::new(rate, c.connections, c.mix.to_string(), &outcome, totals)
    }
}

impl Requests {
    /// The `i`th request, ready to send.
    fn make(
        &self,
        i: u64,
        rng: &mut ChaCha8Rng,
    ) -> impl std::future::Future<Output = Sample> + Send + use<> {
        let kind = self.mix.draw(rng);
        let location = self.places.sample(rng);
        // The default priority mix of a city day: P1 5 %, P2 35 %, P3 60 %.
        let priority = match rng.random_range(0..20) {
            0 => proto::Priority::P1,
            1..=7 => proto::Priority::P2,
            _ => proto::Priority::P3,
        };
        let unit = (!self.units.is_empty())
            .then(|| self.units[rng.random_range(0..self.units.len())].clone());
        let servers = Arc::clone(&self.connections[i as usize % self.connections.len()]);
        async move {
            let channel = match servers.channel().await {
                Ok(channel) => channel,
                Err(_) => {
                    return Sample {
                        kind: kind.name(),
                        error: Some(format!("{:?}", tonic::Code::Unavailable)),
                    };
                }
            };
            let client_channel = channel.clone();
            let mut client = DispatchClient::new(channel);
            let result = match kind {
                Kind::Recommend => {
                    let request = proto::RecommendRequest {
                        location: Some(location),
                        priority: priority as i32,
                        ..Default::default()
                    };
                    client
                        .recommend(deadline(servers.request(request)))
                        .await
                        .map(drop)
                }
                Kind::Report => {
                    let request = proto::ReportIncidentRequest {
                        location: Some(location),
                        priority: priority as i32,
                        category: "load".to_string(),
                        description: format!("load request {i}"),
                        request_id: new_request_id(),
                        ..Default::default()
                    };
                    // A command: retried with its id, as a console would,
                    // on the node that leads; the latency counts to the
                    // last answer.
                    RetryPolicy::default()
                        .run_on(&servers, |channel| {
                            let mut client = DispatchClient::new(channel);
                            let request = deadline(servers.request(request.clone()));
                            async move { client.report_incident(request).await }
                        })
                        .await
                        .map(drop)
                }
                Kind::Positions => {
                    let fix = unit.map(|u| proto::UnitPosition {
                        unit_id: u.id,
                        position: u.position,
                        ..Default::default()
                    });
                    let stream = tokio_stream::iter(fix);
                    client
                        .report_positions(deadline(servers.request(stream)))
                        .await
                        .map(drop)
                }
                Kind::Health => {
                    let check = HealthCheckRequest {
                        service: "kuaifan.v1.Dispatch".to_string(),
                    };
                    HealthClient::new(client_channel)
                        .check(deadline(servers.request(check)))
                        .await
                        .map(drop)
                }
                Kind::Coverage => client
                    .get_coverage(deadline(
                        servers.request(proto::GetCoverageRequest { resolution: 0 }),
                    ))
                    .await
                    .map(drop),
            };
            Sample {
                kind: kind.name(),
                error: result.err().map(|s| format!("{:?}", s.code())),
            }
        }
    }
}

fn deadline<T>(mut request: tonic::Request<T>) -> tonic::Request<T> {
    request.set_timeout(CALL_DEADLINE);
    request
}

/// One step of a search for the highest rate that holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Step {
    /// The run.
    pub summary: LoadSummary,
    /// Whether p99 stayed within the bound, errors under 1 % and the
    /// achieved rate within 5 % of the target.
    pub held: bool,
}

/// Steps the rate up by `factor` from `start` until a step fails to hold
/// (p99 over `p99_bound`, or errors, or the rate not achieved), or `max`
/// is passed. Returns every step.
pub async fn find_max(
    load: &Load,
    start: f64,
    factor: f64,
    max: f64,
    p99_bound: Duration,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut rate = start;
    while rate <= max {
        let summary = load.run_at(rate).await;
        let held = summary.latency.p99_us as u128 <= p99_bound.as_micros()
            && summary.error_share() < 0.01
            && summary.achieved_rate >= 0.95 * rate;
        log::info!(
            "{rate:.0}/s: p99 {} µs, held: {held}",
            summary.latency.p99_us
        );
        steps.push(Step { summary, held });
        if !held {
            break;
        }
        rate *= factor;
    }
    steps
}
