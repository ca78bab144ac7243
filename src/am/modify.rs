//! Writing rows: INSERT, COPY's multi-insert, DELETE, UPDATE and speculative insertion
//! (heapam.c's heap_insert, heap_multi_insert, heap_delete, heap_update,
//! heap_finish_speculative and heap_abort_speculative, on glassheap's format).
//!
//! The concurrency protocol is heap's: check the tuple with the update rules, wait for
//! conflicting lockers/updaters (taking the heavyweight tuple lock first to queue
//! fairly), recheck after waking, then change the tuple and WAL-log it inside one
//! critical section while holding the buffer lock(s).

use super::visibility::{update_xid_of, Oracle, TupleLoc};
use super::vm::VmPin;
use super::{cidmap, combocid, hio, multixact as mx, replident, slot, toast, tuple};
use crate::pg::bufmgr::{BufferLock, LockedBuffer};
use crate::pg::crit::CritSection;
use crate::pg::page::{read_header, write_header, PageRef};
use crate::pg::rel;
use crate::pg::sys_extra;
use crate::pg::xact;
use crate::rmgr::log;
use glassheap_format::logical::LogicalPart;
use glassheap_format::records::{
    DeleteBlock, InsertBlock, LockBlock, MultiInsertBlock, MultiTuple, UpdateNew, UpdateOld,
    XmaxInfo,
};
use glassheap_format::transition;
use glassheap_format::tuple::{maxalign, TupleFlags, TupleHeader, NEXT_SPECULATIVE};
use glassheap_format::visibility::{self as vis, Hints, NoExplain, TmResult, TxnOracle};
use glassheap_format::Xid;
use pgrx::pg_sys;
use pgrx::prelude::*;

pub fn to_tm(r: TmResult) -> pg_sys::TM_Result::Type {
    match r {
        TmResult::Ok => pg_sys::TM_Result::TM_Ok,
        TmResult::Invisible => pg_sys::TM_Result::TM_Invisible,
        TmResult::SelfModified => pg_sys::TM_Result::TM_SelfModified,
        TmResult::Updated => pg_sys::TM_Result::TM_Updated,
        TmResult::Deleted => pg_sys::TM_Result::TM_Deleted,
        TmResult::BeingModified => pg_sys::TM_Result::TM_BeingModified,
    }
}

/// A normal tuple on a pinned buffer.
pub struct Target {
    pub buffer: pg_sys::Buffer,
    pub page: PageRef,
    pub blk: pg_sys::BlockNumber,
    pub off: u16,
    pub ptr: *mut u8,
    pub len: usize,
}

impl Target {
    /// Reads the buffer of `tid` (pinned, not locked).
    pub fn read(relation: pg_sys::Relation, tid: &pg_sys::ItemPointerData) -> Target {
        let (blk, off) = rel::tid_parts(tid);
        // SAFETY: bufmgr read of a block the executor got from us.
        let buffer = unsafe {
            pg_sys::ReadBufferExtended(
                relation,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                blk,
                pg_sys::ReadBufferMode::RBM_NORMAL,
                std::ptr::null_mut(),
            )
        };
        // SAFETY: pinned.
        let page = unsafe { PageRef::of_buffer(buffer) };
        Target {
            buffer,
            page,
            blk,
            off,
            ptr: std::ptr::null_mut(),
            len: 0,
        }
    }
    /// After locking: locate the tuple; errors when the line pointer is not a tuple, or
    /// when the page or the tuple is damaged in a way the change would rely on (the
    /// header, the tuple's extent and header, checked before any critical section).
    pub fn locate(&mut self, relation: pg_sys::Relation) {
        if !self.page.is_glassheap() {
            // (the abort releases the buffer's lock and pin)
            crate::pg::page::not_a_glassheap_page(relation, self.blk, self.page);
        }
        match self.page.tuple_ptr(self.off) {
            Some((ptr, len)) => {
                if let Err(d) = glassheap_format::pagecheck::check_item_for_change(
                    self.page.view().bytes(),
                    self.off,
                ) {
                    // (the abort releases the buffer's lock and pin)
                    crate::pg::page::damaged_page(relation, self.blk, &d);
                }
                self.len = len;
                self.ptr = ptr;
            }
            None => {
                // (the abort releases the buffer's lock and pin)
                ereport!(
                    ERROR,
                    PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                    format!(
                        "glassheap: line pointer ({},{}) of relation \"{}\" does not hold a tuple",
                        self.blk,
                        self.off,
                        rel::name(relation)
                    )
                );
            }
        }
    }
    #[inline]
    pub fn header(&self) -> TupleHeader {
        // SAFETY: ptr points at a located tuple on the pinned, locked page.
        unsafe { read_header(self.ptr) }
    }
    #[inline]
    pub fn set_header(&self, h: &TupleHeader) {
        // SAFETY: caller holds the exclusive lock.
        unsafe { write_header(self.ptr, h) }
    }
    pub fn tid(&self) -> pg_sys::ItemPointerData {
        rel::make_tid(self.blk, self.off)
    }
    pub fn oracle(&self, relation: pg_sys::Relation) -> Oracle {
        // SAFETY: a valid snapshot is not needed for the update/vacuum rules.
        Oracle::new(
            std::ptr::null_mut(),
            TupleLoc {
                rnode: rel::relfilenode(relation),
                blk: self.blk,
                off: self.off,
            },
        )
    }
}

