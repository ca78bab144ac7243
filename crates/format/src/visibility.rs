//! glassheap's visibility rules: PostgreSQL's heapam_visibility.c rules, applied to
//! glassheap's tuple header, as pure functions over a [`TxnOracle`].
//!
//! The access method calls these for every tuple it returns; `explain_visibility()` calls
//! the *same* functions with a recording [`Explain`] implementation, so the explanation
//! can never drift from the decision. With [`NoExplain`] every narration call compiles
//! away (`Explain::ON` is a constant).
//!
//! Order of checks matters and follows heap exactly: for non-MVCC snapshots "is it in
//! progress?" is asked before "did it commit?" (a transaction is marked committed in
//! pg_xact before it leaves the proc array), and for MVCC snapshots the snapshot is
//! consulted before pg_xact.
//!
//! Hint bits are not written here: the functions return which bits may be set, and the
//! caller applies them under the buffer rules (commit-LSN interlock, MarkBufferDirtyHint).

use crate::tuple::{TupleFlags, TupleHeader};
use crate::{Xid, INVALID_XID};

pub type Cid = u32;

/// Questions about transaction state that only PostgreSQL can answer.
pub trait TxnOracle {
    /// TransactionIdIsCurrentTransactionId
    fn is_current(&mut self, xid: Xid) -> bool;
    /// TransactionIdIsInProgress
    fn in_progress(&mut self, xid: Xid) -> bool;
    /// TransactionIdDidCommit
    fn did_commit(&mut self, xid: Xid) -> bool;
    /// XidInMVCCSnapshot for the snapshot being tested (MVCC snapshots only).
    fn in_snapshot(&mut self, xid: Xid) -> bool;
    /// The updating member of a multixact xmax (HeapTupleGetUpdateXid); 0 if none.
    fn multi_update_xid(&mut self, multi: Xid, hdr: &TupleHeader) -> Xid;
    /// MultiXactIdIsRunning
    fn multi_is_running(&mut self, multi: Xid, lock_only: bool) -> bool;
    /// cmin of a tuple inserted by the current transaction.
    fn cmin(&mut self, hdr: &TupleHeader) -> Cid;
    /// cmax of a tuple deleted by the current transaction.
    fn cmax(&mut self, hdr: &TupleHeader) -> Cid;
    /// GlobalVisTestIsRemovableXid for SNAPSHOT_NON_VACUUMABLE.
    fn removable(&mut self, xid: Xid) -> bool;
}

/// Receives the steps of a decision in plain words.
pub trait Explain {
    const ON: bool;
    fn step(&mut self, rule: &str, observed: String, outcome: &str);
}

/// The scan path: explains nothing, costs nothing.
pub struct NoExplain;
impl Explain for NoExplain {
    const ON: bool = false;
    #[inline(always)]
    fn step(&mut self, _: &str, _: String, _: &str) {}
}

/// One step of an explained decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub rule: String,
    pub observed: String,
    pub outcome: String,
}

/// Records every step.
#[derive(Debug, Default, Clone)]
pub struct Steps(pub Vec<Step>);
impl Explain for Steps {
    const ON: bool = true;
    fn step(&mut self, rule: &str, observed: String, outcome: &str) {
        self.0.push(Step {
            rule: rule.to_string(),
            observed,
            outcome: outcome.to_string(),
        });
    }
}

macro_rules! say {
    ($e:expr, $rule:expr, $outcome:expr, $($fmt:tt)*) => {
        if E::ON {
            $e.step($rule, format!($($fmt)*), $outcome);
        }
    };
}

/// Hint bits a decision found safe to set, each with the xid whose commit record must be
/// flushed first (0 when no check is needed, i.e. for "invalid" hints).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    items: [(u16, Xid); 3],
    n: u8,
}

impl Hints {
    #[inline]
    fn add(&mut self, f: TupleFlags, xid: Xid) {
        if (self.n as usize) < self.items.len() {
            self.items[self.n as usize] = (f.bits(), xid);
            self.n += 1;
        }
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = (TupleFlags, Xid)> + '_ {
        self.items[..self.n as usize]
            .iter()
            .map(|&(b, x)| (TupleFlags::from_bits_retain(b), x))
    }
}

/// Which snapshot kind is being tested (PostgreSQL's SnapshotType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    Mvcc { curcid: Cid },
    SelfSnap,
    Any,
    Toast,
    Dirty,
    NonVacuumable,
    HistoricMvcc,
}

/// Outputs of a dirty-snapshot test (PostgreSQL writes them into the snapshot).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DirtyOut {
    pub xmin: Xid,
    pub xmax: Xid,
    pub speculative_token: u32,
}

/// The result of a visibility test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub visible: bool,
    pub hints: Hints,
    pub dirty: DirtyOut,
}

/// Error for snapshot kinds glassheap does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

/// HTSV_Result
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Htsv {
    Dead,
    Live,
    RecentlyDead,
    InsertInProgress,
    DeleteInProgress,
}

/// TM_Result (the subset HeapTupleSatisfiesUpdate returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmResult {
    Ok,
    Invisible,
    SelfModified,
    Updated,
    Deleted,
    BeingModified,
}

/// Does the header record an update (a newer version or a move to another partition),
/// as opposed to a delete? (heap: t_ctid != t_self)
#[inline]
pub fn indicates_update(h: &TupleHeader) -> bool {
    h.has_next() || h.moved_partitions()
}

#[inline]
fn update_xid<O: TxnOracle>(h: &TupleHeader, o: &mut O) -> Xid {
    if h.xmax_is_multi() {
        o.multi_update_xid(h.xmax, h)
    } else {
        h.xmax
    }
}

