//! Relation accessors (rel.h macros) and item pointer helpers.

use crate::pg::compat::{self, TableCounter};
use pgrx::pg_sys;
use std::ffi::CStr;

/// RelationGetRelationName.
pub fn name(rel: pg_sys::Relation) -> String {
    // SAFETY: a valid open relation has rd_rel with a NameData relname.
    unsafe {
        CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

#[inline]
pub fn relid(rel: pg_sys::Relation) -> pg_sys::Oid {
    // SAFETY: valid relation.
    unsafe { (*rel).rd_id }
}

#[inline]
pub fn relfilenode(rel: pg_sys::Relation) -> crate::pg::compat::RelFileLocator {
    crate::pg::compat::rel_locator(rel)
}

#[inline]
pub fn persistence(rel: pg_sys::Relation) -> u8 {
    // SAFETY: valid relation.
    unsafe { (*(*rel).rd_rel).relpersistence as u8 }
}

/// RelationUsesLocalBuffers: temporary tables live in backend-local buffers.
#[inline]
pub fn uses_local_buffers(rel: pg_sys::Relation) -> bool {
    persistence(rel) == pg_sys::RELPERSISTENCE_TEMP
}

/// RelationNeedsWAL: permanent relations, unless wal_level=minimal and the relfilenode
/// was created in this transaction (then it is fsynced at commit instead).
#[inline]
pub fn needs_wal(rel: pg_sys::Relation) -> bool {
    if persistence(rel) != pg_sys::RELPERSISTENCE_PERMANENT {
        return false;
    }
    // SAFETY: reads a GUC variable and relation fields.
    unsafe {
        pg_sys::wal_level >= pg_sys::WalLevel::WAL_LEVEL_REPLICA as i32
            || ((*rel).rd_createSubid == 0 && compat::first_relfilelocator_subid(rel) == 0)
    }
}

/// RelationGetNumberOfBlocks.
#[inline]
pub fn nblocks(rel: pg_sys::Relation) -> pg_sys::BlockNumber {
    // SAFETY: valid relation with storage.
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM) }
}

/// RelationGetTargetBlock.
#[inline]
pub fn target_block(rel: pg_sys::Relation) -> pg_sys::BlockNumber {
    // SAFETY: rd_smgr may be null; then there is no cached target.
    unsafe {
        let smgr = (*rel).rd_smgr;
        if smgr.is_null() {
            pg_sys::InvalidBlockNumber
        } else {
            (*smgr).smgr_targblock
        }
    }
}

/// RelationSetTargetBlock.
#[inline]
pub fn set_target_block(rel: pg_sys::Relation, blk: pg_sys::BlockNumber) {
    // SAFETY: RelationGetSmgr opens the smgr relation if needed.
    unsafe {
        (*pg_sys::RelationGetSmgr(rel)).smgr_targblock = blk;
    }
}

/// RelationGetTargetPageFreeSpace with heap's default fillfactor of 100.
pub fn target_page_free_space(rel: pg_sys::Relation) -> usize {
    // SAFETY: table reloptions are parsed into StdRdOptions for every table AM.
    let ff = unsafe {
        let opts = (*rel).rd_options as *const pg_sys::StdRdOptions;
        if opts.is_null() {
            100
        } else {
            (*opts).fillfactor
        }
    };
    pg_sys::BLCKSZ as usize * (100 - ff.clamp(10, 100) as usize) / 100
}

pub use super::tid::{make_tid, tid_parts};

/// heap's marker TID for "moved to another partition" (MovedPartitionsBlockNumber,
/// MovedPartitionsOffsetNumber).
pub fn moved_partitions_tid() -> pg_sys::ItemPointerData {
    make_tid(pg_sys::InvalidBlockNumber, 0xfffd)
}

/// The relation's pending statistics entry, associating it on first use
/// (pgstat_should_count_relation).
#[inline(always)]
fn pgstat(rel: pg_sys::Relation) -> Option<*mut pg_sys::PgStat_TableStatus> {
    // SAFETY: valid relation.
    unsafe {
        if !(*rel).pgstat_info.is_null() {
            return Some((*rel).pgstat_info);
        }
    }
    pgstat_assoc(rel)
}

/// The first counting of a relation in a statement: associates its stats entry.
#[cold]
fn pgstat_assoc(rel: pg_sys::Relation) -> Option<*mut pg_sys::PgStat_TableStatus> {
    // SAFETY: valid relation; pgstat_assoc_relation sets rd->pgstat_info.
    unsafe {
        if (*rel).pgstat_enabled {
            pg_sys::pgstat_assoc_relation(rel);
            return Some((*rel).pgstat_info).filter(|p| !p.is_null());
        }
        None
    }
}

