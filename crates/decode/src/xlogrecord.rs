//! A WAL record's bytes, field by field: the `XLogRecord` header, the block reference
//! headers (with their image headers and relfilenodes), the main-data header, then each
//! block's image and data and the main data, as PostgreSQL's `DecodeXLogRecord`
//! (xlogreader.c) walks them (`access/xlogrecord.h`; the same layout in PostgreSQL 15,
//! 16 and 18). glassheap.record_html draws this breakdown; what the payload bytes mean
//! is the record decoders' business (waldecode).
//!
//! Every read is bounds-checked: a damaged record yields the fields read so far and an
//! error, never a panic.

use serde::Serialize;

/// One field: where it is in the record, which part it belongs to, and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub offset: usize,
    pub len: usize,
    /// `header`, `block N header`, `main data header`, `block N image`, `block N data`,
    /// `main data`, ...
    pub part: String,
    pub name: String,
    pub value: String,
}

/// The record's fields in byte order, and the problem that stopped the walk, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub fields: Vec<Field>,
    pub error: Option<String>,
}

pub const SIZE_OF_XLOG_RECORD: usize = 24;
pub const XLR_MAX_BLOCK_ID: u8 = 32;
pub const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;
pub const XLR_BLOCK_ID_DATA_LONG: u8 = 254;
pub const XLR_BLOCK_ID_ORIGIN: u8 = 253;
pub const XLR_BLOCK_ID_TOPLEVEL_XID: u8 = 252;
const BKPBLOCK_FORK_MASK: u8 = 0x0F;
const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
const BKPBLOCK_HAS_DATA: u8 = 0x20;
const BKPBLOCK_WILL_INIT: u8 = 0x40;
const BKPBLOCK_SAME_REL: u8 = 0x80;
const BKPIMAGE_HAS_HOLE: u8 = 0x01;
const BKPIMAGE_APPLY: u8 = 0x02;
const BKPIMAGE_COMPRESS_PGLZ: u8 = 0x04;
const BKPIMAGE_COMPRESS_LZ4: u8 = 0x08;
const BKPIMAGE_COMPRESS_ZSTD: u8 = 0x10;

struct Walk<'a> {
    rec: &'a [u8],
    pos: usize,
    fields: Vec<Field>,
}

impl Walk<'_> {
    fn take(&mut self, n: usize, part: &str, name: &str) -> Result<&[u8], String> {
        if self.rec.len() - self.pos < n {
            return Err(format!(
                "{part}: {name} needs {n} bytes at offset {}, the record has {} left",
                self.pos,
                self.rec.len() - self.pos
            ));
        }
        let b = &self.rec[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn field(
        &mut self,
        n: usize,
        part: &str,
        name: &str,
        value: impl Fn(&[u8]) -> String,
    ) -> Result<u64, String> {
        let at = self.pos;
        let b = self.take(n, part, name)?;
        let mut v = [0u8; 8];
        v[..n.min(8)].copy_from_slice(&b[..n.min(8)]);
        let num = u64::from_le_bytes(v);
        let value = value(b);
        self.fields.push(Field {
            offset: at,
            len: n,
            part: part.to_string(),
            name: name.to_string(),
            value,
        });
        Ok(num)
    }

    fn num(&mut self, n: usize, part: &str, name: &str) -> Result<u64, String> {
        self.field(n, part, name, |b| {
            let mut v = [0u8; 8];
            v[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(v).to_string()
        })
    }

    fn blob(&mut self, n: usize, part: &str, name: &str, what: String) -> Result<(), String> {
        if n == 0 {
            return Ok(());
        }
        self.field(n, part, name, |_| what.clone())?;
        Ok(())
    }
}

fn lsn(v: u64) -> String {
    crate::waldecode::lsn_str(v)
}

fn fork_name(f: u8) -> &'static str {
    match f {
        0 => "main",
        1 => "fsm",
        2 => "vm",
        3 => "init",
        _ => "invalid fork",
    }
}

fn names(bits: u8, table: &[(u8, &str)]) -> String {
    let v: Vec<&str> = table
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(" | ")
    }
}

