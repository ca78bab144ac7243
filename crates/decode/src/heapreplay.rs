//! PostgreSQL heap's own redo, on a page in memory: what each Heap / Heap2 WAL record
//! does to the heap page it names, exactly as `heap_redo` / `heap2_redo`
//! (`src/backend/access/heap/heapam.c` heap_xlog_*, PostgreSQL 17+ `heapam_xlog.c`,
//! and `pruneheap.c` heap_page_prune_execute) do it, without buffers, the visibility map
//! or the free space map. `glassheap.page_history` uses it to rebuild a native heap
//! table's block from WAL the way it rebuilds a glassheap block.
//!
//! The records are read by the version-aware decoders of [`crate::waldecode`] (heap.rs,
//! heap2.rs) in the formats of the server's major version; only the tuple bytes the
//! decoders count but do not copy are taken from the block data by their lengths.
//! Page-level operations are `pageview`'s, whose semantics are bufpage.c's and so heap's
//! too: `add_item_at` is PageAddItem(.., overwrite = true, is_heap = true),
//! `apply_prune` / `repair_fragmentation` heap_page_prune_execute's line pointer changes
//! then PageRepairFragmentation, `set_unused` VACUUM's second pass then
//! PageTruncateLinePointerArray. Tuple headers are heap's (HeapTupleHeaderData: t_xmin 0,
//! t_xmax 4, t_cid / t_xvac 8, t_ctid 12, t_infomask2 18, t_infomask 20, t_hoff 22;
//! SizeofHeapTupleHeader 23).
//!
//! Replayed: INSERT (+INIT), UPDATE and HOT_UPDATE (+INIT, prefix/suffix compression),
//! DELETE, LOCK, CONFIRM, INPLACE; Heap2 MULTI_INSERT (+INIT), LOCK_UPDATED, VISIBLE,
//! PRUNE / VACUUM / FREEZE_PAGE (15, 16) and PRUNE_ON_ACCESS / PRUNE_VACUUM_SCAN /
//! PRUNE_VACUUM_CLEANUP with their freeze plans (17, 18). Anything else touching a heap
//! block is refused by name. A record that does not fit the page is an error naming
//! what did not fit (redo would PANIC).

use crate::rowevent::RowEvent;
use crate::waldecode::heap::{
    XLH_DELETE_ALL_VISIBLE_CLEARED, XLH_DELETE_IS_PARTITION_MOVE, XLH_DELETE_IS_SUPER,
    XLH_INSERT_ALL_FROZEN_SET, XLH_INSERT_ALL_VISIBLE_CLEARED, XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED,
    XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED, XLOG_HEAP_CONFIRM, XLOG_HEAP_DELETE, XLOG_HEAP_HOT_UPDATE,
    XLOG_HEAP_INIT_PAGE, XLOG_HEAP_INPLACE, XLOG_HEAP_INSERT, XLOG_HEAP_LOCK, XLOG_HEAP_OPMASK,
    XLOG_HEAP_UPDATE,
};
use crate::waldecode::heap2::{
    XLHP_CLEANUP_LOCK, XLOG_HEAP2_FREEZE_PAGE, XLOG_HEAP2_LOCK_UPDATED, XLOG_HEAP2_MULTI_INSERT,
    XLOG_HEAP2_PRUNE, XLOG_HEAP2_VACUUM, XLOG_HEAP2_VISIBLE,
};
use crate::waldecode::{self, BlockRef, PgVersion, RM_HEAP2_ID, RM_HEAP_ID};
use glassheap_format::page::{LP_NORMAL, PD_ALL_VISIBLE, PD_HAS_FREE_LINES, PD_PAGE_FULL};
use glassheap_format::pageview::{Page, PageBytes, PageMut, PG_PAGE_LAYOUT_VERSION};
use glassheap_format::records::PruneBlock;
use glassheap_format::{BLCKSZ, FROZEN_XID, PAGE_HEADER_SIZE};
use serde_json::Value;

pub use crate::heap::HEAP_HEADER_SIZE;
use crate::waldecode::logical::{
    SIZE_OF_HEAP_HEADER as XL_HEAP_HEADER_SIZE,
    SIZE_OF_MULTI_INSERT_TUPLE as XL_MULTI_INSERT_TUPLE_SIZE,
};

use crate::heap::field::{T_CID, T_CTID, T_HOFF, T_INFOMASK, T_INFOMASK2, T_XMAX, T_XMIN};
use crate::heap::infomask::*;
use crate::waldecode::heap::{
    XLHL_KEYS_UPDATED, XLHL_XMAX_EXCL_LOCK, XLHL_XMAX_IS_MULTI, XLHL_XMAX_KEYSHR_LOCK,
    XLHL_XMAX_LOCK_ONLY,
};
use crate::waldecode::heap2::{XLH_FREEZE_XVAC, XLH_INVALID_XVAC};

/// MovedPartitionsOffsetNumber / InvalidBlockNumber (HeapTupleHeaderSetMovedPartitions).
const MOVED_PARTITIONS_OFFSET: u16 = 0xfffd;
const INVALID_BLOCK: u32 = 0xFFFF_FFFF;

/// One block reference of a heap record.
#[derive(Debug, Clone, Copy)]
pub struct HeapBlock<'a> {
    pub block_id: u8,
    pub blkno: u32,
    /// The block's registered data (None when there is none or it was left out for an
    /// image).
    pub data: Option<&'a [u8]>,
}

