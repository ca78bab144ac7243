//! Teaching functions about MVCC: glassheap.visibility, glassheap.explain_visibility and
//! glassheap.version_chain, for heap and glassheap tables alike.
//!
//! One set of rules explains both formats: glassheap tuples go through the access
//! method's own check (the same code scans use, with an explanation recorder), and heap
//! tuples are restated for those rules by `glassheap_decode::heap::rules_view`. For heap the
//! verdict shown is always heap's own (HeapTupleSatisfiesVisibility); if the explanation
//! ever reached a different verdict, a last step says so rather than hiding it.

use super::table_am;
use super::types::{PgSnapshot, Xid};
use super::wal_records::required;
use crate::am::visibility::VisCtx;
use crate::pg::xact;
use glassheap_decode::chains;
use glassheap_decode::heap::{rules_view, HeapHeader, Infomask, Infomask2};
use glassheap_decode::items::Am;
use glassheap_decode::snapshot::{check_horizon, snapshot_text, PassedSnapshot};
use glassheap_format::page::{LinePointer, LP_DEAD, LP_NORMAL, LP_REDIRECT, LP_UNUSED};
use glassheap_format::tuple::{TupleHeader, HEADER_SIZE};
use glassheap_format::visibility::{self as vis, Cid, Explain, NoExplain, Step, Steps, TxnOracle};
use glassheap_format::{xid_precedes, Xid as RawXid, FROZEN_XID, INVALID_XID};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;
use std::collections::HashMap;

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
    /// xmax is a MultiXactId
    pub xmax_multi: bool,
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

/// The snapshot a call judges with, and what its output says about it.
struct Judge {
    snapshot: pg_sys::Snapshot,
    /// `xmin:xmax:xip` of the snapshot used
    text: String,
    /// where it came from (and which running xids were added to a passed one)
    origin: String,
    /// GetOldestNonRemovableTransactionId for the relation: older versions may be gone
    horizon: RawXid,
}

/// The statement's snapshot, or one built from a passed `pg_snapshot` (see
/// glassheap_decode::snapshot): an MVCC snapshot with the passed xmin, xmax and xip, plus
/// the xids running now below its xmax (pg_current_snapshot() leaves out its own
/// transaction's), subtransactions mapped to their top-level xid ("subxip overflowed"),
/// and command id FirstCommandId: the caller's own transaction is judged by heap's rule
/// for the current transaction with no command of it counted yet -- its inserts are
/// invisible and its deletes not yet in effect, as if it were still in progress.
fn judge_snapshot(rel: &PgRelation, passed: Option<PgSnapshot>) -> Judge {
    // SAFETY: procarray lookup for an open relation.
    let horizon = unsafe { pg_sys::GetOldestNonRemovableTransactionId(rel.as_ptr()).into_inner() };
    let Some(p) = passed else {
        let snapshot = statement_snapshot();
        // SAFETY: the active snapshot is valid; xip has xcnt entries.
        let (xmin, xmax, mut xip) = unsafe {
            let s = &*snapshot;
            let xip = if s.xcnt > 0 && !s.xip.is_null() {
                std::slice::from_raw_parts(s.xip as *const u32, s.xcnt as usize).to_vec()
            } else {
                Vec::new()
            };
            (s.xmin.into_inner(), s.xmax.into_inner(), xip)
        };
        xip.sort_by_key(|x| x.wrapping_sub(xmin));
        return Judge {
            snapshot,
            text: snapshot_text(xmin, xmax, &xip),
            origin: "the statement's snapshot".into(),
            horizon,
        };
    };
    let bad = |m: String| -> ! {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid snapshot: {m}"),
        )
    };
    let passed = PassedSnapshot::decode(&p.0).unwrap_or_else(|e| bad(e));
    // SAFETY: transaction counters and procarray reads; the snapshot and its xip array
    // are palloc'd in the current memory context, which outlives the judging.
    unsafe {
        if pg_sys::RecoveryInProgress() {
            super::raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "a passed snapshot cannot be judged with during recovery",
            );
        }
        let next_full = pg_sys::ReadNextFullTransactionId().value;
        let x = passed.to_xids(next_full).unwrap_or_else(|e| bad(e));
        if let Err(e) = check_horizon(x.xmin, horizon) {
            super::raise_detail(
                PgSqlErrorCode::ERRCODE_SNAPSHOT_TOO_OLD,
                format!("cannot judge \"{}\" with this snapshot: {e}", rel.name()),
                "A snapshot stays usable while the transaction that took it is open (pg_current_snapshot() in a REPEATABLE READ or SERIALIZABLE transaction).",
            );
        }
        let latest = pg_sys::GetLatestSnapshot();
        let running = if (*latest).xcnt > 0 && !(*latest).xip.is_null() {
            std::slice::from_raw_parts((*latest).xip as *const u32, (*latest).xcnt as usize)
                .to_vec()
        } else {
            Vec::new()
        };
        let x = x.with_running(&running);
        let s = pg_sys::palloc0(std::mem::size_of::<pg_sys::SnapshotData>()) as pg_sys::Snapshot;
        let arr = pg_sys::palloc(x.xip.len().max(1) * std::mem::size_of::<pg_sys::TransactionId>())
            as *mut pg_sys::TransactionId;
        for (i, xid) in x.xip.iter().enumerate() {
            *arr.add(i) = (*xid).into();
        }
        (*s).snapshot_type = pg_sys::SnapshotType::SNAPSHOT_MVCC;
        (*s).xmin = x.xmin.into();
        (*s).xmax = x.xmax.into();
        (*s).xip = arr;
        (*s).xcnt = x.xip.len() as u32;
        (*s).subxip = std::ptr::null_mut();
        (*s).subxcnt = 0;
        (*s).suboverflowed = true;
        (*s).takenDuringRecovery = false;
        (*s).copied = true;
        (*s).curcid = pg_sys::FirstCommandId;
        let origin = if x.added.is_empty() {
            "the passed snapshot".to_string()
        } else {
            let added: Vec<String> = x.added.iter().map(|a| a.to_string()).collect();
            format!(
                "the passed snapshot, with {} (running now, not listed) counted as in progress",
                added.join(", ")
            )
        };
        Judge {
            snapshot: s,
            text: x.text(),
            origin,
            horizon,
        }
    }
}

