//! The only surface generated code touches. Not public API: names and
//! signatures here change with the macros, which are pinned to this version.

mod attr;
mod foreign;
mod future;
mod outcome;
mod recorder;
mod scope;
mod span;
mod start;
mod status_code;
mod status_error;

pub use crate::pipeline::{
    AttrValue, Attributes, CallSite, Kind, LinkTarget, Links, Parent, SiteAttribute, StaticValue,
};
pub use attr::{AttrProbe, DisplayOrDebug, NativeValue};
pub use future::Instrumented;
pub use outcome::{ErrorRef, OutcomeProbe, RetProbe};
pub use recorder::Recorder;
pub use scope::Scope;
pub use span::{Entered, Span};
pub use start::Start;

/// Traits whose methods generated code calls by autoref-based dispatch; the
/// expansion imports them with `use .. as _` right where it needs them.
pub mod probe {
    pub use super::attr::{
        ViaDebug, ViaDisplay, ViaNative, ViaNeither, ViaNeitherBehindRef, ViaOptionDebug,
        ViaOptionDisplay,
    };
    pub use super::outcome::{
        AnyOutput, ViaAnyResult, ViaDebugError, ViaDisplayError, ViaOkValue, ViaOutput,
    };
    pub use super::status_error::{ViaStatus, ViaStatusAndJson, ViaStatusAndMessage};
}
