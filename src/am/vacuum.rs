//! VACUUM (table_relation_vacuum), after heap's vacuumlazy.c:
//!
//! 1. Scan every page under a cleanup lock: prune removable versions (their line
//!    pointers become LP_DEAD), freeze old xids, and collect every LP_DEAD item.
//! 2. Remove the index entries that point at those items (ambulkdelete), then
//! 3. mark the items LP_UNUSED so inserts can reuse them, and record each page's free
//!    space in the free space map. Without indexes steps 2-3 happen page by page.
//! 4. Index cleanup (amvacuumcleanup), truncation of empty pages at the end of the
//!    table, and pg_class statistics: relpages, reltuples and -- when every page was
//!    processed -- the advanced relfrozenxid / relminmxid.
//!
//! Every page change is WAL-logged (PRUNE, FREEZE, VACUUM records; truncation through
//! PostgreSQL's smgr record). What is not done, and why, is said in docs/FORMAT.md.

use super::prune;
use super::visibility::{vacuum_status, Removable, TupleLoc};
use super::vm;
use crate::pg::bufmgr::{LockMode, LockedBuffer};
use crate::pg::crit::CritSection;
use crate::pg::error::pg_callback;
use crate::pg::page::{read_header, write_header, PageRef};
use crate::pg::page::{LP_DEAD, LP_REDIRECT, LP_UNUSED};
use crate::pg::{compat, rel, sys_extra, xact};
use glassheap_format::deadtids::{dead_item_pages, tid_key, DeadTids};
use glassheap_format::layout::MAX_TUPLES_PER_PAGE;
use glassheap_format::locks::MxStatus;
use glassheap_format::records::{FreezeBlock, FreezeEntry, VacuumBlock, XmaxFreeze};
use glassheap_format::transition;
use glassheap_format::vacuum::{self as vplan, FreezeCutoffs, FreezeOracle, RelHorizons};
use glassheap_format::visibility::Htsv;
use glassheap_format::{xid_is_normal, xid_precedes, Xid};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CStr;

/// heap's REL_TRUNCATE_MINIMUM / REL_TRUNCATE_FRACTION: truncating is worth an
/// AccessExclusiveLock only for at least this many pages, or 1/16 of the table.
const TRUNCATE_MINIMUM: u32 = 1000;
const TRUNCATE_FRACTION: u32 = 16;
/// heap's VACUUM_TRUNCATE_LOCK_TIMEOUT (5 s) in 50 ms waits.
const TRUNCATE_LOCK_TRIES: u32 = 100;
/// heap's BYPASS_THRESHOLD_PAGES: INDEX_CLEANUP AUTO skips index vacuuming when fewer
/// than this fraction of the table's pages have items to vacuum...
const BYPASS_THRESHOLD_PAGES: f64 = 0.02;
/// ... and there are fewer of them than 32 MB of TIDs hold (MAXDEADITEMS(32 MB); 17+
/// heap measures its TidStore's memory instead, glassheap counts as 15/16 do).
const BYPASS_MAX_ITEMS: usize = (32 * 1024 * 1024 - 8) / 6;
/// vacuum.h's MAXDEADITEMS(MaxAllocSize): the most TIDs (6 bytes each) PostgreSQL 15/16's
/// parallel VACUUM array may hold.
const MAX_ALLOC_DEAD_ITEMS: usize = (0x3fff_ffff - 8) / 6;

/// The freeze planner's questions, answered by PostgreSQL's commit log and MultiXacts
/// (shared with CLUSTER / VACUUM FULL, which freeze the same way).
pub(crate) struct PgFreezeOracle;
impl FreezeOracle for PgFreezeOracle {
    fn did_commit(&mut self, xid: Xid) -> bool {
        xact::did_commit(xid)
    }
    fn members(&mut self, multi: Xid, lock_only: bool) -> Vec<(Xid, MxStatus)> {
        xact::multi_members(multi, lock_only)
    }
}

#[derive(Default)]
struct Counts {
    rel_pages: u32,
    scanned_pages: u32,
    /// Pages whose cleanup lock was busy (a non-aggressive VACUUM does not wait).
    skipped_pages: u32,
    removed_pages: u32,
    tuples_deleted: u64,
    live_tuples: u64,
    recently_dead: u64,
    frozen_tuples: u64,
    frozen_pages: u32,
    lpdead_removed: u64,
    lpdead_pages: u32,
    /// LP_DEAD items found (heap's lpdead_items).
    lpdead_items: u64,
    /// All-visible pages a non-aggressive VACUUM skipped (their xids stay unexamined).
    visible_skipped: u32,
    /// All-frozen pages skipped (nothing to do there, relfrozenxid unaffected).
    frozen_skipped: u32,
    /// Pages VACUUM newly marked all-visible.
    newly_visible: u32,
    index_scans: u32,
    nonempty_pages: u32,
    /// INDEX_CLEANUP AUTO bypassed index vacuuming: pages with dead items, dead items.
    bypassed: Option<(u32, u64)>,
}