/// The members of a MultiXact xmax, "742 for key share, 743 update", or why they are
/// not known.
fn multi_members(rel: &PgRelation, multi: RawXid) -> String {
    // SAFETY: multixact.c lookups; the multi is checked against the relation's
    // relminmxid and the next MultiXactId first (older or newer ones raise errors).
    unsafe {
        let relminmxid = (*(*rel.as_ptr()).rd_rel).relminmxid.into_inner();
        let next = pg_sys::ReadNextMultiXactId().into_inner();
        if !xid_precedes(multi, next) {
            return format!("MultiXactId {multi} not yet assigned (next is {next})");
        }
        if relminmxid != 0 && xid_precedes(multi, relminmxid) {
            return format!(
                "members no longer known: MultiXactId {multi} precedes relminmxid {relminmxid}"
            );
        }
        let mut members: *mut pg_sys::MultiXactMember = std::ptr::null_mut();
        let n = pg_sys::GetMultiXactIdMembers(multi.into(), &mut members, false, false);
        if n <= 0 || members.is_null() {
            return "no members left".into();
        }
        let list: Vec<String> = std::slice::from_raw_parts(members, n as usize)
            .iter()
            .map(|m| {
                let status = match m.status {
                    pg_sys::MultiXactStatus::MultiXactStatusForKeyShare => "for key share",
                    pg_sys::MultiXactStatus::MultiXactStatusForShare => "for share",
                    pg_sys::MultiXactStatus::MultiXactStatusForNoKeyUpdate => "for no key update",
                    pg_sys::MultiXactStatus::MultiXactStatusForUpdate => "for update",
                    pg_sys::MultiXactStatus::MultiXactStatusNoKeyUpdate => "no key update",
                    pg_sys::MultiXactStatus::MultiXactStatusUpdate => "update",
                    _ => "unknown mode",
                };
                format!("{} {status}", m.xid.into_inner())
            })
            .collect();
        pg_sys::pfree(members as *mut core::ffi::c_void);
        list.join(", ")
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
        let guard = crate::pg::bufmgr::LockedBuffer::read_main(
            r,
            blk,
            crate::pg::bufmgr::LockMode::Share,
            std::ptr::null_mut(),
        );
        let buf = guard.buffer();
        let page = guard.page_ref();
        let ctx = (am == Am::Glassheap).then(|| VisCtx::new(r, snapshot));
        let max = if page.is_new() { 0 } else { page.max_offset() };
        for off in 1..=max {
            if only.is_some_and(|o| o != off) {
                continue;
            }
            let (flags, o, len) = page.lp(off);
            if flags != LP_NORMAL || o + len > pg_sys::BLCKSZ as usize {
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
                        xmax_multi: h.xmax_is_multi(),
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
                        xmax_multi: im.contains(Infomask::XMAX_IS_MULTI),
                    }
                }
            };
            out.push(j);
        }
        drop(guard);
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
    rel: Option<PgRelation>,
    snapshot: default!(Option<PgSnapshot>, "NULL"),
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
        name!(snapshot_used, String),
        name!(removal_horizon, Xid),
        name!(xmax_members, Option<String>),
    ),
