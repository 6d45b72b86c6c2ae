/*
 * sealed.h — sealed My Numbers (sealed.c): AES-256-GCM under a data key of keys.c.
 */
#ifndef MNL_SEALED_H
#define MNL_SEALED_H

/* The number inside a sealed value (raises unless it opens in this context). */
extern int64 sealed_open(bytea *sealed, text *context);

/* HMAC-SHA256 of the 12 digits under the active key of purpose (blind index, pseudonym). */
extern bytea *sealed_digits_mac(int64 value, const char *purpose);

#endif							/* MNL_SEALED_H */
