//! What `traced::propagation::extract` costs for a request's headers: the
//! usual W3C fields, and baggage floods a hostile caller can send (a 390 KB
//! member, members past a full budget) beside a header of the same size
//! that is not propagated. And what `inject` costs for a caller's context
//! sent on with no span of ours: as it came when sampled, under a new
//! parent id when not.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn headers(extra: &[(&str, String)]) -> HashMap<String, String> {
    let mut headers = HashMap::from([("traceparent".to_owned(), TRACEPARENT.to_owned())]);
    for (key, value) in extra {
        headers.insert((*key).to_owned(), value.clone());
    }
    headers
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let flood = "%FF".repeat(130_000);
    let cases = [
        ("traceparent only", headers(&[])),
        (
            "traceparent + tracestate + 3 baggage members",
            headers(&[
                (
                    "tracestate",
                    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".to_owned(),
                ),
                (
                    "baggage",
                    "userId=alice,serverNode=DF%2028,isProduction=false".to_owned(),
                ),
            ]),
        ),
        (
            "390 KB header not propagated",
            headers(&[("x-flood", format!("flood={flood}"))]),
        ),
        (
            "390 KB baggage member",
            headers(&[("baggage", format!("a=1,flood={flood},b=2"))]),
        ),
        (
            "full baggage budget, then 360 KB of members",
            headers(&[(
                "baggage",
                format!("a={}{}", "x".repeat(8190), ",k=%FF".repeat(60_000)),
            )]),
        ),
    ];
    let mut group = c.benchmark_group("extract");
    for (name, headers) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| traced::propagation::extract(black_box(headers)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("inject");
    for flags in ["01", "00"] {
        let received = headers(&[(
            "traceparent",
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
        )]);
        let cx = traced::propagation::extract(&received);
        let name = if flags == "01" {
            "a sampled caller's context, sent as it came"
        } else {
            "an unsampled caller's context, under a new parent id"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut carrier: HashMap<String, String> = HashMap::new();
                traced::propagation::inject_context(black_box(&cx), &mut carrier);
                carrier
            })
        });
    }
    group.finish();
    c.final_summary();
}
