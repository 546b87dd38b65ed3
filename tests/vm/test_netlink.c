// SPDX-License-Identifier: GPL-2.0
/*
 * test_netlink.c - the generic netlink family "vmcrypt" of dm-vmcrypt,
 * through the agent's client (agent/lib/genl.c): ABI version, features,
 * per-device stats equal to the I/O done (also when every CPU does some
 * of it: the counters are per CPU and summed), DEV_GET by name, the live
 * and the inactive table of a reload, a dump in several rounds that a
 * removal between them must not make skip a device, events (created, key
 * wiped, key set, I/O error, removed), and refusal of callers without
 * CAP_NET_ADMIN.
 */
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <uapi/linux/vmcrypt.h>

#include "kselftest_harness.h"
#include "lib/genl.h"
#include "test_target.h"

#define DNAME "vmct_nl"
#define ENAME "vmct_nl_err"
#define DEV "/dev/mapper/" DNAME
#define NR_DUMP_DEVS 64		/* a dump of several rounds */

static void dump_dev_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "vmct_nld%02d", i);
}

FIXTURE(nl) {
	struct vmc_genl *g;
	char desc[64];
	key_serial_t key;
	char table[256];
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	snprintf(self->desc, sizeof(self->desc), "vmct%d:nl", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
	snprintf(self->table, sizeof(self->table),
		 "0 8192 vmcrypt aes-xts-plain64 :64:logon:%s 16 /dev/ram0 32 1 sector_size:4096",
		 self->desc);
	ASSERT_EQ(0, vmc_genl_open(&self->g));
}

FIXTURE_TEARDOWN(nl)
{
	char name[32];
	int i;

	for (i = 0; i < NR_DUMP_DEVS; i++) {
		dump_dev_name(name, sizeof(name), i);
		if (vmc_dm_exists(name))
			vmc_dm_remove(name);
	}
	vmc_genl_close(self->g);
	vmc_dm_remove(DNAME);
	vmc_dm_remove(ENAME);
	vmc_dm_remove(ENAME "_lower");
	keyctl_invalidate(self->key);
}

TEST_F(nl, abi_version)
{
	struct vmc_features f;

	ASSERT_EQ(0, vmc_genl_get_features(self->g, &f));
	EXPECT_EQ(VMCRYPT_GENL_VERSION, f.family_version);
	EXPECT_EQ(1, f.family_version);
}

TEST_F(nl, features)
{
	struct vmc_features f;

	ASSERT_EQ(0, vmc_genl_get_features(self->g, &f));
	EXPECT_EQ(1, f.version[0]);
	EXPECT_EQ(0, f.version[1]);
	EXPECT_EQ(0, f.version[2]);
	ASSERT_EQ(1, f.n_ciphers);
	EXPECT_STREQ("aes-xts-plain64", f.ciphers[0]);
	ASSERT_EQ(3, f.n_options);
	EXPECT_STREQ("sector_size", f.options[0]);
	EXPECT_STREQ("iv_large_sectors", f.options[1]);
	EXPECT_STREQ("allow_discards", f.options[2]);
	ASSERT_EQ(2, f.n_key_sizes);
	EXPECT_EQ(32, f.key_sizes[0]);
	EXPECT_EQ(64, f.key_sizes[1]);
}

struct found {
	const char *name;
	struct vmc_dev_info d;
	int n;
};

static int find_dev(const struct vmc_dev_info *d, void *arg)
{
	struct found *f = arg;

	if (!strcmp(d->name, f->name)) {
		f->d = *d;
		f->n++;
	}
	return 0;
}

TEST_F(nl, stats_equal_io_done)
{
	static struct found fd_;
	static struct vmc_dev_info d;
	unsigned char *buf = vmc_buf(65536);
	int fd, i;

	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	fd = open(DEV, O_RDWR | O_DIRECT);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 25; i++)
		ASSERT_EQ(16384, pwrite(fd, buf, 16384, (off_t)i * 65536));
	for (i = 0; i < 12; i++)
		ASSERT_EQ(4096, pread(fd, buf, 4096, (off_t)i * 4096));
	close(fd);

	fd_.name = DNAME;
	ASSERT_EQ(0, vmc_genl_dev_dump(self->g, find_dev, &fd_));
	ASSERT_EQ(1, fd_.n);
	EXPECT_STREQ(self->desc, fd_.d.key_desc);
	EXPECT_EQ(64, fd_.d.key_size);
	EXPECT_EQ(VMCRYPT_KEY_SET, fd_.d.key_state);
	EXPECT_EQ(4096, fd_.d.sector_size);
	EXPECT_EQ(16, fd_.d.iv_offset);
	EXPECT_EQ(32, fd_.d.offset);
	EXPECT_EQ(8192, fd_.d.length);
	EXPECT_EQ(25, fd_.d.writes);
	EXPECT_EQ(25 * 16384, fd_.d.write_bytes);
	EXPECT_EQ(12, fd_.d.reads);
	EXPECT_EQ(12 * 4096, fd_.d.read_bytes);
	EXPECT_EQ(0, fd_.d.crypto_errors);
	EXPECT_EQ(0, fd_.d.io_errors);
	EXPECT_NE(0, fd_.d.driver[0]);

	ASSERT_EQ(0, vmc_genl_dev_get(self->g, DNAME, &d));
	EXPECT_STREQ(DNAME, d.name);
	EXPECT_EQ(25, d.writes);
	EXPECT_EQ(-ENODEV, vmc_genl_dev_get(self->g, "vmct-no-such-device", &d));
	/* DEV_GET do without its required attribute */
	EXPECT_EQ(-EINVAL, vmc_genl_dev_get(self->g, NULL, &d));
	free(buf);
}

