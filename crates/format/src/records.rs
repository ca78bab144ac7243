//! glassheap's WAL records (custom resource manager "glassheap", id [`RMGR_ID`]).
//!
//! Every record describes its change **per block**: the data registered with block N
//! says exactly what to do to that page. PostgreSQL drops a block's data when it logs a
//! full-page image of that block instead, so redo never needs data that went with
//! another block. Redo reads no main data; below `wal_level = logical` records carry
//! none at all, which saves the 2-byte main-data header heap pays on every record (at
//! `logical`, DML records carry their logical part there: `crate::logical`).
//!
//! All multi-byte integers in WAL payloads are little-endian. The record's xid
//! (XLogRecGetXid) is the inserting/updating transaction: it becomes xmin of new tuples.
//! Command ids are never logged: redo writes 0 and `rm_mask` ignores them, as heap does.
//!
//! Byte layouts are documented in docs/FORMAT.md; this module is the single codec used
//! by the write path, redo, `rm_desc` and `glassheap.wal_records()`.

use crate::tuple::{TupleFlags, XmaxMode};
use serde::Serialize;

/// The custom resource manager id. 128 is for experiments, 129-140 and 241 are taken
/// by other extensions (wiki "CustomWALResourceManagers"); 199 is free.
pub const RMGR_ID: u8 = 199;
pub const RMGR_NAME: &str = "glassheap";

/// Record opcodes: the high nibble of xl_info (the low nibble belongs to xlog.c).
pub const XLOG_GH_INSERT: u8 = 0x00;
pub const XLOG_GH_MULTI_INSERT: u8 = 0x10;
pub const XLOG_GH_DELETE: u8 = 0x20;
pub const XLOG_GH_UPDATE: u8 = 0x30;
pub const XLOG_GH_LOCK: u8 = 0x40;
pub const XLOG_GH_CONFIRM: u8 = 0x50;
pub const XLOG_GH_PRUNE: u8 = 0x60;
pub const XLOG_GH_VACUUM: u8 = 0x70;
pub const XLOG_GH_FREEZE: u8 = 0x80;
pub const XLOG_GH_VISIBLE: u8 = 0x90;
pub const XLOG_GH_OPMASK: u8 = 0xF0;

/// Name of a record type as `rm_identify` reports it.
pub fn identify(info: u8) -> Option<&'static str> {
    Some(match info & XLOG_GH_OPMASK {
        XLOG_GH_INSERT => "INSERT",
        XLOG_GH_MULTI_INSERT => "MULTI_INSERT",
        XLOG_GH_DELETE => "DELETE",
        XLOG_GH_UPDATE => "UPDATE",
        XLOG_GH_LOCK => "LOCK",
        XLOG_GH_CONFIRM => "CONFIRM",
        XLOG_GH_PRUNE => "PRUNE",
        XLOG_GH_VACUUM => "VACUUM",
        XLOG_GH_FREEZE => "FREEZE",
        XLOG_GH_VISIBLE => "VISIBLE",
        _ => return None,
    })
}

/// Why a record's bytes do not decode. Boxed, so that every decoder's
/// `Result<_, WalError>` is one or two words wide and comes back in registers: redo and
/// logical decoding run these decoders once per record, errors almost never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalError(Box<WalErrorKind>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalErrorKind {
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    Trailing {
        what: &'static str,
        extra: usize,
    },
    Invalid {
        what: &'static str,
        detail: String,
    },
}

impl WalError {
    #[cold]
    #[inline(never)]
    pub fn new(kind: WalErrorKind) -> WalError {
        WalError(Box::new(kind))
    }
    pub fn kind(&self) -> &WalErrorKind {
        &self.0
    }
}

impl std::fmt::Display for WalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            WalErrorKind::Truncated { what, need, have } => {
                write!(f, "{what}: truncated ({have} bytes, need {need})")
            }
            WalErrorKind::Trailing { what, extra } => {
                write!(f, "{what}: {extra} unexpected trailing bytes")
            }
            WalErrorKind::Invalid { what, detail } => write!(f, "{what}: {detail}"),
        }
    }
}
impl std::error::Error for WalError {}

/// A bounds-checked little-endian reader.
struct Rd<'a> {
    b: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Rd<'a> {
    #[inline]
    fn new(b: &'a [u8], what: &'static str) -> Self {
        Rd { b, at: 0, what }
    }
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], WalError> {
        match self.b.get(self.at..self.at.saturating_add(n)) {
            Some(s) => {
                self.at += n;
                Ok(s)
            }
            None => Err(truncated(
                self.what,
                self.at.saturating_add(n),
                self.b.len(),
            )),
        }
    }
    #[inline]
    fn u8(&mut self) -> Result<u8, WalError> {
        Ok(self.take(1)?[0])
    }
    #[inline]
    fn u16(&mut self) -> Result<u16, WalError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    #[inline]
    fn u24(&mut self) -> Result<u32, WalError> {
        let s = self.take(3)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], 0]))
    }
    #[inline]
    fn u32(&mut self) -> Result<u32, WalError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    #[inline]
    fn rest(&mut self) -> &'a [u8] {
        let s = &self.b[self.at..];
        self.at = self.b.len();
        s
    }
    fn done(&self) -> Result<(), WalError> {
        if self.at != self.b.len() {
            return Err(WalError::new(WalErrorKind::Trailing {
                what: self.what,
                extra: self.b.len() - self.at,
            }));
        }
        Ok(())
    }
}

/// The error of a record too short to hold what it says it holds (out of line: decoding
/// is on redo's and logical decoding's per-record path, errors are not).
#[cold]
#[inline(never)]
fn truncated(what: &'static str, need: usize, have: usize) -> WalError {
    WalError::new(WalErrorKind::Truncated { what, need, have })
}

#[cold]
fn bad(what: &'static str, detail: impl Into<String>) -> WalError {
    WalError::new(WalErrorKind::Invalid {
        what,
        detail: detail.into(),
    })
}

#[inline]
fn check_off(what: &'static str, off: u16) -> Result<u16, WalError> {
    if off == 0 || off as usize > crate::layout::MAX_TUPLES_PER_PAGE {
        return Err(off_out_of_range(what, off));
    }
    Ok(off)
}

#[cold]
#[inline(never)]
fn off_out_of_range(what: &'static str, off: u16) -> WalError {
    bad(what, format!("offset {off} out of range 1..=291"))
}

/// xmax and what it did, as logged (mode in bits 0..3, multi flag in bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XmaxInfo {
    pub xmax: u32,
    pub mode: XmaxMode,
    pub is_multi: bool,
}

impl XmaxInfo {
    fn bits(&self) -> u8 {
        self.mode as u8 | if self.is_multi { 8 } else { 0 }
    }
    #[inline]
    fn from_parts(what: &'static str, xmax: u32, bits: u8) -> Result<XmaxInfo, WalError> {
        if bits & !0x0F != 0 {
            return Err(bad(what, format!("unknown xmax bits {bits:#x}")));
        }
        let mode = XmaxMode::from_bits(bits & 7)
            .ok_or_else(|| bad(what, format!("invalid xmax mode {}", bits & 7)))?;
        Ok(XmaxInfo {
            xmax,
            mode,
            is_multi: bits & 8 != 0,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.xmax.to_le_bytes());
        out.push(self.bits());
    }
    #[inline]
    fn decode(r: &mut Rd<'_>) -> Result<XmaxInfo, WalError> {
        let xmax = r.u32()?;
        let bits = r.u8()?;
        XmaxInfo::from_parts(r.what, xmax, bits)
    }
    /// The tuple flags this xmax implies (XMAX_IS_MULTI or nothing).
    pub fn tuple_flags(&self) -> TupleFlags {
        if self.is_multi {
            TupleFlags::XMAX_IS_MULTI
        } else {
            TupleFlags::empty()
        }
    }
}

// ---------------------------------------------------------------------------------
// INSERT (block 0): 3 packed bytes + tuple body (everything after the 16-byte header).
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsertBlock<'a> {
    pub offnum: u16,
    pub natts: u16,
    pub has_nulls: bool,
    /// The page was (re)initialised empty before this insert (block registered WILL_INIT).
    pub init_page: bool,
    /// The page's all-visible flag (and VM bit) were cleared by this insert.
    pub vm_cleared: bool,
    /// Speculative insertion (INSERT ... ON CONFLICT); redo treats it like any insert.
    pub speculative: bool,
    #[serde(skip)]
    pub body: &'a [u8],
}

