//! Sequential scans (heapam.c's heap_beginscan/heapgettup_pagemode family).
//!
//! With an MVCC snapshot a page is examined once under a share lock: the offsets of the
//! visible tuples are collected (setting hint bits on the way) and then returned one by
//! one with only the pin held -- the tuples cannot move or change visibility for that
//! snapshot meanwhile. Other snapshot kinds test each tuple when it is returned, because
//! their answers (and dirty-snapshot outputs) are per moment, as heap does.

use super::slot;
use super::visibility::{is_mvcc, VisCtx};
use crate::pg::bufmgr::BufferLock;
use crate::pg::page::{check_page, read_header, PageRef, LP_NORMAL};
use crate::pg::rel;
use crate::pg::sys_extra;
use glassheap_format::layout::MAX_TUPLES_PER_PAGE;
use glassheap_format::visibility::{self as vis, SnapshotKind};
use pgrx::pg_sys;
use pgrx::prelude::*;

const INVALID_BUFFER: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;
const PAGEMODE: u32 = pg_sys::ScanOptions::SO_ALLOW_PAGEMODE;

#[repr(C)]
pub struct GlassScan {
    pub base: pg_sys::TableScanDescData,
    pub nblocks: pg_sys::BlockNumber,
    startblock: pg_sys::BlockNumber,
    numblocks: pg_sys::BlockNumber,
    inited: bool,
    cblock: pg_sys::BlockNumber,
    cbuf: pg_sys::Buffer,
    strategy: pg_sys::BufferAccessStrategy,
    /// Page mode: visible offsets of the current page and the position among them.
    ntuples: i32,
    cindex: i32,
    vistuples: [u16; MAX_TUPLES_PER_PAGE],
    /// Tuple mode: current offset on the current page.
    coff: u16,
    pworker: *mut pg_sys::ParallelBlockTableScanWorkerData,
    vis: VisCtx,
}

#[inline]
fn flags(scan: &GlassScan) -> u32 {
    scan.base.rs_flags
}

/// initscan: (re)compute the block range and strategy; forget the position.
unsafe fn initscan(scan: &mut GlassScan, key: pg_sys::ScanKey) {
    // SAFETY: scan is ours; relation open.
    unsafe {
        let relation = scan.base.rs_rd;
        scan.nblocks = if !scan.base.rs_parallel.is_null() {
            (*(scan.base.rs_parallel as pg_sys::ParallelBlockTableScanDesc)).phs_nblocks
        } else {
            rel::nblocks(relation)
        };
        let allow_strat = !rel::uses_local_buffers(relation)
            && scan.nblocks > (pg_sys::NBuffers / 4) as u32
            && flags(scan) & pg_sys::ScanOptions::SO_ALLOW_STRAT != 0;
        if allow_strat {
            if scan.strategy.is_null() {
                scan.strategy =
                    pg_sys::GetAccessStrategy(pg_sys::BufferAccessStrategyType::BAS_BULKREAD);
            }
        } else if !scan.strategy.is_null() {
            pg_sys::FreeAccessStrategy(scan.strategy);
            scan.strategy = std::ptr::null_mut();
        }
        // glassheap does not take part in synchronized scans: every scan starts at 0.
        scan.base.rs_flags &= !pg_sys::ScanOptions::SO_ALLOW_SYNC;
        scan.startblock = 0;
        scan.numblocks = pg_sys::InvalidBlockNumber;
        scan.inited = false;
        scan.cbuf = INVALID_BUFFER;
        scan.cblock = pg_sys::InvalidBlockNumber;
        // No page's tuples are pending (PostgreSQL 18's bitmap scans ask for a tuple
        // before any page, also after a rescan).
        scan.ntuples = 0;
        scan.cindex = 0;
        if !key.is_null() && scan.base.rs_nkeys > 0 {
            std::ptr::copy_nonoverlapping(key, scan.base.rs_key, scan.base.rs_nkeys as usize);
        }
        if flags(scan) & pg_sys::ScanOptions::SO_TYPE_SEQSCAN != 0 {
            rel::count_scan(relation);
        }
    }
}