#define CPU_WRITES 64
#define CPU_READS 32
#define CPU_BIG (512 * 1024)	/* converted in parts on every CPU */

/* I/O pinned to @cpu in its own quarter of the device; 0 on success. */
static int io_on_cpu(int cpu, off_t base)
{
	unsigned char *buf = vmc_buf(CPU_BIG);
	cpu_set_t set;
	int fd, i, r = 1;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (!buf || sched_setaffinity(0, sizeof(set), &set))
		goto out;
	fd = open(DEV, O_RDWR | O_DIRECT);
	if (fd < 0)
		goto out;
	for (i = 0; i < CPU_WRITES; i++)
		if (pwrite(fd, buf, 4096, base + (off_t)i * 4096) != 4096)
			goto out_close;
	for (i = 0; i < CPU_READS; i++)
		if (pread(fd, buf, 4096, base + (off_t)i * 4096) != 4096)
			goto out_close;
	if (pwrite(fd, buf, CPU_BIG, base + CPU_BIG) != CPU_BIG ||
	    pread(fd, buf, CPU_BIG, base + CPU_BIG) != CPU_BIG)
		goto out_close;
	r = 0;
out_close:
	close(fd);
out:
	free(buf);
	return r;
}

/*
 * One process pinned to each CPU (up to four) does its own I/O at the same
 * time; the INFO status and netlink both report the exact sum.
 */
TEST_F(nl, stats_sum_every_cpu)
{
	static struct found fd_;
	struct vmc_info in;
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), c, st;
	unsigned long long writes, reads;
	pid_t pid[4];

	ASSERT_GE(ncpu, 1);
	if (ncpu > 4)
		ncpu = 4;
	TH_LOG("%d CPUs doing I/O at once", ncpu);
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	for (c = 0; c < ncpu; c++) {
		pid[c] = fork();
		ASSERT_GE(pid[c], 0);
		if (!pid[c])
			_exit(io_on_cpu(c, (off_t)c * 1024 * 1024));
	}
	for (c = 0; c < ncpu; c++) {
		ASSERT_EQ(pid[c], waitpid(pid[c], &st, 0));
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	writes = ncpu * (CPU_WRITES + 1ULL);
	reads = ncpu * (CPU_READS + 1ULL);

	fd_.name = DNAME;
	ASSERT_EQ(0, vmc_genl_dev_dump(self->g, find_dev, &fd_));
	ASSERT_EQ(1, fd_.n);
	EXPECT_EQ(writes, fd_.d.writes);
	EXPECT_EQ(ncpu * (CPU_WRITES * 4096ULL + CPU_BIG), fd_.d.write_bytes);
	EXPECT_EQ(reads, fd_.d.reads);
	EXPECT_EQ(ncpu * (CPU_READS * 4096ULL + CPU_BIG), fd_.d.read_bytes);

	ASSERT_EQ(0, vmc_dm_info(DNAME, &in));
	EXPECT_STREQ("set", in.key_state);
	EXPECT_EQ(fd_.d.reads, in.reads);
	EXPECT_EQ(fd_.d.read_bytes, in.read_bytes);
	EXPECT_EQ(fd_.d.writes, in.writes);
	EXPECT_EQ(fd_.d.write_bytes, in.write_bytes);
	EXPECT_EQ(0, in.crypto_errors);
	EXPECT_EQ(0, in.io_errors);
}

