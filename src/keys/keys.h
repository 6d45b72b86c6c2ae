/*
 * keys.h — the key-encryption key and data keys (keys.c).
 */
#ifndef MNL_KEYS_H
#define MNL_KEYS_H

#define KEY_LEN 32

#define KEY_PURPOSE_NUMBER		"number"		/* AES-256-GCM of numbers */
#define KEY_PURPOSE_BLIND_INDEX "blind_index"	/* HMAC-SHA256 blind index */
#define KEY_PURPOSE_PERIOD_PREFIX "number:"	/* + year: numbers expiring in a retention period */

extern void keys_load_kek(void);
extern void keys_shmem_request(void);
extern void keys_shmem_startup(void);
extern const uint8 *keys_active(const char *purpose, int32 *key_id);
extern const uint8 *keys_by_id(int32 key_id, const char *purpose);
extern const char *keys_purpose_of(int32 key_id);	/* NULL: no such key, or destroyed */

/* Moves whenever the cached keys are forgotten: state keyed with one must be re-keyed. */
extern uint64 keys_cache_epoch(void);

#define KEY_PURPOSE_PSEUDONYM_PREFIX "pseudonym:"	/* + affair code: each affair's HMAC */
#define KEY_PURPOSE_MAX 80

#endif							/* MNL_KEYS_H */
