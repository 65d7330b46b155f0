//! Renders one trace as a waterfall tree that fits the terminal, with the log
//! records written under each span:
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · 3 spans · 12.4ms · shop
//! GET /checkout                server    12.4ms ████████████████████████
//!    http.response.status_code=502
//! └─ orders::place             internal   8.1ms     ████████████████
//!    └─ payments.Pay/Charge    client     3.2ms        ███████
//!          ✗ card declined
//!          +9.0ms WARN  retrying with the backup processor
//! ```
//!
//! Pure functions of their input (spans, log lines, [`Options`]): whoever
//! holds a finished trace can render it, on whichever thread it likes.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use opentelemetry::logs::Severity;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

/// The name column grows with the tree's depth, from `NAME_WIDTH` up to
/// `MAX_NAME_WIDTH` (plus half of the columns beyond 80); the bar gives up the
/// columns it takes.
const NAME_WIDTH: usize = 30;
const MAX_NAME_WIDTH: usize = 48;
const BAR_WIDTH: usize = 24;
const MIN_BAR_WIDTH: usize = 8;
/// Columns of a span line besides name and bar: kind, duration, spaces.
const FIXED_COLUMNS: usize = 19;
/// The narrowest layout drawn; a narrower terminal wraps it.
const MIN_WIDTH: usize = 60;
const SHOWN_ATTRIBUTES: usize = 4;
/// Shown first, whatever else the span carries.
const FIRST_ATTRIBUTES: &[&str] = &["http.response.status_code"];

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

/// How a trace is drawn and what is known beside its spans.
#[derive(Clone, Debug)]
pub(crate) struct Options<'a> {
    pub(crate) service_name: &'a str,
    pub(crate) style: Style,
    /// Columns of the terminal.
    pub(crate) width: usize,
    /// The part of a trace that finished after the rest was printed.
    pub(crate) continued: bool,
    /// Why tail sampling kept the trace.
    pub(crate) kept: Option<&'a str>,
    /// Spans of this trace not held (over the per-trace cap).
    pub(crate) omitted_spans: usize,
    /// Log records of this trace not held (over the per-trace cap).
    pub(crate) omitted_logs: usize,
}

impl Options<'_> {
    /// Plain text, 80 columns, nothing omitted.
    #[cfg(test)]
    pub(crate) fn plain(service_name: &str) -> Options<'_> {
        Options {
            service_name,
            style: Style::Plain,
            width: 80,
            continued: false,
            kept: None,
            omitted_spans: 0,
            omitted_logs: 0,
        }
    }
}

/// One log record written under a span of the trace.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogLine {
    pub(crate) span_id: SpanId,
    pub(crate) time: SystemTime,
    pub(crate) severity: Option<Severity>,
    /// The body, then the record's attributes as `key=value`.
    pub(crate) message: String,
}

/// The width of the terminal on stderr: `columns` (`COLUMNS`) when set, else
/// the TTY's, else 80.
pub(crate) fn terminal_width(columns: Option<usize>) -> usize {
    columns
        .filter(|&columns| columns > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stderr())
                .map(|(terminal_size::Width(width), _)| usize::from(width))
        })
        .unwrap_or(80)
}

