//! Renders one trace as a waterfall tree that fits an 80-column terminal:
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · 3 spans · 12.4ms · shop
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

/// The name column grows with the tree's depth, from `NAME_WIDTH` up to
/// `MAX_NAME_WIDTH`; the bar gives up the columns it takes.
const NAME_WIDTH: usize = 30;
const MAX_NAME_WIDTH: usize = 48;
const BAR_WIDTH: usize = 24;
const LINE_WIDTH: usize = 80;
/// Columns of a span line besides name and bar: kind, duration, spaces.
const FIXED_COLUMNS: usize = 19;
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
/// for errors and key attributes. A `continued` trace is the part that
/// finished after the rest was printed.
pub(crate) fn render(
    spans: &[SpanData],
    service_name: &str,
    style: Style,
    continued: bool,
) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let start = spans
        .iter()
        .map(|s| s.start_time)
        .min()
        .unwrap_or(first.start_time);
    let end = spans
        .iter()
        .map(|s| s.end_time)
        .max()
        .unwrap_or(first.end_time);
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
    // The service goes last: a long name is what gets cut.
    let header = format!(
        "trace {}{} · {} span{} · {} · {}",
        first.span_context.trace_id(),
        if continued { " (continued)" } else { "" },
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        format_duration(total),
        if service_name.is_empty() {
            "unknown_service"
        } else {
            service_name
        },
    );
    let _ = writeln!(out, "{}", style.paint("1", &cut(&header, LINE_WIDTH)));
    let roots = children.get(&None).cloned().unwrap_or_default();
    let widest = roots
        .iter()
        .map(|&root| widest_name(spans, &children, root, 0))
        .max()
        .unwrap_or(0);
    let name_width = widest.clamp(NAME_WIDTH, MAX_NAME_WIDTH);
    let layout = Layout {
        start,
        total,
        style,
        name_width,
        bar_width: BAR_WIDTH.min(LINE_WIDTH - FIXED_COLUMNS - name_width),
    };
    let count = roots.len();
    for (n, root) in roots.into_iter().enumerate() {
        layout.write_span(
            &mut out,
            spans,
            &children,
            root,
            Prefix::root(n + 1 == count),
        );
    }
    out
}

/// The columns a span's tree prefix and name need, for it and its subtree;
/// names beyond `NAME_WIDTH + 2` are cut rather than widen every line.
fn widest_name(
    spans: &[SpanData],
    children: &HashMap<Option<SpanId>, Vec<usize>>,
    index: usize,
    depth: usize,
) -> usize {
    let span = &spans[index];
    let own = depth * 3 + span.name.chars().count().min(NAME_WIDTH + 2);
    children
        .get(&Some(span.span_context.span_id()))
        .into_iter()
        .flatten()
        .map(|&kid| widest_name(spans, children, kid, depth + 1))
        .fold(own, usize::max)
}

struct Layout {
    start: SystemTime,
    total: Duration,
    style: Style,
    name_width: usize,
    bar_width: usize,
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
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let name = fit(&format!("{}{}", prefix.branch, span.name), self.name_width);
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
            let text = if description.is_empty() {
                "error"
            } else {
                description.as_ref()
            };
            let line = cut(&format!("{}✗ {text}", prefix.detail), LINE_WIDTH);
            let _ = writeln!(out, "{}", self.style.paint("31", &line));
        }
        if span.events.iter().any(|event| event.name == "cancelled") {
            let line = format!("{}⊘ cancelled before completion", prefix.detail);
            let _ = writeln!(out, "{}", self.style.paint("33", &line));
        }
        for link in span.links.iter() {
            let line = format!(
                "{}↪ linked to trace {} span {}",
                prefix.detail,
                link.span_context.trace_id(),
                link.span_context.span_id()
            );
            let _ = writeln!(out, "{}", self.style.paint("35", &cut(&line, LINE_WIDTH)));
        }
        let attributes: Vec<String> = span
            .attributes
            .iter()
            .filter(|kv| !kv.key.as_str().starts_with("code.") && kv.key.as_str() != "error.type")
            .take(SHOWN_ATTRIBUTES)
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        if !attributes.is_empty() {
            let line = cut(
                &format!("{}{}", prefix.detail, attributes.join(" · ")),
                LINE_WIDTH,
            );
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
            ((nanos / total) * self.bar_width as f64).round() as usize
        };
        let from = offset(start).min(self.bar_width - 1);
        let to = offset(end).clamp(from + 1, self.bar_width);
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
        cut(text, width)
    }
}

