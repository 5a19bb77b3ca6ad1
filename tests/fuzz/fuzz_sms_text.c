/*
 * tests/fuzz/fuzz_sms_text.c: what gateway/sms.c does to a text's words:
 * cl_fold (core/fold.c) into inbound()'s 64-byte buffer and into one that
 * never truncates, the staff reply-code and keyword grammar
 * (gw_sms_parse_reply, gw_sms_word_in), the sender through
 * gw_phone_normalise, the text through gw_sms_utf8_valid and gw_sms_length
 * (gateway/sms_codec.c). The input is the text. Checked: fold.h's promises
 * (letters, digits and single spaces, none leading or trailing; the returned
 * length; folding twice changes nothing), an accepted reply is digits and one
 * action word, a normalised number normalises to itself, a length of at least
 * one segment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/sms.h"
#include "careline/fold.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

static void bad(const char *what, const char *folded)
{
	fprintf(stderr, "fuzz_sms_text: %s: \"%s\"\n", what, folded);
	abort();
}

static void check_folded(const char *f, size_t n, size_t cap)
{
	if (n >= cap || n != strlen(f))
		bad("length", f);
	if (strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789 ") != n)
		bad("a character other than a-z, 0-9, space", f);
	if (n && (f[0] == ' ' || f[n - 1] == ' '))
		bad("a leading or trailing space", f);
	if (strstr(f, "  "))
		bad("two spaces", f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_string(data, size);
	size_t len = strlen(text);

	char small[64];
	check_folded(small, cl_fold(text, small, sizeof(small)), sizeof(small));
	size_t cap = 2 * len + 1;
	char *full = malloc(cap), *again = malloc(cap);
	if (!full || !again)
		abort();
	size_t n = cl_fold(text, full, cap);
	check_folded(full, n, cap);
	if (cl_fold(full, again, cap) != n || strcmp(full, again) != 0)
		bad("folding twice changed it", full);
	if (strncmp(full, small, strlen(small)) != 0)
		bad("the 64-byte fold is not a prefix of the whole", small);

	/* The staff reply grammar on the folded text, as sms.c applies it: an
	 * accepted reply is digits, an optional space and one action word. */
	int code = -1;
	enum cl_action_kind kind = CL_ACTION__COUNT;
	if (gw_sms_parse_reply(full, &code, &kind)) {
		const char *w = full + strspn(full, "0123456789");
		w += *w == ' ';
		if (code < 0 || (unsigned)kind >= CL_ACTION__COUNT ||
		    (strcmp(w, "a") && strcmp(w, "ok") && strcmp(w, "e") && strcmp(w, "c") &&
		     strcmp(w, "t")))
			bad("an accepted reply that is not digits + an action", full);
	}
	/* Keywords: the first word against the configured lists. */
	char first[64];
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(full, " "), full);
	if (gw_sms_word_in(first, "stop afmeld stopall unsubscribe") && !first[0])
		bad("the empty word is a keyword", full);
	(void)gw_sms_word_in(first, full);
	free(full);
	free(again);

	char e164[32], twice[32];
	if (gw_phone_normalise(text, e164, sizeof(e164)) == 0 &&
	    (gw_phone_normalise(e164, twice, sizeof(twice)) != 0 || strcmp(e164, twice) != 0))
		bad("a normalised number normalises differently", e164);

	(void)gw_sms_utf8_valid((const char *)data, size);
	struct gw_sms_length l;
	gw_sms_length(text, &l);
	if (l.segments < 1 || l.units < 0)
		bad("segments", text);
	free(text);
	return 0;
}