struct Vac {
    rel: pg_sys::Relation,
    strategy: pg_sys::BufferAccessStrategy,
    vistest: *mut pg_sys::GlobalVisState,
    oldest_xmin: Xid,
    cutoffs: FreezeCutoffs,
    horizons: RelHorizons,
    aggressive: bool,
    indrels: Vec<pg_sys::Relation>,
    stats: Vec<*mut pg_sys::IndexBulkDeleteResult>,
    /// Sorted (block << 16 | offset) of LP_DEAD items awaiting index vacuuming.
    dead: Vec<u64>,
    max_dead: usize,
    index_vacuum: bool,
    elevel: i32,
    log_level: PgLogLevel,
    /// The visibility-map page pinned for the current block.
    vmbuf: pg_sys::Buffer,
    /// May all-visible / all-frozen pages be skipped (not DISABLE_PAGE_SKIPPING)?
    skip_allowed: bool,
    /// Index vacuuming in parallel workers (vacuumparallel.c), when it was started.
    parallel: Option<compat::ParallelVacuum>,
    c: Counts,
}

/// LP_DEAD items become LP_UNUSED and the unused tail of the line pointer array is cut
/// off. Shared by VACUUM and its redo.
pub fn set_unused(page: PageRef, offs: &[u16]) {
    if let Err(e) = page.change(|p| p.set_unused(offs)) {
        pgrx::error!("glassheap vacuum: {e}");
    }
}

fn record_free_space(v: &Vac, blk: u32, free: usize) {
    // SAFETY: valid relation; the FSM is not WAL-logged and only advisory.
    unsafe { pg_sys::RecordPageWithFreeSpace(v.rel, blk, free) };
}

fn read(v: &Vac, blk: u32) -> pg_sys::Buffer {
    // SAFETY: a block below the size we read at the start (the table only grows
    // while we hold ShareUpdateExclusiveLock).
    unsafe {
        pg_sys::ReadBufferExtended(
            v.rel,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            blk,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            v.strategy,
        )
    }
}

/// The run of skippable pages from `next` on (heap's lazy_scan_skip).
fn next_skip_range(v: &mut Vac, next: u32, skip_with_vm: bool) -> vplan::SkipRange {
    let (rel_, aggressive, rel_pages) = (v.rel, v.aggressive, v.c.rel_pages);
    let vmbuf = &mut v.vmbuf;
    vplan::skip_range(next, rel_pages, aggressive, skip_with_vm, |blk| {
        // SAFETY: valid relation; the map page's pin is kept in v.vmbuf.
        let status = unsafe { pg_sys::visibilitymap_get_status(rel_, blk, vmbuf) };
        (status & vm::ALL_VISIBLE != 0, status & vm::ALL_FROZEN != 0)
    })
}

