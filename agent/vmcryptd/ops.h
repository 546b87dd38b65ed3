/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.h - prototypes of the control operations listed in ops.c and of the
 * daemon modules and provider types. One line per entry; add yours in
 * your own block.
 */
#ifndef VMCRYPTD_OPS_H
#define VMCRYPTD_OPS_H

#include "vmcryptd/daemon.h"
#include "vmcryptd/provider.h"

#define OP_PROTO(fn) int fn(struct daemon *d, struct request *rq, \
			    struct json_object *args, struct json_object *result)

/* ops_core.c */
OP_PROTO(op_ping);
OP_PROTO(op_events_list);
/* ops_provider.c */
OP_PROTO(op_provider_add);
OP_PROTO(op_provider_list);
OP_PROTO(op_provider_show);
OP_PROTO(op_provider_test);
OP_PROTO(op_provider_set_default);
OP_PROTO(op_provider_remove);
/* ops_key.c */
OP_PROTO(op_key_create);
OP_PROTO(op_key_show);
OP_PROTO(op_key_fetch);
OP_PROTO(op_key_list);
/* disk_*.c */
OP_PROTO(op_disk_format);
OP_PROTO(op_disk_open);
OP_PROTO(op_disk_close);
OP_PROTO(op_disk_list);
OP_PROTO(op_disk_status);
OP_PROTO(op_disk_lock);
OP_PROTO(op_disk_unlock);
OP_PROTO(op_disk_rekey);

/* kevents.c: kernel netlink events into the event log */
int kevents_init(struct daemon *d);
void kevents_fini(struct daemon *d);

/* disk_open.c: remove the devices an open cut short left without a table */
int disk_init(struct daemon *d);

/* provider_kmip.c */
extern const struct provider_ops kmip_provider_ops;

/* persistence.c (module init/fini in persistence.h), provider_native.c */
OP_PROTO(op_persistence_enable);
OP_PROTO(op_persistence_disable);
OP_PROTO(op_persistence_status);
OP_PROTO(op_provider_backup);
OP_PROTO(op_provider_backup_verify);
OP_PROTO(op_provider_restore);
extern const struct provider_ops native_provider_ops;

#endif