impl<'a> InsertBlock<'a> {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let packed = (self.offnum as u32 & 0x1FF)
            | ((self.natts as u32 & 0x7FF) << 9)
            | ((self.has_nulls as u32) << 20)
            | ((self.init_page as u32) << 21)
            | ((self.vm_cleared as u32) << 22)
            | ((self.speculative as u32) << 23);
        out.extend_from_slice(&packed.to_le_bytes()[..3]);
        out.extend_from_slice(self.body);
    }
    pub fn decode(b: &'a [u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap INSERT");
        let p = r.u24()?;
        let offnum = check_off(r.what, (p & 0x1FF) as u16)?;
        Ok(InsertBlock {
            offnum,
            natts: ((p >> 9) & 0x7FF) as u16,
            has_nulls: p & (1 << 20) != 0,
            init_page: p & (1 << 21) != 0,
            vm_cleared: p & (1 << 22) != 0,
            speculative: p & (1 << 23) != 0,
            body: r.rest(),
        })
    }
}

// ---------------------------------------------------------------------------------
// MULTI_INSERT (block 0): many tuples into one page (COPY, INSERT ... SELECT batches).
// ---------------------------------------------------------------------------------

pub const MI_INIT_PAGE: u8 = 1;
pub const MI_VM_CLEARED: u8 = 2;
pub const MI_FROZEN: u8 = 4;
pub const MI_CONSECUTIVE: u8 = 8;
pub const MI_UNIFORM: u8 = 16;

/// One tuple of a multi-insert: its offset, natts/has_nulls and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultiTuple<'a> {
    pub offnum: u16,
    pub natts: u16,
    pub has_nulls: bool,
    #[serde(skip)]
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultiInsertBlock<'a> {
    pub init_page: bool,
    pub vm_cleared: bool,
    /// COPY FREEZE: tuples are written frozen.
    pub frozen: bool,
    pub tuples: Vec<MultiTuple<'a>>,
}

fn pack_natts(natts: u16, has_nulls: bool) -> u16 {
    (natts & 0x7FF) | ((has_nulls as u16) << 11)
}

impl<'a> MultiInsertBlock<'a> {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let n = self.tuples.len();
        let consecutive = self
            .tuples
            .windows(2)
            .all(|w| w[1].offnum == w[0].offnum + 1);
        let uniform = n > 0
            && self.tuples.iter().all(|t| {
                t.natts == self.tuples[0].natts
                    && t.has_nulls == self.tuples[0].has_nulls
                    && t.body.len() == self.tuples[0].body.len()
            });
        let mut flags = 0u8;
        if self.init_page {
            flags |= MI_INIT_PAGE;
        }
        if self.vm_cleared {
            flags |= MI_VM_CLEARED;
        }
        if self.frozen {
            flags |= MI_FROZEN;
        }
        if consecutive {
            flags |= MI_CONSECUTIVE;
        }
        if uniform {
            flags |= MI_UNIFORM;
        }
        out.push(flags);
        out.extend_from_slice(&(n as u16).to_le_bytes());
        if consecutive {
            let first = self.tuples.first().map(|t| t.offnum).unwrap_or(1);
            out.extend_from_slice(&first.to_le_bytes());
        } else {
            for t in &self.tuples {
                out.extend_from_slice(&t.offnum.to_le_bytes());
            }
        }
        if uniform {
            let t0 = &self.tuples[0];
            out.extend_from_slice(&pack_natts(t0.natts, t0.has_nulls).to_le_bytes());
            out.extend_from_slice(&(t0.body.len() as u16).to_le_bytes());
            for t in &self.tuples {
                out.extend_from_slice(t.body);
            }
        } else {
            for t in &self.tuples {
                out.extend_from_slice(&pack_natts(t.natts, t.has_nulls).to_le_bytes());
                out.extend_from_slice(&(t.body.len() as u16).to_le_bytes());
                out.extend_from_slice(t.body);
            }
        }
    }

    pub fn decode(b: &'a [u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap MULTI_INSERT");
        let flags = r.u8()?;
        if flags & !0x1F != 0 {
            return Err(bad(r.what, format!("unknown flags {flags:#x}")));
        }
        let n = r.u16()? as usize;
        if n == 0 || n > crate::layout::MAX_TUPLES_PER_PAGE {
            return Err(bad(r.what, format!("{n} tuples")));
        }
        let mut offs = Vec::with_capacity(n);
        if flags & MI_CONSECUTIVE != 0 {
            let first = r.u16()?;
            for i in 0..n {
                offs.push(check_off(r.what, first.saturating_add(i as u16))?);
            }
        } else {
            for _ in 0..n {
                offs.push(check_off(r.what, r.u16()?)?);
            }
        }
        let mut tuples = Vec::with_capacity(n);
        if flags & MI_UNIFORM != 0 {
            let p = r.u16()?;
            let len = r.u16()? as usize;
            for &offnum in &offs {
                tuples.push(MultiTuple {
                    offnum,
                    natts: p & 0x7FF,
                    has_nulls: p & (1 << 11) != 0,
                    body: r.take(len)?,
                });
            }
        } else {
            for &offnum in &offs {
                let p = r.u16()?;
                let len = r.u16()? as usize;
                tuples.push(MultiTuple {
                    offnum,
                    natts: p & 0x7FF,
                    has_nulls: p & (1 << 11) != 0,
                    body: r.take(len)?,
                });
            }
        }
        r.done()?;
        Ok(MultiInsertBlock {
            init_page: flags & MI_INIT_PAGE != 0,
            vm_cleared: flags & MI_VM_CLEARED != 0,
            frozen: flags & MI_FROZEN != 0,
            tuples,
        })
    }
}

// ---------------------------------------------------------------------------------
// DELETE (block 0): 2 bytes offnum|flags, then xmax info (5 bytes).
// ---------------------------------------------------------------------------------

pub const DEL_VM_CLEARED: u16 = 1;
/// Cancel a speculative insertion: xmin becomes invalid (heap: XLH_DELETE_IS_SUPER).
pub const DEL_SUPER: u16 = 2;
/// The row moved to another partition (heap: XLH_DELETE_IS_PARTITION_MOVE).
pub const DEL_MOVED_PARTITIONS: u16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteBlock {
    pub offnum: u16,
    pub vm_cleared: bool,
    pub super_delete: bool,
    pub moved_partitions: bool,
    pub xmax: XmaxInfo,
}

fn off_flags(off: u16, flags: u16) -> u16 {
    (off & 0x1FF) | (flags << 9)
}

