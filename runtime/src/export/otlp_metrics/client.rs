//! Sending OTLP metrics requests: opentelemetry-proto's messages over the
//! transport the other signals use (tonic for gRPC, hyper over rustls for
//! HTTP/protobuf), with the same endpoint, TLS, headers, compression and
//! deadline, on the same export runtime. Every data point sent is counted,
//! accepted or failed; the first failure is said once.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::error::OTelSdkError;
use prost::Message as _;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::super::otlp::{ExportRuntime, HyperClient, hyper_client};
use super::super::otlp_connection::{SetMetadata, chain, grpc_channel, header_map, redacted};
use crate::config::{Compression, FailureHints, OtlpSettings, Protocol, redact_url};
use crate::pipeline::describe;
use crate::sync::MutexExt;

/// Data points sent, by outcome.
#[derive(Debug, Default)]
pub(crate) struct PointDelivery {
    exported: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    failure_said: AtomicBool,
}

impl PointDelivery {
    /// Data points accepted, and failed, so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.exported.load(Ordering::Acquire),
            self.failed.load(Ordering::Acquire),
        )
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.locked().clone()
    }
}

enum Transport {
    Grpc(MetricsServiceClient<InterceptedService<Channel, SetMetadata>>),
    Http {
        client: Arc<HyperClient>,
        endpoint: http::Uri,
        headers: http::HeaderMap,
    },
}

/// Sends metrics requests to one collector.
pub(crate) struct MetricsClient {
    runtime: Arc<ExportRuntime>,
    transport: Transport,
    deadline: Option<Duration>,
    gzip: bool,
    destination: String,
    hints: FailureHints,
    delivery: Arc<PointDelivery>,
}

impl std::fmt::Debug for MetricsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsClient")
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

/// The number of data points a request holds.
fn points(request: &ExportMetricsServiceRequest) -> u64 {
    request
        .resource_metrics
        .iter()
        .flat_map(|resource| &resource.scope_metrics)
        .flat_map(|scope| &scope.metrics)
        .map(|metric| match &metric.data {
            Some(Data::Sum(sum)) => sum.data_points.len(),
            Some(Data::Gauge(gauge)) => gauge.data_points.len(),
            Some(Data::Histogram(histogram)) => histogram.data_points.len(),
            Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
            Some(Data::Summary(summary)) => summary.data_points.len(),
            None => 0,
        })
        .sum::<usize>() as u64
}

impl MetricsClient {
    /// A client for `settings`, on `runtime`.
    pub(crate) fn new(
        settings: &OtlpSettings,
        runtime: &Arc<ExportRuntime>,
    ) -> Result<MetricsClient, String> {
        let transport = {
            let _entered = runtime.runtime().enter();
            match settings.protocol {
                Protocol::Grpc => {
                    let mut client = MetricsServiceClient::with_interceptor(
                        grpc_channel(settings)?,
                        SetMetadata::of(settings),
                    );
                    if settings.compression == Compression::Gzip {
                        client = client.send_compressed(CompressionEncoding::Gzip);
                    }
                    Transport::Grpc(client)
                }
                Protocol::HttpProtobuf => Transport::Http {
                    client: Arc::new(hyper_client(settings)?),
                    endpoint: settings
                        .endpoint
                        .parse()
                        .map_err(|error| format!("the endpoint {}: {error}", redacted(settings)))?,
                    headers: header_map(settings),
                },
            }
        };
        Ok(MetricsClient {
            runtime: Arc::clone(runtime),
            transport,
            deadline: settings.deadline,
            gzip: settings.compression == Compression::Gzip,
            destination: redact_url(&settings.endpoint),
            hints: FailureHints::new(settings),
            delivery: Arc::default(),
        })
    }

    /// What was delivered so far.
    pub(crate) fn delivery(&self) -> &Arc<PointDelivery> {
        &self.delivery
    }

    /// Whether requests go over gRPC.
    pub(crate) fn grpc(&self) -> bool {
        matches!(self.transport, Transport::Grpc(_))
    }