/// pgstat_count_heap_scan
#[inline]
pub fn count_scan(rel: pg_sys::Relation) {
    if let Some(p) = pgstat(rel) {
        // SAFETY: p is this backend's pending stats entry.
        unsafe { compat::count_table(p, TableCounter::Scans) }
    }
}

/// pgstat_count_heap_getnext
#[inline]
pub fn count_returned(rel: pg_sys::Relation) {
    if let Some(p) = pgstat(rel) {
        // SAFETY: as above.
        unsafe { compat::count_table(p, TableCounter::Returned) }
    }
}

/// pgstat_count_heap_fetch
#[inline]
pub fn count_fetched(rel: pg_sys::Relation) {
    if let Some(p) = pgstat(rel) {
        // SAFETY: as above.
        unsafe { compat::count_table(p, TableCounter::Fetched) }
    }
}

/// The relation's transactional counters for the current (sub)transaction level, when
/// they exist already: ensure_tabstat_xact_level's test, done here so that counting a
/// written row is two loads and an add instead of a guarded call. None sends the caller
/// to PostgreSQL's own function, which decides whether the relation is counted at all
/// and creates the counters (allocating memory, which can fail) when needed.
#[inline(always)]
fn xact_counters(
    rel: pg_sys::Relation,
) -> Option<(
    *mut pg_sys::PgStat_TableStatus,
    *mut pg_sys::PgStat_TableXactStatus,
)> {
    // SAFETY: valid relation; a non-null pgstat_info is this backend's pending entry and
    // its `trans` (if set) the entry's innermost transactional counters.
    unsafe {
        let p = (*rel).pgstat_info;
        if p.is_null() {
            return None;
        }
        let tr = (*p).trans;
        (!tr.is_null() && (*tr).nest_level == super::xact::nest_level()).then_some((p, tr))
    }
}

/// pgstat_count_heap_insert
#[inline]
pub fn count_inserted(rel: pg_sys::Relation, n: i64) {
    match xact_counters(rel) {
        // SAFETY: see xact_counters.
        Some((_, tr)) => unsafe { (*tr).tuples_inserted += n },
        // SAFETY: pgstat call on an open relation.
        None => unsafe { pg_sys::pgstat_count_heap_insert(rel, n) },
    }
}

/// pgstat_count_heap_update. `hot`: the new version joined the old one's same-page
/// chain; `newpage`: it went to another page (PostgreSQL 16 and later count those too).
#[inline]
pub fn count_updated(rel: pg_sys::Relation, hot: bool, newpage: bool) {
    match xact_counters(rel) {
        // SAFETY: see xact_counters. The hot and new-page counts are not transactional,
        // so they are counted on the entry itself, as PostgreSQL does.
        Some((p, tr)) => unsafe {
            (*tr).tuples_updated += 1;
            if hot {
                compat::count_table(p, TableCounter::HotUpdated);
            } else if newpage {
                compat::count_table(p, TableCounter::NewpageUpdated);
            }
        },
        // SAFETY: pgstat call on an open relation.
        None => unsafe { compat::pgstat_count_heap_update(rel, hot, newpage) },
    }
}

/// pgstat_count_heap_delete
#[inline]
pub fn count_deleted(rel: pg_sys::Relation) {
    match xact_counters(rel) {
        // SAFETY: see xact_counters.
        Some((_, tr)) => unsafe { (*tr).tuples_deleted += 1 },
        // SAFETY: pgstat call on an open relation.
        None => unsafe { pg_sys::pgstat_count_heap_delete(rel) },
    }
}

/// The members of a Bitmapset in increasing order (bms_next_member, read in place).
///
/// # Safety
/// `set` is NULL (the empty set) or a valid Bitmapset that is neither freed nor modified
/// while the iterator lives.
pub unsafe fn bms_members(set: *const pg_sys::Bitmapset) -> impl Iterator<Item = i32> {
    // SAFETY: per the contract, `words` has `nwords` entries.
    let words: &[pg_sys::bitmapword] = unsafe {
        if set.is_null() {
            &[]
        } else {
            (*set).words.as_slice((*set).nwords as usize)
        }
    };
    let bits = pg_sys::bitmapword::BITS as i32;
    words.iter().enumerate().flat_map(move |(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let b = rest.trailing_zeros() as i32;
            rest &= rest - 1;
            Some(w as i32 * bits + b)
        })
    })
}
