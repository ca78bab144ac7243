//! RM_HEAP_ID (10) records. Mirrors PostgreSQL 15-18 `src/include/access/heapam_xlog.h`
//! (the `XLOG_HEAP_*` part); record names follow `heap_identify` in
//! `src/backend/access/rmgrdesc/heapdesc.c`, tuple header bits
//! `src/include/access/htup_details.h`.
//!
//! PG15 layouts (main data unless said otherwise):
//! * INSERT `xl_heap_insert {u16 offnum; u8 flags}` (3 bytes); block 0:
//!   `xl_heap_header {u16 t_infomask2; u16 t_infomask; u8 t_hoff}` + tuple data.
//! * DELETE `xl_heap_delete {u32 xmax; u16 offnum; u8 infobits_set; u8 flags}`, then
//!   `xl_heap_header` + old tuple/key if XLH_DELETE_CONTAINS_OLD_*.
//! * UPDATE / HOT_UPDATE `xl_heap_update {u32 old_xmax; u16 old_offnum;
//!   u8 old_infobits_set; u8 flags; u32 new_xmax; u16 new_offnum}` (14 bytes), then the
//!   old tuple/key like DELETE; block 0: `u16 prefixlen` / `u16 suffixlen` per
//!   XLH_UPDATE_PREFIX_FROM_OLD / SUFFIX_FROM_OLD, `xl_heap_header`, new tuple data.
//! * TRUNCATE `xl_heap_truncate {u32 dbId; u32 nrelids; u8 flags; Oid relids[]}`
//!   (relids at offset 12).
//! * CONFIRM `xl_heap_confirm {u16 offnum}`.
//! * LOCK `xl_heap_lock {u32 locking_xid; u16 offnum; i8 infobits_set; u8 flags}`
//!   (PG16: `locking_xid` renamed `xmax`, `infobits_set` uint8; same bytes).
//! * INPLACE `xl_heap_inplace {u16 offnum}`; block 0: the new tuple data. PG18:
//!   `{u16 offnum; Oid dbId (@4); Oid tsId; bool relcacheInitFileInval; int nmsgs (@16);
//!   SharedInvalidationMessage msgs[nmsgs] (@20)}` (MinSizeOfHeapInplace 20).
//!
//! The other records' layouts are the same in 15, 16, 17 and 18 (18 only named the
//! block references, HEAP_INSERT_BLKREF_HEAP etc.).

use super::reader::{Reader, Res};
use super::{block, record_type, BlockRef, Out, PgVersion, XLR_INFO_MASK};
use serde::Serialize;
use serde_json::Value;

pub const XLOG_HEAP_INSERT: u8 = 0x00;
pub const XLOG_HEAP_DELETE: u8 = 0x10;
pub const XLOG_HEAP_UPDATE: u8 = 0x20;
pub const XLOG_HEAP_TRUNCATE: u8 = 0x30;
pub const XLOG_HEAP_HOT_UPDATE: u8 = 0x40;
pub const XLOG_HEAP_CONFIRM: u8 = 0x50;
pub const XLOG_HEAP_LOCK: u8 = 0x60;
pub const XLOG_HEAP_INPLACE: u8 = 0x70;
pub const XLOG_HEAP_OPMASK: u8 = 0x70;
/// First tuple on a new page: the page is (re)initialized on redo.
pub const XLOG_HEAP_INIT_PAGE: u8 = 0x80;

pub const XLH_INSERT_ALL_VISIBLE_CLEARED: u8 = 1 << 0;
pub const XLH_INSERT_LAST_IN_MULTI: u8 = 1 << 1;
pub const XLH_INSERT_IS_SPECULATIVE: u8 = 1 << 2;
pub const XLH_INSERT_CONTAINS_NEW_TUPLE: u8 = 1 << 3;
pub const XLH_INSERT_ON_TOAST_RELATION: u8 = 1 << 4;
pub const XLH_INSERT_ALL_FROZEN_SET: u8 = 1 << 5;

pub const XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED: u8 = 1 << 0;
pub const XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED: u8 = 1 << 1;
pub const XLH_UPDATE_CONTAINS_OLD_TUPLE: u8 = 1 << 2;
pub const XLH_UPDATE_CONTAINS_OLD_KEY: u8 = 1 << 3;
pub const XLH_UPDATE_CONTAINS_NEW_TUPLE: u8 = 1 << 4;
pub const XLH_UPDATE_PREFIX_FROM_OLD: u8 = 1 << 5;
pub const XLH_UPDATE_SUFFIX_FROM_OLD: u8 = 1 << 6;

