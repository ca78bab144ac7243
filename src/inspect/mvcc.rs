//! Teaching functions about MVCC: glassheap.visibility, glassheap.explain_visibility and
//! glassheap.version_chain, for heap and glassheap tables alike.
//!
//! One set of rules explains both formats: glassheap tuples go through the access
//! method's own check (the same code scans use, with an explanation recorder), and heap
//! tuples are restated for those rules by `glassheap_format::heap::rules_view`. For heap the
//! verdict shown is always heap's own (HeapTupleSatisfiesVisibility); if the explanation
//! ever reached a different verdict, a last step says so rather than hiding it.

use super::table_am;
use super::types::Xid;
use crate::am::visibility::VisCtx;
use crate::pg::page::PageRef;
use crate::pg::xact;
use glassheap_format::heap::{rules_view, HeapHeader, Infomask, Infomask2};
use glassheap_format::items::Am;
use glassheap_format::page::{LP_NORMAL, LP_REDIRECT};
use glassheap_format::tuple::{TupleHeader, HEADER_SIZE};
use glassheap_format::visibility::{self as vis, Cid, Explain, NoExplain, Step, Steps, TxnOracle};
use glassheap_format::{xid_precedes, Xid as RawXid, FROZEN_XID, INVALID_XID};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

/// PostgreSQL's answers about a heap tuple for the shared rules (the glassheap oracle
/// reads command ids from glassheap's own fields; heap's come from combocid.c).
struct HeapOracle {
    snapshot: pg_sys::Snapshot,
    tup: pg_sys::HeapTupleHeader,
}

impl TxnOracle for HeapOracle {
    fn is_current(&mut self, xid: RawXid) -> bool {
        xact::is_current(xid)
    }
    fn in_progress(&mut self, xid: RawXid) -> bool {
        xact::in_progress(xid)
    }
    fn did_commit(&mut self, xid: RawXid) -> bool {
        xact::did_commit(xid)
    }
    fn in_snapshot(&mut self, xid: RawXid) -> bool {
        // SAFETY: the active snapshot is a valid MVCC snapshot.
        unsafe { pg_sys::XidInMVCCSnapshot(xid.into(), self.snapshot) }
    }
    fn multi_update_xid(&mut self, _multi: RawXid, _h: &TupleHeader) -> RawXid {
        // SAFETY: tup points at the heap tuple on a pinned, share-locked buffer.
        unsafe { pg_sys::HeapTupleGetUpdateXid(self.tup).into_inner() }
    }
    fn multi_is_running(&mut self, multi: RawXid, lock_only: bool) -> bool {
        xact::multi_is_running(multi, lock_only)
    }
    fn cmin(&mut self, _h: &TupleHeader) -> Cid {
        // SAFETY: only asked for tuples inserted by the current transaction.
        unsafe { pg_sys::HeapTupleHeaderGetCmin(self.tup) }
    }
    fn cmax(&mut self, _h: &TupleHeader) -> Cid {
        // SAFETY: only asked for tuples deleted by the current transaction.
        unsafe { pg_sys::HeapTupleHeaderGetCmax(self.tup) }
    }
    fn removable(&mut self, _xid: RawXid) -> bool {
        false
    }
}

/// One stored tuple version judged against the statement's snapshot.
pub(super) struct Judgement {
    pub blk: u32,
    pub off: u16,
    pub xmin: RawXid,
    pub xmax: RawXid,
    pub xmin_status: &'static str,
    pub xmax_status: &'static str,
    pub visible: bool,
    pub steps: Vec<Step>,
    /// the version pointer (block, offset), equal to the tuple's own TID when none
    pub next: (u32, u16),
    pub heap_only: bool,
}

impl Judgement {
    pub fn reason(&self) -> String {
        self.steps
            .last()
            .map(|s| format!("{}: {}", s.rule, s.observed))
            .unwrap_or_default()
    }
}

/// What the commit log and the proc array say about an xid, in the words the toolkit
/// promises: committed / aborted / in progress / current transaction / frozen / invalid.
fn xid_status(xid: RawXid, committed_hint: bool, invalid_hint: bool) -> &'static str {
    if xid == INVALID_XID {
        return "invalid";
    }
    if xid == FROZEN_XID || (committed_hint && invalid_hint) {
        return "frozen";
    }
    if xid_precedes(xid, FROZEN_XID + 1) {
        return "committed"; // bootstrap
    }
    if xact::is_current(xid) {
        return "current transaction";
    }
    if committed_hint {
        return "committed";
    }
    if invalid_hint {
        return "aborted";
    }
    if xact::in_progress(xid) {
        return "in progress";
    }
    if xact::did_commit(xid) {
        "committed"
    } else {
        "aborted"
    }
}

