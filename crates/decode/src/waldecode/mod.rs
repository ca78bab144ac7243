//! Structured decoding of PostgreSQL 15, 16, 17 and 18 WAL record payloads, in pure Rust.
//!
//! Mirrors what PostgreSQL's `rm_identify` / `rm_desc` routines
//! (`src/backend/access/rmgrdesc/*desc.c`) read from a decoded record
//! (`src/include/access/xlogreader.h`): the rmgr id, `xl_info`, the main data
//! (`XLogRecGetData`) and, per block reference, the block data
//! (`XLogRecGetBlockData`) plus whether a full-page image was logged. The result is a
//! JSON object with
//!
//! * `record_type`: the name `rm_identify` gives (`"INSERT+INIT"`, `"COMMIT"`, ...;
//!   `"UNKNOWN (<info hex>)"` as pg_waldump prints it when there is none),
//! * the main-data fields, named after the C fields in snake_case,
//! * a list of flag names next to every flags / infomask / infobits field,
//! * `blockN` objects for the blocks whose data the record type defines:
//!   the decoded data, or `{"fpi": true}` when the data was left out because a
//!   full-page image was logged, `{"no_data": true}` when the block carries neither,
//!   `{"missing": true}` when there is no such block reference,
//! * `error` when the bytes are short or inconsistent; whatever was decoded before
//!   the problem is kept.
//!
//! Layouts are those of x86-64: little-endian, C struct alignment. Each server major
//! version writes its own formats, so every decoder takes the [`PgVersion`] whose
//! records it reads (a runtime value: the extension passes the server's major version,
//! and `cargo test` exercises every version's layouts). Fields are named after the C
//! fields of that version (PostgreSQL 16 renamed `latestRemovedXid` to
//! `snapshotConflictHorizon`, RelFileNode to RelFileLocator, ...); each module lists its
//! rmgr's changes. Input is untrusted: nothing here panics or indexes out of bounds,
//! and counts read from the data are validated against the bytes left before
//! allocating.
//!
//! rmgr 199 (glassheap's own) is handed to [`glassheap::decode_json`].

#![forbid(unsafe_code)]

use heck::ToSnakeCase;
use serde::Serialize;
use serde_json::{json, Map, Value};

pub mod btree;
pub mod glassheap;
pub mod heap;
pub mod heap2;
pub mod logical;
pub mod reader;
pub mod xact;
pub mod xlog;

use reader::Res;
pub use reader::{DecodeError, Reader};

/// Resource manager ids (`src/include/access/rmgrlist.h`).
pub const RM_XLOG_ID: u8 = 0;
pub const RM_XACT_ID: u8 = 1;
pub const RM_HEAP2_ID: u8 = 9;
pub const RM_HEAP_ID: u8 = 10;
pub const RM_BTREE_ID: u8 = 11;

/// The low four bits of `xl_info` belong to xlog.c (`xlogrecord.h`).
pub const XLR_INFO_MASK: u8 = 0x0F;

/// The PostgreSQL major version whose WAL record formats are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgVersion {
    V15,
    V16,
    V17,
    V18,
}

impl PgVersion {
    /// Every version the decoders know, oldest first.
    pub const ALL: [PgVersion; 4] = [
        PgVersion::V15,
        PgVersion::V16,
        PgVersion::V17,
        PgVersion::V18,
    ];

    /// The version of a major version number (`server_version_num / 10000`); None for
    /// one the decoders do not know.
    pub fn from_major(major: u32) -> Option<Self> {
        Some(match major {
            15 => PgVersion::V15,
            16 => PgVersion::V16,
            17 => PgVersion::V17,
            18 => PgVersion::V18,
            _ => return None,
        })
    }

    /// The major version number.
    pub fn major(self) -> u32 {
        match self {
            PgVersion::V15 => 15,
            PgVersion::V16 => 16,
            PgVersion::V17 => 17,
            PgVersion::V18 => 18,
        }
    }

    /// PostgreSQL 16 and later (RelFileLocator, snapshotConflictHorizon, isCatalogRel).
    pub(crate) fn locators(self) -> bool {
        self >= PgVersion::V16
    }
}

