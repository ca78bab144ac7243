//! SQL types pgrx does not map (or maps differently from what the toolkit promises):
//! pg_lsn, xid (heap's xmax 0 must print as 0, not NULL, as in pageinspect), regtype
//! and name. Each gets FromDatum/IntoDatum plus the argument/return ABI pgrx needs.

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::{FromDatum, IntoDatum};
use std::ffi::CStr;

/// pgrx's argument and return ABI for a type with FromDatum/IntoDatum: arguments are
/// read with FromDatum (NULL only where the signature says Option), results returned with
/// IntoDatum.
macro_rules! datum_abi {
    ($name:ident) => {
        // SAFETY: FromDatum reads the argument as its declared SQL type.
        unsafe impl<'fcx> ArgAbi<'fcx> for $name {
            unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
                let index = arg.index();
                // SAFETY: pgrx hands us an argument of our declared SQL type.
                unsafe { arg.unbox_arg_using_from_datum() }
                    .unwrap_or_else(|| panic!("argument {index} must not be null"))
            }
            unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
                // SAFETY: as above; a SQL NULL gives None.
                unsafe { arg.unbox_arg_using_from_datum() }.into()
            }
        }

        // SAFETY: into_datum returns a Datum of the declared return type.
        unsafe impl BoxRet for $name {
            unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> pgrx::datum::Datum<'fcx> {
                match self.into_datum() {
                    // SAFETY: the datum matches the function's declared return type.
                    Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
                    None => fcinfo.return_null(),
                }
            }
        }
    };
}

/// Defines a newtype over a plain Datum payload with its own SQL type name.
macro_rules! datum_newtype {
    ($(#[$m:meta])* $name:ident($inner:ty), $sql:literal, $oid:expr, |$d:ident| $from:expr, |$s:ident| $into:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub $inner);

        impl FromDatum for $name {
            unsafe fn from_polymorphic_datum(
                datum: pg_sys::Datum,
                is_null: bool,
                _typoid: pg_sys::Oid,
            ) -> Option<Self> {
                if is_null {
                    None
                } else {
                    let $d = datum;
                    Some($name($from))
                }
            }
        }

        impl IntoDatum for $name {
            fn into_datum(self) -> Option<pg_sys::Datum> {
                let $s = self.0;
                Some($into)
            }
            fn type_oid() -> pg_sys::Oid {
                $oid
            }
        }

        datum_abi!($name);

        pgrx::impl_sql_translatable!($name, $sql);
    };
}

datum_newtype!(
    /// `pg_lsn`, an `XLogRecPtr`.
    Lsn(u64), "pg_lsn", pg_sys::PG_LSNOID,
    |d| d.value() as u64,
    |v| pg_sys::Datum::from(v)
);

datum_newtype!(
    /// `regtype` (a type OID, shown by name).
    RegType(pg_sys::Oid), "regtype", pg_sys::REGTYPEOID,
    |d| pg_sys::Oid::from(d.value() as u32),
    |v| pg_sys::Datum::from(v)
);

datum_newtype!(
    /// `xid`. (pgrx's TransactionId turns InvalidTransactionId into SQL NULL; we
    /// show 0 like pageinspect.)
    Xid(u32), "xid", pg_sys::XIDOID,
    |d| d.value() as u32,
    |v| pg_sys::Datum::from(v)
);

/// `name` (NAMEDATALEN-limited identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(pub String);

impl FromDatum for Name {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null || datum.is_null() {
            return None;
        }
        // SAFETY: a `name` datum points to a NUL-terminated NameData of NAMEDATALEN bytes.
        let s = unsafe { CStr::from_ptr(datum.cast_mut_ptr::<std::ffi::c_char>()) };
        Some(Name(s.to_string_lossy().into_owned()))
    }
}

impl IntoDatum for Name {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let n = pg_sys::NAMEDATALEN as usize;
        // SAFETY: palloc0 returns a zeroed block of n bytes in the current memory context.
        let p = unsafe { pg_sys::palloc0(n) as *mut u8 };
        let bytes = self.0.as_bytes();
        // keep the terminating NUL and do not cut a multibyte character in half
        let mut len = bytes.len().min(n - 1);
        while len > 0 && !self.0.is_char_boundary(len) {
            len -= 1;
        }
        // SAFETY: len < n, the block is n bytes long and does not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, len) };
        Some(pg_sys::Datum::from(p))
    }
    fn type_oid() -> pg_sys::Oid {
        pg_sys::NAMEOID
    }
}

datum_abi!(Name);

pgrx::impl_sql_translatable!(Name, "name");

impl PartialOrd for Lsn {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Lsn {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 as u32)
    }
}

/// `pg_snapshot` (what pg_current_snapshot() returns), as the bytes of its detoasted
/// varlena; `glassheap_decode::snapshot` decodes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSnapshot(pub Vec<u8>);

impl FromDatum for PgSnapshot {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null || datum.is_null() {
            return None;
        }
        // SAFETY: a pg_snapshot datum is a varlena; pg_detoast_datum returns it (or a
        // palloc'd copy) with a 4-byte header, varsize_any bytes long.
        unsafe {
            let v = pg_sys::pg_detoast_datum(datum.cast_mut_ptr::<pg_sys::varlena>());
            let len = pgrx::varlena::varsize_any(v);
            Some(PgSnapshot(
                std::slice::from_raw_parts(v as *const u8, len).to_vec(),
            ))
        }
    }
}

// SAFETY: FromDatum reads the argument as a pg_snapshot varlena.
unsafe impl<'fcx> ArgAbi<'fcx> for PgSnapshot {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: pgrx hands us an argument of our declared SQL type.
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }
    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        // SAFETY: as above; a SQL NULL gives None.
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

pgrx::impl_sql_translatable!(PgSnapshot, "pg_snapshot");
