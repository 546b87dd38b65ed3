// SPDX-License-Identifier: GPL-2.0
/*
 * tags.c - names for KMIP tags and enumerations: used by ttlv_dump(), by
 * Get Attributes to print enumerations as words, and by error messages.
 * Names follow the KMIP 1.4 specification (tags in the UPPER_CASE form
 * that the PyKMIP captures in tests use).
 */
#include "kmip/kmip.h"
#include "kmip/tags.h"

#include <stddef.h>
#include <string.h>

struct name_entry {
	uint32_t v;
	const char *name;
};

static const struct name_entry tag_names[] = {
	{ 0x420001, "ACTIVATION_DATE" },
	{ 0x420002, "APPLICATION_DATA" },
	{ 0x420003, "APPLICATION_NAMESPACE" },
	{ 0x420004, "APPLICATION_SPECIFIC_INFORMATION" },
	{ 0x420005, "ARCHIVE_DATE" },
	{ 0x420006, "ASYNCHRONOUS_CORRELATION_VALUE" },
	{ 0x420007, "ASYNCHRONOUS_INDICATOR" },
	{ 0x420008, "ATTRIBUTE" },
	{ 0x420009, "ATTRIBUTE_INDEX" },
	{ 0x42000A, "ATTRIBUTE_NAME" },
	{ 0x42000B, "ATTRIBUTE_VALUE" },
	{ 0x42000C, "AUTHENTICATION" },
	{ 0x42000D, "BATCH_COUNT" },
	{ 0x42000E, "BATCH_ERROR_CONTINUATION_OPTION" },
	{ 0x42000F, "BATCH_ITEM" },
	{ 0x420010, "BATCH_ORDER_OPTION" },
	{ 0x420011, "BLOCK_CIPHER_MODE" },
	{ 0x420012, "CANCELLATION_RESULT" },
	{ 0x420013, "CERTIFICATE" },
	{ 0x420014, "CERTIFICATE_IDENTIFIER" },
	{ 0x420015, "CERTIFICATE_ISSUER" },
	{ 0x420016, "CERTIFICATE_ISSUER_ALTERNATIVE_NAME" },
	{ 0x420017, "CERTIFICATE_ISSUER_DISTINGUISHED_NAME" },
	{ 0x420018, "CERTIFICATE_REQUEST" },
	{ 0x420019, "CERTIFICATE_REQUEST_TYPE" },
	{ 0x42001A, "CERTIFICATE_SUBJECT" },
	{ 0x42001B, "CERTIFICATE_SUBJECT_ALTERNATIVE_NAME" },
	{ 0x42001C, "CERTIFICATE_SUBJECT_DISTINGUISHED_NAME" },
	{ 0x42001D, "CERTIFICATE_TYPE" },
	{ 0x42001E, "CERTIFICATE_VALUE" },
	{ 0x42001F, "COMMON_TEMPLATE_ATTRIBUTE" },
	{ 0x420020, "COMPROMISE_DATE" },
	{ 0x420021, "COMPROMISE_OCCURRENCE_DATE" },
	{ 0x420022, "CONTACT_INFORMATION" },
	{ 0x420023, "CREDENTIAL" },
	{ 0x420024, "CREDENTIAL_TYPE" },
	{ 0x420025, "CREDENTIAL_VALUE" },
	{ 0x420026, "CRITICALITY_INDICATOR" },
	{ 0x420027, "CRT_COEFFICIENT" },
	{ 0x420028, "CRYPTOGRAPHIC_ALGORITHM" },
	{ 0x420029, "CRYPTOGRAPHIC_DOMAIN_PARAMETERS" },
	{ 0x42002A, "CRYPTOGRAPHIC_LENGTH" },
	{ 0x42002B, "CRYPTOGRAPHIC_PARAMETERS" },
	{ 0x42002C, "CRYPTOGRAPHIC_USAGE_MASK" },
	{ 0x42002D, "CUSTOM_ATTRIBUTE" },
	{ 0x42002E, "D" },
	{ 0x42002F, "DEACTIVATION_DATE" },
	{ 0x420030, "DERIVATION_DATA" },
	{ 0x420031, "DERIVATION_METHOD" },
	{ 0x420032, "DERIVATION_PARAMETERS" },
	{ 0x420033, "DESTROY_DATE" },
	{ 0x420034, "DIGEST" },
	{ 0x420035, "DIGEST_VALUE" },
	{ 0x420036, "ENCRYPTION_KEY_INFORMATION" },
	{ 0x420037, "G" },
	{ 0x420038, "HASHING_ALGORITHM" },
	{ 0x420039, "INITIAL_DATE" },
	{ 0x42003A, "INITIALIZATION_VECTOR" },
	{ 0x42003B, "ISSUER" },
	{ 0x42003C, "ITERATION_COUNT" },
	{ 0x42003D, "IV_COUNTER_NONCE" },
	{ 0x42003E, "J" },
	{ 0x42003F, "KEY" },
	{ 0x420040, "KEY_BLOCK" },
	{ 0x420041, "KEY_COMPRESSION_TYPE" },
	{ 0x420042, "KEY_FORMAT_TYPE" },
	{ 0x420043, "KEY_MATERIAL" },
	{ 0x420044, "KEY_PART_IDENTIFIER" },
	{ 0x420045, "KEY_VALUE" },
	{ 0x420046, "KEY_WRAPPING_DATA" },
	{ 0x420047, "KEY_WRAPPING_SPECIFICATION" },
	{ 0x420048, "LAST_CHANGE_DATE" },
	{ 0x420049, "LEASE_TIME" },
	{ 0x42004A, "LINK" },
	{ 0x42004B, "LINK_TYPE" },
	{ 0x42004C, "LINKED_OBJECT_IDENTIFIER" },
	{ 0x42004D, "MAC_SIGNATURE" },
	{ 0x42004E, "MAC_SIGNATURE_KEY_INFORMATION" },
	{ 0x42004F, "MAXIMUM_ITEMS" },
	{ 0x420050, "MAXIMUM_RESPONSE_SIZE" },
	{ 0x420051, "MESSAGE_EXTENSION" },
	{ 0x420052, "MODULUS" },
	{ 0x420053, "NAME" },
	{ 0x420054, "NAME_TYPE" },
	{ 0x420055, "NAME_VALUE" },
	{ 0x420056, "OBJECT_GROUP" },
	{ 0x420057, "OBJECT_TYPE" },
	{ 0x420058, "OFFSET" },
	{ 0x420059, "OPAQUE_DATA_TYPE" },
	{ 0x42005A, "OPAQUE_DATA_VALUE" },
	{ 0x42005B, "OPAQUE_OBJECT" },
	{ 0x42005C, "OPERATION" },
	{ 0x42005D, "OPERATION_POLICY_NAME" },
	{ 0x42005E, "P" },
	{ 0x42005F, "PADDING_METHOD" },
	{ 0x420060, "PRIME_EXPONENT_P" },
	{ 0x420061, "PRIME_EXPONENT_Q" },
	{ 0x420062, "PRIME_FIELD_SIZE" },
	{ 0x420063, "PRIVATE_EXPONENT" },
	{ 0x420064, "PRIVATE_KEY" },
	{ 0x420065, "PRIVATE_KEY_TEMPLATE_ATTRIBUTE" },
	{ 0x420066, "PRIVATE_KEY_UNIQUE_IDENTIFIER" },
	{ 0x420067, "PROCESS_START_DATE" },
	{ 0x420068, "PROTECT_STOP_DATE" },
	{ 0x420069, "PROTOCOL_VERSION" },
	{ 0x42006A, "PROTOCOL_VERSION_MAJOR" },
	{ 0x42006B, "PROTOCOL_VERSION_MINOR" },
	{ 0x42006C, "PUBLIC_EXPONENT" },
	{ 0x42006D, "PUBLIC_KEY" },
	{ 0x42006E, "PUBLIC_KEY_TEMPLATE_ATTRIBUTE" },
	{ 0x42006F, "PUBLIC_KEY_UNIQUE_IDENTIFIER" },
	{ 0x420070, "PUT_FUNCTION" },
	{ 0x420071, "Q" },
	{ 0x420072, "Q_STRING" },
	{ 0x420073, "QLENGTH" },
	{ 0x420074, "QUERY_FUNCTION" },
	{ 0x420075, "RECOMMENDED_CURVE" },
	{ 0x420076, "REPLACED_UNIQUE_IDENTIFIER" },
	{ 0x420077, "REQUEST_HEADER" },
	{ 0x420078, "REQUEST_MESSAGE" },
	{ 0x420079, "REQUEST_PAYLOAD" },
	{ 0x42007A, "RESPONSE_HEADER" },
	{ 0x42007B, "RESPONSE_MESSAGE" },
	{ 0x42007C, "RESPONSE_PAYLOAD" },
	{ 0x42007D, "RESULT_MESSAGE" },
	{ 0x42007E, "RESULT_REASON" },
	{ 0x42007F, "RESULT_STATUS" },
	{ 0x420080, "REVOCATION_MESSAGE" },
	{ 0x420081, "REVOCATION_REASON" },
	{ 0x420082, "REVOCATION_REASON_CODE" },
	{ 0x420083, "KEY_ROLE_TYPE" },
	{ 0x420084, "SALT" },
	{ 0x420085, "SECRET_DATA" },
	{ 0x420086, "SECRET_DATA_TYPE" },
	{ 0x420087, "SERIAL_NUMBER" },
	{ 0x420088, "SERVER_INFORMATION" },
	{ 0x420089, "SPLIT_KEY" },
	{ 0x42008A, "SPLIT_KEY_METHOD" },
	{ 0x42008B, "SPLIT_KEY_PARTS" },
	{ 0x42008C, "SPLIT_KEY_THRESHOLD" },
	{ 0x42008D, "STATE" },
	{ 0x42008E, "STORAGE_STATUS_MASK" },
	{ 0x42008F, "SYMMETRIC_KEY" },
	{ 0x420090, "TEMPLATE" },
	{ 0x420091, "TEMPLATE_ATTRIBUTE" },
	{ 0x420092, "TIME_STAMP" },
	{ 0x420093, "UNIQUE_BATCH_ITEM_ID" },
	{ 0x420094, "UNIQUE_IDENTIFIER" },
	{ 0x420095, "USAGE_LIMITS" },
	{ 0x420096, "USAGE_LIMITS_COUNT" },
	{ 0x420097, "USAGE_LIMITS_TOTAL" },
	{ 0x420098, "USAGE_LIMITS_UNIT" },
	{ 0x420099, "USERNAME" },
	{ 0x42009A, "VALIDITY_DATE" },
	{ 0x42009B, "VALIDITY_INDICATOR" },
	{ 0x42009C, "VENDOR_EXTENSION" },
	{ 0x42009D, "VENDOR_IDENTIFICATION" },
	{ 0x42009E, "WRAPPING_METHOD" },
	{ 0x42009F, "X" },
	{ 0x4200A0, "Y" },
	{ 0x4200A1, "PASSWORD" },
	{ 0x420125, "ATTRIBUTES" },
	{ 0x42013B, "ATTRIBUTE_REFERENCE" },
};

