//! The thin layer over PostgreSQL: declarations pgrx does not bind, Rust equivalents of
//! C macros (page, relation and WAL-record accessors), and critical sections. Everything
//! that dereferences a PostgreSQL pointer outside the access-method callbacks lives here.

pub mod bufmgr;
pub mod compat;
pub mod crit;
pub mod error;
pub mod fault;
pub mod mem;
pub mod page;
pub mod rel;
pub mod reorder;
pub mod ssi;
pub mod sys_extra;
pub mod tid;
pub mod xact;
pub mod xlog;
