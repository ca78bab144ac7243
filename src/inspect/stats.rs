//! glassheap.stats: pgstattuple's numbers for heap and glassheap tables. A tuple counts
//! as live when a dirty snapshot sees it (committed or in-progress inserts not deleted by
//! a committed transaction), as pgstattuple does.

use super::{check_not_other_temp, table_am};
use crate::am::visibility::VisCtx;
use crate::pg::bufmgr::{LockMode, LockedBuffer};
use crate::pg::page::LP_NORMAL;
use glassheap_decode::items::{page_items as decode_items, Am};
use glassheap_format::layout::MAX_TUPLES_PER_PAGE;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

/// What one page holds, as pgstattuple counts it, plus what page_map draws.
#[derive(Default, Clone, Copy)]
pub(super) struct PageCensus {
    pub live: i64,
    pub live_len: i64,
    pub dead: i64,
    pub dead_len: i64,
    /// live versions whose xmin is frozen
    pub frozen: i64,
    /// PageGetHeapFreeSpace
    pub free: i64,
    /// PD_ALL_VISIBLE
    pub all_visible: bool,
    pub is_new: bool,
    /// normal line pointers whose item could not be decoded (page_items gives them a
    /// `problem`): neither live nor dead, not judged at all
    pub undecodable: i64,
}

/// Counts every page of `rel` under a dirty snapshot (pgstattuple's rule), without
/// pruning anything.
pub(super) fn census(rel: &PgRelation) -> Vec<PageCensus> {
    let am = table_am(rel);
    check_not_other_temp(rel);
    let r = rel.as_ptr();
    let mut pages = Vec::new();
    // SAFETY: the relation is open with AccessShareLock; each block is read and examined
    // under a share lock, as pgstattuple does.
    unsafe {
        let mut dirty: pg_sys::SnapshotData = std::mem::zeroed();
        dirty.snapshot_type = pg_sys::SnapshotType::SNAPSHOT_DIRTY;
        let nblocks = crate::pg::rel::nblocks(r);
        let strategy = pg_sys::GetAccessStrategy(pg_sys::BufferAccessStrategyType::BAS_BULKREAD);
        let ctx = (am == Am::Glassheap).then(|| VisCtx::new(r, &mut dirty));
        for blk in 0..nblocks {
            pgrx::check_for_interrupts!();
            let guard = LockedBuffer::read_main(r, blk, LockMode::Share, strategy);
            let buf = guard.buffer();
            let page = guard.page_ref();
            let mut c = PageCensus {
                is_new: page.is_new(),
                all_visible: !page.is_new() && page.is_all_visible(),
                ..Default::default()
            };
            // Decode the line pointers and headers first (the pure decoder page_items
            // uses): an item it cannot decode is counted as such and never judged, and
            // a page whose header does not give a line pointer array is not read further.
            let bytes = std::slice::from_raw_parts(page.0 as *const u8, pg_sys::BLCKSZ as usize);
            let rows = if page.is_new() {
                Vec::new()
            } else {
                match decode_items(bytes, am, blk) {
                    Ok(rows) => rows,
                    Err(_) => {
                        c.undecodable += page.max_offset().min(MAX_TUPLES_PER_PAGE as u16) as i64;
                        Vec::new()
                    }
                }
            };
            for row in &rows {
                let off = row.lp;
                let (flags, o, len) = page.lp(off);
                if flags != LP_NORMAL || len == 0 {
                    continue;
                }
                if row.error.is_some() || o + len > pg_sys::BLCKSZ as usize {
                    c.undecodable += 1;
                    continue;
                }
                let tup = page.item(off);
                let (live, frozen) = match ctx.as_ref() {
                    Some(ctx) => {
                        let live = ctx.check(buf, blk, off, tup);
                        (live, crate::pg::page::read_header(tup).xmin_frozen())
                    }
                    None => {
                        let mut t = pg_sys::HeapTupleData {
                            t_len: len as u32,
                            t_self: crate::pg::rel::make_tid(blk, off),
                            t_tableOid: (*r).rd_id,
                            t_data: tup as pg_sys::HeapTupleHeader,
                        };
                        let live = pg_sys::HeapTupleSatisfiesVisibility(&mut t, &mut dirty, buf);
                        let im = (*(tup as pg_sys::HeapTupleHeader)).t_infomask as u32;
                        let frozen_bits = pg_sys::HEAP_XMIN_COMMITTED | pg_sys::HEAP_XMIN_INVALID;
                        (live, im & frozen_bits == frozen_bits)
                    }
                };
                if live {
                    c.live += 1;
                    c.live_len += len as i64;
                    c.frozen += frozen as i64;
                } else {
                    c.dead += 1;
                    c.dead_len += len as i64;
                }
            }
            c.free = crate::pg::compat::pgstattuple_free_space(page.0) as i64;
            drop(guard);
            pages.push(c);
        }
        pg_sys::FreeAccessStrategy(strategy);
    }
    pages
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn stats(
    rel: PgRelation,
) -> TableIterator<
    'static,
    (
        name!(table_len, i64),
        name!(tuple_count, i64),
        name!(tuple_len, i64),
        name!(tuple_percent, f64),
        name!(dead_tuple_count, i64),
        name!(dead_tuple_len, i64),
        name!(dead_tuple_percent, f64),
        name!(free_space, i64),
        name!(free_percent, f64),
        name!(undecodable_count, i64),
    ),
> {
    let pages = census(&rel);
    let nblocks = pages.len();
    let c = pages.iter().fold(PageCensus::default(), |a, p| PageCensus {
        live: a.live + p.live,
        live_len: a.live_len + p.live_len,
        dead: a.dead + p.dead,
        dead_len: a.dead_len + p.dead_len,
        free: a.free + p.free,
        undecodable: a.undecodable + p.undecodable,
        ..a
    });
    let table_len = nblocks as i64 * pg_sys::BLCKSZ as i64;
    // pgstattuple prints percentages with "%.2f" and reads them back; do the same so
    // the two agree exactly (Rust's {:.2} rounds the exact binary value like printf).
    let pct = |n: i64| {
        let p = if table_len == 0 {
            0.0
        } else {
            100.0 * n as f64 / table_len as f64
        };
        format!("{p:.2}").parse::<f64>().unwrap_or(p)
    };
    TableIterator::once((
        table_len,
        c.live,
        c.live_len,
        pct(c.live_len),
        c.dead,
        c.dead_len,
        pct(c.dead_len),
        c.free,
        pct(c.free),
        c.undecodable,
    ))
}