static const struct name_entry operation_names[] = {
	{ 1, "Create" }, { 2, "Create Key Pair" }, { 3, "Register" },
	{ 4, "Re-key" }, { 5, "Derive Key" }, { 6, "Certify" },
	{ 7, "Re-certify" }, { 8, "Locate" }, { 9, "Check" },
	{ 10, "Get" }, { 11, "Get Attributes" },
	{ 12, "Get Attribute List" }, { 13, "Add Attribute" },
	{ 14, "Modify Attribute" }, { 15, "Delete Attribute" },
	{ 16, "Obtain Lease" }, { 17, "Get Usage Allocation" },
	{ 18, "Activate" }, { 19, "Revoke" }, { 20, "Destroy" },
	{ 21, "Archive" }, { 22, "Recover" }, { 23, "Validate" },
	{ 24, "Query" }, { 25, "Cancel" }, { 26, "Poll" },
	{ 27, "Notify" }, { 28, "Put" }, { 29, "Re-key Key Pair" },
	{ 30, "Discover Versions" }, { 31, "Encrypt" }, { 32, "Decrypt" },
	{ 33, "Sign" }, { 34, "Signature Verify" }, { 35, "MAC" },
	{ 36, "MAC Verify" }, { 37, "RNG Retrieve" }, { 38, "RNG Seed" },
	{ 39, "Hash" }, { 40, "Create Split Key" }, { 41, "Join Split Key" },
	{ 42, "Import" }, { 43, "Export" },
};