impl DeleteBlock {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut f = 0;
        if self.vm_cleared {
            f |= DEL_VM_CLEARED;
        }
        if self.super_delete {
            f |= DEL_SUPER;
        }
        if self.moved_partitions {
            f |= DEL_MOVED_PARTITIONS;
        }
        out.extend_from_slice(&off_flags(self.offnum, f).to_le_bytes());
        self.xmax.encode(out);
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap DELETE");
        let w = r.u16()?;
        let f = w >> 9;
        if f & !7 != 0 {
            return Err(bad(r.what, format!("unknown flags {f:#x}")));
        }
        let offnum = check_off(r.what, w & 0x1FF)?;
        let xmax = XmaxInfo::decode(&mut r)?;
        r.done()?;
        Ok(DeleteBlock {
            offnum,
            vm_cleared: f & DEL_VM_CLEARED != 0,
            super_delete: f & DEL_SUPER != 0,
            moved_partitions: f & DEL_MOVED_PARTITIONS != 0,
            xmax,
        })
    }
}

// ---------------------------------------------------------------------------------
// UPDATE: block 0 = page receiving the new version; block 1 = old page when different.
// ---------------------------------------------------------------------------------

/// What happens to the old version (9 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateOld {
    pub offnum: u16,
    pub vm_cleared: bool,
    pub xmax: XmaxInfo,
    /// Offset of the new version on the new page (its block is block 0's).
    pub new_offnum: u16,
}

impl UpdateOld {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&off_flags(self.offnum, self.vm_cleared as u16).to_le_bytes());
        self.xmax.encode(out);
        out.extend_from_slice(&self.new_offnum.to_le_bytes());
    }
    #[inline]
    fn decode_from(r: &mut Rd<'_>) -> Result<Self, WalError> {
        let w = r.u16()?;
        if (w >> 9) & !1 != 0 {
            return Err(bad(
                r.what,
                format!("unknown old-tuple flags {:#x}", w >> 9),
            ));
        }
        let offnum = check_off(r.what, w & 0x1FF)?;
        let xmax = XmaxInfo::decode(r)?;
        let new_offnum = check_off(r.what, r.u16()?)?;
        Ok(UpdateOld {
            offnum,
            vm_cleared: w >> 9 != 0,
            xmax,
            new_offnum,
        })
    }
    /// Block 1 data of a cross-page update. When the old version's xmax is the record's
    /// own xid (`record_xid`, XLogRecGetXid; never a MultiXact) it is left out and its mode
    /// goes into the offset word (flag [`OLD_XMAX_IS_XID`], mode bits 11..14): 4 bytes
    /// instead of 9. Otherwise the layout of the same-page old part.
    pub fn encode_old_page(&self, out: &mut Vec<u8>, record_xid: crate::Xid) {
        let implied =
            !self.xmax.is_multi && crate::xid_is_normal(record_xid) && self.xmax.xmax == record_xid;
        if !implied {
            return self.encode(out);
        }
        let flags = self.vm_cleared as u16 | OLD_XMAX_IS_XID | ((self.xmax.bits() as u16) << 2);
        out.extend_from_slice(&off_flags(self.offnum, flags).to_le_bytes());
        out.extend_from_slice(&self.new_offnum.to_le_bytes());
    }
    /// Block 1 data of a cross-page update ([`UpdateOld::encode_old_page`]); `record_xid`
    /// is the record's xid (XLogRecGetXid).
    pub fn decode(b: &[u8], record_xid: crate::Xid) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap UPDATE (old page)");
        let w = r.u16()?;
        let f = w >> 9;
        if f & OLD_XMAX_IS_XID == 0 {
            let mut r = Rd::new(b, "glassheap UPDATE (old page)");
            let v = Self::decode_from(&mut r)?;
            r.done()?;
            return Ok(v);
        }
        if f >> 6 != 0 {
            return Err(bad(r.what, format!("unknown old-tuple flags {f:#x}")));
        }
        if !crate::xid_is_normal(record_xid) {
            return Err(bad(
                r.what,
                "the xmax is the record's xid, but the record has none",
            ));
        }
        let xmax = XmaxInfo::from_parts(r.what, record_xid, ((f >> 2) & 0xF) as u8)?;
        if xmax.is_multi {
            return Err(bad(r.what, "a MultiXact xmax cannot be the record's xid"));
        }
        let offnum = check_off(r.what, w & 0x1FF)?;
        let new_offnum = check_off(r.what, r.u16()?)?;
        r.done()?;
        Ok(UpdateOld {
            offnum,
            vm_cleared: f & 1 != 0,
            xmax,
            new_offnum,
        })
    }
}

/// [`UpdateOld`] flag (bit 10 of the offset word) on the old page of a cross-page update:
/// the xmax is the record's xid, not logged; bits 11..14 hold its mode.
pub const OLD_XMAX_IS_XID: u16 = 2;

/// Block 0 data: the new version, plus the old version's change when on the same page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateNew<'a> {
    pub offnum: u16,
    pub natts: u16,
    pub has_nulls: bool,
    pub heap_only: bool,
    pub init_page: bool,
    pub vm_cleared: bool,
    /// xmax carried over to the new version (key-share lockers of the old one).
    pub new_xmax: Option<XmaxInfo>,
    /// Set when old and new versions share the page (one block in the record).
    pub same_page_old: Option<UpdateOld>,
    /// Leading bytes of the new body equal to the old version's, not logged (same-page
    /// updates only; redo copies them from the old version, which is on the page).
    pub prefix_len: u16,
    /// Trailing bytes of the new body equal to the old version's, not logged.
    pub suffix_len: u16,
    /// The logged part of the new body: all of it, or the bytes between prefix and
    /// suffix.
    #[serde(skip)]
    pub body: &'a [u8],
}

/// Bytes a prefix or suffix must cover before it is worth its 2-byte length (heap's
/// log_heap_update uses the same threshold).
pub const MIN_SHARED_RUN: usize = 3;

/// Lengths of the common prefix and suffix of two tuple bodies, each 0 when shorter than
/// [`MIN_SHARED_RUN`]; they never overlap in either body.
pub fn shared_prefix_suffix(old: &[u8], new: &[u8]) -> (u16, u16) {
    let limit = old.len().min(new.len());
    let mut prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    if prefix < MIN_SHARED_RUN {
        prefix = 0;
    }
    let mut suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take(limit - prefix)
        .take_while(|(a, b)| a == b)
        .count();
    if suffix < MIN_SHARED_RUN {
        suffix = 0;
    }
    // Bodies are at most a page long, so both fit in u16.
    (prefix as u16, suffix as u16)
}

