/*
 * compat.h — differences between PostgreSQL major versions, kept in one
 * place.  Only PostgreSQL 15 is built today; each macro names the version
 * where the underlying API changed so that a port is a matter of adding an
 * #if branch here rather than touching the code that uses it.
 */
#ifndef MNL_COMPAT_H
#define MNL_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "mynumber_ledger requires PostgreSQL 15 or later"
#endif

/*
 * Statistics target of the column being analysed.  PostgreSQL 17 moved it
 * out of pg_attribute into VacAttrStats itself.
 */
#if PG_VERSION_NUM >= 170000
#define MNL_STATTARGET(stats)		((stats)->attstattarget)
#else
#define MNL_STATTARGET(stats)		((stats)->attr->attstattarget)
#endif

#endif							/* MNL_COMPAT_H */
