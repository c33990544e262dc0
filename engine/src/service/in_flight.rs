//! The limit on calls in the server at once, counted from when a call
//! arrives rather than from when a worker thread gets to it.
//!
//! A call over the limit is refused at once with RESOURCE_EXHAUSTED. A
//! limit taken inside the handler would come too late: under a flood of
//! reads, calls wait in the runtime's queue before their handler runs,
//! and every one of them would be answered, seconds late. Counted at
//! arrival, the calls taken are answered in time and the rest learn at
//! once to retry. The two streams (positions, events) live for hours and
//! have their own per-connection limit; they are not counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;

/// The streaming methods, which are not counted.
const STREAMS: [&str; 2] = [
    "/kuaifan.v1.Dispatch/ReportPositions",
    "/kuaifan.v1.Dispatch/WatchEvents",
];

/// A service that runs at most `max` unary calls at once.
#[derive(Clone, Debug)]
pub struct InFlightLimit<S> {
    inner: S,
    permits: Arc<Semaphore>,
    max: usize,
}

impl<S> InFlightLimit<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for InFlightLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if STREAMS.contains(&request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let answer = answer.await;
                    drop(permit);
                    answer
                })
            }
            Err(_) => {
                crate::service::metrics::shed();
                let refusal = Status::resource_exhausted(format!(
                    "the server is at its limit of {} calls at once; retry shortly",
                    self.max
                ));
                Box::pin(std::future::ready(Ok(refusal.into_http())))
            }
        }
    }
}

impl<S: NamedService> NamedService for InFlightLimit<S> {
    const NAME: &'static str = S::NAME;
}