/// A Heap or Heap2 record as redo sees it.
#[derive(Debug, Clone)]
pub struct HeapRecord<'a> {
    /// The major version whose formats the record is in.
    pub version: PgVersion,
    /// RM_HEAP_ID or RM_HEAP2_ID.
    pub rmid: u8,
    pub info: u8,
    pub xid: u32,
    pub main: &'a [u8],
    /// The main-fork block references of the record, of the relation followed.
    pub blocks: Vec<HeapBlock<'a>>,
    /// XLogHintBitIsNeeded() on the server that wrote the record (data checksums or
    /// wal_log_hints): heap_xlog_visible then sets the heap page's LSN.
    pub hint_bits_logged: bool,
}

/// Why a heap record could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeapReplayError {
    /// A record heap's redo changes the page with but this replay does not implement.
    Unsupported(String),
    /// The record does not decode or does not fit the page.
    Failed(String),
}

impl std::fmt::Display for HeapReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeapReplayError::Unsupported(what) => {
                write!(f, "{what} is not replayed for heap pages")
            }
            HeapReplayError::Failed(e) => f.write_str(e),
        }
    }
}

type Res<T> = Result<T, HeapReplayError>;

fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(HeapReplayError::Failed(msg.into()))
}

/// What the record is, as pg_waldump names it ("Heap/INSERT+INIT").
pub fn record_name(version: PgVersion, rmid: u8, info: u8) -> String {
    let rm = waldecode::rmgr_name(rmid).unwrap_or("?");
    match waldecode::identify(version, rmid, info) {
        Some(t) => format!("{rm}/{t}"),
        None => format!("{rm}/UNKNOWN ({:x})", info & 0xF0),
    }
}

impl<'a> HeapRecord<'a> {
    fn op(&self) -> u8 {
        self.info & XLOG_HEAP_OPMASK
    }

    fn name(&self) -> String {
        record_name(self.version, self.rmid, self.info)
    }

    fn block(&self, id: u8) -> Option<&HeapBlock<'a>> {
        self.blocks.iter().find(|b| b.block_id == id)
    }

    /// The decoders' reading of the record (an error when they report one).
    fn decoded(&self) -> Res<Value> {
        let refs: Vec<BlockRef<'_>> = self
            .blocks
            .iter()
            .map(|b| BlockRef {
                block_id: b.block_id,
                data: b.data,
                has_image: false,
            })
            .collect();
        let v = waldecode::decode(
            self.version,
            self.rmid,
            self.info,
            self.xid,
            self.main,
            &refs,
        );
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            return fail(format!("the record does not decode: {e}"));
        }
        Ok(v)
    }

    /// PostgreSQL 17+'s merged prune/freeze records.
    fn merged_prune(&self) -> bool {
        self.rmid == RM_HEAP2_ID
            && self.version >= PgVersion::V17
            && matches!(
                self.op(),
                XLOG_HEAP2_PRUNE | XLOG_HEAP2_VACUUM | XLOG_HEAP2_FREEZE_PAGE
            )
    }
}

fn num(v: &Value, key: &str) -> Res<u64> {
    match v.get(key).and_then(Value::as_u64) {
        Some(n) => Ok(n),
        None => fail(format!("the decoded record has no {key}")),
    }
}
fn n16(v: &Value, key: &str) -> Res<u16> {
    u16::try_from(num(v, key)?).or_else(|_| fail(format!("{key} out of range")))
}
fn n32(v: &Value, key: &str) -> Res<u32> {
    u32::try_from(num(v, key)?).or_else(|_| fail(format!("{key} out of range")))
}
fn n8(v: &Value, key: &str) -> Res<u8> {
    u8::try_from(num(v, key)?).or_else(|_| fail(format!("{key} out of range")))
}
fn list16(v: &Value, key: &str) -> Res<Vec<u16>> {
    let Some(a) = v.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    a.iter()
        .map(|x| {
            x.as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .map_or_else(|| fail(format!("bad offset in {key}")), Ok)
        })
        .collect()
}
fn pairs16(v: &Value, key: &str) -> Res<Vec<(u16, u16)>> {
    let Some(a) = v.get(key).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    a.iter()
        .map(|p| {
            let f = |i: usize| {
                p.get(i)
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
            };
            match (f(0), f(1)) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => fail(format!("bad pair in {key}")),
            }
        })
        .collect()
}
/// The decoded block `id` object, or an error when the record left it without data.
fn block_json(v: &Value, id: u8) -> Res<&Value> {
    let b = v
        .get(format!("block{id}"))
        .ok_or_else(|| HeapReplayError::Failed(format!("the record has no block {id}")))?;
    if b.get("missing").is_some() || b.get("no_data").is_some() || b.get("fpi").is_some() {
        return fail(format!("the record carries no data for block {id}"));
    }
    Ok(b)
}