struct Block {
    id: u8,
    image_len: usize,
    data_len: usize,
}

/// The fields of a whole record (`xl_tot_len` bytes, as XLogReadRecord returns it).
/// `rmgr_name` names `xl_rmid` and `record_type` the record in the header's value column.
pub fn layout(rec: &[u8], rmgr_name: &str, record_type: &str) -> Layout {
    let mut w = Walk {
        rec,
        pos: 0,
        fields: Vec::new(),
    };
    let error = walk(&mut w, rmgr_name, record_type).err();
    Layout {
        fields: w.fields,
        error,
    }
}

fn walk(w: &mut Walk<'_>, rmgr_name: &str, record_type: &str) -> Result<(), String> {
    let h = "header";
    let tot = w.num(4, h, "xl_tot_len")? as usize;
    if tot != w.rec.len() {
        return Err(format!(
            "xl_tot_len is {tot} but the record has {} bytes",
            w.rec.len()
        ));
    }
    w.num(4, h, "xl_xid")?;
    w.field(8, h, "xl_prev", |b| {
        lsn(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    })?;
    w.field(1, h, "xl_info", |b| {
        format!("0x{:02X} ({record_type})", b[0])
    })?;
    w.field(1, h, "xl_rmid", |b| format!("{} ({rmgr_name})", b[0]))?;
    w.blob(2, h, "padding", "2 bytes (alignment of xl_crc)".into())?;
    w.field(4, h, "xl_crc", |b| {
        format!(
            "0x{:08X}",
            u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
        )
    })?;

    let mut blocks: Vec<Block> = Vec::new();
    let mut main_len: usize = 0;
    let mut have_rel = false;
    // Headers until the bytes left are exactly the payload they announce.
    while w.rec.len() - w.pos
        > blocks
            .iter()
            .map(|b| b.image_len + b.data_len)
            .sum::<usize>()
            + main_len
    {
        let id_at = w.pos;
        let id = w.take(1, "headers", "block id")?[0];
        w.pos = id_at;
        match id {
            XLR_BLOCK_ID_DATA_SHORT => {
                let p = "main data header";
                w.field(1, p, "id", |_| "255 (XLR_BLOCK_ID_DATA_SHORT)".into())?;
                main_len = w.num(1, p, "data length")? as usize;
            }
            XLR_BLOCK_ID_DATA_LONG => {
                let p = "main data header";
                w.field(1, p, "id", |_| "254 (XLR_BLOCK_ID_DATA_LONG)".into())?;
                main_len = w.num(4, p, "data length")? as usize;
            }
            XLR_BLOCK_ID_ORIGIN => {
                let p = "origin";
                w.field(1, p, "id", |_| "253 (XLR_BLOCK_ID_ORIGIN)".into())?;
                w.num(2, p, "replication origin")?;
            }
            XLR_BLOCK_ID_TOPLEVEL_XID => {
                let p = "top-level xid";
                w.field(1, p, "id", |_| "252 (XLR_BLOCK_ID_TOPLEVEL_XID)".into())?;
                w.num(4, p, "top-level transaction id")?;
            }
            id if id <= XLR_MAX_BLOCK_ID => {
                let p = format!("block {id} header");
                w.field(1, &p, "id", |b| format!("{} (block reference)", b[0]))?;
                let ff = w.field(1, &p, "fork_flags", |b| {
                    format!(
                        "fork {}, {}",
                        fork_name(b[0] & BKPBLOCK_FORK_MASK),
                        names(
                            b[0],
                            &[
                                (BKPBLOCK_HAS_IMAGE, "HAS_IMAGE"),
                                (BKPBLOCK_HAS_DATA, "HAS_DATA"),
                                (BKPBLOCK_WILL_INIT, "WILL_INIT"),
                                (BKPBLOCK_SAME_REL, "SAME_REL"),
                            ]
                        )
                    )
                })? as u8;
                let data_len = w.num(2, &p, "data_length")? as usize;
                let mut image_len = 0;
                if ff & BKPBLOCK_HAS_IMAGE != 0 {
                    image_len = w.num(2, &p, "bimg_len (image length)")? as usize;
                    w.num(2, &p, "hole_offset")?;
                    let info = w.field(1, &p, "bimg_info", |b| {
                        names(
                            b[0],
                            &[
                                (BKPIMAGE_HAS_HOLE, "HAS_HOLE"),
                                (BKPIMAGE_APPLY, "APPLY"),
                                (BKPIMAGE_COMPRESS_PGLZ, "COMPRESS_PGLZ"),
                                (BKPIMAGE_COMPRESS_LZ4, "COMPRESS_LZ4"),
                                (BKPIMAGE_COMPRESS_ZSTD, "COMPRESS_ZSTD"),
                            ],
                        )
                    })? as u8;
                    let compressed = info
                        & (BKPIMAGE_COMPRESS_PGLZ | BKPIMAGE_COMPRESS_LZ4 | BKPIMAGE_COMPRESS_ZSTD)
                        != 0;
                    if info & BKPIMAGE_HAS_HOLE != 0 && compressed {
                        w.num(2, &p, "hole_length")?;
                    }
                }
                if ff & BKPBLOCK_SAME_REL == 0 {
                    w.field(12, &p, "relfilenode (spc/db/rel)", |b| {
                        let u =
                            |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
                        format!("{}/{}/{}", u(0), u(4), u(8))
                    })?;
                    have_rel = true;
                } else if !have_rel {
                    return Err(format!("{p}: SAME_REL without a previous relation"));
                }
                w.num(4, &p, "block number")?;
                blocks.push(Block {
                    id,
                    image_len,
                    data_len,
                });
            }
            other => return Err(format!("invalid block id {other} at offset {}", w.pos)),
        }
    }
    for b in &blocks {
        w.blob(
            b.image_len,
            &format!("block {} image", b.id),
            "full-page image",
            format!("{} bytes", b.image_len),
        )?;
        w.blob(
            b.data_len,
            &format!("block {} data", b.id),
            "block data",
            format!("{} bytes (decoded below)", b.data_len),
        )?;
    }
    w.blob(
        main_len,
        "main data",
        "main data",
        format!("{main_len} bytes (decoded below)"),
    )?;
    if w.pos != w.rec.len() {
        return Err(format!(
            "{} bytes after the payload the headers announce",
            w.rec.len() - w.pos
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A heap INSERT+INIT-like record: one block reference with data, then 3 bytes of main data.
    pub fn sample_record() -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&0u32.to_le_bytes()); // xl_tot_len, set below
        r.extend_from_slice(&740u32.to_le_bytes());
        r.extend_from_slice(&0x1_0000_0028u64.to_le_bytes());
        r.push(0x80);
        r.push(10);
        r.extend_from_slice(&[0, 0]);
        r.extend_from_slice(&0xDEADBEEFu32.to_le_bytes());
        // block 0: fork main, HAS_DATA | WILL_INIT, 5 bytes, rel 1663/5/16384, blk 0
        r.push(0);
        r.push(BKPBLOCK_HAS_DATA | BKPBLOCK_WILL_INIT);
        r.extend_from_slice(&5u16.to_le_bytes());
        for v in [1663u32, 5, 16384, 0] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.push(XLR_BLOCK_ID_DATA_SHORT);
        r.push(3);
        r.extend_from_slice(&[1, 2, 3, 4, 5]);
        r.extend_from_slice(&[9, 9, 9]);
        let n = r.len() as u32;
        r[0..4].copy_from_slice(&n.to_le_bytes());
        r
    }

    #[test]
    fn walks_an_insert_record() {
        let r = sample_record();
        let l = layout(&r, "Heap", "INSERT+INIT");
        assert_eq!(l.error, None);
        let total: usize = l.fields.iter().map(|f| f.len).sum();
        assert_eq!(total, r.len());
        let names: Vec<_> = l
            .fields
            .iter()
            .map(|f| (f.part.as_str(), f.name.as_str()))
            .collect();
        assert_eq!(names[0], ("header", "xl_tot_len"));
        assert!(names.contains(&("block 0 header", "relfilenode (spc/db/rel)")));
        assert_eq!(names[names.len() - 2], ("block 0 data", "block data"));
        assert_eq!(names[names.len() - 1], ("main data", "main data"));
        let rel = l
            .fields
            .iter()
            .find(|f| f.name.starts_with("relfilenode"))
            .unwrap();
        assert_eq!(rel.value, "1663/5/16384");
        let info = l.fields.iter().find(|f| f.name == "xl_info").unwrap();
        assert_eq!(info.value, "0x80 (INSERT+INIT)");
        let ff = l.fields.iter().find(|f| f.name == "fork_flags").unwrap();
        assert_eq!(ff.value, "fork main, HAS_DATA | WILL_INIT");
        // offsets are contiguous
        let mut at = 0;
        for f in &l.fields {
            assert_eq!(f.offset, at);
            at += f.len;
        }
    }

    #[test]
    fn image_headers() {
        let mut r = sample_record();
        // turn block 0 into one with a compressed image with a hole: 4 image bytes
        r.truncate(24);
        r.push(0);
        r.push(BKPBLOCK_HAS_IMAGE);
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&4u16.to_le_bytes());
        r.extend_from_slice(&100u16.to_le_bytes());
        r.push(BKPIMAGE_HAS_HOLE | BKPIMAGE_APPLY | BKPIMAGE_COMPRESS_LZ4);
        r.extend_from_slice(&7000u16.to_le_bytes());
        for v in [1663u32, 5, 16384, 3] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.extend_from_slice(&[1, 2, 3, 4]);
        let n = r.len() as u32;
        r[0..4].copy_from_slice(&n.to_le_bytes());
        let l = layout(&r, "Heap2", "VISIBLE");
        assert_eq!(l.error, None, "{:?}", l.fields);
        assert!(l
            .fields
            .iter()
            .any(|f| f.name == "hole_length" && f.value == "7000"));
        assert!(l
            .fields
            .iter()
            .any(|f| f.part == "block 0 image" && f.len == 4));
    }

    #[test]
    fn damage_is_reported() {
        let mut r = sample_record();
        r.pop();
        let l = layout(&r, "Heap", "INSERT");
        assert!(l.error.unwrap().contains("xl_tot_len"));
        let mut r = sample_record();
        r[24] = 99; // invalid block id
        assert!(layout(&r, "Heap", "INSERT")
            .error
            .unwrap()
            .contains("invalid block id 99"));
        assert!(layout(&[1, 2], "Heap", "INSERT").error.is_some());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = layout(&bytes, "x", "y");
        }

        #[test]
        fn flipped_records_never_panic(flips in proptest::collection::vec((0usize..45, any::<u8>()), 1..6)) {
            let mut r = sample_record();
            for (at, v) in flips { let n = r.len(); r[at % n] = v; }
            let l = layout(&r, "x", "y");
            // fields never overlap or leave the record
            let mut at = 0;
            for f in &l.fields { prop_assert_eq!(f.offset, at); at += f.len; }
            prop_assert!(at <= r.len());
        }
    }
}

