//! Pruning one page (heap's pruneheap.c): versions no snapshot can see any more lose
//! their storage. A removed version with index entries keeps an LP_DEAD line pointer
//! until VACUUM has removed those entries; one without (a heap-only version) becomes
//! LP_UNUSED at once. The page is then defragmented so the space is reusable.
//!
//! Pruning moves tuples, so it needs a cleanup lock (exclusive lock and the only pin):
//! scans return pointers into pinned pages and must never see bytes move under them.
//! It runs from VACUUM and, opportunistically, when a scan or index fetch reads a page
//! that is nearly full and has a removable deleter (`pd_prune_xid`), like
//! heap_page_prune_opt.

use super::visibility::advance_horizon;
use super::visibility::{vacuum_status, GlobalVisCutoff, Oracle, Removable, TupleLoc};
use crate::pg::crit::CritSection;
use crate::pg::page::{damaged_page, read_header, PageRef};
use crate::pg::rel;
use glassheap_format::hot::{self, Item};
use glassheap_format::records::PruneBlock;
use glassheap_format::visibility::Htsv;
use glassheap_format::{xid_is_normal, xid_precedes, Xid};
use pgrx::pg_sys;

/// What pruning left on the page, for VACUUM's counts and freezing.
#[derive(Default)]
pub struct PruneOutcome {
    /// Versions removed by this call.
    pub removed: usize,
    /// The status of every version left in place (offset, status), in offset order;
    /// empty unless the caller asked for it (VACUUM freezes from it).
    pub kept: Vec<(u16, Htsv)>,
}

/// Sets line pointer states as a PRUNE record says, then defragments
/// (`PageMut::apply_prune`, which redo runs too). The caller checked the page
/// (`pagecheck`) before its critical section, so a refusal here is an ERROR that the
/// critical section turns into a PANIC, as PageRepairFragmentation's would be.
pub fn apply(page: PageRef, p: &PruneBlock) {
    if let Err(e) = page.change(|pm| pm.apply_prune(p)) {
        pgrx::error!("glassheap prune: {e}");
    }
}

/// Prunes a cleanup-locked page. `vistest` decides which deleters are old enough.
/// `report_kept` fills [`PruneOutcome::kept`] (VACUUM); on-access pruning has no use
/// for it and skips building it.
pub fn prune_page(
    relation: pg_sys::Relation,
    buffer: pg_sys::Buffer,
    vistest: *mut pg_sys::GlobalVisState,
    report_kept: bool,
) -> PruneOutcome {
    // SAFETY: the caller holds a cleanup lock on buffer.
    let page = unsafe { PageRef::of_buffer(buffer) };
    // SAFETY: buffer is pinned.
    let blk = unsafe { crate::pg::page::buffer_block_number(buffer) };
    // Pruning rewrites line pointers and defragments (PageRepairFragmentation) in a
    // critical section: everything that relies on is checked first.
    let in_use = match glassheap_format::pagecheck::check_page_in_use(page.view().bytes()) {
        Ok(in_use) => in_use,
        Err(d) => damaged_page(relation, blk, &d),
    };
    let mut out = PruneOutcome::default();
    let mut new_prune_xid: Xid = 0;
    // A page with no version and no redirect -- only LP_UNUSED items and LP_DEAD ones
    // without storage, what on-access pruning leaves of a page whose rows all moved on,
    // most of a table after full-table updates -- has nothing to prune and nothing to
    // keep: the plan below would be empty, so it is not built.
    if !in_use {
        if page.prune_xid() != 0 || page.is_full() {
            page.set_prune_xid(0);
            page.clear_full();
            // SAFETY: locked buffer; a hint-level change.
            unsafe { crate::pg::page::mark_dirty_hint(buffer) };
        }
        return out;
    }
    let rnode = rel::relfilenode(relation);
    let mut cutoff = GlobalVisCutoff::new(vistest);
    let status_of = |off: u16, tup: *mut u8| -> Htsv {
        let loc = TupleLoc { rnode, blk, off };
        // SAFETY: the page is locked (exclusively) and tup points at this version.
        unsafe { vacuum_status(buffer, tup, loc, Removable::GlobalVis(&mut cutoff)) }.0
    };
    let items = super::hot::page_items(page, rnode, blk, status_of);
    let chains = hot::plan(&items);
    let mut plan = PruneBlock {
        latest_removed_xid: 0,
        redirected: chains.redirected,
        dead: chains.dead,
        unused: chains.unused,
    };
    let mut removed = chains.removed.iter().peekable();
    if report_kept {
        out.kept
            .reserve(items.len().saturating_sub(chains.removed.len()));
    }
    // The header of a version is read only where it is needed: most versions of a page
    // being pruned are live and stay.
    let header_of = |off: u16| {
        // SAFETY: page_items checked this LP_NORMAL item's bounds; hints are applied.
        let h = unsafe { read_header(page.item(off)) };
        (
            h,
            Oracle::new(std::ptr::null_mut(), TupleLoc { rnode, blk, off }),
        )
    };
    for (i, item) in items.iter().enumerate() {
        let off = i as u16 + 1;
        let Item::Normal(m) = item else { continue };
        if removed.peek().is_some_and(|r| r.0 == off) {
            if removed.next().is_some_and(|r| r.1) {
                let (h, mut o) = header_of(off);
                advance_horizon(&h, &mut o, &mut plan.latest_removed_xid);
            }
            out.removed += 1;
            continue;
        }
        if matches!(m.status, Htsv::RecentlyDead | Htsv::DeleteInProgress) {
            let (h, mut o) = header_of(off);
            let x = super::visibility::update_xid_of(&h, &mut o);
            if xid_is_normal(x) && (new_prune_xid == 0 || xid_precedes(x, new_prune_xid)) {
                new_prune_xid = x;
            }
        }
        if report_kept {
            out.kept.push((off, m.status));
        }
    }
    if !plan.is_empty() {
        let crit = CritSection::enter();
        apply(page, &plan);
        page.set_prune_xid(new_prune_xid);
        page.clear_full();
        crate::pg::fault::point(crate::pg::fault::Kind::Prune);
        crit.mark_dirty(buffer);
        if rel::needs_wal(relation) {
            crate::rmgr::log::prune(&crit, buffer, &plan);
        }
    } else if page.prune_xid() != new_prune_xid || page.is_full() {
        // Only hints changed: no WAL, like heap.
        page.set_prune_xid(new_prune_xid);
        page.clear_full();
        // SAFETY: locked buffer; a hint-level change.
        unsafe { crate::pg::page::mark_dirty_hint(buffer) };
    }
    out
}

