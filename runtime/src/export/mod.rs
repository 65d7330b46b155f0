//! Exporters: where finished spans go.

mod console;
mod waterfall;

pub(crate) use console::ConsoleExporter;
