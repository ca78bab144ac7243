#![allow(clippy::type_complexity)] // pgrx needs each row tuple spelled out in the signature
//! glassheap.page, glassheap.page_header and glassheap.page_items.

use super::types::{Lsn, Name, Xid};
use super::{check_not_other_temp, table_am};
use crate::pg::bufmgr::{LockMode, LockedBuffer};
use glassheap_decode::items::{page_items as decode_items, Am, ItemRow};
use glassheap_format::layout::MAX_TUPLES_PER_PAGE;
use glassheap_format::page::PageHeader;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};

/// A copy of one block of any relation with storage, read through the buffer manager.
pub(crate) fn read_block(rel: &PgRelation, blkno: i64, fork: &str) -> Vec<u8> {
    check_not_other_temp(rel);
    // SAFETY: rel is open; the fork is one of the four names; the block is checked against the fork's size before reading it.
    unsafe {
        let r = rel.as_ptr();
        if !super::has_storage(rel) {
            super::raise(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!(
                    "cannot read a page of \"{}\": it has no storage",
                    rel.name()
                ),
            );
        }
        super::check_read_privilege(rel);
        let forknum = match fork {
            "main" => pg_sys::ForkNumber::MAIN_FORKNUM,
            "fsm" => pg_sys::ForkNumber::FSM_FORKNUM,
            "vm" => pg_sys::ForkNumber::VISIBILITYMAP_FORKNUM,
            "init" => pg_sys::ForkNumber::INIT_FORKNUM,
            _ => super::raise_detail(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid fork name \"{fork}\""),
                "Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\".",
            ),
        };
        if !pg_sys::smgrexists(pg_sys::RelationGetSmgr(r), forknum) {
            super::raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("relation \"{}\" has no {} fork", rel.name(), fork),
            );
        }
        let nblocks = pg_sys::RelationGetNumberOfBlocksInFork(r, forknum) as i64;
        if blkno < 0 || blkno >= nblocks {
            super::raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("block number {} is out of range for relation \"{}\" ({} blocks in the {} fork)", blkno, rel.name(), nblocks, fork));
        }
        let buf = LockedBuffer::read(
            r,
            forknum,
            blkno as u32,
            LockMode::Share,
            std::ptr::null_mut(),
        );
        buf.page().bytes().to_vec()
    }
}

#[pg_extern]
fn page(rel: PgRelation, blkno: i64, fork: default!(&str, "'main'")) -> Vec<u8> {
    read_block(&rel, blkno, fork)
}

fn header_of(page: &[u8]) -> PageHeader {
    if page.len() != glassheap_format::BLCKSZ {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "invalid page: {} bytes; a page is {} bytes",
                page.len(),
                glassheap_format::BLCKSZ
            ),
        );
    }
    PageHeader::decode(page).unwrap_or_else(|e| {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid page: {e}"),
        )
    })
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn page_header(
    page: &[u8],
) -> TableIterator<
    'static,
    (
        name!(lsn, Lsn),
        name!(checksum, i32),
        name!(flags, Vec<String>),
        name!(lower, i32),
        name!(upper, i32),
        name!(special, i32),
        name!(pagesize, i32),
        name!(version, i16),
        name!(prune_xid, Xid),
        name!(free_space, i32),
        name!(flags_raw, i32),
        name!(line_pointers, i32),
        name!(valid, bool),
        name!(problems, Vec<String>),
    ),
> {
    let h = header_of(page);
    let problems = h.problems(page.len());
    TableIterator::once((
        Lsn(h.lsn),
        h.checksum as i32,
        h.flag_names(),
        h.lower as i32,
        h.upper as i32,
        h.special as i32,
        h.page_size() as i32,
        // the low byte of pd_pagesize_version: smallint, as in pageinspect
        h.layout_version() as i16,
        Xid(h.prune_xid),
        h.free_space() as i32,
        h.flags as i32,
        h.line_pointer_count() as i32,
        problems.is_empty(),
        problems,
    ))
}

fn item_rows(
    page: &[u8],
    am: Am,
    blkno: u32,
) -> TableIterator<
    'static,
    (
        name!(lp, i16),
        name!(lp_flags, String),
        name!(lp_flags_raw, i16),
        name!(lp_off, i16),
        name!(lp_len, i16),
        name!(xmin, Option<Xid>),
        name!(xmax, Option<Xid>),
        name!(cid, Option<i64>),
        name!(ctid, Option<pg_sys::ItemPointerData>),
        name!(flags, Option<Vec<String>>),
        name!(t_infomask2, Option<i32>),
        name!(t_infomask, Option<i32>),
        name!(info, Option<i64>),
        name!(natts, Option<i32>),
        name!(hoff, Option<i32>),
        name!(nulls, Option<String>),
        name!(data, Option<Vec<u8>>),
        name!(header, Option<JsonB>),
        name!(problem, Option<String>),
    ),