pub fn scan_begin(
    relation: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    nkeys: i32,
    key: pg_sys::ScanKey,
    pscan: pg_sys::ParallelTableScanDesc,
    flags: u32,
) -> pg_sys::TableScanDesc {
    // SAFETY: relcache refcount and palloc'd scan state, as heap_beginscan.
    unsafe {
        pg_sys::RelationIncrementReferenceCount(relation);
        let scan = crate::pg::mem::palloc0(std::mem::size_of::<GlassScan>()) as *mut GlassScan;
        let s = &mut *scan;
        s.base.rs_rd = relation;
        s.base.rs_snapshot = snapshot;
        s.base.rs_nkeys = nkeys;
        s.base.rs_flags = flags;
        s.base.rs_parallel = pscan;
        s.strategy = std::ptr::null_mut();
        s.pworker = if pscan.is_null() {
            std::ptr::null_mut()
        } else {
            crate::pg::mem::palloc0(std::mem::size_of::<pg_sys::ParallelBlockTableScanWorkerData>())
                as *mut _
        };
        if !is_mvcc(snapshot) {
            s.base.rs_flags &= !PAGEMODE;
        }
        if flags & (pg_sys::ScanOptions::SO_TYPE_SEQSCAN | pg_sys::ScanOptions::SO_TYPE_SAMPLESCAN)
            != 0
        {
            sys_extra::PredicateLockRelation(relation, snapshot);
        }
        s.base.rs_key = if nkeys > 0 {
            crate::pg::mem::palloc(std::mem::size_of::<pg_sys::ScanKeyData>() * nkeys as usize)
                as pg_sys::ScanKey
        } else {
            std::ptr::null_mut()
        };
        std::ptr::write(
            std::ptr::addr_of_mut!(s.vis),
            VisCtx::new(
                relation,
                if snapshot.is_null() {
                    &raw mut pg_sys::SnapshotAnyData
                } else {
                    snapshot
                },
            ),
        );
        initscan(s, key);
        scan as pg_sys::TableScanDesc
    }
}

pub fn scan_rescan(
    sscan: pg_sys::TableScanDesc,
    key: pg_sys::ScanKey,
    set_params: bool,
    allow_strat: bool,
    allow_sync: bool,
    allow_pagemode: bool,
) {
    // SAFETY: our scan.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        if set_params {
            let set = |f: &mut u32, bit: u32, on: bool| if on { *f |= bit } else { *f &= !bit };
            set(
                &mut s.base.rs_flags,
                pg_sys::ScanOptions::SO_ALLOW_STRAT,
                allow_strat,
            );
            set(
                &mut s.base.rs_flags,
                pg_sys::ScanOptions::SO_ALLOW_SYNC,
                allow_sync,
            );
            set(
                &mut s.base.rs_flags,
                PAGEMODE,
                allow_pagemode && is_mvcc(s.base.rs_snapshot),
            );
        }
        if s.cbuf != INVALID_BUFFER {
            crate::pg::bufmgr::release(s.cbuf);
        }
        initscan(s, key);
    }
}

pub fn scan_end(sscan: pg_sys::TableScanDesc) {
    // SAFETY: our scan, freed here.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        if s.cbuf != INVALID_BUFFER {
            crate::pg::bufmgr::release(s.cbuf);
        }
        pg_sys::RelationDecrementReferenceCount(s.base.rs_rd);
        if !s.base.rs_key.is_null() {
            pg_sys::pfree(s.base.rs_key as *mut core::ffi::c_void);
        }
        if !s.strategy.is_null() {
            pg_sys::FreeAccessStrategy(s.strategy);
        }
        if !s.pworker.is_null() {
            pg_sys::pfree(s.pworker as *mut core::ffi::c_void);
        }
        if s.base.rs_flags & pg_sys::ScanOptions::SO_TEMP_SNAPSHOT != 0 {
            pg_sys::UnregisterSnapshot(s.base.rs_snapshot);
        }
        pg_sys::pfree(sscan as *mut core::ffi::c_void);
    }
}

