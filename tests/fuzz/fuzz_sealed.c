/*
 * tests/fuzz/fuzz_sealed.c: sealed MQTT payloads, opened as gateway/mqtt.c's
 * static open_sealed does: the "box" string base64-decoded
 * (cl_crypto_base64_decode) into a buffer of the default max_body, opened
 * with careline's key (cl_crypto_box_open, include/careline/crypto.h), the
 * plaintext parsed as JSON and, when an object, as a report
 * (gw_json_to_report). The input's first byte picks one of four paths, the
 * rest is the data: (0) the box as base64 text; (1) the bytes as a box;
 * (2) the bytes sealed to careline's key by an app and opened again, since
 * random boxes never open (checked: the round trip gives back the bytes, the
 * box's base64 decodes back to the box); (3) the bytes as what an opened box
 * holds. One path per input keeps the X25519 work (libsodium's, not ours)
 * to at most three scalar multiplications, one or none for most inputs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/gateway.h"
#include "careline/crypto.h"
#include "careline/report.h"
#include "common.h"

#define MAX_BODY 65536 /* [http] max_body's default, mqtt.c's cap */

static struct cl_crypto *crypto;
static unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	unsigned char key[CL_CRYPTO_KEY_BYTES];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	if (cl_crypto_from_key(key, 1, &crypto) != CL_OK)
		abort();
	cl_crypto_box_public(crypto, pk);
	return 0;
}

/* What mqtt.c does with an opened box. */
static void report(const unsigned char *plain, size_t len)
{
	json_t *o = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(o)) {
		struct cl_report r;
		cl_report_init(&r);
		char err[200];
		(void)gw_json_to_report(o, &r, err, sizeof(err));
		cl_report_free(&r);
	}
	json_decref(o);
}

static void open_box(const unsigned char *box, size_t len)
{
	if (len <= CL_CRYPTO_SEAL_BYTES)
		return;
	unsigned char *plain = malloc(len - CL_CRYPTO_SEAL_BYTES);
	if (!plain)
		return;
	if (cl_crypto_box_open(crypto, box, len, plain) == CL_OK)
		report(plain, len - CL_CRYPTO_SEAL_BYTES);
	cl_crypto_wipe(plain, len - CL_CRYPTO_SEAL_BYTES);
	free(plain);
}

/* The box as base64 text. */
static void open_base64(const uint8_t *data, size_t size)
{
	char *b64 = fz_string(data, size);
	unsigned char *bin = malloc(MAX_BODY);
	size_t len = 0;
	if (b64 && bin && cl_crypto_base64_decode(b64, bin, MAX_BODY, &len) == CL_OK) {
		if (len > MAX_BODY)
			abort();
		open_box(bin, len);
	}
	free(bin);
	free(b64);
}

/* Sealed by an app to careline's key, then opened. */
static void round_trip(const uint8_t *data, size_t size)
{
	if (size > MAX_BODY - CL_CRYPTO_SEAL_BYTES)
		return;
	unsigned char *box = malloc(size + CL_CRYPTO_SEAL_BYTES);
	unsigned char *plain = malloc(size ? size : 1);
	if (box && plain && cl_crypto_box_seal_to(pk, data, size, box) == CL_OK) {
		if (cl_crypto_box_open(crypto, box, size + CL_CRYPTO_SEAL_BYTES, plain) != CL_OK ||
		    (size && memcmp(plain, data, size) != 0)) {
			fprintf(stderr,
			        "fuzz_sealed: a box sealed to careline's key did not open\n");
			abort();
		}
		report(plain, size);
		/* As the app sends it: base64, decoded by careline. */
		char *b = cl_crypto_base64_encode(box, size + CL_CRYPTO_SEAL_BYTES);
		unsigned char *back = b ? malloc(MAX_BODY) : NULL;
		size_t n = 0;
		if (back && (cl_crypto_base64_decode(b, back, MAX_BODY, &n) != CL_OK ||
		             n != size + CL_CRYPTO_SEAL_BYTES || memcmp(back, box, n) != 0)) {
			fprintf(stderr, "fuzz_sealed: base64 of a box did not decode back\n");
			abort();
		}
		free(back);
		free(b);
	}
	free(box);
	free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		open_base64(data + 1, size - 1);
		break;
	case 1:
		open_box(data + 1, size - 1);
		break;
	case 2:
		round_trip(data + 1, size - 1);
		break;
	default:
		report(data + 1, size - 1);
		break;
	}
	return 0;
}
