//! What the macros cost at build time: generates a workspace of crates with
//! the same functions (half sync returning a `Result`, half async) written
//! plain, with `#[traced]` and with tracing's `#[instrument]`, then builds
//! each from scratch (its dependencies already built), in debug without
//! incremental compilation, timing the build's wall clock, its CPU (every
//! process it ran) and the peak memory of its largest process.
//!
//! `cargo run --release -p traced-benches --bin build_cost [FUNCTIONS] [ROUNDS]`
//!
//! The crates go to `build-cost/` in the target directory (`CARGO_TARGET_DIR`,
//! else the workspace's) and build into it, offline, with the workspace's
//! `Cargo.lock`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One way of writing the functions.
struct Variant {
    package: &'static str,
    /// What goes on each sync function (returning a `Result`) and each async one.
    sync_attribute: &'static str,
    async_attribute: &'static str,
    dependency: &'static str,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        package: "build-cost-plain",
        sync_attribute: "",
        async_attribute: "",
        dependency: "",
    },
    Variant {
        package: "build-cost-traced",
        sync_attribute: "#[traced::traced]",
        async_attribute: "#[traced::traced]",
        dependency: "traced",
    },
    // What `#[traced]` records by default: errors, and no argument.
    Variant {
        package: "build-cost-instrument",
        sync_attribute: "#[tracing::instrument(skip_all, err)]",
        async_attribute: "#[tracing::instrument(skip_all)]",
        dependency: "tracing",
    },
    // `#[instrument]` as written most often: every argument recorded.
    Variant {
        package: "build-cost-instrument-bare",
        sync_attribute: "#[tracing::instrument]",
        async_attribute: "#[tracing::instrument]",
        dependency: "tracing",
    },
];

/// What one build cost.
#[derive(Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Duration,
    peak_kib: u64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("--measure") {
        // A child of ours: runs one command, prints what it cost.
        let command: Vec<String> = args.collect();
        let cost = measure(&command);
        println!(
            "{} {} {}",
            cost.wall.as_nanos(),
            cost.cpu.as_nanos(),
            cost.peak_kib
        );
        return;
    }
    let functions: usize = first.map_or(500, |arg| arg.parse().expect("FUNCTIONS is a number"));
    let rounds: usize = args
        .next()
        .map_or(3, |arg| arg.parse().expect("ROUNDS is a number"));
    let root = workspace_root();
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let dir = target_dir.join("build-cost");
    generate(&dir, &root, functions);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let cargo_in = |args: &[&str]| {
        let mut command = vec![cargo.clone()];
        command.extend(args.iter().map(|arg| (*arg).to_owned()));
        command.extend([
            "--offline".to_owned(),
            "--manifest-path".to_owned(),
            dir.join("Cargo.toml").display().to_string(),
            "--target-dir".to_owned(),
            target_dir.display().to_string(),
        ]);
        command
    };
    eprintln!("building the dependencies once");
    run(&cargo_in(&["build", "--workspace"]));
    let mut costs: Vec<(&str, &str, Vec<Cost>)> = Vec::new();
    for round in 0..rounds {
        for variant in &VARIANTS {
            for step in ["check", "build"] {
                run(&cargo_in(&["clean", "-p", variant.package]));
                let cost = measured_child(&cargo_in(&[step, "-p", variant.package]));
                eprintln!(
                    "round {round} {step} {}: {:.2} s wall, {:.2} s CPU, {} MiB",
                    variant.package,
                    cost.wall.as_secs_f64(),
                    cost.cpu.as_secs_f64(),
                    cost.peak_kib / 1024
                );
                match costs
                    .iter_mut()
                    .find(|(package, s, _)| *package == variant.package && *s == step)
                {
                    Some((_, _, all)) => all.push(cost),
                    None => costs.push((variant.package, step, vec![cost])),
                }
            }
        }
    }
    println!(
        "{functions} functions, half sync returning a Result, half async; \
         debug, CARGO_INCREMENTAL=0; median of {rounds} rounds"
    );
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>10}",
        "crate", "step", "wall s", "CPU s", "peak MiB"
    );
    for (package, step, all) in costs {
        let median = |key: fn(&Cost) -> u128| {
            let mut values: Vec<u128> = all.iter().map(key).collect();
            values.sort_unstable();
            values[values.len() / 2]
        };
        println!(
            "{:<28} {:>6} {:>10.2} {:>10.2} {:>10}",
            package,
            step,
            median(|cost| cost.wall.as_nanos()) as f64 / 1e9,
            median(|cost| cost.cpu.as_nanos()) as f64 / 1e9,
            median(|cost| u128::from(cost.peak_kib)) / 1024
        );
    }
}