/// Step 1 for one page; `skip`: the visibility map lets VACUUM pass it by.
fn scan_page(v: &mut Vac, blk: u32, skip: bool) {
    // honours vacuum_cost_delay
    compat::vacuum_delay_point();
    // Pin the map page before locking the heap page (it may need I/O), and skip pages
    // the map says need nothing: all-frozen always, all-visible unless aggressive.
    // SAFETY: valid relation; the pin is kept in v.vmbuf.
    let status = unsafe {
        pg_sys::visibilitymap_pin(v.rel, blk, &mut v.vmbuf);
        pg_sys::visibilitymap_get_status(v.rel, blk, &mut v.vmbuf)
    };
    // A skipped page does not count as non-empty: truncation reads the pages at the
    // end of the table again before cutting them off (count_nondeletable), as heap's.
    if skip {
        if status & vm::ALL_FROZEN != 0 {
            v.c.frozen_skipped += 1;
        } else {
            v.c.visible_skipped += 1;
        }
        return;
    }
    let buf = read(v, blk);
    // SAFETY: pinned buffer.
    if !unsafe { pg_sys::ConditionalLockBufferForCleanup(buf) } {
        if v.aggressive {
            // SAFETY: as above; an aggressive VACUUM must see every page.
            unsafe { pg_sys::LockBufferForCleanup(buf) };
        } else {
            scan_page_noprune(v, buf, blk);
            return;
        }
    }
    v.c.scanned_pages += 1;
    // SAFETY: pinned by `read` for this function, cleanup-locked above (an exclusive
    // content lock); the guard releases both.
    let guard = unsafe { LockedBuffer::adopt(buf, LockMode::Exclusive) };
    let page = guard.page_ref();
    if page.is_new() {
        // Extended but never written (a crash after extension): empty space.
        // SAFETY: valid relation.
        if unsafe { pg_sys::GetRecordedFreeSpace(v.rel, blk) } == 0 {
            record_free_space(
                v,
                blk,
                pg_sys::BLCKSZ as usize - glassheap_format::PAGE_HEADER_SIZE,
            );
        }
        drop(guard);
        return;
    }
    if !page.is_glassheap() {
        // (the abort releases the lock and the pin)
        crate::pg::page::not_a_glassheap_page(v.rel, blk, page);
    }

    let pruned = prune::prune_page(v.rel, buf, v.vistest, true);
    v.c.tuples_deleted += pruned.removed as u64;

    let mut freeze = FreezeBlock::default();
    let mut oracle = PgFreezeOracle;
    for &(off, status) in &pruned.kept {
        match status {
            Htsv::Live | Htsv::DeleteInProgress => v.c.live_tuples += 1,
            Htsv::RecentlyDead => v.c.recently_dead += 1,
            // The inserter counts its own rows when it commits (as heap's VACUUM).
            Htsv::InsertInProgress | Htsv::Dead => {}
        }
        // SAFETY: `kept` lists LP_NORMAL items checked by prune_page; the page stays
        // cleanup-locked.
        let h = unsafe { read_header(page.item(off)) };
        let p = vplan::plan(&h, &v.cutoffs, &mut oracle, &mut v.horizons);
        if p.changes_anything() {
            let newest = match p.xmax {
                XmaxFreeze::Invalidate => h.xmax,
                _ => 0,
            };
            for x in [if p.freeze_xmin { h.xmin } else { 0 }, newest] {
                if xid_is_normal(x)
                    && (freeze.cutoff_xid == 0 || xid_precedes(freeze.cutoff_xid, x))
                {
                    freeze.cutoff_xid = x;
                }
            }
            freeze.tuples.push(FreezeEntry {
                offnum: off,
                freeze_xmin: p.freeze_xmin,
                xmax: p.xmax,
            });
        }
    }
    if !freeze.tuples.is_empty() {
        let crit = CritSection::enter();
        for e in &freeze.tuples {
            let tup = page.item(e.offnum);
            // SAFETY: an LP_NORMAL tuple on the cleanup-locked page.
            unsafe {
                let mut h = read_header(tup);
                transition::freeze(&mut h, e);
                write_header(tup, &h);
            }
        }
        crate::pg::fault::point(crate::pg::fault::Kind::Freeze);
        crit.mark_dirty(buf);
        if rel::needs_wal(v.rel) {
            crate::rmgr::log::freeze(&crit, buf, &freeze);
        }
        v.c.frozen_tuples += freeze.tuples.len() as u64;
        v.c.frozen_pages += 1;
    }

    // One pass over the line pointers: the LP_DEAD items, and whether anything else
    // (a version or a redirect) is on the page.
    let mut lpdead: Vec<u16> = Vec::with_capacity(MAX_TUPLES_PER_PAGE);
    let mut other_used = false;
    let view = guard.page();
    for o in 1..=view.max_offset() {
        match view.lp_flags(o) {
            LP_DEAD => lpdead.push(o),
            LP_UNUSED => {}
            _ => other_used = true,
        }
    }
    let mut pending = false;
    if !lpdead.is_empty() {
        v.c.lpdead_pages += 1;
        v.c.lpdead_items += lpdead.len() as u64;
        if v.indrels.is_empty() {
            // No index can point here: the items are free at once (heap's one-pass
            // strategy).
            vacuum_page(v, buf, std::mem::take(&mut lpdead));
        } else if v.index_vacuum {
            v.dead.extend(lpdead.iter().map(|&o| tid_key(blk, o)));
            pending = true;
        }
    }
    // LP_DEAD items about to be freed do not keep the page (heap's "hastup").
    if other_used || (!lpdead.is_empty() && !pending) {
        v.c.nonempty_pages = blk + 1;
    }
    if !pending {
        set_visible_if_all_visible(v, buf, blk, &pruned.kept);
    }
    let free = page.free_space();
    drop(guard);
    if !pending {
        record_free_space(v, blk, free);
    }
}

/// heap_page_is_all_visible: is every version on the locked page visible to every
/// snapshot (committed before the oldest running transaction's snapshot, not deleted),
/// with no dead line pointer? Returns the newest xmin (the conflict horizon for
/// standbys) and whether the page is also all-frozen.
///
/// `known`: the statuses pruning just found for the versions on the page, which has
/// stayed cleanup-locked since (VACUUM's first pass), in offset order. A version it
/// lists is not asked again: a LIVE version cannot stop being live while the lock is
/// held (nobody can set its xmax), and any other status means not all-visible either
/// way -- but for a version whose deleter aborted since pruning saw it deleting: the
/// page is then left for the next VACUUM to mark, as heap's lazy_scan_prune, which
/// judges a page by the statuses of its own pass, leaves it. (An inserter in progress
/// then is not older than the VACUUM's oldest xmin, so its page is not all-visible.)
fn page_all_visible(
    v: &Vac,
    buf: pg_sys::Buffer,
    blk: u32,
    known: &[(u16, Htsv)],
) -> Option<(Xid, bool)> {
    // SAFETY: the caller holds the buffer locked.
    let page = unsafe { PageRef::of_buffer(buf) };
    let rnode = rel::relfilenode(v.rel);
    let mut cutoff: Xid = 0;
    let mut all_frozen = true;
    let mut known = known.iter().peekable();
    for off in 1..=page.max_offset() {
        match page.lp(off).0 {
            LP_UNUSED | LP_REDIRECT => continue,
            LP_DEAD => return None,
            _ => {}
        }
        let tup = page.tuple_ptr(off)?.0;
        let status = match known.next_if(|k| k.0 == off) {
            Some(&(_, status)) => status,
            None => {
                let loc = TupleLoc { rnode, blk, off };
                // SAFETY: a bounds-checked normal item on the locked page.
                unsafe { vacuum_status(buf, tup, loc, Removable::Never) }.0
            }
        };
        // SAFETY: read with the hints applied.
        let h = unsafe { read_header(tup) };
        // As heap: the xmin-committed hint must be on the page, since readers of an
        // all-visible page never look at the tuple again.
        if status != Htsv::Live || !h.xmin_committed() {
            return None;
        }
        if !h.xmin_frozen() && xid_is_normal(h.xmin) {
            if !xid_precedes(h.xmin, v.oldest_xmin) {
                return None;
            }
            if cutoff == 0 || xid_precedes(cutoff, h.xmin) {
                cutoff = h.xmin;
            }
        }
        all_frozen &=
            (h.xmin_frozen() || !xid_is_normal(h.xmin)) && (h.xmax_invalid() || h.xmax == 0);
    }
    Some((cutoff, all_frozen))
}

