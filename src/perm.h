/*
 * perm.h — the staff permission model shared between its files.
 *
 *   perm.c     the decision "may the current role do ACTION on a row of ORG for AFFAIR",
 *              cached per backend and invalidated by a shared generation counter
 *   gate.c     the gate in front of the functions that act for a staff member
 */
#ifndef MNL_PERM_H
#define MNL_PERM_H

#include "datatype/timestamp.h"
#include "nodes/nodes.h"
#include "utils/relcache.h"

extern void perm_shmem_request(void);
extern void perm_shmem_startup(void);

/* Staff id of a role for the audit trail; false if the role is not (or cannot now be
 * looked up as) staff. */
extern bool perm_staff_id(Oid roleid, int64 *staff_id);

/* Registered staff who is not active today (retired or outside the validity period)? */
extern bool perm_staff_inactive(Oid roleid, int64 *staff_id);

/* A call site of ledger.may to watch: hook(arg) whenever it answers true (a row is visible). */
struct FmgrInfo;
typedef void (*PermSiteHook) (void *arg);
extern void perm_watch_site(struct FmgrInfo *flinfo, PermSiteHook hook, void *arg);

/* Does the current role hold action for affair in any org unit? */
extern bool perm_identity_borrowed(void);
extern bool perm_may_any(const char *action, const char *affair);

/* While set, perm_staff_id answers from its cache only (used while an error unwinds). */
extern bool perm_lookups_disabled;


#endif							/* MNL_PERM_H */