fn get16(t: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([t[at], t[at + 1]])
}
fn put16(t: &mut [u8], at: usize, v: u16) {
    t[at..at + 2].copy_from_slice(&v.to_ne_bytes());
}
#[cfg(test)]
fn get32(t: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]])
}
fn put32(t: &mut [u8], at: usize, v: u32) {
    t[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}
/// ItemPointerSet (BlockIdData is two 16-bit halves, high first).
fn set_ctid(t: &mut [u8], blk: u32, off: u16) {
    put16(t, T_CTID, (blk >> 16) as u16);
    put16(t, T_CTID + 2, blk as u16);
    put16(t, T_CTID + 4, off);
}

/// PageInit(page, BLCKSZ, 0): a heap page has no special space.
pub fn init_heap_page(page: &mut PageBytes) {
    page.fill(0);
    put16(page, 12, PAGE_HEADER_SIZE as u16);
    put16(page, 14, BLCKSZ as u16);
    put16(page, 16, BLCKSZ as u16);
    put16(page, 18, BLCKSZ as u16 | PG_PAGE_LAYOUT_VERSION);
}

fn set_page_flag(page: &mut PageBytes, flag: u16, on: bool) {
    let f = get16(page, 10);
    put16(page, 10, if on { f | flag } else { f & !flag });
}

/// The extent of the heap tuple at `off` ("invalid lp" in redo when it is not a normal
/// line pointer).
fn normal_tuple(page: &PageBytes, off: u16) -> Res<(usize, usize)> {
    let p = Page::new(page);
    let max = p.max_offset();
    let lp = match p.lp(off) {
        Some(lp) if off >= 1 && off <= max => lp,
        _ => {
            return fail(format!(
                "line pointer {off} is beyond the line pointer array ({max})"
            ))
        }
    };
    if lp.flags != LP_NORMAL {
        return fail(format!("line pointer {off} is not a normal line pointer"));
    }
    let (o, len) = (lp.off as usize, lp.len as usize);
    if len < HEAP_HEADER_SIZE || o < PAGE_HEADER_SIZE || o + len > BLCKSZ {
        return fail(format!(
            "line pointer {off} does not hold a heap tuple (at {o}, {len} bytes)"
        ));
    }
    Ok((o, len))
}

fn tuple_mut(page: &mut PageBytes, off: u16) -> Res<&mut [u8]> {
    let (o, len) = normal_tuple(page, off)?;
    Ok(&mut page[o..o + len])
}

/// fix_infomask_from_infobits.
fn fix_infomask_from_infobits(infobits: u8, im: &mut u16, im2: &mut u16) {
    *im &=
        !(HEAP_XMAX_IS_MULTI | HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_EXCL_LOCK);
    *im2 &= !HEAP_KEYS_UPDATED;
    if infobits & XLHL_XMAX_IS_MULTI != 0 {
        *im |= HEAP_XMAX_IS_MULTI;
    }
    if infobits & XLHL_XMAX_LOCK_ONLY != 0 {
        *im |= HEAP_XMAX_LOCK_ONLY;
    }
    if infobits & XLHL_XMAX_EXCL_LOCK != 0 {
        *im |= HEAP_XMAX_EXCL_LOCK;
    }
    if infobits & XLHL_XMAX_KEYSHR_LOCK != 0 {
        *im |= HEAP_XMAX_KEYSHR_LOCK;
    }
    if infobits & XLHL_KEYS_UPDATED != 0 {
        *im2 |= HEAP_KEYS_UPDATED;
    }
}

/// The common start of DELETE / UPDATE (old) / LOCK / LOCK_UPDATED redo: xmax bits
/// and HEAP_MOVED cleared, HEAP_KEYS_UPDATED cleared, then the logged infobits.
fn reset_xmax_bits(t: &mut [u8], infobits: u8) -> (u16, u16) {
    let mut im = get16(t, T_INFOMASK) & !(HEAP_XMAX_BITS | HEAP_MOVED);
    let mut im2 = get16(t, T_INFOMASK2) & !HEAP_KEYS_UPDATED;
    fix_infomask_from_infobits(infobits, &mut im, &mut im2);
    (im, im2)
}

/// HeapTupleHeaderSetCmax(tup, FirstCommandId, false).
fn set_cmax_first(t: &mut [u8]) {
    put32(t, T_CID, 0);
    let im = get16(t, T_INFOMASK) & !HEAP_COMBOCID;
    put16(t, T_INFOMASK, im);
}

/// A new tuple as heap_xlog_insert / multi_insert / update build it: a zeroed header
/// with the logged infomasks and t_hoff, xmin the record's xid, cmin FirstCommandId,
/// t_ctid its own position; then the logged bitmap and data.
fn new_tuple(xid: u32, im2: u16, im: u16, hoff: u8, ctid: (u32, u16), body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; HEAP_HEADER_SIZE];
    put16(&mut t, T_INFOMASK2, im2);
    put16(&mut t, T_INFOMASK, im);
    t[T_HOFF] = hoff;
    put32(&mut t, T_XMIN, xid);
    set_ctid(&mut t, ctid.0, ctid.1);
    t.extend_from_slice(body);
    t
}

fn place(page: &mut PageBytes, off: u16, tuple: &[u8]) -> Res<()> {
    PageMut::new(page)
        .add_item_at(off, tuple)
        .or_else(|e| fail(format!("failed to add tuple at {off}: {e}")))
}

