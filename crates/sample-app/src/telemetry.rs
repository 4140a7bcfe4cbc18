//! Metrics, logs and traces: what Prometheus scrapes, what the log agent ships, what Tempo
//! stores.

use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Latency buckets, in seconds: the latency SLO's threshold (0.5 s) is one of them, as kube-sim's
/// simulated app has it.
pub const BUCKETS: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The request metrics and the process collector, in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Metrics {
    /// A fresh registry with the request metrics and, on Linux, process metrics.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests served, by route, method and status code.",
            ),
            &["route", "method", "code"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency, by route and method.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry,
            requests,
            duration,
        })
    }

    /// Counts one GET of `route` that answered `code` after `elapsed`.
    pub fn observe(&self, route: &str, code: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, "GET", &code.to_string()])
            .inc();
        self.duration
            .with_label_values(&[route, "GET"])
            .observe(elapsed.as_secs_f64());
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// JSON logs on stdout, and a tracer provider that exports over OTLP/HTTP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set (and sends nothing otherwise: spans still get real ids,
/// which the logs carry). Returns the provider, for the app and to flush at exit.
pub fn init(service: &str) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .init();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}