/// heapgetpage: pin the block and, in page mode, collect the visible offsets.
unsafe fn load_page(s: &mut GlassScan, blk: pg_sys::BlockNumber) {
    // SAFETY: our scan; bufmgr calls on its relation.
    unsafe {
        if s.cbuf != INVALID_BUFFER {
            crate::pg::bufmgr::release(s.cbuf);
            s.cbuf = INVALID_BUFFER;
        }
        pgrx::check_for_interrupts!();
        s.cbuf = pg_sys::ReadBufferExtended(
            s.base.rs_rd,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            blk,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            s.strategy,
        );
        // Make room on a nearly full page whose deleters are old enough (never waits).
        super::prune::prune_opt(s.base.rs_rd, s.cbuf);
        s.cblock = blk;
        s.ntuples = 0;
        s.coff = 0;
        if flags(s) & PAGEMODE == 0 {
            return;
        }
        let buffer = s.cbuf;
        let lock = BufferLock::share(buffer);
        let page = lock.page_ref();
        check_page(s.base.rs_rd, page, blk);
        s.vis.refresh_ssi();
        let all_visible = page.is_all_visible() && !(*s.base.rs_snapshot).takenDuringRecovery;
        // Hinted, old versions -- undeleted, or deleted by a transaction that finished
        // before the snapshot -- are decided from their header alone (no transaction
        // lookups, no hint to set) unless SSI must see every read.
        let fast_xmin = (matches!(s.vis.kind, SnapshotKind::Mvcc { .. }) && !s.vis.ssi)
            .then(|| (*s.base.rs_snapshot).xmin.into_inner());
        let mut n = 0;
        for off in 1..=page.max_offset() {
            let (flags, o, len) = page.lp(off);
            if flags != LP_NORMAL
                || len < glassheap_format::tuple::HEADER_SIZE
                || o + len > glassheap_format::layout::SPECIAL_OFFSET
            {
                continue;
            }
            let tup = page.item(off);
            let header_says = |x| {
                let h = read_header(tup);
                if vis::mvcc_surely_visible(&h, x) {
                    Some(true)
                } else if vis::mvcc_surely_invisible(&h, x) {
                    Some(false)
                } else {
                    None
                }
            };
            let visible = all_visible
                || fast_xmin
                    .and_then(header_says)
                    .unwrap_or_else(|| s.vis.check(buffer, blk, off, tup));
            if visible {
                s.vistuples[n] = off;
                n += 1;
            }
        }
        s.ntuples = n as i32;
        lock.unlock();
    }
}

/// The first block to read, or None for an empty scan.
unsafe fn first_block(s: &mut GlassScan, backward: bool) -> Option<pg_sys::BlockNumber> {
    // SAFETY: our scan.
    unsafe {
        if !s.base.rs_parallel.is_null() {
            let pb = s.base.rs_parallel as pg_sys::ParallelBlockTableScanDesc;
            pg_sys::table_block_parallelscan_startblock_init(s.base.rs_rd, s.pworker, pb);
            let b = pg_sys::table_block_parallelscan_nextpage(s.base.rs_rd, s.pworker, pb);
            return (b != pg_sys::InvalidBlockNumber).then_some(b);
        }
        if s.nblocks == 0 || s.numblocks == 0 {
            return None;
        }
        Some(if backward {
            if s.numblocks != pg_sys::InvalidBlockNumber {
                (s.startblock + s.numblocks - 1) % s.nblocks
            } else if s.startblock > 0 {
                s.startblock - 1
            } else {
                s.nblocks - 1
            }
        } else {
            s.startblock
        })
    }
}

/// The next block in scan order after the current one, or None at the end.
unsafe fn next_block(s: &mut GlassScan, backward: bool) -> Option<pg_sys::BlockNumber> {
    let page = s.cblock;
    if backward {
        let finished = page == s.startblock
            || (s.numblocks != pg_sys::InvalidBlockNumber && {
                s.numblocks -= 1;
                s.numblocks == 0
            });
        if finished {
            return None;
        }
        return Some(if page == 0 { s.nblocks - 1 } else { page - 1 });
    }
    if !s.base.rs_parallel.is_null() {
        // SAFETY: parallel scan state set up by first_block.
        let b = unsafe {
            pg_sys::table_block_parallelscan_nextpage(
                s.base.rs_rd,
                s.pworker,
                s.base.rs_parallel as pg_sys::ParallelBlockTableScanDesc,
            )
        };
        return (b != pg_sys::InvalidBlockNumber).then_some(b);
    }
    let mut next = page + 1;
    if next >= s.nblocks {
        next = 0;
    }
    let finished = next == s.startblock
        || (s.numblocks != pg_sys::InvalidBlockNumber && {
            s.numblocks -= 1;
            s.numblocks == 0
        });
    (!finished).then_some(next)
}

unsafe fn end_of_scan(s: &mut GlassScan) {
    // SAFETY: our scan.
    unsafe {
        if s.cbuf != INVALID_BUFFER {
            crate::pg::bufmgr::release(s.cbuf);
        }
    }
    s.cbuf = INVALID_BUFFER;
    s.cblock = pg_sys::InvalidBlockNumber;
    s.inited = false;
}

