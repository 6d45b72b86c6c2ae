/*
 * module.c — loading the library: refuse to work unless preloaded, define the settings (settings.c),
 * install the hooks, reserve shared memory and register the audit writer.
 *
 * The protections need the postmaster to load the library: the audit writer and its queue
 * exist only then, and a hook installed by one session alone could be skipped by another.
 * So a library loaded any other way (CREATE EXTENSION, LOAD, session_preload_libraries)
 * stops with an error that says how to fix it.  Nothing here may depend on a database
 * connection.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"

#include "audit/audit.h"
#include "keys/keys.h"
#include "log_hygiene/log_hygiene.h"
#include "guard/guard.h"
#include "reads/reads.h"
#include "disclosure/lookup.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"
#include "staff/session.h"

PG_MODULE_MAGIC;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static void
mnl_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	audit_queue_shmem_request();
	mnl_registry_shmem_request();
	keys_shmem_request();
	lookup_shmem_request();
	staff_idle_shmem_request();
}

static void
mnl_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	audit_queue_shmem_startup();
	mnl_registry_shmem_startup();
	keys_shmem_startup();
	lookup_shmem_startup();
	staff_idle_shmem_startup();
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mynumber_ledger must be loaded via shared_preload_libraries"),
				 errhint("Add mynumber_ledger to shared_preload_libraries in postgresql.conf and restart the server.")));

	mnl_nls_init();
	mnl_define_settings();
	keys_load_kek();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mnl_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mnl_shmem_startup;

	reads_install();
	guard_install();			/* after reads: the guard's hooks run first */
	staff_session_install();
	log_hygiene_install();
	monitoring_install();		/* last: its hooks run before the others */
	if (!IsBinaryUpgrade)
		audit_worker_register();
}