static const struct name_entry reason_names[] = {
	{ 0x01, "Item Not Found" },
	{ 0x02, "Response Too Large" },
	{ 0x03, "Authentication Not Successful" },
	{ 0x04, "Invalid Message" },
	{ 0x05, "Operation Not Supported" },
	{ 0x06, "Missing Data" },
	{ 0x07, "Invalid Field" },
	{ 0x08, "Feature Not Supported" },
	{ 0x09, "Operation Canceled By Requester" },
	{ 0x0A, "Cryptographic Failure" },
	{ 0x0B, "Illegal Operation" },
	{ 0x0C, "Permission Denied" },
	{ 0x0D, "Object Archived" },
	{ 0x0E, "Index Out Of Bounds" },
	{ 0x0F, "Application Namespace Not Supported" },
	{ 0x10, "Key Format Type Not Supported" },
	{ 0x11, "Key Compression Type Not Supported" },
	{ 0x12, "Encoding Option Error" },
	{ 0x13, "Key Value Not Present" },
	{ 0x14, "Attestation Required" },
	{ 0x15, "Attestation Failed" },
	{ 0x16, "Sensitive" },
	{ 0x17, "Not Extractable" },
	{ 0x18, "Object Already Exists" },
	{ 0x100, "General Failure" },
};

