// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - the generic netlink family "vmcrypt" (include/uapi/linux/
 * vmcrypt.h): a feature query, a per-device dump of key state and
 * counters, and the multicast group "events". Every target instance is on
 * a module-global list from the end of its constructor to the start of its
 * destructor, in the order of an id that is never reused, so that a dump
 * resumes after the last instance it sent even when instances before it
 * went away. A reload puts two tables of one device on the list until the
 * old one is destroyed: an instance is "live" from the ->preresume of its
 * table (dm core resumes only the table it has just swapped in) until
 * another table of its device is resumed. Events are sent from process
 * context only; I/O errors, seen in completion context, reach the group
 * through a rate-limited work item. No key byte is ever put in a message.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/vmcrypt.h>

#include "vmcrypt.h"

static LIST_HEAD(vmc_devs);
static DEFINE_MUTEX(vmc_devs_lock);	/* the list, ->nl_id, ->live */
static unsigned long vmc_last_id;

static const char * const vmc_options[] = {
	"sector_size", "iv_large_sectors", "allow_discards",
};

static const struct nla_policy vmc_policy[VMCRYPT_A_MAX + 1] = {
	[VMCRYPT_A_DEV_NAME] = { .type = NLA_NUL_STRING, .len = 127 },
};

static struct genl_family vmc_family;

/*
 * The dm device name (not the "major:minor" dm_device_name() gives), kept
 * in vc->name because it is gone by the time the destructor runs. Caller
 * holds vc->lock.
 */
static const char *vmc_nl_name(struct vmc_dev *vc)
{
	char tmp[DM_NAME_LEN];

	if (!dm_copy_name_and_uuid(dm_table_get_md(vc->ti->table), tmp, NULL))
		strscpy(vc->name, tmp, sizeof(vc->name));
	return vc->name;
}

static int vmc_put_strings(struct sk_buff *skb, int type,
			   const char * const *s, unsigned int n)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < n; i++)
		if (nla_put_string(skb, i + 1, s[i]))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int vmc_put_features(struct sk_buff *skb)
{
	static const char * const ciphers[] = { VMC_CIPHER };
	char driver[CRYPTO_MAX_ALG_NAME];
	struct nlattr *nest;

	if (nla_put_u32(skb, VMCRYPT_A_VERSION_MAJOR, VMC_VERSION_MAJOR) ||
	    nla_put_u32(skb, VMCRYPT_A_VERSION_MINOR, VMC_VERSION_MINOR) ||
	    nla_put_u32(skb, VMCRYPT_A_VERSION_PATCH, VMC_VERSION_PATCH) ||
	    vmc_put_strings(skb, VMCRYPT_A_CIPHERS, ciphers,
			    ARRAY_SIZE(ciphers)) ||
	    vmc_put_strings(skb, VMCRYPT_A_OPTIONS, vmc_options,
			    ARRAY_SIZE(vmc_options)))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, VMCRYPT_A_KEY_SIZES);
	if (!nest || nla_put_u32(skb, 1, 32) || nla_put_u32(skb, 2, 64))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);

	kernel_param_lock(THIS_MODULE);
	strscpy(driver, vmc_driver_param, sizeof(driver));
	kernel_param_unlock(THIS_MODULE);
	if (nla_put_string(skb, VMCRYPT_A_CRYPTO_DRIVER, strim(driver)))
		return -EMSGSIZE;
	return 0;
}

static int vmc_get_features(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmc_family, 0,
				VMCRYPT_CMD_GET_FEATURES);
	if (!hdr || vmc_put_features(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vmc_put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, VMCRYPT_A_PAD);
}