/// One block reference of a decoded WAL record, as PostgreSQL's XLogReader exposes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef<'a> {
    pub block_id: u8,
    pub data: Option<&'a [u8]>,
    pub has_image: bool,
}

/// Structured decoding of a record's main data and block data, in the formats of
/// PostgreSQL `version` (glassheap's own records are the same on every version); `xid`
/// is the record's (XLogRecGetXid), which some glassheap payloads leave out.
pub fn decode(
    version: PgVersion,
    rmgr_id: u8,
    info: u8,
    xid: u32,
    main_data: &[u8],
    blocks: &[BlockRef<'_>],
) -> Value {
    match rmgr_id {
        RM_XLOG_ID => xlog::decode(version, info, main_data, blocks),
        RM_XACT_ID => xact::decode(version, info, main_data, blocks),
        RM_HEAP2_ID => heap2::decode(version, info, main_data, blocks),
        RM_HEAP_ID => heap::decode(version, info, main_data, blocks),
        RM_BTREE_ID => btree::decode(version, info, main_data, blocks),
        glassheap_format::records::RMGR_ID => {
            let datas = block_datas(blocks);
            glassheap::decode_json_with(info, xid, &datas, |i| {
                match blocks.iter().find(|b| usize::from(b.block_id) == i) {
                    None => json!({ "missing": true }),
                    Some(BlockRef {
                        has_image: true, ..
                    }) => json!({ "fpi": true }),
                    Some(_) => json!({ "no_data": true }),
                }
            })
        }
        _ => json!({ "undecoded": true }),
    }
}

/// The name of a resource manager (`rmgrlist.h`), for the ones decoded here.
pub fn rmgr_name(rmgr_id: u8) -> Option<&'static str> {
    Some(match rmgr_id {
        RM_XLOG_ID => "XLOG",
        RM_XACT_ID => "Transaction",
        RM_HEAP2_ID => "Heap2",
        RM_HEAP_ID => "Heap",
        RM_BTREE_ID => "Btree",
        glassheap_format::records::RMGR_ID => glassheap_format::records::RMGR_NAME,
        _ => return None,
    })
}

/// `rm_identify` of PostgreSQL `version` for the resource managers decoded here.
pub fn identify(version: PgVersion, rmgr_id: u8, info: u8) -> Option<&'static str> {
    match rmgr_id {
        RM_XLOG_ID => xlog::identify(version, info),
        RM_XACT_ID => xact::identify(info),
        RM_HEAP2_ID => heap2::identify(version, info),
        RM_HEAP_ID => heap::identify(info),
        RM_BTREE_ID => btree::identify(info),
        glassheap_format::records::RMGR_ID => glassheap_format::records::identify(info),
        _ => None,
    }
}

/// Block data indexed by block id (None where there is no data), as
/// [`glassheap::decode_json`] takes it. Block ids are u8, so at most 256 entries.
fn block_datas<'a>(blocks: &[BlockRef<'a>]) -> Vec<Option<&'a [u8]>> {
    let n = blocks
        .iter()
        .map(|b| usize::from(b.block_id) + 1)
        .max()
        .unwrap_or(0);
    let mut v: Vec<Option<&'a [u8]>> = vec![None; n];
    for b in blocks {
        if let Some(slot) = v.get_mut(usize::from(b.block_id)) {
            if slot.is_none() {
                *slot = b.data;
            }
        }
    }
    v
}

/// `rm_identify`'s answer, or what pg_waldump prints when there is none.
pub(crate) fn record_type(id: Option<&str>, info: u8) -> String {
    match id {
        Some(s) => s.to_string(),
        None => format!("UNKNOWN ({:x})", info & !XLR_INFO_MASK),
    }
}