/// HeapTupleSatisfiesUpdate on a located, locked tuple (applies hint bits).
pub fn satisfies_update(relation: pg_sys::Relation, t: &Target, cid: u32) -> TmResult {
    let h = t.header();
    let mut o = t.oracle(relation);
    let mut hints = Hints::default();
    let r = vis::satisfies_update(&h, cid, &mut o, &mut hints, &mut NoExplain);
    if !hints.is_empty() {
        // SAFETY: locked buffer, tuple on it.
        unsafe { super::visibility::apply_hints(t.buffer, t.ptr, &hints) };
    }
    r
}

/// UpdateXmaxHintBits: after waiting for a plain xmax, record how it ended.
pub fn update_xmax_hint_bits(t: &Target, xid: Xid) {
    let mut h = t.header();
    if h.xmax_is_multi() || h.xmax != xid || h.xmax_committed() || h.xmax_invalid() {
        return;
    }
    // SAFETY: clog lookup.
    let committed = !h.xmax_mode().is_lock_only() && xact::did_commit(xid);
    if committed {
        // A committed hint needs the commit record flushed (or the page LSN past it).
        // SAFETY: pinned buffer; xid committed.
        if !unsafe { xact::hints_safe(xid, t.buffer) } {
            return;
        }
        h.set_flags(TupleFlags::XMAX_COMMITTED);
    } else {
        h.set_flags(TupleFlags::XMAX_INVALID);
    }
    t.set_header(&h);
    // SAFETY: exclusive lock held.
    unsafe { crate::pg::page::mark_dirty_hint(t.buffer) };
}

/// xmax_infomask_changed || xmax != before.
pub fn xmax_changed(now: &TupleHeader, before: &TupleHeader) -> bool {
    now.xmax != before.xmax
        || now.xmax_is_multi() != before.xmax_is_multi()
        || now.xmax_mode_bits() != before.xmax_mode_bits()
        || now.xmax_invalid() != before.xmax_invalid()
}

/// The TID the failure data reports as "where the row went".
pub fn next_tid_of(h: &TupleHeader, blk: pg_sys::BlockNumber, off: u16) -> pg_sys::ItemPointerData {
    if h.moved_partitions() {
        return rel::moved_partitions_tid();
    }
    match h.next_tid(blk) {
        Some((b, o)) => rel::make_tid(b, o),
        None => rel::make_tid(blk, off),
    }
}

/// Fills TM_FailureData for a non-Ok result.
pub fn fill_tmfd(
    relation: pg_sys::Relation,
    t: &Target,
    result: TmResult,
    tmfd: *mut pg_sys::TM_FailureData,
) {
    let h = t.header();
    let mut o = t.oracle(relation);
    // SAFETY: tmfd is the executor's output struct.
    unsafe {
        (*tmfd).ctid = next_tid_of(&h, t.blk, t.off);
        (*tmfd).xmax = update_xid_of(&h, &mut o).into();
        (*tmfd).cmax = if result == TmResult::SelfModified {
            o.cmax(&h)
        } else {
            pg_sys::InvalidCommandId
        };
    }
}

