/*
 * lookup.h — limits on lookups by My Number (lookup.c).
 */
#ifndef MNL_LOOKUP_H
#define MNL_LOOKUP_H

extern void lookup_shmem_request(void);
extern void lookup_shmem_startup(void);

#endif							/* MNL_LOOKUP_H */