fn to_json(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A JSON object under construction.
#[derive(Debug, Default)]
pub(crate) struct Out(Map<String, Value>);

impl Out {
    pub(crate) fn new(record_type: String) -> Self {
        let mut m = Map::new();
        m.insert("record_type".into(), Value::String(record_type));
        Out(m)
    }

    pub(crate) fn empty() -> Self {
        Out(Map::new())
    }

    /// A decoded field, named after its C field (`latestRemovedXid` becomes
    /// `latest_removed_xid`).
    pub(crate) fn set(&mut self, c_name: &str, v: impl Serialize) {
        self.0.insert(c_name.to_snake_case(), to_json(v));
    }

    /// A member under exactly this key.
    pub(crate) fn put(&mut self, key: &str, v: impl Serialize) {
        self.0.insert(key.to_string(), to_json(v));
    }

    /// A list of flag names under `key`.
    pub(crate) fn flags(&mut self, key: &str, v: impl Into<u64>, table: &[(u64, &str)]) {
        self.put(key, flag_names(v.into(), table));
    }

    /// A PostgreSQL `TimestampTz` field: the text (UTC) plus the raw value.
    pub(crate) fn timestamptz(&mut self, c_name: &str, us: i64) {
        let k = c_name.to_snake_case();
        self.put(&k, timestamptz_str(us));
        self.put(&format!("{k}_raw"), us);
    }

    /// An `XLogRecPtr` field, printed as PostgreSQL does (`%X/%X`).
    pub(crate) fn lsn(&mut self, c_name: &str, v: u64) {
        self.set(c_name, lsn_str(v));
    }

    /// A `FullTransactionId` field: the 64-bit value plus `epoch:xid` text.
    pub(crate) fn full_xid(&mut self, c_name: &str, v: u64) {
        let k = c_name.to_snake_case();
        self.put(&k, v);
        self.put(
            &format!("{k}_text"),
            format!("{}:{}", v >> 32, v & 0xFFFF_FFFF),
        );
    }

    /// Every member of a serialized struct.
    pub(crate) fn merge(&mut self, v: impl Serialize) {
        if let Value::Object(m) = to_json(v) {
            self.0.extend(m);
        }
    }

    /// Records the first error only.
    pub(crate) fn error(&mut self, e: &DecodeError) {
        self.0
            .entry("error")
            .or_insert_with(|| Value::String(e.to_string()));
    }

    /// Notes bytes a fixed-size structure left unread.
    pub(crate) fn trailing(&mut self, r: &Reader<'_>) {
        if r.remaining() > 0 {
            self.put("trailing_bytes", r.remaining());
        }
    }

    pub(crate) fn finish(mut self, r: Res<()>) -> Value {
        if let Err(e) = r {
            self.error(&e);
        }
        Value::Object(self.0)
    }
}

/// Decodes block `id`'s data with `f` into `out["block<id>"]`, or says why there is
/// none. A decoding error is kept inside the block object and also reported as the
/// record's `error` (prefixed `block <id>: `) if it has none yet.
pub(crate) fn block<'a, F>(out: &mut Out, blocks: &[BlockRef<'a>], id: u8, what: &'static str, f: F)
where
    F: FnOnce(&mut Reader<'a>, &mut Out) -> Res<()>,
{
    let v = match blocks.iter().find(|b| b.block_id == id) {
        None => json!({ "missing": true }),
        Some(BlockRef {
            data: None,
            has_image: true,
            ..
        }) => json!({ "fpi": true }),
        Some(BlockRef { data: None, .. }) => json!({ "no_data": true }),
        Some(BlockRef {
            data: Some(d),
            has_image,
            ..
        }) => {
            let mut sub = Out::empty();
            if *has_image {
                sub.put("has_image", true);
            }
            let mut r = Reader::new(d, what);
            match f(&mut r, &mut sub) {
                Ok(()) => sub.trailing(&r),
                Err(e) => {
                    out.error(&DecodeError(format!("block {id}: {e}")));
                    sub.error(&e);
                }
            }
            Value::Object(sub.0)
        }
    };
    out.put(&format!("block{id}"), v);
}

/// Names of the bits set in `v`; bits not in `table` come out as `UNKNOWN(0x..)`.
pub(crate) fn flag_names(v: u64, table: &[(u64, &str)]) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = v;
    for &(bit, name) in table {
        if bit != 0 && v & bit == bit {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("UNKNOWN(0x{rest:X})"));
    }
    names
}