static const struct name_entry object_type_names[] = {
	{ 1, "Certificate" }, { 2, "Symmetric Key" }, { 3, "Public Key" },
	{ 4, "Private Key" }, { 5, "Split Key" }, { 6, "Template" },
	{ 7, "Secret Data" }, { 8, "Opaque Object" }, { 9, "PGP Key" },
};

static const struct name_entry state_names[] = {
	{ 1, "Pre-Active" }, { 2, "Active" }, { 3, "Deactivated" },
	{ 4, "Compromised" }, { 5, "Destroyed" },
	{ 6, "Destroyed Compromised" },
};

static const struct name_entry algorithm_names[] = {
	{ 1, "DES" }, { 2, "3DES" }, { 3, "AES" }, { 4, "RSA" },
	{ 5, "DSA" }, { 6, "ECDSA" }, { 7, "HMAC-SHA1" },
	{ 8, "HMAC-SHA224" }, { 9, "HMAC-SHA256" }, { 10, "HMAC-SHA384" },
	{ 11, "HMAC-SHA512" }, { 12, "HMAC-MD5" }, { 13, "DH" },
	{ 14, "ECDH" }, { 15, "ECMQV" }, { 16, "Blowfish" },
	{ 17, "Camellia" }, { 18, "CAST5" }, { 19, "IDEA" }, { 20, "MARS" },
	{ 21, "RC2" }, { 22, "RC4" }, { 23, "RC5" }, { 24, "SKIPJACK" },
	{ 25, "Twofish" }, { 26, "EC" }, { 27, "One Time Pad" },
	{ 28, "ChaCha20" }, { 29, "Poly1305" }, { 30, "ChaCha20Poly1305" },
};

static const struct name_entry key_format_names[] = {
	{ 1, "Raw" }, { 2, "Opaque" }, { 3, "PKCS#1" }, { 4, "PKCS#8" },
	{ 5, "X.509" }, { 6, "ECPrivateKey" },
	{ 7, "Transparent Symmetric Key" },
};

static const struct name_entry name_type_names[] = {
	{ 1, "Uninterpreted Text String" }, { 2, "URI" },
};

static const struct name_entry revocation_names[] = {
	{ 1, "Unspecified" }, { 2, "Key Compromise" },
	{ 3, "CA Compromise" }, { 4, "Affiliation Changed" },
	{ 5, "Superseded" }, { 6, "Cessation of Operation" },
	{ 7, "Privilege Withdrawn" },
};

#define LOOKUP(tbl, v) lookup(tbl, sizeof(tbl) / sizeof((tbl)[0]), v)

static const char *lookup(const struct name_entry *t, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

const char *kmip_tag_name(uint32_t tag)
{
	return LOOKUP(tag_names, tag);
}

const char *kmip_operation_name(int op)
{
	return op < 0 ? NULL : LOOKUP(operation_names, (uint32_t)op);
}

const char *kmip_reason_name(int reason)
{
	const char *s = reason < 0 ? NULL : LOOKUP(reason_names,
						    (uint32_t)reason);

	return s ? s : "Unknown Reason";
}

const char *kmip_object_type_name(uint32_t v)
{
	return LOOKUP(object_type_names, v);
}

const char *kmip_enum_name(const char *attr, uint32_t v)
{
	if (!strcmp(attr, "State"))
		return LOOKUP(state_names, v);
	if (!strcmp(attr, "Object Type"))
		return LOOKUP(object_type_names, v);
	if (!strcmp(attr, "Cryptographic Algorithm"))
		return LOOKUP(algorithm_names, v);
	if (!strcmp(attr, "Key Format Type"))
		return LOOKUP(key_format_names, v);
	if (!strcmp(attr, "Name Type"))
		return LOOKUP(name_type_names, v);
	if (!strcmp(attr, "Revocation Reason Code"))
		return LOOKUP(revocation_names, v);
	return NULL;
}
