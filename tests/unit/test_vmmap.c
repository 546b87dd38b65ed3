// SPDX-License-Identifier: GPL-2.0
/*
 * test_vmmap.c - the VM->KEK map file codec (lib/vmmap.c): a file written
 * by vmcryptd before the codec moved to lib loads and is written back byte
 * for byte; round trips; every malformed file is refused with a reason
 * naming the entry and the member, and yields no entries; the writer
 * refuses what the parser would refuse; the name rules (lib/names.c) it
 * shares with the request validators.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/names.h"
#include "lib/vmmap.h"

/*
 * STATE_DIR/vms.json as vmcryptd wrote it before the codec moved to lib
 * (two "key create" on a native provider; no newline at the end).
 */
static const char written_before[] =
	"{\n"
	"  \"version\":1,\n"
	"  \"vms\":[\n"
	"    {\n"
	"      \"vm_uuid\":\"0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f\",\n"
	"      \"vm_name\":\"db.prod-2\",\n"
	"      \"provider\":\"weak\",\n"
	"      \"kek_id\":\"native:weak:0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f\",\n"
	"      \"created\":\"2026-11-24T06:31:29.022Z\"\n"
	"    },\n"
	"    {\n"
	"      \"vm_uuid\":\"564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f\",\n"
	"      \"vm_name\":\"web 1\",\n"
	"      \"provider\":\"weak\",\n"
	"      \"kek_id\":\"native:weak:564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f\",\n"
	"      \"created\":\"2026-11-24T06:31:29.019Z\"\n"
	"    }\n"
	"  ]\n"
	"}";

static int parse(const char *text, struct vmmap *m, char *why, size_t n)
{
	return vmmap_parse(text, strlen(text), m, why, n);
}