/// An LSN as PostgreSQL 15-18 print it (`LSN_FORMAT_ARGS` with `%X/%X`).
pub fn lsn_str(v: u64) -> String {
    format!("{:X}/{:X}", v >> 32, v & 0xFFFF_FFFF)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

fn datetime_str(days_since_unix_epoch: i64, secs_of_day: i64, micros: i64) -> String {
    let (y, m, d) = civil_from_days(days_since_unix_epoch);
    let (hh, mm, ss) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let mut frac = String::new();
    if micros != 0 {
        frac = format!(".{micros:06}");
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    let (year, era) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
    format!("{year:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}{frac}+00{era}")
}

/// PostgreSQL's epoch (2000-01-01) in days after the Unix epoch.
const POSTGRES_EPOCH_DAYS: i64 = 10_957;

/// A `TimestampTz` (microseconds since 2000-01-01 UTC) as text, in UTC (PostgreSQL
/// prints it in the session time zone).
pub fn timestamptz_str(us: i64) -> String {
    match us {
        i64::MIN => "-infinity".into(),
        i64::MAX => "infinity".into(),
        _ => {
            let secs = us.div_euclid(1_000_000);
            let micros = us.rem_euclid(1_000_000);
            let days = secs.div_euclid(86_400) + POSTGRES_EPOCH_DAYS;
            datetime_str(days, secs.rem_euclid(86_400), micros)
        }
    }
}

/// A `pg_time_t` (seconds since 1970-01-01 UTC) as text, in UTC.
pub fn pg_time_str(secs: i64) -> String {
    datetime_str(secs.div_euclid(86_400), secs.rem_euclid(86_400), 0)
}

/// `RelFileNode` (`src/include/storage/relfilenode.h`, PG15; RelFileLocator in PG16+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelFileNode {
    pub spc_node: u32,
    pub db_node: u32,
    pub rel_node: u32,
}

impl RelFileNode {
    pub(crate) fn read(r: &mut Reader<'_>, field: &str) -> Res<Self> {
        Ok(RelFileNode {
            spc_node: r.get_u32(field)?,
            db_node: r.get_u32(field)?,
            rel_node: r.get_u32(field)?,
        })
    }
}

/// `RelFileLocator` (`src/include/storage/relfilelocator.h`, PG16+): the same three
/// Oids as RelFileNode, renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelFileLocator {
    pub spc_oid: u32,
    pub db_oid: u32,
    pub rel_number: u32,
}

/// A relation's storage identity as the version names it: RelFileNode (15) or
/// RelFileLocator (16+); 12 bytes either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RelFile {
    Node(RelFileNode),
    Locator(RelFileLocator),
}

impl RelFile {
    pub(crate) fn read(v: PgVersion, r: &mut Reader<'_>, field: &str) -> Res<Self> {
        let n = RelFileNode::read(r, field)?;
        Ok(if v.locators() {
            RelFile::Locator(RelFileLocator {
                spc_oid: n.spc_node,
                db_oid: n.db_node,
                rel_number: n.rel_node,
            })
        } else {
            RelFile::Node(n)
        })
    }
}

/// `ItemPointerData` (`src/include/storage/itemptr.h`): block split in two uint16
/// halves, then the offset; 6 bytes, 2-byte aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ItemPointer {
    pub block: u32,
    pub offset: u16,
}

