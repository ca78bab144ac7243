//! glassheap.removal_horizon(rel) and glassheap.explain_horizon(rel [, tid]): why a dead
//! version cannot be removed yet. VACUUM and pruning remove a version only when its
//! deleter is older than the table's removal horizon (GetOldestNonRemovableTransactionId:
//! the oldest xmin any snapshot, transaction or slot may still need); explain_horizon
//! lists what holds that horizon back -- backends with an open snapshot or transaction,
//! prepared transactions, replication slots, standbys' hot_standby_feedback -- each with
//! the statement that releases it, and, for one version, whether it is removable now.
//! For heap and glassheap tables alike.

use super::types::Xid;
use pgrx::prelude::*;
use pgrx::PgRelation;

/// The table's removal horizon now: versions deleted by a transaction older than it are
/// dead to everyone (GetOldestNonRemovableTransactionId).
#[pg_extern]
fn removal_horizon(rel: PgRelation) -> Xid {
    super::table_am(&rel);
    // SAFETY: a procarray lookup for an open relation.
    Xid(unsafe { pgrx::pg_sys::GetOldestNonRemovableTransactionId(rel.as_ptr()) }.into_inner())
}

extension_sql!(
    r#"
CREATE FUNCTION explain_horizon(rel regclass, t tid DEFAULT NULL)
RETURNS TABLE (holder text, who text, state text, since timestamptz, xmin xid,
               holds_back boolean, release text)
LANGUAGE plpgsql AS $fn$
-- xid has no ordering operators: age(x) (how many transactions ago x started) orders
-- them, the larger the older.
DECLARE
  horizon xid := glassheap.removal_horizon(rel);
  v record;
  limit_xid xid;
BEGIN
  IF t IS NOT NULL THEN
    SELECT * INTO v FROM glassheap.visibility(rel) vis WHERE vis.tid = t;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no stored version at % in "%"', t, rel
        USING HINT = 'glassheap.page_items shows the line pointers of a page.';
    END IF;
    limit_xid := v.xmax;
    holder := 'version'; who := t::text;
    IF v.xmax = '0' OR v.xmax_status IN ('invalid', 'aborted') THEN
      state := 'not deleted: no deleter to wait for (a live version is never removed)';
      holds_back := false;
    ELSIF v.xmax_status <> 'committed' THEN
      state := format('deleted by %s, which is %s: it stays until that transaction ends', v.xmax, v.xmax_status);
      holds_back := true;
    ELSIF age(v.xmax) > age(horizon) THEN
      state := format('deleted by %s (committed), older than the removal horizon %s: removable now (VACUUM or pruning will)', v.xmax, horizon);
      holds_back := false;
    ELSE
      state := format('deleted by %s (committed), not older than the removal horizon %s: a snapshot may still see it; what holds the horizon back follows', v.xmax, horizon);
      holds_back := true;
    END IF;
    since := NULL; xmin := v.xmax; release := NULL;
    RETURN NEXT;
  END IF;

  holder := 'removal horizon'; who := rel::text; since := NULL; xmin := horizon;
  state := 'versions deleted by transactions older than this are dead to everyone';
  holds_back := NULL; release := NULL;
  RETURN NEXT;

  -- a holder holds a version back when its xmin is not newer than the deleter; without
  -- a version, when it is not newer than the horizon
  limit_xid := coalesce(nullif(limit_xid, '0'), horizon);

  RETURN QUERY
    SELECT 'backend'::text, format('pid %s (%s, user %s, database %s)', a.pid,
             coalesce(nullif(a.application_name, ''), a.backend_type), a.usename, a.datname),
           coalesce(a.state, '') || coalesce(': ' || left(a.query, 60), ''),
           a.xact_start, coalesce(a.backend_xmin, a.backend_xid),
           age(coalesce(a.backend_xmin, a.backend_xid)) >= age(limit_xid),
           format('end its transaction, or SELECT pg_terminate_backend(%s)', a.pid)
    FROM pg_stat_activity a
    WHERE a.pid <> pg_backend_pid() AND coalesce(a.backend_xmin, a.backend_xid) IS NOT NULL
    ORDER BY age(coalesce(a.backend_xmin, a.backend_xid)) DESC;
  RETURN QUERY
    SELECT 'prepared transaction'::text, format('gid %L (owner %s, database %s)', p.gid, p.owner, p.database),
           'prepared', p.prepared, p.transaction,
           age(p.transaction) >= age(limit_xid),
           format('COMMIT PREPARED %L or ROLLBACK PREPARED %L', p.gid, p.gid)
    FROM pg_prepared_xacts p ORDER BY age(p.transaction) DESC;
  RETURN QUERY
    SELECT 'replication slot'::text, format('%s (%s slot, %s)', s.slot_name, s.slot_type,
             CASE WHEN s.active THEN 'active' ELSE 'inactive' END),
           CASE WHEN s.xmin IS NOT NULL THEN 'xmin' ELSE 'catalog_xmin (catalog tables only)' END,
           NULL::timestamptz, coalesce(s.xmin, s.catalog_xmin),
           s.xmin IS NOT NULL AND age(s.xmin) >= age(limit_xid),
           format('SELECT pg_drop_replication_slot(%L) (or let its consumer catch up)', s.slot_name)
    FROM pg_replication_slots s WHERE coalesce(s.xmin, s.catalog_xmin) IS NOT NULL;
  RETURN QUERY
    SELECT 'standby feedback'::text, format('%s (pid %s)', coalesce(nullif(r.application_name, ''), r.client_addr::text), r.pid),
           r.state, r.backend_start, r.backend_xmin,
           age(r.backend_xmin) >= age(limit_xid),
           'on the standby: end its long queries, or set hot_standby_feedback = off there'
    FROM pg_stat_replication r WHERE r.backend_xmin IS NOT NULL;
END
$fn$;
"#,
    name = "glassheap_explain_horizon",
    requires = [removal_horizon]
);