/// WAL page size (XLOG_BLCKSZ) and the page headers that interrupt a record's bytes in
/// the WAL stream: the long header on a segment's first page, the short one elsewhere
/// (both MAXALIGNed sizes: SizeOfXLogLongPHD 40, SizeOfXLogShortPHD 24).
pub const XLOG_BLCKSZ: u64 = 8192;
const LONG_PAGE_HEADER: u64 = 40;
const SHORT_PAGE_HEADER: u64 = 24;

/// The bytes of the record that starts at `start`, gathered from the WAL pages as they
/// lie in the segment files: `page(p)` returns the 8 kB WAL page starting at LSN `p`.
/// A record longer than what is left of its page continues after the next page's header
/// (xlogreader.c does the same while it reads).
pub fn assemble(
    start: u64,
    seg_size: u64,
    mut page: impl FnMut(u64) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    if seg_size == 0 || !seg_size.is_multiple_of(XLOG_BLCKSZ) {
        return Err(format!("invalid WAL segment size {seg_size}"));
    }
    let mut out: Vec<u8> = Vec::new();
    let mut total: Option<usize> = None;
    let mut pos = start;
    let mut cur: Option<(u64, Vec<u8>)> = None;
    loop {
        let need = total.unwrap_or(4);
        if out.len() >= need {
            if total.is_some() {
                return Ok(out);
            }
            let t = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize;
            if !(SIZE_OF_XLOG_RECORD..=0x3FFF_FFFF).contains(&t) {
                return Err(format!("invalid record length {t} at {}", lsn(start)));
            }
            total = Some(t);
            continue;
        }
        let in_page = pos % XLOG_BLCKSZ;
        let page_start = pos - in_page;
        if in_page == 0 {
            pos += if page_start.is_multiple_of(seg_size) {
                LONG_PAGE_HEADER
            } else {
                SHORT_PAGE_HEADER
            };
            continue;
        }
        if cur.as_ref().map(|c| c.0) != Some(page_start) {
            let p = page(page_start)?;
            if p.len() != XLOG_BLCKSZ as usize {
                return Err(format!(
                    "WAL page at {} has {} bytes",
                    lsn(page_start),
                    p.len()
                ));
            }
            cur = Some((page_start, p));
        }
        let p = &cur.as_ref().map(|c| &c.1).ok_or("no page")?[..];
        let n = ((need - out.len()) as u64).min(XLOG_BLCKSZ - in_page) as usize;
        out.extend_from_slice(&p[in_page as usize..in_page as usize + n]);
        pos += n as u64;
    }
}

