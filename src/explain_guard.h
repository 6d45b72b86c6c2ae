/*
 * explain_guard.h — EXPLAIN of protected tables (explain.c).
 */
#ifndef MNL_EXPLAIN_GUARD_H
#define MNL_EXPLAIN_GUARD_H

#include "nodes/pg_list.h"

extern int	explain_depth;		/* > 0 while an EXPLAIN runs in this backend */

extern void explain_check(List *rtable);

#endif							/* MNL_EXPLAIN_GUARD_H */
