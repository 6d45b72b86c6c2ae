/*
 * log_hygiene.h — masking My Numbers in the server log (log_hygiene.c).
 */
#ifndef MNL_LOG_HYGIENE_H
#define MNL_LOG_HYGIENE_H

extern void log_hygiene_install(void);

#endif							/* MNL_LOG_HYGIENE_H */