/// heap_page_prune_opt: prune a page a reader just pinned if it is worth it and nobody
/// else has it pinned. Never waits.
pub fn prune_opt(relation: pg_sys::Relation, buffer: pg_sys::Buffer) {
    // SAFETY: the caller holds a pin.
    let page = unsafe { PageRef::of_buffer(buffer) };
    // The page's own hint first: most pages (every page of a table that is only read)
    // have nothing to prune, and this costs no call into the server.
    let pxid = page.prune_xid();
    if !xid_is_normal(pxid) || page.is_new() || !page.is_glassheap() {
        return;
    }
    // Nor anything removable yet when the oldest deleter is not older than this
    // transaction's own xmin: the removal horizon is at most TransactionXmin while we
    // hold a snapshot (our PGPROC's xmin counts). The pages a transaction has just
    // updated are all like that, and an UPDATE's unique checks fetch from them once per
    // row. Without a snapshot TransactionXmin may be stale, which can only skip a prune.
    // SAFETY: a backend-local global.
    let txmin = unsafe { pg_sys::TransactionXmin.into_inner() };
    if xid_is_normal(txmin) && !xid_precedes(pxid, txmin) {
        return;
    }
    // Then the space test (heap makes it last): a page with room needs no pruning yet,
    // and testing that reads the page header only, where the removal-horizon tests below
    // are three calls into the server. Unlocked, like heap's; rechecked under the lock.
    let minfree = rel::target_page_free_space(relation).max(pg_sys::BLCKSZ as usize / 10);
    if !(page.is_full() || page.free_space() < minfree) {
        return;
    }
    // SAFETY: plain flag reads.
    if unsafe { pg_sys::RecoveryInProgress() } {
        return;
    }
    let vistest = crate::pg::xact::global_vis_test_for(relation);
    // SAFETY: vistest is this relation's, just above.
    if !unsafe { crate::pg::xact::global_vis_removable(vistest, pxid) } {
        return;
    }
    // SAFETY: pinned buffer; conditional, so a concurrent pin holder never waits on us.
    if !unsafe { pg_sys::ConditionalLockBufferForCleanup(buffer) } {
        return;
    }
    // SAFETY: the caller's pin, cleanup-locked just above (an exclusive content lock).
    let lock = unsafe {
        crate::pg::bufmgr::BufferLock::adopt(buffer, crate::pg::bufmgr::LockMode::Exclusive)
    };
    // Recheck under the lock: someone may have pruned meanwhile.
    if page.is_full() || page.free_space() < minfree {
        prune_page(relation, buffer, vistest, false);
    }
    lock.unlock();
}
