//! Renders one trace as a waterfall tree that fits an 80-column terminal:
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · shop · 3 spans · 12.4ms
//! GET /checkout                server    12.4ms ████████████████████████
//! └─ orders::place             internal   8.1ms     ████████████████
//!    └─ payments.Pay/Charge    client     3.2ms        ███████
//!       ✗ card declined
//! ```

use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

const NAME_WIDTH: usize = 30;
const BAR_WIDTH: usize = 24;
const LINE_WIDTH: usize = 80;
const SHOWN_ATTRIBUTES: usize = 4;

/// Plain text, or ANSI colour for a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Colour,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_owned(),
            Style::Colour => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

/// The whole trace `spans` (any order) as text, one line per span plus a line
/// for errors and key attributes.
pub(crate) fn render(spans: &[SpanData], service_name: &str, style: Style) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let start = spans.iter().map(|s| s.start_time).min().unwrap_or(first.start_time);
    let end = spans.iter().map(|s| s.end_time).max().unwrap_or(first.end_time);
    let total = end.duration_since(start).unwrap_or_default();

    let ids: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, span)| (span.span_context.span_id(), i))
        .collect();
    let mut children: HashMap<Option<SpanId>, Vec<usize>> = HashMap::new();
    for (i, span) in spans.iter().enumerate() {
        let parent = Some(span.parent_span_id).filter(|id| ids.contains_key(id));
        children.entry(parent).or_default().push(i);
    }
    for list in children.values_mut() {
        list.sort_by_key(|&i| (spans[i].start_time, spans[i].name.clone()));
    }

    let mut out = String::new();
    let header = format!(
        "trace {} · {} · {} span{} · {}",
        first.span_context.trace_id(),
        if service_name.is_empty() { "unknown_service" } else { service_name },
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        format_duration(total),
    );
    let _ = writeln!(out, "{}", style.paint("1", &header));
    let layout = Layout { start, total, style };
    let roots = children.get(&None).cloned().unwrap_or_default();
    let count = roots.len();
    for (n, root) in roots.into_iter().enumerate() {
        layout.write_span(&mut out, spans, &children, root, Prefix::root(n + 1 == count));
    }
    out
}

struct Layout {
    start: SystemTime,
    total: Duration,
    style: Style,
}

/// The tree-drawing characters in front of a span's name.
#[derive(Clone)]
struct Prefix {
    /// What lines of this span's children start with.
    indent: String,
    /// What this span's own line starts with.
    branch: String,
    /// What the detail lines under this span start with.
    detail: String,
}

impl Prefix {
    fn root(_last: bool) -> Self {
        Prefix {
            indent: String::new(),
            branch: String::new(),
            detail: "   ".to_owned(),
        }
    }

    fn child(&self, last: bool) -> Self {
        let branch = format!("{}{}", self.indent, if last { "└─ " } else { "├─ " });
        let indent = format!("{}{}", self.indent, if last { "   " } else { "│  " });
        Prefix {
            detail: format!("{indent}   "),
            indent,
            branch,
        }
    }
}

impl Layout {
    fn write_span(
        &self,
        out: &mut String,
        spans: &[SpanData],
        children: &HashMap<Option<SpanId>, Vec<usize>>,
        index: usize,
        prefix: Prefix,
    ) {
        let span = &spans[index];
        let failed = matches!(span.status, Status::Error { .. });
        let duration = span.end_time.duration_since(span.start_time).unwrap_or_default();
        let name = fit(&format!("{}{}", prefix.branch, span.name), NAME_WIDTH);
        let kind = kind_name(&span.span_kind);
        let bar = self.bar(span.start_time, span.end_time);
        let painted_name = if failed {
            self.style.paint("1;31", &name)
        } else {
            self.style.paint("1", &name)
        };
        let _ = writeln!(
            out,
            "{painted_name} {} {:>8} {}",
            self.style.paint("2", &format!("{kind:<8}")),
            format_duration(duration),
            self.style.paint(if failed { "31" } else { "36" }, &bar),
        );
        if let Status::Error { description } = &span.status {
            let text = if description.is_empty() { "error" } else { description.as_ref() };
            let line = fit(&format!("{}✗ {text}", prefix.detail), LINE_WIDTH);
            let _ = writeln!(out, "{}", self.style.paint("31", &line));
        }
        if span.events.iter().any(|event| event.name == "cancelled") {
            let line = format!("{}⊘ cancelled before completion", prefix.detail);
            let _ = writeln!(out, "{}", self.style.paint("33", &line));
        }
        let attributes: Vec<String> = span
            .attributes
            .iter()
            .filter(|kv| !kv.key.as_str().starts_with("code.") && kv.key.as_str() != "error.type")
            .take(SHOWN_ATTRIBUTES)
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        if !attributes.is_empty() {
            let line = fit(&format!("{}{}", prefix.detail, attributes.join(" · ")), LINE_WIDTH);
            let _ = writeln!(out, "{}", self.style.paint("2", &line));
        }
        let kids = children
            .get(&Some(span.span_context.span_id()))
            .cloned()
            .unwrap_or_default();
        let count = kids.len();
        for (n, kid) in kids.into_iter().enumerate() {
            self.write_span(out, spans, children, kid, prefix.child(n + 1 == count));
        }
    }

    fn bar(&self, start: SystemTime, end: SystemTime) -> String {
        let total = self.total.as_nanos().max(1) as f64;
        let offset = |at: SystemTime| {
            let nanos = at.duration_since(self.start).unwrap_or_default().as_nanos() as f64;
            ((nanos / total) * BAR_WIDTH as f64).round() as usize
        };
        let from = offset(start).min(BAR_WIDTH - 1);
        let to = offset(end).clamp(from + 1, BAR_WIDTH);
        format!("{}{}", " ".repeat(from), "█".repeat(to - from))
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// Pads or cuts `text` to exactly `width` columns (counting chars).
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{}", " ".repeat(width - count))
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

pub(crate) fn format_duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}
