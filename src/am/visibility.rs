//! Visibility glue: answers the pure rules' questions from PostgreSQL's transaction
//! machinery, applies hint bits under the buffer rules, and does the SERIALIZABLE
//! bookkeeping heap does around each visibility test.

use super::{cidmap, combocid};
use crate::pg::rel;
use crate::pg::sys_extra;
use crate::pg::xact;
use glassheap_format::tuple::TupleHeader;
use glassheap_format::visibility::{
    self as vis, Cid, Explain, Hints, Htsv, NoExplain, SnapshotKind, TxnOracle,
};
use glassheap_format::{xid_is_normal, xid_precedes, Xid};
use pgrx::pg_sys;
use pgrx::prelude::*;

/// Where the tuple under test lives (for command ids kept in the cid map).
#[derive(Clone, Copy)]
pub struct TupleLoc {
    pub rnode: crate::pg::compat::RelFileLocator,
    pub blk: pg_sys::BlockNumber,
    pub off: u16,
}

/// PostgreSQL's answers to the visibility rules' questions.
pub struct Oracle {
    pub snapshot: pg_sys::Snapshot,
    pub loc: TupleLoc,
}

impl Oracle {
    pub fn new(snapshot: pg_sys::Snapshot, loc: TupleLoc) -> Oracle {
        Oracle { snapshot, loc }
    }

    /// The raw command id word of a tuple: `aux`, or the cid map when `aux` holds a
    /// forward block number or a speculative token.
    pub fn raw_cid(&self, h: &TupleHeader) -> u32 {
        if h.aux_is_cid() {
            return h.aux;
        }
        if let Some(c) = cidmap::lookup(&self.loc.rnode, self.loc.blk, self.loc.off) {
            return c;
        }
        // SAFETY: reads a backend-local global.
        let in_worker = unsafe { pg_sys::ParallelWorkerNumber >= 0 };
        if in_worker {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!(
                    "glassheap: a parallel worker cannot see the command id of row ({},{}) moved to another page by this transaction",
                    self.loc.blk, self.loc.off
                ),
                "Run the query without parallelism (SET max_parallel_workers_per_gather = 0) in transactions that update glassheap rows."
            );
        }
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!(
                "glassheap: no command id recorded for row ({},{}) written by the current transaction",
                self.loc.blk, self.loc.off
            )
        );
    }
}

impl TxnOracle for Oracle {
    #[inline]
    fn is_current(&mut self, xid: Xid) -> bool {
        // SAFETY: plain transaction-state lookup.
        xact::is_current(xid)
    }
    #[inline]
    fn in_progress(&mut self, xid: Xid) -> bool {
        // SAFETY: proc-array lookup.
        xact::in_progress(xid)
    }
    #[inline]
    fn did_commit(&mut self, xid: Xid) -> bool {
        // SAFETY: pg_xact lookup.
        xact::did_commit(xid)
    }
    #[inline]
    fn in_snapshot(&mut self, xid: Xid) -> bool {
        // The first two tests of XidInMVCCSnapshot, inlined: they settle almost every
        // tuple of a quiet table without a call into PostgreSQL.
        // SAFETY: the snapshot is a valid registered MVCC snapshot.
        unsafe {
            let s = &*self.snapshot;
            if xid_precedes(xid, s.xmin.into_inner()) {
                return false;
            }
            if !xid_precedes(xid, s.xmax.into_inner()) {
                return true;
            }
            pg_sys::XidInMVCCSnapshot(xid.into(), self.snapshot)
        }
    }
    fn multi_update_xid(&mut self, multi: Xid, h: &TupleHeader) -> Xid {
        super::multixact::update_xid(multi, h.xmax_mode().is_lock_only())
    }
    #[inline]
    fn multi_is_running(&mut self, multi: Xid, lock_only: bool) -> bool {
        // SAFETY: multixact lookup.
        xact::multi_is_running(multi, lock_only)
    }
    fn cmin(&mut self, h: &TupleHeader) -> Cid {
        let raw = self.raw_cid(h);
        combocid::cmin(h, raw)
    }
    fn cmax(&mut self, h: &TupleHeader) -> Cid {
        let raw = self.raw_cid(h);
        combocid::cmax(h, raw)
    }
    fn removable(&mut self, xid: Xid) -> bool {
        // SAFETY: vistest was set up by whoever built the non-vacuumable snapshot.
        unsafe { xact::global_vis_removable((*self.snapshot).vistest, xid) }
    }
}

