//! Heap redo on pages in memory: each record kind in each version's format, the
//! failures, the row events; properties over random workloads.

use super::*;
use crate::waldecode::heap::{XLH_UPDATE_PREFIX_FROM_OLD, XLH_UPDATE_SUFFIX_FROM_OLD};
use crate::waldecode::heap2::{
    XLHP_HAS_DEAD_ITEMS, XLHP_HAS_FREEZE_PLANS, XLHP_HAS_NOW_UNUSED_ITEMS, XLHP_HAS_REDIRECTIONS,
    XLOG_HEAP2_NEW_CID,
};
use glassheap_format::page::{LP_DEAD, LP_REDIRECT, LP_UNUSED};
use proptest::prelude::*;

/// Little-endian bytes, as x86-64 lays the C structs out.
#[derive(Default, Clone)]
struct W(Vec<u8>);
impl W {
    fn u8(mut self, v: u8) -> W {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> W {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> W {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> W {
        self.0.extend_from_slice(b);
        self
    }
    fn pad2(mut self) -> W {
        if self.0.len() % 2 == 1 {
            self.0.push(0);
        }
        self
    }
}

/// A record with block 0 (and block 1 when `b1` is given) on blocks `blk0`/`b1`.
struct R {
    version: PgVersion,
    rmid: u8,
    info: u8,
    xid: u32,
    main: Vec<u8>,
    data0: Option<Vec<u8>>,
    blk0: u32,
    b1: Option<(u32, Option<Vec<u8>>)>,
    extra: Option<(u8, u32)>,
}
impl R {
    fn new(version: PgVersion, rmid: u8, info: u8, main: W) -> R {
        R {
            version,
            rmid,
            info,
            xid: 700,
            main: main.0,
            data0: None,
            blk0: 0,
            b1: None,
            extra: None,
        }
    }
    fn data(mut self, d: W) -> R {
        self.data0 = Some(d.0);
        self
    }
    fn rec(&self) -> HeapRecord<'_> {
        let mut blocks = vec![HeapBlock {
            block_id: 0,
            blkno: self.blk0,
            data: self.data0.as_deref(),
        }];
        if let Some((blk, d)) = &self.b1 {
            blocks.push(HeapBlock {
                block_id: 1,
                blkno: *blk,
                data: d.as_deref(),
            });
        }
        if let Some((id, blk)) = self.extra {
            blocks = vec![HeapBlock {
                block_id: id,
                blkno: blk,
                data: None,
            }];
        }
        HeapRecord {
            version: self.version,
            rmid: self.rmid,
            info: self.info,
            xid: self.xid,
            main: &self.main,
            blocks,
            hint_bits_logged: false,
        }
    }
}

const V15: PgVersion = PgVersion::V15;
const V16: PgVersion = PgVersion::V16;
const V18: PgVersion = PgVersion::V18;

/// INSERT of `body` (3 attributes, HEAP_HASVARWIDTH | HEAP_XMAX_INVALID) at `off`.
fn insert(v: PgVersion, off: u16, init: bool, body: &[u8]) -> R {
    let info = XLOG_HEAP_INSERT | if init { XLOG_HEAP_INIT_PAGE } else { 0 };
    R::new(v, RM_HEAP_ID, info, W::default().u16(off).u8(0))
        .data(W::default().u16(3).u16(0x0802).u8(24).bytes(body))
}

fn run(page: &mut Option<Box<PageBytes>>, r: &R) {
    apply(page, &r.rec(), 0, 0x1000).unwrap();
}

fn tuple(page: &PageBytes, off: u16) -> &[u8] {
    let (o, len) = normal_tuple(page, off).unwrap();
    &page[o..o + len]
}

fn body_of(i: u16) -> Vec<u8> {
    let mut b = vec![0u8]; // the t_hoff padding byte (24 - 23)
    b.extend((0..(10 + i as usize * 3)).map(|k| (k as u8).wrapping_mul(7) ^ i as u8));
    b
}

fn page_with(n: u16, v: PgVersion) -> Option<Box<PageBytes>> {
    let mut page = None;
    for off in 1..=n {
        run(&mut page, &insert(v, off, off == 1, &body_of(off)));
    }
    page
}

#[test]
fn insert_builds_heap_tuples() {
    let page = page_with(3, V15).unwrap();
    let p = Page::new(&page);
    assert_eq!(p.max_offset(), 3);
    assert_eq!(p.special(), BLCKSZ);
    assert_eq!(p.lsn(), 0x1000);
    for off in 1..=3u16 {
        let t = tuple(&page, off);
        assert_eq!(get32(t, T_XMIN), 700);
        assert_eq!(get32(t, T_XMAX), 0);
        assert_eq!(get16(t, T_CTID + 4), off);
        assert_eq!(get16(t, T_INFOMASK2), 3);
        assert_eq!(get16(t, T_INFOMASK), 0x0802);
        assert_eq!(t[T_HOFF], 24);
        assert_eq!(&t[HEAP_HEADER_SIZE..], &body_of(off)[..]);
    }
    // packed down from the end of the page, MAXALIGNed
    let lp1 = p.lp(1).unwrap();
    assert_eq!(lp1.off as usize, BLCKSZ - ((lp1.len as usize + 7) & !7));
}

#[test]
fn no_page_and_wrong_offsets_fail() {
    let mut page = None;
    let r = insert(V15, 1, false, b"x");
    assert!(matches!(
        apply(&mut page, &r.rec(), 0, 8),
        Err(HeapReplayError::Failed(m)) if m.contains("no full-page image")
    ));
    let mut page = page_with(2, V15);
    let before = page.clone();
    let r = insert(V15, 5, false, b"x");
    let e = apply(&mut page, &r.rec(), 0, 8).unwrap_err();
    assert!(e.to_string().contains("failed to add tuple at 5"), "{e}");
    assert_eq!(page, before, "a failed record changes nothing");
    // an occupied line pointer
    let r = insert(V15, 2, false, b"x");
    assert!(apply(&mut page, &r.rec(), 0, 8).is_err());
}

#[test]
fn other_records_are_refused_by_name() {
    let mut page = page_with(1, V15);
    let r = R::new(V15, RM_HEAP2_ID, XLOG_HEAP2_NEW_CID, W::default());
    let e = apply(&mut page, &r.rec(), 0, 8).unwrap_err();
    assert_eq!(e, HeapReplayError::Unsupported("Heap2/NEW_CID".to_string()));
    assert_eq!(
        e.to_string(),
        "Heap2/NEW_CID is not replayed for heap pages"
    );
}

fn delete(off: u16, xmax: u32, infobits: u8, flags: u8) -> R {
    R::new(
        V15,
        RM_HEAP_ID,
        XLOG_HEAP_DELETE,
        W::default().u32(xmax).u16(off).u8(infobits).u8(flags),
    )
}

#[test]
fn delete_sets_xmax_and_prunable() {
    let mut page = page_with(2, V15);
    // a hint bit and a combo cid the primary had, which redo resets
    {
        let p = page.as_mut().unwrap();
        let t = tuple_mut(p, 2).unwrap();
        put16(t, T_INFOMASK, 0x0802 | HEAP_XMAX_INVALID | HEAP_COMBOCID);
        put16(t, T_INFOMASK2, 3 | HEAP_HOT_UPDATED);
    }
    run(
        &mut page,
        &delete(2, 701, XLHL_KEYS_UPDATED, XLH_DELETE_ALL_VISIBLE_CLEARED),
    );
    let p = page.unwrap();
    let t = tuple(&p, 2);
    assert_eq!(get32(t, T_XMAX), 701);
    assert_eq!(get16(t, T_INFOMASK), 0x0802 & !HEAP_XMAX_INVALID);
    assert_eq!(get16(t, T_INFOMASK2), 3 | HEAP_KEYS_UPDATED);
    assert_eq!(get16(t, T_CTID + 4), 2);
    assert_eq!(Page::new(&p).prune_xid(), 700);
    // super-delete clears xmin instead
    let mut page = page_with(1, V15);
    run(&mut page, &delete(1, 0, 0, XLH_DELETE_IS_SUPER));
    assert_eq!(get32(tuple(page.as_ref().unwrap(), 1), T_XMIN), 0);
}

fn update_main(op: u8, old: u16, new: u16, flags: u8) -> R {
    R::new(
        V15,
        RM_HEAP_ID,
        op,
        W::default()
            .u32(702)
            .u16(old)
            .u8(0)
            .u8(flags)
            .u32(0)
            .u16(new),
    )
}

#[test]
fn hot_update_with_prefix_and_suffix() {
    let mut page = page_with(2, V15);
    let old = tuple(page.as_ref().unwrap(), 1)[HEAP_HEADER_SIZE..].to_vec();
    // new data: old's first 4 data bytes, 5 new bytes, old's last 3
    let data = &old[1..];
    let mut want = vec![0u8];
    want.extend_from_slice(&data[..4]);
    want.extend_from_slice(b"NEWXX");
    want.extend_from_slice(&data[data.len() - 3..]);
    let mut r = update_main(
        XLOG_HEAP_HOT_UPDATE,
        1,
        3,
        XLH_UPDATE_PREFIX_FROM_OLD | XLH_UPDATE_SUFFIX_FROM_OLD,
    );
    // prefixlen, suffixlen, xl_heap_header, bitmap/padding (1 byte), new middle
    r.data0 = Some(
        W::default()
            .u16(4)
            .u16(3)
            .u16(3 | HEAP_ONLY)
            .u16(0x0802 | 0x2000)
            .u8(24)
            .u8(0)
            .bytes(b"NEWXX")
            .0,
    );
    run(&mut page, &r);
    let p = page.unwrap();
    let o = tuple(&p, 1);
    assert_eq!(get32(o, T_XMAX), 702);
    assert_ne!(get16(o, T_INFOMASK2) & HEAP_HOT_UPDATED, 0);
    assert_eq!(get16(o, T_CTID + 4), 3);
    let n = tuple(&p, 3);
    assert_eq!(&n[HEAP_HEADER_SIZE..], &want[..]);
    assert_eq!(get32(n, T_XMIN), 700);
    assert_eq!(get16(n, T_INFOMASK2), 3 | HEAP_ONLY);
    assert_eq!(get16(n, T_CTID + 4), 3);
}

const HEAP_ONLY: u16 = 0x8000;

#[test]
fn update_across_pages_replays_each_half() {
    // old version on block 4 (block 1 of the record), new on block 9, a new page
    let mut old_page = page_with(2, V15);
    let mut r = update_main(XLOG_HEAP_UPDATE | XLOG_HEAP_INIT_PAGE, 2, 1, 0);
    r.blk0 = 9;
    r.b1 = Some((4, None));
    r.data0 = Some(W::default().u16(3).u16(0x0802).u8(24).bytes(&body_of(7)).0);
    apply(&mut old_page, &r.rec(), 1, 0x2000).unwrap();
    let t = tuple(old_page.as_ref().unwrap(), 2);
    assert_eq!(get32(t, T_XMAX), 702);
    assert_eq!(
        (get16(t, T_CTID), get16(t, T_CTID + 2), get16(t, T_CTID + 4)),
        (0, 9, 1)
    );
    let mut new_page = None;
    apply(&mut new_page, &r.rec(), 0, 0x2000).unwrap();
    let n = tuple(new_page.as_ref().unwrap(), 1);
    assert_eq!(&n[HEAP_HEADER_SIZE..], &body_of(7)[..]);
    assert_eq!(get16(n, T_CTID + 2), 9);
}

#[test]
fn lock_only_clears_the_forward_link() {
    let mut page = page_with(1, V16);
    {
        let t = tuple_mut(page.as_mut().unwrap(), 1).unwrap();
        set_ctid(t, 0, 5);
        put16(t, T_INFOMASK2, 3 | HEAP_HOT_UPDATED);
    }
    // FOR SHARE (EXCL | KEYSHR | LOCK_ONLY)
    let r = R::new(
        V16,
        RM_HEAP_ID,
        XLOG_HEAP_LOCK,
        W::default().u32(703).u16(1).u8(0x02 | 0x04 | 0x08).u8(0),
    );
    run(&mut page, &r);
    let t = tuple(page.as_ref().unwrap(), 1);
    assert_eq!(get32(t, T_XMAX), 703);
    assert_eq!(get16(t, T_CTID + 4), 1);
    assert_eq!(get16(t, T_INFOMASK2) & HEAP_HOT_UPDATED, 0);
    assert_eq!(
        get16(t, T_INFOMASK) & (HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK),
        HEAP_XMAX_LOCK_ONLY | HEAP_LOCK_MASK
    );
    let (e, next) = &row_events(&r.rec(), (0, 1))[0];
    assert_eq!((e.event.as_str(), next), ("locked", &None));
    assert_eq!(e.detail, "FOR SHARE by 703");
}

/// PRUNE (15 / 16 layouts) then VACUUM: line pointer states and the compaction.
#[test]
fn prune_then_vacuum_15_and_16() {
    for v in [V15, V16] {
        let mut page = page_with(5, v);
        let mut main = W::default().u32(690).u16(1).u16(1);
        if v == V16 {
            main = main.u8(0);
        }
        // 1 -> redirect to 3, 2 dead, 4 unused
        let r = R::new(v, RM_HEAP2_ID, XLOG_HEAP2_PRUNE, main)
            .data(W::default().u16(1).u16(3).u16(2).u16(4));
        run(&mut page, &r);
        let p = page.clone().unwrap();
        let pg = Page::new(&p);
        assert_eq!(pg.lp(1).unwrap().flags, LP_REDIRECT);
        assert_eq!(pg.lp(1).unwrap().off, 3);
        assert_eq!(pg.lp(2).unwrap().flags, LP_DEAD);
        assert_eq!(pg.lp(4).unwrap().flags, LP_UNUSED);
        // survivors 3 and 5 packed in line pointer order below the page end
        let l3 = pg.lp(3).unwrap();
        assert_eq!(l3.off as usize, BLCKSZ - ((l3.len as usize + 7) & !7));
        assert_eq!(&tuple(&p, 5)[HEAP_HEADER_SIZE..], &body_of(5)[..]);
        assert_ne!(pg.flags() & PD_HAS_FREE_LINES, 0);
        let ev = row_events(&r.rec(), (0, 1));
        assert!(ev[0].0.detail.contains("redirected to (0,3)"));
        // VACUUM frees 2
        let r = R::new(v, RM_HEAP2_ID, XLOG_HEAP2_VACUUM, W::default().u16(1))
            .data(W::default().u16(2));
        run(&mut page, &r);
        assert_eq!(
            Page::new(page.as_ref().unwrap()).lp(2).unwrap().flags,
            LP_UNUSED
        );
        assert_eq!(row_events(&r.rec(), (0, 2))[0].0.event, "vacuumed");
        // VACUUM of a line pointer that is not dead fails
        let r = R::new(v, RM_HEAP2_ID, XLOG_HEAP2_VACUUM, W::default().u16(1))
            .data(W::default().u16(3));
        assert!(apply(&mut page, &r.rec(), 0, 1).is_err());
    }
}

#[test]
fn freeze_15_and_16() {
    // 15: one xl_heap_freeze_tuple per tuple
    let mut page = page_with(2, V15);
    let r = R::new(
        V15,
        RM_HEAP2_ID,
        XLOG_HEAP2_FREEZE_PAGE,
        W::default().u32(650).u16(1),
    )
    .data(
        W::default()
            .u32(0)
            .u16(2)
            .u16(3)
            .u16(0x0802 | HEAP_XMIN_FROZEN)
            .u8(0)
            .u8(0),
    );
    run(&mut page, &r);
    let t = tuple(page.as_ref().unwrap(), 2);
    assert_eq!(get16(t, T_INFOMASK), 0x0802 | HEAP_XMIN_FROZEN);
    let (e, _) = &row_events(&r.rec(), (0, 2))[0];
    assert_eq!(e.event, "frozen");
    assert!(
        e.detail.starts_with("xmin frozen, xmax cleared"),
        "{}",
        e.detail
    );
    // 16: plans and their offsets
    let mut page = page_with(3, V16);
    let r = R::new(
        V16,
        RM_HEAP2_ID,
        XLOG_HEAP2_FREEZE_PAGE,
        W::default().u32(650).u16(1).u8(0),
    )
    .data(
        W::default()
            .u32(0)
            .u16(3)
            .u16(0x0802 | HEAP_XMIN_FROZEN)
            .u8(0)
            .u8(0)
            .u16(2)
            .u16(1)
            .u16(3),
    );
    run(&mut page, &r);
    for off in [1, 3] {
        let t = tuple(page.as_ref().unwrap(), off);
        assert_eq!(get16(t, T_INFOMASK), 0x0802 | HEAP_XMIN_FROZEN);
    }
    assert_eq!(get16(tuple(page.as_ref().unwrap(), 2), T_INFOMASK), 0x0802);
}

/// 17+'s merged record: prune with a cleanup lock plus a freeze plan; VACUUM's second
/// pass without one only truncates.
#[test]
fn prune_freeze_18() {
    let mut page = page_with(4, V18);
    let flags = XLHP_CLEANUP_LOCK
        | XLHP_HAS_FREEZE_PLANS
        | XLHP_HAS_REDIRECTIONS
        | XLHP_HAS_DEAD_ITEMS
        | XLHP_HAS_NOW_UNUSED_ITEMS
        | crate::waldecode::heap2::XLHP_HAS_CONFLICT_HORIZON;
    let r = R::new(
        V18,
        RM_HEAP2_ID,
        0x20,
        W::default().u8(1).u8(flags).u32(680),
    )
    .data(
        W::default()
            .u16(1)
            .u16(0)
            .u32(0)
            .u16(3)
            .u16(0x0802 | HEAP_XMIN_FROZEN)
            .u8(0)
            .u8(0)
            .u16(1)
            .u16(1) // one redirect
            .u16(1)
            .u16(3)
            .u16(1) // one dead
            .u16(2)
            .u16(1) // one unused
            .u16(4)
            .u16(3), // the plan's offset
    );
    run(&mut page, &r);
    let p = page.clone().unwrap();
    let pg = Page::new(&p);
    assert_eq!(
        [1, 2, 3].map(|o| pg.lp(o).unwrap().flags),
        [LP_REDIRECT, LP_DEAD, LP_NORMAL]
    );
    // the unused last line pointer was cut off the array
    assert_eq!(pg.max_offset(), 3);
    assert_eq!(get16(tuple(&p, 3), T_INFOMASK), 0x0802 | HEAP_XMIN_FROZEN);
    let ev = row_events(&r.rec(), (0, 3));
    assert_eq!(ev.len(), 1);
    assert!(
        ev[0].0.detail.contains("xmin frozen") && ev[0].0.detail.contains("horizon 680"),
        "{}",
        ev[0].0.detail
    );
    // PRUNE_VACUUM_CLEANUP without a cleanup lock: 2 becomes unused, no compaction
    let upper = pg.upper();
    let r = R::new(
        V18,
        RM_HEAP2_ID,
        0x30,
        W::default().u8(2).u8(XLHP_HAS_NOW_UNUSED_ITEMS),
    )
    .data(W::default().u16(1).u16(2));
    run(&mut page, &r);
    let pg = Page::new(page.as_ref().unwrap());
    assert_eq!(pg.lp(2).unwrap().flags, LP_UNUSED);
    assert_eq!(pg.upper(), upper);
    assert_eq!(row_events(&r.rec(), (0, 2))[0].0.event, "vacuumed");
}

#[test]
fn multi_insert_and_visible() {
    for init in [true, false] {
        let mut page = if init { None } else { page_with(1, V15) };
        let info = XLOG_HEAP2_MULTI_INSERT | if init { XLOG_HEAP_INIT_PAGE } else { 0 };
        let offs: Vec<u16> = if init { vec![1, 2] } else { vec![2, 3] };
        let mut main = W::default().u8(0).u8(0).u16(2);
        if !init {
            main = main.u16(2).u16(3);
        }
        let mut d = W::default();
        for i in 0..2u16 {
            let b = body_of(10 + i);
            d = d
                .pad2()
                .u16(b.len() as u16)
                .u16(3)
                .u16(0x0802)
                .u8(24)
                .bytes(&b);
        }
        let r = R::new(V15, RM_HEAP2_ID, info, main).data(d);
        run(&mut page, &r);
        for (i, off) in offs.iter().enumerate() {
            let t = tuple(page.as_ref().unwrap(), *off);
            assert_eq!(&t[HEAP_HEADER_SIZE..], &body_of(10 + i as u16)[..]);
            assert_eq!(get16(t, T_CTID + 4), *off);
        }
        assert_eq!(row_events(&r.rec(), (0, offs[1]))[0].0.event, "inserted");
    }
    // VISIBLE: block 1 is the heap page
    let mut page = page_with(1, V16);
    let mut r = R::new(
        V16,
        RM_HEAP2_ID,
        XLOG_HEAP2_VISIBLE,
        W::default().u32(5).u8(1),
    );
    r.b1 = Some((0, None));
    apply(&mut page, &r.rec(), 1, 0x9000).unwrap();
    let p = page.unwrap();
    assert!(Page::new(&p).is_all_visible());
    assert_eq!(
        Page::new(&p).lsn(),
        0x1000,
        "no LSN without checksums/wal_log_hints"
    );
}

#[test]
fn row_events_follow_an_update() {
    let mut r = update_main(XLOG_HEAP_UPDATE, 2, 7, 0);
    r.blk0 = 9;
    r.b1 = Some((4, None));
    r.data0 = Some(W::default().u16(3).u16(0x0802).u8(24).bytes(b"x").0);
    let ev = row_events(&r.rec(), (4, 2));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0.detail, "to (9,7) on another page");
    assert_eq!(ev[0].1, Some((9, 7)));
    assert!(row_events(&r.rec(), (9, 2)).is_empty());
    assert!(row_events(&r.rec(), (4, 3)).is_empty());
    let h = update_main(XLOG_HEAP_HOT_UPDATE, 2, 7, 0)
        .data(W::default().u16(3).u16(0x0802).u8(24).bytes(b"x"));
    let ev = row_events(&h.rec(), (0, 2));
    assert_eq!(ev[0].0.detail, "to (0,7) on the same page (HOT)");
}

#[test]
fn mask_ignores_hints_only() {
    let a = page_with(2, V15).unwrap();
    let mut b = a.clone();
    {
        let t = tuple_mut(&mut b, 1).unwrap();
        put16(t, T_INFOMASK, get16(t, T_INFOMASK) | HEAP_XMIN_COMMITTED);
        put32(t, T_CID, 44);
    }
    put32(&mut b[..], 20, 99);
    let (mut ma, mut mb) = (a.clone(), b.clone());
    heap_mask(&mut ma, 0);
    heap_mask(&mut mb, 0);
    assert_eq!(ma, mb);
    // but not xmax
    put32(tuple_mut(&mut b, 1).unwrap(), T_XMAX, 5);
    let mut mb = b.clone();
    heap_mask(&mut mb, 0);
    assert_ne!(ma, mb);
}

proptest! {
    /// A HOT update logged with prefix/suffix compression rebuilds the same page as the
    /// same update logged whole.
    #[test]
    fn compressed_update_equals_whole(
        old in proptest::collection::vec(any::<u8>(), 8..80),
        mid in proptest::collection::vec(any::<u8>(), 0..40),
        pre in 0usize..8, suf in 0usize..8,
    ) {
        let pre = pre.min(old.len() / 2);
        let suf = suf.min(old.len() / 2);
        let mut page = None;
        let mut oldb = vec![0u8];
        oldb.extend_from_slice(&old);
        run(&mut page, &insert(V15, 1, true, &oldb));
        let mut newdata = old[..pre].to_vec();
        newdata.extend_from_slice(&mid);
        newdata.extend_from_slice(&old[old.len() - suf..]);
        let hdr = |w: W| w.u16(3 | HEAP_ONLY).u16(0x0802).u8(24).u8(0);
        let mut whole = update_main(XLOG_HEAP_HOT_UPDATE, 1, 2, 0);
        whole.data0 = Some(hdr(W::default()).bytes(&newdata).0);
        let mut flags = 0;
        let mut w = W::default();
        if pre > 0 { flags |= XLH_UPDATE_PREFIX_FROM_OLD; w = w.u16(pre as u16); }
        if suf > 0 { flags |= XLH_UPDATE_SUFFIX_FROM_OLD; w = w.u16(suf as u16); }
        let mut comp = update_main(XLOG_HEAP_HOT_UPDATE, 1, 2, flags);
        comp.data0 = Some(hdr(w).bytes(&mid).0);
        let mut a = page.clone();
        let mut b = page;
        run(&mut a, &whole);
        run(&mut b, &comp);
        prop_assert!(a == b, "compressed and whole updates differ");
    }

    /// Random bytes as any heap record never panic, and a failed record leaves the page
    /// as it was.
    #[test]
    fn garbage_never_panics(
        rmid in prop_oneof![Just(RM_HEAP_ID), Just(RM_HEAP2_ID)],
        info in any::<u8>(),
        v in 0usize..4,
        main in proptest::collection::vec(any::<u8>(), 0..40),
        data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
        block_id in 0u8..2,
    ) {
        let mut page = page_with(4, PgVersion::ALL[v]);
        let before = page.clone();
        let mut r = R::new(PgVersion::ALL[v], rmid, info & 0xF0, W(main));
        r.data0 = data;
        r.b1 = Some((0, None));
        let rec = r.rec();
        if apply(&mut page, &rec, block_id, 1).is_err() {
            prop_assert!(page == before, "a failed record changed the page");
        }
        let _ = row_events(&rec, (0, 2));
        if let Some(p) = page.as_mut() { heap_mask(p, 0); }
    }

    /// Inserts, deletes, prunes and VACUUMs in random order replay to a consistent page
    /// whose surviving tuples are those inserted.
    #[test]
    fn random_workload_keeps_tuples(ops in proptest::collection::vec((0u8..3, 1u16..12), 1..40)) {
        let mut page = page_with(1, V16);
        let mut live: Vec<u16> = vec![1];
        let mut dead: Vec<u16> = vec![];
        let mut next_body = 100u16;
        let mut bodies = std::collections::HashMap::new();
        bodies.insert(1u16, body_of(1));
        for (op, n) in ops {
            let max = Page::new(page.as_ref().unwrap()).max_offset();
            match op {
                0 => {
                    // insert at the first unused line pointer or the end
                    let off = (1..=max).find(|&o| Page::new(page.as_ref().unwrap()).lp(o).unwrap().flags == LP_UNUSED).unwrap_or(max + 1);
                    next_body += 1;
                    let b = body_of(next_body % 40);
                    if apply(&mut page, &insert(V16, off, false, &b).rec(), 0, 1).is_ok() {
                        bodies.insert(off, b);
                        live.push(off);
                    }
                }
                1 if !live.is_empty() => {
                    // prune one live tuple to dead
                    let off = live.remove(n as usize % live.len());
                    let r = R::new(V16, RM_HEAP2_ID, XLOG_HEAP2_PRUNE, W::default().u32(5).u16(0).u16(1).u8(0))
                        .data(W::default().u16(off));
                    run(&mut page, &r);
                    dead.push(off);
                }
                2 if !dead.is_empty() => {
                    let r = R::new(V16, RM_HEAP2_ID, XLOG_HEAP2_VACUUM, W::default().u16(dead.len() as u16))
                        .data(dead.iter().fold(W::default(), |w, &d| w.u16(d)));
                    run(&mut page, &r);
                    dead.clear();
                }
                _ => {}
            }
            let p = page.as_ref().unwrap();
            let pg = Page::new(p);
            prop_assert!(pg.lower() <= pg.upper());
            for &off in &live {
                prop_assert_eq!(&tuple(p, off)[HEAP_HEADER_SIZE..], &bodies[&off][..]);
            }
            for &off in &dead {
                prop_assert_eq!(pg.lp(off).unwrap().flags, LP_DEAD);
            }
        }
    }
}

#[test]
fn lock_updated_and_confirm() {
    // LOCK_UPDATED: xmax and infobits only; t_ctid and the command id stay
    let mut page = page_with(2, V15);
    {
        let t = tuple_mut(page.as_mut().unwrap(), 2).unwrap();
        set_ctid(t, 0, 9);
        put32(t, T_CID, 77);
    }
    let r = R::new(
        V15,
        RM_HEAP2_ID,
        XLOG_HEAP2_LOCK_UPDATED,
        W::default().u32(704).u16(2).u8(0x08 | 0x02).u8(0),
    );
    run(&mut page, &r);
    let t = tuple(page.as_ref().unwrap(), 2);
    assert_eq!(get32(t, T_XMAX), 704);
    assert_eq!(get16(t, T_CTID + 4), 9);
    assert_eq!(get32(t, T_CID), 77);
    assert_eq!(
        get16(t, T_INFOMASK) & (HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_LOCK_ONLY),
        HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_LOCK_ONLY
    );
    let (e, _) = &row_events(&r.rec(), (0, 2))[0];
    assert_eq!(
        e.detail,
        "FOR KEY SHARE by 704 (a later version of a locked row)"
    );
    // CONFIRM: a speculative token in t_ctid becomes the tuple's own position
    {
        let t = tuple_mut(page.as_mut().unwrap(), 1).unwrap();
        put16(t, T_CTID + 4, 0xfffe);
    }
    let r = R::new(V15, RM_HEAP_ID, XLOG_HEAP_CONFIRM, W::default().u16(1));
    run(&mut page, &r);
    assert_eq!(get16(tuple(page.as_ref().unwrap(), 1), T_CTID + 4), 1);
    assert_eq!(row_events(&r.rec(), (0, 1))[0].0.event, "confirmed");
    // a record naming a line pointer that is not normal fails
    let r = R::new(V15, RM_HEAP_ID, XLOG_HEAP_CONFIRM, W::default().u16(3));
    assert!(apply(&mut page, &r.rec(), 0, 1)
        .unwrap_err()
        .to_string()
        .contains("beyond the line pointer array"));
}