/// Advances to the next visible tuple; returns (offset, tuple pointer, length).
unsafe fn next_tuple(s: &mut GlassScan, backward: bool) -> Option<(u16, *mut u8, usize)> {
    // SAFETY: our scan; the current buffer stays pinned while we return its tuples.
    unsafe {
        let pagemode = flags(s) & PAGEMODE != 0;
        let mut need_page = !s.inited;
        if need_page {
            let b = first_block(s, backward)?;
            load_page(s, b);
            s.inited = true;
            s.cindex = if backward { s.ntuples } else { -1 };
            s.coff = if backward { u16::MAX } else { 0 };
            need_page = false;
        }
        let _ = need_page;
        loop {
            if pagemode {
                s.cindex += if backward { -1 } else { 1 };
                if s.cindex >= 0 && s.cindex < s.ntuples {
                    let off = s.vistuples[s.cindex as usize];
                    let page = PageRef::of_buffer(s.cbuf);
                    let (_, o, len) = page.lp(off);
                    return Some((off, (page.0 as *mut u8).add(o), len));
                }
            } else {
                // Tuple mode: test visibility as each tuple is returned.
                let buffer = s.cbuf;
                let lock = BufferLock::share(buffer);
                let page = lock.page_ref();
                check_page(s.base.rs_rd, page, s.cblock);
                s.vis.refresh_ssi();
                let max = page.max_offset();
                let mut found = None;
                loop {
                    let next = if backward {
                        if s.coff == u16::MAX {
                            max
                        } else {
                            s.coff.saturating_sub(1)
                        }
                    } else {
                        s.coff + 1
                    };
                    if next == 0 || next > max {
                        break;
                    }
                    s.coff = next;
                    if let Some((tup, len)) = page.tuple_ptr(next) {
                        if s.vis.check(buffer, s.cblock, next, tup) {
                            found = Some((next, tup, len));
                            break;
                        }
                    }
                }
                lock.unlock();
                if found.is_some() {
                    return found;
                }
            }
            match next_block(s, backward) {
                Some(b) => {
                    load_page(s, b);
                    s.cindex = if backward { s.ntuples } else { -1 };
                    s.coff = if backward { u16::MAX } else { 0 };
                }
                None => {
                    end_of_scan(s);
                    return None;
                }
            }
        }
    }
}

/// HeapKeyTest: the scan keys a caller passed (catalog-style scans).
unsafe fn keys_match(s: &GlassScan, slot: *mut pg_sys::TupleTableSlot) -> bool {
    // SAFETY: rs_key has rs_nkeys entries; slot holds the candidate tuple.
    unsafe {
        for i in 0..s.base.rs_nkeys as usize {
            let k = &mut *s.base.rs_key.add(i);
            if k.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
                return false;
            }
            let mut isnull = false;
            let v = pg_sys::slot_getattr(slot, k.sk_attno as i32, &mut isnull);
            if isnull {
                return false;
            }
            let r = pg_sys::FunctionCall2Coll(&mut k.sk_func, k.sk_collation, v, k.sk_argument);
            if r.value() == 0 {
                return false;
            }
        }
        true
    }
}

/// Stores the tuple at `off` of the scan's current page (one of `vistuples`, decided
/// visible when the page was loaded) in `slot`, pinning the page for it.
///
/// # Safety
/// `s.cbuf` is pinned and `off` is a normal line pointer on it.
#[inline]
unsafe fn store_listed(s: &GlassScan, slot: *mut pg_sys::TupleTableSlot, off: u16) {
    // SAFETY: per the contract; the line pointer's bounds were checked by load_page.
    unsafe {
        let page = PageRef::of_buffer(s.cbuf);
        let (_, o, len) = page.lp(off);
        slot::store_buffer_tuple(
            slot,
            (page.0 as *mut u8).add(o),
            len,
            s.cbuf,
            rel::make_tid(s.cblock, off),
            rel::relid(s.base.rs_rd),
        );
    }
}

/// table_scan_getnextslot. Inlined into the callback: the common step of a forward
/// page-mode scan without keys is the next visible tuple of the current page (decided
/// when the page was loaded), a few loads and stores; everything else is
/// [`scan_getnextslot_slow`].
#[inline(always)]
pub fn scan_getnextslot(
    sscan: pg_sys::TableScanDesc,
    direction: pg_sys::ScanDirection::Type,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    // SAFETY: our scan and the executor's slot.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        if s.inited
            && direction != pg_sys::ScanDirection::BackwardScanDirection
            && s.base.rs_nkeys == 0
            && flags(s) & PAGEMODE != 0
        {
            let next = s.cindex + 1;
            if next < s.ntuples {
                s.cindex = next;
                store_listed(s, slot, s.vistuples[next as usize]);
                rel::count_returned(s.base.rs_rd);
                return true;
            }
        }
    }
    scan_getnextslot_slow(sscan, direction, slot)
}