/// Test a tuple against a snapshot of the given kind.
pub fn satisfies<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    kind: SnapshotKind,
    o: &mut O,
    e: &mut E,
) -> Result<Verdict, Unsupported> {
    let mut hints = Hints::default();
    let mut dirty = DirtyOut::default();
    let visible = match kind {
        SnapshotKind::Mvcc { curcid } => satisfies_mvcc(h, curcid, o, &mut hints, e),
        SnapshotKind::SelfSnap => satisfies_self(h, o, &mut hints, e),
        SnapshotKind::Any => {
            say!(
                e,
                "snapshot any",
                "visible",
                "SnapshotAny sees every stored version"
            );
            true
        }
        SnapshotKind::Toast => satisfies_toast(h, e),
        SnapshotKind::Dirty => satisfies_dirty(h, o, &mut hints, &mut dirty, e),
        SnapshotKind::NonVacuumable => {
            let (r, dead_after) = satisfies_vacuum_horizon(h, o, &mut hints, e);
            let r = if r == Htsv::RecentlyDead && o.removable(dead_after) {
                say!(
                    e,
                    "removable horizon",
                    "continue",
                    "deleter {dead_after} is older than every running snapshot"
                );
                Htsv::Dead
            } else {
                r
            };
            let vis = r != Htsv::Dead;
            say!(
                e,
                "non-vacuumable",
                if vis { "visible" } else { "invisible" },
                "vacuum status {r:?}"
            );
            vis
        }
        SnapshotKind::HistoricMvcc => {
            return Err(Unsupported(
                "historic MVCC snapshots (logical decoding of catalog tables)",
            ))
        }
    };
    Ok(Verdict {
        visible,
        hints,
        dirty,
    })
}

/// Common first half of the Self/Dirty/MVCC rules when xmin is not hinted committed.
/// Returns Some(verdict) when the decision is already made; None to go on to xmax.
enum XminState {
    /// xmin is the current transaction (sub)transaction.
    Current,
    /// xmin committed (hint may have been added).
    Committed,
    /// decided: invisible.
    Invisible,
    /// xmin in progress by another transaction (Self/Dirty callers decide).
    InProgress,
}

fn xmin_state_non_mvcc<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> XminState {
    if h.xmin_committed() {
        say!(
            e,
            "xmin hint",
            "continue",
            "xmin {} has the xmin_committed hint bit",
            h.xmin
        );
        return XminState::Committed;
    }
    if h.xmin_invalid() {
        say!(
            e,
            "xmin hint",
            "invisible",
            "xmin {} has the xmin_invalid hint bit (inserter aborted)",
            h.xmin
        );
        return XminState::Invisible;
    }
    if o.is_current(h.xmin) {
        say!(
            e,
            "xmin is mine",
            "continue",
            "xmin {} is the current transaction",
            h.xmin
        );
        return XminState::Current;
    }
    if o.in_progress(h.xmin) {
        say!(
            e,
            "xmin in progress",
            "continue",
            "xmin {} is still running (proc array)",
            h.xmin
        );
        return XminState::InProgress;
    }
    if o.did_commit(h.xmin) {
        say!(
            e,
            "xmin committed",
            "continue",
            "pg_xact says xmin {} committed; xmin_committed hint may be set",
            h.xmin
        );
        hints.add(TupleFlags::XMIN_COMMITTED, h.xmin);
        return XminState::Committed;
    }
    say!(
        e,
        "xmin aborted",
        "invisible",
        "xmin {} is neither running nor committed: aborted or crashed",
        h.xmin
    );
    hints.add(TupleFlags::XMIN_INVALID, INVALID_XID);
    XminState::Invisible
}

/// Rows inserted by the current transaction (Self and Dirty share this).
fn own_insert_self<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> bool {
    if h.xmax_invalid() {
        say!(e, "no deleter", "visible", "xmax is invalid");
        return true;
    }
    if h.xmax_is_locked_only() {
        say!(
            e,
            "xmax only locks",
            "visible",
            "xmax {} only locked the row",
            h.xmax
        );
        return true;
    }
    if h.xmax_is_multi() {
        let x = update_xid(h, o);
        if !o.is_current(x) {
            say!(
                e,
                "updater aborted",
                "visible",
                "the updating member {x} of multixact {} is an aborted subtransaction",
                h.xmax
            );
            return true;
        }
        say!(
            e,
            "deleted by me",
            "invisible",
            "the updating member {x} of multixact {} is the current transaction",
            h.xmax
        );
        return false;
    }
    if !o.is_current(h.xmax) {
        say!(
            e,
            "deleter aborted",
            "visible",
            "xmax {} is an aborted subtransaction of mine",
            h.xmax
        );
        hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        return true;
    }
    say!(
        e,
        "deleted by me",
        "invisible",
        "xmax {} is the current transaction",
        h.xmax
    );
    false
}

/// SNAPSHOT_SELF: visible to an instant snapshot including the current command.
pub fn satisfies_self<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> bool {
    match xmin_state_non_mvcc(h, o, hints, e) {
        XminState::Invisible => return false,
        XminState::Current => return own_insert_self(h, o, hints, e),
        XminState::InProgress => {
            say!(
                e,
                "inserter running",
                "invisible",
                "another transaction's insert is not visible to SnapshotSelf"
            );
            return false;
        }
        XminState::Committed => {}
    }
    xmax_committed_insert_self_dirty(h, o, hints, None, e)
}