/// Replays `rec`'s change to its block `block_id` on `page` (None: no page yet; a
/// record that initialises the page creates it). On success the page is the one redo
/// leaves, its LSN set to `end_lsn` where redo sets it.
pub fn apply(
    page: &mut Option<Box<PageBytes>>,
    rec: &HeapRecord<'_>,
    block_id: u8,
    end_lsn: u64,
) -> Res<()> {
    let op = rec.op();
    let init = rec.info & XLOG_HEAP_INIT_PAGE != 0;
    let supported = match rec.rmid {
        RM_HEAP_ID => matches!(
            op,
            XLOG_HEAP_INSERT
                | XLOG_HEAP_DELETE
                | XLOG_HEAP_UPDATE
                | XLOG_HEAP_HOT_UPDATE
                | XLOG_HEAP_LOCK
                | XLOG_HEAP_CONFIRM
                | XLOG_HEAP_INPLACE
        ),
        RM_HEAP2_ID => {
            rec.merged_prune()
                || matches!(
                    op,
                    XLOG_HEAP2_PRUNE
                        | XLOG_HEAP2_VACUUM
                        | XLOG_HEAP2_FREEZE_PAGE
                        | XLOG_HEAP2_VISIBLE
                        | XLOG_HEAP2_MULTI_INSERT
                        | XLOG_HEAP2_LOCK_UPDATED
                )
        }
        _ => false,
    };
    if !supported {
        return Err(HeapReplayError::Unsupported(rec.name()));
    }
    // Records that format the page first (XLogInitBufferForRedo + PageInit). UPDATE
    // does so only for its new page when that is another page than the old one's.
    let inits = init
        && block_id == 0
        && match (rec.rmid, op) {
            (RM_HEAP_ID, XLOG_HEAP_INSERT) | (RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT) => true,
            (RM_HEAP_ID, XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE) => rec.block(1).is_some(),
            _ => false,
        };
    // Work on a copy: a record that fails leaves nothing half done.
    let mut work = if inits {
        let mut p = Box::new([0u8; BLCKSZ]);
        init_heap_page(&mut p);
        p
    } else {
        match page.as_ref() {
            Some(p) => p.clone(),
            None => {
                return fail("no full-page image or initialising record of the block before it")
            }
        }
    };
    let set_lsn = replay_on(&mut work, rec, block_id)?;
    if set_lsn {
        PageMut::new(&mut work).set_lsn(end_lsn);
    }
    *page = Some(work);
    Ok(())
}

/// The change itself; returns whether redo sets the page LSN.
fn replay_on(page: &mut PageBytes, rec: &HeapRecord<'_>, block_id: u8) -> Res<bool> {
    let v = rec.decoded()?;
    let blkno = rec
        .block(block_id)
        .map(|b| b.blkno)
        .ok_or_else(|| HeapReplayError::Failed(format!("the record has no block {block_id}")))?;
    if rec.merged_prune() {
        prune_freeze_17(page, &v)?;
        return Ok(true);
    }
    match (rec.rmid, rec.op()) {
        (RM_HEAP_ID, XLOG_HEAP_INSERT) => insert(page, rec, &v, blkno)?,
        (RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT) => multi_insert(page, rec, &v, blkno)?,
        (RM_HEAP_ID, XLOG_HEAP_DELETE) => delete(page, rec, &v, blkno)?,
        (RM_HEAP_ID, op @ (XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE)) => {
            update(page, rec, &v, block_id, op == XLOG_HEAP_HOT_UPDATE)?
        }
        (RM_HEAP_ID, XLOG_HEAP_LOCK) => {
            let xmax_key = if rec.version >= PgVersion::V16 {
                "xmax"
            } else {
                "locking_xid"
            };
            let off = n16(&v, "offnum")?;
            let t = tuple_mut(page, off)?;
            let (mut im, mut im2) = reset_xmax_bits(t, n8(&v, "infobits_set")?);
            // HEAP_XMAX_IS_LOCKED_ONLY: no update, so no forward link
            if im & HEAP_XMAX_LOCK_ONLY != 0
                || im & (HEAP_XMAX_IS_MULTI | HEAP_LOCK_MASK) == HEAP_XMAX_EXCL_LOCK
            {
                im2 &= !HEAP_HOT_UPDATED;
                set_ctid(t, blkno, off);
            }
            im &= !HEAP_COMBOCID;
            put16(t, T_INFOMASK, im);
            put16(t, T_INFOMASK2, im2);
            put32(t, T_XMAX, n32(&v, xmax_key)?);
            put32(t, T_CID, 0);
        }
        (RM_HEAP2_ID, XLOG_HEAP2_LOCK_UPDATED) => {
            let t = tuple_mut(page, n16(&v, "offnum")?)?;
            let (im, im2) = reset_xmax_bits(t, n8(&v, "infobits_set")?);
            put16(t, T_INFOMASK, im);
            put16(t, T_INFOMASK2, im2);
            put32(t, T_XMAX, n32(&v, "xmax")?);
        }
        (RM_HEAP_ID, XLOG_HEAP_CONFIRM) => {
            let off = n16(&v, "offnum")?;
            set_ctid(tuple_mut(page, off)?, blkno, off);
        }
        (RM_HEAP_ID, XLOG_HEAP_INPLACE) => {
            let data = rec
                .block(block_id)
                .and_then(|b| b.data)
                .ok_or_else(|| HeapReplayError::Failed("INPLACE without tuple data".into()))?;
            let t = tuple_mut(page, n16(&v, "offnum")?)?;
            let hoff = usize::from(t[T_HOFF]);
            if hoff > t.len() || t.len() - hoff != data.len() {
                return fail("wrong tuple length");
            }
            t[hoff..].copy_from_slice(data);
        }
        (RM_HEAP2_ID, XLOG_HEAP2_PRUNE) => {
            let b = block_json(&v, 0)?;
            let p = PruneBlock {
                latest_removed_xid: 0,
                redirected: pairs16(b, "redirected")?,
                dead: list16(b, "dead")?,
                unused: list16(b, "unused")?,
            };
            PageMut::new(page)
                .apply_prune(&p)
                .or_else(|e| fail(e.to_string()))?;
        }
        (RM_HEAP2_ID, XLOG_HEAP2_VACUUM) => {
            let b = block_json(&v, 0)?;
            PageMut::new(page)
                .set_unused(&list16(b, "unused")?)
                .or_else(|e| fail(e.to_string()))?;
        }
        (RM_HEAP2_ID, XLOG_HEAP2_FREEZE_PAGE) => {
            let b = block_json(&v, 0)?;
            if rec.version >= PgVersion::V16 {
                freeze_plans(page, b)?;
            } else {
                let tuples = b.get("tuples").and_then(Value::as_array);
                for t in tuples.into_iter().flatten() {
                    freeze_tuple(
                        page,
                        n16(t, "offset")?,
                        n32(t, "xmax")?,
                        n16(t, "t_infomask2")?,
                        n16(t, "t_infomask")?,
                        n8(t, "frzflags")?,
                    )?;
                }
            }
        }
        (RM_HEAP2_ID, XLOG_HEAP2_VISIBLE) => {
            // block 0 is the visibility map page, block 1 the heap page
            if block_id == 1 {
                set_page_flag(page, PD_ALL_VISIBLE, true);
                return Ok(rec.hint_bits_logged);
            }
            return Ok(false);
        }
        _ => return Err(HeapReplayError::Unsupported(rec.name())),
    }
    Ok(true)
}

