//! Forming glassheap tuples from Datum arrays. The attribute data area is laid out by
//! PostgreSQL's own heap_fill_tuple (same alignment, short varlena headers, flattening of
//! expanded objects), so it is byte-for-byte heap's data area; only the header differs.
//! Values too big for a page are compressed and moved out of line by [`super::toast`].

use glassheap_format::attrs::{fill_fixed_byval, fixed_byval_data_size, AttrDesc};
use glassheap_format::layout::MAX_TUPLE_SIZE;
use glassheap_format::tuple::{bitmap_len, data_offset, TupleHeader, HEADER_SIZE, MAX_NATTS};
use pgrx::pg_sys;
use pgrx::prelude::*;

/// A formed tuple in palloc'd memory (header with xmin/xmax/aux = 0, xmax invalid).
pub struct Formed {
    pub ptr: *mut u8,
    pub len: usize,
    pub natts: u16,
    pub has_nulls: bool,
    /// Some attribute is an external datum (a TOAST pointer or an indirect datum):
    /// heap_fill_tuple's HEAP_HASEXTERNAL. Expanded objects were flattened.
    pub has_external: bool,
    /// The bytes are the tuple slot's own (see `slot::take_formed`): the slot frees them,
    /// and after the write it already holds what was stored.
    pub slot_owned: bool,
}

impl Formed {
    /// A row just formed into its own palloc'd chunk (not a slot's).
    fn palloced(
        ptr: *mut u8,
        len: usize,
        natts: u16,
        has_nulls: bool,
        has_external: bool,
    ) -> Formed {
        Formed {
            ptr,
            len,
            natts,
            has_nulls,
            has_external,
            slot_owned: false,
        }
    }
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr/len describe one palloc'd chunk we own.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
    /// The bytes WAL records carry: everything after the fixed header.
    pub fn body(&self) -> &[u8] {
        &self.bytes()[HEADER_SIZE..]
    }
    /// Frees the bytes unless a slot owns them.
    #[inline]
    pub fn free(self) {
        if !self.slot_owned {
            // SAFETY: palloc'd by `form` (or the toaster); nothing points into it any more.
            unsafe { pg_sys::pfree(self.ptr.cast()) };
        }
    }
}

/// Errors like heap's RelationGetBufferForTuple when a (toasted) tuple cannot fit on an
/// empty page.
pub fn check_fits(f: &Formed) {
    if f.len > MAX_TUPLE_SIZE {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "row is too big: size {}, maximum size {}",
                f.len, MAX_TUPLE_SIZE
            )
        );
    }
}

/// Rows formed from values (by [`form_in`]) in this backend: the in-server tests count
/// the formations of a write.
#[cfg(any(test, feature = "pg_test"))]
pub static FORMATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Forms a tuple in the current memory context.
///
/// # Safety
/// `values`/`isnull` hold `tupdesc->natts` entries.
pub unsafe fn form(
    tupdesc: pg_sys::TupleDesc,
    values: *const pg_sys::Datum,
    isnull: *const bool,
) -> Formed {
    // SAFETY: per the contract; palloc0 returns `len` zeroed bytes or raises an ERROR.
    unsafe { form_in(tupdesc, values, isnull, crate::pg::mem::palloc0) }
}

/// [`form`] into memory from `alloc`, which returns `len` zeroed bytes (alignment
/// padding must be zero: a row's bytes are a pure function of its values).
///
/// # Safety
/// As `form`; `alloc(len)` returns `len` writable, zeroed, MAXALIGNed bytes.
pub unsafe fn form_in(
    tupdesc: pg_sys::TupleDesc,
    values: *const pg_sys::Datum,
    isnull: *const bool,
    alloc: impl FnOnce(usize) -> *mut u8,
) -> Formed {
    #[cfg(any(test, feature = "pg_test"))]
    FORMATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: per the contract; heap_compute_data_size/heap_fill_tuple read natts entries.
    unsafe {
        let natts = (*tupdesc).natts as usize;
        if natts > MAX_NATTS as usize {
            error!(
                "glassheap: tuples cannot have more than {} attributes",
                MAX_NATTS
            );
        }
        let has_nulls = (0..natts).any(|i| *isnull.add(i));
        let attr = |i: usize| &*crate::pg::compat::attr(tupdesc, i);
        if (0..natts).all(|i| attr(i).attbyval && matches!(attr(i).attlen, 1 | 2 | 4 | 8)) {
            return form_fixed_byval(tupdesc, values, isnull, has_nulls, alloc);
        }
        let data_size = pg_sys::heap_compute_data_size(tupdesc, values as *mut _, isnull as *mut _);
        let hoff = data_offset(natts as u16, has_nulls);
        let len = hoff + data_size;
        let ptr = alloc(len);
        let h = TupleHeader::new_insert(0, 0, natts as u16, has_nulls);
        h.write(std::slice::from_raw_parts_mut(ptr, HEADER_SIZE));
        let mut infomask: u16 = 0;
        let bits = if has_nulls {
            debug_assert!(HEADER_SIZE + bitmap_len(natts as u16) <= hoff);
            ptr.add(HEADER_SIZE)
        } else {
            std::ptr::null_mut()
        };
        pg_sys::heap_fill_tuple(
            tupdesc,
            values as *mut _,
            isnull as *mut _,
            ptr.add(hoff) as *mut core::ffi::c_char,
            data_size,
            &mut infomask,
            bits,
        );
        Formed::palloced(
            ptr,
            len,
            natts as u16,
            has_nulls,
            infomask as u32 & pg_sys::HEAP_HASEXTERNAL != 0,
        )
    }
}

/// `form` for a row of fixed-width by-value attributes only (int, bigint, float8, date,
/// timestamptz, bool, ...): the data area is laid out in Rust by the format crate's
/// heap_compute_data_size/heap_fill_tuple equivalents, which for such rows are a few
/// aligned stores, instead of two guarded calls into PostgreSQL per row.
///
/// # Safety
/// As `form_in`; every attribute of `tupdesc` is by-value with attlen 1, 2, 4 or 8.
unsafe fn form_fixed_byval(
    tupdesc: pg_sys::TupleDesc,
    values: *const pg_sys::Datum,
    isnull: *const bool,
    has_nulls: bool,
    alloc: impl FnOnce(usize) -> *mut u8,
) -> Formed {
    // SAFETY: natts entries in values/isnull/attrs per the contract; the zeroed chunk
    // is hoff + data_size bytes, the bitmap lies between the header and hoff.
    unsafe {
        let natts = (*tupdesc).natts as usize;
        let attr = |i: usize| {
            let a = &*crate::pg::compat::attr(tupdesc, i);
            AttrDesc {
                len: a.attlen,
                align: a.attalign as u8,
                byval: true,
            }
        };
        let null = |i: usize| *isnull.add(i);
        let data_size = fixed_byval_data_size(natts, attr, null);
        let hoff = data_offset(natts as u16, has_nulls);
        let len = hoff + data_size;
        let ptr = alloc(len);
        let tup = std::slice::from_raw_parts_mut(ptr, len);
        TupleHeader::new_insert(0, 0, natts as u16, has_nulls).write(&mut tup[..HEADER_SIZE]);
        let (head, data) = tup.split_at_mut(hoff);
        let bits =
            has_nulls.then(|| &mut head[HEADER_SIZE..HEADER_SIZE + bitmap_len(natts as u16)]);
        fill_fixed_byval(
            natts,
            attr,
            |i| (*values.add(i)).value() as u64,
            null,
            data,
            bits,
        );
        Formed::palloced(ptr, len, natts as u16, has_nulls, false)
    }
}