/// xmax's status. A lock-only xmax whose lockers are gone is "invalid" (it no longer
/// affects anyone); an updater's xmax with the xmax_invalid hint was aborted (that hint is
/// only set for aborted updaters and finished lockers); a multixact answers for its
/// updating member, or for its lockers.
fn xmax_status<O: TxnOracle>(h: &TupleHeader, o: &mut O) -> &'static str {
    if h.xmax == INVALID_XID {
        return "invalid";
    }
    // the lock mode alone (xmax_is_locked_only also counts an invalid xmax as a lock)
    let lock_only = h.xmax_mode().is_lock_only();
    if h.xmax_is_multi() {
        if !h.xmax_invalid() && xact::multi_is_running(h.xmax, lock_only) {
            return "in progress";
        }
        if lock_only {
            return "invalid";
        }
        let upd = o.multi_update_xid(h.xmax, h);
        return xid_status(upd, false, h.xmax_invalid());
    }
    let s = xid_status(h.xmax, h.xmax_committed(), h.xmax_invalid());
    if lock_only && matches!(s, "committed" | "aborted") {
        return "invalid";
    }
    s
}

/// The statement's snapshot (what a SELECT in the same statement sees).
fn statement_snapshot() -> pg_sys::Snapshot {
    // SAFETY: called inside a statement, which always has an active snapshot.
    unsafe {
        if !pg_sys::ActiveSnapshotSet() {
            super::raise(
                PgSqlErrorCode::ERRCODE_INVALID_TRANSACTION_STATE,
                "no active snapshot",
            );
        }
        pg_sys::GetActiveSnapshot()
    }
}

