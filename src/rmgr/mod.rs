//! glassheap's custom WAL resource manager: what the write path logs (`log`), how redo
//! replays it (`redo`), how logical decoding reads it (`decode`), and the callbacks
//! PostgreSQL calls (`rmgr`).

pub mod callbacks;
pub mod decode;
pub mod log;
pub mod redo;
