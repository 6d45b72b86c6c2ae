/*
 * module.c — loading the library: refuse to work unless preloaded, and
 * define the settings.
 *
 * The protections of later components (audit worker, key loading, log
 * hygiene) need the postmaster to load the library, so a library loaded
 * any other way (CREATE EXTENSION, LOAD, session_preload_libraries) stops
 * with an error that says how to fix it.  Nothing here may depend on a
 * database connection.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "mynumber_ledger.h"

PG_MODULE_MAGIC;

bool		mnl_allow_all_zero_mynumber = false;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mynumber_ledger must be loaded via shared_preload_libraries"),
				 errhint("Add mynumber_ledger to shared_preload_libraries in postgresql.conf and restart the server.")));

	DefineCustomBoolVariable("ledger.allow_all_zero_mynumber",
							 gettext_noop("Accepts the all-zero My Number 000000000000."),
							 gettext_noop("It passes the check-digit formula but no real number is all zeros; "
										  "turn it on only for test data."),
							 &mnl_allow_all_zero_mynumber,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("ledger");
}
