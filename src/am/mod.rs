//! The table access method: PostgreSQL's TableAmRoutine callbacks over glassheap's own
//! page and tuple format. One concern per file, like PostgreSQL's heap:
//!
//! - `handler`   the routine table (heapam_handler.c)
//! - `scan`      sequential, TID-range, bitmap and ANALYZE scans (heapam.c scans)
//! - `fetch`     single-tuple fetches, index fetches (heapam.c/heapam_handler.c)
//! - `modify`    insert, multi-insert, delete, update, speculative insertion (heapam.c)
//! - `lock`      row locks and EvalPlanQual's latest-version locking (heapam.c)
//! - `multixact` row-lock strengths and MultiXacts (heapam.c static helpers)
//! - `visibility` the transaction-state oracle and hint bits (heapam_visibility.c)
//! - `hio`       finding a page with room (hio.c)
//! - `hot`       same-page update chains: walking them from an index entry, roots
//! - `prune`     removing dead versions from one page (pruneheap.c)
//! - `replident` what logical decoding needs logged: the old row's replica identity
//! - `vm`        the visibility map: set by VACUUM, cleared by every write
//! - `vacuum`    VACUUM: pruning, freezing, index cleanup, truncation (vacuumlazy.c)
//! - `cluster`   CLUSTER and VACUUM FULL: copying into a new relfilenode (rewriteheap.c)
//! - `index`     index builds and index-entry deletion
//! - `ddl`       storage creation/truncation/copy and size estimates
//! - `slot`      glassheap's tuple table slot; `tuple` forms tuples
//! - `toast`     compressing and moving large values out of line (heaptoast.c)
//! - `cidmap`, `combocid` command ids

pub mod cidmap;
pub mod cluster;
pub mod combocid;
pub mod ddl;
pub mod fetch;
pub mod handler;
pub mod hio;
pub mod hot;
pub mod index;
pub mod lock;
pub mod modify;
pub mod multixact;
pub mod prune;
pub mod replident;
pub mod scan;
pub mod slot;
pub mod toast;
pub mod tuple;
pub mod vacuum;
pub mod visibility;
pub mod vm;
