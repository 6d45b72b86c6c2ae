/*
 * perm.h — the staff permission model shared between its files.
 *
 *   perm.c     the decision "may the current role do ACTION on a row of ORG for AFFAIR",
 *              cached per backend and invalidated by the registry's counters (registry.c)
 *
 * (The staff id of a role and the registry's counters are core's, registry.c.)
 */
#ifndef MNL_PERM_H
#define MNL_PERM_H

#include "datatype/timestamp.h"
#include "nodes/nodes.h"
#include "utils/relcache.h"

/* A call site of ledger.may to watch: hook(arg) whenever it answers true (a row is visible). */
struct FmgrInfo;
typedef void (*PermSiteHook) (void *arg);
extern void perm_watch_site(struct FmgrInfo *flinfo, PermSiteHook hook, void *arg);

/* Does the current role hold action for affair in any org unit? */
extern bool perm_identity_borrowed(void);
extern bool perm_may_any(const char *action, const char *affair);

#endif							/* MNL_PERM_H */
