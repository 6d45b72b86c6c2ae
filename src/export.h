/*
 * export.h — the export duty for COPY ... TO (export.c).
 */
#ifndef MNL_EXPORT_H
#define MNL_EXPORT_H

#include "nodes/nodes.h"
#include "nodes/pg_list.h"

extern int	export_copy_depth;	/* > 0 while a COPY ... TO, or a utility that stores rows, runs */
extern struct QueryDesc *export_copying_query;	/* a statement copying into another table */

extern void export_check_relation(Oid relid);
extern void export_check_query(List *rtable);
extern bool export_stores_rows(Node *stmt);

struct QueryDesc;
extern void export_check_copying(struct QueryDesc *qd);

#endif							/* MNL_EXPORT_H */