/* One device's attributes; caller holds vmc_devs_lock. */
static int vmc_put_dev(struct sk_buff *skb, struct vmc_dev *vc)
{
	struct crypto_tfm *tfm = crypto_skcipher_tfm(vc->tfm);
	struct vmc_stats s;
	int r = -EMSGSIZE;

	vmc_stats_read(vc, &s);
	mutex_lock(&vc->lock);
	if (nla_put_string(skb, VMCRYPT_A_DEV_NAME, vmc_nl_name(vc)) ||
	    nla_put_string(skb, VMCRYPT_A_DEV_KEY_DESC, vc->key_desc) ||
	    nla_put_u32(skb, VMCRYPT_A_DEV_KEY_SIZE, vc->key_size) ||
	    nla_put_u32(skb, VMCRYPT_A_DEV_KEY_STATE, vc->key_state) ||
	    nla_put_u32(skb, VMCRYPT_A_DEV_SECTOR_SIZE, vc->sector_size) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_IV_OFFSET, vc->iv_offset) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_OFFSET, vc->start) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_LENGTH, vc->ti->len) ||
	    nla_put_string(skb, VMCRYPT_A_DEV_CRYPTO_DRIVER,
			   crypto_tfm_alg_driver_name(tfm)) ||
	    nla_put_u8(skb, VMCRYPT_A_DEV_CRYPTO_ASYNC, vc->async) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_READS, s.reads) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_READ_BYTES, s.read_bytes) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_WRITES, s.writes) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_WRITE_BYTES, s.write_bytes) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_CRYPTO_ERRORS, s.crypto_errors) ||
	    vmc_put_u64(skb, VMCRYPT_A_DEV_IO_ERRORS, s.io_errors) ||
	    nla_put_u8(skb, VMCRYPT_A_DEV_LIVE, vc->live))
		goto out;
	r = 0;
out:
	mutex_unlock(&vc->lock);
	return r;
}

static int vmc_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmc_dev *vc, *found = NULL;
	struct sk_buff *msg;
	const char *name;
	void *hdr;
	int r;

	if (GENL_REQ_ATTR_CHECK(info, VMCRYPT_A_DEV_NAME))
		return -EINVAL;
	name = nla_data(info->attrs[VMCRYPT_A_DEV_NAME]);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	/* the first line of the live table, else of the first table loaded */
	mutex_lock(&vmc_devs_lock);
	list_for_each_entry(vc, &vmc_devs, node) {
		if (found && (found->live || !vc->live))
			continue;
		mutex_lock(&vc->lock);
		if (!strcmp(vmc_nl_name(vc), name))
			found = vc;
		mutex_unlock(&vc->lock);
	}
	if (!found) {
		mutex_unlock(&vmc_devs_lock);
		nlmsg_free(msg);
		GENL_SET_ERR_MSG(info, "no vmcrypt device of that name");
		return -ENODEV;
	}
	hdr = genlmsg_put_reply(msg, info, &vmc_family, 0, VMCRYPT_CMD_DEV_GET);
	r = hdr ? vmc_put_dev(msg, found) : -EMSGSIZE;
	mutex_unlock(&vmc_devs_lock);
	if (r) {
		nlmsg_free(msg);
		return r;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: the id of the last instance sent (ids start at 1). */
static int vmc_dev_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long last = cb->args[0];
	struct vmc_dev *vc;
	void *hdr;

	mutex_lock(&vmc_devs_lock);
	list_for_each_entry(vc, &vmc_devs, node) {
		if (vc->nl_id <= last)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vmc_family, NLM_F_MULTI,
				  VMCRYPT_CMD_DEV_GET);
		if (!hdr)
			goto full;
		if (vmc_put_dev(skb, vc)) {
			genlmsg_cancel(skb, hdr);
			goto full;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = vc->nl_id;
	}
full:
	mutex_unlock(&vmc_devs_lock);
	return skb->len;
}

