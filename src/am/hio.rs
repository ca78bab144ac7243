//! Finding a page with room for a new tuple (heap's hio.c): the cached target block, the
//! free space map, the last page, and finally extending the relation. Returns the buffer
//! pinned and exclusively locked, as guards (`LockedBuffer`, `BufferLock`); when the
//! caller already holds another buffer (UPDATE's old page) both are locked lower block
//! number first, the rule every writer follows to avoid deadlocks.

use crate::pg::bufmgr::{BufferLock, LockMode, LockedBuffer};
use crate::pg::page::PageRef;
use crate::pg::rel;
use glassheap_format::layout::{ITEM_ID_SIZE, MAX_TUPLES_PER_PAGE, MAX_TUPLE_SIZE};
use glassheap_format::tuple::maxalign;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// The leading fields of BulkInsertStateData (access/hio.h), which pgrx leaves opaque:
/// PostgreSQL 15's whole struct; 16 to 18 append fields for heap's bulk extension, which
/// glassheap neither reads nor writes (GetBulkInsertState initializes them).
#[repr(C)]
struct BulkInsertStateData {
    strategy: pg_sys::BufferAccessStrategy,
    current_buf: pg_sys::Buffer,
}

fn bi_state(b: pg_sys::BulkInsertState) -> *mut BulkInsertStateData {
    b as *mut BulkInsertStateData
}

const INVALID: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;

/// ReadBufferBI: read through a COPY's bulk-insert state, keeping one extra pin on the
/// current target so consecutive inserts do not re-read it.
unsafe fn read_bi(
    relation: pg_sys::Relation,
    blk: pg_sys::BlockNumber,
    mode: pg_sys::ReadBufferMode::Type,
    bistate: pg_sys::BulkInsertState,
) -> pg_sys::Buffer {
    // SAFETY: bufmgr calls on a valid relation; bistate fields per hio.c.
    unsafe {
        if bistate.is_null() {
            return pg_sys::ReadBufferExtended(
                relation,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                blk,
                mode,
                std::ptr::null_mut(),
            );
        }
        let bi = &mut *bi_state(bistate);
        if bi.current_buf != INVALID {
            if blk != pg_sys::InvalidBlockNumber
                && crate::pg::page::buffer_block_number(bi.current_buf) == blk
            {
                pg_sys::IncrBufferRefCount(bi.current_buf);
                return bi.current_buf;
            }
            crate::pg::bufmgr::release(bi.current_buf);
            bi.current_buf = INVALID;
        }
        let buf = pg_sys::ReadBufferExtended(
            relation,
            pg_sys::ForkNumber::MAIN_FORKNUM,
            blk,
            mode,
            bi.strategy,
        );
        pg_sys::IncrBufferRefCount(buf);
        bi.current_buf = buf;
        buf
    }
}

/// Formats a page that was never initialised (new, or extended and never written).
fn init_if_new(relation: pg_sys::Relation, buffer: pg_sys::Buffer) {
    // SAFETY: buffer pinned and exclusively locked.
    let page = unsafe { PageRef::of_buffer(buffer) };
    if page.is_new() {
        page.init();
        // SAFETY: as above.
        unsafe { pg_sys::MarkBufferDirty(buffer) };
    } else if !page.is_glassheap() {
        // SAFETY: pinned buffer.
        let blk = unsafe { crate::pg::page::buffer_block_number(buffer) };
        crate::pg::page::not_a_glassheap_page(relation, blk, page);
    } else {
        // Adding an item (in a critical section) relies on the header's pointers.
        if let Err(d) = glassheap_format::pagecheck::check_header_for_change(
            page.lower(),
            page.upper(),
            page.special(),
        ) {
            // SAFETY: pinned buffer.
            let blk = unsafe { crate::pg::page::buffer_block_number(buffer) };
            crate::pg::page::damaged_page(relation, blk, &d);
        }
    }
}