/// The new version's body from the old version's body and the logged middle: what redo
/// writes for an update logged with a prefix and/or suffix.
pub fn rebuild_body(
    old: &[u8],
    prefix_len: u16,
    suffix_len: u16,
    middle: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WalError> {
    let (p, s) = (prefix_len as usize, suffix_len as usize);
    if p + s > old.len() {
        return Err(bad(
            "glassheap UPDATE (new page)",
            format!(
                "prefix {p} + suffix {s} longer than the old version's body ({} bytes)",
                old.len()
            ),
        ));
    }
    out.clear();
    out.extend_from_slice(&old[..p]);
    out.extend_from_slice(middle);
    out.extend_from_slice(&old[old.len() - s..]);
    Ok(())
}

impl<'a> UpdateNew<'a> {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let packed = (self.offnum as u32 & 0x1FF)
            | ((self.natts as u32 & 0x7FF) << 9)
            | ((self.has_nulls as u32) << 20)
            | ((self.heap_only as u32) << 21)
            | ((self.init_page as u32) << 22)
            | ((self.vm_cleared as u32) << 23)
            | ((self.new_xmax.is_some() as u32) << 24)
            | ((self.same_page_old.is_some() as u32) << 25)
            | (((self.prefix_len != 0) as u32) << 26)
            | (((self.suffix_len != 0) as u32) << 27);
        out.extend_from_slice(&packed.to_le_bytes());
        if let Some(x) = &self.new_xmax {
            x.encode(out);
        }
        if let Some(o) = &self.same_page_old {
            o.encode(out);
        }
        if self.prefix_len != 0 {
            out.extend_from_slice(&self.prefix_len.to_le_bytes());
        }
        if self.suffix_len != 0 {
            out.extend_from_slice(&self.suffix_len.to_le_bytes());
        }
        out.extend_from_slice(self.body);
    }
    /// Length of the new version's body (logged part plus prefix and suffix).
    pub fn body_len(&self) -> usize {
        self.prefix_len as usize + self.body.len() + self.suffix_len as usize
    }
    pub fn decode(b: &'a [u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap UPDATE (new page)");
        let p = r.u32()?;
        if p >> 28 != 0 {
            return Err(bad(r.what, format!("unknown flags {:#x}", p >> 28)));
        }
        let offnum = check_off(r.what, (p & 0x1FF) as u16)?;
        let new_xmax = if p & (1 << 24) != 0 {
            Some(XmaxInfo::decode(&mut r)?)
        } else {
            None
        };
        let same_page_old = if p & (1 << 25) != 0 {
            Some(UpdateOld::decode_from(&mut r)?)
        } else {
            None
        };
        let (prefix_len, suffix_len) = if p & (3 << 26) == 0 {
            (0, 0)
        } else {
            let mut shared_len = |bit: u32, what: &str| -> Result<u16, WalError> {
                if p & (1 << bit) == 0 {
                    return Ok(0);
                }
                if same_page_old.is_none() {
                    return Err(bad(
                        r.what,
                        format!("{what} from an old version on another page"),
                    ));
                }
                match r.u16()? {
                    0 => Err(bad(r.what, format!("{what} flag with length 0"))),
                    n => Ok(n),
                }
            };
            (shared_len(26, "prefix")?, shared_len(27, "suffix")?)
        };
        Ok(UpdateNew {
            offnum,
            natts: ((p >> 9) & 0x7FF) as u16,
            has_nulls: p & (1 << 20) != 0,
            heap_only: p & (1 << 21) != 0,
            init_page: p & (1 << 22) != 0,
            vm_cleared: p & (1 << 23) != 0,
            new_xmax,
            same_page_old,
            prefix_len,
            suffix_len,
            body: r.rest(),
        })
    }
}

// ---------------------------------------------------------------------------------
// LOCK (block 0): like DELETE's payload; flag LOCK_UPDATED keeps the version pointer.
// ---------------------------------------------------------------------------------

pub const LOCK_VM_CLEARED: u16 = 1;
/// Lock placed on an older version in an update chain (heap2 LOCK_UPDATED): the
/// forward pointer stays as it is.
pub const LOCK_UPDATED: u16 = 2;
/// The lock's xmax is the record's own xid (XLogRecGetXid) and is not logged: a plain
/// (not MultiXact) lock taken by the transaction that writes the record, as every lock
/// before a cross-page UPDATE and every first locker's is.
pub const LOCK_XMAX_IS_XID: u16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockBlock {
    pub offnum: u16,
    pub vm_cleared: bool,
    pub updated_version: bool,
    pub xmax: XmaxInfo,
}

impl LockBlock {
    /// `record_xid` is the xid the record carries (GetCurrentTransactionIdIfAny when it
    /// is inserted): an xmax equal to it is left out.
    pub fn encode(&self, out: &mut Vec<u8>, record_xid: crate::Xid) {
        let implied =
            !self.xmax.is_multi && crate::xid_is_normal(record_xid) && self.xmax.xmax == record_xid;
        let mut f = 0;
        if self.vm_cleared {
            f |= LOCK_VM_CLEARED;
        }
        if self.updated_version {
            f |= LOCK_UPDATED;
        }
        if implied {
            f |= LOCK_XMAX_IS_XID;
        }
        out.extend_from_slice(&off_flags(self.offnum, f).to_le_bytes());
        if implied {
            out.push(self.xmax.bits());
        } else {
            self.xmax.encode(out);
        }
    }
    /// `record_xid`: the record's xid (XLogRecGetXid), the xmax of a lock that does not
    /// log its own.
    pub fn decode(b: &[u8], record_xid: crate::Xid) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap LOCK");
        let w = r.u16()?;
        let f = w >> 9;
        if f & !7 != 0 {
            return Err(bad(r.what, format!("unknown flags {f:#x}")));
        }
        let offnum = check_off(r.what, w & 0x1FF)?;
        let xmax = if f & LOCK_XMAX_IS_XID != 0 {
            if !crate::xid_is_normal(record_xid) {
                return Err(bad(
                    r.what,
                    "the xmax is the record's xid, but the record has none",
                ));
            }
            let bits = r.u8()?;
            let x = XmaxInfo::from_parts(r.what, record_xid, bits)?;
            if x.is_multi {
                return Err(bad(r.what, "a MultiXact xmax cannot be the record's xid"));
            }
            x
        } else {
            XmaxInfo::decode(&mut r)?
        };
        r.done()?;
        Ok(LockBlock {
            offnum,
            vm_cleared: f & LOCK_VM_CLEARED != 0,
            updated_version: f & LOCK_UPDATED != 0,
            xmax,
        })
    }
}

// ---------------------------------------------------------------------------------
// CONFIRM (block 0): a speculative insertion succeeded.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmBlock {
    pub offnum: u16,
}

impl ConfirmBlock {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offnum.to_le_bytes());
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap CONFIRM");
        let offnum = check_off(r.what, r.u16()?)?;
        r.done()?;
        Ok(ConfirmBlock { offnum })
    }
}

// ---------------------------------------------------------------------------------
// PRUNE (block 0): line pointers of removed versions change state; the page is then
// defragmented (PageRepairFragmentation), which is deterministic, so redo reaches the
// same bytes as the primary.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneBlock {
    /// The newest xid whose versions this record removes (0 = none): a hot standby
    /// cancels queries whose snapshots could still see them before replaying.
    pub latest_removed_xid: u32,
    /// (from, to): `from` becomes LP_REDIRECT to `to` (same-page update chains).
    pub redirected: Vec<(u16, u16)>,
    /// Become LP_DEAD: the version is gone but index entries may still point here.
    pub dead: Vec<u16>,
    /// Become LP_UNUSED: nothing points here any more.
    pub unused: Vec<u16>,
}

fn offsets(r: &mut Rd<'_>, n: usize) -> Result<Vec<u16>, WalError> {
    if r.b.len() - r.at < n * 2 {
        return Err(WalError::new(WalErrorKind::Truncated {
            what: r.what,
            need: r.at + n * 2,
            have: r.b.len(),
        }));
    }
    (0..n).map(|_| check_off(r.what, r.u16()?)).collect()
}

fn put_offsets(out: &mut Vec<u8>, offs: &[u16]) {
    // sized once, then filled (VACUUM's records carry up to 291 offsets each, a million
    // per VACUUM after full-table updates)
    let start = out.len();
    out.resize(start + offs.len() * 2, 0);
    for (b, o) in out[start..].chunks_exact_mut(2).zip(offs) {
        b.copy_from_slice(&o.to_le_bytes());
    }
}

