//! Command ids that do not fit in the tuple.
//!
//! A glassheap tuple keeps its command id (cmin, cmax or a combo id) in the 4-byte `aux`
//! word -- except while that word holds the block number of a newer version on another
//! page, or a speculative-insertion token. Command ids only matter to the transaction
//! that wrote them, so for those tuples this backend remembers the id here until its
//! top-level transaction ends. Entries are runs of consecutive offsets with the same id,
//! so an UPDATE of a whole table costs about one entry per page, not one per row.
//!
//! Parallel workers do not see this map. The planner hook in `crate::planner` keeps
//! relations with entries out of parallel plans; a worker that still meets such a tuple
//! raises an error instead of guessing.

use glassheap_format::cidruns::CidRuns;
use pgrx::pg_sys;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct BlockKey {
    spc: u32,
    db: u32,
    rel: u32,
    blk: u32,
}

/// Keyed by block; FxHash because an UPDATE of a whole table looks a block up for every
/// row (the keys come from this backend's own writes, so no hash flooding to resist).
#[derive(Default)]
struct CidMap {
    blocks: FxHashMap<BlockKey, CidRuns>,
    relids: FxHashSet<u32>,
}

thread_local! {
    static MAP: RefCell<CidMap> = RefCell::new(CidMap::default());
}

fn key(rnode: &crate::pg::compat::RelFileLocator, blk: u32) -> BlockKey {
    let (spc, db, rel) = crate::pg::compat::locator_oids(rnode);
    BlockKey {
        spc: spc.into(),
        db: db.into(),
        rel: rel.into(),
        blk,
    }
}

/// Remembers the raw command id (what `aux` would hold) of a tuple.
pub fn remember(
    relid: pg_sys::Oid,
    rnode: &crate::pg::compat::RelFileLocator,
    blk: u32,
    off: u16,
    raw_cid: u32,
) {
    MAP.with(|m| {
        let mut m = m.borrow_mut();
        m.relids.insert(relid.into());
        m.blocks
            .entry(key(rnode, blk))
            .or_default()
            .set(off, raw_cid);
    })
}

pub fn lookup(rnode: &crate::pg::compat::RelFileLocator, blk: u32, off: u16) -> Option<u32> {
    MAP.with(|m| {
        let m = m.borrow();
        if m.blocks.is_empty() {
            return None;
        }
        m.blocks
            .get(&key(rnode, blk))
            .and_then(|runs| runs.get(off))
    })
}

/// Does this transaction keep command ids for rows of `relid`? (planner hook)
pub fn has_relation(relid: pg_sys::Oid) -> bool {
    MAP.with(|m| {
        let m = m.borrow();
        !m.relids.is_empty() && m.relids.contains(&relid.into())
    })
}

pub fn is_empty() -> bool {
    MAP.with(|m| m.borrow().blocks.is_empty())
}

/// Forgets everything: called when the top-level transaction ends.
pub fn reset() {
    MAP.with(|m| {
        let mut m = m.borrow_mut();
        if !m.blocks.is_empty() || !m.relids.is_empty() {
            *m = CidMap::default();
        }
    })
}
