/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persistence.h - vmcryptd's key persistence: the daemon module that
 * unseals the KEK cache at start (lib/persist.h) and plugs it into
 * d->persist, and the persistence.* control operations.
 *
 * At start, with persistence enabled:
 *   ok              every cached KEK is available; event "persist.loaded"
 *   PCRs changed    event "persist.pcr_mismatch"; the directory is moved to
 *                   STATE_DIR/persist.pcr-mismatch.<time> (kept, not
 *                   deleted) and persistence is off until re-enabled; keys
 *                   come from the KMS
 *   corrupt files   event "persist.corrupt"; moved to persist.corrupt.<time>
 *   no TPM/lockout  event "persist.unavailable"; files untouched, retried at
 *                   most every PERSIST_RETRY_S seconds when a key is needed
 */
#ifndef VMCRYPTD_PERSISTENCE_H
#define VMCRYPTD_PERSISTENCE_H

#include "vmcryptd/daemon.h"

#define PERSIST_RETRY_S 30

int persistence_init(struct daemon *d);
void persistence_fini(struct daemon *d);

#endif
