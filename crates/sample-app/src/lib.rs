//! The sample app selfheal heals in the lab and on EKS: one binary, three roles. The frontend
//! (`GET /`) calls the backend (`GET /api/items`), which calls the db-stub (`GET /query`), over
//! HTTP, propagating the W3C trace context. Each role serves Prometheus metrics on `/metrics`
//! (`http_requests_total` by route, method and code; `http_request_duration_seconds`; process
//! metrics), logs one JSON line per request with its trace id, exports its spans over OTLP when
//! OTEL_EXPORTER_OTLP_ENDPOINT is set, answers `/healthz` and `/readyz`, and takes its faults
//! from the environment or `PUT /admin/faults` (see [`faults`]).

pub mod faults;
pub mod telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use serde_json::{Value, json};
use tracing::{error, info};

pub use faults::{FaultError, Faults, Switches};
pub use telemetry::Metrics;

/// Which tier this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Serves `GET /`, calling the backend.
    Frontend,
    /// Serves `GET /api/items`, calling the db-stub.
    Backend,
    /// Serves `GET /query`; calls nothing.
    DbStub,
}

impl Role {
    /// The route this role serves.
    pub fn route(self) -> &'static str {
        match self {
            Role::Frontend => "/",
            Role::Backend => "/api/items",
            Role::DbStub => "/query",
        }
    }

    /// The route it calls on its downstream, if it has one.
    pub fn calls(self) -> Option<&'static str> {
        match self {
            Role::Frontend => Some(Role::Backend.route()),
            Role::Backend => Some(Role::DbStub.route()),
            Role::DbStub => None,
        }
    }
}

/// One instance: its role, its downstream and its faults.
#[derive(Clone)]
pub struct App {
    role: Role,
    downstream: Option<String>,
    http: reqwest::Client,
    switches: Switches,
    metrics: Metrics,
    tracer: SdkTracer,
}

/// Why an instance cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A tier that calls another was given no downstream URL.
    #[error("the {0:?} role calls a downstream: set --downstream (DOWNSTREAM_URL)")]
    NoDownstream(Role),
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl App {
    /// An instance of `role` calling `downstream` (`http://host:port`), with `switches`, counting
    /// in `metrics` and tracing with `traces` (which exports, or not, as it was built).
    pub fn new(
        role: Role,
        downstream: Option<String>,
        switches: Switches,
        metrics: Metrics,
        traces: &SdkTracerProvider,
    ) -> Result<App, StartError> {
        if role.calls().is_some() && downstream.is_none() {
            return Err(StartError::NoDownstream(role));
        }
        Ok(App {
            role,
            downstream: downstream.map(|d| d.trim_end_matches('/').to_owned()),
            // A slow dependency makes this tier slow and then fail, as in production.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            switches,
            metrics,
            tracer: traces.tracer("selfheal-sample-app"),
        })
    }

    /// The HTTP API.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route(self.role.route(), get(serve))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/metrics", get(metrics))
            .route("/admin/faults", get(get_faults).put(set_faults))
            .with_state(Arc::new(self))
    }
}

/// The role's route: the faults first, then the downstream call, then the answer; counted,
/// timed, traced and logged.
async fn serve(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
    let span = app
        .tracer
        .start_with_context(format!("GET {}", app.role.route()), &parent);
    let cx = parent.with_span(span);
    let trace_id = cx.span().span_context().trace_id().to_string();
    let faults = app.switches.get();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let (code, body) = if app.switches.fails_next() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "injected failure", "trace_id": trace_id}),
        )
    } else {
        match app.call_downstream(&cx, &faults).await {
            Ok(below) => (StatusCode::OK, answer(app.role, &trace_id, below)),
            Err(why) => {
                error!(trace_id, route = app.role.route(), error = %why, "downstream failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": why, "trace_id": trace_id}),
                )
            }
        }
    };
    let elapsed = started.elapsed();
    app.metrics
        .observe(app.role.route(), code.as_u16(), elapsed);
    cx.span().set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(code.as_u16()),
    ));
    cx.span().end();
    info!(
        trace_id,
        route = app.role.route(),
        code = code.as_u16(),
        duration_ms = elapsed.as_millis() as u64,
        "request"
    );
    (code, Json(body)).into_response()
}

impl App {
    /// Calls the downstream tier with the trace context; its JSON answer, or why it failed.
    async fn call_downstream(
        &self,
        cx: &Context,
        faults: &Faults,
    ) -> Result<Option<Value>, String> {
        let (Some(base), Some(route)) = (&self.downstream, self.role.calls()) else {
            return Ok(None);
        };
        let url = format!("{base}{route}");
        if faults.dependency_unreachable {
            return Err(format!("dial {url}: connect: connection refused"));
        }
        let mut headers = HeaderMap::new();
        TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(&mut headers));
        let response = self
            .http
            .get(&url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url}: {status}"));
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| format!("{url}: {e}"))
    }
}

/// What each tier answers: the rows, wrapped by each tier above (with its trace id, so a caller
/// can see the context propagate).
fn answer(role: Role, trace_id: &str, below: Option<Value>) -> Value {
    match role {
        Role::DbStub => {
            json!({"rows": [{"id": 1, "name": "kettle"}, {"id": 2, "name": "teapot"}], "trace_id": trace_id})
        }
        Role::Backend => {
            json!({"items": below.as_ref().map(|b| b["rows"].clone()), "trace_id": trace_id, "db": below})
        }
        Role::Frontend => json!({"page": "shop", "trace_id": trace_id, "backend": below}),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    match app.metrics.render() {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Ready unless the `not_ready` fault says otherwise.
async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.switches.get().not_ready {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    } else {
        "ready".into_response()
    }
}

async fn get_faults(State(app): State<Arc<App>>) -> Json<Faults> {
    Json(app.switches.get())
}

/// Replaces the faults; a body that is not a valid set of faults changes nothing.
async fn set_faults(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("not a set of faults: {e}")).into_response();
        }
    };
    match app.switches.set(faults.clone()) {
        Ok(()) => {
            info!(?faults, "faults set");
            Json(faults).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}
