/*
 * roles.c — who a role is, by oid: ledger._role_name(oid) and ledger._is_superuser(oid).
 *
 * The public functions of the ledger are gated (staff/gate.c): each runs its internal twin
 * ledger._<name>(caller, ...) as the extension owner and passes the calling role's oid, which
 * the twin turns into a name (the staff registry is keyed by role name) and asks whether it is
 * a superuser.  Every gated call asks both, several times; they were SQL functions reading
 * pg_roles, which PostgreSQL cannot inline (a query with a FROM) and so planned anew at each
 * call.  Here they read the role's catalog row through the system cache.
 *
 * What they tell is what pg_roles shows every role (PUBLIC keeps EXECUTE).  An oid that is no
 * role, or NULL, has no name and is no superuser.
 *
 * Must never: raise (a dropped role is simply not found).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(role_name_of);
PG_FUNCTION_INFO_V1(role_is_superuser);

/* ledger._role_name(oid): the role's name, NULL for none */
Datum
role_name_of(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	Name		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(PG_GETARG_OID(0)));
	if (!HeapTupleIsValid(tup))
		PG_RETURN_NULL();
	result = (Name) palloc0(NAMEDATALEN);
	namestrcpy(result, NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));
	ReleaseSysCache(tup);
	PG_RETURN_NAME(result);
}

/* ledger._is_superuser(oid): whether the role is a superuser; false for none */
Datum
role_is_superuser(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	bool		super;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(PG_GETARG_OID(0)));
	if (!HeapTupleIsValid(tup))
		PG_RETURN_BOOL(false);
	super = ((Form_pg_authid) GETSTRUCT(tup))->rolsuper;
	ReleaseSysCache(tup);
	PG_RETURN_BOOL(super);
}
