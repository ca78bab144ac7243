//! Bridge to PostgreSQL's combo command ids (combocid.c). Its exported functions take a
//! heap tuple header, so we hand them a stack-built heap header carrying just the fields
//! they read. Using PostgreSQL's own combo ids means parallel workers see them too
//! (combocid.c serialises its state into the parallel DSM).

use glassheap_format::tuple::{TupleFlags, TupleHeader};
use pgrx::pg_sys;

fn fake_heap_header(h: &TupleHeader, raw_cid: u32) -> pg_sys::HeapTupleHeaderData {
    // SAFETY: HeapTupleHeaderData is plain old data; zero is a valid bit pattern.
    let mut f: pg_sys::HeapTupleHeaderData = unsafe { std::mem::zeroed() };
    let mut infomask: u16 = 0;
    if h.has(TupleFlags::COMBO_CID) {
        infomask |= pg_sys::HEAP_COMBOCID as u16;
    }
    if h.xmin_committed() {
        infomask |= pg_sys::HEAP_XMIN_COMMITTED as u16;
    }
    if h.xmin_invalid() {
        infomask |= pg_sys::HEAP_XMIN_INVALID as u16;
    }
    if h.xmax_invalid() {
        infomask |= pg_sys::HEAP_XMAX_INVALID as u16;
    }
    if h.xmax_is_multi() {
        infomask |= pg_sys::HEAP_XMAX_IS_MULTI as u16;
    }
    if h.xmax_mode().is_lock_only() {
        infomask |= pg_sys::HEAP_XMAX_LOCK_ONLY as u16;
    }
    f.t_infomask = infomask;
    // Writing union fields is safe; the heap variant is the one combocid.c reads.
    f.t_choice.t_heap.t_xmin = h.xmin.into();
    f.t_choice.t_heap.t_xmax = h.xmax.into();
    f.t_choice.t_heap.t_field3.t_cid = raw_cid;
    f
}

/// cmin of a tuple whose raw command id word is `raw`.
pub fn cmin(h: &TupleHeader, raw: u32) -> u32 {
    if !h.has(TupleFlags::COMBO_CID) {
        return raw;
    }
    let mut f = fake_heap_header(h, raw);
    // SAFETY: combocid.c only reads t_infomask and t_cid here.
    unsafe { pg_sys::HeapTupleHeaderGetCmin(&raw mut f) }
}

/// cmax of a tuple whose raw command id word is `raw`.
pub fn cmax(h: &TupleHeader, raw: u32) -> u32 {
    if !h.has(TupleFlags::COMBO_CID) {
        return raw;
    }
    let mut f = fake_heap_header(h, raw);
    // SAFETY: as above (the Assert on the updating xid only exists in assert builds and
    // reads fields we filled in).
    unsafe { pg_sys::HeapTupleHeaderGetCmax(&raw mut f) }
}

/// HeapTupleHeaderAdjustCmax: the raw word to store when the current transaction deletes,
/// updates or super-locks a tuple whose raw cmin word is `raw_cmin`; returns (word, combo?).
pub fn adjust_cmax(h: &TupleHeader, raw_cmin: u32, cmax: u32) -> (u32, bool) {
    // combocid.c's own first test, done here: a version whose inserter is hinted
    // committed was not inserted by this transaction, so no combo id is needed (every
    // version of a table's first update in a transaction; a call less per row).
    if h.xmin_committed() {
        return (cmax, false);
    }
    let mut f = fake_heap_header(h, raw_cmin);
    let mut cid = cmax;
    let mut iscombo = false;
    // SAFETY: combocid.c reads xmin/infomask/t_cid and may allocate a combo id.
    unsafe { pg_sys::HeapTupleHeaderAdjustCmax(&raw mut f, &mut cid, &mut iscombo) };
    (cid, iscombo)
}
