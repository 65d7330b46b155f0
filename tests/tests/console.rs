//! The console exporter as a user meets it: a program calling `traced::init()`
//! with nothing configured prints each finished trace to stderr as one
//! waterfall tree. Each test runs its program in a child process (a fresh
//! global provider, and a stderr to read).

use std::process::{Command, Output};

use traced::opentelemetry::Context;
use traced::traced;

use traced_tests::child::{command as rerun, in_child};

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("running the child test");
    assert!(
        output.status.success(),
        "child failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

#[traced(kind = client, attrs(db.system.name = "postgresql"))]
fn reserve(#[attr] item: &str) -> usize {
    item.len()
}

#[traced(kind = client)]
fn charge(#[attr] cents: u64) -> Result<(), Declined> {
    if cents > 0 { Err(Declined) } else { Ok(()) }
}

#[traced(kind = producer)]
async fn notify(#[attr] channel: &'static str) {
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let _ = channel;
}

#[traced(name = "POST /checkout", kind = server)]
fn checkout(runtime: &tokio::runtime::Runtime) -> tokio::task::JoinHandle<()> {
    let cx = Context::current();
    std::thread::scope(|scope| {
        for item in ["book", "lamp"] {
            let cx = cx.clone();
            scope.spawn(move || {
                let _attached = cx.attach();
                reserve(item)
            });
        }
    });
    let _ = charge(1299);
    // Started here, finished on a worker thread after this span has ended.
    runtime.spawn(notify("email"))
}

fn program() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let _guard = traced::init().expect("init");
    let pending = checkout(&runtime);
    runtime.block_on(pending).unwrap();
}

#[test]
fn one_tree_per_trace_with_late_children_on_stderr() {
    if in_child() {
        return program();
    }
    let output = run(&mut rerun(
        "one_tree_per_trace_with_late_children_on_stderr",
        &[],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let headers: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("trace "))
        .collect();
    assert_eq!(headers.len(), 1, "{stderr}");
    assert!(headers[0].contains(" · unknown_service:con"), "{stderr}");
    assert!(headers[0].contains(" · 5 spans · "), "{stderr}");
    let tree: Vec<&str> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("trace "))
        .collect();
    let line = |name: &str| {
        tree.iter()
            .find(|line| line.contains(name))
            .unwrap_or_else(|| panic!("no {name} in\n{stderr}"))
            .to_string()
    };
    assert!(
        line("POST /checkout").starts_with("POST /checkout "),
        "{stderr}"
    );
    assert!(line("POST /checkout").contains(" server "));
    assert_eq!(
        tree.iter()
            .filter(|line| line.contains("─ reserve"))
            .count(),
        2,
        "{stderr}"
    );
    assert!(line("─ charge").contains(" client "));
    assert!(line("─ notify").contains(" producer "), "{stderr}");
    assert!(
        line("✗ card declined").ends_with("   ✗ card declined"),
        "{stderr}"
    );
    assert!(line("item=").contains("item=book") || line("item=").contains("item=lamp"));
    assert!(
        tree.iter().all(|line| line.chars().count() <= 80),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
}

/// `script` gives the child a terminal for stderr.
fn on_a_terminal(name: &str, env: &[(&str, &str)]) -> String {
    let inner = rerun(name, env);
    let mut line = format!("{:?}", inner.get_program());
    for arg in inner.get_args() {
        line.push(' ');
        line.push_str(&format!("'{}'", arg.to_string_lossy()));
    }
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]);
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    String::from_utf8_lossy(&run(&mut command).stdout).into_owned()
}

#[traced]
fn tiny() {}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    if in_child() {
        let _guard = traced::init().expect("init");
        return tiny();
    }
    let coloured = on_a_terminal("colour_on_a_terminal_unless_no_color", &[]);
    assert!(coloured.contains("tiny"), "{coloured}");
    assert!(coloured.contains("\x1b[1m"), "{coloured:?}");
    let plain = on_a_terminal("colour_on_a_terminal_unless_no_color", &[("NO_COLOR", "1")]);
    assert!(plain.contains("tiny"), "{plain}");
    assert!(!plain.contains("\x1b["), "{plain:?}");
}

const NOTE: &str =
    "a note long enough to be cut at eighty columns but shown whole at one hundred and twenty";

#[traced(attrs(note = NOTE))]
fn pack(item: &str) {
    tracing::info!(item, "packing");
    log::warn!("box for {item} is small");
}

#[traced(name = "POST /ship", kind = server)]
fn ship_request() {
    tracing::info!("request in");
    let cx = Context::current();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let _attached = cx.attach();
            pack("lamp");
        });
    });
}

#[test]
fn log_lines_print_under_their_spans_at_the_terminal_width() {
    if in_child() {
        let _guard = traced::init().expect("init");
        ship_request();
        tracing::info!("after the trace");
        return;
    }
    let output = run(&mut rerun(
        "log_lines_print_under_their_spans_at_the_terminal_width",
        &[("COLUMNS", "120")],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |text: &str| {
        lines
            .iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no {text:?} in\n{stderr}"))
    };
    let (request, request_log) = (at("POST /ship"), at("INFO  request in"));
    let (pack, packing, small) = (
        at("─ pack"),
        at("INFO  packing · item=lamp"),
        at("WARN  box for lamp is small"),
    );
    assert!(request < request_log && request_log < pack, "{stderr}");
    assert!(pack < packing && packing < small, "{stderr}");
    assert!(
        lines[packing].starts_with("      +"),
        "indented under pack, with its time offset:\n{stderr}"
    );
    assert!(stderr.contains(&format!("note={NOTE}")), "{stderr}");
    assert!(lines.iter().any(|line| line.chars().count() > 80));
    assert!(
        lines.iter().all(|line| line.chars().count() <= 120),
        "{stderr}"
    );
    assert!(
        lines.contains(&"INFO  after the trace"),
        "a record outside any trace prints as it comes:\n{stderr}"
    );
}