> {
    // not STRICT (snapshot may be NULL): a NULL relation is an error naming it
    let rel = required(rel, "rel");
    let am = table_am(&rel);
    let judge = judge_snapshot(&rel, snapshot);
    let mut rows = Vec::new();
    for blk in 0..nblocks(&rel) {
        pgrx::check_for_interrupts!();
        for j in judge_block(&rel, am, judge.snapshot, blk, None, true) {
            rows.push((
                crate::pg::rel::make_tid(j.blk, j.off),
                Xid(j.xmin),
                Xid(j.xmax),
                j.xmin_status.to_string(),
                j.xmax_status.to_string(),
                j.visible,
                j.reason(),
                judge.text.clone(),
                Xid(judge.horizon),
                j.xmax_multi.then(|| multi_members(&rel, j.xmax)),
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
    rel: Option<PgRelation>,
    t: Option<pg_sys::ItemPointerData>,
    snapshot: default!(Option<PgSnapshot>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(step, i32),
        name!(rule, String),
        name!(observed, String),
        name!(outcome, String),
    ),
> {
    // not STRICT (snapshot may be NULL): NULL arguments are errors naming them
    let rel = required(rel, "rel");
    let t = required(t, "t");
    let am = table_am(&rel);
    let (blk, off) = crate::pg::rel::tid_parts(&t);
    check_tid(&rel, blk, off);
    let judge = judge_snapshot(&rel, snapshot);
    let Some(mut j) = judge_block(&rel, am, judge.snapshot, blk, Some(off), true).pop() else {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("({blk},{off}) holds no stored tuple version (the line pointer is unused, dead, a redirect, or past the end)"),
        );
    };
    // what the decision rested on: the xmax's members, the snapshot, the horizon
    let verdict = if j.visible { "visible" } else { "invisible" };
    if j.xmax_multi {
        j.steps.push(Step {
            rule: "xmax is a MultiXact".into(),
            observed: format!("MultiXactId {}: {}", j.xmax, multi_members(&rel, j.xmax)),
            outcome: verdict.into(),
        });
    }
    j.steps.push(Step {
        rule: "snapshot used".into(),
        observed: format!(
            "{} ({}); removal horizon {}",
            judge.text, judge.origin, judge.horizon
        ),
        outcome: verdict.into(),
    });
    TableIterator::new(
        j.steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i as i32 + 1, s.rule, s.observed, s.outcome))
            .collect::<Vec<_>>(),
    )
}

/// One block as version_chain sees it: its line pointers and its judged versions.
struct ChainBlock {
    lps: Vec<LinePointer>,
    versions: HashMap<u16, Judgement>,
}

/// Blocks read so far by one version_chain call (each is read and judged once).
struct ChainPages<'a> {
    rel: &'a PgRelation,
    am: Am,
    snapshot: pg_sys::Snapshot,
    nblocks: u32,
    blocks: HashMap<u32, ChainBlock>,
}

impl ChainPages<'_> {
    fn block(&mut self, blk: u32) -> Option<&ChainBlock> {
        if blk >= self.nblocks {
            return None;
        }
        if !self.blocks.contains_key(&blk) {
            pgrx::check_for_interrupts!();
            let page = super::rawpage::read_block(self.rel, blk as i64, "main");
            let lps = glassheap_format::page::line_pointers(&page).unwrap_or_else(|e| {
                super::raise(
                    PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                    format!(
                        "block {blk} of \"{}\" is not a valid page: {e}",
                        self.rel.name()
                    ),
                )
            });
            let versions = judge_block(self.rel, self.am, self.snapshot, blk, None, false)
                .into_iter()
                .map(|j| (j.off, j))
                .collect();
            self.blocks.insert(blk, ChainBlock { lps, versions });
        }
        self.blocks.get(&blk)
    }

    fn lp_flags(&mut self, (blk, off): (u32, u16)) -> Option<u8> {
        let b = self.block(blk)?;
        b.lps.get((off as usize).checked_sub(1)?).map(|lp| lp.flags)
    }

    /// Where a chain member leads: a redirect's target, or the successor version named by
    /// a version pointer when its xmin is the updater (heap's rule for following t_ctid;
    /// glassheap keeps the same invariant). None at the chain's end.
    fn next(&mut self, at: (u32, u16)) -> Option<(u32, u16)> {
        let (blk, off) = at;
        let b = self.block(blk)?;
        let lp = b.lps.get((off as usize).checked_sub(1)?)?;
        if lp.flags == LP_REDIRECT {
            return b.versions.contains_key(&lp.off).then_some((blk, lp.off));
        }
        let from = b.versions.get(&off)?;
        let (next, from_xmax) = (from.next, from.xmax);
        if next == at {
            return None;
        }
        let to = self.block(next.0)?.versions.get(&next.1)?;
        (to.xmin == from_xmax || from_xmax == INVALID_XID || to.xmin == INVALID_XID).then_some(next)
    }
}