/// The whole trace `spans` (any order) as text: one line per span, its error
/// and its key attributes (whole, wrapped: nothing is cut, so a pipe or a CI
/// log keeps them too), its links, and its log lines.
pub(crate) fn render(spans: &[SpanData], logs: &[LogLine], options: &Options<'_>) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let style = options.style;
    let width = options.width.max(MIN_WIDTH);
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
    let mut logs_of: HashMap<Option<SpanId>, Vec<&LogLine>> = HashMap::new();
    for line in logs {
        let span = Some(line.span_id).filter(|id| ids.contains_key(id));
        logs_of.entry(span).or_default().push(line);
    }
    for list in logs_of.values_mut() {
        list.sort_by_key(|line| line.time);
    }

    let mut out = String::new();
    let span_count = spans.len() + options.omitted_spans;
    // The service goes last: a long name is what gets cut.
    let header = format!(
        "trace {}{} · {} span{} · {}{} · {}",
        first.span_context.trace_id(),
        if options.continued {
            " (continued)"
        } else {
            ""
        },
        span_count,
        if span_count == 1 { "" } else { "s" },
        format_duration(total),
        options
            .kept
            .map_or(String::new(), |reason| format!(" · kept: {reason}")),
        if options.service_name.is_empty() {
            "unknown_service"
        } else {
            options.service_name
        },
    );
    let _ = writeln!(out, "{}", style.paint("1", &cut(&header, width)));
    let roots = children.get(&None).cloned().unwrap_or_default();
    let extra = width.saturating_sub(80);
    let longest_name = NAME_WIDTH + 2 + extra / 2;
    let widest = roots
        .iter()
        .map(|&root| widest_name(spans, &children, root, 0, longest_name))
        .max()
        .unwrap_or(0);
    let available = width - FIXED_COLUMNS;
    let max_name = (MAX_NAME_WIDTH + extra / 2).min(available - MIN_BAR_WIDTH);
    let name_width = widest.clamp(NAME_WIDTH.min(max_name), max_name);
    let layout = Layout {
        start,
        total,
        style,
        width,
        name_width,
        bar_width: (BAR_WIDTH + extra / 2).min(available - name_width),
        children,
        logs_of,
    };
    let count = roots.len();
    for (n, root) in roots.into_iter().enumerate() {
        layout.write_span(&mut out, spans, root, Prefix::root(n + 1 == count));
    }
    if let Some(orphans) = layout.logs_of.get(&None) {
        let _ = writeln!(
            out,
            "{}",
            style.paint("2", "logs of spans not shown above:")
        );
        layout.write_logs(&mut out, orphans, "   ");
    }
    for (omitted, what) in [
        (options.omitted_spans, "span"),
        (options.omitted_logs, "log record"),
    ] {
        if omitted > 0 {
            let line = format!(
                "… {omitted} more {what}{} of this trace not shown (over the limit held per trace)",
                if omitted == 1 { "" } else { "s" }
            );
            for line in wrap(&line, "", "  ", width) {
                let _ = writeln!(out, "{}", style.paint("33", &line));
            }
        }
    }
    out
}

/// The columns a span's tree prefix and name need, for it and its subtree;
/// names beyond `longest` are cut rather than widen every line.
fn widest_name(
    spans: &[SpanData],
    children: &HashMap<Option<SpanId>, Vec<usize>>,
    index: usize,
    depth: usize,
    longest: usize,
) -> usize {
    let span = &spans[index];
    let own = depth * 3 + span.name.chars().count().min(longest);
    children
        .get(&Some(span.span_context.span_id()))
        .into_iter()
        .flatten()
        .map(|&kid| widest_name(spans, children, kid, depth + 1, longest))
        .fold(own, usize::max)
}

struct Layout<'a> {
    start: SystemTime,
    total: Duration,
    style: Style,
    width: usize,
    name_width: usize,
    bar_width: usize,
    children: HashMap<Option<SpanId>, Vec<usize>>,
    logs_of: HashMap<Option<SpanId>, Vec<&'a LogLine>>,
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