/* The instances of one name in a dump: the live table's and the other's. */
struct instances {
	const char *name;
	int n, n_live, n_inactive;
	struct vmc_dev_info live, inactive;
};

static int find_instances(const struct vmc_dev_info *d, void *arg)
{
	struct instances *f = arg;

	if (strcmp(d->name, f->name))
		return 0;
	f->n++;
	if (d->live == 1) {
		f->live = *d;
		f->n_live++;
	} else if (d->live == 0) {
		f->inactive = *d;
		f->n_inactive++;
	}
	return 0;
}

static int dump_instances(struct vmc_genl *g, const char *name,
			  struct instances *in)
{
	memset(in, 0, sizeof(*in));
	in->name = name;
	return vmc_genl_dev_dump(g, find_instances, in);
}

/*
 * A reload puts a second table of the device beside the live one until
 * the resume swaps them: the dump says which one is live, and DEV_GET
 * answers for the live one, before and after the swap. A device whose only
 * table was never resumed is still found, as inactive.
 */
TEST_F(nl, reload_live_table)
{
	static struct instances in;
	static struct vmc_dev_info d;
	char desc2[64], table2[256];
	key_serial_t key2;

	snprintf(desc2, sizeof(desc2), "vmct%d:nl2", getpid());
	key2 = vmc_add_key("logon", desc2, NULL, 64);
	ASSERT_GT(key2, 0);
	snprintf(table2, sizeof(table2),
		 "0 4096 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0 1 sector_size:4096",
		 desc2);
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	ASSERT_EQ(0, dump_instances(self->g, DNAME, &in));
	EXPECT_EQ(1, in.n);
	EXPECT_EQ(1, in.n_live);

	ASSERT_EQ(0, vmc_dm_reload(DNAME, table2));
	ASSERT_EQ(0, dump_instances(self->g, DNAME, &in));
	ASSERT_EQ(2, in.n);
	ASSERT_EQ(1, in.n_live);
	ASSERT_EQ(1, in.n_inactive);
	EXPECT_EQ(8192, in.live.length);
	EXPECT_STREQ(self->desc, in.live.key_desc);
	EXPECT_EQ(4096, in.inactive.length);
	EXPECT_STREQ(desc2, in.inactive.key_desc);
	ASSERT_EQ(0, vmc_genl_dev_get(self->g, DNAME, &d));
	EXPECT_EQ(1, d.live);
	EXPECT_EQ(8192, d.length);

	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, dump_instances(self->g, DNAME, &in));
	EXPECT_EQ(1, in.n);
	ASSERT_EQ(1, in.n_live);
	EXPECT_EQ(4096, in.live.length);
	EXPECT_STREQ(desc2, in.live.key_desc);
	ASSERT_EQ(0, vmc_genl_dev_get(self->g, DNAME, &d));
	EXPECT_EQ(1, d.live);
	EXPECT_EQ(4096, d.length);

	/* a device with no table, then a table loaded and not resumed */
	ASSERT_EQ(0, vmc_dm_simple(DM_DEVICE_CREATE, ENAME));
	ASSERT_EQ(0, vmc_dm_reload(ENAME, table2));
	ASSERT_EQ(0, vmc_genl_dev_get(self->g, ENAME, &d));
	EXPECT_EQ(0, d.live);
	EXPECT_EQ(4096, d.length);
	ASSERT_EQ(0, dump_instances(self->g, ENAME, &in));
	EXPECT_EQ(1, in.n);
	EXPECT_EQ(1, in.n_inactive);
	keyctl_invalidate(key2);
}