/// A buffer whose page has room for `len` bytes of tuple, pinned and exclusively locked
/// by the guard returned (INSERT, COPY).
pub fn buffer_for_tuple(
    relation: pg_sys::Relation,
    len: usize,
    use_fsm: bool,
    bistate: pg_sys::BulkInsertState,
) -> LockedBuffer {
    let found = find_buffer(relation, len, INVALID, use_fsm, bistate);
    debug_assert!(found.pinned_here && found.other.is_none());
    // SAFETY: find_buffer pinned the buffer for us (without `other`, always).
    unsafe { found.lock.with_pin() }
}

/// The page for an UPDATE's new version when the old one's page `other` (pinned by the
/// caller, unlocked) was too full: a guard over another buffer, pinned and exclusively
/// locked, or None when `other` itself has room by now; and the exclusive lock on
/// `other`, taken in block order with the new page's.
pub fn buffer_for_update(
    relation: pg_sys::Relation,
    len: usize,
    other: pg_sys::Buffer,
) -> (Option<LockedBuffer>, BufferLock) {
    debug_assert!(other != INVALID);
    let found = find_buffer(relation, len, other, true, std::ptr::null_mut());
    match found.other {
        // SAFETY: a buffer other than `other`, which find_buffer pinned for us.
        Some(other_lock) => (Some(unsafe { found.lock.with_pin() }), other_lock),
        None => {
            debug_assert!(!found.pinned_here);
            (None, found.lock)
        }
    }
}

/// What [`find_buffer`] found.
struct Found {
    /// The exclusive lock on the page with room.
    lock: BufferLock,
    /// Was that page pinned here (the pin is then the caller's to release), or is it
    /// `other`?
    pinned_here: bool,
    /// The exclusive lock on `other` when that is another page.
    other: Option<BufferLock>,
}