/// The rest of [`scan_getnextslot`]: a new page, a backward step, scan keys, or a scan
/// without page mode.
#[inline(never)]
fn scan_getnextslot_slow(
    sscan: pg_sys::TableScanDesc,
    direction: pg_sys::ScanDirection::Type,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    // SAFETY: our scan and the executor's slot.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        let backward = direction == pg_sys::ScanDirection::BackwardScanDirection;
        loop {
            match next_tuple(s, backward) {
                None => {
                    pg_sys::ExecClearTuple(slot);
                    return false;
                }
                Some((off, tup, len)) => {
                    slot::store_buffer_tuple(
                        slot,
                        tup,
                        len,
                        s.cbuf,
                        rel::make_tid(s.cblock, off),
                        rel::relid(s.base.rs_rd),
                    );
                    if s.base.rs_nkeys > 0 && !keys_match(s, slot) {
                        continue;
                    }
                    rel::count_returned(s.base.rs_rd);
                    return true;
                }
            }
        }
    }
}

fn tid_cmp(a: &pg_sys::ItemPointerData, b: &pg_sys::ItemPointerData) -> std::cmp::Ordering {
    rel::tid_parts(a).cmp(&rel::tid_parts(b))
}

/// heap_set_tidrange: restrict the blocks and remember the bounds.
pub fn scan_set_tidrange(
    sscan: pg_sys::TableScanDesc,
    mintid: *mut pg_sys::ItemPointerData,
    maxtid: *mut pg_sys::ItemPointerData,
) {
    // SAFETY: our scan; tids from the executor.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        if s.nblocks == 0 {
            return;
        }
        let mut highest = rel::make_tid(s.nblocks - 1, pg_sys::MaxOffsetNumber);
        let mut lowest = rel::make_tid(0, 1);
        if tid_cmp(&*maxtid, &highest).is_lt() {
            highest = *maxtid;
        }
        if tid_cmp(&*mintid, &lowest).is_gt() {
            lowest = *mintid;
        }
        if tid_cmp(&highest, &lowest).is_lt() {
            s.startblock = 0;
            s.numblocks = 0;
            return;
        }
        let (lb, _) = rel::tid_parts(&lowest);
        let (hb, _) = rel::tid_parts(&highest);
        s.startblock = lb;
        s.numblocks = hb - lb + 1;
        let (min, max) = crate::pg::compat::tidrange_bounds(&mut s.base);
        *min = lowest;
        *max = highest;
    }
}

pub fn scan_getnextslot_tidrange(
    sscan: pg_sys::TableScanDesc,
    direction: pg_sys::ScanDirection::Type,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    // SAFETY: our scan.
    unsafe {
        let (min, max) = {
            let s = &mut *(sscan as *mut GlassScan);
            let (min, max) = crate::pg::compat::tidrange_bounds(&mut s.base);
            (*min, *max)
        };
        let backward = direction == pg_sys::ScanDirection::BackwardScanDirection;
        loop {
            if !scan_getnextslot(sscan, direction, slot) {
                return false;
            }
            let tid = (*slot).tts_tid;
            if tid_cmp(&tid, &min).is_lt() {
                pg_sys::ExecClearTuple(slot);
                if backward {
                    return false;
                }
                continue;
            }
            if tid_cmp(&tid, &max).is_gt() {
                pg_sys::ExecClearTuple(slot);
                if !backward {
                    return false;
                }
                continue;
            }
            return true;
        }
    }
}

/// heap_setscanlimits: scan only `num` blocks starting at `start` (before the first tuple).
pub fn set_scan_limits(
    sscan: pg_sys::TableScanDesc,
    start: pg_sys::BlockNumber,
    num: pg_sys::BlockNumber,
) {
    // SAFETY: our scan.
    let s = unsafe { &mut *(sscan as *mut GlassScan) };
    s.startblock = start;
    s.numblocks = num;
}

/// Block-at-a-time iteration for callers that examine every tuple themselves (index
/// builds): pins the next block of the scan (serial or parallel) and returns it.
pub fn next_raw_block(
    sscan: pg_sys::TableScanDesc,
) -> Option<(pg_sys::BlockNumber, pg_sys::Buffer)> {
    // SAFETY: our scan.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        s.base.rs_flags &= !PAGEMODE;
        let b = if !s.inited {
            s.inited = true;
            match first_block(s, false) {
                Some(b) => b,
                None => {
                    end_of_scan(s);
                    return None;
                }
            }
        } else {
            match next_block(s, false) {
                Some(b) => b,
                None => {
                    end_of_scan(s);
                    return None;
                }
            }
        };
        load_page(s, b);
        Some((b, s.cbuf))
    }
}

// ---------------------------------------------------------------------------------
// Bitmap heap scans (BitmapHeapScan over any index AM)
// ---------------------------------------------------------------------------------