pub const XLH_DELETE_ALL_VISIBLE_CLEARED: u8 = 1 << 0;
pub const XLH_DELETE_CONTAINS_OLD_TUPLE: u8 = 1 << 1;
pub const XLH_DELETE_CONTAINS_OLD_KEY: u8 = 1 << 2;
pub const XLH_DELETE_IS_SUPER: u8 = 1 << 3;
pub const XLH_DELETE_IS_PARTITION_MOVE: u8 = 1 << 4;

pub const XLH_LOCK_ALL_FROZEN_CLEARED: u8 = 0x01;

pub const XLH_TRUNCATE_CASCADE: u8 = 1 << 0;
pub const XLH_TRUNCATE_RESTART_SEQS: u8 = 1 << 1;

pub(crate) const XLH_INSERT_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "XLH_INSERT_ALL_VISIBLE_CLEARED"),
    (1 << 1, "XLH_INSERT_LAST_IN_MULTI"),
    (1 << 2, "XLH_INSERT_IS_SPECULATIVE"),
    (1 << 3, "XLH_INSERT_CONTAINS_NEW_TUPLE"),
    (1 << 4, "XLH_INSERT_ON_TOAST_RELATION"),
    (1 << 5, "XLH_INSERT_ALL_FROZEN_SET"),
];

const XLH_UPDATE_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED"),
    (1 << 1, "XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED"),
    (1 << 2, "XLH_UPDATE_CONTAINS_OLD_TUPLE"),
    (1 << 3, "XLH_UPDATE_CONTAINS_OLD_KEY"),
    (1 << 4, "XLH_UPDATE_CONTAINS_NEW_TUPLE"),
    (1 << 5, "XLH_UPDATE_PREFIX_FROM_OLD"),
    (1 << 6, "XLH_UPDATE_SUFFIX_FROM_OLD"),
];

const XLH_DELETE_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "XLH_DELETE_ALL_VISIBLE_CLEARED"),
    (1 << 1, "XLH_DELETE_CONTAINS_OLD_TUPLE"),
    (1 << 2, "XLH_DELETE_CONTAINS_OLD_KEY"),
    (1 << 3, "XLH_DELETE_IS_SUPER"),
    (1 << 4, "XLH_DELETE_IS_PARTITION_MOVE"),
];

/// Flags of xl_heap_lock and xl_heap_lock_updated.
pub(crate) const XLH_LOCK_FLAGS: &[(u64, &str)] = &[(0x01, "XLH_LOCK_ALL_FROZEN_CLEARED")];

const XLH_TRUNCATE_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "XLH_TRUNCATE_CASCADE"),
    (1 << 1, "XLH_TRUNCATE_RESTART_SEQS"),
];

/// `infobits_set` bits (heapam_xlog.h's XLHL_*).
pub const XLHL_XMAX_IS_MULTI: u8 = 0x01;
pub const XLHL_XMAX_LOCK_ONLY: u8 = 0x02;
pub const XLHL_XMAX_EXCL_LOCK: u8 = 0x04;
pub const XLHL_XMAX_KEYSHR_LOCK: u8 = 0x08;
pub const XLHL_KEYS_UPDATED: u8 = 0x10;

pub(crate) const XLHL_INFOBITS: &[(u64, &str)] = &[
    (XLHL_XMAX_IS_MULTI as u64, "XLHL_XMAX_IS_MULTI"),
    (XLHL_XMAX_LOCK_ONLY as u64, "XLHL_XMAX_LOCK_ONLY"),
    (XLHL_XMAX_EXCL_LOCK as u64, "XLHL_XMAX_EXCL_LOCK"),
    (XLHL_XMAX_KEYSHR_LOCK as u64, "XLHL_XMAX_KEYSHR_LOCK"),
    (XLHL_KEYS_UPDATED as u64, "XLHL_KEYS_UPDATED"),
];