/// The snapshot kind of a PostgreSQL snapshot.
pub fn snapshot_kind(snapshot: pg_sys::Snapshot) -> SnapshotKind {
    // SAFETY: valid snapshot pointer.
    let s = unsafe { &*snapshot };
    match s.snapshot_type {
        pg_sys::SnapshotType::SNAPSHOT_MVCC => SnapshotKind::Mvcc { curcid: s.curcid },
        pg_sys::SnapshotType::SNAPSHOT_SELF => SnapshotKind::SelfSnap,
        pg_sys::SnapshotType::SNAPSHOT_ANY => SnapshotKind::Any,
        pg_sys::SnapshotType::SNAPSHOT_TOAST => SnapshotKind::Toast,
        pg_sys::SnapshotType::SNAPSHOT_DIRTY => SnapshotKind::Dirty,
        pg_sys::SnapshotType::SNAPSHOT_HISTORIC_MVCC => SnapshotKind::HistoricMvcc,
        pg_sys::SnapshotType::SNAPSHOT_NON_VACUUMABLE => SnapshotKind::NonVacuumable,
        other => error!("glassheap: unknown snapshot type {}", other),
    }
}

/// SetHintBits for each hint the rules allowed: a "committed" hint only once the commit
/// record is flushed (or the page LSN already covers it), as heap does.
///
/// # Safety
/// `tup` points at a tuple on the pinned `buffer`, which the caller holds at least share
/// locked.
pub unsafe fn apply_hints(buffer: pg_sys::Buffer, tup: *mut u8, hints: &Hints) {
    for (flag, xid) in hints.iter() {
        // SAFETY: the caller holds the buffer pinned; `xid` (when set) committed.
        if xid != 0 && !unsafe { xact::hints_safe(xid, buffer) } {
            continue;
        }
        // SAFETY: hint bits are only ever ORed into the info word; every other info
        // field changes under an exclusive lock, which excludes us.
        unsafe {
            let mut h = crate::pg::page::read_header(tup);
            h.set_flags(flag);
            std::ptr::copy_nonoverlapping(h.info.to_ne_bytes().as_ptr(), tup.add(12), 4);
            crate::pg::page::mark_dirty_hint(buffer);
        }
    }
}

/// Everything needed to test tuples of one page against one snapshot.
pub struct VisCtx {
    pub rel: pg_sys::Relation,
    pub snapshot: pg_sys::Snapshot,
    pub kind: SnapshotKind,
    pub rnode: crate::pg::compat::RelFileLocator,
    /// CheckForSerializableConflictOutNeeded, evaluated once per page.
    pub ssi: bool,
}