/// The workspace this binary belongs to.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is inside the workspace")
        .to_path_buf()
}

/// Writes the generated workspace: one crate per variant.
fn generate(dir: &Path, root: &Path, functions: usize) {
    let members: Vec<String> = VARIANTS
        .iter()
        .map(|variant| format!("{:?}", variant.package))
        .collect();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copying Cargo.lock");
    let runtime = root.join("runtime");
    for variant in &VARIANTS {
        let crate_dir = dir.join(variant.package);
        let dependency = match variant.dependency {
            "traced" => format!(
                "traced = {{ path = {:?} }}\n",
                runtime.display().to_string()
            ),
            "tracing" => "tracing = \"0.1\"\n".to_owned(),
            _ => String::new(),
        };
        write(
            &crate_dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = {:?}\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\n{dependency}",
                variant.package
            ),
        );
        write(&crate_dir.join("src/lib.rs"), &source(variant, functions));
    }
}

/// The crate's source: `functions` functions, half of each shape.
fn source(variant: &Variant, functions: usize) -> String {
    let mut source = String::from(
        "//! Generated by benches/src/bin/build_cost.rs.\n\n\
         #[derive(Debug)]\n\
         pub struct Failed(pub u64);\n\n\
         impl std::fmt::Display for Failed {\n    \
             fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        \
                 write!(f, \"failed at {}\", self.0)\n    \
             }\n\
         }\n\n\
         impl std::error::Error for Failed {}\n",
    );
    for n in 0..functions / 2 {
        let _ = write!(
            source,
            "\n{sync}\npub fn load_{n}(id: u64) -> Result<u64, Failed> {{\n    \
                 if id == {n} {{\n        return Err(Failed(id));\n    }}\n    \
                 Ok(id.wrapping_mul({m}))\n\
             }}\n\n\
             {asynchronous}\npub async fn fetch_{n}(id: u64) -> u64 {{\n    \
                 id.rotate_left({r})\n\
             }}\n",
            sync = variant.sync_attribute,
            asynchronous = variant.async_attribute,
            m = n + 3,
            r = n % 63,
        );
    }
    source
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("creating the generated crate");
    }
    // Unchanged files keep their times, so cargo does not rebuild for nothing.
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("writing the generated crate");
    }
}

fn run(command: &[String]) {
    let status = Command::new(&command[0])
        .args(&command[1..])
        .env("CARGO_INCREMENTAL", "0")
        .status()
        .expect("running cargo");
    assert!(status.success(), "{command:?} failed");
}

/// Runs `command` in a child of this binary, so that the peak memory it
/// reports is this command's alone.
fn measured_child(command: &[String]) -> Cost {
    let output = Command::new(std::env::current_exe().expect("this binary"))
        .arg("--measure")
        .args(command)
        .output()
        .expect("running the measuring child");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<u128> = text
        .split_whitespace()
        .map(|field| field.parse().expect("a number"))
        .collect();
    Cost {
        wall: Duration::from_nanos(fields[0] as u64),
        cpu: Duration::from_nanos(fields[1] as u64),
        peak_kib: fields[2] as u64,
    }
}

/// Runs `command`, then reads what it and every process it waited for used.
fn measure(command: &[String]) -> Cost {
    let start = Instant::now();
    let output = Command::new(&command[0])
        .args(&command[1..])
        .env("CARGO_INCREMENTAL", "0")
        .output()
        .expect("running cargo");
    let wall = start.elapsed();
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        std::process::exit(1);
    }
    let usage = children_usage();
    Cost {
        wall,
        cpu: usage.0,
        peak_kib: usage.1,
    }
}

/// CPU time (user + system) and the largest peak resident size, in KiB, of
/// the children this process has waited for.
fn children_usage() -> (Duration, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a zeroed rusage the call writes into.
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()),
            0
        );
        usage.assume_init()
    };
    let time = |tv: libc::timeval| {
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    };
    (
        time(usage.ru_utime) + time(usage.ru_stime),
        usage.ru_maxrss as u64,
    )
}
