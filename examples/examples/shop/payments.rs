//! Charges cards, over gRPC. The messages are written by hand with prost's
//! derive, so the example needs no `protoc`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::{ServiceBuilder, service_fn};
use traced::integrations::grpc::GrpcService;
use traced::integrations::{GrpcClientLayer, GrpcServerLayer};
use traced::traced;

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ChargeRequest {
    #[prost(uint64, tag = "1")]
    pub amount_cents: u64,
    #[prost(string, tag = "2")]
    pub card: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ChargeReply {
    #[prost(string, tag = "1")]
    pub payment_id: String,
}

const CHARGE: &str = "/shop.payments.v1.Payments/Charge";

/// The card processor's logic.
#[traced(kind = client, attrs(payment.amount_cents = amount_cents, payment.card = masked(card)))]
async fn authorise(amount_cents: u64, card: &str) -> Result<String, Status> {
    tokio::time::sleep(Duration::from_millis(4)).await;
    if card.len() != 16 {
        return Err(Status::invalid_argument("card number must have 16 digits"));
    }
    tracing::info!("card authorised");
    Ok(format!("pay_{amount_cents}_{}", &card[12..]))
}

fn masked(card: &str) -> String {
    let last = card.get(card.len().saturating_sub(4)..).unwrap_or("");
    format!("**** {last}")
}

async fn charge(request: Request<ChargeRequest>) -> Result<Response<ChargeReply>, Status> {
    let ChargeRequest { amount_cents, card } = request.into_inner();
    let payment_id = authorise(amount_cents, &card).await?;
    Ok(Response::new(ChargeReply { payment_id }))
}

#[derive(Clone)]
struct PaymentsServer;

impl NamedService for PaymentsServer {
    const NAME: &'static str = "shop.payments.v1.Payments";
}

impl tower::Service<http::Request<Body>> for PaymentsServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            CHARGE => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(service_fn(charge), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

pub(crate) async fn serve() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        Server::builder()
            .layer(GrpcServerLayer::new())
            .add_service(PaymentsServer)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
    });
    Ok(address)
}

/// A client of the payments service, traced by its layer.
#[derive(Clone)]
pub(crate) struct PaymentsClient {
    grpc: tonic::client::Grpc<GrpcService<Channel>>,
}

impl PaymentsClient {
    pub(crate) fn new(endpoint: &Endpoint) -> Self {
        let channel = endpoint.connect_lazy();
        let grpc = tonic::client::Grpc::new(
            ServiceBuilder::new()
                .layer(GrpcClientLayer::new().server(endpoint.uri()))
                .service(channel),
        );
        PaymentsClient { grpc }
    }

    pub(crate) async fn charge(&self, amount_cents: u64, card: &str) -> Result<String, Status> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        let reply = grpc
            .unary(
                Request::new(ChargeRequest {
                    amount_cents,
                    card: card.to_owned(),
                }),
                PathAndQuery::from_static(CHARGE),
                ProstCodec::<ChargeRequest, ChargeReply>::default(),
            )
            .await?;
        Ok(reply.into_inner().payment_id)
    }
}