impl VisCtx {
    pub fn new(rel: pg_sys::Relation, snapshot: pg_sys::Snapshot) -> VisCtx {
        let kind = snapshot_kind(snapshot);
        if kind == SnapshotKind::HistoricMvcc {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!(
                    "glassheap: relation \"{}\" cannot be read with a historic MVCC snapshot",
                    rel::name(rel)
                ),
                "Logical decoding of catalog tables (user_catalog_table) is not supported by glassheap."
            );
        }
        VisCtx {
            rel,
            snapshot,
            kind,
            rnode: rel::relfilenode(rel),
            ssi: false,
        }
    }

    /// Re-evaluates whether SSI conflict checks are needed (call once per page).
    pub fn refresh_ssi(&mut self) {
        // SAFETY: predicate.c lookup of this backend's serializable transaction.
        self.ssi = crate::pg::ssi::active()
            && unsafe { sys_extra::CheckForSerializableConflictOutNeeded(self.rel, self.snapshot) };
    }

    /// Tests the tuple at (blk, off) on `page` (pinned, at least share locked), applies
    /// hint bits, writes dirty-snapshot outputs, and does the SSI conflict-out check.
    ///
    /// # Safety
    /// `buffer` is pinned and locked; `tup` points at the tuple's first byte on that page.
    pub unsafe fn check(
        &self,
        buffer: pg_sys::Buffer,
        blk: pg_sys::BlockNumber,
        off: u16,
        tup: *mut u8,
    ) -> bool {
        // SAFETY: the caller's contract is check_explained's.
        unsafe { self.check_explained(buffer, blk, off, tup, &mut NoExplain) }
    }

    /// [`VisCtx::check`] with an explanation recorder.
    ///
    /// # Safety
    /// As for `check`.
    pub unsafe fn check_explained<E: Explain>(
        &self,
        buffer: pg_sys::Buffer,
        blk: pg_sys::BlockNumber,
        off: u16,
        tup: *mut u8,
        e: &mut E,
    ) -> bool {
        // SAFETY: caller guarantees 16 readable bytes at tup.
        let h = unsafe { crate::pg::page::read_header(tup) };
        let loc = TupleLoc {
            rnode: self.rnode,
            blk,
            off,
        };
        let mut o = Oracle::new(self.snapshot, loc);
        let verdict = match vis::satisfies(&h, self.kind, &mut o, e) {
            Ok(v) => v,
            Err(u) => error!("glassheap: unsupported snapshot: {}", u.0),
        };
        if !verdict.hints.is_empty() {
            // SAFETY: per the function contract.
            unsafe { apply_hints(buffer, tup, &verdict.hints) };
        }
        if self.kind == SnapshotKind::Dirty {
            // SAFETY: dirty snapshots carry their outputs in the snapshot struct.
            unsafe {
                (*self.snapshot).xmin = verdict.dirty.xmin.into();
                (*self.snapshot).xmax = verdict.dirty.xmax.into();
                (*self.snapshot).speculativeToken = verdict.dirty.speculative_token;
            }
        }
        if self.ssi {
            // SAFETY: buffer still locked; h is a copy.
            unsafe { self.conflict_out(verdict.visible, &h, buffer, tup, &mut o) };
        }
        verdict.visible
    }

    /// HeapCheckForSerializableConflictOut for a glassheap tuple.
    unsafe fn conflict_out(
        &self,
        visible: bool,
        h: &TupleHeader,
        buffer: pg_sys::Buffer,
        tup: *mut u8,
        o: &mut Oracle,
    ) {
        let mut hints = Hints::default();
        let xmin_horizon = crate::pg::xact::transaction_xmin();
        let (status, dead_after) = vis::satisfies_vacuum_horizon(h, o, &mut hints, &mut NoExplain);
        let status = if status == Htsv::RecentlyDead && xid_precedes(dead_after, xmin_horizon) {
            Htsv::Dead
        } else {
            status
        };
        let xid = match status {
            Htsv::Live => {
                if visible {
                    return;
                }
                h.xmin
            }
            Htsv::RecentlyDead | Htsv::DeleteInProgress => {
                let x = if visible { update_xid_of(h, o) } else { h.xmin };
                if xid_precedes(x, xmin_horizon) {
                    return;
                }
                x
            }
            Htsv::InsertInProgress => h.xmin,
            Htsv::Dead => return,
        };
        if !hints.is_empty() {
            // SAFETY: same buffer and tuple, still locked.
            unsafe { apply_hints(buffer, tup, &hints) };
        }
        if !xid_is_normal(xid) {
            return;
        }
        let top = crate::pg::xact::topmost(xid);
        if xid_precedes(top, xmin_horizon) {
            return;
        }
        // SAFETY: predicate.c call.
        unsafe { sys_extra::CheckForSerializableConflictOut(self.rel, top.into(), self.snapshot) };
    }
}

/// When a RECENTLY_DEAD version counts as DEAD: its deleter precedes an xmin horizon,
/// or a GlobalVis test says it is removable, or never (the caller wants the raw status).
pub enum Removable<'a> {
    Before(Xid),
    GlobalVis(&'a mut GlobalVisCutoff),
    Never,
}

/// GlobalVisTestIsRemovableXid that remembers the newest deleter it said is removable:
/// the horizon only moves forward, so every deleter preceding that one is removable too,
/// and the versions of a page (most deleted by the same few transactions) need not each
/// make the call into the server. One per pass over a relation's pages (pruning a page,
/// an index deletion call).
pub struct GlobalVisCutoff {
    vistest: *mut pg_sys::GlobalVisState,
    removable_upto: Xid,
}

impl GlobalVisCutoff {
    /// `vistest` comes from GlobalVisTestFor for the relation whose versions are tested.
    pub fn new(vistest: *mut pg_sys::GlobalVisState) -> Self {
        GlobalVisCutoff {
            vistest,
            removable_upto: 0,
        }
    }

    /// Is a version whose deleter is `dead_after` (heap's `dead_after`: the xid after
    /// whose end it is dead to everyone) removable now?
    pub fn removable(&mut self, dead_after: Xid) -> bool {
        let normal = xid_is_normal(dead_after);
        if normal && self.removable_upto != 0 && !xid_precedes(self.removable_upto, dead_after) {
            return true;
        }
        // SAFETY: vistest comes from GlobalVisTestFor for this relation (`new`).
        if unsafe { xact::global_vis_removable(self.vistest, dead_after) } {
            if normal {
                self.removable_upto = dead_after;
            }
            return true;
        }
        false
    }
}

