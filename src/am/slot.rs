//! glassheap's tuple table slot.
//!
//! Like heap's BufferHeapTupleTableSlot, the slot can point straight into a pinned
//! buffer (holding its own pin) and deforms attributes lazily, so `count(*)` never
//! touches attribute data. It can also own a palloc'd copy, or hold a virtual tuple
//! (values/isnull only) that the executor built; materializing a virtual tuple forms
//! glassheap bytes in the slot's memory context.
//!
//! Deforming follows slot_deform_heap_tuple exactly (including attcacheoff caching in
//! the shared tuple descriptor, valid because the data area is heap's), with bounds
//! checks against the tuple length so a corrupt page raises an error instead of reading
//! past the tuple.

use super::tuple;
use crate::pg::compat;
use crate::pg::error::pg_callback;
use crate::pg::page::read_header;
use glassheap_format::attrs::{align_nominal, attr_size, attr_start};
use glassheap_format::tuple::{TupleFlags, HEADER_SIZE};
use pgrx::pg_sys;
use pgrx::prelude::*;

#[repr(C)]
pub struct GlassSlot {
    pub base: pg_sys::TupleTableSlot,
    /// First byte of the stored tuple, or null (empty or virtual slot).
    pub tuple: *mut u8,
    pub len: u32,
    /// Buffer `tuple` points into; the slot holds its own pin on it.
    pub buffer: pg_sys::Buffer,
    /// Deform state: offset in the data area after the last deformed attribute.
    pub off: u32,
    /// `tuple` was formed here from the slot's values with the slot's descriptor (by
    /// materialize or copyslot), so an insert can take those bytes instead of forming the
    /// row again. Cleared whenever other bytes are stored.
    pub formed_here: bool,
    /// heap_fill_tuple reported an external value (HEAP_HASEXTERNAL) when forming it.
    pub formed_external: bool,
    /// Usable size of the owned chunk `tuple` points into (SHOULDFREE), at least `len`.
    pub cap: u32,
    /// An owned chunk (in `tts_mcxt`) kept when the slot was cleared, of `spare_cap`
    /// bytes, for the next row materialized here: a COPY batch clears and refills each
    /// of its slots once per row, and a palloc0/pfree pair per row was a measurable
    /// share of COPY (two calls through pgrx's FFI guard besides the allocator's work).
    pub spare: *mut u8,
    pub spare_cap: u32,
}

/// Owned chunks up to this size are kept as a slot's spare when it is cleared; larger
/// ones (rows of a few wide values, or TOAST-sized) are freed, so a slot that once held
/// a big row does not keep its memory.
const SPARE_MAX: usize = 8192;

const EMPTY: u16 = pg_sys::TTS_FLAG_EMPTY as u16;
const SHOULDFREE: u16 = pg_sys::TTS_FLAG_SHOULDFREE as u16;
const SLOW: u16 = pg_sys::TTS_FLAG_SLOW as u16;

/// The members whose signatures differ by version (copy_minimal_tuple, and from 17
/// is_current_xact_tuple) are added by `compat::slot_callbacks::with_versioned`.
pub static GLASS_SLOT_OPS: pg_sys::TupleTableSlotOps =
    compat::slot_callbacks::with_versioned(pg_sys::TupleTableSlotOps {
        base_slot_size: std::mem::size_of::<GlassSlot>(),
        init: Some(slot_init),
        release: Some(slot_release),
        clear: Some(slot_clear),
        getsomeattrs: Some(slot_getsomeattrs),
        getsysattr: Some(slot_getsysattr),
        materialize: Some(slot_materialize),
        copyslot: Some(slot_copyslot),
        get_heap_tuple: None,
        get_minimal_tuple: None,
        copy_heap_tuple: Some(slot_copy_heap_tuple),
        // SAFETY: all-zero is every remaining member unset (None); with_versioned sets
        // them.
        ..unsafe { std::mem::zeroed() }
    });

#[inline(always)]
pub fn is_glass_slot(slot: *mut pg_sys::TupleTableSlot) -> bool {
    // SAFETY: reading the ops pointer of a valid slot.
    unsafe { std::ptr::eq((*slot).tts_ops, &GLASS_SLOT_OPS) }
}