/// table_scan_bitmap_next_block: collect the visible tuples of one bitmap page: for exact
/// pages (`offsets`: the bitmap's offsets on it) the visible version of each listed
/// chain, for lossy pages (None) every visible version. Says whether any is visible.
pub fn bitmap_load_block(
    sscan: pg_sys::TableScanDesc,
    blk: pg_sys::BlockNumber,
    offsets: Option<&[pg_sys::OffsetNumber]>,
) -> bool {
    // SAFETY: our scan.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        s.cindex = 0;
        s.ntuples = 0;
        if blk >= s.nblocks {
            return false;
        }
        s.cbuf = pg_sys::ReleaseAndReadBuffer(s.cbuf, s.base.rs_rd, blk);
        super::prune::prune_opt(s.base.rs_rd, s.cbuf);
        s.cblock = blk;
        let buffer = s.cbuf;
        let lock = BufferLock::share(buffer);
        let page = lock.page_ref();
        check_page(s.base.rs_rd, page, blk);
        s.vis.refresh_ssi();
        let snapshot = s.base.rs_snapshot;
        let mut n = 0usize;
        // Collects the version at `off` if visible; says whether it was.
        let consider = |s: &mut GlassScan, off: u16, n: &mut usize| -> bool {
            let Some((tup, _)) = page.tuple_ptr(off) else {
                return false;
            };
            if !s.vis.check(buffer, blk, off, tup) {
                return false;
            }
            s.vistuples[*n] = off;
            *n += 1;
            crate::pg::ssi::lock_tid(
                s.base.rs_rd,
                rel::make_tid(blk, off),
                snapshot,
                crate::pg::page::read_header(tup).xmin,
            );
            true
        };
        if let Some(offs) = offsets {
            // Exact offsets are index entries, i.e. chain roots: the snapshot sees at most
            // one version of each chain (heap_hot_search_buffer).
            let rnode = rel::relfilenode(s.base.rs_rd);
            for &root in offs {
                let mut walk = super::hot::ChainWalk::from_root(rnode, blk, root);
                while let Some(m) = walk.next(page) {
                    if consider(s, m.off, &mut n) {
                        break;
                    }
                }
            }
        } else {
            for off in 1..=page.max_offset() {
                consider(s, off, &mut n);
            }
        }
        lock.unlock();
        s.ntuples = n as i32;
        n > 0
    }
}

/// Whether the page loaded by [`bitmap_load_block`] has tuples not yet returned.
#[allow(dead_code)] // only PostgreSQL 18's bitmap scans ask
pub fn bitmap_has_tuple(sscan: pg_sys::TableScanDesc) -> bool {
    // SAFETY: our scan.
    let s = unsafe { &*(sscan as *mut GlassScan) };
    s.cindex >= 0 && s.cindex < s.ntuples
}

/// table_scan_bitmap_next_tuple: the next visible tuple of the loaded page.
pub fn bitmap_next_tuple(sscan: pg_sys::TableScanDesc, slot: *mut pg_sys::TupleTableSlot) -> bool {
    // SAFETY: our scan; the buffer stays pinned while its tuples are returned.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        if s.cindex < 0 || s.cindex >= s.ntuples {
            return false;
        }
        let off = s.vistuples[s.cindex as usize];
        s.cindex += 1;
        store_listed(s, slot, off);
        rel::count_fetched(s.base.rs_rd);
        true
    }
}

// ---------------------------------------------------------------------------------
// ANALYZE sampling
// ---------------------------------------------------------------------------------

/// table_scan_analyze_next_block, once the sampled block `blk` is read into the pinned
/// buffer `buf` (by block number, or from ANALYZE's read stream from PostgreSQL 17):
/// share-lock it for analyze_next_tuple, which holds the lock until it finishes the page.
pub fn analyze_take_block(
    sscan: pg_sys::TableScanDesc,
    buf: pg_sys::Buffer,
    blk: pg_sys::BlockNumber,
) {
    // SAFETY: our scan; buf pinned by the caller, its pin handed to the scan.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        s.cblock = blk;
        s.coff = 0;
        s.cbuf = buf;
        let lock = BufferLock::share(s.cbuf);
        check_page(s.base.rs_rd, lock.page_ref(), blk);
        // The lock outlives this callback, as in heap: analyze_next_tuple returns rows
        // from the locked page and unlocks (UnlockReleaseBuffer) when it is done.
        lock.keep_locked();
    }
}

