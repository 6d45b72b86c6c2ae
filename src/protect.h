/*
 * protect.h — ledger.protect_table() (protect.c): the names the guard reserves on a protected
 * table, and whether a table carries the policies.
 */
#ifndef MNL_PROTECT_H
#define MNL_PROTECT_H

#include "nodes/nodes.h"
#include "utils/relcache.h"

#define PROTECT_POLICY_PREFIX	"mnl_rls_"
#define PROTECT_TRIGGER_NAME	"mnl_rls_write_gate"
#define PROTECT_HOLD_DELETE		"mnl_rls_hold_delete"	/* legal holds: DELETE, cascades */
#define PROTECT_HOLD_UPDATE		"mnl_rls_hold_update"	/* legal holds: UPDATE of what a hold names */
#define PROTECT_HOLD_TRUNCATE	"mnl_rls_hold_truncate" /* legal holds: TRUNCATE */
#define RESERVED_PREFIX			"mnl_"

extern bool protect_is_protected(Relation rel);
extern void protect_guard_utility(Node *stmt);

#endif							/* MNL_PROTECT_H */