/// `t_infomask` bits (htup_details.h).
pub(crate) const HEAP_INFOMASK: &[(u64, &str)] = &[
    (im::HEAP_HASNULL as u64, "HEAP_HASNULL"),
    (im::HEAP_HASVARWIDTH as u64, "HEAP_HASVARWIDTH"),
    (im::HEAP_HASEXTERNAL as u64, "HEAP_HASEXTERNAL"),
    (im::HEAP_HASOID_OLD as u64, "HEAP_HASOID_OLD"),
    (im::HEAP_XMAX_KEYSHR_LOCK as u64, "HEAP_XMAX_KEYSHR_LOCK"),
    (im::HEAP_COMBOCID as u64, "HEAP_COMBOCID"),
    (im::HEAP_XMAX_EXCL_LOCK as u64, "HEAP_XMAX_EXCL_LOCK"),
    (im::HEAP_XMAX_LOCK_ONLY as u64, "HEAP_XMAX_LOCK_ONLY"),
    (im::HEAP_XMIN_COMMITTED as u64, "HEAP_XMIN_COMMITTED"),
    (im::HEAP_XMIN_INVALID as u64, "HEAP_XMIN_INVALID"),
    (im::HEAP_XMAX_COMMITTED as u64, "HEAP_XMAX_COMMITTED"),
    (im::HEAP_XMAX_INVALID as u64, "HEAP_XMAX_INVALID"),
    (im::HEAP_XMAX_IS_MULTI as u64, "HEAP_XMAX_IS_MULTI"),
    (im::HEAP_UPDATED as u64, "HEAP_UPDATED"),
    (im::HEAP_MOVED_OFF as u64, "HEAP_MOVED_OFF"),
    (im::HEAP_MOVED_IN as u64, "HEAP_MOVED_IN"),
];

/// `t_infomask2` bits other than the attribute count.
pub(crate) const HEAP_INFOMASK2: &[(u64, &str)] = &[
    (im::HEAP_KEYS_UPDATED as u64, "HEAP_KEYS_UPDATED"),
    (im::HEAP_HOT_UPDATED as u64, "HEAP_HOT_UPDATED"),
    (im::HEAP_ONLY_TUPLE as u64, "HEAP_ONLY_TUPLE"),
];

use crate::heap::infomask as im;
pub use crate::heap::infomask::HEAP_NATTS_MASK;

/// `xl_heap_header` (or the header part of `xl_multi_insert_tuple` /
/// `xl_heap_freeze_tuple`) with its bits named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeapHeader {
    pub t_infomask2: u16,
    pub t_infomask: u16,
    pub t_hoff: u8,
    pub natts: u16,
    pub infomask_flags: Vec<String>,
    pub infomask2_flags: Vec<String>,
    /// Bytes of tuple data (everything after the null bitmap position).
    pub data_length: usize,
}

impl HeapHeader {
    pub(crate) fn new(t_infomask2: u16, t_infomask: u16, t_hoff: u8, data_length: usize) -> Self {
        HeapHeader {
            t_infomask2,
            t_infomask,
            t_hoff,
            natts: t_infomask2 & HEAP_NATTS_MASK,
            infomask_flags: super::flag_names(t_infomask.into(), HEAP_INFOMASK),
            infomask2_flags: super::flag_names(
                (t_infomask2 & !HEAP_NATTS_MASK).into(),
                HEAP_INFOMASK2,
            ),
            data_length,
        }
    }

    /// `xl_heap_header` (SizeOfHeapHeader = 5 bytes), the rest of the buffer being the
    /// tuple data.
    pub(crate) fn read(r: &mut Reader<'_>) -> Res<Self> {
        let im2 = r.get_u16("t_infomask2")?;
        let im = r.get_u16("t_infomask")?;
        let hoff = r.get_u8("t_hoff")?;
        let data_length = r.rest().len();
        Ok(HeapHeader::new(im2, im, hoff, data_length))
    }

    /// Like [`HeapHeader::read`], into `o`, keeping the fields read before a
    /// truncation.
    pub(crate) fn read_into(r: &mut Reader<'_>, o: &mut Out) -> Res<()> {
        let im2 = r.get_u16("t_infomask2")?;
        o.set("t_infomask2", im2);
        let im = r.get_u16("t_infomask")?;
        o.set("t_infomask", im);
        let hoff = r.get_u8("t_hoff")?;
        o.merge(HeapHeader::new(im2, im, hoff, r.rest().len()));
        Ok(())
    }
}