fn insert(page: &mut PageBytes, rec: &HeapRecord<'_>, v: &Value, blkno: u32) -> Res<()> {
    let off = n16(v, "offnum")?;
    let flags = n8(v, "flags")?;
    let b = block_json(v, 0)?;
    let data = rec.block(0).and_then(|b| b.data).unwrap_or(&[]);
    let body = data.get(XL_HEAP_HEADER_SIZE..).unwrap_or(&[]);
    let t = new_tuple(
        rec.xid,
        n16(b, "t_infomask2")?,
        n16(b, "t_infomask")?,
        n8(b, "t_hoff")?,
        (blkno, off),
        body,
    );
    place(page, off, &t)?;
    insert_vm_flags(page, flags);
    Ok(())
}

fn insert_vm_flags(page: &mut PageBytes, flags: u8) {
    if flags & XLH_INSERT_ALL_VISIBLE_CLEARED != 0 {
        set_page_flag(page, PD_ALL_VISIBLE, false);
    }
    if flags & XLH_INSERT_ALL_FROZEN_SET != 0 {
        set_page_flag(page, PD_ALL_VISIBLE, true);
    }
}

fn multi_insert(page: &mut PageBytes, rec: &HeapRecord<'_>, v: &Value, blkno: u32) -> Res<()> {
    let init = rec.info & XLOG_HEAP_INIT_PAGE != 0;
    let flags = n8(v, "flags")?;
    let offsets = list16(v, "offsets")?;
    let b = block_json(v, 0)?;
    let tuples = b.get("tuples").and_then(Value::as_array);
    let data = rec.block(0).and_then(|b| b.data).unwrap_or(&[]);
    let ntuples = n16(v, "ntuples")?;
    // The decoder read each xl_multi_insert_tuple (SHORTALIGNed) and its datalen bytes;
    // the data itself is taken from the same positions.
    let mut pos = 0usize;
    let mut placed = 0usize;
    for (i, t) in tuples.into_iter().flatten().enumerate() {
        let off = if init {
            i as u16 + 1
        } else {
            *offsets
                .get(i)
                .ok_or_else(|| HeapReplayError::Failed("fewer offsets than tuples".into()))?
        };
        pos += pos & 1;
        pos += XL_MULTI_INSERT_TUPLE_SIZE;
        let len = usize::from(n16(t, "datalen")?);
        let body = data
            .get(pos..pos + len)
            .ok_or_else(|| HeapReplayError::Failed("tuple data past the block data".into()))?;
        pos += len;
        let tup = new_tuple(
            rec.xid,
            n16(t, "t_infomask2")?,
            n16(t, "t_infomask")?,
            n8(t, "t_hoff")?,
            (blkno, off),
            body,
        );
        place(page, off, &tup)?;
        placed += 1;
    }
    if placed != usize::from(ntuples) {
        return fail(format!("{placed} of {ntuples} tuples in the block data"));
    }
    insert_vm_flags(page, flags);
    Ok(())
}

fn delete(page: &mut PageBytes, rec: &HeapRecord<'_>, v: &Value, blkno: u32) -> Res<()> {
    let off = n16(v, "offnum")?;
    let flags = n8(v, "flags")?;
    let t = tuple_mut(page, off)?;
    let (im, mut im2) = reset_xmax_bits(t, n8(v, "infobits_set")?);
    im2 &= !HEAP_HOT_UPDATED;
    put16(t, T_INFOMASK, im);
    put16(t, T_INFOMASK2, im2);
    if flags & XLH_DELETE_IS_SUPER == 0 {
        put32(t, T_XMAX, n32(v, "xmax")?);
    } else {
        put32(t, T_XMIN, 0);
    }
    set_cmax_first(t);
    if flags & XLH_DELETE_IS_PARTITION_MOVE != 0 {
        set_ctid(t, INVALID_BLOCK, MOVED_PARTITIONS_OFFSET);
    } else {
        set_ctid(t, blkno, off);
    }
    PageMut::new(page).set_prunable(rec.xid);
    if flags & XLH_DELETE_ALL_VISIBLE_CLEARED != 0 {
        set_page_flag(page, PD_ALL_VISIBLE, false);
    }
    Ok(())
}