impl ItemPointer {
    pub(crate) fn read(r: &mut Reader<'_>, field: &str) -> Res<Self> {
        let hi = r.get_u16(field)?;
        let lo = r.get_u16(field)?;
        let offset = r.get_u16(field)?;
        Ok(ItemPointer {
            block: (u32::from(hi) << 16) | u32::from(lo),
            offset,
        })
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Builds WAL payloads field by field in the C layout, and the sample records the
    //! robustness tests truncate.

    use super::{BlockRef, PgVersion};
    use serde_json::Value;

    /// A little-endian writer; [`W::pad`] reproduces C alignment padding.
    #[derive(Debug, Default, Clone)]
    pub(crate) struct W(Vec<u8>);

    impl W {
        pub(crate) fn new() -> Self {
            W(Vec::new())
        }
        pub(crate) fn u8(mut self, v: u8) -> Self {
            self.0.push(v);
            self
        }
        pub(crate) fn u16(mut self, v: u16) -> Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        pub(crate) fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        pub(crate) fn u32(mut self, v: u32) -> Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        pub(crate) fn u64(mut self, v: u64) -> Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        pub(crate) fn i64(mut self, v: i64) -> Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
        /// Zero bytes up to the next multiple of `a`.
        pub(crate) fn pad(mut self, a: usize) -> Self {
            while !self.0.len().is_multiple_of(a) {
                self.0.push(0);
            }
            self
        }
        /// RelFileNode {spcNode, dbNode, relNode}.
        pub(crate) fn rnode(self, spc: u32, db: u32, rel: u32) -> Self {
            self.u32(spc).u32(db).u32(rel)
        }
        /// ItemPointerData {bi_hi, bi_lo, ip_posid}.
        pub(crate) fn tid(self, block: u32, off: u16) -> Self {
            self.u16((block >> 16) as u16).u16(block as u16).u16(off)
        }
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
        pub(crate) fn build(self) -> Vec<u8> {
            self.0
        }
    }

    /// A complete, valid record: what the unit tests check and the robustness tests cut.
    #[derive(Debug, Clone)]
    pub(crate) struct Sample {
        /// The version whose formats the record is in (15 unless [`Sample::at`]).
        pub version: PgVersion,
        pub rmgr: u8,
        pub info: u8,
        pub main: Vec<u8>,
        /// (block_id, data, has_image)
        pub blocks: Vec<(u8, Option<Vec<u8>>, bool)>,
    }

    impl Sample {
        pub(crate) fn new(rmgr: u8, info: u8, main: Vec<u8>) -> Self {
            Sample {
                version: PgVersion::V15,
                rmgr,
                info,
                main,
                blocks: Vec::new(),
            }
        }
        /// The same record read as PostgreSQL `version` wrote it.
        pub(crate) fn at(mut self, version: PgVersion) -> Self {
            self.version = version;
            self
        }
        pub(crate) fn data(mut self, id: u8, d: Vec<u8>) -> Self {
            self.blocks.push((id, Some(d), false));
            self
        }
        pub(crate) fn image(mut self, id: u8) -> Self {
            self.blocks.push((id, None, true));
            self
        }
        pub(crate) fn nodata(mut self, id: u8) -> Self {
            self.blocks.push((id, None, false));
            self
        }
        /// Decodes with the main data cut to `main_len` and block data cut to `blk_len`.
        pub(crate) fn decode_cut(&self, main_len: usize, blk_len: usize) -> Value {
            let main = &self.main[..main_len.min(self.main.len())];
            let blocks: Vec<BlockRef<'_>> = self
                .blocks
                .iter()
                .map(|(id, d, img)| BlockRef {
                    block_id: *id,
                    data: d.as_deref().map(|d| &d[..blk_len.min(d.len())]),
                    has_image: *img,
                })
                .collect();
            super::decode(self.version, self.rmgr, self.info, 0, main, &blocks)
        }
        pub(crate) fn decode(&self) -> Value {
            self.decode_cut(usize::MAX, usize::MAX)
        }
        pub(crate) fn max_block_len(&self) -> usize {
            self.blocks
                .iter()
                .filter_map(|(_, d, _)| d.as_ref().map(Vec::len))
                .max()
                .unwrap_or(0)
        }
    }

    /// Every sample record of every rmgr module.
    pub(crate) fn all_samples() -> Vec<Sample> {
        let mut v = Vec::new();
        v.extend(super::heap::tests::samples());
        v.extend(super::heap2::tests::samples());
        v.extend(super::xact::tests::samples());
        v.extend(super::xlog::tests::samples());
        v.extend(super::btree::tests::samples());
        v
    }

    /// Asserts the decoding has no `error` and returns it.
    pub(crate) fn ok(v: Value) -> Value {
        assert!(v.get("error").is_none(), "unexpected error in {v:#}");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{all_samples, Sample};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unknown_rmgr_is_undecoded() {
        for v in PgVersion::ALL {
            assert_eq!(
                decode(v, 2, 0, 0, b"abc", &[]),
                json!({ "undecoded": true })
            );
            assert_eq!(
                decode(v, 255, 0x10, 0, &[], &[]),
                json!({ "undecoded": true })
            );
        }
    }

    #[test]
    fn glassheap_goes_to_its_own_codec() {
        let v = decode(
            PgVersion::V18,
            glassheap_format::records::RMGR_ID,
            glassheap_format::records::XLOG_GH_INSERT,
            0,
            &[],
            &[BlockRef {
                block_id: 0,
                data: None,
                has_image: true,
            }],
        );
        assert_eq!(v["record_type"], "INSERT");
        assert!(v["block0"].is_object());
        assert_eq!(
            block_datas(&[
                BlockRef {
                    block_id: 2,
                    data: Some(b"x"),
                    has_image: false
                },
                BlockRef {
                    block_id: 0,
                    data: None,
                    has_image: true
                }
            ]),
            vec![None, None, Some(&b"x"[..])]
        );
    }

    #[test]
    fn snake_case_names() {
        let mut o = Out::empty();
        for c in [
            "latestRemovedXid",
            "ThisTimeLineID",
            "oldestXidDB",
            "t_infomask2",
            "nextMultiOffset",
            "MaxConnections",
        ] {
            o.set(c, 1);
        }
        let v = o.finish(Ok(()));
        for k in [
            "latest_removed_xid",
            "this_time_line_id",
            "oldest_xid_db",
            "t_infomask2",
            "next_multi_offset",
            "max_connections",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
    }

    #[test]
    fn helpers_format_like_postgres() {
        assert_eq!(lsn_str(0x0000_0001_0000_0028), "1/28");
        assert_eq!(lsn_str(0x16B_3748), "0/16B3748");
        assert_eq!(timestamptz_str(0), "2000-01-01 00:00:00+00");
        assert_eq!(
            timestamptz_str(771_577_445_123_450),
            "2024-06-13 07:04:05.12345+00"
        );
        assert_eq!(timestamptz_str(-1), "1999-12-31 23:59:59.999999+00");
        assert_eq!(timestamptz_str(i64::MAX), "infinity");
        assert_eq!(pg_time_str(0), "1970-01-01 00:00:00+00");
        assert_eq!(pg_time_str(1_718_348_645), "2024-06-14 07:04:05+00");
        // extreme values must not overflow
        let _ = pg_time_str(i64::MAX);
        let _ = pg_time_str(i64::MIN);
        let _ = timestamptz_str(i64::MIN + 1);
        assert_eq!(
            flag_names(0x13, &[(0x01, "A"), (0x02, "B")]),
            vec!["A", "B", "UNKNOWN(0x10)"]
        );
    }

    #[test]
    fn every_sample_decodes_cleanly_and_every_truncation_is_safe() {
        let samples = all_samples();
        assert!(samples.len() >= 50, "only {} samples", samples.len());
        for s in &samples {
            let full = testutil::ok(s.decode());
            let rt = full["record_type"].clone();
            assert!(
                !rt.as_str().unwrap_or("UNKNOWN").starts_with("UNKNOWN"),
                "{s:?}"
            );
            for cut in 0..=s.main.len() {
                let v = s.decode_cut(cut, usize::MAX);
                assert_eq!(v["record_type"], rt, "{s:?} cut main at {cut}");
            }
            for cut in 0..=s.max_block_len() {
                let v = s.decode_cut(usize::MAX, cut);
                assert_eq!(v["record_type"], rt, "{s:?} cut blocks at {cut}");
            }
        }
    }

    fn any_version() -> impl Strategy<Value = PgVersion> {
        prop::sample::select(PgVersion::ALL.to_vec())
    }

    fn any_rmgr() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(RM_XLOG_ID),
            Just(RM_XACT_ID),
            Just(RM_HEAP2_ID),
            Just(RM_HEAP_ID),
            Just(RM_BTREE_ID),
            Just(glassheap_format::records::RMGR_ID),
            any::<u8>(),
        ]
    }

    fn any_blocks() -> impl Strategy<Value = Vec<(u8, Option<Vec<u8>>, bool)>> {
        proptest::collection::vec(
            (
                0u8..6,
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
                any::<bool>(),
            ),
            0..5,
        )
    }

    fn check_shape(rmgr: u8, v: &Value) {
        assert!(v.is_object(), "{v}");
        if rmgr_name(rmgr).is_some() {
            assert!(v["record_type"].is_string(), "{v}");
        } else {
            assert_eq!(v, &json!({ "undecoded": true }));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(
            version in any_version(),
            rmgr in any_rmgr(),
            info in any::<u8>(),
            main in proptest::collection::vec(any::<u8>(), 0..300),
            blocks in any_blocks(),
        ) {
            let s = Sample { version, rmgr, info, main, blocks };
            check_shape(rmgr, &s.decode());
        }

        #[test]
        fn truncated_and_mutated_samples_never_panic(
            idx in any::<prop::sample::Index>(),
            main_cut in any::<prop::sample::Index>(),
            blk_cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            info_xor in prop_oneof![Just(0u8), any::<u8>()],
            other_version in prop::option::weighted(0.2, any_version()),
        ) {
            let samples = all_samples();
            let mut s = samples[idx.index(samples.len())].clone();
            s.info ^= info_xor;
            // a record read as another version's format: wrong, never a panic
            let same_format = other_version.is_none_or(|v| v == s.version);
            if let Some(v) = other_version {
                s.version = v;
            }
            if !s.main.is_empty() {
                for (at, x) in &flips {
                    let i = at.index(s.main.len());
                    s.main[i] ^= x;
                }
            }
            let m = main_cut.index(s.main.len() + 1);
            let b = blk_cut.index(s.max_block_len() + 1);
            let v = s.decode_cut(m, b);
            check_shape(s.rmgr, &v);
            if info_xor == 0 && same_format {
                prop_assert_eq!(&v["record_type"], &s.decode()["record_type"]);
            }
        }
    }
}

#[cfg(test)]
mod glassheap_shape_tests {
    use super::*;
    use glassheap_format::records::RMGR_ID;

    #[test]
    fn glassheap_records_use_the_shared_placeholders_and_error_key() {
        let fpi = [BlockRef {
            block_id: 0,
            data: None,
            has_image: true,
        }];
        assert_eq!(
            decode(PgVersion::V16, RMGR_ID, 0x00, 0, &[], &fpi)["block0"],
            json!({ "fpi": true })
        );
        assert_eq!(
            decode(PgVersion::V16, RMGR_ID, 0x00, 0, &[], &[])["block0"],
            json!({ "missing": true })
        );
        let bare = [BlockRef {
            block_id: 0,
            data: None,
            has_image: false,
        }];
        assert_eq!(
            decode(PgVersion::V16, RMGR_ID, 0x00, 0, &[], &bare)["block0"],
            json!({ "no_data": true })
        );
        let junk = [BlockRef {
            block_id: 0,
            data: Some(&[1, 2]),
            has_image: false,
        }];
        let v = decode(PgVersion::V16, RMGR_ID, 0x00, 0, &[], &junk);
        assert!(v["error"].as_str().unwrap().starts_with("block0: "), "{v}");
        let unknown = decode(PgVersion::V16, RMGR_ID, 0xF0, 0, &[], &[]);
        assert!(
            unknown["record_type"]
                .as_str()
                .unwrap()
                .starts_with("UNKNOWN ("),
            "{unknown}"
        );
        assert!(unknown.get("error").is_some());
    }

    #[test]
    fn xmax_modes_are_snake_case_like_page_items() {
        use glassheap_format::tuple::XmaxMode;
        assert_eq!(
            serde_json::to_value(XmaxMode::NoKeyUpdate).unwrap(),
            json!("no_key_update")
        );
        assert_eq!(
            serde_json::to_value(XmaxMode::LockKeyShare).unwrap(),
            json!("lock_key_share")
        );
    }
}
