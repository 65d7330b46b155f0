//! What every OTLP client of one collector shares, whichever signal it
//! sends: the gRPC channel (TLS, the deadline), the configured headers as
//! gRPC metadata or an HTTP header map, the endpoint as it may be shown, and
//! an error said with its causes.

use crate::config::{OtlpSettings, Tls};

/// Header names and values were checked while resolving the configuration.
pub(super) fn header_map(settings: &OtlpSettings) -> http::HeaderMap {
    settings
        .headers
        .iter()
        .filter_map(|(key, value)| {
            Some((
                http::HeaderName::from_bytes(key.as_bytes()).ok()?,
                http::HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect()
}

/// A channel to the collector of `settings`, connected on first use (inside
/// the export runtime).
pub(super) fn grpc_channel(settings: &OtlpSettings) -> Result<tonic::transport::Channel, String> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(settings.endpoint.clone())
        .map_err(|error| format!("the endpoint {}: {error}", redacted(settings)))?;
    if settings.endpoint.starts_with("https://") {
        endpoint = endpoint
            .tls_config(grpc_tls(&settings.tls)?)
            .map_err(|error| format!("TLS for {}: {}", redacted(settings), chain(&error)))?;
    }
    if let Some(deadline) = settings.deadline {
        endpoint = endpoint.timeout(deadline);
    }
    Ok(endpoint.connect_lazy())
}

fn grpc_tls(tls: &Tls) -> Result<tonic::transport::ClientTlsConfig, String> {
    let mut config = tonic::transport::ClientTlsConfig::new();
    config = match &tls.ca_certificate {
        Some(ca) => config.ca_certificate(tonic::transport::Certificate::from_pem(&ca.bytes)),
        None => config.with_native_roots().with_webpki_roots(),
    };
    if let Some((certificate, key)) = &tls.client_identity {
        config = config.identity(tonic::transport::Identity::from_pem(
            &certificate.bytes,
            &key.bytes,
        ));
    }
    Ok(config)
}

/// Sets the resolved headers on every gRPC request, over those
/// opentelemetry-otlp read from the environment.
#[derive(Clone)]
pub(super) struct SetMetadata(opentelemetry_otlp::tonic_types::metadata::MetadataMap);

impl SetMetadata {
    pub(crate) fn of(settings: &OtlpSettings) -> Self {
        SetMetadata(
            opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(header_map(
                settings,
            )),
        )
    }
}

impl tonic::service::Interceptor for SetMetadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        for entry in self.0.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                metadata.insert(key.clone(), value.clone());
            }
        }
        Ok(request)
    }
}

pub(super) fn redacted(settings: &OtlpSettings) -> String {
    crate::config::redact_url(&settings.endpoint)
}

/// An error with its sources: transport errors keep the cause (a refused
/// certificate, say) in their source chain.
pub(super) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