/// heap_xlog_update's half for `block_id`: block 1 is the old version's page when it
/// differs from the new one's (block 0); otherwise block 0 holds both.
fn update(
    page: &mut PageBytes,
    rec: &HeapRecord<'_>,
    v: &Value,
    block_id: u8,
    hot: bool,
) -> Res<()> {
    let newblk = rec
        .block(0)
        .map(|b| b.blkno)
        .ok_or_else(|| HeapReplayError::Failed("UPDATE without block 0".into()))?;
    let flags = n8(v, "flags")?;
    let new_off = n16(v, "new_offnum")?;
    let old_off = n16(v, "old_offnum")?;
    let same_page = rec.block(1).is_none();
    if block_id == 1 || same_page {
        let t = tuple_mut(page, old_off)?;
        let (im, mut im2) = reset_xmax_bits(t, n8(v, "old_infobits_set")?);
        if hot {
            im2 |= HEAP_HOT_UPDATED;
        } else {
            im2 &= !HEAP_HOT_UPDATED;
        }
        put16(t, T_INFOMASK, im);
        put16(t, T_INFOMASK2, im2);
        put32(t, T_XMAX, n32(v, "old_xmax")?);
        set_cmax_first(t);
        set_ctid(t, newblk, new_off);
        PageMut::new(page).set_prunable(rec.xid);
        if flags & XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED != 0 {
            set_page_flag(page, PD_ALL_VISIBLE, false);
        }
    }
    if block_id != 0 {
        return Ok(());
    }
    let b = block_json(v, 0)?;
    let data = rec.block(0).and_then(|b| b.data).unwrap_or(&[]);
    let prefixlen = b.get("prefixlen").and_then(Value::as_u64).unwrap_or(0) as usize;
    let suffixlen = b.get("suffixlen").and_then(Value::as_u64).unwrap_or(0) as usize;
    let skip = 2 * usize::from(b.get("prefixlen").is_some())
        + 2 * usize::from(b.get("suffixlen").is_some())
        + XL_HEAP_HEADER_SIZE;
    let rest = data.get(skip..).unwrap_or(&[]);
    let hoff = n8(b, "t_hoff")?;
    let mut body = Vec::with_capacity(rest.len() + prefixlen + suffixlen);
    if prefixlen > 0 || suffixlen > 0 {
        if !same_page {
            return fail("prefix or suffix from an old version on another page");
        }
        let (o, len) = normal_tuple(page, old_off)?;
        let old = &page[o..o + len];
        let old_hoff = usize::from(old[T_HOFF]);
        if prefixlen > 0 {
            let bitmap = usize::from(hoff)
                .checked_sub(HEAP_HEADER_SIZE)
                .filter(|&n| n <= rest.len())
                .ok_or_else(|| HeapReplayError::Failed("bad t_hoff".into()))?;
            let prefix = old.get(old_hoff..old_hoff + prefixlen).ok_or_else(|| {
                HeapReplayError::Failed("prefix longer than the old version".into())
            })?;
            body.extend_from_slice(&rest[..bitmap]);
            body.extend_from_slice(prefix);
            body.extend_from_slice(&rest[bitmap..]);
        } else {
            body.extend_from_slice(rest);
        }
        if suffixlen > 0 {
            let suffix = len
                .checked_sub(suffixlen)
                .map(|s| &old[s..])
                .ok_or_else(|| {
                    HeapReplayError::Failed("suffix longer than the old version".into())
                })?;
            body.extend_from_slice(suffix);
        }
    } else {
        body.extend_from_slice(rest);
    }
    let mut t = new_tuple(
        rec.xid,
        n16(b, "t_infomask2")?,
        n16(b, "t_infomask")?,
        hoff,
        (newblk, new_off),
        &body,
    );
    put32(&mut t, T_XMAX, n32(v, "new_xmax")?);
    place(page, new_off, &t)?;
    if flags & XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED != 0 {
        set_page_flag(page, PD_ALL_VISIBLE, false);
    }
    Ok(())
}

/// heap_execute_freeze_tuple.
fn freeze_tuple(page: &mut PageBytes, off: u16, xmax: u32, im2: u16, im: u16, frz: u8) -> Res<()> {
    let t = tuple_mut(page, off)?;
    put32(t, T_XMAX, xmax);
    if frz & XLH_FREEZE_XVAC != 0 {
        put32(t, T_CID, FROZEN_XID);
    }
    if frz & XLH_INVALID_XVAC != 0 {
        put32(t, T_CID, 0);
    }
    put16(t, T_INFOMASK, im);
    put16(t, T_INFOMASK2, im2);
    Ok(())
}

/// Freeze plans (16's FREEZE_PAGE, 17's prune records): each plan's values applied to
/// each of its offsets.
fn freeze_plans(page: &mut PageBytes, b: &Value) -> Res<()> {
    let plans = b.get("plans").and_then(Value::as_array);
    for p in plans.into_iter().flatten() {
        let (xmax, im2, im, frz) = (
            n32(p, "xmax")?,
            n16(p, "t_infomask2")?,
            n16(p, "t_infomask")?,
            n8(p, "frzflags")?,
        );
        for off in list16(p, "offsets")? {
            freeze_tuple(page, off, xmax, im2, im, frz)?;
        }
    }
    Ok(())
}

/// heap_xlog_prune_freeze (17+): heap_page_prune_execute (PageRepairFragmentation with
/// a cleanup lock, PageTruncateLinePointerArray without one), then the freeze plans.
fn prune_freeze_17(page: &mut PageBytes, v: &Value) -> Res<()> {
    let flags = n8(v, "flags")?;
    let b = block_json(v, 0)?;
    let p = PruneBlock {
        latest_removed_xid: 0,
        redirected: pairs16(b, "redirected")?,
        dead: list16(b, "dead")?,
        unused: list16(b, "unused")?,
    };
    if !p.redirected.is_empty() || !p.dead.is_empty() || !p.unused.is_empty() {
        let mut pm = PageMut::new(page);
        if flags & XLHP_CLEANUP_LOCK != 0 {
            pm.apply_prune(&p).or_else(|e| fail(e.to_string()))?;
            pm.clear_full();
        } else if p.redirected.is_empty() && p.dead.is_empty() {
            pm.set_unused(&p.unused).or_else(|e| fail(e.to_string()))?;
        } else {
            return fail("redirections or dead items without a cleanup lock");
        }
    }
    freeze_plans(page, b)
}