/// Marks the locked page all-visible (and all-frozen) in the page and the map when it is.
fn set_visible_if_all_visible(v: &mut Vac, buf: pg_sys::Buffer, blk: u32, known: &[(u16, Htsv)]) {
    let Some((cutoff, all_frozen)) = page_all_visible(v, buf, blk, known) else {
        return;
    };
    // SAFETY: locked buffer.
    let page = unsafe { PageRef::of_buffer(buf) };
    let flags = vm::ALL_VISIBLE | if all_frozen { vm::ALL_FROZEN } else { 0 };
    // SAFETY: the map page for blk is pinned in v.vmbuf (scan_page / vacuum pass).
    let status = unsafe { pg_sys::visibilitymap_get_status(v.rel, blk, &mut v.vmbuf) };
    if !page.is_all_visible() {
        page.set_all_visible();
        // SAFETY: locked buffer.
        unsafe { pg_sys::MarkBufferDirty(buf) };
    }
    if status & flags != flags {
        if status & vm::ALL_VISIBLE == 0 {
            v.c.newly_visible += 1;
        }
        vm::set_bits(v.rel, buf, blk, v.vmbuf, cutoff, flags);
    }
}

/// A page whose cleanup lock is busy, in a VACUUM that need not wait: count what is
/// there and collect LP_DEAD items (safe under a share lock), prune nothing. The table's
/// relfrozenxid is then left alone, since this page's xids were not examined.
fn scan_page_noprune(v: &mut Vac, buf: pg_sys::Buffer, blk: u32) {
    v.c.skipped_pages += 1;
    // SAFETY: pinned by `read` for this function; the guard releases the pin.
    let guard = unsafe { LockedBuffer::lock_pinned(buf, LockMode::Share) };
    let page = guard.page_ref();
    if !page.is_new() {
        let mut any_used = false;
        for off in 1..=page.max_offset() {
            match page.lp(off).0 {
                LP_UNUSED => {}
                LP_DEAD => {
                    any_used = true;
                    v.c.lpdead_items += 1;
                    if v.index_vacuum && !v.indrels.is_empty() {
                        v.dead.push(tid_key(blk, off));
                    }
                }
                _ => {
                    any_used = true;
                    v.c.live_tuples += 1;
                }
            }
        }
        if any_used {
            v.c.nonempty_pages = blk + 1;
        }
    }
    drop(guard);
}

/// Step 3 on one locked page: the items are LP_UNUSED from now on.
fn vacuum_page(v: &mut Vac, buf: pg_sys::Buffer, offs: Vec<u16>) {
    // SAFETY: exclusively (or cleanup-) locked buffer.
    let page = unsafe { PageRef::of_buffer(buf) };
    // set_unused and PageTruncateLinePointerArray run in the critical section: what they
    // rely on (the header, each item in the array and LP_DEAD) is checked first.
    let max = page.max_offset();
    let check = glassheap_format::pagecheck::check_header_for_change(
        page.lower(),
        page.upper(),
        page.special(),
    )
    .and_then(|_| {
        match offs
            .iter()
            .find(|&&o| o == 0 || o > max || page.lp(o).0 != LP_DEAD)
        {
            Some(&o) => Err(glassheap_format::pagecheck::PageDamage {
                offnum: Some(o),
                problem: "is not LP_DEAD (VACUUM collected it as dead)".into(),
            }),
            None => Ok(max),
        }
    });
    if let Err(d) = check {
        // SAFETY: pinned buffer.
        let blk = unsafe { crate::pg::page::buffer_block_number(buf) };
        crate::pg::page::damaged_page(v.rel, blk, &d);
    }
    let rec = VacuumBlock { unused: offs };
    let crit = CritSection::enter();
    set_unused(page, &rec.unused);
    crate::pg::fault::point(crate::pg::fault::Kind::Vacuum);
    crit.mark_dirty(buf);
    if rel::needs_wal(v.rel) {
        crate::rmgr::log::vacuum(&crit, buf, &rec);
    }
    v.c.lpdead_removed += rec.unused.len() as u64;
}

/// The bulk-delete callback: is this index entry's TID one of the dead items?
#[pg_callback]
unsafe extern "C-unwind" fn tid_is_dead(
    itemptr: pg_sys::ItemPointer,
    state: *mut core::ffi::c_void,
) -> bool {
    // SAFETY: state is the &DeadTids passed to index_bulk_delete below and outlives the
    // call; itemptr is a valid TID from the index.
    let (dead, tid) = unsafe { (&*(state as *const DeadTids), &*itemptr) };
    let (blk, off) = rel::tid_parts(tid);
    dead.contains(blk, off)
}

fn index_info(v: &Vac, i: usize, estimated: bool, heap_tuples: f64) -> pg_sys::IndexVacuumInfo {
    compat::index_vacuum_info(
        v.indrels[i],
        v.rel,
        estimated,
        v.elevel,
        heap_tuples,
        v.strategy,
    )
}

