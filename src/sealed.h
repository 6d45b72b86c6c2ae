/*
 * sealed.h — sealed My Numbers (sealed.c): AES-256-GCM under a data key of keys.c.
 */
#ifndef MNL_SEALED_H
#define MNL_SEALED_H

/* The number inside a sealed value (raises unless it opens in this context). */
extern int64 sealed_open(bytea *sealed, text *context);

#endif							/* MNL_SEALED_H */