impl PruneBlock {
    pub fn is_empty(&self) -> bool {
        self.redirected.is_empty() && self.dead.is_empty() && self.unused.is_empty()
    }
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.latest_removed_xid.to_le_bytes());
        for n in [self.redirected.len(), self.dead.len(), self.unused.len()] {
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        for (f, t) in &self.redirected {
            out.extend_from_slice(&f.to_le_bytes());
            out.extend_from_slice(&t.to_le_bytes());
        }
        put_offsets(out, &self.dead);
        put_offsets(out, &self.unused);
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap PRUNE");
        let latest_removed_xid = r.u32()?;
        let (nr, nd, nu) = (r.u16()? as usize, r.u16()? as usize, r.u16()? as usize);
        if nr + nd + nu > crate::layout::MAX_TUPLES_PER_PAGE {
            return Err(bad(
                r.what,
                format!("{} line pointers, more than a page has", nr + nd + nu),
            ));
        }
        let flat = offsets(&mut r, nr * 2)?;
        let redirected = flat.chunks(2).map(|c| (c[0], c[1])).collect();
        let dead = offsets(&mut r, nd)?;
        let unused = offsets(&mut r, nu)?;
        r.done()?;
        Ok(PruneBlock {
            latest_removed_xid,
            redirected,
            dead,
            unused,
        })
    }
}

// ---------------------------------------------------------------------------------
// VACUUM (block 0): LP_DEAD line pointers whose index entries VACUUM has removed
// become LP_UNUSED; the unused tail of the line pointer array is truncated.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VacuumBlock {
    pub unused: Vec<u16>,
}

impl VacuumBlock {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.unused.len() as u16).to_le_bytes());
        put_offsets(out, &self.unused);
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap VACUUM");
        let n = r.u16()? as usize;
        if n > crate::layout::MAX_TUPLES_PER_PAGE {
            return Err(bad(
                r.what,
                format!("{n} line pointers, more than a page has"),
            ));
        }
        let unused = offsets(&mut r, n)?;
        r.done()?;
        Ok(VacuumBlock { unused })
    }
}

// ---------------------------------------------------------------------------------
// FREEZE (block 0): old xids replaced by "frozen" so they never need pg_xact again.
// ---------------------------------------------------------------------------------

pub const FRZ_XMIN: u16 = 1;
pub const FRZ_XMAX_INVALIDATE: u16 = 2;
pub const FRZ_XMAX_REPLACE: u16 = 4;

/// What freezing does to a version's xmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum XmaxFreeze {
    Keep,
    /// The locker(s) or the aborted updater are gone: xmax becomes invalid and any
    /// forward link is dropped.
    Invalidate,
    /// A MultiXact older than the cutoff is replaced by its (committed) updater.
    Replace(XmaxInfo),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreezeEntry {
    pub offnum: u16,
    pub freeze_xmin: bool,
    pub xmax: XmaxFreeze,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FreezeBlock {
    /// The newest xid frozen (0 = none): a hot standby cancels queries that could
    /// still need to see it as in progress.
    pub cutoff_xid: u32,
    pub tuples: Vec<FreezeEntry>,
}

impl FreezeBlock {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cutoff_xid.to_le_bytes());
        out.extend_from_slice(&(self.tuples.len() as u16).to_le_bytes());
        for t in &self.tuples {
            let mut f = if t.freeze_xmin { FRZ_XMIN } else { 0 };
            match t.xmax {
                XmaxFreeze::Keep => {}
                XmaxFreeze::Invalidate => f |= FRZ_XMAX_INVALIDATE,
                XmaxFreeze::Replace(_) => f |= FRZ_XMAX_REPLACE,
            }
            out.extend_from_slice(&off_flags(t.offnum, f).to_le_bytes());
            if let XmaxFreeze::Replace(x) = &t.xmax {
                x.encode(out);
            }
        }
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap FREEZE");
        let cutoff_xid = r.u32()?;
        let n = r.u16()? as usize;
        if n > crate::layout::MAX_TUPLES_PER_PAGE {
            return Err(bad(r.what, format!("{n} tuples, more than a page has")));
        }
        let mut tuples = Vec::with_capacity(n);
        for _ in 0..n {
            let w = r.u16()?;
            let f = w >> 9;
            if f & !7 != 0 || f & (FRZ_XMAX_INVALIDATE | FRZ_XMAX_REPLACE) == 6 || f == 0 {
                return Err(bad(r.what, format!("invalid flags {f:#x}")));
            }
            let offnum = check_off(r.what, w & 0x1FF)?;
            let xmax = if f & FRZ_XMAX_INVALIDATE != 0 {
                XmaxFreeze::Invalidate
            } else if f & FRZ_XMAX_REPLACE != 0 {
                XmaxFreeze::Replace(XmaxInfo::decode(&mut r)?)
            } else {
                XmaxFreeze::Keep
            };
            tuples.push(FreezeEntry {
                offnum,
                freeze_xmin: f & FRZ_XMIN != 0,
                xmax,
            });
        }
        r.done()?;
        Ok(FreezeBlock { cutoff_xid, tuples })
    }
}

// ---------------------------------------------------------------------------------
// VISIBLE: block 0 = the visibility-map page (no data), block 1 = the table page, whose
// payload is kept even when the page is logged as an image (REGBUF_KEEP_DATA): redo
// needs it for the map and for hot-standby conflicts either way.
// ---------------------------------------------------------------------------------

pub const VIS_ALL_VISIBLE: u8 = 1;
pub const VIS_ALL_FROZEN: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisibleBlock {
    /// The newest xmin on the page: standby queries whose snapshots could still see
    /// it as running are cancelled before the page is declared all-visible.
    pub cutoff_xid: u32,
    pub all_visible: bool,
    pub all_frozen: bool,
}

impl VisibleBlock {
    /// The visibility-map bits (VISIBILITYMAP_ALL_VISIBLE / _ALL_FROZEN).
    pub fn map_bits(&self) -> u8 {
        (if self.all_visible { VIS_ALL_VISIBLE } else { 0 })
            | if self.all_frozen { VIS_ALL_FROZEN } else { 0 }
    }
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cutoff_xid.to_le_bytes());
        out.push(self.map_bits());
    }
    pub fn decode(b: &[u8]) -> Result<Self, WalError> {
        let mut r = Rd::new(b, "glassheap VISIBLE");
        let cutoff_xid = r.u32()?;
        let f = r.u8()?;
        if f & !3 != 0 || f & VIS_ALL_VISIBLE == 0 {
            return Err(bad(r.what, format!("invalid map bits {f:#x}")));
        }
        r.done()?;
        Ok(VisibleBlock {
            cutoff_xid,
            all_visible: true,
            all_frozen: f & VIS_ALL_FROZEN != 0,
        })
    }
}

// ---------------------------------------------------------------------------------
// Whole-record decoding for rm_desc and glassheap.wal_records().
// ---------------------------------------------------------------------------------

/// A block reference's data as the reader hands it over: None when the block carries a
/// full-page image without data (or is absent).
pub type BlockData<'a> = Option<&'a [u8]>;

fn xmax_desc(x: &XmaxInfo) -> String {
    format!(
        "xmax {}{} {}",
        x.xmax,
        if x.is_multi { " (multi)" } else { "" },
        x.mode.name()
    )
}