/// table_scan_analyze_next_tuple: the next live tuple of the block, counting live and
/// dead rows the way heap does (heapam_scan_analyze_next_tuple).
pub fn analyze_next_tuple(
    sscan: pg_sys::TableScanDesc,
    oldest_xmin: pg_sys::TransactionId,
    liverows: *mut f64,
    deadrows: *mut f64,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    use glassheap_format::visibility::{Htsv, TxnOracle};
    // SAFETY: our scan; buffer pinned and share-locked by analyze_next_block.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        let page = PageRef::of_buffer(s.cbuf);
        let max = page.max_offset();
        while s.coff < max {
            s.coff += 1;
            let off = s.coff;
            let (flags, _, _) = page.lp(off);
            if flags == crate::pg::page::LP_DEAD {
                *deadrows += 1.0;
                continue;
            }
            let Some((ptr, len)) = page.tuple_ptr(off) else {
                continue;
            };
            let loc = super::visibility::TupleLoc {
                rnode: s.vis.rnode,
                blk: s.cblock,
                off,
            };
            let (r, _) = super::visibility::vacuum_status(
                s.cbuf,
                ptr,
                loc,
                super::visibility::Removable::Before(oldest_xmin.into_inner()),
            );
            // read after the hints the status set (the counts below ask about xmin/xmax)
            let h = crate::pg::page::read_header(ptr);
            let mut o = super::visibility::Oracle::new(std::ptr::null_mut(), loc);
            let sample = match r {
                Htsv::Live => {
                    *liverows += 1.0;
                    true
                }
                Htsv::Dead | Htsv::RecentlyDead => {
                    *deadrows += 1.0;
                    false
                }
                Htsv::InsertInProgress => {
                    if o.is_current(h.xmin) {
                        *liverows += 1.0;
                        true
                    } else {
                        false
                    }
                }
                Htsv::DeleteInProgress => {
                    let upd = super::visibility::update_xid_of(&h, &mut o);
                    if o.is_current(upd) {
                        *deadrows += 1.0;
                        false
                    } else {
                        *liverows += 1.0;
                        true
                    }
                }
            };
            if sample {
                slot::store_buffer_tuple(
                    slot,
                    ptr,
                    len,
                    s.cbuf,
                    rel::make_tid(s.cblock, off),
                    rel::relid(s.base.rs_rd),
                );
                // The buffer stays locked until the page is done, as in heap.
                return true;
            }
        }
        crate::pg::bufmgr::unlock_release(s.cbuf);
        s.cbuf = INVALID_BUFFER;
        pg_sys::ExecClearTuple(slot);
        false
    }
}

// ---------------------------------------------------------------------------------
// TABLESAMPLE (heapam_scan_sample_next_block/_tuple)
// ---------------------------------------------------------------------------------

/// table_scan_sample_next_block: the sampling method picks the block (SYSTEM), or the
/// blocks are visited in order (BERNOULLI); in page mode the visible offsets are
/// collected as a sequential scan would.
pub fn sample_next_block(sscan: pg_sys::TableScanDesc, ss: *mut pg_sys::SampleScanState) -> bool {
    // SAFETY: our scan; the sampling method's routine from the executor state.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        let tsm = (*ss).tsmroutine;
        if s.nblocks == 0 {
            return false;
        }
        #[allow(ffi_unwind_calls)] // guarded
        let blk = match (*tsm).NextSampleBlock {
            Some(next) => crate::pg::sys_extra::guarded(|| next(ss, s.nblocks)),
            None if !s.inited => s.startblock,
            None => {
                let b = s.cblock + 1;
                if b >= s.nblocks {
                    pg_sys::InvalidBlockNumber
                } else {
                    b
                }
            }
        };
        if blk == pg_sys::InvalidBlockNumber || blk >= s.nblocks {
            if s.cbuf != INVALID_BUFFER {
                crate::pg::bufmgr::release(s.cbuf);
            }
            s.cbuf = INVALID_BUFFER;
            s.cblock = pg_sys::InvalidBlockNumber;
            s.inited = false;
            return false;
        }
        load_page(s, blk);
        s.inited = true;
        true
    }
}