> {
    // Line pointers are only meaningful under a sane header; a page that fails
    // PageHeaderIsValid's rules is reported as a whole (page_header shows why).
    let problems = header_of(page).problems(page.len());
    if !problems.is_empty() {
        super::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("invalid page header: {}", problems.join("; ")),
        );
    }
    // A glassheap page carries its magic in the special space; anything else (a heap
    // page, an index page) would decode into plausible-looking nonsense.
    use glassheap_format::layout::{special_is_valid, SPECIAL_OFFSET};
    if am == Am::Glassheap
        && !header_of(page).is_new()
        && !special_is_valid(&page[SPECIAL_OFFSET..])
    {
        super::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            "not a glassheap page: the special space does not hold glassheap's magic and version",
        );
    }
    // No heap or glassheap page holds more line pointers than MaxHeapTuplesPerPage (an
    // index could not address them); a longer array is damage, not rows to decode.
    let nlp = header_of(page).line_pointer_count();
    if !header_of(page).is_new() && nlp > MAX_TUPLES_PER_PAGE {
        super::raise_detail(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("invalid page: {nlp} line pointers; a heap or glassheap page holds at most {MAX_TUPLES_PER_PAGE}"),
            "pd_lower says how long the line pointer array is; MaxHeapTuplesPerPage is 291 for 8 kB pages.",
        );
    }
    let rows = decode_items(page, am, blkno).unwrap_or_else(|e| {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid page: {e}"),
        )
    });
    TableIterator::new(rows.into_iter().map(|r: ItemRow| {
        let has_header = r.xmin.is_some();
        (
            // line pointer numbers, offsets and lengths have 15 bits at most: smallint,
            // as in pageinspect's heap_page_items
            r.lp as i16,
            r.lp_flags.to_string(),
            r.lp_flags_raw as i16,
            r.lp_off as i16,
            r.lp_len as i16,
            r.xmin.map(Xid),
            r.xmax.map(Xid),
            r.cid.map(|c| c as i64),
            r.ctid.map(|(b, o)| crate::pg::rel::make_tid(b, o)),
            has_header.then_some(r.flags),
            r.t_infomask2.map(i32::from),
            r.t_infomask.map(i32::from),
            r.info.map(i64::from),
            r.natts.map(|n| n as i32),
            r.hoff.map(|h| h as i32),
            r.nulls,
            r.data,
            r.header.map(JsonB),
            r.error,
        )
    }))
}

/// Line pointers and tuple headers of one block of a heap or glassheap table.
#[pg_extern(name = "page_items")]
fn page_items_rel(
    rel: PgRelation,
    blkno: i64,
) -> TableIterator<
    'static,
    (
        name!(lp, i16),
        name!(lp_flags, String),
        name!(lp_flags_raw, i16),
        name!(lp_off, i16),
        name!(lp_len, i16),
        name!(xmin, Option<Xid>),
        name!(xmax, Option<Xid>),
        name!(cid, Option<i64>),
        name!(ctid, Option<pg_sys::ItemPointerData>),
        name!(flags, Option<Vec<String>>),
        name!(t_infomask2, Option<i32>),
        name!(t_infomask, Option<i32>),
        name!(info, Option<i64>),
        name!(natts, Option<i32>),
        name!(hoff, Option<i32>),
        name!(nulls, Option<String>),
        name!(data, Option<Vec<u8>>),
        name!(header, Option<JsonB>),
        name!(problem, Option<String>),
    ),
> {
    let am = table_am(&rel);
    let page = read_block(&rel, blkno, "main");
    item_rows(&page, am, blkno as u32)
}

/// The same for a page image (from glassheap.page or get_raw_page), decoded as `am`'s
/// format; `blkno` names the block for glassheap's self pointers.
#[pg_extern(name = "page_items")]
fn page_items_bytes(
    page: &[u8],
    am: Name,
    blkno: default!(i64, 0),
) -> TableIterator<
    'static,
    (
        name!(lp, i16),
        name!(lp_flags, String),
        name!(lp_flags_raw, i16),
        name!(lp_off, i16),
        name!(lp_len, i16),
        name!(xmin, Option<Xid>),
        name!(xmax, Option<Xid>),
        name!(cid, Option<i64>),
        name!(ctid, Option<pg_sys::ItemPointerData>),
        name!(flags, Option<Vec<String>>),
        name!(t_infomask2, Option<i32>),
        name!(t_infomask, Option<i32>),
        name!(info, Option<i64>),
        name!(natts, Option<i32>),
        name!(hoff, Option<i32>),
        name!(nulls, Option<String>),
        name!(data, Option<Vec<u8>>),
        name!(header, Option<JsonB>),
        name!(problem, Option<String>),
    ),
> {
    let am = Am::from_name(&am.0).unwrap_or_else(|| {
        super::raise_detail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown access method \"{}\"", am.0),
            "Use 'heap' or 'glassheap'.",
        )
    });
    // 4294967295 is InvalidBlockNumber: no page has it (MaxBlockNumber is one less)
    if !(0..u32::MAX as i64).contains(&blkno) {
        super::raise_detail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("block number {blkno} is out of range"),
            format!(
                "A block number is between 0 and {} (4294967295 is InvalidBlockNumber).",
                u32::MAX - 1
            ),
        );
    }
    item_rows(page, am, blkno as u32)
}