/// Judges the tuples of one block (all of them, or only `only`) under `snapshot`.
pub(super) fn judge_block(
    rel: &PgRelation,
    am: Am,
    snapshot: pg_sys::Snapshot,
    blk: u32,
    only: Option<u16>,
    explain: bool,
) -> Vec<Judgement> {
    let r = rel.as_ptr();
    let mut out = Vec::new();
    // SAFETY: the relation is open; the block exists (callers check); the buffer is
    // pinned and share-locked while tuples are read and judged, as a scan would.
    unsafe {
        let buf = pg_sys::ReadBufferExtended(
            r,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            blk,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            std::ptr::null_mut(),
        );
        crate::pg::bufmgr::lock(buf, pg_sys::BUFFER_LOCK_SHARE);
        let page = PageRef::of_buffer(buf);
        let ctx = (am == Am::Glassheap).then(|| VisCtx::new(r, snapshot));
        let max = if page.is_new() { 0 } else { page.max_offset() };
        for off in 1..=max {
            if only.is_some_and(|o| o != off) {
                continue;
            }
            let (flags, o, len) = page.lp(off);
            if flags != LP_NORMAL as u32 || o + len > pg_sys::BLCKSZ as usize {
                continue;
            }
            let tup = page.item(off);
            let bytes = std::slice::from_raw_parts(tup as *const u8, len);
            let mut steps = Steps::default();
            let j = match ctx.as_ref() {
                Some(ctx) => {
                    if len < HEADER_SIZE {
                        continue;
                    }
                    let h = TupleHeader::read(bytes);
                    let visible = if explain {
                        ctx.check_explained(buf, blk, off, tup, &mut steps)
                    } else {
                        ctx.check_explained(buf, blk, off, tup, &mut NoExplain)
                    };
                    // statuses after the check, which may have set hint bits
                    let h2 = crate::pg::page::read_header(tup);
                    let mut o = crate::am::visibility::Oracle::new(
                        snapshot,
                        crate::am::visibility::TupleLoc {
                            rnode: ctx.rnode,
                            blk,
                            off,
                        },
                    );
                    Judgement {
                        blk,
                        off,
                        xmin: h.xmin,
                        xmax: h.xmax,
                        // the raw hint bits: both set means frozen (xmin_invalid() alone means aborted)
                        xmin_status: xid_status(
                            h2.xmin,
                            h2.xmin_committed(),
                            h2.has(glassheap_format::tuple::TupleFlags::XMIN_INVALID),
                        ),
                        xmax_status: xmax_status(&h2, &mut o),
                        visible,
                        steps: steps.0,
                        next: h.next_tid(blk).unwrap_or((blk, off)),
                        heap_only: h.has(glassheap_format::tuple::TupleFlags::HEAP_ONLY),
                    }
                }
                None => {
                    let Ok(hh) = HeapHeader::decode(bytes) else {
                        continue;
                    };
                    let mut t = pg_sys::HeapTupleData {
                        t_len: len as u32,
                        t_self: crate::pg::rel::make_tid(blk, off),
                        t_tableOid: (*r).rd_id,
                        t_data: tup as pg_sys::HeapTupleHeader,
                    };
                    let visible = pg_sys::HeapTupleSatisfiesVisibility(&mut t, snapshot, buf);
                    // re-read: heap's check may have set hint bits
                    let hh = HeapHeader::decode(bytes).unwrap_or(hh);
                    let view = rules_view(&hh);
                    let mut o = HeapOracle {
                        snapshot,
                        tup: tup as pg_sys::HeapTupleHeader,
                    };
                    if explain {
                        let kind = crate::am::visibility::snapshot_kind(snapshot);
                        match vis::satisfies(&view, kind, &mut o, &mut steps) {
                            Ok(v) if v.visible != visible => steps.step(
                                "heap's own check",
                                "HeapTupleSatisfiesVisibility reached the other verdict; it is the one shown".into(),
                                if visible { "visible" } else { "invisible" },
                            ),
                            Ok(_) => {}
                            Err(u) => steps.step("unsupported snapshot", u.0.to_string(), if visible { "visible" } else { "invisible" }),
                        }
                    }
                    let im = Infomask::from_bits_retain(hh.infomask);
                    Judgement {
                        blk,
                        off,
                        xmin: hh.xmin,
                        xmax: hh.xmax,
                        xmin_status: xid_status(
                            hh.xmin,
                            im.contains(Infomask::XMIN_COMMITTED),
                            im.contains(Infomask::XMIN_INVALID),
                        ),
                        xmax_status: xmax_status(&view, &mut o),
                        visible,
                        steps: steps.0,
                        next: hh.ctid,
                        heap_only: Infomask2::from_bits_retain(hh.infomask2)
                            .contains(Infomask2::ONLY_TUPLE),
                    }
                }
            };
            out.push(j);
        }
        crate::pg::bufmgr::unlock_release(buf);
    }
    out
}

fn nblocks(rel: &PgRelation) -> u32 {
    super::check_not_other_temp(rel);
    crate::pg::rel::nblocks(rel.as_ptr())
}

/// Every stored tuple version of `rel`, judged for the current statement's snapshot.
#[pg_extern]
#[allow(clippy::type_complexity)]
fn visibility(
    rel: PgRelation,
) -> TableIterator<
    'static,
    (
        name!(tid, pg_sys::ItemPointerData),
        name!(xmin, Xid),
        name!(xmax, Xid),
        name!(xmin_status, String),
        name!(xmax_status, String),
        name!(visible, bool),
        name!(reason, String),
    ),
> {
    let am = table_am(&rel);
    let snapshot = statement_snapshot();
    let mut rows = Vec::new();
    for blk in 0..nblocks(&rel) {
        pgrx::check_for_interrupts!();
        for j in judge_block(&rel, am, snapshot, blk, None, true) {
            rows.push((
                crate::pg::rel::make_tid(j.blk, j.off),
                Xid(j.xmin),
                Xid(j.xmax),
                j.xmin_status.to_string(),
                j.xmax_status.to_string(),
                j.visible,
                j.reason(),
            ));
        }
    }
    TableIterator::new(rows)
}

fn check_tid(rel: &PgRelation, blk: u32, off: u16) {
    let n = nblocks(rel);
    if blk >= n {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "block number {blk} is out of range for relation \"{}\" ({n} blocks)",
                rel.name()
            ),
        );
    }
    if off == 0 {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("({blk},0) is not a valid tuple id"),
        );
    }
}

/// The visibility decision for one tuple, step by step.
#[pg_extern]
fn explain_visibility(
    rel: PgRelation,
    t: pg_sys::ItemPointerData,
) -> TableIterator<
    'static,
    (
        name!(step, i32),
        name!(rule, String),
        name!(observed, String),
        name!(outcome, String),
    ),
