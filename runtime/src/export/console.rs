//! The console exporter: collects the spans of each trace and prints the whole
//! trace as a waterfall once its local root span has finished.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::waterfall::{Style, render};

#[derive(Debug)]
pub(crate) struct ConsoleExporter {
    pending: Mutex<HashMap<TraceId, Vec<SpanData>>>,
    service_name: String,
    style: Style,
}

impl ConsoleExporter {
    pub(crate) fn stderr() -> Self {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        ConsoleExporter {
            pending: Mutex::new(HashMap::new()),
            service_name: String::new(),
            style: if colour { Style::Colour } else { Style::Plain },
        }
    }

    fn print(&self, spans: &[SpanData]) {
        let text = render(spans, &self.service_name, self.style);
        let mut stderr = std::io::stderr().lock();
        // A closed stderr must not take the program down.
        let _ = stderr.write_all(text.as_bytes());
    }

    fn flush_all(&self) {
        let drained: Vec<Vec<SpanData>> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().map(|(_, spans)| spans).collect()
        };
        for spans in drained {
            self.print(&spans);
        }
    }
}

/// A span whose parent is not in this process ends its trace's local part.
fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == opentelemetry::trace::SpanId::INVALID || span.parent_span_is_remote
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut complete = Vec::new();
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for span in batch {
                let trace_id = span.span_context.trace_id();
                let root_done = is_local_root(&span);
                pending.entry(trace_id).or_default().push(span);
                if root_done {
                    complete.push(trace_id);
                }
            }
            complete.dedup();
            let complete: Vec<_> = complete
                .iter()
                .filter_map(|trace_id| pending.remove(trace_id))
                .collect();
            drop(pending);
            for spans in complete {
                self.print(&spans);
            }
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_all();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        self.flush_all();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            self.service_name = name.to_string();
        }
    }
}
