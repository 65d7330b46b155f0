//! The runtime's layers, read from its own `use` paths: each module imports
//! only modules on layers beneath its own, so no two modules import each
//! other, the pipeline depends on nothing of traced above it, and every
//! process-wide `static` lives in `global_state` (or is one of the few
//! named below, each with its reason). ARCHITECTURE.md explains the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The modules of `runtime/src`, top layer first. A module may import the
/// modules of the layers below its own, none of its own layer or above.
const LAYERS: &[&[&str]] = &[
    &["lib", "testing"],
    &["__private", "integrations"],
    &["init", "current", "messaging", "task", "graceful"],
    &["span_error"],
    &["logs", "signals", "fork"],
    &["export"],
    &["propagation"],
    &["config"],
    &["library_spans"],
    &["dispatch", "suppress"],
    &["global_state"],
    &["pipeline"],
    &["sync"],
];

/// Process-wide statics allowed outside `global_state`, with why.
const STATICS_ELSEWHERE: &[(&str, &str)] = &[
    // The engine cannot look above itself: the clock it reads is a fact of
    // the machine, chosen once, and queue ids tell lanes apart.
    ("pipeline/clock.rs", "SOURCE"),
    ("pipeline/clock.rs", "ORIGIN"),
    ("pipeline/queue.rs", "NEXT_QUEUE_ID"),
    // Which process the engine runs in: moved in a forked child, where the
    // parent's pipelines have no export thread.
    ("pipeline/process.rs", "FORKS"),
    // Constants built on first use, never changed.
    ("propagation/jaeger.rs", "HEADER_FIELDS"),
    ("logs/route.rs", "RECORDS"),
];

fn runtime_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src")
}

/// Every `.rs` file under `dir`, tests left out.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading runtime/src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`pipeline` for
/// `pipeline/queue.rs`, `__private` for `private/span.rs`).
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .expect("a file under src")
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned();
    if first == "private" {
        "__private".to_owned()
    } else {
        first
    }
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer in LAYERS: add it"))
}

/// The top-level modules a file names through `crate::..`, outside tests.
#[derive(Default)]
struct CrateRefs {
    modules: BTreeSet<String>,
    statics: Vec<String>,
    depth_in_test: usize,
}

impl CrateRefs {
    fn note_path<'a>(&mut self, mut segments: impl Iterator<Item = &'a syn::Ident>) {
        if self.depth_in_test > 0 {
            return;
        }
        if segments.next().is_some_and(|first| first == "crate")
            && let Some(module) = segments.next()
        {
            self.modules.insert(module.to_string());
        }
    }

    fn note_use_tree(&mut self, tree: &syn::UseTree, root: bool) {
        match tree {
            syn::UseTree::Path(path) if root && path.ident == "crate" => {
                self.note_use_tree(&path.tree, false);
            }
            syn::UseTree::Path(path) if !root => {
                self.modules.insert(path.ident.to_string());
            }
            syn::UseTree::Name(name) if !root => {
                self.modules.insert(name.ident.to_string());
            }
            syn::UseTree::Rename(rename) if !root => {
                self.modules.insert(rename.ident.to_string());
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.note_use_tree(tree, root);
                }
            }
            _ => {}
        }
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

impl<'ast> Visit<'ast> for CrateRefs {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let test = is_test_only(&item.attrs);
        self.depth_in_test += usize::from(test);
        syn::visit::visit_item_mod(self, item);
        self.depth_in_test -= usize::from(test);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        let test = is_test_only(&item.attrs);
        self.depth_in_test += usize::from(test);
        syn::visit::visit_item_fn(self, item);
        self.depth_in_test -= usize::from(test);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if self.depth_in_test == 0 && !is_test_only(&item.attrs) {
            self.note_use_tree(&item.tree, true);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.note_path(path.segments.iter().map(|segment| &segment.ident));
        syn::visit::visit_path(self, path);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        if self.depth_in_test == 0 && holds_state(&item.ty) {
            self.statics.push(item.ident.to_string());
        }
        syn::visit::visit_item_static(self, item);
    }
}

/// Whether a static of this type can change after it is made (a lock, an
/// atomic, a cell, something made on first use): process-wide state. A
/// static of any other type is a constant table.
fn holds_state(ty: &syn::Type) -> bool {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    [
        "Mutex", "RwLock", "Atomic", "Once", "Lazy", "Cell", "Condvar",
    ]
    .iter()
    .any(|word| text.contains(word))
}

struct Module {
    imports: BTreeMap<String, BTreeSet<String>>,
    statics: Vec<(String, String)>,
}

fn read_runtime() -> Module {
    let src = runtime_src();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut statics = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src").to_path_buf();
        let text = std::fs::read_to_string(&file).expect("reading a source file");
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", relative.display()));
        let mut refs = CrateRefs::default();
        refs.visit_file(&parsed);
        let module = module_of(&relative);
        let relative_name = relative.to_string_lossy().replace('\\', "/");
        statics.extend(
            refs.statics
                .into_iter()
                .map(|name| (relative_name.clone(), name)),
        );
        imports
            .entry(module.clone())
            .or_default()
            .extend(refs.modules.into_iter().filter(|named| *named != module));
    }
    Module { imports, statics }
}

/// Names `crate::..` may give that are items of the crate root, not modules.
fn is_root_item(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
        || [
            "init",
            "flush",
            "shutdown_signal",
            "spawn",
            "spawn_blocking",
            "spawn_thread",
            "bind",
            "traced",
            "traced_impl",
            "untraced",
            "suppressed",
            "is_suppressed",
            "opentelemetry",
            "opentelemetry_sdk",
        ]
        .contains(&name)
}

#[test]
fn every_module_imports_only_the_layers_beneath_it() {
    let runtime = read_runtime();
    let mut broken = Vec::new();
    for (module, imported) in &runtime.imports {
        let layer = layer_of(module);
        for named in imported {
            // `crate::init` from a module beneath it is the function
            // `traced::init`, re-exported at the root; a real import of the
            // module would name something inside it.
            if is_root_item(named) && !runtime.imports.contains_key(named) {
                continue;
            }
            if !runtime.imports.contains_key(named) {
                continue;
            }
            if layer_of(named) <= layer {
                broken.push(format!("{module} imports {named}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports that point up or sideways (see LAYERS and ARCHITECTURE.md):\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_pipeline_imports_nothing_above_it() {
    let runtime = read_runtime();
    let imported = &runtime.imports["pipeline"];
    let above: Vec<_> = imported.iter().filter(|named| *named != "sync").collect();
    assert!(above.is_empty(), "pipeline imports {above:?}");
}

#[test]
fn process_wide_state_lives_in_global_state() {
    let runtime = read_runtime();
    let elsewhere: Vec<_> = runtime
        .statics
        .iter()
        .filter(|(file, name)| {
            file != "global_state.rs"
                && file != "testing.rs"
                && !STATICS_ELSEWHERE
                    .iter()
                    .any(|(allowed_file, allowed)| file == allowed_file && name == allowed)
        })
        .collect();
    assert!(
        elsewhere.is_empty(),
        "process-wide statics outside global_state.rs: {elsewhere:?}"
    );
}
