//! The metrics spans are counted into. Per span kind, the semantic
//! conventions' duration histogram where one exists, with its attributes and
//! its recommended bucket boundaries; every other span goes to a call counter
//! and a duration histogram per span name, under autometrics' names
//! (`function.calls`, `function.calls.duration`), so that dashboards built
//! for them work as they are.

/// Seconds: the conventions' advice for HTTP, RPC and messaging durations,
/// and the boundaries of `function.calls.duration`.
pub(crate) const REQUEST_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Seconds: the conventions' advice for database operations.
pub(crate) const DB_BOUNDS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// One duration histogram (and, for functions, its call counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    HttpServer,
    HttpClient,
    RpcServer,
    RpcClient,
    MessagingProcess,
    MessagingClient,
    DbClient,
    Function,
}

impl Family {
    pub(crate) const ALL: [Family; 8] = [
        Family::HttpServer,
        Family::HttpClient,
        Family::RpcServer,
        Family::RpcClient,
        Family::MessagingProcess,
        Family::MessagingClient,
        Family::DbClient,
        Family::Function,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The duration histogram's name.
    pub(crate) fn histogram(self) -> &'static str {
        match self {
            Family::HttpServer => "http.server.request.duration",
            Family::HttpClient => "http.client.request.duration",
            Family::RpcServer => "rpc.server.call.duration",
            Family::RpcClient => "rpc.client.call.duration",
            Family::MessagingProcess => "messaging.process.duration",
            Family::MessagingClient => "messaging.client.operation.duration",
            Family::DbClient => "db.client.operation.duration",
            Family::Function => "function.calls.duration",
        }
    }

    /// The call counter beside the histogram, where there is one.
    pub(crate) fn counter(self) -> Option<&'static str> {
        (self == Family::Function).then_some("function.calls")
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Family::HttpServer => "Duration of HTTP server requests.",
            Family::HttpClient => "Duration of HTTP client requests.",
            Family::RpcServer => {
                "Measures the duration of an incoming Remote Procedure Call (RPC)."
            }
            Family::RpcClient => {
                "Measures the duration of an outgoing Remote Procedure Call (RPC)."
            }
            Family::MessagingProcess => "Duration of processing operation.",
            Family::MessagingClient => {
                "Duration of messaging operation initiated by a producer or consumer client."
            }
            Family::DbClient => "Duration of database client operations.",
            Family::Function => "Duration of the calls of a traced function, per span name.",
        }
    }

    pub(crate) fn bounds(self) -> &'static [f64] {
        match self {
            Family::DbClient => DB_BOUNDS,
            _ => REQUEST_BOUNDS,
        }
    }
}

/// The description of `function.calls`.
pub(crate) const CALLS_DESCRIPTION: &str = "Calls of a traced function, per span name and outcome.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_rise_and_every_family_has_its_index() {
        for family in Family::ALL {
            assert_eq!(Family::ALL[family.index()], family);
            assert!(family.bounds().windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
}