TEST(written_by_earlier_vmcryptd_loads)
{
	struct vmmap m;
	char why[512] = "", *text = NULL;

	ASSERT_EQ(0, parse(written_before, &m, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ((size_t)2, m.n);
	EXPECT_STREQ("0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f", m.v[0].vm_uuid);
	EXPECT_STREQ("db.prod-2", m.v[0].vm_name);
	EXPECT_STREQ("weak", m.v[0].provider);
	EXPECT_STREQ("native:weak:0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f", m.v[0].kek_id);
	EXPECT_STREQ("2026-11-24T06:31:29.022Z", m.v[0].created);
	EXPECT_STREQ("web 1", m.v[1].vm_name);
	/* the format did not change: written back byte for byte */
	ASSERT_EQ(0, vmmap_format(&m, &text, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_STREQ(written_before, text);
	free(text);
	vmmap_free(&m);
}

TEST(round_trip)
{
	struct vmmap m = { 0 }, back;
	struct vmmap_entry e;
	char why[512] = "", *text = NULL, *again = NULL, id[NAMES_KEY_ID_MAX + 1];

	memset(id, 'k', NAMES_KEY_ID_MAX);
	id[NAMES_KEY_ID_MAX] = '\0';
	id[3] = '/';		/* written unescaped, read back as is */
	memcpy(id + 10, "\xc3\xa9", 2);	/* UTF-8 is not a control character */
	ASSERT_EQ(0, vmmap_entry_set(&e, "0f3e8d6a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
				     "web 01", "kms1", "42",
				     "2026-11-23T02:40:40.123Z", why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, vmmap_add(&m, &e));
	ASSERT_EQ(0, vmmap_entry_set(&e, "5a3b3c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
				     "A_b.c-d 9", "kms-eu.1", id, "", why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, vmmap_add(&m, &e));
	ASSERT_EQ(0, vmmap_format(&m, &text, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, parse(text, &back, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(m.n, back.n);
	EXPECT_EQ(0, memcmp(m.v, back.v, m.n * sizeof(*m.v)));
	EXPECT_STREQ(id, back.v[1].kek_id);
	EXPECT_STREQ("", back.v[1].created);
	ASSERT_EQ(0, vmmap_format(&back, &again, why, sizeof(why)));
	EXPECT_STREQ(text, again);
	EXPECT_EQ(&back.v[1], vmmap_find(&back, "5a3b3c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
	EXPECT_EQ(NULL, vmmap_find(&back, "5A3B3C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"));
	free(text);
	free(again);
	vmmap_free(&m);
	vmmap_free(&back);
}

TEST(empty_map)
{
	struct vmmap m = { 0 };
	char why[256] = "", *text = NULL;

	ASSERT_EQ(0, vmmap_format(&m, &text, why, sizeof(why)));
	vmmap_free(&m);
	ASSERT_EQ(0, parse(text, &m, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ((size_t)0, m.n);
	free(text);
	ASSERT_EQ(0, parse("{\"version\":1,\"vms\":[]}\n", &m, why, sizeof(why)));
	EXPECT_EQ((size_t)0, m.n);
}

/* "created" was optional to the parser before, and stays so. */
TEST(created_may_be_absent)
{
	struct vmmap m;
	char why[256] = "";

	ASSERT_EQ(0, parse("{\"version\":1,\"vms\":[{\"vm_uuid\":\"0f3e8d6a-1b2c-4d5e-8f90-a1b2c3d4e5f6\","
			   "\"vm_name\":\"a\",\"provider\":\"p\",\"kek_id\":\"1\"}]}",
			   &m, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ((size_t)1, m.n);
	EXPECT_STREQ("", m.v[0].created);
	vmmap_free(&m);
}

#define U0 "0f3e8d6a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
#define U1 "5a3b3c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define ENTRY(uuid, name, prov, id, created) \
	"{\"vm_uuid\":" uuid ",\"vm_name\":" name ",\"provider\":" prov \
	",\"kek_id\":" id ",\"created\":" created "}"
#define GOOD0 ENTRY("\"" U0 "\"", "\"web 01\"", "\"kms1\"", "\"42\"", \
		    "\"2026-11-23T02:40:40.123Z\"")
/* A map whose entry 1 is @e (after a good entry 0). */
#define MAP1(e) "{\"version\":1,\"vms\":[" GOOD0 "," e "]}"
#define K64 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
#define K256 "\"" K64 K64 K64 K64 "\""

FIXTURE(bad) {
	char text[2048];
};

FIXTURE_VARIANT(bad) {
	const char *text;	/* a whole file, or NULL: entry 1 of BAD1 */
	const char *field;
	const char *val;	/* the JSON of @field in entry 1 */
	const char *why;	/* the reason, exactly */
};

FIXTURE_SETUP(bad)
{
	const char *f = variant->field, *v = variant->val;
	const char *g[5] = { "\"" U1 "\"", "\"db\"", "\"kms1\"", "\"43\"", "\"\"" };
	static const char *const names[5] = {
		"vm_uuid", "vm_name", "provider", "kek_id", "created",
	};
	int i;

	if (variant->text) {
		snprintf(self->text, sizeof(self->text), "%s", variant->text);
		return;
	}
	for (i = 0; i < 5; i++)
		if (!strcmp(f, names[i]))
			g[i] = v;
	snprintf(self->text, sizeof(self->text),
		 "{\"version\":1,\"vms\":[" GOOD0 ",{\"vm_uuid\":%s,\"vm_name\":%s,"
		 "\"provider\":%s,\"kek_id\":%s,\"created\":%s}]}",
		 g[0], g[1], g[2], g[3], g[4]);
}

FIXTURE_TEARDOWN(bad) {}

#define E1 "entry 1 (VM " U1 "): "

/* the file as a whole */
FIXTURE_VARIANT_ADD(bad, empty_file) { "", NULL, NULL, "the file is empty" };
FIXTURE_VARIANT_ADD(bad, cut_short) {
	"{\"version\":1,\"vms\":[", NULL, NULL, "not JSON: the text ends early" };
FIXTURE_VARIANT_ADD(bad, not_json) {
	"{\"version\":1,\n\"vms\":[}", NULL, NULL, "not JSON: unexpected character at line 2" };
FIXTURE_VARIANT_ADD(bad, trailing_text) {
	"{\"version\":1,\"vms\":[]}\nx", NULL, NULL, "not JSON: unexpected character at line 2" };
FIXTURE_VARIANT_ADD(bad, trailing_comma) {
	"{\"version\":1,\"vms\":[" GOOD0 ",]}", NULL, NULL, "not JSON: unexpected character at line 1" };
FIXTURE_VARIANT_ADD(bad, too_deep) {
	"{\"version\":1,\"vms\":[[[[[[[[[]]]]]]]]]}", NULL, NULL,
	"not JSON: nesting too deep at line 1" };
FIXTURE_VARIANT_ADD(bad, top_is_list) { "[]", NULL, NULL, "the top level is not a JSON object" };
FIXTURE_VARIANT_ADD(bad, no_version) {
	"{\"vms\":[]}", NULL, NULL, "\"version\" is missing" };
FIXTURE_VARIANT_ADD(bad, version_2) {
	"{\"version\":2,\"vms\":[]}", NULL, NULL,
	"version 2 is not supported (this vmcryptd reads version 1)" };
FIXTURE_VARIANT_ADD(bad, version_string) {
	"{\"version\":\"1\",\"vms\":[]}", NULL, NULL, "\"version\" is not an integer" };
FIXTURE_VARIANT_ADD(bad, no_vms) { "{\"version\":1}", NULL, NULL, "\"vms\" is missing" };
FIXTURE_VARIANT_ADD(bad, vms_object) {
	"{\"version\":1,\"vms\":{}}", NULL, NULL, "\"vms\" is not a list" };
FIXTURE_VARIANT_ADD(bad, unknown_top) {
	"{\"version\":1,\"vms\":[],\"default\":\"x\"}", NULL, NULL,
	"unknown top-level member 'default'" };
FIXTURE_VARIANT_ADD(bad, unknown_top_escape) {
	"{\"version\":1,\"vms\":[],\"\\u001b[2J\":1}", NULL, NULL,
	"unknown top-level member '(unprintable)'" };
FIXTURE_VARIANT_ADD(bad, entry_not_object) {
	"{\"version\":1,\"vms\":[\"" U0 "\"]}", NULL, NULL, "entry 0: not a JSON object" };
FIXTURE_VARIANT_ADD(bad, unknown_member) {
	"{\"version\":1,\"vms\":[{\"vm_uuid\":\"" U0 "\",\"vm_name\":\"a\",\"provider\":\"p\","
	"\"kek_id\":\"1\",\"disk\":\"/dev/sda\"}]}", NULL, NULL,
	"entry 0 (VM " U0 "): unknown member 'disk'" };
FIXTURE_VARIANT_ADD(bad, no_kek_id) {
	"{\"version\":1,\"vms\":[{\"vm_uuid\":\"" U0 "\",\"vm_name\":\"a\",\"provider\":\"p\"}]}",
	NULL, NULL, "entry 0 (VM " U0 "): kek_id is missing" };
FIXTURE_VARIANT_ADD(bad, duplicate_vm) {
	"{\"version\":1,\"vms\":[" GOOD0 "," GOOD0 "]}", NULL, NULL,
	"entries 0 and 1 are both for VM " U0 };

/* vm_uuid */
FIXTURE_VARIANT_ADD(bad, uuid_short) {
	NULL, "vm_uuid", "\"5a3b3c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4\"",
	"entry 1: vm_uuid is not a UUID (" NAMES_UUID_RULE ")" };
FIXTURE_VARIANT_ADD(bad, uuid_no_dashes) {
	NULL, "vm_uuid", "\"5a3b3c3d04e5f04a6b08c7d09e0f1a2b3c4d\"",
	"entry 1: vm_uuid is not a UUID (" NAMES_UUID_RULE ")" };
FIXTURE_VARIANT_ADD(bad, uuid_upper) {
	NULL, "vm_uuid", "\"5A3B3C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D\"",
	"entry 1 (VM 5A3B3C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D): vm_uuid has upper-case letters (vmcryptd writes UUIDs in lower case)" };
FIXTURE_VARIANT_ADD(bad, uuid_number) {
	NULL, "vm_uuid", "7", "entry 1: vm_uuid is not a string" };
FIXTURE_VARIANT_ADD(bad, uuid_null) {
	NULL, "vm_uuid", "null", "entry 1: vm_uuid is not a string" };

/* vm_name, provider: the request validators' rules */
FIXTURE_VARIANT_ADD(bad, vm_name_escape) {
	NULL, "vm_name", "\"web\\u001b]0;owned\\u0007\"",
	E1 "vm_name is not a valid VM name (" NAMES_VM_RULE ")" };
FIXTURE_VARIANT_ADD(bad, vm_name_dash) {
	NULL, "vm_name", "\"-web\"", E1 "vm_name is not a valid VM name (" NAMES_VM_RULE ")" };
FIXTURE_VARIANT_ADD(bad, vm_name_empty) {
	NULL, "vm_name", "\"\"", E1 "vm_name is not a valid VM name (" NAMES_VM_RULE ")" };
FIXTURE_VARIANT_ADD(bad, vm_name_65) {
	NULL, "vm_name", "\"" K64 "k\"", E1 "vm_name is not a valid VM name (" NAMES_VM_RULE ")" };
FIXTURE_VARIANT_ADD(bad, provider_path) {
	NULL, "provider", "\"../../etc\"",
	E1 "provider is not a valid provider name (" NAMES_PROVIDER_RULE ")" };
FIXTURE_VARIANT_ADD(bad, provider_space) {
	NULL, "provider", "\"kms 1\"",
	E1 "provider is not a valid provider name (" NAMES_PROVIDER_RULE ")" };

/* kek_id: what a LUKS token can hold */
FIXTURE_VARIANT_ADD(bad, kek_id_escape) {
	NULL, "kek_id", "\"42\\u001b[2J\"", E1 "kek_id has a control character" };
FIXTURE_VARIANT_ADD(bad, kek_id_newline) {
	NULL, "kek_id", "\"42\\nforged log line\"", E1 "kek_id has a control character" };
FIXTURE_VARIANT_ADD(bad, kek_id_del) {
	NULL, "kek_id", "\"42\\u007f\"", E1 "kek_id has a control character" };
FIXTURE_VARIANT_ADD(bad, kek_id_nul) {
	NULL, "kek_id", "\"42\\u0000x\"", E1 "kek_id contains a NUL byte" };
FIXTURE_VARIANT_ADD(bad, kek_id_empty) { NULL, "kek_id", "\"\"", E1 "kek_id is empty" };
FIXTURE_VARIANT_ADD(bad, kek_id_256) {
	NULL, "kek_id", K256, E1 "kek_id is longer than 255 bytes (256)" };
FIXTURE_VARIANT_ADD(bad, kek_id_number) { NULL, "kek_id", "42", E1 "kek_id is not a string" };

/* created: "" or as vmcryptd writes it */
FIXTURE_VARIANT_ADD(bad, created_word) {
	NULL, "created", "\"yesterday\"",
	E1 "created is not a time as vmcryptd writes it (e.g. 2026-11-23T02:40:40.123Z) nor empty" };
FIXTURE_VARIANT_ADD(bad, created_no_ms) {
	NULL, "created", "\"2026-11-23T02:40:40Z\"",
	E1 "created is not a time as vmcryptd writes it (e.g. 2026-11-23T02:40:40.123Z) nor empty" };
FIXTURE_VARIANT_ADD(bad, created_feb_30) {
	NULL, "created", "\"2026-02-30T02:40:40.123Z\"",
	E1 "created is not a time as vmcryptd writes it (e.g. 2026-11-23T02:40:40.123Z) nor empty" };
FIXTURE_VARIANT_ADD(bad, created_offset) {
	NULL, "created", "\"2026-11-23T03:40:40.123+01:00\"",
	E1 "created is not a time as vmcryptd writes it (e.g. 2026-11-23T02:40:40.123Z) nor empty" };
FIXTURE_VARIANT_ADD(bad, created_number) {
	NULL, "created", "0", E1 "created is not a string" };

TEST_F(bad, refused)
{
	struct vmmap m = { (void *)1, 1, 1 };
	char why[512] = "";

	EXPECT_EQ(-EINVAL, parse(self->text, &m, why, sizeof(why))) TH_LOG("%s", self->text);
	EXPECT_STREQ(variant->why, why);
	EXPECT_EQ(NULL, m.v);
	EXPECT_EQ((size_t)0, m.n);
}

/* The file the cases above break one member of loads as it is. */
TEST(base_of_the_cases_loads)
{
	struct vmmap m;
	char why[512] = "";

	ASSERT_EQ(0, parse(MAP1(ENTRY("\"" U1 "\"", "\"db\"", "\"kms1\"", "\"43\"", "\"\"")),
			   &m, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ((size_t)2, m.n);
	vmmap_free(&m);
}

TEST(too_large)
{
	struct vmmap m;
	char why[256] = "";

	EXPECT_EQ(-EINVAL, vmmap_parse("{}", VMMAP_MAX_BYTES + 1, &m, why, sizeof(why)));
	EXPECT_STREQ("larger than 16 MiB", why);
}

/* What the parser would refuse is never written. */
TEST(writer_refuses)
{
	struct vmmap m = { 0 };
	struct vmmap_entry e;
	char why[512] = "", *text = (char *)1, id[NAMES_KEY_ID_MAX + 2];

	ASSERT_EQ(0, vmmap_entry_set(&e, U0, "web", "kms1", "42", "", why, sizeof(why)));
	ASSERT_EQ(0, vmmap_add(&m, &e));
	ASSERT_EQ(0, vmmap_add(&m, &e));
	EXPECT_EQ(-EINVAL, vmmap_format(&m, &text, why, sizeof(why)));
	EXPECT_STREQ("entries 0 and 1 are both for VM " U0, why);
	EXPECT_EQ(NULL, text);
	m.n = 1;
	strcpy(m.v[0].kek_id, "4\0332");
	EXPECT_EQ(-EINVAL, vmmap_format(&m, &text, why, sizeof(why)));
	EXPECT_STREQ("entry 0: kek_id has a control character", why);
	EXPECT_EQ(NULL, text);
	memset(m.v[0].kek_id, 'k', sizeof(m.v[0].kek_id));
	EXPECT_EQ(-EINVAL, vmmap_format(&m, &text, why, sizeof(why)));
	EXPECT_STREQ("entry 0: a member is not NUL-terminated", why);
	vmmap_free(&m);

	memset(id, 'k', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	EXPECT_EQ(-EINVAL, vmmap_entry_set(&e, U0, "web", "kms1", id, "", why, sizeof(why)));
	EXPECT_STREQ("kek_id is longer than 255 bytes (256)", why);
	EXPECT_STREQ("", e.kek_id);
	EXPECT_EQ(-EINVAL, vmmap_entry_set(&e, U0, "web", "kms1", "42", "now", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, vmmap_entry_set(&e, "not-a-uuid", "web", "kms1", "42", "", why, sizeof(why)));
}

/* The rules shared with the request validators (vmcryptd/request.c). */
TEST(names_rules)
{
	char id[NAMES_KEY_ID_MAX + 1];

	EXPECT_TRUE(names_vm_name_ok("web 01"));
	EXPECT_TRUE(names_vm_name_ok("a"));
	EXPECT_FALSE(names_vm_name_ok(" web"));
	EXPECT_FALSE(names_vm_name_ok("web "));
	EXPECT_FALSE(names_vm_name_ok(".web"));
	EXPECT_FALSE(names_vm_name_ok("w\xc3\xa9"));
	EXPECT_TRUE(names_vm_name_ok(K64));
	EXPECT_FALSE(names_vm_name_ok(K64 "k"));
	EXPECT_TRUE(names_provider_ok("kms-eu_1.a"));
	EXPECT_FALSE(names_provider_ok("kms 1"));
	EXPECT_FALSE(names_provider_ok("-kms"));
	EXPECT_FALSE(names_provider_ok("a/b"));
	EXPECT_FALSE(names_provider_ok(""));
	EXPECT_TRUE(names_uuid_ok("5A3B3C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"));
	EXPECT_FALSE(names_uuid_canonical("5A3B3C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"));
	EXPECT_TRUE(names_uuid_canonical(U1));
	EXPECT_FALSE(names_uuid_ok("5a3b3c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g"));
	EXPECT_FALSE(names_uuid_ok(U1 "0"));
	memset(id, '~', NAMES_KEY_ID_MAX);
	id[NAMES_KEY_ID_MAX] = '\0';
	EXPECT_TRUE(names_key_id_ok(id));
	EXPECT_TRUE(names_key_id_ok("native:kms1:" U1));
	EXPECT_FALSE(names_key_id_ok(""));
	EXPECT_FALSE(names_key_id_ok("a\tb"));
}

TEST_HARNESS_MAIN