    /// Sends `request` on the export runtime, within the deadline; the
    /// handle says how it went. Its data points are counted either way.
    pub(crate) fn send(
        &self,
        request: ExportMetricsServiceRequest,
    ) -> JoinHandle<Result<(), String>> {
        let points = points(&request);
        let sending = match &self.transport {
            Transport::Grpc(client) => Sending::Grpc(client.clone(), request),
            Transport::Http {
                client,
                endpoint,
                headers,
            } => match self.http_request(endpoint, headers, &request) {
                Ok(http) => Sending::Http(Arc::clone(client), http),
                Err(error) => Sending::Failed(error),
            },
        };
        let deadline = self.deadline;
        let delivery = Arc::clone(&self.delivery);
        let destination = self.destination.clone();
        let hints = self.hints.clone();
        self.runtime.runtime().spawn(async move {
            let sent = async {
                match sending {
                    Sending::Grpc(mut client, request) => client
                        .export(request)
                        .await
                        .map(|response| response.into_inner().partial_success)
                        .map_err(|status| describe_status(&status)),
                    Sending::Http(client, request) => send_http(&client, request).await,
                    Sending::Failed(error) => Err(error),
                }
            };
            let outcome = match deadline {
                Some(deadline) => tokio::time::timeout(deadline, sent)
                    .await
                    .unwrap_or_else(|_| Err(format!("timed out after {deadline:?}"))),
                None => sent.await,
            };
            let rejected = match &outcome {
                Ok(Some(partial)) => partial.rejected_data_points.clamp(0, points as i64) as u64,
                _ => 0,
            };
            let result = match outcome {
                Ok(partial) => {
                    delivery
                        .exported
                        .fetch_add(points - rejected, Ordering::AcqRel);
                    delivery.failed.fetch_add(rejected, Ordering::AcqRel);
                    match partial.filter(|_| rejected > 0) {
                        Some(partial) => Err(format!(
                            "the collector rejected {rejected} of {points} data points: {}",
                            partial.error_message
                        )),
                        None => Ok(()),
                    }
                }
                Err(error) => {
                    delivery.failed.fetch_add(points, Ordering::AcqRel);
                    Err(error)
                }
            };
            // A cause the transport repeats is said once, as for spans.
            let result = result.map_err(|error| describe(&OTelSdkError::InternalFailure(error)));
            if let Err(error) = &result {
                failed(&delivery, &destination, &hints, error);
            }
            result
        })
    }

    fn http_request(
        &self,
        endpoint: &http::Uri,
        headers: &http::HeaderMap,
        request: &ExportMetricsServiceRequest,
    ) -> Result<http::Request<Bytes>, String> {
        let mut body = request.encode_to_vec();
        let mut builder = http::Request::post(endpoint.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        if self.gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(&body)
                .map_err(|error| error.to_string())?;
            body = encoder.finish().map_err(|error| error.to_string())?;
            builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
        }
        let mut http = builder
            .body(Bytes::from(body))
            .map_err(|error| error.to_string())?;
        for (name, value) in headers {
            http.headers_mut().insert(name.clone(), value.clone());
        }
        Ok(http)
    }
}

enum Sending {
    Grpc(
        MetricsServiceClient<InterceptedService<Channel, SetMetadata>>,
        ExportMetricsServiceRequest,
    ),
    Http(Arc<HyperClient>, http::Request<Bytes>),
    Failed(String),
}

async fn send_http(
    client: &HyperClient,
    request: http::Request<Bytes>,
) -> Result<Option<ExportMetricsPartialSuccess>, String> {
    let response = client
        .send_bytes(request)
        .await
        .map_err(|error| chain(error.as_ref()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the collector answered {status}"));
    }
    // An empty or unreadable body is a full success.
    Ok(
        ExportMetricsServiceResponse::decode(response.body().as_ref())
            .ok()
            .and_then(|response| response.partial_success),
    )
}

fn describe_status(status: &tonic::Status) -> String {
    use std::error::Error as _;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(source) = status.source() {
        text.push_str(": ");
        text.push_str(&chain(source));
    }
    text
}

/// Counts a failure's last error and says the first one.
fn failed(delivery: &PointDelivery, destination: &str, hints: &FailureHints, error: &str) {
    if !delivery.failure_said.swap(true, Ordering::AcqRel) {
        let hint = hints
            .for_error(error)
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        eprintln!(
            "traced: exporting metrics to {destination} failed: {error}{hint}; further failures \
             are counted and reported at shutdown"
        );
    }
    *delivery.last_error.locked() = Some(error.to_owned());
}
