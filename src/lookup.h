/*
 * lookup.h — limits on lookups by My Number (lookup.c).
 */
#ifndef MNL_LOOKUP_H
#define MNL_LOOKUP_H

extern int	mnl_lookup_rate_per_minute; /* ledger.lookup_rate_per_minute */
extern int	mnl_lookup_daily_cap;		/* ledger.lookup_daily_cap */
extern int	mnl_lookup_min_duration;	/* ledger.lookup_min_duration (ms) */

extern void lookup_shmem_request(void);
extern void lookup_shmem_startup(void);

#endif							/* MNL_LOOKUP_H */