/*
 * A dump longer than one receive buffer comes in rounds, each produced
 * when the previous one is read and resuming where it stopped. A device
 * removed between two rounds must not make the next one skip a device
 * that is still there. A raw socket with a 4 KiB buffer keeps each round
 * small (the kernel sizes them by the reader's buffer).
 */
TEST_F(nl, dump_resumes_after_removal)
{
	static char buf[4096] __attribute__((aligned(8)));
	static int seen[NR_DUMP_DEVS];
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
	} req;
	struct nlattr *tb[VMCRYPT_A_MAX + 1];
	char name[32], table[256];
	int fd, fam, i, done = 0, rounds = 0, removed = -1;
	struct nl_sock *sk;

	for (i = 0; i < NR_DUMP_DEVS; i++) {
		dump_dev_name(name, sizeof(name), i);
		snprintf(table, sizeof(table),
			 "0 8 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 %d 1 sector_size:4096",
			 self->desc, i * 8);
		ASSERT_EQ(0, vmc_dm_create(name, table));
	}
	sk = nl_socket_alloc();
	ASSERT_TRUE(sk != NULL);
	ASSERT_EQ(0, genl_connect(sk));
	fam = genl_ctrl_resolve(sk, VMCRYPT_GENL_NAME);
	nl_socket_free(sk);
	ASSERT_GT(fam, 0);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	ASSERT_GE(fd, 0);
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = sizeof(req);
	req.n.nlmsg_type = fam;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = 1;
	req.g.cmd = VMCRYPT_CMD_DEV_GET;
	req.g.version = VMCRYPT_GENL_VERSION;
	ASSERT_EQ((ssize_t)sizeof(req), send(fd, &req, sizeof(req), 0));
	while (!done) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct nlmsghdr *nlh;
		int first = -1;
		ssize_t n = recvmsg(fd, &mh, 0);

		ASSERT_GT(n, 0);
		ASSERT_EQ(0, mh.msg_flags & MSG_TRUNC);
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			ASSERT_EQ(fam, nlh->nlmsg_type);
			ASSERT_EQ(0, genlmsg_parse(nlh, 0, tb, VMCRYPT_A_MAX, NULL));
			ASSERT_TRUE(tb[VMCRYPT_A_DEV_NAME] != NULL);
			if (sscanf(nla_get_string(tb[VMCRYPT_A_DEV_NAME]),
				   "vmct_nld%d", &i) != 1 || i < 0 || i >= NR_DUMP_DEVS)
				continue;
			seen[i]++;
			if (first < 0)
				first = i;
		}
		if (first >= 0)
			rounds++;
		/*
		 * Reading round 1 produced round 2: remove round 1's first
		 * device, so that round 3 and later start after a gap.
		 */
		if (rounds == 1 && removed < 0 && first >= 0) {
			removed = first;
			dump_dev_name(name, sizeof(name), removed);
			vmc_dm_remove(name);
			ASSERT_FALSE(vmc_dm_exists(name));
		}
	}
	close(fd);
	TH_LOG("%d devices in %d rounds, device %d removed after round 1",
	       NR_DUMP_DEVS, rounds, removed);
	ASSERT_GE(rounds, 3);
	for (i = 0; i < NR_DUMP_DEVS; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("device %d seen %d times", i, seen[i]);
}

struct evlog {
	struct vmc_event ev[32];
	int n;
};

static int log_event(const struct vmc_event *e, void *arg)
{
	struct evlog *l = arg;

	if (l->n < 32 && !strncmp(e->name, "vmct_nl", 7))
		l->ev[l->n++] = *e;
	return 0;
}

/* Collect events until @want of them arrived or 10 s passed. */
static void collect(struct vmc_genl *g, struct evlog *l, int want)
{
	struct pollfd p = { .fd = vmc_genl_event_fd(g), .events = POLLIN };
	time_t end = time(NULL) + 10;

	while (l->n < want && time(NULL) < end) {
		if (poll(&p, 1, 500) > 0)
			vmc_genl_read_events(g, log_event, l);
	}
}