static const struct genl_small_ops vmc_ops[] = {
	{
		.cmd = VMCRYPT_CMD_GET_FEATURES,
		.doit = vmc_get_features,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMCRYPT_CMD_DEV_GET,
		.doit = vmc_dev_get_doit,
		.dumpit = vmc_dev_get_dumpit,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vmc_mcgrps[] = {
	{ .name = VMCRYPT_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family vmc_family __ro_after_init = {
	.name = VMCRYPT_GENL_NAME,
	.version = VMCRYPT_GENL_VERSION,
	.maxattr = VMCRYPT_A_MAX,
	.policy = vmc_policy,
	.module = THIS_MODULE,
	.small_ops = vmc_ops,
	.n_small_ops = ARRAY_SIZE(vmc_ops),
	/* 0: every command gets the strict checks (reserved header fields) */
	.resv_start_op = 0,
	.mcgrps = vmc_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vmc_mcgrps),
};

/*
 * Multicast one event; process context. Dropped if nobody listens (0);
 * -ENOMEM when there was no memory for the message.
 */
int vmc_genl_event(struct vmc_dev *vc, int type, u64 errors)
{
	struct sk_buff *msg;
	void *hdr;
	int r;

	if (!genl_has_listeners(&vmc_family, &init_net, 0))
		return 0;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, 0, 0, &vmc_family, 0, VMCRYPT_CMD_EVENT);
	if (!hdr)
		goto fail;
	mutex_lock(&vc->lock);
	r = nla_put_u32(msg, VMCRYPT_A_EVENT_TYPE, type) ||
	    nla_put_string(msg, VMCRYPT_A_DEV_NAME, vmc_nl_name(vc));
	if (type == VMCRYPT_EVENT_IO_ERROR)
		r = r || nla_put_u64_64bit(msg, VMCRYPT_A_EVENT_ERRORS, errors,
					   VMCRYPT_A_PAD);
	else
		r = r || nla_put_string(msg, VMCRYPT_A_DEV_KEY_DESC,
					vc->key_desc);
	mutex_unlock(&vc->lock);
	if (r)
		goto fail;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vmc_family, msg, 0, 0, GFP_KERNEL);
	return 0;
fail:
	nlmsg_free(msg);
	return 0;	/* cannot fit: no retry would */
}

void vmc_genl_err_work(struct work_struct *work)
{
	struct vmc_dev *vc = container_of(work, struct vmc_dev, err_work);
	u64 n = atomic64_xchg(&vc->err_pending, 0);

	/* not sent for want of memory: counted in the next event */
	if (n && vmc_genl_event(vc, VMCRYPT_EVENT_IO_ERROR, n) == -ENOMEM)
		atomic64_add(n, &vc->err_pending);
}

/* Count a failed request; any context. */
void vmc_io_error(struct vmc_dev *vc, bool crypto)
{
	atomic64_inc(crypto ? &vc->crypto_errors : &vc->io_errors);
	atomic64_inc(&vc->err_pending);
	if (__ratelimit(&vc->err_rs))
		schedule_work(&vc->err_work);
}

void vmc_genl_register(struct vmc_dev *vc)
{
	mutex_lock(&vc->lock);
	vmc_nl_name(vc);
	mutex_unlock(&vc->lock);
	mutex_lock(&vmc_devs_lock);
	vc->nl_id = ++vmc_last_id;
	list_add_tail(&vc->node, &vmc_devs);
	mutex_unlock(&vmc_devs_lock);
}

/*
 * @vc's table is now its device's live table: the instances of the
 * device's other tables (the one it replaced) are not. Process context.
 */
void vmc_genl_mark_live(struct vmc_dev *vc)
{
	struct mapped_device *md = dm_table_get_md(vc->ti->table);
	struct vmc_dev *other;

	mutex_lock(&vmc_devs_lock);
	list_for_each_entry(other, &vmc_devs, node)
		if (other->ti->table != vc->ti->table &&
		    dm_table_get_md(other->ti->table) == md)
			other->live = false;
	vc->live = true;
	mutex_unlock(&vmc_devs_lock);
}

/* Tolerates a device that was never registered. */
void vmc_genl_unregister(struct vmc_dev *vc)
{
	bool was = false;

	mutex_lock(&vmc_devs_lock);
	if (!list_empty(&vc->node)) {
		list_del_init(&vc->node);
		was = true;
	}
	mutex_unlock(&vmc_devs_lock);
	if (was)
		vmc_genl_event(vc, VMCRYPT_EVENT_DEV_REMOVED, 0);
}

int vmc_genl_init(void)
{
	return genl_register_family(&vmc_family);
}

void vmc_genl_exit(void)
{
	genl_unregister_family(&vmc_family);
}