/// The versions of one row, oldest to newest, following version pointers and redirects
/// (heap's and glassheap's) from the given TID. Older versions are looked for on the
/// TID's own page (a HOT chain never leaves its page); a non-HOT update's older version
/// on another page is not searched for. A loop, and a heap-only version that no chain
/// root leads to, are named in `problem`.
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
        name!(problem, Option<String>),
    ),
> {
    let am = table_am(&rel);
    let (blk, off) = crate::pg::rel::tid_parts(&t);
    check_tid(&rel, blk, off);
    let mut pages = ChainPages {
        rel: &rel,
        am,
        snapshot: statement_snapshot(),
        nblocks: nblocks(&rel),
        blocks: HashMap::new(),
    };
    let start = (blk, off);
    let nlps = pages.block(blk).map(|b| b.lps.len()).unwrap_or(0);
    let Some(flags) = pages.lp_flags(start) else {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "({blk},{off}) is past the last line pointer of block {blk} ({nlps} line pointers)"
            ),
        );
    };
    match flags {
        LP_UNUSED => super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("({blk},{off}) is an unused line pointer: it holds no version"),
        ),
        LP_DEAD => {
            // pruned: the versions it led to are gone, there is nothing to follow
            return TableIterator::new(vec![(
                1,
                crate::pg::rel::make_tid(blk, off),
                None,
                None,
                false,
                false,
                "dead".to_string(),
                None,
            )]);
        }
        _ => {}
    }
    if flags == LP_NORMAL
        && !pages
            .block(blk)
            .is_some_and(|b| b.versions.contains_key(&off))
    {
        super::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("({blk},{off}) holds an item that cannot be decoded (glassheap.page_items shows why)"),
        );
    }
    // Older versions on this page: who leads to whom here, then back from the start.
    let mut back: HashMap<u16, u16> = HashMap::new();
    for o in 1..=nlps as u16 {
        if let Some((b2, o2)) = pages.next((blk, o)) {
            if b2 == blk {
                back.entry(o2).or_insert(o);
            }
        }
    }
    let (behind, looped_back) = chains::follow(off, |o| back.get(&o).copied());
    let first = if looped_back.is_some() {
        off
    } else {
        *behind.last().unwrap_or(&off)
    };
    // Forward from the oldest, across pages, until the chain ends or loops.
    let (path, looped) = chains::follow((blk, first), |at| pages.next(at));
    let mut rows = Vec::new();
    for (i, at) in path.iter().enumerate() {
        let flags = pages.lp_flags(*at).unwrap_or(LP_UNUSED);
        let tid = crate::pg::rel::make_tid(at.0, at.1);
        let mut problem = None;
        if i == 0 && flags == LP_NORMAL && looped_back.is_none() {
            let j = &pages.blocks[&at.0].versions[&at.1];
            if j.heap_only && !matches!(j.xmin_status, "aborted" | "invalid") {
                problem = Some(format!(
                    "heap-only version, but no chain root on block {} leads to it",
                    at.0
                ));
            }
        }
        if i + 1 == path.len() {
            if let Some((lb, lo)) = looped {
                problem = Some(format!(
                    "update chain loops: ({},{}) leads back to ({lb},{lo})",
                    at.0, at.1
                ));
            }
        }
        if flags == LP_REDIRECT {
            rows.push((
                rows.len() as i32 + 1,
                tid,
                None,
                None,
                false,
                false,
                "redirect".to_string(),
                problem,
            ));
        } else {
            let j = &pages.blocks[&at.0].versions[&at.1];
            rows.push((
                rows.len() as i32 + 1,
                tid,
                Some(Xid(j.xmin)),
                Some(Xid(j.xmax)),
                j.visible,
                j.heap_only,
                "normal".to_string(),
                problem,
            ));
        }
    }
    TableIterator::new(rows)
}
