/*
 * guard.h — the DDL guard's helpers (audit_hooks.c today): what a statement may do to a
 * protected table, an audited table or the trail.
 */
#ifndef MNL_GUARD_H
#define MNL_GUARD_H

#include "utils/relcache.h"

/* test(rel) on the relation with this oid, false when there is none (or it is gone). */
extern bool guard_table_test(Oid relid, bool (*test) (Relation rel));
/* Record the refusal (audit trail) and refuse (42501) with what and hint. */
extern void guard_refuse(Oid relid, const char *what, const char *hint);

#endif							/* MNL_GUARD_H */