/// Casts after checking the slot really is ours (a wrong slot type is a caller bug that
/// must not become memory corruption).
#[inline(always)]
pub fn cast(slot: *mut pg_sys::TupleTableSlot) -> *mut GlassSlot {
    if !is_glass_slot(slot) {
        error!("glassheap: expected a glassheap tuple slot");
    }
    slot as *mut GlassSlot
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_init(slot: *mut pg_sys::TupleTableSlot) {
    let s = slot as *mut GlassSlot;
    // SAFETY: MakeTupleTableSlot allocated base_slot_size zeroed bytes.
    unsafe {
        (*s).tuple = std::ptr::null_mut();
        (*s).len = 0;
        (*s).buffer = pg_sys::InvalidBuffer as i32;
        (*s).off = 0;
        (*s).formed_here = false;
        (*s).formed_external = false;
        (*s).cap = 0;
        (*s).spare = std::ptr::null_mut();
        (*s).spare_cap = 0;
    }
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_release(slot: *mut pg_sys::TupleTableSlot) {
    let s = slot as *mut GlassSlot;
    // SAFETY: the spare is a chunk of the slot's own memory context nothing points into.
    unsafe {
        if !(*s).spare.is_null() {
            crate::pg::mem::pfree((*s).spare as *mut core::ffi::c_void);
            (*s).spare = std::ptr::null_mut();
            (*s).spare_cap = 0;
        }
    }
}

/// Forms a row from `values`/`isnull` into memory the slot will own: its spare chunk
/// when that is big enough (zeroed first), else a new palloc0 (the current memory
/// context must be `tts_mcxt`). Returns the row and the chunk's usable size, which the
/// caller records in `cap` when it stores the row.
///
/// # Safety
/// `s` is a valid glass slot; CurrentMemoryContext is its `tts_mcxt`; `values`/`isnull`
/// hold `tupdesc->natts` entries.
unsafe fn form_owned(
    s: *mut GlassSlot,
    tupdesc: pg_sys::TupleDesc,
    values: *const pg_sys::Datum,
    isnull: *const bool,
) -> (tuple::Formed, u32) {
    let mut cap = 0;
    // SAFETY: per the contract; the spare is an owned chunk of `spare_cap` bytes nothing
    // points into.
    let f = unsafe {
        tuple::form_in(tupdesc, values, isnull, |len| {
            let spare = (*s).spare;
            if !spare.is_null() && len <= (*s).spare_cap as usize {
                (*s).spare = std::ptr::null_mut();
                std::ptr::write_bytes(spare, 0, len);
                cap = (*s).spare_cap;
                return spare;
            }
            cap = len as u32;
            crate::pg::mem::palloc0(len)
        })
    };
    (f, cap)
}

/// Gives up an owned row (SHOULDFREE): kept as the spare chunk when there is none and it
/// is small, else freed. `tuple` is left dangling for the caller to overwrite.
///
/// # Safety
/// `s` is a valid glass slot.
#[inline(always)]
unsafe fn drop_owned(s: *mut GlassSlot) {
    // SAFETY: an owned row is a chunk of `cap` bytes in tts_mcxt that the slot owns.
    unsafe {
        if (*s).base.tts_flags & SHOULDFREE == 0 {
            return;
        }
        if !(*s).tuple.is_null() {
            if keeps_as_spare(s) {
                (*s).spare = (*s).tuple;
                (*s).spare_cap = (*s).cap;
            } else {
                crate::pg::mem::pfree((*s).tuple as *mut core::ffi::c_void);
            }
        }
        (*s).base.tts_flags &= !SHOULDFREE;
    }
}

/// Whether [`drop_owned`] keeps the owned row's chunk as the spare (no spare yet, small).
///
/// # Safety
/// `s` is a valid glass slot.
#[inline(always)]
unsafe fn keeps_as_spare(s: *mut GlassSlot) -> bool {
    // SAFETY: per the contract.
    unsafe { (*s).spare.is_null() && (*s).cap as usize <= SPARE_MAX }
}

/// The slot's `tts_flags`, read with a 2-byte load. A plain read let the compiler load
/// the 2-byte field with a 4-byte read that also covers `tts_nvalid` (offset 6); right
/// after a 2-byte store to either field (`drop_owned` clears SHOULDFREE, every store
/// resets `tts_nvalid`), such a load cannot be forwarded from the store buffer and stalls
/// until the store commits: 70% of `slot_clear`'s samples in a COPY profile, a third of
/// `getsomeattrs`' in a scan's.
#[inline(always)]
fn read_flags(base: &pg_sys::TupleTableSlot) -> u16 {
    // SAFETY: a reference to an initialized field.
    unsafe { std::ptr::read_volatile(&base.tts_flags) }
}

/// Sets and clears `tts_flags` bits and marks no attribute valid.
#[inline(always)]
fn reset_flags_and_nvalid(base: &mut pg_sys::TupleTableSlot, set: u16, clear: u16) {
    base.tts_flags = (read_flags(base) | set) & !clear;
    base.tts_nvalid = 0;
}

/// Drops the stored tuple: frees (or keeps as the spare) an owned copy, releases the pin.
unsafe fn clear_contents(s: *mut GlassSlot) {
    // SAFETY: s is a valid glass slot.
    unsafe {
        drop_owned(s);
        if (*s).buffer != pg_sys::InvalidBuffer as i32 {
            crate::pg::bufmgr::release((*s).buffer);
            (*s).buffer = pg_sys::InvalidBuffer as i32;
        }
        (*s).tuple = std::ptr::null_mut();
        (*s).len = 0;
        (*s).formed_here = false;
    }
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_clear(slot: *mut pg_sys::TupleTableSlot) {
    // SAFETY: PostgreSQL passes a slot made with GLASS_SLOT_OPS.
    unsafe { clear_slot(slot as *mut GlassSlot) }
}

/// # Safety
/// `s` is a valid glass slot.
#[inline(always)]
unsafe fn clear_slot(s: *mut GlassSlot) {
    // SAFETY: per the contract.
    unsafe {
        clear_contents(s);
        reset_flags_and_nvalid(&mut (*s).base, EMPTY, SLOW);
        (*s).base.tts_tid = crate::pg::rel::make_tid(pg_sys::InvalidBlockNumber, 0);
        (*s).off = 0;
    }
}

/// Stores a tuple that lives in `buffer`; the slot takes its own pin (or keeps the one it
/// already has on that buffer).
///
/// Inlined into the scan's per-tuple step: the rare parts (an owned row to drop, a pin
/// to switch, the latter a guarded call) are out of line, so the common case -- the next
/// row of the page the slot already pins -- is a handful of stores (it was a call with
/// a saved-register prologue and epilogue, about 15 instructions per row scanned).
///
/// # Safety
/// `tup`/`len` describe a normal tuple on the pinned `buffer`.
#[inline(always)]
pub unsafe fn store_buffer_tuple(
    slot: *mut pg_sys::TupleTableSlot,
    tup: *mut u8,
    len: usize,
    buffer: pg_sys::Buffer,
    tid: pg_sys::ItemPointerData,
    table_oid: pg_sys::Oid,
) {
    let s = cast(slot);
    // SAFETY: valid slot; buffer pinned by the caller.
    unsafe {
        if (*s).base.tts_flags & SHOULDFREE != 0 {
            drop_owned_slow(s);
        }
        if (*s).buffer != buffer {
            switch_pin(s, buffer);
        }
        (*s).tuple = tup;
        (*s).len = len as u32;
        (*s).formed_here = false;
        (*s).off = 0;
        reset_flags_and_nvalid(&mut (*s).base, 0, EMPTY | SLOW);
        (*s).base.tts_tid = tid;
        (*s).base.tts_tableOid = table_oid;
    }
}

/// [`drop_owned`] out of line, for [`store_buffer_tuple`]'s rare case.
///
/// # Safety
/// `s` is a valid glass slot.
#[inline(never)]
unsafe fn drop_owned_slow(s: *mut GlassSlot) {
    // SAFETY: per the contract.
    unsafe { drop_owned(s) }
}

/// The slot's pin moved to `buffer` (pinned by the caller): the old one released, one
/// of the slot's own taken.
///
/// # Safety
/// `s` is a valid glass slot; `buffer` is pinned.
#[inline(never)]
unsafe fn switch_pin(s: *mut GlassSlot, buffer: pg_sys::Buffer) {
    // SAFETY: per the contract.
    unsafe {
        if (*s).buffer != pg_sys::InvalidBuffer as i32 {
            crate::pg::bufmgr::release((*s).buffer);
        }
        pg_sys::IncrBufferRefCount(buffer);
        (*s).buffer = buffer;
    }
}

/// Stores a copy of `bytes` owned by the slot (in its memory context).
///
/// # Safety
/// `slot` is a glass slot.
pub unsafe fn store_copy(
    slot: *mut pg_sys::TupleTableSlot,
    bytes: &[u8],
    tid: pg_sys::ItemPointerData,
    table_oid: pg_sys::Oid,
) {
    let s = cast(slot);
    // SAFETY: valid slot; allocation in the slot's own context.
    unsafe {
        let p = crate::pg::mem::alloc_in((*s).base.tts_mcxt, bytes.len(), false);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        clear_contents(s);
        (*s).tuple = p;
        (*s).len = bytes.len() as u32;
        (*s).cap = bytes.len() as u32;
        (*s).off = 0;
        reset_flags_and_nvalid(&mut (*s).base, SHOULDFREE, EMPTY | SLOW);
        (*s).base.tts_tid = tid;
        (*s).base.tts_tableOid = table_oid;
    }
}

/// What deforming found wrong with a stored tuple.
#[derive(Debug, Clone)]
pub enum Corrupt {
    HeaderTooShort,
    HeaderLongerThanTuple,
    NullBitmapPastHeader,
    ByvalLength,
    Attr(glassheap_format::attrs::AttrError),
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corrupt::HeaderTooShort => f.write_str("shorter than a tuple header"),
            Corrupt::HeaderLongerThanTuple => f.write_str("header longer than tuple"),
            Corrupt::NullBitmapPastHeader => f.write_str("null bitmap shorter than natts"),
            Corrupt::ByvalLength => f.write_str("unsupported by-value length"),
            Corrupt::Attr(e) => e.fmt(f),
        }
    }
}

pub fn corrupt(slot: &pg_sys::TupleTableSlot, what: impl std::fmt::Display) -> ! {
    let (b, o) = crate::pg::rel::tid_parts(&slot.tts_tid);
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!(
            "glassheap tuple ({b},{o}) of relation {} is corrupt: {what}",
            u32::from(slot.tts_tableOid)
        )
    );
}