/// Steps 2 and 3 for the dead items collected so far.
fn vacuum_indexes_and_pages(v: &mut Vac) {
    if v.dead.is_empty() {
        return;
    }
    let dead = DeadTids::new(std::mem::take(&mut v.dead));
    // SAFETY: valid relation.
    let old_reltuples = unsafe { (*(*v.rel).rd_rel).reltuples } as f64;
    if let Some(p) = v.parallel.as_mut() {
        // the workers and the leader look the TIDs up in vacuumparallel.c's shared store
        p.bulkdel(dead.by_block(), old_reltuples, v.c.index_scans as i32);
    } else {
        for i in 0..v.indrels.len() {
            let mut info = index_info(v, i, true, old_reltuples);
            // SAFETY: an open index of this table; the callback only reads `dead`.
            v.stats[i] = unsafe {
                pg_sys::index_bulk_delete(
                    &mut info,
                    v.stats[i],
                    Some(tid_is_dead),
                    &dead as *const DeadTids as *mut core::ffi::c_void,
                )
            };
        }
    }
    v.c.index_scans += 1;
    for (blk, offs) in dead.by_block() {
        compat::vacuum_delay_point();
        let buf = read(v, blk);
        // SAFETY: valid relation; pinned before the heap page is locked.
        unsafe { pg_sys::visibilitymap_pin(v.rel, blk, &mut v.vmbuf) };
        // An exclusive lock suffices: no tuple moves, LP_DEAD items have no storage.
        // SAFETY: pinned by `read` just above; the guard releases the pin.
        let guard = unsafe { LockedBuffer::lock_pinned(buf, LockMode::Exclusive) };
        vacuum_page(v, buf, offs);
        set_visible_if_all_visible(v, buf, blk, &[]);
        let free = guard.page_ref().free_space();
        drop(guard);
        record_free_space(v, blk, free);
    }
    v.dead = dead.into_buffer();
}

/// Can the end of the table be cut off? Same thresholds as heap.
fn should_truncate(v: &Vac, params: &pg_sys::VacuumParams) -> bool {
    let freeable = v.c.rel_pages - v.c.nonempty_pages.min(v.c.rel_pages);
    params.truncate != pg_sys::VacOptValue::VACOPTVALUE_DISABLED
        && freeable > 0
        && (freeable >= TRUNCATE_MINIMUM || freeable >= v.c.rel_pages / TRUNCATE_FRACTION)
}

/// The number of pages to keep: re-checked backwards under AccessExclusiveLock, since
/// inserts may have used the empty pages after our scan.
fn count_nondeletable(v: &Vac) -> u32 {
    let mut blk = v.c.rel_pages;
    while blk > v.c.nonempty_pages {
        pgrx::check_for_interrupts!();
        let b = blk - 1;
        // SAFETY: pinned by `read`; the guard releases the pin.
        let guard = unsafe { LockedBuffer::lock_pinned(read(v, b), LockMode::Share) };
        let page = guard.page();
        let used = !page.is_new() && (1..=page.max_offset()).any(|o| page.lp_flags(o) != LP_UNUSED);
        drop(guard);
        if used {
            break;
        }
        blk = b;
    }
    blk
}

fn truncate(v: &mut Vac) {
    let lockmode = pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE;
    let mut got = false;
    for _ in 0..TRUNCATE_LOCK_TRIES {
        // SAFETY: valid relation.
        if unsafe { pg_sys::ConditionalLockRelation(v.rel, lockmode) } {
            got = true;
            break;
        }
        pgrx::check_for_interrupts!();
        // SAFETY: plain sleep.
        unsafe { pg_sys::pg_usleep(50_000) };
    }
    if !got {
        ereport!(
            v.log_level,
            PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
            format!(
                "\"{}\": stopping truncate due to conflicting lock request",
                rel::name(v.rel)
            )
        );
        return;
    }
    if rel::nblocks(v.rel) == v.c.rel_pages {
        let keep = count_nondeletable(v);
        if keep < v.c.rel_pages {
            // SAFETY: we hold AccessExclusiveLock; RelationTruncate WAL-logs the
            // truncation and trims the FSM and VM forks.
            unsafe { pg_sys::RelationTruncate(v.rel, keep) };
            v.c.removed_pages = v.c.rel_pages - keep;
            v.c.rel_pages = keep;
        }
    }
    // SAFETY: locked above.
    unsafe { pg_sys::UnlockRelation(v.rel, lockmode) };
}

