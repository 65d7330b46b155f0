//! With the console exporter, the metrics print once, when tracing shuts
//! down: a table of calls, errors and latency percentiles per span name.

use std::time::Instant;

use super::Output;
use crate::export::waterfall::format_duration;
use crate::pipeline::{MetricSink, MetricsSnapshot, Summary};

/// Keeps the latest summary and prints it at shutdown.
pub(crate) struct RedTable {
    latest: Option<Summary>,
    output: Output,
}

impl std::fmt::Debug for RedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedTable").finish_non_exhaustive()
    }
}

impl RedTable {
    pub(crate) fn new(output: Output) -> Self {
        RedTable {
            latest: None,
            output,
        }
    }
}

impl MetricSink for RedTable {
    fn export(&mut self, snapshot: &MetricsSnapshot) {
        self.latest.clone_from(&snapshot.summary);
    }

    fn shutdown(&mut self, _deadline: Instant) {
        if let Some(summary) = self
            .latest
            .take()
            .filter(|summary| !summary.rows.is_empty())
        {
            (self.output)(&render(&summary));
        }
    }

    fn wants_summary(&self) -> bool {
        true
    }
}

/// Longest span name shown whole.
const NAME_WIDTH: usize = 48;

/// The table, one line per span name, busiest first.
pub(crate) fn render(summary: &Summary) -> String {
    let width = summary
        .rows
        .iter()
        .map(|row| row.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("span name".len(), NAME_WIDTH);
    let mut out = String::from("traced: calls, errors and latency per span name\n");
    out.push_str(&format!(
        "  {:<width$}  {:>8}  {:>6}  {:>8}  {:>8}  {:>8}\n",
        "span name", "calls", "errors", "p50", "p95", "p99"
    ));
    for row in &summary.rows {
        let name: String = if row.name.chars().count() > width {
            row.name.chars().take(width - 1).chain(['…']).collect()
        } else {
            row.name.clone()
        };
        out.push_str(&format!(
            "  {:<width$}  {:>8}  {:>6}  {:>8}  {:>8}  {:>8}\n",
            name,
            row.calls,
            row.errors,
            format_duration(row.p50),
            format_duration(row.p95),
            format_duration(row.p99),
        ));
    }
    if summary.estimated {
        out.push_str(
            "  (calls and errors are estimates: each recorded span counts for the inverse of the \
             head-sampling ratio)\n",
        );
    }
    if summary.overflowed {
        out.push_str(
            "  (span names past the cardinality limit are counted together, as \"(other span \
             names)\")\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::pipeline::SummaryRow;

    fn row(name: &str, calls: u64, errors: u64, ms: [u64; 3]) -> SummaryRow {
        SummaryRow {
            name: name.to_owned(),
            calls,
            errors,
            p50: Duration::from_micros(ms[0] * 100),
            p95: Duration::from_micros(ms[1] * 100),
            p99: Duration::from_micros(ms[2] * 100),
        }
    }

    #[test]
    fn one_aligned_line_per_span_name() {
        let summary = Summary {
            rows: vec![
                row("POST /checkout", 21, 1, [121, 188, 188]),
                row("shop.payments.v1.Payments/Charge", 21, 1, [5, 90, 116]),
            ],
            estimated: false,
            overflowed: false,
        };
        insta::assert_snapshot!(render(&summary), @r"
        traced: calls, errors and latency per span name
          span name                            calls  errors       p50       p95       p99
          POST /checkout                          21       1    12.1ms    18.8ms    18.8ms
          shop.payments.v1.Payments/Charge        21       1     500µs     9.0ms    11.6ms
        ");
    }

    #[test]
    fn estimates_and_long_names_are_marked() {
        let summary = Summary {
            rows: vec![row(&"x".repeat(60), 400, 0, [1, 2, 3])],
            estimated: true,
            overflowed: true,
        };
        let text = render(&summary);
        assert!(text.contains(&format!("{}…", "x".repeat(47))), "{text}");
        assert!(text.contains("estimates"), "{text}");
        assert!(text.contains("(other span names)"), "{text}");
    }

    #[test]
    fn the_table_prints_once_at_shutdown() {
        let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let into = std::sync::Arc::clone(&printed);
        let mut table = RedTable::new(std::sync::Arc::new(move |text: &str| {
            into.lock().unwrap().push(text.to_owned());
        }));
        let snapshot = MetricsSnapshot {
            metrics: Vec::new(),
            summary: Some(Summary {
                rows: vec![row("a", 1, 0, [1, 1, 1])],
                estimated: false,
                overflowed: false,
            }),
        };
        table.export(&snapshot);
        table.flush();
        assert!(printed.lock().unwrap().is_empty());
        table.shutdown(Instant::now());
        table.shutdown(Instant::now());
        assert_eq!(printed.lock().unwrap().len(), 1);
    }
}
