/*
 * guard.h — the guard room: what may be done to protected tables, audited tables, the trail,
 * the registered files and the extension's own objects.
 *
 *   hooks.c          the guard's utility and executor hooks (statement gate first)
 *   utility.c        the dispatch: one function per utility statement kind
 *   files.c          the file guard (event trigger at the end of DDL, 番号法第29条)
 *   explain.c        EXPLAIN of protected tables
 *   export.c         the export duty for COPY ... TO and copies into other tables
 *   qual_order.c     a caller's conditions run after the policies of a protected table
 *   objects.c        every drop of a protected or audited table or column, by identity
 *   expressions.c    what a non-superuser may write into a CHECK, default or trigger WHEN
 *   fk_actions.c     queries inside a foreign key's check or action
 *   calls.c          a refused call of the extension's functions recorded
 */
#ifndef MNL_GUARD_H
#define MNL_GUARD_H

#include "catalog/objectaccess.h"
#include "fmgr.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"

/* guard/hooks.c: install the hooks (at load). */
extern void guard_install(void);

/* guard/utility.c: refuse the statement if it would weaken what is guarded. */
extern void guard_statement(Node *stmt);
/* Record the refusal (audit trail), then refuse (42501) with what and hint. */
extern void guard_refuse(Oid relid, const char *what, const char *hint);

/* explain.c */
extern int	explain_depth;		/* > 0 while an EXPLAIN runs in this backend */
extern void explain_check(List *rtable);

/* export.c */
struct QueryDesc;
extern int	export_copy_depth;	/* > 0 while a COPY ... TO, or a utility that stores rows, runs */
extern struct QueryDesc *export_copying_query;	/* a statement copying into another table */
extern void export_check_relation(Oid relid);
extern void export_check_query(List *rtable);
extern bool export_stores_rows(Node *stmt);
extern void export_check_copying(struct QueryDesc *qd);
extern void export_statement_ended(struct QueryDesc *qd);

/* objects.c: the object-access hook (at load, from guard_install) */
extern void guard_objects_install(void);
/* objects.c: one of PostgreSQL's functions that run SQL given as text (query_to_xml ...)? */
extern bool guard_function_runs_sql_text(Oid fn);
/* objects.c: a staff query's views (security_invoker views of untrusted owners refused) */
extern void guard_check_views(List *rtable);

/* expressions.c: from the object-access hook, an object made or changed */
extern void guard_expression_made(ObjectAccessType access, Oid classId, Oid objectId, int subId);

/* fk_actions.c: queries inside a foreign key's check or action (FORCE lifted for owners) */
struct Query;
extern void guard_fk_query(struct Query *q, bool rewritten);
extern bool guard_fk_key_query(int eflags);
extern void guard_fk_query_starts(const struct QueryDesc *qd, int eflags);

/* calls.c: the post-parse-analysis hook (at load, from guard_install) */
extern void guard_calls_install(void);

/* qual_order.c */
extern void qual_order_install(void);
extern bool qual_is_strictly_leakproof(Node *clause);

#endif							/* MNL_GUARD_H */
