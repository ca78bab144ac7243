//! Storage lifecycle callbacks: creating a relfilenode (with an init fork for UNLOGGED
//! tables), truncation, copying to another tablespace, sizes and planner estimates.

use crate::pg::rel;
use crate::pg::sys_extra;
use glassheap_format::layout::SPECIAL_SIZE;
use glassheap_format::tuple::HEADER_SIZE;
use pgrx::pg_sys;

pub fn set_new_filenode(
    relation: pg_sys::Relation,
    newrnode: *const crate::pg::compat::RelFileLocator,
    persistence: core::ffi::c_char,
    freeze_xid: *mut pg_sys::TransactionId,
    minmulti: *mut pg_sys::MultiXactId,
) {
    // SAFETY: same sequence as heapam_relation_set_new_filenode.
    unsafe {
        *freeze_xid = pg_sys::RecentXmin;
        *minmulti = pg_sys::GetOldestMultiXactId();
        let srel = pg_sys::RelationCreateStorage(*newrnode, persistence, true);
        if persistence as u8 == pg_sys::RELPERSISTENCE_UNLOGGED {
            // The init fork is what crash recovery copies over the main fork: an empty
            // file is an empty glassheap table.
            pg_sys::smgrcreate(srel, pg_sys::ForkNumber::INIT_FORKNUM, false);
            sys_extra::log_smgrcreate(newrnode, pg_sys::ForkNumber::INIT_FORKNUM);
            pg_sys::smgrimmedsync(srel, pg_sys::ForkNumber::INIT_FORKNUM);
        }
        pg_sys::smgrclose(srel);
        let _ = relation;
    }
}

pub fn nontransactional_truncate(relation: pg_sys::Relation) {
    // SAFETY: caller holds AccessExclusiveLock.
    unsafe { pg_sys::RelationTruncate(relation, 0) };
}

/// ALTER TABLE ... SET TABLESPACE: copy every fork file (logged as full pages).
pub fn copy_data(relation: pg_sys::Relation, newrnode: *const crate::pg::compat::RelFileLocator) {
    // SAFETY: heapam_relation_copy_data's sequence; caller holds AccessExclusiveLock.
    unsafe {
        let persistence = rel::persistence(relation) as core::ffi::c_char;
        let dst = pg_sys::smgropen(*newrnode, (*relation).rd_backend);
        pg_sys::FlushRelationBuffers(relation);
        pg_sys::RelationCreateStorage(*newrnode, persistence, true);
        pg_sys::RelationCopyStorage(
            pg_sys::RelationGetSmgr(relation),
            dst,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            persistence,
        );
        for fork in (pg_sys::ForkNumber::MAIN_FORKNUM + 1)..=pg_sys::ForkNumber::INIT_FORKNUM {
            if pg_sys::smgrexists(pg_sys::RelationGetSmgr(relation), fork) {
                pg_sys::smgrcreate(dst, fork, false);
                let p = persistence as u8;
                if p == pg_sys::RELPERSISTENCE_PERMANENT
                    || (p == pg_sys::RELPERSISTENCE_UNLOGGED
                        && fork == pg_sys::ForkNumber::INIT_FORKNUM)
                {
                    sys_extra::log_smgrcreate(newrnode, fork);
                }
                pg_sys::RelationCopyStorage(
                    pg_sys::RelationGetSmgr(relation),
                    dst,
                    fork,
                    persistence,
                );
            }
        }
        pg_sys::RelationDropStorage(relation);
        pg_sys::smgrclose(dst);
    }
}

pub fn relation_size(relation: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> u64 {
    // SAFETY: generic block-based size.
    unsafe { pg_sys::table_block_relation_size(relation, fork) }
}

/// Planner estimates with glassheap's per-tuple overhead: a 16-byte header plus a line
/// pointer, and 8 bytes of special space per page.
pub fn estimate_size(
    relation: pg_sys::Relation,
    attr_widths: *mut i32,
    pages: *mut pg_sys::BlockNumber,
    tuples: *mut f64,
    allvisfrac: *mut f64,
) {
    let overhead = HEADER_SIZE + glassheap_format::layout::ITEM_ID_SIZE;
    let usable = pg_sys::BLCKSZ as usize - glassheap_format::PAGE_HEADER_SIZE - SPECIAL_SIZE;
    // SAFETY: generic estimator over our numbers.
    unsafe {
        pg_sys::table_block_relation_estimate_size(
            relation,
            attr_widths,
            pages,
            tuples,
            allvisfrac,
            overhead,
            usable,
        )
    };
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_nontransactional_truncate(
        rel_: pg_sys::Relation,
    ) {
        super::nontransactional_truncate(rel_)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_size(
        rel_: pg_sys::Relation,
        fork: pg_sys::ForkNumber::Type,
    ) -> pg_sys::uint64 {
        super::relation_size(rel_, fork)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_estimate_size(
        rel_: pg_sys::Relation,
        attr_widths: *mut pg_sys::int32,
        pages: *mut pg_sys::BlockNumber,
        tuples: *mut f64,
        allvisfrac: *mut f64,
    ) {
        super::estimate_size(rel_, attr_widths, pages, tuples, allvisfrac)
    }
}
