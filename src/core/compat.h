/*
 * compat.h — differences between PostgreSQL major versions, kept in one place.  The project
 * builds on PostgreSQL 15, 17 and 18 from one source tree; each entry names the version whose
 * API changed, so that the code using it reads the same on all of them.  Include it after the
 * PostgreSQL headers a file needs.
 */
#ifndef MNL_COMPAT_H
#define MNL_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "mynumber_ledger requires PostgreSQL 15 or later"
#endif

#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/acl.h"

/* PostgreSQL 16: the varlena macros (VARDATA, VARSIZE ...) moved out of postgres.h. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * PostgreSQL 16: a range table entry's permission fields (checkAsUser, requiredPerms and the
 * column sets) moved to an RTEPermissionInfo of the statement's permInfos, reached through
 * rte->perminfoindex (0: nothing to check).  mnl_rte_perms() gives them on every version.
 */
typedef struct MnlRtePerms
{
	Oid			checkAsUser;
	AclMode		requiredPerms;
	Bitmapset  *selectedCols;
	Bitmapset  *insertedCols;
	Bitmapset  *updatedCols;
} MnlRtePerms;

static inline void
mnl_rte_perms(const PlannedStmt *stmt, const RangeTblEntry *rte, MnlRtePerms *out)
{
#if PG_VERSION_NUM >= 160000
	memset(out, 0, sizeof(*out));
	if (rte->rtekind == RTE_RELATION && rte->perminfoindex != 0)
	{
		RTEPermissionInfo *p = list_nth_node(RTEPermissionInfo, stmt->permInfos,
											 rte->perminfoindex - 1);

		out->checkAsUser = p->checkAsUser;
		out->requiredPerms = p->requiredPerms;
		out->selectedCols = p->selectedCols;
		out->insertedCols = p->insertedCols;
		out->updatedCols = p->updatedCols;
	}
#else
	(void) stmt;
	out->checkAsUser = rte->checkAsUser;
	out->requiredPerms = rte->requiredPerms;
	out->selectedCols = rte->selectedCols;
	out->insertedCols = rte->insertedCols;
	out->updatedCols = rte->updatedCols;
#endif
}

/*
 * PostgreSQL 16: pg_<object>_ownercheck() and pg_proc_aclcheck() and kin became
 * object_ownercheck() and object_aclcheck() over the object's catalog.
 */
#if PG_VERSION_NUM >= 160000
#define mnl_class_ownercheck(relid, user)		object_ownercheck(RelationRelationId, (relid), (user))
#define mnl_namespace_ownercheck(nsp, user)		object_ownercheck(NamespaceRelationId, (nsp), (user))
#define mnl_database_ownercheck(db, user)		object_ownercheck(DatabaseRelationId, (db), (user))
#define mnl_proc_aclcheck(fn, user, mode)		object_aclcheck(ProcedureRelationId, (fn), (user), (mode))
#else
#define mnl_class_ownercheck(relid, user)		pg_class_ownercheck((relid), (user))
#define mnl_namespace_ownercheck(nsp, user)		pg_namespace_ownercheck((nsp), (user))
#define mnl_database_ownercheck(db, user)		pg_database_ownercheck((db), (user))
#define mnl_proc_aclcheck(fn, user, mode)		pg_proc_aclcheck((fn), (user), (mode))
#endif

/* PostgreSQL 17: the statistics target of the column being analysed moved into VacAttrStats. */
#if PG_VERSION_NUM >= 170000
#define MNL_STATTARGET(stats)		((stats)->attstattarget)
#else
#define MNL_STATTARGET(stats)		((stats)->attr->attstattarget)
#endif

/* PostgreSQL 17: random() gained overloads (random(min, max)); the one without arguments is F_RANDOM_. */
#if PG_VERSION_NUM >= 170000
#define MNL_F_RANDOM				F_RANDOM_
#else
#define MNL_F_RANDOM				F_RANDOM
#endif

/* PostgreSQL 17: a backend's local transaction id is in its virtual transaction id. */
#if PG_VERSION_NUM >= 170000
#define MNL_MY_LXID					(MyProc->vxid.lxid)
#else
#define MNL_MY_LXID					(MyProc->lxid)
#endif

/* PostgreSQL 16: get_guc_variables() tells how many there are. */
#if PG_VERSION_NUM >= 160000
#define mnl_guc_variables(n)		get_guc_variables(n)
#else
#define mnl_guc_variables(n)		(*(n) = GetNumConfigOptions(), get_guc_variables())
#endif

/* PostgreSQL 17: index inserts end with index_insert_cleanup() (BRIN releases its revmap buffer). */
#if PG_VERSION_NUM >= 170000
#define mnl_index_insert_cleanup(idx, info)	index_insert_cleanup((idx), (info))
#else
#define mnl_index_insert_cleanup(idx, info)	((void) 0)
#endif

/* PostgreSQL 18: the executor's run hook lost execute_once. */
#if PG_VERSION_NUM >= 180000
#define MNL_EXECUTOR_RUN_PARAMS		QueryDesc *qd, ScanDirection direction, uint64 count
#define MNL_EXECUTOR_RUN_ARGS		qd, direction, count
#else
#define MNL_EXECUTOR_RUN_PARAMS		QueryDesc *qd, ScanDirection direction, uint64 count, bool execute_once
#define MNL_EXECUTOR_RUN_ARGS		qd, direction, count, execute_once
#endif

/* PostgreSQL 18: RelationGetPrimaryKeyIndex() asks whether a deferrable key will do. */
#if PG_VERSION_NUM >= 180000
#define mnl_primary_key_index(rel)	RelationGetPrimaryKeyIndex((rel), false)
#else
#define mnl_primary_key_index(rel)	RelationGetPrimaryKeyIndex(rel)
#endif

/* PostgreSQL 18: vacuum_delay_point() says whether ANALYZE calls it. */
#if PG_VERSION_NUM >= 180000
#define mnl_analyze_delay_point()	vacuum_delay_point(true)
#else
#define mnl_analyze_delay_point()	vacuum_delay_point()
#endif

#endif							/* MNL_COMPAT_H */