/// The xmax half of Self and Dirty once the inserter is known committed.
fn xmax_committed_insert_self_dirty<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    mut dirty: Option<&mut DirtyOut>,
    e: &mut E,
) -> bool {
    if h.xmax_invalid() {
        say!(
            e,
            "no deleter",
            "visible",
            "xmax is invalid or aborted (xmax_invalid)"
        );
        return true;
    }
    if h.xmax_committed() {
        if h.xmax_is_locked_only() {
            say!(
                e,
                "xmax only locks",
                "visible",
                "xmax {} committed but only locked",
                h.xmax
            );
            return true;
        }
        say!(
            e,
            "xmax hint",
            "invisible",
            "xmax {} has the xmax_committed hint: deleted or updated",
            h.xmax
        );
        return false;
    }
    if h.xmax_is_multi() {
        if h.xmax_is_locked_only() {
            say!(
                e,
                "xmax only locks",
                "visible",
                "multixact {} only locks",
                h.xmax
            );
            return true;
        }
        let x = update_xid(h, o);
        if o.is_current(x) {
            say!(
                e,
                "deleted by me",
                "invisible",
                "updater {x} is the current transaction"
            );
            return false;
        }
        if o.in_progress(x) {
            if let Some(d) = dirty.as_deref_mut() {
                d.xmax = x;
            }
            say!(
                e,
                "updater running",
                "visible",
                "updater {x} of multixact {} is still running",
                h.xmax
            );
            return true;
        }
        if o.did_commit(x) {
            say!(
                e,
                "updater committed",
                "invisible",
                "updater {x} of multixact {} committed",
                h.xmax
            );
            return false;
        }
        say!(
            e,
            "updater aborted",
            "visible",
            "updater {x} of multixact {} aborted",
            h.xmax
        );
        return true;
    }
    if o.is_current(h.xmax) {
        let vis = h.xmax_is_locked_only();
        say!(
            e,
            "xmax is mine",
            if vis { "visible" } else { "invisible" },
            "xmax {} is the current transaction ({})",
            h.xmax,
            if vis { "lock only" } else { "deleted" }
        );
        return vis;
    }
    if o.in_progress(h.xmax) {
        if !h.xmax_is_locked_only() {
            if let Some(d) = dirty.as_mut() {
                d.xmax = h.xmax;
            }
        }
        say!(
            e,
            "deleter running",
            "visible",
            "xmax {} is still running",
            h.xmax
        );
        return true;
    }
    if !o.did_commit(h.xmax) {
        say!(
            e,
            "deleter aborted",
            "visible",
            "xmax {} aborted or crashed",
            h.xmax
        );
        hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        return true;
    }
    if h.xmax_is_locked_only() {
        say!(
            e,
            "locker committed",
            "visible",
            "xmax {} committed but only locked",
            h.xmax
        );
        hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        return true;
    }
    say!(
        e,
        "deleter committed",
        "invisible",
        "xmax {} committed",
        h.xmax
    );
    hints.add(TupleFlags::XMAX_COMMITTED, h.xmax);
    false
}

/// SNAPSHOT_DIRTY: like Self, but other transactions' in-progress work counts as done.
pub fn satisfies_dirty<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    dirty: &mut DirtyOut,
    e: &mut E,
) -> bool {
    *dirty = DirtyOut::default();
    match xmin_state_non_mvcc(h, o, hints, e) {
        XminState::Invisible => return false,
        XminState::Current => return own_insert_self(h, o, hints, e),
        XminState::InProgress => {
            if h.is_speculative() {
                dirty.speculative_token = h.aux;
            }
            dirty.xmin = h.xmin;
            say!(
                e,
                "inserter running",
                "visible",
                "xmin {} is running: a dirty snapshot sees it (caller waits)",
                h.xmin
            );
            return true;
        }
        XminState::Committed => {}
    }
    xmax_committed_insert_self_dirty(h, o, hints, Some(dirty), e)
}

/// SNAPSHOT_TOAST: only interrupted-VACUUM and super-deleted rows are hidden.
pub fn satisfies_toast<E: Explain>(h: &TupleHeader, e: &mut E) -> bool {
    if !h.xmin_committed() {
        if h.xmin_invalid() {
            say!(e, "xmin hint", "invisible", "xmin_invalid hint set");
            return false;
        }
        if h.xmin == INVALID_XID {
            say!(
                e,
                "super-deleted",
                "invisible",
                "xmin is invalid: a cancelled speculative insertion"
            );
            return false;
        }
    }
    say!(
        e,
        "toast",
        "visible",
        "TOAST snapshots accept every live inserter"
    );
    true
}

/// The common case of an MVCC scan decided from the header alone: the inserter is known
/// committed (or frozen) and finished before the snapshot's `xmin` (so it is neither in
/// the snapshot nor this transaction), and nothing deleted or updated the version. Then
/// [`satisfies_mvcc`] would say "visible" without asking anyone or setting a hint.
/// `false` means "ask the full rules", never "invisible".
#[inline]
pub fn mvcc_surely_visible(h: &TupleHeader, snapshot_xmin: Xid) -> bool {
    h.xmax_invalid()
        && (h.xmin_frozen() || (h.xmin_committed() && crate::xid_precedes(h.xmin, snapshot_xmin)))
}

/// The other common case decided from the header alone: a version whose deleter (or
/// updater; not a multixact, not a lock) is hinted committed and finished before the
/// snapshot's `xmin`, over a committed or frozen inserter. [`satisfies_mvcc`] would say
/// "invisible" without asking anyone or setting a hint (heap reaches the same answer
/// through XidInMVCCSnapshot's xmin test). Such versions wait on a page for pruning; a
/// small table updated in a loop (pgbench's tellers and branches) keeps dozens of them
/// on the page every scan reads. `false` means "ask the full rules", never "visible".
#[inline]
pub fn mvcc_surely_invisible(h: &TupleHeader, snapshot_xmin: Xid) -> bool {
    (h.xmin_committed() || h.xmin_frozen())
        && h.xmax_committed()
        && !h.xmax_is_locked_only()
        && !h.xmax_is_multi()
        && crate::xid_is_normal(h.xmax)
        && crate::xid_precedes(h.xmax, snapshot_xmin)
}

