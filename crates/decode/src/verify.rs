//! Checks of a glassheap page that need no PostgreSQL (glassheap.verify): page header,
//! special space, line pointers, tuple headers, attribute extents, transaction ids
//! against the relation's horizons, and version pointers.

use crate::chains::{chain_problems, cycle_text, ChainNode, ChainProblem};
use glassheap_format::attrs::{split, AttrDesc};
use glassheap_format::layout::{
    special_is_valid, MAX_TUPLES_PER_PAGE, SPECIAL_OFFSET, SPECIAL_SIZE,
};
use glassheap_format::page::{
    line_pointers, PageHeader, LP_DEAD, LP_NORMAL, LP_REDIRECT, LP_UNUSED,
};
use glassheap_format::tuple::{bitmap_len, TupleFlags, TupleHeader, HEADER_SIZE};
use glassheap_format::{xid_is_normal, xid_precedes, Xid, MAXALIGN};

/// What the relation says a page must be consistent with.
#[derive(Debug, Clone)]
pub struct VerifyContext {
    pub blkno: u32,
    pub nblocks: u32,
    pub descs: Vec<AttrDesc>,
    /// The next transaction id to be assigned: no tuple may name this one or later.
    pub next_xid: Xid,
    /// Tuples older than relfrozenxid must be frozen.
    pub relfrozenxid: Xid,
    pub next_multi: Xid,
    pub relminmxid: Xid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub offnum: Option<u16>,
    /// The attribute (1-based) the problem lies in, when it lies in one (amcheck's
    /// verify_heapam `attnum`): attribute extents that run off the tuple or out of the
    /// null bitmap.
    pub attnum: Option<u16>,
    pub problem: String,
}

fn p(offnum: Option<u16>, problem: String) -> Problem {
    Problem {
        offnum,
        attnum: None,
        problem,
    }
}

fn check_xid(what: &str, xid: Xid, ctx: &VerifyContext, off: u16, out: &mut Vec<Problem>) {
    if !xid_is_normal(xid) {
        return;
    }
    if !xid_precedes(xid, ctx.next_xid) {
        out.push(p(
            Some(off),
            format!(
                "{what} {xid} equals or exceeds next valid transaction id {}",
                ctx.next_xid
            ),
        ));
    } else if xid_is_normal(ctx.relfrozenxid) && xid_precedes(xid, ctx.relfrozenxid) {
        out.push(p(
            Some(off),
            format!(
                "{what} {xid} precedes relation freeze threshold {}",
                ctx.relfrozenxid
            ),
        ));
    }
}

