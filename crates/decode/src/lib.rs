//! glassheap-decode: what the inspection toolkit needs beyond glassheap's own formats --
//! decoders of PostgreSQL's heap pages and of its heap, btree, xact and xlog WAL records
//! (each PostgreSQL version's format), glassheap's records as JSON, names of flags, page
//! and row histories rebuilt from WAL, verification reports, durability verdicts and the
//! HTML page view. Pure Rust like glassheap-format, on which it builds; the server-side
//! code that reads pages and WAL for it lives in src/inspect.

#![forbid(unsafe_code)]

pub mod chains;
pub mod durability;
pub mod heap;
pub mod heapreplay;
pub mod history;
pub mod html;
pub mod items;
pub mod snapshot;
pub mod verify;
pub mod waldecode;
pub mod xlogrecord;