/// heap_mask (heapam.c) with bufmask.c's helpers, as wal_consistency_checking compares
/// a heap page with its replay: page LSN and checksum; pd_prune_xid and the
/// PD_PAGE_FULL / PD_HAS_FREE_LINES / PD_ALL_VISIBLE flags (hints, or set by VISIBLE
/// only while the page LSN allows); the free space between pd_lower and pd_upper; per
/// normal tuple the HEAP_XACT_MASK bits while xmin is not frozen (hint bits are set
/// without WAL), else the xmax hint bits, and the command id (redo writes
/// FirstCommandId); a speculative tuple's token in t_ctid; the alignment padding after
/// each item. Masked bytes become 0 (bufmask's MASK_MARKER is 0 too).
pub fn heap_mask(page: &mut PageBytes, blkno: u32) {
    page[0..10].fill(0);
    set_page_flag(
        page,
        PD_PAGE_FULL | PD_HAS_FREE_LINES | PD_ALL_VISIBLE,
        false,
    );
    put32(page, 20, 0);
    let (lower, upper) = (usize::from(get16(page, 12)), usize::from(get16(page, 14)));
    if lower < upper && upper <= BLCKSZ {
        page[lower..upper].fill(0);
    }
    let max = Page::new(page).max_offset();
    for off in 1..=max {
        let Some(lp) = Page::new(page).lp(off) else {
            break;
        };
        let (o, len) = (lp.off as usize, lp.len as usize);
        if o + len > BLCKSZ {
            continue;
        }
        if lp.flags == LP_NORMAL && len >= HEAP_HEADER_SIZE {
            let t = &mut page[o..o + len];
            let mut im = get16(t, T_INFOMASK);
            if im & HEAP_XMIN_FROZEN != HEAP_XMIN_FROZEN {
                im &= !HEAP_XACT_MASK;
            } else {
                im &= !(HEAP_XMAX_INVALID | HEAP_XMAX_COMMITTED);
            }
            put16(t, T_INFOMASK, im);
            put32(t, T_CID, 0);
            // HeapTupleHeaderIsSpeculative: t_ctid's offset is SpecTokenOffsetNumber
            if get16(t, T_CTID + 4) == 0xfffe {
                set_ctid(t, blkno, off);
            }
        }
        if len > 0 {
            let end = ((o + len + 7) & !7).min(BLCKSZ);
            page[o + len..end].fill(0);
        }
    }
}

