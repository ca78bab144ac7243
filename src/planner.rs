//! Keeps relations out of parallel plans while this transaction holds command ids for
//! their rows in backend memory (see am::cidmap): parallel workers cannot see that
//! memory. Installed as set_rel_pathlist_hook, chained after any earlier hook.

use crate::am::cidmap;
use crate::pg::error::pg_callback;
use pgrx::pg_sys;

static mut PREV_HOOK: pg_sys::set_rel_pathlist_hook_type = None;

#[pg_callback]
unsafe extern "C-unwind" fn set_rel_pathlist(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rti: pg_sys::Index,
    rte: *mut pg_sys::RangeTblEntry,
) {
    // SAFETY: planner structures valid for the call; PREV_HOOK written once in _PG_init.
    unsafe {
        if let Some(prev) = PREV_HOOK {
            #[allow(ffi_unwind_calls)] // guarded
            crate::pg::sys_extra::guarded(|| prev(root, rel, rti, rte));
        }
        if cidmap::is_empty()
            || (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION
            || !cidmap::has_relation((*rte).relid)
        {
            return;
        }
        (*rel).consider_parallel = false;
        (*rel).partial_pathlist = std::ptr::null_mut();
        let list = (*rel).pathlist;
        if !list.is_null() {
            for i in 0..(*list).length as usize {
                let path = (*(*list).elements.add(i)).ptr_value as *mut pg_sys::Path;
                (*path).parallel_safe = false;
            }
        }
    }
}

pub fn install() {
    // SAFETY: called once from _PG_init in the postmaster, before any planning.
    unsafe {
        PREV_HOOK = pg_sys::set_rel_pathlist_hook;
        pg_sys::set_rel_pathlist_hook = Some(set_rel_pathlist);
    }
}