/// One-line description for `rm_desc` (pg_walinspect's description column).
/// `xid` is the record's (XLogRecGetXid): some payloads leave out an xmax equal to it.
pub fn describe(info: u8, xid: crate::Xid, blocks: &[BlockData<'_>]) -> String {
    let blk = |i: usize| blocks.get(i).copied().flatten();
    let err = |e: WalError| format!("corrupt: {e}");
    match info & XLOG_GH_OPMASK {
        XLOG_GH_INSERT => match blk(0).map(InsertBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "off {} natts {} len {}{}{}{}",
                d.offnum,
                d.natts,
                crate::tuple::HEADER_SIZE + d.body.len(),
                if d.init_page { " init_page" } else { "" },
                if d.vm_cleared { " vm_cleared" } else { "" },
                if d.speculative { " speculative" } else { "" }
            ),
        },
        XLOG_GH_MULTI_INSERT => match blk(0).map(MultiInsertBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "ntuples {} offs {}..{}{}{}{}",
                d.tuples.len(),
                d.tuples.first().map(|t| t.offnum).unwrap_or(0),
                d.tuples.last().map(|t| t.offnum).unwrap_or(0),
                if d.init_page { " init_page" } else { "" },
                if d.vm_cleared { " vm_cleared" } else { "" },
                if d.frozen { " frozen" } else { "" }
            ),
        },
        XLOG_GH_DELETE => match blk(0).map(DeleteBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "off {} {}{}{}",
                d.offnum,
                xmax_desc(&d.xmax),
                if d.super_delete { " super" } else { "" },
                if d.moved_partitions {
                    " moved_partitions"
                } else {
                    ""
                }
            ),
        },
        XLOG_GH_UPDATE => {
            let new = match blk(0).map(UpdateNew::decode) {
                None => "new: full-page image".to_string(),
                Some(Err(e)) => err(e),
                Some(Ok(d)) => {
                    let old = d
                        .same_page_old
                        .as_ref()
                        .map(|o| format!("old off {} {}; ", o.offnum, xmax_desc(&o.xmax)))
                        .unwrap_or_default();
                    let shared = if d.prefix_len != 0 || d.suffix_len != 0 {
                        format!(
                            " (logged {}, prefix {} and suffix {} from the old version)",
                            d.body.len(),
                            d.prefix_len,
                            d.suffix_len
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "{old}new off {} natts {} len {}{shared}{}",
                        d.offnum,
                        d.natts,
                        crate::tuple::HEADER_SIZE + d.body_len(),
                        if d.heap_only { " heap_only" } else { "" }
                    )
                }
            };
            if blocks.len() > 1 {
                let old = match blk(1).map(|b| UpdateOld::decode(b, xid)) {
                    None => "old: full-page image".to_string(),
                    Some(Err(e)) => err(e),
                    Some(Ok(o)) => format!(
                        "old off {} {} -> new off {}",
                        o.offnum,
                        xmax_desc(&o.xmax),
                        o.new_offnum
                    ),
                };
                format!("{old}; {new}")
            } else {
                new
            }
        }
        XLOG_GH_LOCK => match blk(0).map(|b| LockBlock::decode(b, xid)) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "off {} {}{}",
                d.offnum,
                xmax_desc(&d.xmax),
                if d.updated_version {
                    " updated_version"
                } else {
                    ""
                }
            ),
        },
        XLOG_GH_CONFIRM => match blk(0).map(ConfirmBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!("off {}", d.offnum),
        },
        XLOG_GH_PRUNE => match blk(0).map(PruneBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "latest_removed_xid {} nredirected {} ndead {} nunused {}",
                d.latest_removed_xid,
                d.redirected.len(),
                d.dead.len(),
                d.unused.len()
            ),
        },
        XLOG_GH_VACUUM => match blk(0).map(VacuumBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!("nunused {}", d.unused.len()),
        },
        XLOG_GH_VISIBLE => match blk(1).map(VisibleBlock::decode) {
            None => "no data".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!(
                "cutoff_xid {} {}",
                d.cutoff_xid,
                if d.all_frozen {
                    "all_visible all_frozen"
                } else {
                    "all_visible"
                }
            ),
        },
        XLOG_GH_FREEZE => match blk(0).map(FreezeBlock::decode) {
            None => "full-page image".into(),
            Some(Err(e)) => err(e),
            Some(Ok(d)) => format!("cutoff_xid {} ntuples {}", d.cutoff_xid, d.tuples.len()),
        },
        _ => format!("unknown glassheap record info {info:#04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xi(x: u32, m: XmaxMode, multi: bool) -> XmaxInfo {
        XmaxInfo {
            xmax: x,
            mode: m,
            is_multi: multi,
        }
    }

    #[test]
    fn insert_is_three_bytes_plus_body() {
        let body = [1u8, 0, 0, 0, 2, 0, 0, 0];
        let ib = InsertBlock {
            offnum: 291,
            natts: 2,
            has_nulls: false,
            init_page: true,
            vm_cleared: false,
            speculative: true,
            body: &body,
        };
        let mut v = Vec::new();
        ib.encode(&mut v);
        assert_eq!(v.len(), 3 + 8);
        assert_eq!(InsertBlock::decode(&v).unwrap(), ib);
    }

    #[test]
    fn multi_insert_uniform_consecutive_is_compact() {
        let bodies: Vec<[u8; 8]> = (0..100u32)
            .map(|i| {
                let mut b = [0u8; 8];
                b[..4].copy_from_slice(&i.to_le_bytes());
                b
            })
            .collect();
        let m = MultiInsertBlock {
            init_page: true,
            vm_cleared: false,
            frozen: false,
            tuples: bodies
                .iter()
                .enumerate()
                .map(|(i, b)| MultiTuple {
                    offnum: i as u16 + 1,
                    natts: 2,
                    has_nulls: false,
                    body: b,
                })
                .collect(),
        };
        let mut v = Vec::new();
        m.encode(&mut v);
        assert_eq!(v.len(), 1 + 2 + 2 + 4 + 100 * 8);
        assert_eq!(MultiInsertBlock::decode(&v).unwrap(), m);
    }

    #[test]
    fn multi_insert_mixed() {
        let a = [1u8; 8];
        let b = [2u8; 13];
        let m = MultiInsertBlock {
            init_page: false,
            vm_cleared: true,
            frozen: true,
            tuples: vec![
                MultiTuple {
                    offnum: 3,
                    natts: 2,
                    has_nulls: false,
                    body: &a,
                },
                MultiTuple {
                    offnum: 7,
                    natts: 3,
                    has_nulls: true,
                    body: &b,
                },
            ],
        };
        let mut v = Vec::new();
        m.encode(&mut v);
        assert_eq!(MultiInsertBlock::decode(&v).unwrap(), m);
    }

    #[test]
    fn delete_lock_confirm_round_trip() {
        let d = DeleteBlock {
            offnum: 5,
            vm_cleared: true,
            super_delete: false,
            moved_partitions: true,
            xmax: xi(77, XmaxMode::Update, false),
        };
        let mut v = Vec::new();
        d.encode(&mut v);
        assert_eq!(v.len(), 7);
        assert_eq!(DeleteBlock::decode(&v).unwrap(), d);

        let l = LockBlock {
            offnum: 9,
            vm_cleared: false,
            updated_version: true,
            xmax: xi(88, XmaxMode::LockShare, true),
        };
        v.clear();
        l.encode(&mut v, 88);
        assert_eq!(v.len(), 7, "a MultiXact is always logged");
        assert_eq!(LockBlock::decode(&v, 88).unwrap(), l);
        // A plain lock by the record's own transaction leaves its xmax out (3 bytes, not
        // 7); one by another xid, or a record without an xid, logs it.
        let own = LockBlock {
            xmax: xi(88, XmaxMode::LockNoKeyExclusive, false),
            ..l.clone()
        };
        v.clear();
        own.encode(&mut v, 88);
        assert_eq!(v.len(), 3);
        assert_eq!(LockBlock::decode(&v, 88).unwrap(), own);
        assert!(LockBlock::decode(&v, 0).is_err());
        assert_eq!(LockBlock::decode(&v, 90).unwrap().xmax.xmax, 90);
        for x in [87, 0] {
            v.clear();
            own.encode(&mut v, x);
            assert_eq!(v.len(), 7);
            assert_eq!(LockBlock::decode(&v, x).unwrap(), own);
        }

        let c = ConfirmBlock { offnum: 1 };
        v.clear();
        c.encode(&mut v);
        assert_eq!(ConfirmBlock::decode(&v).unwrap(), c);
    }

    #[test]
    fn update_same_and_cross_page() {
        let body = [9u8; 12];
        let old = UpdateOld {
            offnum: 4,
            vm_cleared: false,
            xmax: xi(50, XmaxMode::NoKeyUpdate, false),
            new_offnum: 6,
        };
        let n = UpdateNew {
            offnum: 6,
            natts: 3,
            has_nulls: true,
            heap_only: true,
            init_page: false,
            vm_cleared: false,
            new_xmax: Some(xi(40, XmaxMode::LockKeyShare, false)),
            same_page_old: Some(old.clone()),
            prefix_len: 0,
            suffix_len: 0,
            body: &body,
        };
        let mut v = Vec::new();
        n.encode(&mut v);
        assert_eq!(UpdateNew::decode(&v).unwrap(), n);
        let mut v1 = Vec::new();
        old.encode(&mut v1);
        assert_eq!(v1.len(), 9);
        assert_eq!(UpdateOld::decode(&v1, 0).unwrap(), old);
        // On the old page of a cross-page update an xmax that is the record's xid is
        // left out (4 bytes); another xid, a MultiXact or no record xid keep it.
        let x = old.xmax.xmax;
        v1.clear();
        old.encode_old_page(&mut v1, x);
        assert_eq!(v1.len(), 4);
        assert_eq!(UpdateOld::decode(&v1, x).unwrap(), old);
        assert!(UpdateOld::decode(&v1, 0).is_err());
        for y in [x + 1, 0] {
            v1.clear();
            old.encode_old_page(&mut v1, y);
            assert_eq!(v1.len(), 9);
            assert_eq!(UpdateOld::decode(&v1, y).unwrap(), old);
        }
        let multi = UpdateOld {
            xmax: xi(x, XmaxMode::NoKeyUpdate, true),
            ..old.clone()
        };
        v1.clear();
        multi.encode_old_page(&mut v1, x);
        assert_eq!(v1.len(), 9);
        assert_eq!(UpdateOld::decode(&v1, x).unwrap(), multi);
        let desc = describe(XLOG_GH_UPDATE, 0, &[Some(&v)]);
        assert!(desc.contains("old off 4"), "{desc}");
        assert!(desc.contains("len 28"), "{desc}");

        // The same update with 8 leading and 85 trailing bytes shared with the old version
        // (pgbench_accounts' abalance): 4 bytes for the lengths, 4 logged.
        let compressed = UpdateNew {
            prefix_len: 8,
            suffix_len: 85,
            body: &body[..4],
            ..n.clone()
        };
        let mut c = Vec::new();
        compressed.encode(&mut c);
        assert_eq!(c.len(), v.len() - 12 + 4 + 4);
        assert_eq!(UpdateNew::decode(&c).unwrap(), compressed);
        assert_eq!(compressed.body_len(), 97);
        let desc = describe(XLOG_GH_UPDATE, 0, &[Some(&c)]);
        assert!(
            desc.contains("len 113 (logged 4, prefix 8 and suffix 85 from the old version)"),
            "{desc}"
        );
        // Only the prefix: the suffix flag and length are absent.
        let prefix_only = UpdateNew {
            suffix_len: 0,
            ..compressed.clone()
        };
        let mut po = Vec::new();
        prefix_only.encode(&mut po);
        assert_eq!(po.len(), c.len() - 2);
        assert_eq!(UpdateNew::decode(&po).unwrap(), prefix_only);

        // A prefix needs the old version on the same page: cross-page is rejected, as is a
        // flagged length of 0.
        let cross = UpdateNew {
            same_page_old: None,
            ..compressed.clone()
        };
        let mut x = Vec::new();
        cross.encode(&mut x);
        let e = UpdateNew::decode(&x).unwrap_err().to_string();
        assert!(
            e.contains("prefix from an old version on another page"),
            "{e}"
        );
        let mut z = c.clone();
        let at = 4 + 5 + 9; // flags word, new xmax, old-version part
        z[at] = 0;
        z[at + 1] = 0;
        let e = UpdateNew::decode(&z).unwrap_err().to_string();
        assert!(e.contains("prefix flag with length 0"), "{e}");
    }

    #[test]
    fn shared_prefix_suffix_finds_the_changed_middle() {
        let old = b"aaaabbbbXXXXcccccccc";
        let new = b"aaaabbbbYYcccccccc";
        assert_eq!(shared_prefix_suffix(old, new), (8, 8));
        // Runs shorter than 3 bytes are not worth their 2-byte length.
        assert_eq!(shared_prefix_suffix(b"abXYZde", b"abQQQde"), (0, 0));
        // Identical bodies: everything is prefix, nothing is left for a suffix.
        assert_eq!(shared_prefix_suffix(b"abcdef", b"abcdef"), (6, 0));
        // Prefix and suffix never overlap in the shorter body.
        assert_eq!(shared_prefix_suffix(b"aaaa", b"aaaaaa"), (4, 0));
        assert_eq!(shared_prefix_suffix(b"aaaaaa", b"aaaa"), (4, 0));
        let mut out = Vec::new();
        rebuild_body(old, 8, 8, b"YY", &mut out).unwrap();
        assert_eq!(out, new);
        let e = rebuild_body(b"short", 3, 3, b"", &mut out)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("longer than the old version's body (5 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_offsets_and_trailing_bytes() {
        assert!(ConfirmBlock::decode(&[0, 0]).is_err());
        assert!(ConfirmBlock::decode(&[0x24, 0x01]).is_err()); // 292
        assert!(ConfirmBlock::decode(&[1, 0, 0]).is_err());
        assert!(DeleteBlock::decode(&[1, 0, 0, 0, 0, 0, 7]).is_err()); // mode 7
    }

    #[test]
    fn identify_names() {
        assert_eq!(identify(XLOG_GH_INSERT), Some("INSERT"));
        assert_eq!(identify(XLOG_GH_UPDATE | 0x01), Some("UPDATE"));
        assert_eq!(identify(0xF0), None);
    }

    fn off() -> impl Strategy<Value = u16> {
        1u16..292
    }

    fn xmax_freeze() -> impl Strategy<Value = XmaxFreeze> {
        prop_oneof![
            Just(XmaxFreeze::Keep),
            Just(XmaxFreeze::Invalidate),
            (any::<u32>(), 0u8..6, any::<bool>()).prop_map(|(x, m, multi)| XmaxFreeze::Replace(
                xi(x, XmaxMode::from_bits(m).unwrap(), multi)
            )),
        ]
    }

    #[test]
    fn vacuum_records_sizes_and_descriptions() {
        let p = PruneBlock {
            latest_removed_xid: 745,
            redirected: vec![(1, 3)],
            dead: vec![2, 5],
            unused: vec![4],
        };
        let mut v = Vec::new();
        p.encode(&mut v);
        assert_eq!(v.len(), 4 + 6 + 4 + 4 + 2);
        assert_eq!(
            describe(XLOG_GH_PRUNE, 0, &[Some(&v)]),
            "latest_removed_xid 745 nredirected 1 ndead 2 nunused 1"
        );
        let mut v = Vec::new();
        VacuumBlock { unused: vec![2, 5] }.encode(&mut v);
        assert_eq!(v, [2, 0, 2, 0, 5, 0]);
        assert_eq!(describe(XLOG_GH_VACUUM, 0, &[Some(&v)]), "nunused 2");
        let f = FreezeBlock {
            cutoff_xid: 900,
            tuples: vec![
                FreezeEntry {
                    offnum: 1,
                    freeze_xmin: true,
                    xmax: XmaxFreeze::Keep,
                },
                FreezeEntry {
                    offnum: 2,
                    freeze_xmin: false,
                    xmax: XmaxFreeze::Replace(xi(800, XmaxMode::NoKeyUpdate, false)),
                },
            ],
        };
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(v.len(), 4 + 2 + 2 + 2 + 5);
        assert_eq!(
            describe(XLOG_GH_FREEZE, 0, &[Some(&v)]),
            "cutoff_xid 900 ntuples 2"
        );
        assert_eq!(identify(XLOG_GH_FREEZE), Some("FREEZE"));
        let mut v = Vec::new();
        VisibleBlock {
            cutoff_xid: 77,
            all_visible: true,
            all_frozen: true,
        }
        .encode(&mut v);
        assert_eq!(v, [77, 0, 0, 0, 3]);
        assert_eq!(
            describe(XLOG_GH_VISIBLE, 0, &[None, Some(&v)]),
            "cutoff_xid 77 all_visible all_frozen"
        );
        assert!(VisibleBlock::decode(&[0, 0, 0, 0, 2]).is_err()); // frozen without visible
    }

    #[test]
    fn vacuum_records_reject_nonsense() {
        // offset 0 in a dead list
        assert!(PruneBlock::decode(&[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]).is_err());
        // more line pointers than a page holds
        assert!(VacuumBlock::decode(&[0x24, 0x01]).is_err());
        // an entry that changes nothing, and one that both invalidates and replaces
        assert!(FreezeBlock::decode(&[0, 0, 0, 0, 1, 0, 1, 0]).is_err());
        assert!(FreezeBlock::decode(&[0, 0, 0, 0, 1, 0, 1, 12]).is_err());
    }

    proptest! {
        #[test]
        fn prune_round_trips(x in any::<u32>(), r in proptest::collection::vec((off(), off()), 0..20),
                             d in proptest::collection::vec(off(), 0..40), u in proptest::collection::vec(off(), 0..40),
                             cut in 0usize..200) {
            let p = PruneBlock { latest_removed_xid: x, redirected: r, dead: d, unused: u };
            let mut v = Vec::new();
            p.encode(&mut v);
            prop_assert_eq!(PruneBlock::decode(&v).unwrap(), p);
            if cut < v.len() {
                prop_assert!(PruneBlock::decode(&v[..cut]).is_err());
            }
        }

        #[test]
        fn vacuum_and_freeze_round_trip(u in proptest::collection::vec(off(), 0..60), c in any::<u32>(),
                                        t in proptest::collection::vec((off(), any::<bool>(), xmax_freeze()), 0..40)) {
            let vb = VacuumBlock { unused: u };
            let mut v = Vec::new();
            vb.encode(&mut v);
            prop_assert_eq!(VacuumBlock::decode(&v).unwrap(), vb);
            let tuples: Vec<FreezeEntry> = t.into_iter()
                .filter(|(_, fx, x)| *fx || *x != XmaxFreeze::Keep)
                .map(|(offnum, freeze_xmin, xmax)| FreezeEntry { offnum, freeze_xmin, xmax }).collect();
            let fb = FreezeBlock { cutoff_xid: c, tuples };
            let mut v = Vec::new();
            fb.encode(&mut v);
            prop_assert_eq!(FreezeBlock::decode(&v).unwrap(), fb);
            for cut in 0..v.len() {
                prop_assert!(FreezeBlock::decode(&v[..cut]).is_err());
            }
        }

        #[test]
        fn garbage_never_panics(info in any::<u8>(), b0 in proptest::collection::vec(any::<u8>(), 0..64),
                                b1 in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = InsertBlock::decode(&b0);
            let _ = MultiInsertBlock::decode(&b0);
            let _ = DeleteBlock::decode(&b0);
            let _ = UpdateNew::decode(&b0);
            let _ = UpdateOld::decode(&b0, 0);
            let _ = UpdateOld::decode(&b0, 1000);
            let _ = LockBlock::decode(&b0, 0);
            let _ = LockBlock::decode(&b0, 1000);
            let _ = ConfirmBlock::decode(&b0);
            let _ = PruneBlock::decode(&b0);
            let _ = VacuumBlock::decode(&b0);
            let _ = FreezeBlock::decode(&b0);
            let _ = VisibleBlock::decode(&b0);
            let _ = describe(info, 0, &[Some(&b0), Some(&b1)]);
            let _ = describe(info, 0, &[None, Some(&b1)]);
        }

        #[test]
        fn truncation_is_an_error_not_a_panic(off in 1u16..292, x in any::<u32>(), cut in 0usize..7) {
            let d = DeleteBlock { offnum: off, vm_cleared: false, super_delete: false, moved_partitions: false, xmax: xi(x, XmaxMode::Update, false) };
            let mut v = Vec::new();
            d.encode(&mut v);
            prop_assert!(DeleteBlock::decode(&v[..cut]).is_err());
            prop_assert_eq!(DeleteBlock::decode(&v).unwrap(), d);
        }

        #[test]
        fn update_prefix_suffix_round_trips(
            old in proptest::collection::vec(0u8..4, 0..120),
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..4), 0..4),
            cut in any::<proptest::sample::Index>(),
            grow in proptest::collection::vec(0u8..4, 0..6),
        ) {
            // A new body that mostly equals the old one: a few bytes changed, the tail
            // possibly cut or grown (values from a small alphabet so runs match often).
            let mut new = old.clone();
            for (i, b) in &edits {
                if !new.is_empty() {
                    let at = i.index(new.len());
                    new[at] = *b;
                }
            }
            if !new.is_empty() {
                new.truncate(cut.index(new.len() + 1));
            }
            new.extend_from_slice(&grow);
            let (p, sfx) = shared_prefix_suffix(&old, &new);
            prop_assert!(p as usize + sfx as usize <= old.len().min(new.len()));
            prop_assert!(p == 0 || p as usize >= MIN_SHARED_RUN);
            prop_assert!(sfx == 0 || sfx as usize >= MIN_SHARED_RUN);
            let middle = &new[p as usize..new.len() - sfx as usize];
            let old_v = UpdateOld { offnum: 1, vm_cleared: false, xmax: xi(5, XmaxMode::NoKeyUpdate, false), new_offnum: 2 };
            let rec = UpdateNew { offnum: 2, natts: 2, has_nulls: false, heap_only: true, init_page: false,
                vm_cleared: false, new_xmax: None, same_page_old: Some(old_v), prefix_len: p, suffix_len: sfx, body: middle };
            let mut v = Vec::new();
            rec.encode(&mut v);
            let d = UpdateNew::decode(&v).unwrap();
            prop_assert_eq!(&d, &rec);
            let mut out = Vec::new();
            rebuild_body(&old, d.prefix_len, d.suffix_len, d.body, &mut out).unwrap();
            prop_assert_eq!(out, new);
        }

        #[test]
        fn insert_round_trips(off in 1u16..292, natts in 0u16..1665, nulls: bool, init: bool, vm: bool, spec: bool,
                              body in proptest::collection::vec(any::<u8>(), 0..100)) {
            let ib = InsertBlock { offnum: off, natts, has_nulls: nulls, init_page: init, vm_cleared: vm, speculative: spec, body: &body };
            let mut v = Vec::new();
            ib.encode(&mut v);
            prop_assert_eq!(InsertBlock::decode(&v).unwrap(), ib);
        }
    }
}
