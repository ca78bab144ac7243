//! glassheap's custom WAL resource manager: what the write path logs (`log`), how redo
//! replays it (`redo`), and the callbacks PostgreSQL calls (`rmgr`).

pub mod log;
pub mod redo;
pub mod rmgr;