/// A page with room for `len` bytes of tuple, exclusively locked. `other`, if valid, is
/// the caller's pinned (unlocked) buffer; on return it is locked too.
fn find_buffer(
    relation: pg_sys::Relation,
    len: usize,
    other: pg_sys::Buffer,
    use_fsm: bool,
    bistate: pg_sys::BulkInsertState,
) -> Found {
    let len = maxalign(len);
    if len > MAX_TUPLE_SIZE {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "row is too big: size {}, maximum size {}",
                len, MAX_TUPLE_SIZE
            )
        );
    }
    let save = rel::target_page_free_space(relation);
    // As heap: when fillfactor leaves less room than the tuple needs, aim for a page that
    // is at least not nearly full.
    let target_free = if len + save > MAX_TUPLE_SIZE {
        len.max(MAX_TUPLE_SIZE - (MAX_TUPLES_PER_PAGE / 8 * ITEM_ID_SIZE))
    } else {
        len + save
    };
    // SAFETY: bufmgr/freespace calls on a valid relation; buffers tracked below.
    unsafe {
        let other_blk = if other != INVALID {
            crate::pg::page::buffer_block_number(other)
        } else {
            pg_sys::InvalidBlockNumber
        };
        let mut target = if !bistate.is_null() && (*bi_state(bistate)).current_buf != INVALID {
            crate::pg::page::buffer_block_number((*bi_state(bistate)).current_buf)
        } else {
            rel::target_block(relation)
        };
        if target == pg_sys::InvalidBlockNumber && use_fsm {
            target = pg_sys::GetPageWithFreeSpace(relation, target_free);
        }
        if target == pg_sys::InvalidBlockNumber {
            let n = rel::nblocks(relation);
            if n > 0 {
                target = n - 1;
            }
        }
        loop {
            while target != pg_sys::InvalidBlockNumber {
                let (lock, other_lock, pinned_here);
                if other == INVALID {
                    let buffer = read_bi(
                        relation,
                        target,
                        pg_sys::ReadBufferMode::RBM_NORMAL,
                        bistate,
                    );
                    (lock, other_lock, pinned_here) = (BufferLock::exclusive(buffer), None, true);
                } else if other_blk == target {
                    (lock, other_lock, pinned_here) = (BufferLock::exclusive(other), None, false);
                } else {
                    let buffer = pg_sys::ReadBufferExtended(
                        relation,
                        pg_sys::ForkNumber::MAIN_FORKNUM,
                        target,
                        pg_sys::ReadBufferMode::RBM_NORMAL,
                        std::ptr::null_mut(),
                    );
                    pinned_here = true;
                    // lower block first, as heap does, so two updaters cannot deadlock
                    if other_blk < target {
                        other_lock = Some(BufferLock::exclusive(other));
                        lock = BufferLock::exclusive(buffer);
                    } else {
                        lock = BufferLock::exclusive(buffer);
                        other_lock = Some(BufferLock::exclusive(other));
                    }
                }
                let buffer = lock.buffer();
                init_if_new(relation, buffer);
                let free = lock.page().free_space();
                if target_free <= free {
                    rel::set_target_block(relation, target);
                    return Found {
                        lock,
                        pinned_here,
                        other: other_lock,
                    };
                }
                drop(lock);
                drop(other_lock);
                if pinned_here {
                    crate::pg::bufmgr::release(buffer);
                }
                if !use_fsm {
                    break;
                }
                target = pg_sys::RecordAndGetPageWithFreeSpace(relation, target, free, target_free);
            }

            // Extend the relation.
            let need_lock = !rel::uses_local_buffers(relation);
            if need_lock {
                if !use_fsm {
                    pg_sys::LockRelationForExtension(relation, pg_sys::ExclusiveLock as i32);
                } else if !pg_sys::ConditionalLockRelationForExtension(
                    relation,
                    pg_sys::ExclusiveLock as i32,
                ) {
                    pg_sys::LockRelationForExtension(relation, pg_sys::ExclusiveLock as i32);
                    // Someone else extended meanwhile and may have left room.
                    target = pg_sys::GetPageWithFreeSpace(relation, target_free);
                    if target != pg_sys::InvalidBlockNumber {
                        pg_sys::UnlockRelationForExtension(relation, pg_sys::ExclusiveLock as i32);
                        continue;
                    }
                }
            }
            let buffer = read_bi(
                relation,
                pg_sys::InvalidBlockNumber, /* P_NEW */
                pg_sys::ReadBufferMode::RBM_ZERO_AND_LOCK,
                bistate,
            );
            // RBM_ZERO_AND_LOCK returns the new page pinned and exclusively locked.
            let mut lock = BufferLock::adopt(buffer, LockMode::Exclusive);
            let page = lock.page_ref();
            if !page.is_new() {
                error!(
                    "page {} of relation \"{}\" should be empty but is not",
                    crate::pg::page::buffer_block_number(buffer),
                    rel::name(relation)
                );
            }
            page.init();
            pg_sys::MarkBufferDirty(buffer);
            if need_lock {
                pg_sys::UnlockRelationForExtension(relation, pg_sys::ExclusiveLock as i32);
            }
            let new_blk = crate::pg::page::buffer_block_number(buffer);
            // The new page is already locked but has the highest block number, so waiting
            // for `other` now would break the lower-block-first order: an updater holding
            // `other`'s page may be waiting for this new page (it sees it as the last
            // page), and neither would ever wake up. As heap does: try `other`
            // conditionally; otherwise let go of the new page, lock both in order, and
            // start over if someone used up the new page's space meanwhile.
            let mut other_lock = None;
            if other != INVALID {
                if pg_sys::ConditionalLockBuffer(other) {
                    other_lock = Some(BufferLock::adopt(other, LockMode::Exclusive));
                } else {
                    other_lock = Some(lock.unlocked_while(|| BufferLock::exclusive(other)));
                    if len > lock.page().free_space() {
                        drop(other_lock);
                        drop(lock);
                        crate::pg::bufmgr::release(buffer);
                        target = new_blk;
                        continue;
                    }
                }
            }
            rel::set_target_block(relation, new_blk);
            return Found {
                lock,
                pinned_here: true,
                other: other_lock,
            };
        }
    }
}