/// SNAPSHOT_MVCC: the usual snapshot of a statement or transaction.
pub fn satisfies_mvcc<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    curcid: Cid,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> bool {
    if !h.xmin_committed() {
        if h.xmin_invalid() {
            say!(
                e,
                "xmin hint",
                "invisible",
                "xmin {} has the xmin_invalid hint bit (inserter aborted)",
                h.xmin
            );
            return false;
        }
        if o.is_current(h.xmin) {
            let cmin = o.cmin(h);
            if cmin >= curcid {
                say!(
                    e,
                    "inserted by me later",
                    "invisible",
                    "xmin {} is the current transaction; cmin {cmin} >= snapshot command {curcid}",
                    h.xmin
                );
                return false;
            }
            say!(
                e,
                "inserted by me earlier",
                "continue",
                "xmin {} is the current transaction; cmin {cmin} < snapshot command {curcid}",
                h.xmin
            );
            if h.xmax_invalid() {
                say!(e, "no deleter", "visible", "xmax is invalid");
                return true;
            }
            if h.xmax_is_locked_only() {
                say!(
                    e,
                    "xmax only locks",
                    "visible",
                    "xmax {} only locked the row",
                    h.xmax
                );
                return true;
            }
            if h.xmax_is_multi() {
                let x = update_xid(h, o);
                if !o.is_current(x) {
                    say!(
                        e,
                        "updater aborted",
                        "visible",
                        "updating member {x} of multixact {} was an aborted subtransaction",
                        h.xmax
                    );
                    return true;
                }
                let cmax = o.cmax(h);
                let vis = cmax >= curcid;
                say!(
                    e,
                    "deleted by me",
                    if vis { "visible" } else { "invisible" },
                    "updater {x} is mine; cmax {cmax} {} snapshot command {curcid}",
                    if vis { ">=" } else { "<" }
                );
                return vis;
            }
            if !o.is_current(h.xmax) {
                say!(
                    e,
                    "deleter aborted",
                    "visible",
                    "xmax {} is an aborted subtransaction of mine",
                    h.xmax
                );
                hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
                return true;
            }
            let cmax = o.cmax(h);
            let vis = cmax >= curcid;
            say!(
                e,
                "deleted by me",
                if vis { "visible" } else { "invisible" },
                "xmax {} is mine; cmax {cmax} {} snapshot command {curcid}",
                h.xmax,
                if vis { ">=" } else { "<" }
            );
            return vis;
        }
        if o.in_snapshot(h.xmin) {
            say!(
                e,
                "xmin in snapshot",
                "invisible",
                "xmin {} was running when the snapshot was taken",
                h.xmin
            );
            return false;
        }
        if o.did_commit(h.xmin) {
            say!(
                e,
                "xmin committed",
                "continue",
                "pg_xact: xmin {} committed before the snapshot; xmin_committed hint may be set",
                h.xmin
            );
            hints.add(TupleFlags::XMIN_COMMITTED, h.xmin);
        } else {
            say!(
                e,
                "xmin aborted",
                "invisible",
                "xmin {} is not running and did not commit: aborted or crashed",
                h.xmin
            );
            hints.add(TupleFlags::XMIN_INVALID, INVALID_XID);
            return false;
        }
    } else if h.xmin_frozen() {
        say!(
            e,
            "xmin frozen",
            "continue",
            "xmin is frozen: visible to every snapshot"
        );
    } else {
        if o.in_snapshot(h.xmin) {
            say!(
                e,
                "xmin in snapshot",
                "invisible",
                "xmin {} has the committed hint but was running when the snapshot was taken",
                h.xmin
            );
            return false;
        }
        say!(
            e,
            "xmin hint",
            "continue",
            "xmin {} has the xmin_committed hint and is not in the snapshot",
            h.xmin
        );
    }

    // The inserter is committed and visible to the snapshot; now the deleter.
    if h.xmax_invalid() {
        say!(
            e,
            "no deleter",
            "visible",
            "xmax is invalid or aborted (xmax_invalid)"
        );
        return true;
    }
    if h.xmax_is_locked_only() {
        say!(
            e,
            "xmax only locks",
            "visible",
            "xmax {} only locked the row ({})",
            h.xmax,
            h.xmax_mode().name()
        );
        return true;
    }
    if h.xmax_is_multi() {
        let x = update_xid(h, o);
        if o.is_current(x) {
            let cmax = o.cmax(h);
            let vis = cmax >= curcid;
            say!(
                e,
                "deleted by me",
                if vis { "visible" } else { "invisible" },
                "updater {x} of multixact {} is mine; cmax {cmax} vs snapshot command {curcid}",
                h.xmax
            );
            return vis;
        }
        if o.in_snapshot(x) {
            say!(
                e,
                "updater in snapshot",
                "visible",
                "updater {x} of multixact {} was running when the snapshot was taken",
                h.xmax
            );
            return true;
        }
        if o.did_commit(x) {
            say!(
                e,
                "updater committed",
                "invisible",
                "updater {x} of multixact {} committed before the snapshot",
                h.xmax
            );
            return false;
        }
        say!(
            e,
            "updater aborted",
            "visible",
            "updater {x} of multixact {} aborted",
            h.xmax
        );
        return true;
    }
    if !h.xmax_committed() {
        if o.is_current(h.xmax) {
            let cmax = o.cmax(h);
            let vis = cmax >= curcid;
            say!(
                e,
                "deleted by me",
                if vis { "visible" } else { "invisible" },
                "xmax {} is mine; cmax {cmax} {} snapshot command {curcid}",
                h.xmax,
                if vis { ">=" } else { "<" }
            );
            return vis;
        }
        if o.in_snapshot(h.xmax) {
            say!(
                e,
                "xmax in snapshot",
                "visible",
                "xmax {} was running when the snapshot was taken",
                h.xmax
            );
            return true;
        }
        if !o.did_commit(h.xmax) {
            say!(
                e,
                "deleter aborted",
                "visible",
                "xmax {} is not running and did not commit: aborted or crashed",
                h.xmax
            );
            hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            return true;
        }
        say!(
            e,
            "deleter committed",
            "invisible",
            "pg_xact: xmax {} committed before the snapshot; xmax_committed hint may be set",
            h.xmax
        );
        hints.add(TupleFlags::XMAX_COMMITTED, h.xmax);
        return false;
    }
    if o.in_snapshot(h.xmax) {
        say!(
            e,
            "xmax in snapshot",
            "visible",
            "xmax {} has the committed hint but was running when the snapshot was taken",
            h.xmax
        );
        return true;
    }
    say!(
        e,
        "xmax hint",
        "invisible",
        "xmax {} has the xmax_committed hint and is not in the snapshot",
        h.xmax
    );
    false
}