/// Cuts `text` to at most `width` columns, marking the cut with `…`.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{
        Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

    use super::{Style, render};

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    /// A span of the fixed trace: ids are small numbers, times are
    /// milliseconds after a fixed epoch.
    fn span(
        id: u64,
        parent: u64,
        name: &'static str,
        kind: SpanKind,
        (from_ms, to_ms): (u64, u64),
    ) -> SpanData {
        let at = |ms| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(TRACE),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: kind,
            name: Cow::Borrowed(name),
            start_time: at(from_ms),
            end_time: at(to_ms),
            attributes: vec![KeyValue::new("code.function.name", "shop::handler")],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("shop").build(),
        }
    }

    fn with_attributes(
        mut span: SpanData,
        attributes: &[(&'static str, &'static str)],
    ) -> SpanData {
        span.attributes
            .extend(attributes.iter().map(|(k, v)| KeyValue::new(*k, *v)));
        span
    }

    #[test]
    fn nested_trace() {
        let spans = vec![
            with_attributes(
                span(3, 2, "ArticleRepo::get", SpanKind::Client, (2, 9)),
                &[
                    ("db.system.name", "postgresql"),
                    ("db.query.text", "SELECT * FROM articles WHERE id = $1"),
                ],
            ),
            span(4, 2, "render", SpanKind::Internal, (9, 11)),
            with_attributes(
                span(1, 0, "GET /articles/{id}", SpanKind::Server, (0, 12)),
                &[
                    ("http.route", "/articles/{id}"),
                    ("http.response.status_code", "200"),
                ],
            ),
            span(
                2,
                1,
                "articles::handler::get_article_with_a_long_name",
                SpanKind::Internal,
                (1, 11),
            ),
        ];
        insta::assert_snapshot!(render(&spans, "articles", Style::Plain, false));
    }

    #[test]
    fn error_and_parallel_children() {
        let mut charge = span(3, 1, "payments.Pay/Charge", SpanKind::Client, (3, 40));
        charge.status = Status::error("card declined");
        charge.events.events.push(Event::new(
            "exception",
            SystemTime::UNIX_EPOCH,
            vec![KeyValue::new("exception.message", "card declined")],
            0,
        ));
        charge
            .attributes
            .push(KeyValue::new("error.type", "PaymentError"));
        let mut root = span(1, 0, "POST /checkout", SpanKind::Server, (0, 50));
        root.status = Status::error("payment failed: card declined");
        let mut cancelled = span(5, 1, "recommendations", SpanKind::Client, (4, 20));
        cancelled
            .events
            .events
            .push(Event::new("cancelled", SystemTime::UNIX_EPOCH, vec![], 0));
        let spans = vec![
            root,
            span(2, 1, "inventory.reserve", SpanKind::Client, (2, 30)),
            charge,
            span(4, 1, "fraud.score", SpanKind::Client, (2, 18)),
            cancelled,
            span(6, 2, "inventory::lock_rows", SpanKind::Internal, (5, 25)),
        ];
        insta::assert_snapshot!(render(&spans, "shop", Style::Plain, false));
    }

    #[test]
    fn every_line_fits_eighty_columns() {
        let long = "a_very_long_span_name_that_would_never_fit_in_the_name_column_of_the_waterfall";
        let spans = vec![with_attributes(
            span(1, 0, long, SpanKind::Internal, (0, 1_500)),
            &[(
                "k",
                "a value that is long enough to overflow the line by a good margin, surely",
            )],
        )];
        let text = render(&spans, "svc", Style::Plain, false);
        for line in text.lines().skip(1) {
            assert!(
                line.chars().count() <= 80,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let spans = vec![span(1, 0, "root", SpanKind::Internal, (0, 1))];
        assert!(!render(&spans, "svc", Style::Plain, false).contains('\x1b'));
        assert!(render(&spans, "svc", Style::Colour, false).contains("\x1b["));
    }

    #[test]
    fn links_are_shown_under_their_span() {
        let mut consumer = span(1, 0, "orders process", SpanKind::Consumer, (0, 3));
        consumer
            .links
            .links
            .push(opentelemetry::trace::Link::with_context(SpanContext::new(
                TraceId::from(0x1111_u128),
                SpanId::from(0x2222_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            )));
        insta::assert_snapshot!(render(&[consumer], "analytics", Style::Plain, false));
    }
}