/// `heap_identify`.
pub fn identify(info: u8) -> Option<&'static str> {
    Some(match info & !XLR_INFO_MASK {
        0x00 => "INSERT",
        0x80 => "INSERT+INIT",
        0x10 => "DELETE",
        0x20 => "UPDATE",
        0xA0 => "UPDATE+INIT",
        0x40 => "HOT_UPDATE",
        0xC0 => "HOT_UPDATE+INIT",
        0x30 => "TRUNCATE",
        0x50 => "HEAP_CONFIRM",
        0x60 => "LOCK",
        0x70 => "INPLACE",
        _ => return None,
    })
}

pub(crate) fn decode(v: PgVersion, info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(info), info));
    let res = decode_into(v, info, main, blocks, &mut out);
    out.finish(res)
}

/// Field and its flag names.
fn flags8(out: &mut Out, field: &str, list: &str, v: u8, table: &[(u64, &str)]) {
    out.set(field, v);
    out.flags(list, v, table);
}

/// The old tuple or key that DELETE / UPDATE append to the main data for logical
/// decoding.
fn old_tuple(r: &mut Reader<'_>, out: &mut Out, tuple: bool, key: bool) -> Res<()> {
    if tuple || key {
        let h = HeapHeader::read(r)?;
        out.put(if tuple { "old_tuple" } else { "old_key" }, h);
    }
    Ok(())
}