/// HeapTupleSatisfiesUpdate: what may an UPDATE/DELETE/lock at command `curcid` do?
pub fn satisfies_update<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    curcid: Cid,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> TmResult {
    let updated_or_deleted = |h: &TupleHeader| {
        if indicates_update(h) {
            TmResult::Updated
        } else {
            TmResult::Deleted
        }
    };
    if !h.xmin_committed() {
        if h.xmin_invalid() {
            say!(e, "xmin hint", "invisible", "xmin_invalid");
            return TmResult::Invisible;
        }
        if o.is_current(h.xmin) {
            if o.cmin(h) >= curcid {
                say!(
                    e,
                    "inserted later",
                    "invisible",
                    "inserted by a later command of mine"
                );
                return TmResult::Invisible;
            }
            if h.xmax_invalid() {
                return TmResult::Ok;
            }
            if h.xmax_is_locked_only() {
                if h.xmax_is_multi() {
                    return if o.multi_is_running(h.xmax, true) {
                        TmResult::BeingModified
                    } else {
                        TmResult::Ok
                    };
                }
                return if o.in_progress(h.xmax) {
                    TmResult::BeingModified
                } else {
                    TmResult::Ok
                };
            }
            if h.xmax_is_multi() {
                let x = update_xid(h, o);
                if !o.is_current(x) {
                    return if o.multi_is_running(h.xmax, false) {
                        TmResult::BeingModified
                    } else {
                        TmResult::Ok
                    };
                }
                return if o.cmax(h) >= curcid {
                    TmResult::SelfModified
                } else {
                    TmResult::Invisible
                };
            }
            if !o.is_current(h.xmax) {
                hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
                return TmResult::Ok;
            }
            return if o.cmax(h) >= curcid {
                TmResult::SelfModified
            } else {
                TmResult::Invisible
            };
        }
        if o.in_progress(h.xmin) {
            return TmResult::Invisible;
        }
        if o.did_commit(h.xmin) {
            hints.add(TupleFlags::XMIN_COMMITTED, h.xmin);
        } else {
            hints.add(TupleFlags::XMIN_INVALID, INVALID_XID);
            return TmResult::Invisible;
        }
    }

    if h.xmax_invalid() {
        return TmResult::Ok;
    }
    if h.xmax_committed() {
        if h.xmax_is_locked_only() {
            return TmResult::Ok;
        }
        return updated_or_deleted(h);
    }
    if h.xmax_is_multi() {
        if h.xmax_is_locked_only() {
            if o.multi_is_running(h.xmax, true) {
                return TmResult::BeingModified;
            }
            hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            return TmResult::Ok;
        }
        let x = update_xid(h, o);
        if x == INVALID_XID && o.multi_is_running(h.xmax, false) {
            return TmResult::BeingModified;
        }
        if o.is_current(x) {
            return if o.cmax(h) >= curcid {
                TmResult::SelfModified
            } else {
                TmResult::Invisible
            };
        }
        if o.multi_is_running(h.xmax, false) {
            return TmResult::BeingModified;
        }
        if o.did_commit(x) {
            return updated_or_deleted(h);
        }
        // The updater aborted; lockers may remain.
        if !o.multi_is_running(h.xmax, false) {
            hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            return TmResult::Ok;
        }
        return TmResult::BeingModified;
    }
    if o.is_current(h.xmax) {
        if h.xmax_is_locked_only() {
            return TmResult::BeingModified;
        }
        return if o.cmax(h) >= curcid {
            TmResult::SelfModified
        } else {
            TmResult::Invisible
        };
    }
    if o.in_progress(h.xmax) {
        return TmResult::BeingModified;
    }
    if !o.did_commit(h.xmax) {
        hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        return TmResult::Ok;
    }
    if h.xmax_is_locked_only() {
        hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        return TmResult::Ok;
    }
    hints.add(TupleFlags::XMAX_COMMITTED, h.xmax);
    updated_or_deleted(h)
}

