//! glassheap.verify: what amcheck's verify_heapam does for heap, for glassheap tables,
//! with verify_heapam's columns (blkno, offnum, attnum, msg).
//! Each block is copied under a share lock and checked by the pure verifier.

use super::rawpage::read_block;
use super::{check_not_other_temp, require_glassheap};
use glassheap_decode::verify::{verify_page, VerifyContext};
use glassheap_format::attrs::AttrDesc;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

#[pg_extern]
fn verify(
    rel: PgRelation,
) -> TableIterator<
    'static,
    (
        name!(blkno, i64),
        name!(offnum, Option<i32>),
        name!(attnum, Option<i32>),
        name!(msg, String),
    ),
> {
    require_glassheap(&rel, "glassheap.verify");
    check_not_other_temp(&rel);
    let r = rel.as_ptr();
    let descs: Vec<AttrDesc> = rel
        .tuple_desc()
        .iter()
        .map(crate::pg::compat::attr_desc)
        .collect();
    // SAFETY: reads of the relation's pg_class fields.
    let (relfrozenxid, relminmxid) = unsafe {
        (
            (*(*r).rd_rel).relfrozenxid.into_inner(),
            (*(*r).rd_rel).relminmxid.into_inner(),
        )
    };
    let nblocks = crate::pg::rel::nblocks(r);
    let mut rows = Vec::new();
    for blk in 0..nblocks {
        pgrx::check_for_interrupts!();
        let page = read_block(&rel, blk as i64, "main");
        // The limits are read after the page was copied: every xid, multixact and block
        // the copy names existed by then, so concurrent writers cannot make a healthy
        // page look damaged (amcheck re-reads its limits for the same reason).
        // SAFETY: reads of the transaction counters and the relation's size.
        let (next_xid, next_multi, now_blocks) = unsafe {
            (
                pg_sys::ReadNextFullTransactionId().value as u32,
                pg_sys::ReadNextMultiXactId().into_inner(),
                crate::pg::rel::nblocks(r),
            )
        };
        let ctx = VerifyContext {
            blkno: blk,
            nblocks: now_blocks,
            descs: descs.clone(),
            next_xid,
            relfrozenxid,
            next_multi,
            relminmxid,
        };
        for p in verify_page(&page, &ctx) {
            rows.push((
                blk as i64,
                p.offnum.map(|o| o as i32),
                p.attnum.map(|a| a as i32),
                p.problem,
            ));
        }
    }
    TableIterator::new(rows)
}
