/*
 * mynumber_ledger.h — what the module's files share: the settings defined
 * at load time (module.c) and the names used in messages.
 */
#ifndef MYNUMBER_LEDGER_H
#define MYNUMBER_LEDGER_H

#include "compat.h"

#define MNL_EXTENSION_NAME	"mynumber_ledger"

/* ledger.allow_all_zero_mynumber: accept 000000000000 (default off). */
extern bool mnl_allow_all_zero_mynumber;

#endif							/* MYNUMBER_LEDGER_H */
