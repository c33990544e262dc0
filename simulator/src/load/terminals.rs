//! Unit terminals in the background of a load run: each keeps one
//! `ReportPositions` stream open and sends a fix every second, wandering
//! within a few hundred metres of where its unit stood (standby while
//! moving), as the city's units do between jobs.

use std::time::Duration;

use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use kuaifan_engine::service::Endpoint;

/// How far a patrolling unit wanders from where it started, metres.
const WANDER_M: f64 = 300.0;

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;

/// What the terminals' streams reported when they ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TerminalTotals {
    /// Streams run.
    pub streams: usize,
    /// Fixes the server accepted.
    pub accepted: u64,
    /// Fixes it rejected.
    pub rejected: u64,
    /// Streams that ended with an error.
    pub failed_streams: usize,
}

/// Running terminals.
#[derive(Debug)]
pub struct Terminals {
    stop: watch::Sender<bool>,
    streams: Vec<JoinHandle<Result<proto::ReportPositionsResponse, tonic::Status>>>,
}

impl Terminals {
    /// Starts one stream per unit at `hz` fixes a second.
    pub fn start(
        endpoint: &Endpoint,
        channel: &Channel,
        units: &[proto::Unit],
        hz: f64,
        seed: u64,
    ) -> Terminals {
        let (stop, stopping) = watch::channel(false);
        let period = Duration::from_secs_f64(1.0 / hz.max(0.01));
        let streams = units
            .iter()
            .enumerate()
            .map(|(i, unit)| {
                let (send, fixes) = mpsc::channel(16);
                let home = unit.position.unwrap_or_default();
                let id = unit.id.clone();
                let mut stopping = stopping.clone();
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37));
                tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(period);
                    let (mut north, mut east) = (0.0_f64, 0.0_f64);
                    loop {
                        tokio::select! {
                            _ = ticks.tick() => {}
                            _ = stopping.wait_for(|s| *s) => break,
                        }
                        north = (north + rng.random_range(-40.0..40.0)).clamp(-WANDER_M, WANDER_M);
                        east = (east + rng.random_range(-40.0..40.0)).clamp(-WANDER_M, WANDER_M);
                        let lat = home.lat + north / M_PER_DEG;
                        let lng = home.lng + east / (M_PER_DEG * home.lat.to_radians().cos());
                        let fix = proto::UnitPosition {
                            unit_id: id.clone(),
                            position: Some(proto::LatLng { lat, lng }),
                            time_ms: 0,
                            heading_deg: rng.random_range(0.0..360.0),
                            speed_mps: rng.random_range(0.0..12.0),
                        };
                        if send.send(fix).await.is_err() {
                            break;
                        }
                    }
                });
                let mut client = DispatchClient::new(channel.clone());
                let request = endpoint.request(ReceiverStream::new(fixes));
                tokio::spawn(async move {
                    client
                        .report_positions(request)
                        .await
                        .map(tonic::Response::into_inner)
                })
            })
            .collect();
        Terminals { stop, streams }
    }

    /// Ends the streams and adds up what the server said.
    pub async fn stop(self) -> TerminalTotals {
        let _ = self.stop.send(true);
        let mut totals = TerminalTotals {
            streams: self.streams.len(),
            ..TerminalTotals::default()
        };
        for stream in self.streams {
            match stream.await {
                Ok(Ok(answer)) => {
                    totals.accepted += answer.accepted;
                    totals.rejected += answer.rejected;
                }
                Ok(Err(status)) => {
                    log::warn!("a terminal stream ended with {status}");
                    totals.failed_streams += 1;
                }
                Err(_) => totals.failed_streams += 1,
            }
        }
        totals
    }
}