#[cfg(test)]
mod assemble_tests {
    use super::*;

    /// A WAL stream of `pages` pages holding `rec` from `start`, with page headers.
    fn stream(rec: &[u8], start: u64, seg_size: u64) -> std::collections::HashMap<u64, Vec<u8>> {
        let mut pages = std::collections::HashMap::new();
        let mut pos = start;
        let mut i = 0;
        while i < rec.len() {
            let in_page = pos % XLOG_BLCKSZ;
            let ps = pos - in_page;
            if in_page == 0 {
                pos += if ps.is_multiple_of(seg_size) { 40 } else { 24 };
                pages.entry(ps).or_insert_with(|| vec![0xEEu8; 8192]);
                continue;
            }
            let p = pages.entry(ps).or_insert_with(|| vec![0xEEu8; 8192]);
            p[in_page as usize] = rec[i];
            i += 1;
            pos += 1;
        }
        pages
    }

    #[test]
    fn records_across_pages_and_segments() {
        let mut rec = tests::sample_record();
        rec.resize(20_000, 7);
        let n = rec.len() as u32;
        rec[0..4].copy_from_slice(&n.to_le_bytes());
        let seg = 16 * 8192u64;
        for start in [
            0x1_0000_0028u64,
            seg * 3 - 16,
            seg - 8192 + 8000,
            8192 * 5 + 24,
        ] {
            let pages = stream(&rec, start, seg);
            let got = assemble(start, seg, |p| {
                pages.get(&p).cloned().ok_or(format!("no page {p}"))
            })
            .unwrap();
            assert_eq!(got, rec, "start {start:X}");
        }
        let small = tests::sample_record();
        let pages = stream(&small, 8192 - 8, seg);
        assert_eq!(
            assemble(8192 - 8, seg, |p| pages.get(&p).cloned().ok_or("x".into())).unwrap(),
            small
        );
    }

    #[test]
    fn bad_input() {
        assert!(assemble(100, 0, |_| Ok(vec![0; 8192])).is_err());
        assert!(assemble(100, 8192 * 4, |_| Ok(vec![0; 8192]))
            .unwrap_err()
            .contains("invalid record length 0"));
        assert!(assemble(100, 8192 * 4, |_| Ok(vec![0; 10]))
            .unwrap_err()
            .contains("has 10 bytes"));
        assert!(assemble(100, 8192 * 4, |_| Err("gone".into()))
            .unwrap_err()
            .contains("gone"));
    }
}