/// The Datum of a by-value attribute stored in `field` (fetch_att: 1, 2, 4 or 8 bytes,
/// sign-extended as PostgreSQL's Int8/16/32GetDatum do).
#[inline(always)]
fn byval_datum(field: &[u8]) -> Result<pg_sys::Datum, Corrupt> {
    let p = field.as_ptr();
    // SAFETY: `field` has exactly the bytes read (unaligned reads of its own length).
    unsafe {
        Ok(match field.len() {
            1 => pg_sys::Datum::from(*(p as *const i8)),
            2 => pg_sys::Datum::from((p as *const i16).read_unaligned()),
            4 => pg_sys::Datum::from((p as *const i32).read_unaligned()),
            8 => pg_sys::Datum::from((p as *const i64).read_unaligned()),
            _ => return Err(Corrupt::ByvalLength),
        })
    }
}

/// Where deforming stopped: the next attribute, its data offset, and whether cached
/// offsets can no longer be used (a null or variable-width attribute came before).
#[derive(Clone, Copy, Default)]
pub struct DeformState {
    pub attnum: usize,
    pub off: usize,
    pub slow: bool,
}

/// Deforms attributes `st.attnum..end` of the tuple `tup` into values/isnull, exactly as
/// slot_deform_heap_tuple does, but checking every length against the tuple. `end` must
/// not exceed the tuple's own natts. A corrupt tuple is returned as the error, with the
/// attributes before it deformed (the caller raises it, naming its own tuple); every
/// access is a checked `get`, so corruption never becomes a wild read or a panic.
///
/// # Safety
/// values/isnull have room for `end` entries; tupdesc describes the relation.
// Out of line: the slot callback's common path (every attribute read by
// deform_cached_byval) then keeps its state in registers; the other callers deform
// whole rows once per update or TOAST operation, where a call costs nothing measurable.
#[inline(never)]
pub unsafe fn deform_range(
    tupdesc: pg_sys::TupleDesc,
    tup: &[u8],
    st: &mut DeformState,
    end: usize,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
) -> Result<(), Corrupt> {
    let Some(head) = tup.get(..HEADER_SIZE) else {
        return Err(Corrupt::HeaderTooShort);
    };
    let h = glassheap_format::tuple::TupleHeader::read(head);
    let hoff = h.hoff();
    let (Some(bits), Some(data)) = (tup.get(HEADER_SIZE..), tup.get(hoff..)) else {
        return Err(Corrupt::HeaderLongerThanTuple);
    };
    let has_nulls = h.has(TupleFlags::HAS_NULLS);
    let (mut attnum, mut off, mut slow) = (st.attnum, st.off, st.slow);
    // Written back on every exit, so a caller reporting an error knows how far it got.
    let mut result = Ok(());
    // SAFETY: i < end <= natts of tupdesc (callers ensure); values/isnull sized by caller.
    unsafe {
        while attnum < end {
            let i = attnum;
            let att = compat::attr(tupdesc, i);
            // attcacheoff's home: pg_attribute itself before 18 (the same pointer)
            let cache = compat::deform_attr(tupdesc, i);
            if has_nulls {
                let Some(&byte) = bits.get(i >> 3) else {
                    result = Err(Corrupt::NullBitmapPastHeader);
                    break;
                };
                if byte & (1 << (i & 7)) == 0 {
                    *values.add(i) = pg_sys::Datum::from(0usize);
                    *isnull.add(i) = true;
                    slow = true;
                    attnum += 1;
                    continue;
                }
            }
            *isnull.add(i) = false;
            let attlen = (*att).attlen as i32;
            // Fast path: a by-value attribute at a cached offset (every attribute of an
            // all-fixed-width row without nulls before it); anything it declines (an
            // odd width, a field past the end) is decoded and reported below.
            if !slow {
                if let Some((v, next)) = cached_byval(&*cache, data) {
                    *values.add(i) = v;
                    off = next;
                    attnum += 1;
                    continue;
                }
            }
            let desc = crate::pg::compat::attr_desc(&*att);
            // Cached offsets are valid while no null or variable-width attribute came
            // before (the same rule, and the same cache, heap's deforming uses).
            let start = if !slow && (*cache).attcacheoff >= 0 {
                (*cache).attcacheoff as usize
            } else if attlen == -1 {
                if !slow && off == align_nominal(off, desc.align) {
                    (*cache).attcacheoff = off as i32;
                    off
                } else {
                    slow = true;
                    match attr_start(data, off, &desc, i + 1) {
                        Ok(s) => s,
                        Err(e) => {
                            result = Err(Corrupt::Attr(e));
                            break;
                        }
                    }
                }
            } else {
                let s = align_nominal(off, desc.align);
                if !slow {
                    (*cache).attcacheoff = s as i32;
                }
                s
            };
            // attr_size checked start + size against data; get() repeats it without a
            // panic path.
            let field = match attr_size(data, start, &desc, i + 1) {
                Ok(size) => match data.get(start..start + size) {
                    Some(f) => f,
                    None => {
                        result = Err(Corrupt::Attr(glassheap_format::attrs::AttrError {
                            attnum: i + 1,
                            what: "ends past the end of the tuple",
                        }));
                        break;
                    }
                },
                Err(e) => {
                    result = Err(Corrupt::Attr(e));
                    break;
                }
            };
            *values.add(i) = if (*att).attbyval {
                match byval_datum(field) {
                    Ok(v) => v,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            } else {
                pg_sys::Datum::from(field.as_ptr())
            };
            off = start + field.len();
            if attlen <= 0 {
                slow = true;
            }
            attnum += 1;
        }
    }
    *st = DeformState { attnum, off, slow };
    result
}

/// slot_getsomeattrs, with the C inline function's test done here: attributes already
/// valid cost no call (the call into PostgreSQL goes through pgrx's FFI guard).
///
/// # Safety
/// `slot` is a valid slot whose descriptor has at least `natts` attributes.
#[inline]
pub unsafe fn getsomeattrs(slot: *mut pg_sys::TupleTableSlot, natts: core::ffi::c_int) {
    // SAFETY: per the contract.
    unsafe {
        if ((*slot).tts_nvalid as core::ffi::c_int) < natts {
            pg_sys::slot_getsomeattrs(slot, natts);
        }
    }
}

/// Deforms the leading by-value attributes at cached offsets of a tuple, from `st` on:
/// for a row of fixed-width by-value columns (the common narrow row), all of them. Stops,
/// leaving the rest to [`deform_range`], at the first attribute that is null (with
/// `NULLS`, read from `bits`), has no cached offset, is passed by reference, has an
/// unusual length, or reaches past the tuple (which `deform_range` then reports as
/// corruption). Cached offsets hold up to the first null, as in heap's deforming, so
/// rows with nulls only in later columns (pgbench's `filler`, say) take this loop for
/// the columns before them. A separate tight loop: as a branch of [`deform_range`]'s
/// general loop the same work cost a filtered `sum()` over `(a int, b int)` nearly twice
/// heap's deforming (register spills of the general loop's state on every attribute).
///
/// # Safety
/// `data` is the data area of the tuple (from its `hoff`) and, with `NULLS`, `bits` its
/// null bitmap; `end` <= natts of tupdesc and of the tuple; values/isnull have room for
/// `end`.
#[inline(always)]
unsafe fn deform_cached_byval<const NULLS: bool>(
    tupdesc: pg_sys::TupleDesc,
    bits: &[u8],
    data: &[u8],
    st: &mut DeformState,
    end: usize,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
) {
    let (mut i, mut off) = (st.attnum, st.off);
    // SAFETY: i < end <= natts of tupdesc; values/isnull sized by the caller.
    unsafe {
        while i < end {
            // A null (or a bitmap too short, which deform_range reports) ends the loop.
            if NULLS && bits.get(i >> 3).is_none_or(|b| b & (1 << (i & 7)) == 0) {
                break;
            }
            let Some((v, next)) = cached_byval(&*compat::deform_attr(tupdesc, i), data) else {
                break;
            };
            *values.add(i) = v;
            *isnull.add(i) = false;
            off = next;
            i += 1;
        }
    }
    st.attnum = i;
    st.off = off;
}

/// [`deform_cached_byval`] for a tuple with a null bitmap. Out of line: inlined beside
/// the loop for rows without nulls, it cost that loop (a filtered `sum()` over
/// `(a int, b int)`) 0.65% more instructions per row; rows with nulls pay a call.
///
/// # Safety
/// As [`deform_cached_byval`]; `tup` is the whole stored tuple and `header` its header.
#[inline(never)]
unsafe fn deform_cached_byval_nulls(
    tupdesc: pg_sys::TupleDesc,
    tup: &[u8],
    header: &glassheap_format::tuple::TupleHeader,
    st: &mut DeformState,
    end: usize,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
) {
    // The bitmap lies between the header and hoff (hoff is computed from natts to cover
    // it); a tuple shorter than hoff is left to deform_range, which reports it.
    let hoff = header.hoff();
    if let (Some(bits), Some(data)) = (tup.get(HEADER_SIZE..hoff), tup.get(hoff..)) {
        // SAFETY: per the contract.
        unsafe { deform_cached_byval::<true>(tupdesc, bits, data, st, end, values, isnull) };
    }
}

/// The value of a by-value attribute at its cached offset in `data`, and the offset
/// after it; `None` when the attribute has no cached offset, is passed by reference, has
/// a width other than 1, 2, 4 or 8, or reaches past `data` (the general decoding then
/// handles it, reporting the last two as corruption). The caller knows the cached
/// offset applies (no null or variable-width attribute before this one).
#[inline(always)]
fn cached_byval(att: &compat::DeformAttr, data: &[u8]) -> Option<(pg_sys::Datum, usize)> {
    if att.attcacheoff < 0 || !att.attbyval || att.attlen <= 0 {
        return None;
    }
    let start = att.attcacheoff as usize;
    let end = start + att.attlen as usize;
    let field = data.get(start..end)?;
    let p = field.as_ptr();
    // int4 and int8 first, tested one after the other rather than through
    // byval_datum's jump table (the narrow rows' columns; one predictable compare each).
    // SAFETY: `field` has exactly the bytes of each unaligned read.
    let v = unsafe {
        if field.len() == 4 {
            pg_sys::Datum::from((p as *const i32).read_unaligned())
        } else if field.len() == 8 {
            pg_sys::Datum::from((p as *const i64).read_unaligned())
        } else {
            byval_datum(field).ok()?
        }
    };
    Some((v, end))
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_getsomeattrs(
    slot: *mut pg_sys::TupleTableSlot,
    natts: core::ffi::c_int,
) {
    let s = slot as *mut GlassSlot;
    // SAFETY: a non-virtual slot has a stored tuple of `len` bytes; values/isnull have
    // tupdesc->natts entries and natts <= that.
    unsafe {
        if (*s).tuple.is_null() {
            // Virtual tuple: every attribute is already valid.
            return;
        }
        let tup = std::slice::from_raw_parts((*s).tuple, (*s).len as usize);
        let Some(head) = tup.get(..HEADER_SIZE) else {
            corrupt(&*slot, Corrupt::HeaderTooShort);
        };
        let header = glassheap_format::tuple::TupleHeader::read(head);
        let end = (header.natts() as usize).min(natts as usize);
        let base = &mut (*s).base;
        let flags = read_flags(base);
        let mut st = if base.tts_nvalid == 0 {
            DeformState::default()
        } else {
            DeformState {
                attnum: base.tts_nvalid as usize,
                off: (*s).off as usize,
                slow: flags & SLOW != 0,
            }
        };
        if !st.slow {
            let (desc, values, isnull) =
                (base.tts_tupleDescriptor, base.tts_values, base.tts_isnull);
            if !header.has(TupleFlags::HAS_NULLS) {
                // Without nulls the data area starts right after the header.
                deform_cached_byval::<false>(
                    desc,
                    &[],
                    &tup[HEADER_SIZE..],
                    &mut st,
                    end,
                    values,
                    isnull,
                );
            } else {
                deform_cached_byval_nulls(desc, tup, &header, &mut st, end, values, isnull);
            }
        }
        let result = if st.attnum < end {
            deform_range(
                base.tts_tupleDescriptor,
                tup,
                &mut st,
                end,
                base.tts_values,
                base.tts_isnull,
            )
        } else {
            Ok(())
        };
        base.tts_flags = if st.slow { flags | SLOW } else { flags & !SLOW };
        base.tts_nvalid = st.attnum as i16;
        (*s).off = st.off as u32;
        if let Err(e) = result {
            corrupt(&*slot, e);
        }
    }
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_getsysattr(
    slot: *mut pg_sys::TupleTableSlot,
    attnum: core::ffi::c_int,
    isnull: *mut bool,
) -> pg_sys::Datum {
    let s = slot as *mut GlassSlot;
    // SAFETY: valid slot; tuple checked non-null before reading its header.
    unsafe {
        if (*s).tuple.is_null() {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "cannot retrieve a system column in this context"
            );
        }
        let h = read_header((*s).tuple);
        *isnull = false;
        match attnum {
            pg_sys::MinTransactionIdAttributeNumber => pg_sys::Datum::from(h.xmin),
            pg_sys::MaxTransactionIdAttributeNumber => pg_sys::Datum::from(h.xmax),
            // The raw command id word, like heap's HeapTupleHeaderGetRawCommandId; for a
            // row whose newer version is on another page the word holds a block number,
            // so glassheap reports 0 there.
            pg_sys::MinCommandIdAttributeNumber | pg_sys::MaxCommandIdAttributeNumber => {
                pg_sys::Datum::from(if h.aux_is_cid() { h.aux } else { 0 })
            }
            _ => error!("glassheap: invalid system attribute number {}", attnum),
        }
    }
}

/// Makes the slot independent of buffers and of memory it does not own.
#[pg_callback]
unsafe extern "C-unwind" fn slot_materialize(slot: *mut pg_sys::TupleTableSlot) {
    // SAFETY: PostgreSQL passes a slot made with GLASS_SLOT_OPS.
    unsafe { materialize(slot as *mut GlassSlot) }
}

/// The row an insert or update writes, formed once, in the slot's own memory, as heap's
/// `ExecFetchSlotHeapTuple(slot, materialize = true)` does: a virtual slot is materialized
/// (its values formed in the slot's memory), and a slot holding other bytes (a stored
/// tuple, in a buffer or copied, which may have fewer attributes or TOAST pointers into
/// another table) has its values formed into its memory in their place. The writer takes
/// the slot's bytes, writing the glassheap header and any TOAST into them in place (then
/// [`formed_rewritten`]), so that afterwards the slot already holds what was stored. `None`
/// for a slot of another type or an empty one: the caller forms the row from the values.
///
/// # Safety
/// `slot` is a valid slot whose descriptor is the written relation's, of `natts`
/// attributes.
#[inline]
pub unsafe fn take_formed(slot: *mut pg_sys::TupleTableSlot, natts: u16) -> Option<tuple::Formed> {
    if !is_glass_slot(slot) {
        return None;
    }
    let s = slot as *mut GlassSlot;
    // SAFETY: a glass slot; a non-null tuple is `len` bytes the slot owns or pins.
    unsafe {
        if (*s).base.tts_flags & EMPTY != 0 {
            return None;
        }
        if (*s).tuple.is_null() {
            materialize(s);
        }
        let mut h = formed_header(s);
        if h.is_none_or(|h| h.natts() != natts) {
            form_in_place_of_stored(s);
            h = formed_header(s).filter(|h| h.natts() == natts);
            if h.is_none() {
                error!("glassheap: the slot's descriptor does not match the written relation");
            }
        }
        Some(tuple::Formed {
            ptr: (*s).tuple,
            len: (*s).len as usize,
            natts,
            has_nulls: h.is_some_and(|h| h.has(TupleFlags::HAS_NULLS)),
            has_external: (*s).formed_external,
            slot_owned: true,
        })
    }
}

/// The header of the row the slot formed here from its values, if it holds one.
///
/// # Safety
/// `s` is a valid glass slot.
#[inline(always)]
unsafe fn formed_header(s: *mut GlassSlot) -> Option<glassheap_format::tuple::TupleHeader> {
    // SAFETY: a non-null tuple is `len` bytes.
    unsafe {
        ((*s).formed_here && (*s).len >= HEADER_SIZE as u32).then(|| {
            glassheap_format::tuple::TupleHeader::read(std::slice::from_raw_parts(
                (*s).tuple,
                HEADER_SIZE,
            ))
        })
    }
}

/// Replaces the stored tuple a slot holds (in a buffer or copied) by the row formed from
/// its values in the slot's memory: once, instead of forming it elsewhere and copying it
/// back after the write.
///
/// # Safety
/// `s` is a valid, non-empty glass slot with a stored tuple.
#[inline(never)]
unsafe fn form_in_place_of_stored(s: *mut GlassSlot) {
    // SAFETY: the values deformed from the stored tuple stay valid until the new row is
    // formed; only then is the stored tuple dropped.
    unsafe {
        let base = &mut (*s).base;
        let desc = base.tts_tupleDescriptor;
        getsomeattrs(s as *mut pg_sys::TupleTableSlot, (*desc).natts);
        let old = pg_sys::MemoryContextSwitchTo(base.tts_mcxt);
        let (f, cap) = form_owned(s, desc, base.tts_values, base.tts_isnull);
        pg_sys::MemoryContextSwitchTo(old);
        clear_contents(s);
        (*s).tuple = f.ptr;
        (*s).len = f.len as u32;
        (*s).cap = cap;
        (*s).formed_here = true;
        (*s).formed_external = f.has_external;
        (*s).off = 0;
        reset_flags_and_nvalid(&mut (*s).base, SHOULDFREE, SLOW);
    }
}

/// After the row [`take_formed`] handed out was rewritten in its own bytes (TOAST applied
/// in place: the same chunk, a new length), the slot describes it again: its length, and
/// no attribute deformed (values deformed before may point where other bytes are now).
/// Nothing to do for a row that is not the slot's.
///
/// # Safety
/// `slot` is a valid slot; `f` came from `take_formed(slot, ..)` or is not slot-owned.
pub unsafe fn formed_rewritten(slot: *mut pg_sys::TupleTableSlot, f: &tuple::Formed) {
    if !f.slot_owned || !is_glass_slot(slot) {
        return;
    }
    let s = slot as *mut GlassSlot;
    // SAFETY: the slot owns `f`'s chunk, of `cap` >= the old length >= f.len bytes.
    unsafe {
        debug_assert!(std::ptr::eq((*s).tuple, f.ptr) && f.len <= (*s).cap as usize);
        (*s).len = f.len as u32;
        (*s).formed_external = f.has_external;
        (*s).off = 0;
        reset_flags_and_nvalid(&mut (*s).base, 0, SLOW);
    }
}

/// # Safety
/// `s` is a valid glass slot.
unsafe fn materialize(s: *mut GlassSlot) {
    // SAFETY: valid slot; allocations in its own memory context.
    unsafe {
        let base = &mut (*s).base;
        if base.tts_flags & (EMPTY | SHOULDFREE) != 0 {
            return;
        }
        let old = pg_sys::MemoryContextSwitchTo(base.tts_mcxt);
        if (*s).tuple.is_null() {
            // Virtual: form a glassheap tuple from the values.
            let (f, cap) = form_owned(
                s,
                base.tts_tupleDescriptor,
                base.tts_values,
                base.tts_isnull,
            );
            (*s).tuple = f.ptr;
            (*s).len = f.len as u32;
            (*s).cap = cap;
            (*s).formed_here = true;
            (*s).formed_external = f.has_external;
        } else {
            let p = crate::pg::mem::palloc((*s).len as usize);
            std::ptr::copy_nonoverlapping((*s).tuple, p, (*s).len as usize);
            (*s).tuple = p;
            (*s).cap = (*s).len;
            if (*s).buffer != pg_sys::InvalidBuffer as i32 {
                crate::pg::bufmgr::release((*s).buffer);
                (*s).buffer = pg_sys::InvalidBuffer as i32;
            }
        }
        pg_sys::MemoryContextSwitchTo(old);
        // Values may point into the old storage: deform again from the copy.
        reset_flags_and_nvalid(base, SHOULDFREE, SLOW);
        (*s).off = 0;
    }
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_copyslot(
    dst: *mut pg_sys::TupleTableSlot,
    src: *mut pg_sys::TupleTableSlot,
) {
    // SAFETY: both slots valid; the copy is made in dst's memory context.
    unsafe {
        let d = dst as *mut GlassSlot;
        let tid = (*src).tts_tid;
        let table_oid = (*src).tts_tableOid;
        if is_glass_slot(src) && !(*(src as *mut GlassSlot)).tuple.is_null() {
            let sg = src as *mut GlassSlot;
            if (*sg).buffer != pg_sys::InvalidBuffer as i32
                && (*sg).base.tts_flags & SHOULDFREE == 0
            {
                // Share the in-buffer tuple: one more pin, no copy.
                store_buffer_tuple(
                    dst,
                    (*sg).tuple,
                    (*sg).len as usize,
                    (*sg).buffer,
                    tid,
                    table_oid,
                );
            } else {
                let bytes = std::slice::from_raw_parts((*sg).tuple, (*sg).len as usize);
                store_copy(dst, bytes, tid, table_oid);
            }
            return;
        }
        let natts = (*(*dst).tts_tupleDescriptor).natts;
        getsomeattrs(src, natts);
        let old = pg_sys::MemoryContextSwitchTo((*dst).tts_mcxt);
        // Formed before dst is cleared: src's values may point into dst's current row
        // (never into its spare, which nothing references).
        let (f, cap) = form_owned(
            d,
            (*dst).tts_tupleDescriptor,
            (*src).tts_values,
            (*src).tts_isnull,
        );
        pg_sys::MemoryContextSwitchTo(old);
        clear_contents(d);
        (*d).tuple = f.ptr;
        (*d).len = f.len as u32;
        (*d).cap = cap;
        (*d).formed_here = true;
        (*d).formed_external = f.has_external;
        (*d).off = 0;
        reset_flags_and_nvalid(&mut (*d).base, SHOULDFREE, EMPTY | SLOW);
        (*d).base.tts_tid = tid;
        (*d).base.tts_tableOid = table_oid;
    }
}

#[pg_callback]
unsafe extern "C-unwind" fn slot_copy_heap_tuple(
    slot: *mut pg_sys::TupleTableSlot,
) -> pg_sys::HeapTuple {
    // SAFETY: valid non-empty slot; heap_form_tuple copies the values.
    unsafe {
        let natts = (*(*slot).tts_tupleDescriptor).natts;
        getsomeattrs(slot, natts);
        let t = pg_sys::heap_form_tuple(
            (*slot).tts_tupleDescriptor,
            (*slot).tts_values,
            (*slot).tts_isnull,
        );
        (*t).t_self = (*slot).tts_tid;
        (*t).t_tableOid = (*slot).tts_tableOid;
        t
    }
}

/// copy_minimal_tuple, with `extra` bytes reserved before the tuple (always 0 before
/// PostgreSQL 18).
pub fn copy_minimal_tuple(slot: *mut pg_sys::TupleTableSlot, extra: usize) -> pg_sys::MinimalTuple {
    // SAFETY: as above.
    unsafe {
        let natts = (*(*slot).tts_tupleDescriptor).natts;
        compat::in_slot_context(slot, || getsomeattrs(slot, natts));
        compat::heap_form_minimal_tuple(
            (*slot).tts_tupleDescriptor,
            (*slot).tts_values,
            (*slot).tts_isnull,
            extra,
        )
    }
}

/// is_current_xact_tuple (PostgreSQL 17+): whether the slot's stored row was inserted
/// by this transaction (or one of its subtransactions), as heap's slot answers it.
#[allow(dead_code)] // PostgreSQL 15 and 16 have no such callback
pub fn is_current_xact_tuple(slot: *mut pg_sys::TupleTableSlot) -> bool {
    let s = slot as *mut GlassSlot;
    // SAFETY: valid slot; tuple checked non-null before reading its header.
    unsafe {
        if (*s).tuple.is_null() {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "don't have a storage tuple in this context"
            );
        }
        let xmin = read_header((*s).tuple).xmin;
        pg_sys::TransactionIdIsCurrentTransactionId(xmin.into())
    }
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use pgrx::pg_sys;

    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn slot_callbacks(
        _rel: pg_sys::Relation,
    ) -> *const pg_sys::TupleTableSlotOps {
        &super::GLASS_SLOT_OPS
    }
}