impl Layout<'_> {
    fn write_span(&self, out: &mut String, spans: &[SpanData], index: usize, prefix: Prefix) {
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
            let first = format!("{}✗ ", prefix.detail);
            let next = format!("{}  ", prefix.detail);
            for line in wrap(text, &first, &next, self.width) {
                let _ = writeln!(out, "{}", self.style.paint("31", &line));
            }
        }
        if span.events.iter().any(|event| event.name == "cancelled") {
            let line = format!("{}⊘ cancelled before completion", prefix.detail);
            let _ = writeln!(out, "{}", self.style.paint("33", &line));
        }
        for link in span.links.iter() {
            let text = format!(
                "↪ linked to trace {} span {}",
                link.span_context.trace_id(),
                link.span_context.span_id()
            );
            let next = format!("{}  ", prefix.detail);
            for line in wrap(&text, &prefix.detail, &next, self.width) {
                let _ = writeln!(out, "{}", self.style.paint("35", &line));
            }
        }
        let shown = |key: &str| !key.starts_with("code.") && key != "error.type";
        let first = FIRST_ATTRIBUTES
            .iter()
            .filter_map(|key| span.attributes.iter().find(|kv| kv.key.as_str() == *key));
        let rest = span
            .attributes
            .iter()
            .filter(|kv| shown(kv.key.as_str()) && !FIRST_ATTRIBUTES.contains(&kv.key.as_str()));
        let attributes: Vec<String> = first
            .chain(rest)
            .take(SHOWN_ATTRIBUTES)
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        if !attributes.is_empty() {
            for line in wrap_items(&attributes, &prefix.detail, self.width) {
                let _ = writeln!(out, "{}", self.style.paint("2", &line));
            }
        }
        if let Some(lines) = self.logs_of.get(&Some(span.span_context.span_id())) {
            self.write_logs(out, lines, &prefix.detail);
        }
        let kids = self
            .children
            .get(&Some(span.span_context.span_id()))
            .cloned()
            .unwrap_or_default();
        let count = kids.len();
        for (n, kid) in kids.into_iter().enumerate() {
            self.write_span(out, spans, kid, prefix.child(n + 1 == count));
        }
    }

    /// `+offset SEVERITY message`, the message wrapped under itself.
    fn write_logs(&self, out: &mut String, lines: &[&LogLine], detail: &str) {
        for line in lines {
            let offset = line.time.duration_since(self.start).unwrap_or_default();
            let severity = line.severity.map_or("LOG", severity_name);
            let lead = format!("{detail}+{} {severity:<5} ", format_duration(offset));
            let indent = " ".repeat(lead.chars().count());
            let code = match line.severity {
                Some(severity) if severity >= Severity::Error => "31",
                Some(severity) if severity >= Severity::Warn => "33",
                _ => "0",
            };
            for text in wrap(&line.message, &lead, &indent, self.width) {
                let _ = writeln!(out, "{}", self.style.paint(code, &text));
            }
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

/// The five-letter family of a severity: `TRACE` .. `FATAL`.
fn severity_name(severity: Severity) -> &'static str {
    match severity {
        s if s >= Severity::Fatal => "FATAL",
        s if s >= Severity::Error => "ERROR",
        s if s >= Severity::Warn => "WARN",
        s if s >= Severity::Info => "INFO",
        s if s >= Severity::Debug => "DEBUG",
        _ => "TRACE",
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

/// `text` in lines of at most `width` columns: the first starts with
/// `first`, the others with `next`; breaks at spaces, and inside a word only
/// when it is longer than a line. Nothing is left out.
fn wrap(text: &str, first: &str, next: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut used = first.chars().count();
    let mut empty = true;
    let room = |prefix: &str| width.saturating_sub(prefix.chars().count()).max(1);
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        if !empty && used + 1 + word.len() > width {
            lines.push(std::mem::replace(&mut line, next.to_owned()));
            used = next.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            used += 1;
        }
        while used + word.len() > width && word.len() > room(next) {
            let take = width.saturating_sub(used).max(1);
            line.extend(word.drain(..take.min(word.len())));
            lines.push(std::mem::replace(&mut line, next.to_owned()));
            used = next.chars().count();
        }
        used += word.len();
        line.extend(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// `items` joined by ` · ` in lines of at most `width` columns, each line
/// starting with `indent`: an item that does not fit in what is left of a
/// line starts the next one, and only an item longer than a whole line is
/// broken, as [`wrap`] breaks text. Nothing is left out.
fn wrap_items(items: &[String], indent: &str, width: usize) -> Vec<String> {
    const SEPARATOR: &str = " · ";
    let separator = SEPARATOR.chars().count();
    let mut lines = Vec::new();
    let mut line = indent.to_owned();
    let mut used = indent.chars().count();
    let mut empty = true;
    for item in items {
        let length = item.chars().count();
        if !empty && used + separator + length > width {
            lines.push(std::mem::replace(&mut line, indent.to_owned()));
            used = indent.chars().count();
            empty = true;
        }
        if !empty {
            line.push_str(SEPARATOR);
            used += separator;
        }
        if used + length <= width {
            line.push_str(item);
            used += length;
        } else {
            let mut parts = wrap(item, &line, indent, width);
            line = parts.pop().unwrap_or_default();
            used = line.chars().count();
            lines.append(&mut parts);
        }
        empty = false;
    }
    lines.push(line);
    lines
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

    use opentelemetry::logs::Severity;

    use super::{LogLine, Options, Style, render, wrap, wrap_items};

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
        insta::assert_snapshot!(render(&spans, &[], &Options::plain("articles")));
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
        insta::assert_snapshot!(render(&spans, &[], &Options::plain("shop")));
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
        let text = render(&spans, &[], &Options::plain("svc"));
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
        let plain = Options::plain("svc");
        let colour = Options {
            style: Style::Colour,
            ..plain.clone()
        };
        assert!(!render(&spans, &[], &plain).contains('\x1b'));
        assert!(render(&spans, &[], &colour).contains("\x1b["));
    }

    /// `span` with a link to span `2222` of trace `1111`.
    fn linked(mut span: SpanData) -> SpanData {
        span.links
            .links
            .push(opentelemetry::trace::Link::with_context(SpanContext::new(
                TraceId::from(0x1111_u128),
                SpanId::from(0x2222_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            )));
        span
    }

    #[test]
    fn links_are_shown_under_their_span() {
        let consumer = linked(span(1, 0, "orders process", SpanKind::Consumer, (0, 3)));
        insta::assert_snapshot!(render(&[consumer], &[], &Options::plain("analytics")));
    }

    fn log(span: u64, at_ms: u64, severity: Severity, message: &str) -> LogLine {
        LogLine {
            span_id: SpanId::from(span),
            time: SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_700_000_000)
                + Duration::from_millis(at_ms),
            severity: Some(severity),
            message: message.to_owned(),
        }
    }

    /// The shop's failure as a story: what each span said, under it, in time
    /// order, and the status code of the request that looked fine.
    #[test]
    fn logs_under_their_spans() {
        let mut reserve = span(4, 3, "Shipping::reserve", SpanKind::Internal, (30, 33));
        reserve.status = Status::error("no lamp left in warehouse north");
        let spans = vec![
            with_attributes(
                span(1, 0, "POST /checkout", SpanKind::Server, (0, 20)),
                &[
                    ("http.request.method", "POST"),
                    ("http.route", "/checkout"),
                    ("url.path", "/checkout"),
                    ("server.address", "127.0.0.1"),
                    ("http.response.status_code", "200"),
                ],
            ),
            span(2, 1, "Orders::place", SpanKind::Internal, (1, 19)),
            span(3, 2, "order-placed process", SpanKind::Consumer, (25, 34)),
            reserve,
        ];
        let logs = vec![
            log(2, 18, Severity::Info, "order 1041 placed · order.id=1041"),
            log(2, 2, Severity::Info, "stock cache says 3 lamps left"),
            log(4, 32, Severity::Warn, "warehouse north has no lamp left"),
            log(4, 33, Severity::Error, "cannot ship order 1041"),
            log(
                9,
                5,
                Severity::Debug,
                "a log of a span this trace does not hold",
            ),
        ];
        insta::assert_snapshot!(render(&spans, &logs, &Options::plain("shop")));
    }

    #[test]
    fn wide_terminal() {
        let spans = vec![
            with_attributes(
                span(1, 0, "GET /articles/{id}", SpanKind::Server, (0, 12)),
                &[
                    ("http.request.method", "GET"),
                    ("http.route", "/articles/{id}"),
                    ("url.path", "/articles/42"),
                    ("user_agent.original", "curl/8.5.0"),
                    ("http.response.status_code", "200"),
                ],
            ),
            span(
                2,
                1,
                "articles::handler::get_article_with_a_long_name_that_fits_wide",
                SpanKind::Internal,
                (1, 11),
            ),
        ];
        let options = Options {
            width: 140,
            ..Options::plain("articles")
        };
        let text = render(&spans, &[log(2, 3, Severity::Info, "cache miss")], &options);
        for line in text.lines() {
            assert!(line.chars().count() <= 140, "{line:?}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn long_error_message() {
        let mut failed = span(1, 0, "POST /import", SpanKind::Server, (0, 40));
        failed.status = Status::error(
            "import of batch 7 failed: row 1832 has a value for column \"shipping_address\" \
             that is longer than the 255 characters the column holds; the rows before it were \
             imported and the rows after it were not, see https://example.com/docs/imports#limits",
        );
        let failed = with_attributes(failed, &[("http.response.status_code", "500")]);
        let text = render(&[failed], &[], &Options::plain("importer"));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(!text.contains('…'), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn trace_over_the_span_cap() {
        let spans: Vec<_> = std::iter::once(span(1, 0, "batch", SpanKind::Internal, (0, 10)))
            .chain((2..5).map(|id| span(id, 1, "item", SpanKind::Internal, (id, id + 1))))
            .collect();
        let options = Options {
            omitted_spans: 996,
            omitted_logs: 1,
            ..Options::plain("worker")
        };
        insta::assert_snapshot!(render(&spans, &[], &options));
    }

    /// Every attribute shown, `key=value` whole on one line of at most 80
    /// columns: what a terminal, a pipe and a CI log all get.
    #[test]
    fn repro_attributes_are_wrapped_whole_not_cut_at_eighty_columns() {
        let attributes = [
            ("http.response.status_code", "200"),
            ("http.request.method", "POST"),
            ("http.route", "/items/{id}/reservations"),
            (
                "url.full",
                "http://127.0.0.1:41234/items/7/reservations?warehouse=north",
            ),
        ];
        let spans = vec![
            with_attributes(
                span(
                    1,
                    0,
                    "POST /items/{id}/reservations",
                    SpanKind::Server,
                    (0, 10),
                ),
                &attributes,
            ),
            span(2, 1, "Stock::reserve", SpanKind::Internal, (1, 9)),
            with_attributes(span(3, 2, "POST", SpanKind::Client, (2, 8)), &attributes),
        ];
        let text = render(&spans, &[], &Options::plain("stock"));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(!text.contains('…'), "{text}");
        for (key, value) in attributes {
            let shown = format!("{key}={value}");
            assert_eq!(
                text.lines().filter(|line| line.contains(&shown)).count(),
                2,
                "{shown} not whole under both spans:\n{text}"
            );
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_attribute_longer_than_a_line_is_broken_and_kept() {
        let value = format!("http://127.0.0.1:41234/search?q={}", "lamp".repeat(30));
        let key_value = format!("url.full={value}");
        let mut client = span(1, 0, "GET", SpanKind::Client, (0, 3));
        client.attributes.push(KeyValue::new("url.full", value));
        let text = render(&[client], &[], &Options::plain("search"));
        let detail: Vec<&str> = text.lines().skip(2).collect();
        assert!(detail.len() >= 3, "{text}");
        for line in &detail {
            assert!(line.chars().count() <= 80, "{line:?}");
            assert!(line.starts_with("   "), "not under its span: {line:?}");
        }
        let joined: String = detail.iter().map(|line| line.trim_start()).collect();
        assert_eq!(joined, key_value);
    }

    #[test]
    fn items_that_do_not_fit_start_the_next_line_whole() {
        let items = ["k=1", "key=two", "a=bbbbbbbbbbbbbbbbbbbbbb", "z=9"].map(String::from);
        assert_eq!(
            wrap_items(&items, "> ", 16),
            [
                "> k=1 · key=two",
                "> a=bbbbbbbbbbbb",
                "> bbbbbbbbbb",
                "> z=9"
            ]
        );
        assert_eq!(wrap_items(&items[..1], "> ", 16), ["> k=1"]);
        assert_eq!(wrap_items(&items[..2], "", 80), ["k=1 · key=two"]);
    }

    #[test]
    fn a_link_under_a_deep_span_is_wrapped_not_cut() {
        let mut spans: Vec<SpanData> = (1..=7)
            .map(|id| span(id, id - 1, "step", SpanKind::Internal, (id, 20)))
            .collect();
        spans.push(linked(span(8, 7, "step", SpanKind::Internal, (8, 20))));
        let text = render(&spans, &[], &Options::plain("deep"));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(!text.contains('…'), "{text}");
        assert!(text.contains("0000000000002222"), "{text}");
    }

    #[test]
    fn wrapping_keeps_every_character() {
        let lines = wrap("aaa bbbbbbbbbbbbbbbbbbbbbbbb c", "> ", "  ", 10);
        assert_eq!(
            lines,
            ["> aaa", "  bbbbbbbb", "  bbbbbbbb", "  bbbbbbbb", "  c"]
        );
        assert_eq!(wrap("", "> ", "  ", 10), ["> "]);
        assert_eq!(wrap("fits", "> ", "  ", 10), ["> fits"]);
    }
}