> {
    let am = table_am(&rel);
    let (blk, off) = crate::pg::rel::tid_parts(&t);
    check_tid(&rel, blk, off);
    let snapshot = statement_snapshot();
    let Some(j) = judge_block(&rel, am, snapshot, blk, Some(off), true).pop() else {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("({blk},{off}) holds no stored tuple version (the line pointer is unused, dead, a redirect, or past the end)"),
        );
    };
    TableIterator::new(
        j.steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i as i32 + 1, s.rule, s.observed, s.outcome))
            .collect::<Vec<_>>(),
    )
}

/// The versions of one row, oldest to newest, following version pointers (and heap's
/// HOT redirects). Older versions are found by scanning the relation for the version
/// whose pointer leads to the given one (the pointers only lead forward).
#[pg_extern]
#[allow(clippy::type_complexity)]
fn version_chain(
    rel: PgRelation,
    t: pg_sys::ItemPointerData,
) -> TableIterator<
    'static,
    (
        name!(hop, i32),
        name!(tid, pg_sys::ItemPointerData),
        name!(xmin, Option<Xid>),
        name!(xmax, Option<Xid>),
        name!(visible, bool),
        name!(hot, bool),
        name!(lp_flags, String),
    ),
> {
    use std::collections::HashMap;
    let am = table_am(&rel);
    let (blk, off) = crate::pg::rel::tid_parts(&t);
    check_tid(&rel, blk, off);
    let snapshot = statement_snapshot();
    // every stored version and redirect of the relation, and who points at whom
    let mut versions: HashMap<(u32, u16), Judgement> = HashMap::new();
    let mut redirects: HashMap<(u32, u16), (u32, u16)> = HashMap::new();
    let n = nblocks(&rel);
    for b in 0..n {
        pgrx::check_for_interrupts!();
        for j in judge_block(&rel, am, snapshot, b, None, false) {
            versions.insert((j.blk, j.off), j);
        }
        if am == Am::Heap {
            let page = super::rawpage::read_block(&rel, b as i64, "main");
            if let Ok(lps) = glassheap_format::page::line_pointers(&page) {
                for lp in lps.iter().filter(|lp| lp.flags == LP_REDIRECT) {
                    redirects.insert((b, lp.lp), (b, lp.off));
                }
            }
        }
    }
    // a successor is valid only if its xmin is the predecessor's updater (heap's rule
    // for following t_ctid; glassheap keeps the same invariant)
    let successor = |from: &Judgement| -> Option<(u32, u16)> {
        let next = from.next;
        if next == (from.blk, from.off) {
            return None;
        }
        let to = versions.get(&next)?;
        (to.xmin == from.xmax || from.xmax == INVALID_XID || to.xmin == INVALID_XID).then_some(next)
    };
    let start = match redirects.get(&(blk, off)) {
        Some(target) => *target,
        None => (blk, off),
    };
    if !versions.contains_key(&start) {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("({blk},{off}) holds no stored tuple version"),
        );
    }
    let mut back: HashMap<(u32, u16), (u32, u16)> = HashMap::new();
    for j in versions.values() {
        if let Some(next) = successor(j) {
            back.insert(next, (j.blk, j.off));
        }
    }
    // walk back to the oldest version, then forward to the newest
    let mut first = start;
    let mut seen = std::collections::HashSet::new();
    while let Some(prev) = back.get(&first) {
        if !seen.insert(*prev) {
            break;
        }
        first = *prev;
    }
    let root_redirect = redirects
        .iter()
        .find(|(_, target)| **target == first)
        .map(|(from, _)| *from);
    let mut rows = Vec::new();
    if let Some((rb, ro)) = root_redirect {
        rows.push((
            1,
            crate::pg::rel::make_tid(rb, ro),
            None,
            None,
            false,
            false,
            "redirect".to_string(),
        ));
    }
    let mut cur = Some(first);
    let mut seen = std::collections::HashSet::new();
    while let Some(at) = cur {
        if !seen.insert(at) {
            break;
        }
        let j = &versions[&at];
        rows.push((
            rows.len() as i32 + 1,
            crate::pg::rel::make_tid(j.blk, j.off),
            Some(Xid(j.xmin)),
            Some(Xid(j.xmax)),
            j.visible,
            j.heap_only,
            "normal".to_string(),
        ));
        cur = successor(j);
    }
    TableIterator::new(rows)
}