/// The raw cmin word of a tuple, fetched only when combo logic will read it (xmin is
/// ours and not known committed).
fn cmin_word_if_needed(h: &TupleHeader, o: &mut Oracle) -> u32 {
    if !h.xmin_committed() && o.is_current(h.xmin) {
        o.raw_cid(h)
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------
// INSERT
// ---------------------------------------------------------------------------------

fn current_xid() -> Xid {
    // SAFETY: assigns an xid if needed (we are about to write).
    xact::current_xid()
}

/// The row for `slot`'s values (not toasted yet: inserts toast it at once, updates once
/// the old version is locked), formed once: in the slot's own memory for a glassheap
/// slot (which then holds what is stored), else (another slot type) from its values.
fn form_from_slot(relation: pg_sys::Relation, s: *mut pg_sys::TupleTableSlot) -> tuple::Formed {
    // SAFETY: slot valid and of the relation's descriptor; getsomeattrs fills values/isnull
    // for all attributes.
    unsafe {
        let tupdesc = (*relation).rd_att;
        let natts = (*tupdesc).natts;
        if let Ok(n) = u16::try_from(natts) {
            if let Some(f) = slot::take_formed(s, n) {
                return f;
            }
        }
        slot::getsomeattrs(s, natts);
        tuple::form(tupdesc, (*s).tts_values, (*s).tts_isnull)
    }
}

/// The row an insert stores for `s`: formed once, TOAST applied in its own bytes (the
/// slot's, which it then describes again) -- heap_prepare_insert's toasting.
fn form_toasted(
    relation: pg_sys::Relation,
    s: *mut pg_sys::TupleTableSlot,
    options: i32,
) -> tuple::Formed {
    let f = form_from_slot(relation, s);
    if !toast::insert_needs_toast(&f) {
        return f;
    }
    let f = toast::prepare_insert(relation, f, options);
    // SAFETY: f is the slot's row (or not slot-owned).
    unsafe { slot::formed_rewritten(s, &f) };
    f
}

/// Leaves the slot holding what was stored, so RETURNING, triggers, index entries and
/// system columns see it: a slot whose own bytes were written already does (every
/// glassheap slot but for a row that grew in the TOAST step); otherwise it gets a copy.
fn finish_slot(
    relation: pg_sys::Relation,
    s: *mut pg_sys::TupleTableSlot,
    f: &tuple::Formed,
    tid: pg_sys::ItemPointerData,
) {
    // SAFETY: valid slot.
    unsafe {
        if !f.slot_owned && slot::is_glass_slot(s) {
            slot::store_copy(s, f.bytes(), tid, rel::relid(relation));
        } else {
            (*s).tts_tid = tid;
            (*s).tts_tableOid = rel::relid(relation);
        }
    }
}

pub fn insert(
    relation: pg_sys::Relation,
    s: *mut pg_sys::TupleTableSlot,
    cid: u32,
    options: i32,
    bistate: pg_sys::BulkInsertState,
    spec_token: Option<u32>,
) {
    let mut f = form_toasted(relation, s, options);
    let xid = current_xid();
    crate::pg::ssi::conflict_in(relation, None, pg_sys::InvalidBlockNumber);
    let frozen = options & pg_sys::TABLE_INSERT_FROZEN as i32 != 0;
    let mut h = transition::new_tuple(xid, f.natts, f.has_nulls, false, None, frozen);
    match spec_token {
        Some(tok) => {
            h.set_next_off(NEXT_SPECULATIVE);
            h.aux = tok;
        }
        None => h.aux = cid,
    }
    h.write(f.bytes_mut());
    let use_fsm = options & pg_sys::TABLE_INSERT_SKIP_FSM as i32 == 0;
    let target = hio::buffer_for_tuple(relation, f.len, use_fsm, bistate);
    let (buffer, page) = (target.buffer(), target.page_ref());
    // SAFETY: buffer is pinned.
    let blk = unsafe { crate::pg::page::buffer_block_number(buffer) };
    let vm = VmPin::for_write(relation, buffer);
    let logical = replident::insert_part(relation, false);
    let off;
    {
        let crit = CritSection::enter();
        let vm_cleared = vm.clear_all(relation, buffer);
        off = page.add_item(f.bytes(), 0);
        if off == 0 {
            ereport!(
                PANIC,
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "glassheap: failed to add tuple to page"
            );
        }
        let init_page = off == 1 && page.max_offset() == 1;
        crate::pg::fault::point(crate::pg::fault::Kind::Insert);
        crit.mark_dirty(buffer);
        if rel::needs_wal(relation) {
            log::insert(
                &crit,
                buffer,
                &InsertBlock {
                    offnum: off,
                    natts: f.natts,
                    has_nulls: f.has_nulls,
                    init_page,
                    vm_cleared,
                    speculative: spec_token.is_some(),
                    body: f.body(),
                },
                logical.as_ref(),
            );
        }
    }
    drop(target);
    drop(vm);
    if spec_token.is_some() {
        cidmap::remember(
            rel::relid(relation),
            &rel::relfilenode(relation),
            blk,
            off,
            cid,
        );
    }
    finish_slot(relation, s, &f, rel::make_tid(blk, off));
    f.free();
    rel::count_inserted(relation, 1);
}

pub fn multi_insert(
    relation: pg_sys::Relation,
    slots: *mut *mut pg_sys::TupleTableSlot,
    ntuples: usize,
    cid: u32,
    options: i32,
    bistate: pg_sys::BulkInsertState,
) {
    let xid = current_xid();
    crate::pg::ssi::conflict_in(relation, None, pg_sys::InvalidBlockNumber);
    let frozen = options & pg_sys::TABLE_INSERT_FROZEN as i32 != 0;
    let use_fsm = options & pg_sys::TABLE_INSERT_SKIP_FSM as i32 == 0;
    let needs_wal = rel::needs_wal(relation);
    let logical = replident::logically_logged(relation);
    let save = rel::target_page_free_space(relation);
    // SAFETY: the executor passes ntuples valid slots.
    let slots = unsafe { std::slice::from_raw_parts(slots, ntuples) };
    let formed: Vec<tuple::Formed> = slots
        .iter()
        .map(|&s| {
            let mut f = form_toasted(relation, s, options);
            let mut h = transition::new_tuple(xid, f.natts, f.has_nulls, false, None, frozen);
            h.aux = cid;
            h.write(f.bytes_mut());
            f
        })
        .collect();
    let mut done = 0;
    while done < ntuples {
        let target = hio::buffer_for_tuple(relation, formed[done].len, use_fsm, bistate);
        let (buffer, page) = (target.buffer(), target.page_ref());
        // SAFETY: buffer is pinned.
        let blk = unsafe { crate::pg::page::buffer_block_number(buffer) };
        let empty_before = page.max_offset() == 0;
        let mut placed: Vec<(u16, usize)> = Vec::new();
        let vm = VmPin::for_write(relation, buffer);
        {
            let crit = CritSection::enter();
            let vm_cleared = vm.clear_all(relation, buffer);
            while done < ntuples {
                let f = &formed[done];
                if !placed.is_empty() && page.free_space() < maxalign(f.len) + save {
                    break;
                }
                let off = page.add_item(f.bytes(), 0);
                if off == 0 {
                    if placed.is_empty() {
                        ereport!(
                            PANIC,
                            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                            "glassheap: failed to add tuple to page"
                        );
                    }
                    break;
                }
                placed.push((off, done));
                done += 1;
            }
            crate::pg::fault::point(crate::pg::fault::Kind::MultiInsert);
            crit.mark_dirty(buffer);
            if needs_wal {
                let rec = MultiInsertBlock {
                    init_page: empty_before,
                    vm_cleared,
                    frozen,
                    tuples: placed
                        .iter()
                        .map(|&(off, i)| MultiTuple {
                            offnum: off,
                            natts: formed[i].natts,
                            has_nulls: formed[i].has_nulls,
                            body: formed[i].body(),
                        })
                        .collect(),
                };
                // The last record of the call lets decoding forget the rows' TOAST chunks.
                let part = logical.then_some(LogicalPart {
                    last_in_multi: done == ntuples,
                    old: None,
                });
                log::multi_insert(&crit, buffer, &rec, part.as_ref());
            }
        }
        drop(target);
        for &(off, i) in &placed {
            finish_slot(relation, slots[i], &formed[i], rel::make_tid(blk, off));
        }
    }
    formed.into_iter().for_each(tuple::Formed::free);
    rel::count_inserted(relation, ntuples as i64);
}

/// heap_finish_speculative / heap_abort_speculative.
pub fn complete_speculative(
    relation: pg_sys::Relation,
    s: *mut pg_sys::TupleTableSlot,
    succeeded: bool,
) {
    // SAFETY: valid slot holding the TID we inserted.
    let tid = unsafe { (*s).tts_tid };
    let mut t = Target::read(relation, &tid);
    let lock = BufferLock::exclusive(t.buffer);
    t.locate(relation);
    let mut h = t.header();
    if !h.is_speculative() || h.xmin != current_xid() {
        // (the abort releases the lock and the pin)
        error!(
            "glassheap: tuple ({},{}) is not a speculative insertion of this transaction",
            t.blk, t.off
        );
    }
    let needs_wal = rel::needs_wal(relation);
    if succeeded {
        let cid = cidmap::lookup(&rel::relfilenode(relation), t.blk, t.off).unwrap_or(0);
        let logical = replident::insert_part(relation, false);
        let crit = CritSection::enter();
        transition::confirm(&mut h);
        h.aux = cid;
        t.set_header(&h);
        crate::pg::fault::point(crate::pg::fault::Kind::Confirm);
        crit.mark_dirty(t.buffer);
        if needs_wal {
            log::confirm(&crit, t.buffer, t.off, logical.as_ref());
        }
    } else {
        // SAFETY: backend globals.
        let prune_xid = unsafe {
            let relfrozen = (*(*relation).rd_rel).relfrozenxid.into_inner();
            let txmin = xact::transaction_xmin();
            if glassheap_format::xid_precedes(txmin, relfrozen) {
                relfrozen
            } else {
                txmin
            }
        };
        let vm = VmPin::for_write(relation, t.buffer);
        // A cancelled speculative insertion logs no old row (heap_abort_speculative).
        let logical = replident::change_part(relation, None);
        let crit = CritSection::enter();
        let d = DeleteBlock {
            offnum: t.off,
            vm_cleared: vm.clear_all(relation, t.buffer),
            super_delete: true,
            moved_partitions: false,
            xmax: XmaxInfo {
                xmax: h.xmin,
                mode: glassheap_format::tuple::XmaxMode::Update,
                is_multi: false,
            },
        };
        t.page.set_prunable(prune_xid);
        transition::delete(&mut h, &d);
        t.set_header(&h);
        crate::pg::fault::point(crate::pg::fault::Kind::SuperDelete);
        crit.mark_dirty(t.buffer);
        if needs_wal {
            log::delete(&crit, t.buffer, &d, logical.as_ref());
        }
    }
    let toasted = if succeeded {
        None
    } else {
        toast::collect_external(relation, t.ptr, t.len)
    };
    // SAFETY: Target's pin, not used after this.
    unsafe { lock.unlock_release() };
    if !succeeded {
        rel::count_deleted(relation);
    }
    toast::delete_external(relation, toasted, true);
}

// ---------------------------------------------------------------------------------
// Waiting for lockers/updaters before DELETE/UPDATE
// ---------------------------------------------------------------------------------

enum WaitOutcome {
    /// Re-run the update rules from the top (xmax changed while we slept).
    Restart,
    /// Decide from the header as it is now; `can_continue` forces TM_Ok.
    Decide {
        can_continue: bool,
        checked_lockers: bool,
        locker_remains: bool,
    },
}

/// The TM_BeingModified branch of heap_update/heap_delete. On return the buffer is
/// exclusively locked again. `key_intact` is true for updates that change no key column.
#[allow(clippy::too_many_arguments)]
fn wait_for_modifier(
    relation: pg_sys::Relation,
    t: &mut Target,
    lock: &mut BufferLock,
    lockmode: mx::LockMode,
    mx_status: mx::MxStatus,
    oper: pg_sys::XLTW_Oper::Type,
    key_intact: bool,
    is_update: bool,
    have_tuple_lock: &mut bool,
) -> WaitOutcome {
    let before = t.header();
    let xwait = before.xmax;
    let mut tid = t.tid();
    if before.xmax_is_multi() {
        let lock_only = before.xmax_mode().is_lock_only();
        let (conflict, current_is_member) = mx::multi_conflicts(xwait, lock_only, lockmode);
        let mut checked = false;
        let mut remains = false;
        if conflict {
            let (_, remain) = lock.unlocked_while(|| {
                if !current_is_member {
                    mx::acquire_tuplock(
                        relation,
                        &mut tid,
                        lockmode,
                        pg_sys::LockWaitPolicy::LockWaitBlock,
                        have_tuple_lock,
                    );
                }
                mx::multi_wait(xwait, mx_status, lock_only, relation, &mut tid, oper, false)
            });
            checked = true;
            remains = remain != 0;
            if xmax_changed(&t.header(), &before) {
                return WaitOutcome::Restart;
            }
        }
        if !is_update {
            return WaitOutcome::Decide {
                can_continue: false,
                checked_lockers: checked,
                locker_remains: remains,
            };
        }
        // Updates may proceed if there is no live updater in the multixact.
        let h = t.header();
        let upd = if h.xmax_mode().is_lock_only() {
            0
        } else {
            mx::update_xid(h.xmax, false)
        };
        // SAFETY: clog lookup.
        let can_continue = upd == 0 || xact::did_abort(upd);
        return WaitOutcome::Decide {
            can_continue,
            checked_lockers: checked,
            locker_remains: remains,
        };
    }
    // SAFETY: transaction-state lookup.
    if xact::is_current(xwait) {
        // The only locker is ourselves: no need to wait; keep our lock info.
        return WaitOutcome::Decide {
            can_continue: is_update,
            checked_lockers: true,
            locker_remains: true,
        };
    }
    if is_update && mx::is_keyshr_locked(&before) && key_intact {
        // A key-share locker does not conflict with an update that keeps the key.
        return WaitOutcome::Decide {
            can_continue: true,
            checked_lockers: true,
            locker_remains: true,
        };
    }
    lock.unlocked_while(|| {
        mx::acquire_tuplock(
            relation,
            &mut tid,
            lockmode,
            pg_sys::LockWaitPolicy::LockWaitBlock,
            have_tuple_lock,
        );
        xact::wait(xwait, relation, &mut tid, oper);
    });
    if xmax_changed(&t.header(), &before) {
        return WaitOutcome::Restart;
    }
    update_xmax_hint_bits(t, xwait);
    let can_continue = is_update && t.header().xmax_invalid();
    WaitOutcome::Decide {
        can_continue,
        checked_lockers: true,
        locker_remains: false,
    }
}

/// Result after waiting: TM_Ok if the tuple may be changed now, else Updated/Deleted.
fn decide_after_wait(relation: pg_sys::Relation, t: &Target, can_continue: bool) -> TmResult {
    let h = t.header();
    let mut o = t.oracle(relation);
    if can_continue
        || h.xmax_invalid()
        || h.xmax_mode().is_lock_only()
        || vis::is_only_locked(&h, &mut o)
    {
        TmResult::Ok
    } else if vis::indicates_update(&h) {
        TmResult::Updated
    } else {
        TmResult::Deleted
    }
}

/// Crosscheck snapshot test for RI in REPEATABLE READ/SERIALIZABLE.
fn visible_to(relation: pg_sys::Relation, t: &Target, snapshot: pg_sys::Snapshot) -> bool {
    let ctx = super::visibility::VisCtx::new(relation, snapshot);
    // SAFETY: buffer locked, tuple located.
    unsafe { ctx.check(t.buffer, t.blk, t.off, t.ptr) }
}

// ---------------------------------------------------------------------------------
// DELETE
// ---------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
pub fn delete(
    relation: pg_sys::Relation,
    tid: &pg_sys::ItemPointerData,
    cid: u32,
    crosscheck: pg_sys::Snapshot,
    wait: bool,
    tmfd: *mut pg_sys::TM_FailureData,
    changing_part: bool,
) -> pg_sys::TM_Result::Type {
    let xid = current_xid();
    let mut t = Target::read(relation, tid);
    let mut lock = BufferLock::exclusive(t.buffer);
    t.locate(relation);
    let mut have_tuple_lock = false;
    let mut result;
    loop {
        result = satisfies_update(relation, &t, cid);
        if result == TmResult::Invisible {
            // (the abort releases the lock and the pin)
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "attempted to delete invisible tuple"
            );
        }
        if result == TmResult::BeingModified && wait {
            match wait_for_modifier(
                relation,
                &mut t,
                &mut lock,
                mx::EXCLUSIVE,
                mx::UPDATE,
                pg_sys::XLTW_Oper::XLTW_Delete,
                false,
                false,
                &mut have_tuple_lock,
            ) {
                WaitOutcome::Restart => continue,
                WaitOutcome::Decide { .. } => result = decide_after_wait(relation, &t, false),
            }
        }
        break;
    }
    if !crosscheck.is_null() && result == TmResult::Ok && !visible_to(relation, &t, crosscheck) {
        result = TmResult::Updated;
    }
    let mut ptid = t.tid();
    if result != TmResult::Ok {
        fill_tmfd(relation, &t, result, tmfd);
        // SAFETY: Target's pin, not used after this.
        unsafe { lock.unlock_release() };
        if have_tuple_lock {
            mx::release_tuplock(relation, &mut ptid, mx::EXCLUSIVE);
        }
        return to_tm(result);
    }
    crate::pg::ssi::conflict_in(relation, Some(ptid), t.blk);
    let mut h = t.header();
    let mut o = t.oracle(relation);
    let raw_cmin = cmin_word_if_needed(&h, &mut o);
    let (cid_word, iscombo) = combocid::adjust_cmax(&h, raw_cmin, cid);
    // multixact bookkeeping before we may join one
    xact::set_oldest_member();
    let (new_xmax, mode, is_multi) = mx::compute_new_xmax(&h, xid, mx::EXCLUSIVE, true);
    let vm = VmPin::for_write(relation, t.buffer);
    // The replica identity, before the critical section (it may detoast and allocate).
    // SAFETY: the located tuple on the exclusively locked page.
    let old_bytes = unsafe { std::slice::from_raw_parts(t.ptr, t.len) };
    let old_identity = replident::for_delete(relation, old_bytes, t.tid());
    let logical = replident::change_part(relation, old_identity.as_ref());
    {
        let crit = CritSection::enter();
        let d = DeleteBlock {
            offnum: t.off,
            vm_cleared: vm.clear_all(relation, t.buffer),
            super_delete: false,
            moved_partitions: changing_part,
            xmax: XmaxInfo {
                xmax: new_xmax,
                mode,
                is_multi,
            },
        };
        t.page.set_prunable(xid);
        transition::delete(&mut h, &d);
        h.aux = cid_word;
        if iscombo {
            h.set_flags(TupleFlags::COMBO_CID);
        }
        t.set_header(&h);
        crate::pg::fault::point(crate::pg::fault::Kind::Delete);
        crit.mark_dirty(t.buffer);
        if rel::needs_wal(relation) {
            log::delete(&crit, t.buffer, &d, logical.as_ref());
        }
    }
    let toasted = toast::collect_external(relation, t.ptr, t.len);
    // SAFETY: Target's pin, not used after this.
    unsafe { lock.unlock_release() };
    toast::delete_external(relation, toasted, false);
    if have_tuple_lock {
        mx::release_tuplock(relation, &mut ptid, mx::EXCLUSIVE);
    }
    rel::count_deleted(relation);
    pg_sys::TM_Result::TM_Ok
}

// ---------------------------------------------------------------------------------
// UPDATE
// ---------------------------------------------------------------------------------

/// Which index-relevant columns an update changes (heap's HeapDetermineColumnsInfo):
/// binary comparison of the old and new values.
struct ColumnsChanged {
    /// A key column (unique index or FK target): decides the row-lock strength.
    key: bool,
    /// Any column an index uses (keys, expressions, predicates): decides whether the new
    /// version can join a same-page chain without index entries of its own (HOT).
    indexed: bool,
}

// The index-attribute sets of an UPDATE (their source differs by PostgreSQL version).
use crate::pg::compat::IndexAttrs as IndexAttrSets;

fn columns_changed(
    relation: pg_sys::Relation,
    old: &Target,
    newslot: *mut pg_sys::TupleTableSlot,
) -> ColumnsChanged {
    let sets = IndexAttrSets::of(relation);
    let (keys, indexed) = (sets.keys, sets.hot_blocking);
    // SAFETY: the sets stay valid while `sets` lives (see IndexAttrSets::of); the old
    // tuple is on the exclusively locked page and the new slot holds natts values.
    unsafe {
        if keys.is_null() && indexed.is_null() {
            return ColumnsChanged {
                key: false,
                indexed: false,
            };
        }
        let tupdesc = (*relation).rd_att;
        let natts = (*tupdesc).natts as usize;
        // The old row's values: on the stack for up to ON_STACK columns (a Vec pair per
        // updated row was two allocations and two frees, about 280 instructions).
        const ON_STACK: usize = 32;
        let mut values_stack = [pg_sys::Datum::from(0usize); ON_STACK];
        let mut isnull_stack = [true; ON_STACK];
        let (mut values_heap, mut isnull_heap);
        let (values, isnull): (&mut [pg_sys::Datum], &mut [bool]) = if natts <= ON_STACK {
            (&mut values_stack[..natts], &mut isnull_stack[..natts])
        } else {
            values_heap = vec![pg_sys::Datum::from(0usize); natts];
            isnull_heap = vec![true; natts];
            (&mut values_heap, &mut isnull_heap)
        };
        let bytes = std::slice::from_raw_parts(old.ptr, old.len);
        let stored = glassheap_format::tuple::TupleHeader::read(bytes).natts() as usize;
        let mut st = slot::DeformState::default();
        let errslot: pg_sys::TupleTableSlot = pg_sys::TupleTableSlot {
            tts_tid: old.tid(),
            tts_tableOid: rel::relid(relation),
            ..Default::default()
        };
        if let Err(e) = slot::deform_range(
            tupdesc,
            bytes,
            &mut st,
            stored.min(natts),
            values.as_mut_ptr(),
            isnull.as_mut_ptr(),
        ) {
            slot::corrupt(&errslot, e);
        }
        for i in stored.min(natts)..natts {
            values[i] = pg_sys::getmissingattr(tupdesc, i as i32 + 1, &mut isnull[i]);
        }
        slot::getsomeattrs(newslot, natts as i32);
        let differs = |attnum: i32| -> bool {
            if attnum <= 0 {
                return true; // system column in an index: be conservative
            }
            let i = attnum as usize - 1;
            let (n1, n2) = (isnull[i], *(*newslot).tts_isnull.add(i));
            if n1 || n2 {
                return n1 != n2;
            }
            let att = crate::pg::compat::attr(tupdesc, i);
            let (v1, v2) = (values[i], *(*newslot).tts_values.add(i));
            if (*att).attbyval {
                // datumIsEqual's by-value case, without the call
                v1 != v2
            } else {
                !sys_extra::datumIsEqual(v1, v2, false, (*att).attlen as i32)
            }
        };
        let any_differs = |set: *mut pg_sys::Bitmapset| -> bool {
            crate::pg::rel::bms_members(set)
                .any(|idx| differs(idx + pg_sys::FirstLowInvalidHeapAttributeNumber))
        };
        ColumnsChanged {
            key: any_differs(keys),
            indexed: any_differs(indexed),
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn update(
    relation: pg_sys::Relation,
    otid: &pg_sys::ItemPointerData,
    newslot: *mut pg_sys::TupleTableSlot,
    cid: u32,
    crosscheck: pg_sys::Snapshot,
    wait: bool,
    tmfd: *mut pg_sys::TM_FailureData,
    lockmode_out: *mut pg_sys::LockTupleMode::Type,
    update_indexes: *mut bool,
) -> pg_sys::TM_Result::Type {
    let xid = current_xid();
    let mut f = form_from_slot(relation, newslot);
    let mut t = Target::read(relation, otid);
    let mut lock = BufferLock::exclusive(t.buffer);
    t.locate(relation);
    let changed = columns_changed(relation, &t, newslot);
    let key_intact = !changed.key;
    let (lockmode, mx_status) = if key_intact {
        xact::set_oldest_member();
        (mx::NO_KEY_EXCLUSIVE, mx::NO_KEY_UPDATE)
    } else {
        (mx::EXCLUSIVE, mx::UPDATE)
    };
    // SAFETY: executor output.
    unsafe { *lockmode_out = lockmode };
    let mut have_tuple_lock = false;
    let mut checked_lockers;
    let mut locker_remains;
    let mut result;
    loop {
        checked_lockers = false;
        locker_remains = false;
        result = satisfies_update(relation, &t, cid);
        if result == TmResult::Invisible {
            // (the abort releases the lock and the pin)
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "attempted to update invisible tuple"
            );
        }
        if result == TmResult::BeingModified && wait {
            match wait_for_modifier(
                relation,
                &mut t,
                &mut lock,
                lockmode,
                mx_status,
                pg_sys::XLTW_Oper::XLTW_Update,
                key_intact,
                true,
                &mut have_tuple_lock,
            ) {
                WaitOutcome::Restart => continue,
                WaitOutcome::Decide {
                    can_continue,
                    checked_lockers: c,
                    locker_remains: r,
                } => {
                    checked_lockers = c;
                    locker_remains = r;
                    result = decide_after_wait(relation, &t, can_continue);
                }
            }
        }
        break;
    }
    if !crosscheck.is_null() && result == TmResult::Ok && !visible_to(relation, &t, crosscheck) {
        result = TmResult::Updated;
    }
    let mut ptid = t.tid();
    if result != TmResult::Ok {
        fill_tmfd(relation, &t, result, tmfd);
        // SAFETY: Target's pin, not used after this; executor output.
        unsafe {
            lock.unlock_release();
            *update_indexes = false;
        }
        f.free();
        if have_tuple_lock {
            mx::release_tuplock(relation, &mut ptid, lockmode);
        }
        return to_tm(result);
    }

    let oldh = t.header();
    let mut o = t.oracle(relation);
    // xmax of the old version: us as updater (merged with surviving lockers).
    let (xmax_old, mode_old, multi_old) = mx::compute_new_xmax(&oldh, xid, lockmode, true);
    // xmax of the new version: surviving key-share lockers carry over.
    let new_xmax = if oldh.xmax_invalid() || (checked_lockers && !locker_remains) || oldh.xmax == 0
    {
        None
    } else if oldh.xmax_is_multi() {
        Some(XmaxInfo {
            xmax: oldh.xmax,
            mode: mx::mode_of_multi(oldh.xmax),
            is_multi: true,
        })
    } else {
        Some(XmaxInfo {
            xmax: oldh.xmax,
            mode: glassheap_format::tuple::XmaxMode::LockKeyShare,
            is_multi: false,
        })
    };
    let mut newh =
        transition::new_tuple(xid, f.natts, f.has_nulls, false, new_xmax.as_ref(), false);
    newh.aux = cid;
    newh.write(f.bytes_mut());
    let raw_cmin = cmin_word_if_needed(&oldh, &mut o);
    let (cid_word, iscombo) = combocid::adjust_cmax(&oldh, raw_cmin, cid);
    let needs_wal = rel::needs_wal(relation);

    // Same page if it fits; otherwise mark the old version locked, release the page while
    // finding another one, and lock both in block order. TOAST work (heap's need_toast)
    // also takes that path: it runs with the old version locked but its page unlocked.
    let need_toast = toast::update_needs_toast(relation, &f, t.ptr, t.len);
    let newlen = maxalign(f.len);
    let (new_page, lock) = if !need_toast && newlen <= t.page.free_space() {
        (None, lock)
    } else {
        let (lx, lmode, lmulti) = mx::compute_new_xmax(&oldh, xid, lockmode, false);
        let vm = VmPin::for_write(relation, t.buffer);
        {
            let crit = CritSection::enter();
            let l = LockBlock {
                offnum: t.off,
                vm_cleared: vm.clear_frozen(relation, t.buffer),
                updated_version: false,
                xmax: XmaxInfo {
                    xmax: lx,
                    mode: lmode,
                    is_multi: lmulti,
                },
            };
            let mut h = t.header();
            transition::lock(&mut h, &l);
            h.clear_flags(TupleFlags::COMBO_CID);
            h.aux = cid_word;
            if iscombo {
                h.set_flags(TupleFlags::COMBO_CID);
            }
            t.set_header(&h);
            crate::pg::fault::point(crate::pg::fault::Kind::UpdateLock);
            crit.mark_dirty(t.buffer);
            if needs_wal {
                log::lock(&crit, t.buffer, &l);
            }
        }
        lock.unlock();
        if need_toast {
            toast::prepare_update(relation, &mut f, t.ptr, t.len);
            // SAFETY: f is the slot's row (or not slot-owned).
            unsafe { slot::formed_rewritten(newslot, &f) };
        }
        // May hand back our own page if room appeared meanwhile; both locked on return.
        hio::buffer_for_update(relation, f.len, t.buffer)
    };
    let same_page = new_page.is_none();
    let newbuf = new_page.as_ref().map_or(t.buffer, LockedBuffer::buffer);
    // HOT: the new version joins the old one's same-page chain and gets no index entries;
    // readers reach it from the chain's root (heap's heap-only tuples).
    let heap_only = same_page && !changed.indexed;
    if heap_only {
        newh.set_flags(TupleFlags::HEAP_ONLY);
        newh.write(f.bytes_mut());
    }
    crate::pg::ssi::conflict_in(relation, Some(ptid), t.blk);
    let newpage = new_page.as_ref().map_or(t.page, LockedBuffer::page_ref);
    // SAFETY: newbuf is pinned.
    let newblk = unsafe { crate::pg::page::buffer_block_number(newbuf) };
    let old_vm = VmPin::for_write(relation, t.buffer);
    let new_vm = if same_page {
        VmPin::NONE
    } else {
        VmPin::for_write(relation, newbuf)
    };
    // The replica identity, before the critical section (it may detoast and allocate).
    // SAFETY: the located old version on its locked page.
    let old_bytes = unsafe { std::slice::from_raw_parts(t.ptr, t.len) };
    let old_identity = replident::for_update(relation, old_bytes, t.tid(), newslot);
    let logical = replident::change_part(relation, old_identity.as_ref());
    let new_off;
    {
        let crit = CritSection::enter();
        let old_vm_cleared = old_vm.clear_all(relation, t.buffer);
        let new_vm_cleared = !same_page && new_vm.clear_all(relation, newbuf);
        t.page.set_prunable(xid);
        new_off = newpage.add_item(f.bytes(), 0);
        if new_off == 0 {
            ereport!(
                PANIC,
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "glassheap: failed to add updated tuple to page"
            );
        }
        let old = UpdateOld {
            offnum: t.off,
            vm_cleared: old_vm_cleared,
            xmax: XmaxInfo {
                xmax: xmax_old,
                mode: mode_old,
                is_multi: multi_old,
            },
            new_offnum: new_off,
        };
        let mut h = t.header();
        transition::update_old(&mut h, &old, if same_page { None } else { Some(newblk) });
        if same_page {
            h.aux = cid_word;
        }
        if iscombo {
            h.set_flags(TupleFlags::COMBO_CID);
        }
        t.set_header(&h);
        crate::pg::fault::point(crate::pg::fault::Kind::Update);
        if !same_page {
            crit.mark_dirty(newbuf);
        }
        crit.mark_dirty(t.buffer);
        if needs_wal {
            let init_page = !same_page && new_off == 1 && newpage.max_offset() == 1;
            // Same page: log only what differs from the old version's body (heap's
            // prefix/suffix compression); redo finds the old version on the page. The
            // old version is still where it was located: add_item only used free space.
            // Not when decoding needs the whole new row from the record.
            let (prefix_len, suffix_len) = match lock.page().tuple(t.off) {
                Some(old_tuple) if same_page && logical.is_none() => {
                    glassheap_format::records::shared_prefix_suffix(
                        &old_tuple[glassheap_format::tuple::HEADER_SIZE..],
                        f.body(),
                    )
                }
                _ => (0, 0),
            };
            let body = f.body();
            let new = UpdateNew {
                offnum: new_off,
                natts: f.natts,
                has_nulls: f.has_nulls,
                heap_only,
                init_page,
                vm_cleared: if same_page {
                    old_vm_cleared
                } else {
                    new_vm_cleared
                },
                new_xmax,
                same_page_old: if same_page { Some(old.clone()) } else { None },
                prefix_len,
                suffix_len,
                body: &body[prefix_len as usize..body.len() - suffix_len as usize],
            };
            log::update(&crit, newbuf, t.buffer, &new, &old, logical.as_ref());
        }
    }
    if !same_page {
        cidmap::remember(
            rel::relid(relation),
            &rel::relfilenode(relation),
            t.blk,
            t.off,
            cid_word,
        );
    }
    drop(new_page);
    // SAFETY: Target's pin, not used after this.
    unsafe { lock.unlock_release() };
    if have_tuple_lock {
        mx::release_tuplock(relation, &mut ptid, lockmode);
    }
    finish_slot(relation, newslot, &f, rel::make_tid(newblk, new_off));
    f.free();
    rel::count_updated(relation, heap_only, !same_page);
    // SAFETY: executor output.
    unsafe { *update_indexes = !heap_only };
    pg_sys::TM_Result::TM_Ok
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_insert(
        rel_: pg_sys::Relation,
        slot: *mut pg_sys::TupleTableSlot,
        cid: pg_sys::CommandId,
        options: core::ffi::c_int,
        bistate: pg_sys::BulkInsertState,
    ) {
        super::insert(rel_, slot, cid, options, bistate, None)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_insert_speculative(
        rel_: pg_sys::Relation,
        slot: *mut pg_sys::TupleTableSlot,
        cid: pg_sys::CommandId,
        options: core::ffi::c_int,
        bistate: pg_sys::BulkInsertState,
        spec_token: pg_sys::uint32,
    ) {
        super::insert(rel_, slot, cid, options, bistate, Some(spec_token))
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_complete_speculative(
        rel_: pg_sys::Relation,
        slot: *mut pg_sys::TupleTableSlot,
        _spec_token: pg_sys::uint32,
        succeeded: bool,
    ) {
        super::complete_speculative(rel_, slot, succeeded)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn multi_insert(
        rel_: pg_sys::Relation,
        slots: *mut *mut pg_sys::TupleTableSlot,
        ntuples: core::ffi::c_int,
        cid: pg_sys::CommandId,
        options: core::ffi::c_int,
        bistate: pg_sys::BulkInsertState,
    ) {
        super::multi_insert(rel_, slots, ntuples as usize, cid, options, bistate)
    }

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn tuple_delete(
        rel_: pg_sys::Relation,
        tid: pg_sys::ItemPointer,
        cid: pg_sys::CommandId,
        _snapshot: pg_sys::Snapshot,
        crosscheck: pg_sys::Snapshot,
        wait: bool,
        tmfd: *mut pg_sys::TM_FailureData,
        changing_part: bool,
    ) -> pg_sys::TM_Result::Type {
        // SAFETY: tid valid for the call.
        super::delete(
            rel_,
            unsafe { &*tid },
            cid,
            crosscheck,
            wait,
            tmfd,
            changing_part,
        )
    }
}