fn decode_into(
    v: PgVersion,
    info: u8,
    main: &[u8],
    blocks: &[BlockRef<'_>],
    out: &mut Out,
) -> Res<()> {
    // heap_desc decodes by opcode even when heap_identify has no name (e.g. DELETE with
    // the INIT bit); so do we.
    if info & XLOG_HEAP_INIT_PAGE != 0 {
        out.put("init_page", true);
    }
    match info & XLOG_HEAP_OPMASK {
        XLOG_HEAP_INSERT => {
            let mut r = Reader::new(main, "xl_heap_insert");
            out.set("offnum", r.get_u16("offnum")?);
            flags8(
                out,
                "flags",
                "flag_names",
                r.get_u8("flags")?,
                XLH_INSERT_FLAGS,
            );
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_insert block 0", |r, o| {
                HeapHeader::read_into(r, o)
            });
        }
        XLOG_HEAP_DELETE => {
            let mut r = Reader::new(main, "xl_heap_delete");
            out.set("xmax", r.get_u32("xmax")?);
            out.set("offnum", r.get_u16("offnum")?);
            let ib = r.get_u8("infobits_set")?;
            flags8(out, "infobits_set", "infobits_flags", ib, XLHL_INFOBITS);
            let flags = r.get_u8("flags")?;
            flags8(out, "flags", "flag_names", flags, XLH_DELETE_FLAGS);
            old_tuple(
                &mut r,
                out,
                flags & XLH_DELETE_CONTAINS_OLD_TUPLE != 0,
                flags & XLH_DELETE_CONTAINS_OLD_KEY != 0,
            )?;
            out.trailing(&r);
        }
        XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE => {
            let mut r = Reader::new(main, "xl_heap_update");
            out.set("old_xmax", r.get_u32("old_xmax")?);
            out.set("old_offnum", r.get_u16("old_offnum")?);
            let ib = r.get_u8("old_infobits_set")?;
            flags8(
                out,
                "old_infobits_set",
                "old_infobits_flags",
                ib,
                XLHL_INFOBITS,
            );
            let flags = r.get_u8("flags")?;
            flags8(out, "flags", "flag_names", flags, XLH_UPDATE_FLAGS);
            out.set("new_xmax", r.get_u32("new_xmax")?);
            out.set("new_offnum", r.get_u16("new_offnum")?);
            old_tuple(
                &mut r,
                out,
                flags & XLH_UPDATE_CONTAINS_OLD_TUPLE != 0,
                flags & XLH_UPDATE_CONTAINS_OLD_KEY != 0,
            )?;
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_update block 0", |r, o| {
                if flags & XLH_UPDATE_PREFIX_FROM_OLD != 0 {
                    o.set("prefixlen", r.get_u16("prefixlen")?);
                }
                if flags & XLH_UPDATE_SUFFIX_FROM_OLD != 0 {
                    o.set("suffixlen", r.get_u16("suffixlen")?);
                }
                HeapHeader::read_into(r, o)
            });
        }
        XLOG_HEAP_TRUNCATE => {
            let mut r = Reader::new(main, "xl_heap_truncate");
            out.set("dbId", r.get_u32("dbId")?);
            let n = r.get_u32("nrelids")?;
            out.set("nrelids", n);
            flags8(
                out,
                "flags",
                "flag_names",
                r.get_u8("flags")?,
                XLH_TRUNCATE_FLAGS,
            );
            if n > 0 {
                r.align(4, "relids")?;
                out.set("relids", r.get_u32_vec(n.into(), "nrelids")?);
            } else {
                out.set("relids", Vec::<u32>::new());
            }
        }
        XLOG_HEAP_CONFIRM => {
            let mut r = Reader::new(main, "xl_heap_confirm");
            out.set("offnum", r.get_u16("offnum")?);
            out.trailing(&r);
        }
        XLOG_HEAP_LOCK => {
            let mut r = Reader::new(main, "xl_heap_lock");
            let xmax = if v.locators() { "xmax" } else { "locking_xid" };
            out.set(xmax, r.get_u32(xmax)?);
            out.set("offnum", r.get_u16("offnum")?);
            let ib = r.get_u8("infobits_set")?;
            flags8(out, "infobits_set", "infobits_flags", ib, XLHL_INFOBITS);
            flags8(
                out,
                "flags",
                "flag_names",
                r.get_u8("flags")?,
                XLH_LOCK_FLAGS,
            );
            out.trailing(&r);
        }
        XLOG_HEAP_INPLACE => {
            let mut r = Reader::new(main, "xl_heap_inplace");
            out.set("offnum", r.get_u16("offnum")?);
            if v >= PgVersion::V18 {
                r.align(4, "dbId")?;
                out.set("dbId", r.get_u32("dbId")?);
                out.set("tsId", r.get_u32("tsId")?);
                out.set(
                    "relcacheInitFileInval",
                    r.get_bool("relcacheInitFileInval")?,
                );
                r.align(4, "nmsgs")?;
                let n = r.get_i32("nmsgs")?;
                out.set("nmsgs", n);
                let n = r.check_count_i32(n, super::xact::SIZEOF_INVAL_MSG, "nmsgs")?;
                out.set(
                    "invalidation_messages",
                    super::xact::read_inval_msgs(v, &mut r, n, "nmsgs")?,
                );
            }
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_inplace block 0", |r, o| {
                o.put("data_length", r.rest().len());
                Ok(())
            });
        }
        _ => out.put("undecoded", true),
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::{ok, Sample, W};
    use super::super::RM_HEAP_ID;
    use super::*;
    use serde_json::json;

    /// xl_heap_header + `n` bytes of tuple data.
    fn tuple(infomask2: u16, infomask: u16, hoff: u8, n: usize) -> W {
        W::new()
            .u16(infomask2)
            .u16(infomask)
            .u8(hoff)
            .bytes(&vec![0xAB; n])
    }

    fn insert() -> Sample {
        let main = W::new().u16(7).u8(XLH_INSERT_ALL_VISIBLE_CLEARED).build();
        // 3 attributes, HEAP_HASVARWIDTH | HEAP_XMAX_INVALID
        Sample::new(RM_HEAP_ID, XLOG_HEAP_INSERT | XLOG_HEAP_INIT_PAGE, main)
            .data(0, tuple(3, 0x0802, 24, 10).build())
    }

    fn delete() -> Sample {
        let main = W::new()
            .u32(742)
            .u16(3)
            .u8(0x10)
            .u8(XLH_DELETE_CONTAINS_OLD_KEY | XLH_DELETE_ALL_VISIBLE_CLEARED)
            .bytes(&tuple(1, 0x0800, 24, 4).build())
            .build();
        Sample::new(RM_HEAP_ID, XLOG_HEAP_DELETE, main).nodata(0)
    }

    fn update(info: u8) -> Sample {
        let main = W::new()
            .u32(750)
            .u16(2)
            .u8(0x10 | 0x02 | 0x08)
            .u8(XLH_UPDATE_PREFIX_FROM_OLD | XLH_UPDATE_SUFFIX_FROM_OLD)
            .u32(0)
            .u16(5)
            .build();
        assert_eq!(main.len(), 14);
        let blk = W::new()
            .u16(4)
            .u16(6)
            .bytes(&tuple(0x8000 | 0x4000 | 2, 0x2802, 24, 9).build())
            .build();
        Sample::new(RM_HEAP_ID, info, main).data(0, blk).nodata(1)
    }

    fn truncate() -> Sample {
        let main = W::new()
            .u32(5)
            .u32(3)
            .u8(XLH_TRUNCATE_CASCADE | XLH_TRUNCATE_RESTART_SEQS)
            .pad(4)
            .u32(16384)
            .u32(16390)
            .u32(16400)
            .build();
        Sample::new(RM_HEAP_ID, XLOG_HEAP_TRUNCATE, main)
    }

    fn confirm() -> Sample {
        Sample::new(RM_HEAP_ID, XLOG_HEAP_CONFIRM, W::new().u16(12).build()).nodata(0)
    }

    fn lock() -> Sample {
        let main = W::new()
            .u32(900)
            .u16(4)
            .u8(0x01 | 0x02 | 0x08)
            .u8(XLH_LOCK_ALL_FROZEN_CLEARED)
            .build();
        Sample::new(RM_HEAP_ID, XLOG_HEAP_LOCK, main).nodata(0)
    }

    fn inplace() -> Sample {
        Sample::new(RM_HEAP_ID, XLOG_HEAP_INPLACE, W::new().u16(9).build()).data(0, vec![1; 33])
    }

    /// PostgreSQL 18's INPLACE: the invalidation messages ride along.
    fn inplace_18() -> Sample {
        let main = W::new()
            .u16(16)
            .pad(4)
            .u32(1)
            .u32(1663)
            .u8(1)
            .pad(4)
            .i32(2)
            // catcache 57 {int8 id; [pad]; Oid dbId; uint32 hashValue}
            .bytes(
                &W::new()
                    .u8(57)
                    .pad(4)
                    .u32(1)
                    .u32(0xDEAD_BEEF)
                    .pad(16)
                    .build(),
            )
            // relcache {int8 id = -2; Oid dbId; Oid relId}
            .bytes(&W::new().u8(0xFE).pad(4).u32(1).u32(6104).pad(16).build())
            .build();
        assert_eq!(main.len(), 20 + 2 * 16);
        Sample::new(RM_HEAP_ID, XLOG_HEAP_INPLACE, main)
            .data(0, vec![1; 33])
            .at(PgVersion::V18)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        let mut v = vec![
            insert(),
            delete(),
            update(XLOG_HEAP_UPDATE),
            update(XLOG_HEAP_HOT_UPDATE),
            update(XLOG_HEAP_UPDATE | XLOG_HEAP_INIT_PAGE),
            truncate(),
            confirm(),
            lock(),
            inplace(),
            inplace_18(),
        ];
        // unchanged layouts, as the later versions write them
        for later in [PgVersion::V16, PgVersion::V17, PgVersion::V18] {
            v.extend(
                [
                    insert(),
                    delete(),
                    update(XLOG_HEAP_HOT_UPDATE),
                    truncate(),
                    confirm(),
                    lock(),
                ]
                .map(|s| s.at(later)),
            );
        }
        v.push(inplace().at(PgVersion::V17));
        v
    }

    #[test]
    fn lock_xmax_renamed_in_16() {
        let v = ok(lock().at(PgVersion::V16).decode());
        assert_eq!(v["xmax"], 900);
        assert!(v.get("locking_xid").is_none());
        assert_eq!(v["offnum"], 4);
        assert_eq!(v["flag_names"], json!(["XLH_LOCK_ALL_FROZEN_CLEARED"]));
        // the other records read the same on every version
        for later in [PgVersion::V16, PgVersion::V17, PgVersion::V18] {
            assert_eq!(ok(insert().at(later).decode()), ok(insert().decode()));
            assert_eq!(ok(delete().at(later).decode()), ok(delete().decode()));
            let u = update(XLOG_HEAP_HOT_UPDATE);
            assert_eq!(ok(u.clone().at(later).decode()), ok(u.decode()));
        }
    }

    #[test]
    fn inplace_18_invalidations() {
        let v = ok(inplace_18().decode());
        assert_eq!(v["record_type"], "INPLACE");
        assert_eq!(v["offnum"], 16);
        assert_eq!(v["db_id"], 1);
        assert_eq!(v["ts_id"], 1663);
        assert_eq!(v["relcache_init_file_inval"], true);
        assert_eq!(v["nmsgs"], 2);
        assert_eq!(
            v["invalidation_messages"],
            json!([
                {"id": 57, "kind": "catcache", "db_id": 1, "hash_value": 0xDEAD_BEEFu32},
                {"id": -2, "kind": "relcache", "db_id": 1, "rel_id": 6104}
            ])
        );
        assert_eq!(v["block0"]["data_length"], 33);
        // 17 and earlier: only the offset
        let v = ok(inplace().at(PgVersion::V17).decode());
        assert!(v.get("nmsgs").is_none());
        // a message count beyond the data is refused
        let mut s = inplace_18();
        s.main[16] = 0xFF;
        let v = s.decode();
        assert!(v["error"].as_str().unwrap().contains("nmsgs"), "{v}");
    }

    #[test]
    fn insert_init() {
        let v = ok(insert().decode());
        assert_eq!(v["record_type"], "INSERT+INIT");
        assert_eq!(v["init_page"], true);
        assert_eq!(v["offnum"], 7);
        assert_eq!(v["flag_names"], json!(["XLH_INSERT_ALL_VISIBLE_CLEARED"]));
        assert_eq!(
            v["block0"],
            json!({
                "t_infomask2": 3, "t_infomask": 0x0802, "t_hoff": 24, "natts": 3,
                "infomask_flags": ["HEAP_HASVARWIDTH", "HEAP_XMAX_INVALID"],
                "infomask2_flags": [], "data_length": 10
            })
        );
    }

    #[test]
    fn insert_block_replaced_by_image() {
        let s = Sample::new(RM_HEAP_ID, XLOG_HEAP_INSERT, W::new().u16(1).u8(0).build()).image(0);
        let v = ok(s.decode());
        assert_eq!(v["record_type"], "INSERT");
        assert_eq!(v["block0"], json!({ "fpi": true }));
        // no block reference at all
        let v = super::super::decode(PgVersion::V15, RM_HEAP_ID, 0, 0, &[1, 0, 0], &[]);
        assert_eq!(v["block0"], json!({ "missing": true }));
    }

    #[test]
    fn insert_truncated() {
        let v = super::super::decode(PgVersion::V15, RM_HEAP_ID, 0, 0, &[1, 0], &[]);
        assert_eq!(v["record_type"], "INSERT");
        assert_eq!(v["offnum"], 1);
        assert_eq!(
            v["error"],
            "xl_heap_insert: truncated reading flags at offset 2: need 1 bytes, 0 left"
        );
        let s = insert();
        let v = s.decode_cut(usize::MAX, 4);
        assert!(v["error"]
            .as_str()
            .unwrap()
            .starts_with("block 0: xl_heap_insert block 0: truncated"));
        assert_eq!(v["block0"]["t_infomask2"], 3);
    }

    #[test]
    fn delete_with_old_key() {
        let v = ok(delete().decode());
        assert_eq!(v["record_type"], "DELETE");
        assert_eq!(v["xmax"], 742);
        assert_eq!(v["offnum"], 3);
        assert_eq!(v["infobits_flags"], json!(["XLHL_KEYS_UPDATED"]));
        assert_eq!(
            v["flag_names"],
            json!([
                "XLH_DELETE_ALL_VISIBLE_CLEARED",
                "XLH_DELETE_CONTAINS_OLD_KEY"
            ])
        );
        assert_eq!(v["old_key"]["natts"], 1);
        assert_eq!(v["old_key"]["data_length"], 4);
        assert!(v.get("block0").is_none());
    }

    #[test]
    fn update_and_hot_update() {
        for (info, name) in [
            (XLOG_HEAP_UPDATE, "UPDATE"),
            (XLOG_HEAP_HOT_UPDATE, "HOT_UPDATE"),
            (XLOG_HEAP_UPDATE | XLOG_HEAP_INIT_PAGE, "UPDATE+INIT"),
        ] {
            let v = ok(update(info).decode());
            assert_eq!(v["record_type"], name);
            assert_eq!(v["old_xmax"], 750);
            assert_eq!(v["old_offnum"], 2);
            assert_eq!(
                v["old_infobits_flags"],
                json!([
                    "XLHL_XMAX_LOCK_ONLY",
                    "XLHL_XMAX_KEYSHR_LOCK",
                    "XLHL_KEYS_UPDATED"
                ])
            );
            assert_eq!(
                v["flag_names"],
                json!(["XLH_UPDATE_PREFIX_FROM_OLD", "XLH_UPDATE_SUFFIX_FROM_OLD"])
            );
            assert_eq!(v["new_xmax"], 0);
            assert_eq!(v["new_offnum"], 5);
            let b = &v["block0"];
            assert_eq!(b["prefixlen"], 4);
            assert_eq!(b["suffixlen"], 6);
            assert_eq!(b["natts"], 2);
            assert_eq!(
                b["infomask2_flags"],
                json!(["HEAP_HOT_UPDATED", "HEAP_ONLY_TUPLE"])
            );
            assert_eq!(
                b["infomask_flags"],
                json!(["HEAP_HASVARWIDTH", "HEAP_XMAX_INVALID", "HEAP_UPDATED"])
            );
            assert_eq!(b["data_length"], 9);
        }
        // HOT_UPDATE+INIT is named too
        assert_eq!(identify(0xC0), Some("HOT_UPDATE+INIT"));
    }

    #[test]
    fn update_new_tuple_with_image_and_data() {
        let mut s = update(XLOG_HEAP_UPDATE);
        s.blocks[0].2 = true;
        let v = ok(s.decode());
        assert_eq!(v["block0"]["has_image"], true);
        assert_eq!(v["block0"]["prefixlen"], 4);
    }

    #[test]
    fn truncate_relids() {
        let v = ok(truncate().decode());
        assert_eq!(v["record_type"], "TRUNCATE");
        assert_eq!(v["db_id"], 5);
        assert_eq!(v["nrelids"], 3);
        assert_eq!(v["relids"], json!([16384, 16390, 16400]));
        assert_eq!(
            v["flag_names"],
            json!(["XLH_TRUNCATE_CASCADE", "XLH_TRUNCATE_RESTART_SEQS"])
        );
        // a huge count is refused before anything is allocated
        let main = W::new().u32(5).u32(u32::MAX).u8(0).pad(4).u32(1).build();
        let v = super::super::decode(
            PgVersion::V15,
            RM_HEAP_ID,
            XLOG_HEAP_TRUNCATE,
            0,
            &main,
            &[],
        );
        assert!(v["error"].as_str().unwrap().contains("nrelids"), "{v}");
    }

    #[test]
    fn confirm_lock_inplace() {
        let v = ok(confirm().decode());
        assert_eq!(v["record_type"], "HEAP_CONFIRM");
        assert_eq!(v["offnum"], 12);

        let v = ok(lock().decode());
        assert_eq!(v["record_type"], "LOCK");
        assert_eq!(v["locking_xid"], 900);
        assert_eq!(v["offnum"], 4);
        assert_eq!(
            v["infobits_flags"],
            json!([
                "XLHL_XMAX_IS_MULTI",
                "XLHL_XMAX_LOCK_ONLY",
                "XLHL_XMAX_KEYSHR_LOCK"
            ])
        );
        assert_eq!(v["flag_names"], json!(["XLH_LOCK_ALL_FROZEN_CLEARED"]));

        let v = ok(inplace().decode());
        assert_eq!(v["record_type"], "INPLACE");
        assert_eq!(v["offnum"], 9);
        assert_eq!(v["block0"]["data_length"], 33);
    }

    #[test]
    fn unnamed_combination_still_decodes() {
        let v = super::super::decode(
            PgVersion::V15,
            RM_HEAP_ID,
            0x90,
            0,
            &W::new().u32(1).u16(2).u8(0).u8(0).build(),
            &[],
        );
        assert_eq!(v["record_type"], "UNKNOWN (90)");
        assert_eq!(v["xmax"], 1);
    }

    #[test]
    fn garbage_flags_are_named_unknown() {
        let v = super::super::decode(PgVersion::V15, RM_HEAP_ID, 0, 0, &[1, 0, 0xC0], &[]);
        assert_eq!(v["flag_names"], json!(["UNKNOWN(0xC0)"]));
        assert_eq!(v["block0"], json!({ "missing": true }));
    }
}
