//! The requests a server layer leaves untraced (health checks, readiness
//! probes): by name (an HTTP path, a gRPC service) or by a predicate on the
//! request's head.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;

type Predicate = Arc<dyn Fn(&Parts) -> bool + Send + Sync>;

/// The requests to skip: none by default.
#[derive(Clone, Default)]
pub(crate) struct Skip {
    names: Vec<String>,
    predicates: Vec<Predicate>,
}

impl Skip {
    /// These names are skipped too.
    pub(crate) fn names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.names.extend(names.into_iter().map(Into::into));
        self
    }

    /// Requests for which `predicate` holds are skipped too.
    pub(crate) fn predicate(
        mut self,
        predicate: impl Fn(&Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Whether `request` is skipped: its name (read by `name`) is one of the
    /// names, or a predicate holds for its head. The request is handed back
    /// whole.
    pub(crate) fn skips<B>(
        &self,
        request: http::Request<B>,
        name: impl FnOnce(&http::Request<B>) -> Option<&str>,
    ) -> (bool, http::Request<B>) {
        let named = !self.names.is_empty()
            && name(&request).is_some_and(|name| self.names.iter().any(|skipped| skipped == name));
        if named || self.predicates.is_empty() {
            return (named, request);
        }
        let (parts, body) = request.into_parts();
        let skipped = self.predicates.iter().any(|predicate| predicate(&parts));
        (skipped, http::Request::from_parts(parts, body))
    }
}

impl fmt::Debug for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Skip")
            .field("names", &self.names)
            .field("predicates", &self.predicates.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Skip;

    fn skips(skip: &Skip, path: &str) -> bool {
        let request = http::Request::get(path).body(()).unwrap();
        skip.skips(request, |request| Some(request.uri().path())).0
    }

    #[test]
    fn names_and_predicates_add_up() {
        assert!(!skips(&Skip::default(), "/health"));
        let skip = Skip::default()
            .names(["/health"])
            .names(["/ready".to_owned()])
            .predicate(|request| request.uri.path().starts_with("/internal/"));
        assert!(skips(&skip, "/health"));
        assert!(skips(&skip, "/ready?verbose"));
        assert!(skips(&skip, "/internal/metrics"));
        assert!(!skips(&skip, "/health/"));
        assert!(!skips(&skip, "/users/7"));
    }
}
