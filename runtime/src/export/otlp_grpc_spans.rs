//! Spans over OTLP/gRPC, encoded by traced itself (as over HTTP) and sent
//! as they are: tonic's client with a codec that writes the request's bytes
//! unchanged and reads the collector's `ExportTraceServiceResponse`, on the
//! channel, TLS, metadata, compression and deadline the other signals use.
//! Failures are retried as opentelemetry-otlp retries them (the codes OTLP
//! calls retryable: [`with_retries`]).

use std::error::Error as _;
use std::time::Duration;

use opentelemetry_http::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_sdk::error::OTelSdkResult;
use prost::Message as _;
use prost::bytes::BufMut as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::otlp_connection::{SetMetadata, chain, grpc_channel};
use super::otlp_retry::{Failure, Retry, with_retries};
use crate::config::{Compression, OtlpSettings};

const SERVICE: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A span exporter's gRPC half: sending encoded requests.
#[derive(Debug)]
pub(crate) struct GrpcSpans {
    client: tonic::client::Grpc<InterceptedService<Channel, SetMetadata>>,
    deadline: Option<Duration>,
}

impl GrpcSpans {
    /// A client of the collector `settings` name; made inside the export
    /// runtime (the channel connects on first use).
    pub(crate) fn new(settings: &OtlpSettings) -> Result<GrpcSpans, String> {
        let channel = InterceptedService::new(grpc_channel(settings)?, SetMetadata::of(settings));
        let mut client = tonic::client::Grpc::new(channel);
        if settings.compression == Compression::Gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        Ok(GrpcSpans {
            client,
            deadline: settings.deadline,
        })
    }

    /// Sends an encoded `ExportTraceServiceRequest`, retrying what may
    /// succeed later.
    pub(crate) async fn send(&self, request: Bytes) -> OTelSdkResult {
        with_retries(self.deadline, || self.attempt(request.clone())).await
    }

    async fn attempt(&self, request: Bytes) -> Result<(), Failure> {
        let mut client = self.client.clone();
        client.ready().await.map_err(|error| {
            let error: tonic::codegen::StdError = error.into();
            Failure {
                message: format!("gRPC export failed: {}", chain(error.as_ref())),
                retry: Retry::Backoff,
            }
        })?;
        let mut request = tonic::Request::new(request);
        request
            .extensions_mut()
            .insert(tonic::GrpcMethod::new(SERVICE, "Export"));
        client
            .unary::<_, ExportTraceServiceResponse, _>(
                request,
                http::uri::PathAndQuery::from_static(EXPORT),
                EncodedCodec,
            )
            .await
            .map(drop)
            .map_err(|status| failure(&status))
    }
}

/// What a failed call says (its code and, for a failure on this side, the
/// transport's causes; never the collector's message, which may echo
/// credentials), and whether OTLP says to try again.
fn failure(status: &tonic::Status) -> Failure {
    let code = status.code();
    let mut message = format!("gRPC export failed with code: {code:?}");
    if let Some(source) = status.source() {
        message.push_str(": ");
        message.push_str(&chain(source));
    }
    let retry = match code {
        tonic::Code::Cancelled
        | tonic::Code::DeadlineExceeded
        | tonic::Code::Aborted
        | tonic::Code::OutOfRange
        | tonic::Code::DataLoss
        | tonic::Code::Unavailable => Retry::Backoff,
        _ => Retry::No,
    };
    Failure { message, retry }
}

/// Requests as encoded bytes, responses through prost.
#[derive(Debug, Clone, Copy, Default)]
struct EncodedCodec;

impl Codec for EncodedCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = EncodedCodec;
    type Decoder = EncodedCodec;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        EncodedCodec
    }
}

impl Encoder for EncodedCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for EncodedCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| tonic::Status::internal(error.to_string()))
    }
}
