//! The console's direction of the protocol, written by hand: reading events, writing commands.
//!
//! The bridge reads commands and writes events with serde, as any Rust server would. The
//! browser console could do the same, but serde's generic code is large once compiled to
//! WebAssembly: measured, decoding events with `serde_json` and the derived `Deserialize`
//! (internally tagged enums buffer every field first) was a third of the console's download.
//! The JSON itself is small and fixed, so the console's half is written out here instead:
//! - [`value`]: a JSON text parsed into a plain tree;
//! - [`read`]: typed fields out of an object, with errors that name the field;
//! - [`write`]: an object written member by member;
//! - [`names`]: the JSON names of the unit enums, shared by both directions;
//! - [`event`]: `Event::from_json`, [`command`]: `ClientMsg::to_json`.
//!
//! Both sides of each direction are tested against each other: every event variant written by
//! serde reads back here, and every command written here reads back with serde (`tests.rs`).
//! The bridge's own tests speak to it through these same functions.

mod addr;
mod base64;
mod command;
mod event;
mod names;
mod read;
mod value;
mod write;

#[cfg(test)]
mod tests;

pub use command::sent_data;
pub use read::DecodeError;
pub use value::SyntaxError;
pub(crate) use write::push_string;