/// HeapTupleSatisfiesVacuumHorizon: the tuple's status for pruning/VACUUM/index builds.
/// For RecentlyDead the second value is the xid to compare with a horizon.
pub fn satisfies_vacuum_horizon<O: TxnOracle, E: Explain>(
    h: &TupleHeader,
    o: &mut O,
    hints: &mut Hints,
    e: &mut E,
) -> (Htsv, Xid) {
    if !h.xmin_committed() {
        if h.xmin_invalid() {
            say!(e, "xmin hint", "dead", "xmin_invalid: the inserter aborted");
            return (Htsv::Dead, INVALID_XID);
        }
        if o.is_current(h.xmin) {
            if h.xmax_invalid() || h.xmax_is_locked_only() || is_only_locked(h, o) {
                return (Htsv::InsertInProgress, INVALID_XID);
            }
            let ux = update_xid(h, o);
            if o.is_current(ux) {
                return (Htsv::DeleteInProgress, INVALID_XID);
            }
            return (Htsv::InsertInProgress, INVALID_XID);
        }
        if o.in_progress(h.xmin) {
            say!(
                e,
                "inserter running",
                "insert in progress",
                "xmin {} is running",
                h.xmin
            );
            return (Htsv::InsertInProgress, INVALID_XID);
        }
        if o.did_commit(h.xmin) {
            hints.add(TupleFlags::XMIN_COMMITTED, h.xmin);
        } else {
            say!(
                e,
                "xmin aborted",
                "dead",
                "xmin {} aborted or crashed",
                h.xmin
            );
            hints.add(TupleFlags::XMIN_INVALID, INVALID_XID);
            return (Htsv::Dead, INVALID_XID);
        }
    }
    if h.xmax_invalid() {
        say!(e, "no deleter", "live", "xmax invalid");
        return (Htsv::Live, INVALID_XID);
    }
    if h.xmax_is_locked_only() {
        if !h.xmax_committed() {
            if h.xmax_is_multi() {
                if o.multi_is_running(h.xmax, true) {
                    return (Htsv::Live, INVALID_XID);
                }
                hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            } else {
                if o.in_progress(h.xmax) {
                    return (Htsv::Live, INVALID_XID);
                }
                hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            }
        }
        say!(
            e,
            "xmax only locks",
            "live",
            "xmax {} only locked the row",
            h.xmax
        );
        return (Htsv::Live, INVALID_XID);
    }
    if h.xmax_is_multi() {
        let x = update_xid(h, o);
        if o.in_progress(x) {
            return (Htsv::DeleteInProgress, INVALID_XID);
        }
        if o.did_commit(x) {
            return (Htsv::RecentlyDead, x);
        }
        if !o.multi_is_running(h.xmax, false) {
            hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
        }
        return (Htsv::Live, INVALID_XID);
    }
    if !h.xmax_committed() {
        if o.in_progress(h.xmax) {
            say!(
                e,
                "deleter running",
                "delete in progress",
                "xmax {} is running",
                h.xmax
            );
            return (Htsv::DeleteInProgress, INVALID_XID);
        }
        if o.did_commit(h.xmax) {
            hints.add(TupleFlags::XMAX_COMMITTED, h.xmax);
        } else {
            hints.add(TupleFlags::XMAX_INVALID, INVALID_XID);
            say!(e, "deleter aborted", "live", "xmax {} aborted", h.xmax);
            return (Htsv::Live, INVALID_XID);
        }
    }
    say!(
        e,
        "deleter committed",
        "recently dead",
        "xmax {} committed; dead once no snapshot can see it",
        h.xmax
    );
    (Htsv::RecentlyDead, h.xmax)
}

