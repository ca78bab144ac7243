//! glassheap.stats: pgstattuple's numbers for heap and glassheap tables. A tuple counts
//! as live when a dirty snapshot sees it (committed or in-progress inserts not deleted by
//! a committed transaction), as pgstattuple does.

use super::{check_not_other_temp, table_am};
use crate::am::visibility::VisCtx;
use crate::pg::page::{PageRef, LP_NORMAL};
use glassheap_format::items::Am;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

#[derive(Default)]
struct Counts {
    tuple_count: i64,
    tuple_len: i64,
    dead_count: i64,
    dead_len: i64,
    free: i64,
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
    ),
> {
    let am = table_am(&rel);
    check_not_other_temp(&rel);
    let r = rel.as_ptr();
    let mut c = Counts::default();
    // SAFETY: the relation is open with AccessShareLock; each block is read and examined
    // under a share lock, as pgstattuple does.
    let nblocks = unsafe {
        let mut dirty: pg_sys::SnapshotData = std::mem::zeroed();
        dirty.snapshot_type = pg_sys::SnapshotType::SNAPSHOT_DIRTY;
        let nblocks = crate::pg::rel::nblocks(r);
        let strategy = pg_sys::GetAccessStrategy(pg_sys::BufferAccessStrategyType::BAS_BULKREAD);
        let mut ctx = (am == Am::Glassheap).then(|| VisCtx::new(r, &mut dirty));
        for blk in 0..nblocks {
            pgrx::check_for_interrupts!();
            let buf = pg_sys::ReadBufferExtended(
                r,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                blk,
                pg_sys::ReadBufferMode::RBM_NORMAL,
                strategy,
            );
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let page = PageRef::of_buffer(buf);
            if let Some(ctx) = ctx.as_mut() {
                ctx.refresh_ssi();
            }
            for off in 1..=page.max_offset() {
                let (flags, o, len) = page.lp(off);
                if flags != LP_NORMAL || o + len > pg_sys::BLCKSZ as usize {
                    continue;
                }
                let tup = page.item(off);
                let live = match ctx.as_ref() {
                    Some(ctx) => ctx.check(buf, blk, off, tup),
                    None => {
                        let mut t = pg_sys::HeapTupleData {
                            t_len: len as u32,
                            t_self: crate::pg::rel::make_tid(blk, off),
                            t_tableOid: (*r).rd_id,
                            t_data: tup as pg_sys::HeapTupleHeader,
                        };
                        pg_sys::HeapTupleSatisfiesVisibility(&mut t, &mut dirty, buf)
                    }
                };
                if live {
                    c.tuple_count += 1;
                    c.tuple_len += len as i64;
                } else {
                    c.dead_count += 1;
                    c.dead_len += len as i64;
                }
            }
            c.free += pg_sys::PageGetHeapFreeSpace(page.0) as i64;
            pg_sys::UnlockReleaseBuffer(buf);
        }
        pg_sys::FreeAccessStrategy(strategy);
        nblocks
    };
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
        c.tuple_count,
        c.tuple_len,
        pct(c.tuple_len),
        c.dead_count,
        c.dead_len,
        pct(c.dead_len),
        c.free,
        pct(c.free),
    ))
}