fn qualified_name(rel_: pg_sys::Relation) -> String {
    // SAFETY: catalog lookups for an open relation in the current database.
    unsafe {
        let db = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        let ns = pg_sys::get_namespace_name((*(*rel_).rd_rel).relnamespace);
        let s = |p: *mut core::ffi::c_char| {
            if p.is_null() {
                String::from("?")
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        format!("{}.{}.{}", s(db), s(ns), rel::name(rel_))
    }
}

/// table_relation_vacuum.
pub fn relation_vacuum(
    relation: pg_sys::Relation,
    params: *mut pg_sys::VacuumParams,
    strategy: pg_sys::BufferAccessStrategy,
) {
    let started = std::time::Instant::now();
    // SAFETY: params is vacuum.c's, valid for the call.
    let params = unsafe { &*params };
    let verbose = params.options & pg_sys::VACOPT_VERBOSE != 0;
    let autovacuum = compat::is_autovacuum_worker();
    let elevel = if verbose {
        pg_sys::INFO as i32
    } else {
        pg_sys::DEBUG2 as i32
    };
    // SAFETY: reads the backend's WAL usage counters.
    let wal_before = unsafe { pg_sys::pgWalUsage };
    if verbose {
        ereport!(
            INFO,
            PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
            format!("vacuuming \"{}\"", qualified_name(relation))
        );
    }

    // SAFETY: reads the clock (pgstat_report_vacuum's start time from PostgreSQL 18).
    let start_ts = unsafe { pg_sys::GetCurrentTimestamp() };
    let compat::VacuumCutoffs {
        aggressive,
        oldest_xmin,
        oldest_mxact,
        freeze_limit,
        multi_cutoff,
    } = compat::vacuum_cutoffs(relation, params);
    // SAFETY: the relation's current relfrozenxid/relminmxid for the report.
    let (old_frozen, old_minmulti) = unsafe {
        (
            (*(*relation).rd_rel).relfrozenxid.into_inner(),
            (*(*relation).rd_rel).relminmxid.into_inner(),
        )
    };

    let mut nind: i32 = 0;
    let mut indarr: *mut pg_sys::Relation = std::ptr::null_mut();
    // SAFETY: opens the table's indexes with RowExclusiveLock, as heap's VACUUM.
    unsafe {
        pg_sys::vac_open_indexes(
            relation,
            pg_sys::RowExclusiveLock as pg_sys::LOCKMODE,
            &mut nind,
            &mut indarr,
        )
    };
    let indrels: Vec<pg_sys::Relation> = (0..nind as usize)
        // SAFETY: vac_open_indexes returned an array of nind relations.
        .map(|i| unsafe { *indarr.add(i) })
        .collect();
    // SAFETY: reads GUCs.
    let mem_kb = unsafe {
        if autovacuum && sys_extra::autovacuum_work_mem != -1 {
            sys_extra::autovacuum_work_mem
        } else {
            pg_sys::maintenance_work_mem
        }
    } as usize;
    let mut v = Vac {
        rel: relation,
        strategy,
        vistest: xact::global_vis_test_for(relation),
        oldest_xmin,
        cutoffs: FreezeCutoffs {
            freeze_limit,
            multi_cutoff,
        },
        horizons: RelHorizons {
            frozen_xid: oldest_xmin,
            min_multi: oldest_mxact,
        },
        aggressive,
        stats: vec![std::ptr::null_mut(); indrels.len()],
        indrels,
        dead: Vec::new(),
        max_dead: (mem_kb * 1024 / std::mem::size_of::<u64>()).max(MAX_TUPLES_PER_PAGE * 4),
        index_vacuum: params.index_cleanup != pg_sys::VacOptValue::VACOPTVALUE_DISABLED,
        elevel,
        log_level: if verbose {
            PgLogLevel::INFO
        } else {
            PgLogLevel::DEBUG2
        },
        vmbuf: pg_sys::InvalidBuffer as pg_sys::Buffer,
        skip_allowed: params.options & pg_sys::VACOPT_DISABLE_PAGE_SKIPPING == 0,
        parallel: None,
        c: Counts::default(),
    };
    v.c.rel_pages = rel::nblocks(relation);
    // Parallel index vacuuming, decided as heap's dead_items_alloc decides it:
    // params.nworkers is -1 for PARALLEL 0 and autovacuum, 0 when VACUUM chooses (plain
    // VACUUM), n for PARALLEL n; one worker per index at most, so only with two indexes
    // or more, and only when indexes are vacuumed at all (not INDEX_CLEANUP off).
    // vacuumparallel.c then leaves out indexes smaller than min_parallel_index_scan_size
    // and may start no worker, and the indexes are vacuumed here one after another.
    if params.nworkers >= 0 && v.indrels.len() > 1 && v.index_vacuum {
        if rel::uses_local_buffers(relation) {
            // workers cannot read a temporary table's local buffers
            if params.nworkers > 0 {
                ereport!(
                    WARNING,
                    PgSqlErrorCode::ERRCODE_WARNING,
                    format!(
                        "disabling parallel option of vacuum on \"{}\" --- cannot vacuum temporary tables in parallel",
                        rel::name(relation)
                    )
                );
            }
        } else {
            // the shared array holds at most what this VACUUM can collect (heap's
            // dead_items_max_items: every line pointer of the table, within MaxAllocSize)
            let cap = v
                .max_dead
                .min((v.c.rel_pages.max(1) as usize) * MAX_TUPLES_PER_PAGE)
                .min(MAX_ALLOC_DEAD_ITEMS);
            // SAFETY: the table and its open indexes; v.indrels is not moved or resized
            // until the parallel state ends.
            v.parallel = unsafe {
                compat::ParallelVacuum::begin(
                    relation,
                    &mut v.indrels,
                    params.nworkers,
                    cap,
                    mem_kb,
                    v.elevel,
                    strategy,
                )
            };
            if let Some(p) = &v.parallel {
                v.max_dead = p.max_items(v.max_dead);
            }
        }
    }

    // Pages the visibility map says need nothing are skipped as heap skips them
    // (vplan::skip_range: in runs of 32 or more, never the last page).
    let skip_with_vm = v.skip_allowed;
    let mut range = next_skip_range(&mut v, 0, skip_with_vm);
    for blk in 0..v.c.rel_pages {
        pgrx::check_for_interrupts!();
        let skip = if blk == range.next_unskippable {
            range = next_skip_range(&mut v, blk + 1, skip_with_vm);
            false
        } else {
            range.skip
        };
        if v.dead.len() + MAX_TUPLES_PER_PAGE > v.max_dead {
            vacuum_indexes_and_pages(&mut v);
        }
        scan_page(&mut v, blk, skip);
    }
    // INDEX_CLEANUP AUTO (the default): heap's bypass. When the items left to vacuum
    // are few -- on fewer than 2% of the table's pages (BYPASS_THRESHOLD_PAGES), fewer
    // than 32 MB of TIDs -- and no round of index vacuuming has happened yet, scanning
    // every index for them costs more than leaving them: they stay LP_DEAD (their pages
    // not all-visible) until a later VACUUM. Index cleanup still runs.
    let bypass_pages = (!v.dead.is_empty()
        && params.index_cleanup == pg_sys::VacOptValue::VACOPTVALUE_AUTO
        && v.c.index_scans == 0)
        .then(|| dead_item_pages(&v.dead))
        .filter(|&pages| {
            (pages as f64) < v.c.rel_pages as f64 * BYPASS_THRESHOLD_PAGES
                && v.dead.len() < BYPASS_MAX_ITEMS
        });
    if let Some(pages) = bypass_pages {
        v.c.bypassed = Some((pages, v.dead.len() as u64));
        v.dead.clear();
    }
    // INDEX_CLEANUP off: the items stay LP_DEAD; reported as heap reports a bypass
    if !v.index_vacuum {
        v.c.bypassed = Some((v.c.lpdead_pages, v.c.lpdead_items));
    }
    vacuum_indexes_and_pages(&mut v);
    // Before truncation, which drops the map's trailing buffers too (a pinned one would
    // be a PANIC in InvalidateBuffer).
    if v.vmbuf != pg_sys::InvalidBuffer as pg_sys::Buffer {
        // SAFETY: pinned by visibilitymap_pin.
        unsafe { crate::pg::bufmgr::release(v.vmbuf) };
        v.vmbuf = pg_sys::InvalidBuffer as pg_sys::Buffer;
    }
    // The pages got new free space: make the FSM's upper levels see it.
    // SAFETY: valid relation.
    unsafe { pg_sys::FreeSpaceMapVacuumRange(relation, 0, pg_sys::InvalidBlockNumber) };

    // Index cleanup (amvacuumcleanup) with the final tuple count.
    let mut index_lines = Vec::new();
    let index_cleanup = params.index_cleanup != pg_sys::VacOptValue::VACOPTVALUE_DISABLED;
    if index_cleanup {
        if let Some(p) = v.parallel.as_mut() {
            p.cleanup(v.c.live_tuples as f64, v.c.index_scans as i32, false);
        } else {
            for i in 0..v.indrels.len() {
                let mut info = index_info(&v, i, false, v.c.live_tuples as f64);
                // SAFETY: open index; stats may be NULL (no bulk delete happened).
                v.stats[i] = unsafe { pg_sys::index_vacuum_cleanup(&mut info, v.stats[i]) };
            }
        }
    }
    // Leave parallel mode (the indexes' statistics come back from the shared state)
    // before anything below updates pg_class, which parallel mode forbids.
    if let Some(p) = v.parallel.take() {
        p.end(&mut v.stats);
    }
    if index_cleanup {
        for i in 0..v.indrels.len() {
            let st = v.stats[i];
            if !st.is_null() {
                // SAFETY: a result allocated by the index AM.
                let s = unsafe { &*st };
                if !s.estimated_count {
                    // SAFETY: updates the index's pg_class row, as heap's VACUUM does.
                    unsafe {
                        compat::vac_update_relstats(
                            v.indrels[i],
                            s.num_pages,
                            s.num_index_tuples,
                            0,
                            0,
                            false,
                            0,
                            0,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                        )
                    };
                }
                index_lines.push(format!(
                    "index \"{}\": pages: {} in total, {} newly deleted, {} currently deleted, {} reusable",
                    rel::name(v.indrels[i]),
                    s.num_pages,
                    s.pages_newly_deleted,
                    s.pages_deleted,
                    s.pages_free
                ));
            }
        }
    }

    if should_truncate(&v, params) {
        truncate(&mut v);
    }

    // Pages skipped as all-visible (or pinned) were not examined: their xids may be old.
    let scanned_all = v.c.skipped_pages == 0 && v.c.visible_skipped == 0;
    let (mut all_visible_pages, mut all_frozen_pages) = (0u32, 0u32);
    // SAFETY: valid relation.
    unsafe { pg_sys::visibilitymap_count(relation, &mut all_visible_pages, &mut all_frozen_pages) };
    let skipped = v.c.visible_skipped + v.c.frozen_skipped;
    let new_live_tuples = if skipped == 0 {
        v.c.live_tuples as f64
    } else {
        // Like heap: extrapolate from the pages examined to the ones skipped.
        // SAFETY: vacuum.c's estimator for this relation.
        unsafe {
            pg_sys::vac_estimate_reltuples(
                relation,
                v.c.rel_pages,
                v.c.rel_pages.saturating_sub(skipped),
                v.c.live_tuples as f64,
            )
        }
    };

    let (new_frozen, new_minmulti) = if scanned_all {
        (v.horizons.frozen_xid, v.horizons.min_multi)
    } else {
        (0, 0)
    };
    let mut frozen_updated = false;
    let mut minmulti_updated = false;
    // SAFETY: vacuum.c's pg_class update for this relation (non-transactional, in place).
    unsafe {
        compat::vac_update_relstats(
            relation,
            v.c.rel_pages,
            new_live_tuples,
            all_visible_pages.min(v.c.rel_pages),
            all_frozen_pages.min(v.c.rel_pages),
            !v.indrels.is_empty(),
            new_frozen,
            new_minmulti,
            &mut frozen_updated,
            &mut minmulti_updated,
        );
        compat::pgstat_report_vacuum(
            rel::relid(relation),
            (*(*relation).rd_rel).relisshared,
            new_live_tuples as i64,
            v.c.recently_dead as i64,
            start_ts,
        );
    }

    let elapsed = started.elapsed();
    let report_autovacuum = autovacuum
        && params.log_min_duration >= 0
        && elapsed.as_millis() >= params.log_min_duration as u128;
    if verbose || report_autovacuum {
        // SAFETY: reads the backend's WAL usage counters.
        let wal_after = unsafe { pg_sys::pgWalUsage };
        let c = &v.c;
        let pct = |n: u32| {
            if c.rel_pages == 0 {
                100.0
            } else {
                100.0 * n as f64 / (c.rel_pages + c.removed_pages) as f64
            }
        };
        // VERBOSE says "finished vacuuming", autovacuum's log line names its kind, as
        // heap's do (an anti-wraparound run is always aggressive).
        let what = if !report_autovacuum || verbose {
            "finished vacuuming"
        } else if params.is_wraparound {
            "automatic aggressive vacuum to prevent wraparound of table"
        } else if aggressive {
            "automatic aggressive vacuum of table"
        } else {
            "automatic vacuum of table"
        };
        let mut msg = format!(
            "{what} \"{}\": index scans: {}\n\
             pages: {} removed, {} remain, {} scanned ({:.2}% of total), {} skipped (pinned), {} skipped (all-visible), {} skipped (all-frozen)\n\
             visibility map: {} pages newly all-visible; {} all-visible, {} all-frozen in total\n\
             tuples: {} removed, {} remain, {} are dead but not yet removable\n\
             frozen: {} pages had {} tuples frozen\n\
             dead item identifiers: {} removed on {} pages",
            qualified_name(relation),
            c.index_scans,
            c.removed_pages,
            c.rel_pages,
            c.scanned_pages,
            pct(c.scanned_pages),
            c.skipped_pages,
            c.visible_skipped,
            c.frozen_skipped,
            c.newly_visible,
            all_visible_pages,
            all_frozen_pages,
            c.tuples_deleted,
            // heap's new_rel_tuples: the live tuples extrapolated over skipped pages,
            // and those dead but not yet removable
            new_live_tuples.max(0.0) as u64 + c.recently_dead,
            c.recently_dead,
            c.frozen_pages,
            c.frozen_tuples,
            c.lpdead_removed,
            c.lpdead_pages,
        );
        if let Some((pages, items)) = c.bypassed {
            msg.push_str(&format!(
                "\nindex scan bypassed: {} pages from table ({:.2}% of total) have {} dead item identifiers",
                pages,
                pct(pages),
                items
            ));
        }
        for l in &index_lines {
            msg.push('\n');
            msg.push_str(l);
        }
        // Xids and WAL volume vary from run to run: they go in the DETAIL so tests can
        // compare the counts above exactly.
        let detail = format!(
            "removable cutoff: {}; new relfrozenxid: {}{}; new relminmxid: {}{}; WAL usage: {} records, {} full page images, {} bytes; elapsed {:.3} s",
            oldest_xmin,
            if frozen_updated { new_frozen } else { old_frozen },
            if frozen_updated { "" } else { " (unchanged)" },
            if minmulti_updated { new_minmulti } else { old_minmulti },
            if minmulti_updated { "" } else { " (unchanged)" },
            wal_after.wal_records - wal_before.wal_records,
            wal_after.wal_fpi - wal_before.wal_fpi,
            wal_after.wal_bytes - wal_before.wal_bytes,
            elapsed.as_secs_f64(),
        );
        let level = if verbose {
            PgLogLevel::INFO
        } else {
            PgLogLevel::LOG
        };
        ereport!(
            level,
            PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
            msg,
            detail
        );
    }

    for s in v.stats.iter().filter(|s| !s.is_null()) {
        // SAFETY: palloc'd by the index AM in our memory context.
        unsafe { pg_sys::pfree(*s as *mut core::ffi::c_void) };
    }
    // SAFETY: closes what vac_open_indexes opened; locks are kept to end of transaction.
    unsafe { pg_sys::vac_close_indexes(nind, indarr, pg_sys::NoLock as pg_sys::LOCKMODE) };
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_vacuum(
        rel_: pg_sys::Relation,
        params: *mut pg_sys::VacuumParams,
        strategy: pg_sys::BufferAccessStrategy,
    ) {
        super::relation_vacuum(rel_, params, strategy)
    }
}
