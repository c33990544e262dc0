//! A real `kuaifan serve` of the built-in Jincheng scenario, in-process on
//! a free loopback port, for the tests that drive it over gRPC; and the
//! built-in scenario's world, loaded once per test binary.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use kuaifan_engine::service::{ServeConfig, ServeError, Server};
use kuaifan_engine::{DispatchConfig, Scenario, ScenarioOverrides, World, jincheng};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A serving server: where it listens, how to stop it, and its task.
pub struct Serving {
    /// Its address.
    pub addr: SocketAddr,
    /// Send to stop it.
    pub stop: oneshot::Sender<()>,
    /// Ends once it has stopped.
    pub task: JoinHandle<Result<(), ServeError>>,
}

/// Binds, starts serving, and returns once the map is loaded.
pub async fn serve_jincheng() -> Serving {
    let mut config = ServeConfig::new(kuaifan_engine::jincheng());
    config.listen = "127.0.0.1:0".parse().expect("an address");
    let server = Server::bind(config).expect("binds");
    let addr = server.local_addr();
    let (ready, loaded) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(
        async move {
            let _ = stopped.await;
        },
        move |_| {
            let _ = ready.send(());
        },
    ));
    tokio::time::timeout(std::time::Duration::from_secs(120), loaded)
        .await
        .expect("the map loads in time")
        .expect("the server is ready");
    Serving { addr, stop, task }
}

/// The built-in Jincheng scenario under the default dispatch config,
/// loaded once per test binary and shared by its tests.
pub fn jincheng_world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| {
            let scenario =
                Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
                    .expect("the built-in scenario loads");
            Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
        })
        .clone()
}