/// HeapTupleHeaderIsOnlyLocked: true if xmax does not represent a live update.
pub fn is_only_locked<O: TxnOracle>(h: &TupleHeader, o: &mut O) -> bool {
    if h.xmax_invalid() || h.xmax_mode().is_lock_only() || h.xmax == INVALID_XID {
        return true;
    }
    if !h.xmax_is_multi() {
        return false;
    }
    let x = o.multi_update_xid(h.xmax, h);
    if x == INVALID_XID {
        return true;
    }
    if o.is_current(x) || o.in_progress(x) || o.did_commit(x) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuple::{XmaxMode, XMIN_FROZEN};
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// A toy transaction world: xids are current, running, committed or aborted.
    #[derive(Default, Clone)]
    struct World {
        current: HashSet<Xid>,
        running: HashSet<Xid>,
        committed: HashSet<Xid>,
        in_snap: HashSet<Xid>,
        cmin: Cid,
        cmax: Cid,
    }
    impl TxnOracle for World {
        fn is_current(&mut self, x: Xid) -> bool {
            self.current.contains(&x)
        }
        fn in_progress(&mut self, x: Xid) -> bool {
            self.running.contains(&x) || self.current.contains(&x)
        }
        fn did_commit(&mut self, x: Xid) -> bool {
            self.committed.contains(&x)
        }
        fn in_snapshot(&mut self, x: Xid) -> bool {
            self.in_snap.contains(&x)
        }
        fn multi_update_xid(&mut self, _m: Xid, _h: &TupleHeader) -> Xid {
            0
        }
        fn multi_is_running(&mut self, _m: Xid, _l: bool) -> bool {
            false
        }
        fn cmin(&mut self, _h: &TupleHeader) -> Cid {
            self.cmin
        }
        fn cmax(&mut self, _h: &TupleHeader) -> Cid {
            self.cmax
        }
        fn removable(&mut self, _x: Xid) -> bool {
            true
        }
    }

    fn tup(xmin: Xid, xmax: Xid) -> TupleHeader {
        let mut h = TupleHeader::new_insert(xmin, 0, 2, false);
        if xmax != 0 {
            h.xmax = xmax;
            h.clear_flags(TupleFlags::XMAX_INVALID);
            h.set_xmax_mode(XmaxMode::Update);
        }
        h
    }

    fn mvcc(h: &TupleHeader, w: &mut World, curcid: Cid) -> Verdict {
        satisfies(h, SnapshotKind::Mvcc { curcid }, w, &mut NoExplain).unwrap()
    }

    #[test]
    fn committed_insert_is_visible_and_hinted() {
        let mut w = World::default();
        w.committed.insert(100);
        let v = mvcc(&tup(100, 0), &mut w, 0);
        assert!(v.visible);
        let hints: Vec<_> = v.hints.iter().collect();
        assert_eq!(hints, vec![(TupleFlags::XMIN_COMMITTED, 100)]);
    }

    #[test]
    fn running_insert_is_invisible_to_snapshot() {
        let mut w = World::default();
        w.committed.insert(100);
        w.in_snap.insert(100); // committed after the snapshot was taken
        assert!(!mvcc(&tup(100, 0), &mut w, 0).visible);
    }

    #[test]
    fn aborted_insert_is_invisible_and_hinted_invalid() {
        let mut w = World::default();
        let v = mvcc(&tup(100, 0), &mut w, 0);
        assert!(!v.visible);
        assert_eq!(v.hints.iter().next(), Some((TupleFlags::XMIN_INVALID, 0)));
    }

    #[test]
    fn own_insert_uses_command_ids() {
        let mut w = World::default();
        w.current.insert(100);
        w.cmin = 3;
        assert!(!mvcc(&tup(100, 0), &mut w, 3).visible);
        assert!(mvcc(&tup(100, 0), &mut w, 4).visible);
        // deleted by a later command: still visible to a cursor opened before it
        w.cmax = 5;
        assert!(mvcc(&tup(100, 100), &mut w, 5).visible);
        assert!(!mvcc(&tup(100, 100), &mut w, 6).visible);
    }

    #[test]
    fn deleted_by_committed_xact() {
        let mut w = World::default();
        w.committed.insert(100);
        w.committed.insert(200);
        assert!(!mvcc(&tup(100, 200), &mut w, 0).visible);
        w.in_snap.insert(200);
        assert!(mvcc(&tup(100, 200), &mut w, 0).visible);
    }

    #[test]
    fn lock_only_xmax_keeps_visible() {
        let mut w = World::default();
        w.committed.insert(100);
        w.committed.insert(200);
        let mut h = tup(100, 200);
        h.set_xmax_mode(XmaxMode::LockShare);
        assert!(mvcc(&h, &mut w, 0).visible);
        assert_eq!(
            satisfies_update(&h, 0, &mut w, &mut Hints::default(), &mut NoExplain),
            TmResult::Ok
        );
    }

    #[test]
    fn frozen_skips_snapshot() {
        let mut w = World::default();
        w.in_snap.insert(100);
        let mut h = tup(100, 0);
        h.set_flags(XMIN_FROZEN);
        assert!(mvcc(&h, &mut w, 0).visible);
    }

    #[test]
    fn update_results() {
        let mut w = World::default();
        w.committed.insert(100);
        w.running.insert(200);
        let mut hints = Hints::default();
        assert_eq!(
            satisfies_update(&tup(100, 200), 0, &mut w, &mut hints, &mut NoExplain),
            TmResult::BeingModified
        );
        w.running.clear();
        w.committed.insert(200);
        assert_eq!(
            satisfies_update(&tup(100, 200), 0, &mut w, &mut hints, &mut NoExplain),
            TmResult::Deleted
        );
        let mut h = tup(100, 200);
        h.set_next_off(4);
        assert_eq!(
            satisfies_update(&h, 0, &mut w, &mut hints, &mut NoExplain),
            TmResult::Updated
        );
    }

    #[test]
    fn dirty_reports_running_inserter_and_token() {
        let mut w = World::default();
        w.running.insert(100);
        let mut h = tup(100, 0);
        h.set_next_off(crate::tuple::NEXT_SPECULATIVE);
        h.aux = 77;
        let v = satisfies(&h, SnapshotKind::Dirty, &mut w, &mut NoExplain).unwrap();
        assert!(v.visible);
        assert_eq!(v.dirty.xmin, 100);
        assert_eq!(v.dirty.speculative_token, 77);
    }

    #[test]
    fn vacuum_horizon() {
        let mut w = World::default();
        w.committed.insert(100);
        w.committed.insert(200);
        let mut hints = Hints::default();
        assert_eq!(
            satisfies_vacuum_horizon(&tup(100, 200), &mut w, &mut hints, &mut NoExplain),
            (Htsv::RecentlyDead, 200)
        );
        assert_eq!(
            satisfies_vacuum_horizon(&tup(100, 0), &mut w, &mut hints, &mut NoExplain).0,
            Htsv::Live
        );
        assert_eq!(
            satisfies_vacuum_horizon(&tup(300, 0), &mut w, &mut hints, &mut NoExplain).0,
            Htsv::Dead
        );
    }

    #[test]
    fn historic_is_refused() {
        let mut w = World::default();
        assert!(satisfies(
            &tup(1, 0),
            SnapshotKind::HistoricMvcc,
            &mut w,
            &mut NoExplain
        )
        .is_err());
    }

    #[test]
    fn explanation_ends_with_the_verdict() {
        let mut w = World::default();
        w.committed.insert(100);
        let mut steps = Steps::default();
        let v = satisfies(
            &tup(100, 0),
            SnapshotKind::Mvcc { curcid: 0 },
            &mut w,
            &mut steps,
        )
        .unwrap();
        assert!(v.visible);
        assert_eq!(steps.0.last().unwrap().outcome, "visible");
    }

    /// A header with the given xids, flag bits and xmax mode, and a world in which xids
    /// below the snapshot's xmin have finished (running ones among them are dropped).
    fn header_and_world(
        xmin: Xid,
        xmax: Xid,
        flags: u16,
        mode: u8,
        snap_xmin: Xid,
        committed: &HashSet<Xid>,
        running: &HashSet<Xid>,
    ) -> (TupleHeader, World) {
        let mut h = TupleHeader::new_insert(xmin, 0, 2, false);
        h.xmax = xmax;
        h.clear_flags(TupleFlags::all());
        h.set_flags(TupleFlags::from_bits_truncate(flags & 0x1ff));
        h.set_xmax_mode(XmaxMode::from_bits(mode).unwrap());
        let mut w = World::default();
        for x in committed.iter().chain(running) {
            if *x < snap_xmin && running.contains(x) {
                continue; // finished before the snapshot, by definition of xmin
            }
            if running.contains(x) {
                w.running.insert(*x);
                w.in_snap.insert(*x);
            } else {
                w.committed.insert(*x);
            }
        }
        (h, w)
    }

    proptest! {
        /// The header-only fast path never disagrees with the full MVCC rules, in any
        /// world where xids before the snapshot's xmin have finished.
        #[test]
        fn surely_visible_agrees_with_the_full_rules(
            xmin in 3u32..60, xmax in 0u32..60, snap_xmin in 3u32..60,
            flags in any::<u16>(), mode in 0u8..6, curcid in 0u32..4,
            committed in proptest::collection::hash_set(3u32..60, 0..30),
            running in proptest::collection::hash_set(3u32..60, 0..10),
        ) {
            let (h, mut w) = header_and_world(xmin, xmax, flags, mode, snap_xmin, &committed, &running);
            // a committed hint is only ever set for a committed xid
            if h.xmin_committed() && !h.xmin_frozen() {
                w.committed.insert(xmin);
                w.running.remove(&xmin);
                w.in_snap.remove(&xmin);
            }
            if mvcc_surely_visible(&h, snap_xmin) {
                prop_assert!(mvcc(&h, &mut w, curcid).visible);
            }
        }

        /// The header-only "invisible" path never disagrees with the full MVCC rules, in
        /// any world where xids before the snapshot's xmin have finished and a committed
        /// hint names a committed xid.
        #[test]
        fn surely_invisible_agrees_with_the_full_rules(
            xmin in 3u32..60, xmax in 0u32..60, snap_xmin in 3u32..60,
            flags in any::<u16>(), mode in 0u8..6, curcid in 0u32..4,
            committed in proptest::collection::hash_set(3u32..60, 0..30),
            running in proptest::collection::hash_set(3u32..60, 0..10),
            current in proptest::option::of(3u32..60),
        ) {
            let (h, mut w) = header_and_world(xmin, xmax, flags, mode, snap_xmin, &committed, &running);
            if let Some(c) = current.filter(|c| *c >= snap_xmin) {
                w.current.insert(c); // the current transaction is at or after xmin
                w.committed.remove(&c);
            }
            // a committed hint is only ever set for a committed xid (not the current one)
            for (hinted, x) in [(h.xmin_committed() && !h.xmin_frozen(), xmin), (h.xmax_committed(), xmax)] {
                if hinted {
                    w.committed.insert(x);
                    w.running.remove(&x);
                    w.in_snap.remove(&x);
                    w.current.remove(&x);
                }
            }
            if mvcc_surely_invisible(&h, snap_xmin) {
                prop_assert!(!mvcc(&h, &mut w, curcid).visible);
            }
        }

        #[test]
        fn surely_invisible_takes_hinted_old_deleters(xmin in 3u32..40, xmax in 3u32..40, snap in 41u32..60) {
            let mut h = TupleHeader::new_insert(xmin, 0, 2, false);
            h.xmax = xmax;
            h.clear_flags(TupleFlags::all());
            h.set_flags(TupleFlags::XMIN_COMMITTED | TupleFlags::XMAX_COMMITTED);
            h.set_xmax_mode(XmaxMode::from_bits(0).unwrap());
            prop_assert_eq!(mvcc_surely_invisible(&h, snap), !h.xmax_is_locked_only());
        }

        /// Explaining never changes the decision, and the last explained step names it.
        #[test]
        fn explain_agrees(xmin in 3u32..8, xmax in 0u32..8, flags in 0u16..512, mode in 0u8..6,
                          committed in proptest::collection::hash_set(3u32..8, 0..5),
                          snap in proptest::collection::hash_set(3u32..8, 0..3),
                          cur in proptest::option::of(3u32..8), curcid in 0u32..4) {
            let mut h = tup(xmin, 0);
            h.xmax = xmax;
            let f = TupleFlags::from_bits_retain(flags) - TupleFlags::XMAX_IS_MULTI;
            h.clear_flags(TupleFlags::all());
            h.set_flags(f);
            h.set_xmax_mode(XmaxMode::from_bits(mode).unwrap());
            let mut w = World { committed: committed.into_iter().collect(), in_snap: snap.into_iter().collect(), cmin: 1, cmax: 2, ..Default::default() };
            if let Some(c) = cur { w.current.insert(c); }
            for kind in [SnapshotKind::Mvcc { curcid }, SnapshotKind::SelfSnap, SnapshotKind::Dirty, SnapshotKind::Any, SnapshotKind::Toast] {
                let a = satisfies(&h, kind, &mut w.clone(), &mut NoExplain).unwrap();
                let mut steps = Steps::default();
                let b = satisfies(&h, kind, &mut w.clone(), &mut steps).unwrap();
                prop_assert_eq!(a, b);
                let last = steps.0.last().map(|s| s.outcome.clone());
                if let Some(last) = last {
                    prop_assert_eq!(last, if a.visible { "visible" } else { "invisible" });
                }
            }
        }
    }
}