fn check_tuple(item: &[u8], off: u16, max_off: u16, ctx: &VerifyContext, out: &mut Vec<Problem>) {
    let h = match TupleHeader::decode(item) {
        Ok(h) => h,
        Err(e) => return out.push(p(Some(off), e.to_string())),
    };
    if let Err(e) = h.validate() {
        out.push(p(Some(off), e.to_string()));
    }
    let natts = h.natts() as usize;
    if natts > ctx.descs.len() {
        out.push(p(
            Some(off),
            format!(
                "tuple has {natts} attributes; the relation has {}",
                ctx.descs.len()
            ),
        ));
    }
    let hoff = h.hoff();
    if hoff > item.len() {
        return out.push(p(
            Some(off),
            format!(
                "header of {hoff} bytes is longer than the {}-byte tuple",
                item.len()
            ),
        ));
    }
    let nulls = h
        .has(TupleFlags::HAS_NULLS)
        .then(|| &item[HEADER_SIZE..HEADER_SIZE + bitmap_len(h.natts())]);
    let descs = &ctx.descs[..natts.min(ctx.descs.len())];
    match split(&item[hoff..], natts.min(descs.len()), nulls, descs) {
        Err(e) => out.push(Problem {
            offnum: Some(off),
            attnum: u16::try_from(e.attnum).ok(),
            problem: e.to_string(),
        }),
        Ok(slices) => {
            let end = slices
                .iter()
                .filter_map(|s| match s {
                    glassheap_format::attrs::AttrSlice::Value { start, len } => Some(start + len),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            if natts <= descs.len() && end < item.len() - hoff {
                out.push(p(
                    Some(off),
                    format!(
                        "{} bytes follow the last attribute",
                        item.len() - hoff - end
                    ),
                ));
            }
        }
    }
    if h.xmin_committed() && h.xmin_invalid() && !h.xmin_frozen() {
        out.push(p(Some(off), "xmin hint bits contradict each other".into()));
    }
    if !h.xmin_frozen() {
        check_xid("xmin", h.xmin, ctx, off, out);
    }
    if h.xmax_committed() && h.xmax_invalid() {
        out.push(p(
            Some(off),
            "xmax is marked both committed and invalid".into(),
        ));
    }
    if !h.xmax_invalid() && h.xmax != 0 {
        if h.xmax_is_multi() {
            if !xid_precedes(h.xmax, ctx.next_multi) {
                out.push(p(
                    Some(off),
                    format!(
                        "multixact {} equals or exceeds next multixact {}",
                        h.xmax, ctx.next_multi
                    ),
                ));
            } else if xid_is_normal(ctx.relminmxid) && xid_precedes(h.xmax, ctx.relminmxid) {
                out.push(p(
                    Some(off),
                    format!(
                        "multixact {} precedes relation minimum multixact {}",
                        h.xmax, ctx.relminmxid
                    ),
                ));
            }
        } else {
            check_xid("xmax", h.xmax, ctx, off, out);
        }
    }
    if let Some((blk, noff)) = h.next_tid(ctx.blkno) {
        if h.xmax_invalid() && h.xmax == 0 {
            out.push(p(
                Some(off),
                format!("version pointer ({blk},{noff}) on a tuple that was never updated"),
            ));
        }
        // An aborted updater's successor may be pruned and its line pointer truncated
        // away (the link is only dropped when VACUUM freezes the xmax), so a pointer past
        // the array or the relation is corruption only when the update is known
        // committed: then the successor can only be removed together with this version.
        let must_exist = h.xmax_committed();
        if blk == ctx.blkno && !h.has(TupleFlags::NEXT_ON_OTHER_PAGE) {
            if noff == off || (noff > max_off && must_exist) {
                out.push(p(Some(off), format!("version pointer ({blk},{noff}) does not name another line pointer on this page")));
            }
        } else if blk >= ctx.nblocks && must_exist {
            out.push(p(Some(off), format!("version pointer ({blk},{noff}) points past the end of the relation ({} blocks)", ctx.nblocks)));
        }
    }
}

/// Every problem found on one glassheap page.
pub fn verify_page(page: &[u8], ctx: &VerifyContext) -> Vec<Problem> {
    let mut out = Vec::new();
    let h = match PageHeader::decode(page) {
        Ok(h) => h,
        Err(e) => return vec![p(None, e.to_string())],
    };
    if page.len() != glassheap_format::BLCKSZ {
        return vec![p(None, format!("page has {} bytes", page.len()))];
    }
    if h.is_new() {
        if page.iter().any(|&b| b != 0) {
            out.push(p(
                None,
                "page is uninitialised (pd_upper = 0) but not all zeros".into(),
            ));
        }
        return out;
    }
    for problem in h.problems(page.len()) {
        out.push(p(None, problem));
    }
    if let glassheap_format::layout::PageKind::OtherVersion(v) =
        glassheap_format::layout::special_kind(&page[SPECIAL_OFFSET..SPECIAL_OFFSET + SPECIAL_SIZE])
    {
        out.push(p(None, glassheap_format::layout::other_version_message(v)));
        return out;
    }
    if h.special as usize != SPECIAL_OFFSET
        || !special_is_valid(&page[SPECIAL_OFFSET..SPECIAL_OFFSET + SPECIAL_SIZE])
    {
        out.push(p(
            None,
            "special space does not carry the glassheap magic and version".into(),
        ));
    }
    let lps = match line_pointers(page) {
        Ok(l) => l,
        Err(e) => return vec![p(None, e.to_string())],
    };
    if lps.len() > MAX_TUPLES_PER_PAGE {
        out.push(p(
            None,
            format!(
                "{} line pointers exceed the maximum of {MAX_TUPLES_PER_PAGE}",
                lps.len()
            ),
        ));
    }
    let max_off = lps.len() as u16;
    let mut extents: Vec<(usize, usize, u16)> = Vec::new();
    for lp in &lps {
        let off = lp.lp;
        match lp.flags {
            LP_UNUSED => {
                if lp.off != 0 || lp.len != 0 {
                    out.push(p(
                        Some(off),
                        format!(
                            "unused line pointer has offset {} and length {}",
                            lp.off, lp.len
                        ),
                    ));
                }
            }
            LP_REDIRECT => {
                if lp.len != 0 || lp.off == 0 || lp.off > max_off {
                    out.push(p(
                        Some(off),
                        format!("redirect to line pointer {} is not valid", lp.off),
                    ));
                }
            }
            _ => {
                let (o, l) = (lp.off as usize, lp.len as usize);
                if lp.flags == LP_DEAD && l == 0 {
                    continue;
                }
                if o % MAXALIGN != 0
                    || o < h.upper as usize
                    || o + l > SPECIAL_OFFSET
                    || l < HEADER_SIZE
                {
                    out.push(p(
                        Some(off),
                        format!(
                            "item at offset {o} length {l} lies outside the tuple area {}..{}",
                            h.upper, SPECIAL_OFFSET
                        ),
                    ));
                    continue;
                }
                extents.push((o, o + l, off));
                if lp.flags == LP_NORMAL {
                    check_tuple(&page[o..o + l], off, max_off, ctx, &mut out);
                }
            }
        }
    }
    // A redirect stands for a pruned chain root: it must lead to a heap-only version.
    for lp in lps.iter().filter(|lp| lp.flags == LP_REDIRECT) {
        let Some(t) = lps.get((lp.off as usize).wrapping_sub(1)) else {
            continue; // reported above
        };
        let heap_only = t.flags == LP_NORMAL
            && (t.len as usize) >= HEADER_SIZE
            && (t.off as usize) + (t.len as usize) <= SPECIAL_OFFSET
            && TupleHeader::read(&page[t.off as usize..]).has(TupleFlags::HEAP_ONLY);
        if !heap_only {
            out.push(p(
                Some(lp.lp),
                format!(
                    "redirect to line pointer {}, which is not a heap-only version",
                    lp.off
                ),
            ));
        }
    }
    // Update chains on this page: loops, and committed heap-only versions no chain
    // root (a redirect or a version that is not heap-only) leads to.
    let mut nodes = Vec::new();
    for lp in &lps {
        match lp.flags {
            LP_REDIRECT => nodes.push(ChainNode {
                off: lp.lp,
                next: (lp.off >= 1 && lp.off <= max_off).then_some(lp.off),
                root: true,
                must_be_reached: false,
            }),
            LP_NORMAL => {
                let (o, l) = (lp.off as usize, lp.len as usize);
                if l < HEADER_SIZE || o < h.upper as usize || o + l > SPECIAL_OFFSET {
                    continue; // reported above
                }
                let t = TupleHeader::read(&page[o..]);
                let heap_only = t.has(TupleFlags::HEAP_ONLY);
                nodes.push(ChainNode {
                    off: lp.lp,
                    next: t
                        .next_tid(ctx.blkno)
                        .filter(|_| !t.has(TupleFlags::NEXT_ON_OTHER_PAGE))
                        .map(|(_, n)| n)
                        .filter(|&n| n >= 1 && n <= max_off),
                    root: !heap_only,
                    must_be_reached: heap_only && (t.xmin_committed() || t.xmin_frozen()),
                });
            }
            _ => {}
        }
    }
    for cp in chain_problems(&nodes) {
        match cp {
            ChainProblem::Cycle(offs) => out.push(p(
                offs.first().copied(),
                format!("update chain loops: {}", cycle_text(ctx.blkno, &offs)),
            )),
            ChainProblem::Unreached(off) => out.push(p(
                Some(off),
                "heap-only version with a committed xmin is not reached from any chain root on this page".into(),
            )),
        }
    }
    extents.sort();
    for w in extents.windows(2) {
        if w[1].0 < w[0].1 {
            out.push(p(
                Some(w[1].2),
                format!("item overlaps line pointer {}", w[0].2),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::tests::{glassheap_page, tuple};
    use proptest::prelude::*;

    fn ctx() -> VerifyContext {
        let int4 = AttrDesc {
            len: 4,
            align: b'i',
            byval: true,
        };
        VerifyContext {
            blkno: 0,
            nblocks: 1,
            descs: vec![int4, int4],
            next_xid: 1000,
            relfrozenxid: 3,
            next_multi: 10,
            relminmxid: 1,
        }
    }

    #[test]
    fn healthy_page_has_no_problems() {
        let p = glassheap_page(&[
            tuple(500, &[1, 0, 0, 0, 2, 0, 0, 0]),
            tuple(501, &[3, 0, 0, 0, 4, 0, 0, 0]),
        ]);
        assert_eq!(verify_page(&p, &ctx()), vec![]);
        assert_eq!(
            verify_page(&vec![0u8; glassheap_format::BLCKSZ], &ctx()),
            vec![]
        );
    }

    #[test]
    fn redirect_must_lead_to_a_heap_only_version() {
        let mut ho = glassheap_format::tuple::TupleHeader::new_insert(501, 0, 2, false);
        ho.set_flags(TupleFlags::HEAP_ONLY);
        let mut t2 = ho.to_bytes().to_vec();
        t2.extend_from_slice(&[3, 0, 0, 0, 4, 0, 0, 0]);
        let mut page = glassheap_page(&[tuple(500, &[1, 0, 0, 0, 2, 0, 0, 0]), t2]);
        let redirect_1_to = |page: &mut Vec<u8>, to: u32| {
            // line pointer 1: lp_off = to, lp_flags = LP_REDIRECT (2), lp_len = 0
            let v: u32 = to | ((LP_REDIRECT as u32) << 15);
            page[24..28].copy_from_slice(&v.to_ne_bytes());
        };
        redirect_1_to(&mut page, 2);
        assert_eq!(verify_page(&page, &ctx()), vec![]);
        let mut bad = glassheap_page(&[
            tuple(500, &[1, 0, 0, 0, 2, 0, 0, 0]),
            tuple(501, &[3, 0, 0, 0, 4, 0, 0, 0]),
        ]);
        redirect_1_to(&mut bad, 2);
        assert!(verify_page(&bad, &ctx())[0]
            .problem
            .contains("not a heap-only version"));
    }

    /// A version whose update aborted keeps its link until VACUUM freezes the xmax; the
    /// successor may already be pruned and its slot truncated away. Only a committed
    /// update must still have its successor.
    #[test]
    fn pruned_successor_of_an_aborted_update_is_not_corruption() {
        let updated = |hint: TupleFlags| {
            let mut h = glassheap_format::tuple::TupleHeader::new_insert(500, 0, 2, false);
            h.xmax = 600;
            h.clear_flags(TupleFlags::XMAX_INVALID);
            h.set_flags(hint);
            h.set_next_off(2);
            let mut t = h.to_bytes().to_vec();
            t.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
            glassheap_page(&[t])
        };
        assert_eq!(
            verify_page(&updated(TupleFlags::XMAX_INVALID), &ctx()),
            vec![]
        );
        assert_eq!(verify_page(&updated(TupleFlags::empty()), &ctx()), vec![]);
        assert!(verify_page(&updated(TupleFlags::XMAX_COMMITTED), &ctx())[0]
            .problem
            .contains("does not name another line pointer"));
    }

    /// (0,1) -> (0,2) -> (0,3) -> (0,1): the loop is named, once.
    #[test]
    fn update_chain_loop_is_reported() {
        let linked = |xmin: u32, next: u16, heap_only: bool| {
            let mut h = glassheap_format::tuple::TupleHeader::new_insert(xmin, 0, 2, false);
            h.xmax = xmin + 1;
            h.clear_flags(TupleFlags::XMAX_INVALID);
            h.set_flags(TupleFlags::XMIN_COMMITTED | TupleFlags::XMAX_COMMITTED);
            if heap_only {
                h.set_flags(TupleFlags::HEAP_ONLY);
            }
            h.set_next_off(next);
            let mut t = h.to_bytes().to_vec();
            t.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
            t
        };
        let page = glassheap_page(&[
            linked(500, 2, false),
            linked(501, 3, true),
            linked(502, 1, true),
        ]);
        let probs = verify_page(&page, &ctx());
        assert_eq!(
            probs,
            vec![p(
                Some(1),
                "update chain loops: (0,1) -> (0,2) -> (0,3) -> (0,1)".into()
            )]
        );
        // the same loop among heap-only versions only: nothing leads into it
        let page = glassheap_page(&[linked(500, 2, true), linked(501, 1, true)]);
        let probs = verify_page(&page, &ctx());
        assert_eq!(probs.len(), 3, "{probs:?}");
        assert!(probs[1].problem.contains("not reached from any chain root"));
    }

    #[test]
    fn finds_planted_damage() {
        let good = glassheap_page(&[tuple(500, &[1, 0, 0, 0, 2, 0, 0, 0])]);
        let future = glassheap_page(&[tuple(5000, &[1, 0, 0, 0, 2, 0, 0, 0])]);
        assert!(verify_page(&future, &ctx())[0]
            .problem
            .contains("exceeds next valid transaction id"));
        let short = glassheap_page(&[tuple(500, &[1, 0, 0, 0])]);
        let probs = verify_page(&short, &ctx());
        assert!(probs[0].problem.contains("past the end"));
        // the attribute that runs off the tuple is named, like verify_heapam's attnum
        assert_eq!(probs[0].attnum, Some(2), "{probs:?}");
        // a problem of the tuple as a whole names no attribute
        assert_eq!(verify_page(&future, &ctx())[0].attnum, None);
        let mut magic = good.clone();
        magic[SPECIAL_OFFSET] ^= 0xFF;
        assert!(verify_page(&magic, &ctx())[0].problem.contains("magic"));
        let mut lp = good.clone();
        lp[24..28].copy_from_slice(&(16u32 | (1 << 15) | (24 << 17)).to_ne_bytes());
        assert!(!verify_page(&lp, &ctx()).is_empty());
        let mut mode = good;
        let upper = u16::from_ne_bytes([mode[14], mode[15]]) as usize;
        mode[upper + 14] |= 0x70; // xmax mode bits 6/7
        assert!(verify_page(&mode, &ctx())
            .iter()
            .any(|p| p.problem.contains("xmax mode")));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(flips in proptest::collection::vec((0usize..8192, any::<u8>()), 0..60)) {
            let mut p = glassheap_page(&[tuple(500, &[1, 0, 0, 0, 2, 0, 0, 0]), tuple(501, &[3, 0, 0, 0, 4, 0, 0, 0])]);
            for (at, v) in flips { p[at] = v; }
            let _ = verify_page(&p, &ctx());
        }
    }
}