/// HeapTupleSatisfiesVacuum for the version at `tup` on a locked `buffer`: its status
/// against `removable`, with the hint bits learned on the way applied to the page. The
/// hints are returned too, for a caller that copies the header elsewhere.
///
/// # Safety
/// `buffer` is pinned and locked; `tup` points at the tuple's first byte on that page.
pub unsafe fn vacuum_status(
    buffer: pg_sys::Buffer,
    tup: *mut u8,
    loc: TupleLoc,
    removable: Removable<'_>,
) -> (Htsv, Hints) {
    // SAFETY: the caller's contract is this function's.
    let (mut status, dead_after, hints) = unsafe { vacuum_status_raw(buffer, tup, loc) };
    if status == Htsv::RecentlyDead
        && match removable {
            Removable::Before(xmin) => xid_precedes(dead_after, xmin),
            Removable::GlobalVis(v) => v.removable(dead_after),
            Removable::Never => false,
        }
    {
        status = Htsv::Dead;
    }
    (status, hints)
}

/// [`vacuum_status`] without a removal horizon: the status (RECENTLY_DEAD not resolved),
/// the xid after whose end a RECENTLY_DEAD version is dead to everyone (heap's
/// `dead_after`), and the hint bits, already applied to the page.
///
/// # Safety
/// As [`vacuum_status`].
pub unsafe fn vacuum_status_raw(
    buffer: pg_sys::Buffer,
    tup: *mut u8,
    loc: TupleLoc,
) -> (Htsv, Xid, Hints) {
    // SAFETY: per the contract, 16 readable header bytes at tup.
    let h = unsafe { crate::pg::page::read_header(tup) };
    let mut o = Oracle::new(std::ptr::null_mut(), loc);
    let mut hints = Hints::default();
    let (status, dead_after) =
        vis::satisfies_vacuum_horizon(&h, &mut o, &mut hints, &mut NoExplain);
    if !hints.is_empty() {
        // SAFETY: per the contract.
        unsafe { apply_hints(buffer, tup, &hints) };
    }
    (status, dead_after, hints)
}

/// HeapTupleHeaderGetUpdateXid: the xid that updated/deleted the tuple (0 if none).
pub fn update_xid_of(h: &TupleHeader, o: &mut Oracle) -> Xid {
    if h.xmax_is_multi() && !h.xmax_invalid() {
        o.multi_update_xid(h.xmax, h)
    } else {
        h.xmax
    }
}

/// Is the tuple surely dead to everyone (for kill_prior_tuple)? heap's HeapTupleIsSurelyDead:
/// relies only on hint bits, so it never consults the proc array or pg_xact.
pub fn surely_dead(h: &TupleHeader, vistest: *mut pg_sys::GlobalVisState) -> bool {
    if !h.xmin_committed() {
        return h.xmin_invalid();
    }
    if h.xmax_invalid() || h.xmax_is_locked_only() || h.xmax_is_multi() || !h.xmax_committed() {
        return false;
    }
    // SAFETY: vistest obtained from GlobalVisTestFor for this relation.
    unsafe { xact::global_vis_removable(vistest, h.xmax) }
}

/// Is this an MVCC snapshot (regular or historic)?
pub(crate) fn is_mvcc(snapshot: pg_sys::Snapshot) -> bool {
    // SAFETY: valid snapshot or null.
    !snapshot.is_null()
        && unsafe {
            matches!(
                (*snapshot).snapshot_type,
                pg_sys::SnapshotType::SNAPSHOT_MVCC | pg_sys::SnapshotType::SNAPSHOT_HISTORIC_MVCC
            )
        }
}

/// HeapTupleHeaderAdvanceLatestRemovedXid: the newest xid whose removal standbys must
/// wait for (committed updater/deleter of a committed insert).
pub(crate) fn advance_horizon(h: &TupleHeader, o: &mut Oracle, horizon: &mut Xid) {
    let xmax = update_xid_of(h, o);
    let committed = h.xmin_committed() || (!h.xmin_invalid() && o.did_commit(h.xmin));
    if committed
        && xmax != h.xmin
        && glassheap_format::xid_is_normal(xmax)
        && (*horizon == 0 || xid_precedes(*horizon, xmax))
    {
        *horizon = xmax;
    }
}