TEST_F(nl, events)
{
	static struct evlog l;

	ASSERT_EQ(0, vmc_genl_subscribe(self->g));
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key wipe"));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	vmc_dm_remove(DNAME);
	collect(self->g, &l, 4);
	ASSERT_EQ(4, l.n);
	EXPECT_EQ(VMCRYPT_EVENT_DEV_CREATED, l.ev[0].type);
	EXPECT_EQ(VMCRYPT_EVENT_KEY_WIPED, l.ev[1].type);
	EXPECT_EQ(VMCRYPT_EVENT_KEY_SET, l.ev[2].type);
	EXPECT_EQ(VMCRYPT_EVENT_DEV_REMOVED, l.ev[3].type);
	EXPECT_STREQ(DNAME, l.ev[0].name);
	EXPECT_STREQ(DNAME, l.ev[3].name);
	EXPECT_STREQ(self->desc, l.ev[2].key_desc);
}

/* A backing device that fails every I/O: errors counted and reported. */
TEST_F(nl, io_error_event)
{
	static struct evlog l;
	static struct vmc_dev_info d;
	char table[256];
	unsigned char *buf = vmc_buf(4096);
	int fd, i, errors = 0;

	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, vmc_dm_create(ENAME "_lower", "0 8192 error"));
	snprintf(table, sizeof(table),
		 "0 8192 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/mapper/" ENAME "_lower 0",
		 self->desc);
	ASSERT_EQ(0, vmc_dm_create(ENAME, table));
	ASSERT_EQ(0, vmc_genl_subscribe(self->g));
	fd = open("/dev/mapper/" ENAME, O_RDWR | O_DIRECT);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 3; i++) {
		errors += pread(fd, buf, 4096, 0) < 0;
		errors += pwrite(fd, buf, 4096, 0) < 0;
	}
	close(fd);
	EXPECT_EQ(6, errors);
	collect(self->g, &l, 1);
	ASSERT_GE(l.n, 1);
	EXPECT_EQ(VMCRYPT_EVENT_IO_ERROR, l.ev[0].type);
	EXPECT_STREQ(ENAME, l.ev[0].name);
	EXPECT_GE(l.ev[0].errors, 1);
	ASSERT_EQ(0, vmc_genl_dev_get(self->g, ENAME, &d));
	EXPECT_EQ(6, d.io_errors);
	EXPECT_EQ(0, d.reads);
	EXPECT_EQ(0, d.writes);
	free(buf);
}

/* In a child without CAP_NET_ADMIN, every request and the group are refused. */
static int unprivileged(int setuid_nobody)
{
	struct vmc_features f;
	struct vmc_dev_info *d = malloc(sizeof(*d));
	struct vmc_genl *g;
	int fails = 0;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];

	if (setuid_nobody) {
		if (setgid(65534) || setuid(65534))
			return 100;
	} else {
		/* root, but without CAP_NET_ADMIN (bit 12, in the first word) */
		if (syscall(SYS_capget, &h, c))
			return 101;
		c[0].effective &= ~(1u << CAP_NET_ADMIN);
		c[0].permitted &= ~(1u << CAP_NET_ADMIN);
		c[0].inheritable &= ~(1u << CAP_NET_ADMIN);
		if (syscall(SYS_capset, &h, c))
			return 101;
	}
	if (vmc_genl_open(&g))
		return 102;
	fails += vmc_genl_get_features(g, &f) != -EPERM;
	fails += vmc_genl_dev_get(g, DNAME, d) != -EPERM;
	fails += vmc_genl_dev_dump(g, find_dev, &(struct found){ .name = DNAME }) != -EPERM;
	fails += vmc_genl_subscribe(g) != -EPERM;
	vmc_genl_close(g);
	free(d);
	return fails;
}

TEST_F(nl, unprivileged_refused)
{
	int mode, st;
	pid_t pid;

	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	for (mode = 0; mode < 2; mode++) {
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(unprivileged(mode));
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		EXPECT_EQ(0, WEXITSTATUS(st)) {
			TH_LOG("%s: %d requests not refused with EPERM (or setup code)",
			       mode ? "setuid nobody" : "no CAP_NET_ADMIN",
			       WEXITSTATUS(st));
		}
	}
}

TEST_HARNESS_MAIN