/// table_scan_sample_next_tuple: the sampling method names offsets on the current block;
/// return the first that holds a tuple visible to the scan's snapshot.
pub fn sample_next_tuple(
    sscan: pg_sys::TableScanDesc,
    ss: *mut pg_sys::SampleScanState,
    slot: *mut pg_sys::TupleTableSlot,
) -> bool {
    // SAFETY: our scan with the current block pinned; in tuple mode the buffer is share
    // locked while tuples are judged.
    unsafe {
        let s = &mut *(sscan as *mut GlassScan);
        let tsm = (*ss).tsmroutine;
        let pagemode = flags(s) & PAGEMODE != 0;
        let buffer = s.cbuf;
        let blk = s.cblock;
        let lock = (!pagemode).then(|| {
            let lock = BufferLock::share(buffer);
            s.vis.refresh_ssi();
            lock
        });
        let page = PageRef::of_buffer(buffer);
        let maxoff = if page.is_new() { 0 } else { page.max_offset() };
        let next = (*tsm)
            .NextSampleTuple
            .unwrap_or_else(|| error!("glassheap: the tablesample method has no NextSampleTuple"));
        loop {
            pgrx::check_for_interrupts!();
            #[allow(ffi_unwind_calls)] // guarded
            let off = crate::pg::sys_extra::guarded(|| next(ss, blk, maxoff));
            if off == 0 || off > maxoff {
                drop(lock);
                pg_sys::ExecClearTuple(slot);
                return false;
            }
            let visible = if pagemode {
                s.vistuples[..s.ntuples as usize]
                    .binary_search(&off)
                    .is_ok()
            } else {
                match page.tuple_ptr(off) {
                    Some((tup, _)) => s.vis.check(buffer, blk, off, tup),
                    None => false,
                }
            };
            if !visible {
                continue;
            }
            let (_, o, len) = page.lp(off);
            slot::store_buffer_tuple(
                slot,
                (page.0 as *mut u8).add(o),
                len,
                buffer,
                rel::make_tid(blk, off),
                rel::relid(s.base.rs_rd),
            );
            drop(lock);
            rel::count_fetched(s.base.rs_rd);
            return true;
        }
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_begin(
        rel_: pg_sys::Relation,
        snapshot: pg_sys::Snapshot,
        nkeys: core::ffi::c_int,
        key: *mut pg_sys::ScanKeyData,
        pscan: pg_sys::ParallelTableScanDesc,
        flags: pg_sys::uint32,
    ) -> pg_sys::TableScanDesc {
        super::scan_begin(rel_, snapshot, nkeys, key, pscan, flags)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_end(s: pg_sys::TableScanDesc) {
        super::scan_end(s)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_rescan(
        s: pg_sys::TableScanDesc,
        key: *mut pg_sys::ScanKeyData,
        set_params: bool,
        allow_strat: bool,
        allow_sync: bool,
        allow_pagemode: bool,
    ) {
        super::scan_rescan(s, key, set_params, allow_strat, allow_sync, allow_pagemode)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_getnextslot(
        s: pg_sys::TableScanDesc,
        dir: pg_sys::ScanDirection::Type,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        super::scan_getnextslot(s, dir, slot)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_set_tidrange(
        s: pg_sys::TableScanDesc,
        mintid: pg_sys::ItemPointer,
        maxtid: pg_sys::ItemPointer,
    ) {
        super::scan_set_tidrange(s, mintid, maxtid)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_getnextslot_tidrange(
        s: pg_sys::TableScanDesc,
        dir: pg_sys::ScanDirection::Type,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        super::scan_getnextslot_tidrange(s, dir, slot)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn parallelscan_estimate(
        rel_: pg_sys::Relation,
    ) -> pg_sys::Size {
        // SAFETY: generic block-based parallel scan.
        unsafe { pg_sys::table_block_parallelscan_estimate(rel_) }
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn parallelscan_initialize(
        rel_: pg_sys::Relation,
        pscan: pg_sys::ParallelTableScanDesc,
    ) -> pg_sys::Size {
        // SAFETY: as above.
        unsafe { pg_sys::table_block_parallelscan_initialize(rel_, pscan) }
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn parallelscan_reinitialize(
        rel_: pg_sys::Relation,
        pscan: pg_sys::ParallelTableScanDesc,
    ) {
        // SAFETY: as above.
        unsafe { pg_sys::table_block_parallelscan_reinitialize(rel_, pscan) }
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_analyze_next_tuple(
        s: pg_sys::TableScanDesc,
        oldest_xmin: pg_sys::TransactionId,
        liverows: *mut f64,
        deadrows: *mut f64,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        super::analyze_next_tuple(s, oldest_xmin, liverows, deadrows, slot)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_sample_next_block(
        s: pg_sys::TableScanDesc,
        ss: *mut pg_sys::SampleScanState,
    ) -> bool {
        super::sample_next_block(s, ss)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn scan_sample_next_tuple(
        s: pg_sys::TableScanDesc,
        ss: *mut pg_sys::SampleScanState,
        slot: *mut pg_sys::TupleTableSlot,
    ) -> bool {
        super::sample_next_tuple(s, ss, slot)
    }
}