/// What a heap record does to the version at `tid`, and the next version to follow
/// when it moves the row on (an UPDATE). Several events when a record concerns the
/// version more than once (a 17+ prune record that also freezes).
pub fn row_events(rec: &HeapRecord<'_>, tid: (u32, u16)) -> Vec<(RowEvent, Option<(u32, u16)>)> {
    let mut out = Vec::new();
    let Ok(v) = rec.decoded() else {
        return out;
    };
    let ev = |event: &str, detail: String| RowEvent {
        tid,
        event: event.to_string(),
        detail,
    };
    let blk = |id: u8| rec.block(id).map(|b| b.blkno);
    let num16 = |k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as u16);
    let (b, off) = tid;
    let on_block0 = blk(0) == Some(b);
    let op = rec.op();
    if rec.merged_prune()
        || (rec.rmid == RM_HEAP2_ID
            && matches!(
                op,
                XLOG_HEAP2_PRUNE | XLOG_HEAP2_VACUUM | XLOG_HEAP2_FREEZE_PAGE
            ))
    {
        if !on_block0 {
            return out;
        }
        let Ok(bj) = block_json(&v, 0) else {
            return out;
        };
        let vacuum = (!rec.merged_prune() && op == XLOG_HEAP2_VACUUM)
            || (rec.merged_prune() && n8(&v, "flags").is_ok_and(|f| f & XLHP_CLEANUP_LOCK == 0));
        if let Some(&(_, to)) = pairs16(bj, "redirected")
            .unwrap_or_default()
            .iter()
            .find(|r| r.0 == off)
        {
            out.push((
                ev(
                    "pruned",
                    format!("line pointer redirected to ({b},{to}): the chain's root"),
                ),
                None,
            ));
        }
        if list16(bj, "dead").unwrap_or_default().contains(&off) {
            out.push((ev("pruned", "storage removed; the line pointer stays LP_DEAD until VACUUM removes its index entries".into()), None));
        }
        if list16(bj, "unused").unwrap_or_default().contains(&off) {
            out.push(if vacuum {
                (
                    ev(
                        "vacuumed",
                        "index entries removed; the line pointer is free for reuse".into(),
                    ),
                    None,
                )
            } else {
                (
                    ev(
                        "pruned",
                        "storage and line pointer freed (a heap-only version)".into(),
                    ),
                    None,
                )
            });
        }
        let horizon = v
            .get("snapshot_conflict_horizon")
            .or_else(|| v.get("cutoff_xid"))
            .and_then(Value::as_u64);
        let freeze = |xmax: u64, im: u64| {
            let mut what = Vec::new();
            if im as u16 & HEAP_XMIN_FROZEN == HEAP_XMIN_FROZEN {
                what.push("xmin frozen".to_string());
            }
            if xmax == 0 {
                what.push("xmax cleared".to_string());
            } else {
                what.push(format!("xmax {xmax}"));
            }
            let h = horizon.map_or(String::new(), |h| format!(" (horizon {h})"));
            ev("frozen", format!("{}{h}", what.join(", ")))
        };
        for p in bj
            .get("plans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if list16(p, "offsets").unwrap_or_default().contains(&off) {
                let g = |k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
                out.push((freeze(g("xmax"), g("t_infomask")), None));
            }
        }
        for t in bj
            .get("tuples")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let g = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
            if g("offset") == u64::from(off) {
                out.push((freeze(g("xmax"), g("t_infomask")), None));
            }
        }
        return out;
    }
    match (rec.rmid, op) {
        (RM_HEAP_ID, XLOG_HEAP_INSERT) if on_block0 && num16("offnum") == Some(off) => {
            let flags = num16("flags").unwrap_or(0) as u8;
            let kind = if flags & crate::waldecode::heap::XLH_INSERT_IS_SPECULATIVE != 0 {
                "speculative insertion"
            } else {
                "new row"
            };
            let len = rec
                .block(0)
                .and_then(|b| b.data)
                .map_or(0, |d| d.len().saturating_sub(XL_HEAP_HEADER_SIZE));
            out.push((ev("inserted", format!("{kind}, {len} bytes of data")), None));
        }
        (RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT) if on_block0 => {
            let init = rec.info & XLOG_HEAP_INIT_PAGE != 0;
            let n = num16("ntuples").unwrap_or(0);
            let offs = list16(&v, "offsets").unwrap_or_default();
            let pos = if init {
                (off >= 1 && off <= n).then(|| usize::from(off - 1))
            } else {
                offs.iter().position(|&o| o == off)
            };
            if let Some(i) = pos {
                let len = block_json(&v, 0)
                    .ok()
                    .and_then(|bj| {
                        bj.get("tuples")?
                            .as_array()?
                            .get(i)?
                            .get("datalen")?
                            .as_u64()
                    })
                    .unwrap_or(0);
                let frozen = if num16("flags").unwrap_or(0) as u8 & XLH_INSERT_ALL_FROZEN_SET != 0 {
                    ", frozen (COPY FREEZE)"
                } else {
                    ""
                };
                out.push((
                    ev(
                        "inserted",
                        format!("by COPY/multi-insert, {len} bytes of data{frozen}"),
                    ),
                    None,
                ));
            }
        }
        (RM_HEAP_ID, XLOG_HEAP_DELETE) if on_block0 && num16("offnum") == Some(off) => {
            let flags = num16("flags").unwrap_or(0) as u8;
            let what = if flags & XLH_DELETE_IS_SUPER != 0 {
                "speculative insertion cancelled (super-delete)".to_string()
            } else if flags & XLH_DELETE_IS_PARTITION_MOVE != 0 {
                "moved to another partition".to_string()
            } else {
                format!(
                    "xmax {}",
                    v.get("xmax").and_then(Value::as_u64).unwrap_or(0)
                )
            };
            out.push((ev("deleted", what), None));
        }
        (RM_HEAP_ID, XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE) => {
            let oldblk = blk(1).or(blk(0));
            if oldblk == Some(b) && num16("old_offnum") == Some(off) {
                let (Some(nb), Some(no)) = (blk(0), num16("new_offnum")) else {
                    return out;
                };
                let where_ = if nb == b {
                    "on the same page"
                } else {
                    "on another page"
                };
                let hot = if op == XLOG_HEAP_HOT_UPDATE {
                    " (HOT)"
                } else {
                    ""
                };
                out.push((
                    ev("updated", format!("to ({nb},{no}) {where_}{hot}")),
                    Some((nb, no)),
                ));
            }
        }
        (RM_HEAP_ID, XLOG_HEAP_LOCK) | (RM_HEAP2_ID, XLOG_HEAP2_LOCK_UPDATED)
            if on_block0 && num16("offnum") == Some(off) =>
        {
            let xmax = v
                .get("xmax")
                .or_else(|| v.get("locking_xid"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let ib = num16("infobits_set").unwrap_or(0) as u8;
            let excl = ib & XLHL_XMAX_EXCL_LOCK != 0;
            let keyshr = ib & XLHL_XMAX_KEYSHR_LOCK != 0;
            let mode = if ib & XLHL_XMAX_IS_MULTI != 0 {
                "by MultiXact"
            } else if excl && keyshr {
                "FOR SHARE by"
            } else if keyshr {
                "FOR KEY SHARE by"
            } else if ib & XLHL_KEYS_UPDATED != 0 {
                "FOR UPDATE by"
            } else {
                "FOR NO KEY UPDATE by"
            };
            let updated = if op == XLOG_HEAP2_LOCK_UPDATED && rec.rmid == RM_HEAP2_ID {
                " (a later version of a locked row)"
            } else {
                ""
            };
            out.push((ev("locked", format!("{mode} {xmax}{updated}")), None));
        }
        (RM_HEAP_ID, XLOG_HEAP_CONFIRM) if on_block0 && num16("offnum") == Some(off) => {
            out.push((ev("confirmed", "speculative insertion kept".into()), None));
        }
        (RM_HEAP_ID, XLOG_HEAP_INPLACE) if on_block0 && num16("offnum") == Some(off) => {
            out.push((
                ev(
                    "overwritten in place",
                    "catalog row updated in place".into(),
                ),
                None,
            ));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests;
