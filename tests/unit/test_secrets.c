/* Unit tests for translator/secrets.c: hashes, keys, v2 values, refusals. */
#include "secrets.h"
#include "util.h"
#include "../tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include <sodium.h>

#ifndef TEST_KEYDIR
#define TEST_KEYDIR "tests/unit/keys"
#endif

/* A secret that must never show up in an error message. */
#define SECRET "s3cr3t-Value-never-in-errors"

static char *key_path(const char *name)
{
	const char *dir = getenv("TEST_KEYDIR");
	return xasprintf("%s/%s", dir ? dir : TEST_KEYDIR, name);
}

static bool contains(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

/* call must fail with an error message (in err) that contains want. */
#define refuses(call, want, name) do { \
	free(err); \
	err = NULL; \
	bool _failed = (call) < 0; \
	ok(_failed && contains(err, want), "%s: %s", name, err ? err : "(accepted)"); \
	free(err); \
	err = NULL; \
} while (0)

static struct secrets_pubkey load_pub(const char *name)
{
	struct secrets_pubkey k;
	_cleanup_free_ char *path = key_path(name);
	_cleanup_free_ char *err = NULL;
	memset(&k, 0, sizeof(k));
	if (secrets_load_public_key(path, &k, &err) < 0)
		printf("# loading %s: %s\n", name, err);
	return k;
}

static int load_priv(const char *name, unsigned flags, struct secrets_keyset *ks, char **err)
{
	_cleanup_free_ char *path = key_path(name);
	return secrets_load_private_keys(path, flags, ks, err);
}

/* Replace field i (0 = version) of a v2 value. */
static char *with_field(const char *value, int field, const char *repl)
{
	struct buf b = {0};
	const char *p = value;
	for (int i = 0; ; i++) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (i)
			buf_puts(&b, ":");
		if (i == field)
			buf_puts(&b, repl);
		else
			buf_add(&b, p, n);
		if (!c)
			break;
		p = c + 1;
	}
	buf_str(&b);
	return b.p;
}

/* Seal an arbitrary plaintext into a v2 value with chosen hashes. */
static char *raw_value(const struct secrets_pubkey *key, const char *nshash, const char *shash,
		       const void *plain, size_t len)
{
	unsigned char cpk[32];
	if (crypto_sign_ed25519_pk_to_curve25519(cpk, key->pk) != 0)
		abort();
	size_t clen = len + crypto_box_SEALBYTES;
	unsigned char *c = xmalloc(clen);
	crypto_box_seal(c, plain, len, cpk);
	size_t b64len = sodium_base64_encoded_len(clen, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, c, clen, sodium_base64_VARIANT_ORIGINAL);
	char khash[9];
	secrets_key_hash(key, khash);
	char *v = xasprintf("v2:%s:%s:%s:%s", khash, nshash, shash, b64);
	free(c);
	free(b64);
	return v;
}

/* ---- building openssh-key-v1 blocks by hand (several keys per block) ---- */

static void put_u32(struct buf *b, uint32_t v)
{
	char x[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
	buf_add(b, x, 4);
}

static void put_str(struct buf *b, const void *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_add(b, s, n);
}

static void put_pubblob(struct buf *b, const unsigned char *pk)
{
	struct buf blob = {0};
	put_str(&blob, "ssh-ed25519", 11);
	put_str(&blob, pk, 32);
	put_str(b, blob.p, blob.len);
	buf_free(&blob);
}

static char *build_pem(const struct secrets_privkey *keys, size_t n, uint32_t c1, uint32_t c2)
{
	struct buf priv = {0}, blob = {0};
	put_u32(&priv, c1);
	put_u32(&priv, c2);
	for (size_t i = 0; i < n; i++) {
		put_str(&priv, "ssh-ed25519", 11);
		put_str(&priv, keys[i].pk, 32);
		put_str(&priv, keys[i].sk, 64);
		put_str(&priv, "synthetic", 9);
	}
	for (char pad = 1; priv.len % 8; pad++)
		buf_add(&priv, &pad, 1);
	buf_add(&blob, "openssh-key-v1", 15); /* with the NUL */
	put_str(&blob, "none", 4);
	put_str(&blob, "none", 4);
	put_str(&blob, "", 0);
	put_u32(&blob, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_pubblob(&blob, keys[i].pk);
	put_str(&blob, priv.p, priv.len);
	size_t b64len = sodium_base64_encoded_len(blob.len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, (unsigned char *)blob.p, blob.len,
			  sodium_base64_VARIANT_ORIGINAL);
	struct buf pem = {0};
	buf_puts(&pem, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t i = 0; i < strlen(b64); i += 70)
		buf_printf(&pem, "%.70s\n", b64 + i);
	buf_puts(&pem, "-----END OPENSSH PRIVATE KEY-----\n");
	free(b64);
	buf_free(&priv);
	buf_free(&blob);
	buf_str(&pem);
	return pem.p;
}

/* ---- tests ---- */

static void test_hashes(void)
{
	char h[SECRETS_HASH_LEN + 1];
	secrets_short_hash("the_secret", 10, h);
	is_str(h, "8MtOoWUX", "hash of the_secret (reference)");
	secrets_short_hash("myapp", 5, h);
	is_str(h, "KqWSX0BY", "hash of myapp (reference)");
	secrets_short_hash("", 0, h);
	is_int(strlen(h), 8, "hash of the empty namespace is 8 characters");

	ok(secrets_namespace_valid(""), "empty namespace is valid");
	ok(secrets_namespace_valid("project1.web"), "project1.web is valid");
	ok(secrets_namespace_valid("a_b-c.D9"), "a_b-c.D9 is valid");
	ok(!secrets_namespace_valid("a b"), "space is not valid in a namespace");
	ok(!secrets_namespace_valid("a:b"), "colon is not valid in a namespace");
	ok(!secrets_namespace_valid("a/b"), "slash is not valid in a namespace");
	ok(!secrets_namespace_valid("\xc3\xa4"), "non-ASCII is not valid in a namespace");
}

static void test_keys(void)
{
	struct secrets_pubkey a = load_pub("ed25519_a.pub"), b = load_pub("ed25519_b.pub");
	struct secrets_keyset ks = {0};
	_cleanup_free_ char *err = NULL;

	is_int(load_priv("ed25519_a", 0, &ks, &err), 0, "private key a loads");
	is_int(ks.n, 1, "one key in ed25519_a");
	ok(ks.n == 1 && memcmp(ks.keys[0].pk, a.pk, 32) == 0, "private key a matches a.pub");
	secrets_keyset_free(&ks);

	is_int(load_priv("ed25519_ab", 0, &ks, &err), 0, "concatenated key file loads");
	is_int(ks.n, 2, "two keys in ed25519_ab");
	ok(ks.n == 2 && memcmp(ks.keys[1].pk, b.pk, 32) == 0, "second key is b");

	/* several keys inside one block */
	_cleanup_free_ char *pem = build_pem(ks.keys, 2, 0x12345678, 0x12345678);
	struct secrets_keyset ks2 = {0};
	is_int(secrets_parse_private_keys(pem, strlen(pem), "synthetic", &ks2, &err), 0,
	       "one block with two keys parses");
	is_int(ks2.n, 2, "two keys found in one block");
	ok(ks2.n == 2 && memcmp(ks2.keys[0].pk, a.pk, 32) == 0 &&
	   memcmp(ks2.keys[1].pk, b.pk, 32) == 0, "both keys of the block are right");
	secrets_keyset_free(&ks2);

	/* that block followed by another one */
	_cleanup_free_ char *pem1 = build_pem(ks.keys, 1, 7, 7);
	_cleanup_free_ char *two = xasprintf("%s\n%s", pem, pem1);
	is_int(secrets_parse_private_keys(two, strlen(two), "synthetic", &ks2, &err), 0,
	       "multi-key block + single-key block parse");
	is_int(ks2.n, 3, "three keys in all");
	secrets_keyset_free(&ks2);

	_cleanup_free_ char *badcheck = build_pem(ks.keys, 2, 1, 2);
	free(err); err = NULL;
	refuses(secrets_parse_private_keys(badcheck, strlen(badcheck), "synthetic", &ks2, &err),
		"check numbers differ", "differing check numbers refused");
	is_int(ks2.n, 0, "no keys kept from a refused file");
	secrets_keyset_free(&ks);
}

static void test_key_refusals(void)
{
	struct secrets_keyset ks = {0};
	struct secrets_pubkey pk;
	char *err = NULL;

	refuses(load_priv("rsa", 0, &ks, &err),
		"RSA keys are not supported", "RSA private key refused");
	_cleanup_free_ char *rsapub = key_path("rsa.pub");
	refuses(secrets_load_public_key(rsapub, &pk, &err),
		"RSA keys are not supported", "RSA public key refused");
	_cleanup_free_ char *ecpub = key_path("ecdsa.pub");
	refuses(secrets_load_public_key(ecpub, &pk, &err),
		"only ed25519", "ECDSA public key refused");
	refuses(load_priv("ed25519_pass", 0, &ks, &err),
		"password-protected", "password-protected key refused");
	refuses(load_priv("ed25519_a.pub", 0, &ks, &err),
		"this is a public key", "public key given as private key refused");
	_cleanup_free_ char *priv = key_path("ed25519_a");
	refuses(secrets_load_public_key(priv, &pk, &err),
		"private key file", "private key given as public key refused");
	refuses(load_priv("does-not-exist", 0, &ks, &err), "No such file", "missing key file");
	refuses(secrets_parse_private_keys("", 0, "empty", &ks, &err),
		"no OpenSSH private key", "empty key file refused");
	refuses(secrets_parse_public_key("\n# nothing\n", 11, "empty", &pk, &err),
		"no public key", "public key file without a key refused");

	size_t len;
	_cleanup_free_ char *text = read_file_limited(priv, 1 << 16, &len);
	ok(text != NULL, "read ed25519_a");
	if (text) {
		refuses(secrets_parse_private_keys(text, len / 2, "half", &ks, &err),
			"no END line", "truncated private key file refused");
		/* line 4 holds the public half inside the private section */
		char *body = strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n') + 1;
		body[60] = body[60] == 'A' ? 'B' : 'A';
		refuses(secrets_parse_private_keys(text, len, "flipped", &ks, &err),
			"damaged", "damaged private key refused");
	}
	is_int(ks.n, 0, "no keys loaded from refused files");
	secrets_keyset_free(&ks);
}

static void test_round_trip(void)
{
	struct secrets_pubkey a = load_pub("ed25519_a.pub"), b = load_pub("ed25519_b.pub");
	struct secrets_keyset ka = {0}, kab = {0};
	_cleanup_free_ char *err = NULL;
	load_priv("ed25519_a", 0, &ka, &err);
	load_priv("ed25519_ab", 0, &kab, &err);
	char ahash[9];
	secrets_key_hash(&a, ahash);

	_cleanup_free_ char *v1 = NULL, *v2 = NULL;
	is_int(secrets_encrypt(&a, "myapp", "the_secret", 10, &v1, &err), 0, "encrypt");
	_cleanup_free_ char *prefix = xasprintf("v2:%s:KqWSX0BY:8MtOoWUX:", ahash);
	ok(v1 && str_has_prefix(v1, prefix), "value starts with %s", prefix);
	secrets_encrypt(&a, "myapp", "the_secret", 10, &v2, &err);
	ok(v1 && v2 && strcmp(v1, v2) != 0, "two encryptions differ (random ephemeral key)");

	char *ns = NULL, *secret = NULL;
	is_int(secrets_decrypt(&ka, NULL, 0, v1, &ns, &secret, &err), 0, "decrypt");
	is_str(ns, "myapp", "namespace comes back");
	is_str(secret, "the_secret", "secret comes back");
	free(ns);
	secrets_free_secret(secret);

	const char *allowed[] = {"other", "myapp"};
	is_int(secrets_decrypt(&kab, allowed, 2, v2, &ns, &secret, &err), 0,
	       "decrypt with a two-key file and an allowed namespace");
	is_str(secret, "the_secret", "secret comes back");
	free(ns);
	secrets_free_secret(secret);

	const char *cases[][2] = {
		{"", "x"}, {"", ""}, {"ns", "with:colons:inside"},
		{"a.b-c_d", "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c \xe2\x9c\x93 \xf0\x9f\x94\x91"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *v = NULL;
		secrets_encrypt(&b, cases[i][0], cases[i][1], strlen(cases[i][1]), &v, &err);
		ns = secret = NULL;
		int rc = secrets_decrypt(&kab, NULL, 0, v, &ns, &secret, &err);
		ok(rc == 0 && strcmp(ns, cases[i][0]) == 0 && strcmp(secret, cases[i][1]) == 0,
		   "round trip %zu with key b (namespace \"%s\")", i, cases[i][0]);
		free(ns);
		secrets_free_secret(secret);
	}

	is_int(secrets_check_key(&a, v1, &err), 0, "check-key: value is for key a");
	free(err); err = NULL;
	refuses(secrets_check_key(&b, v1, &err), "wrong key", "check-key: value is not for key b");
	refuses(secrets_check_key(&a, "v1:x", &err), "v1", "check-key refuses v1");
	secrets_keyset_free(&ka);
	secrets_keyset_free(&kab);
}

/* Decrypting must fail with a message containing want and never SECRET. */
static void refused(const struct secrets_keyset *ks, const char *const *allowed, size_t n,
		    const char *value, const char *want, const char *name)
{
	char *ns = NULL, *secret = NULL, *err = NULL;
	int rc = secrets_decrypt(ks, allowed, n, value, &ns, &secret, &err);
	ok(rc < 0 && contains(err, want), "%s: %s", name, err ? err : "(accepted)");
	ok(!contains(err, SECRET) && !contains(err, "XYZZY"), "%s: the message does not show the secret", name);
	if (rc == 0) {
		free(ns);
		secrets_free_secret(secret);
	}
	free(err);
}

static void test_refusals(void)
{
	struct secrets_pubkey a = load_pub("ed25519_a.pub"), b = load_pub("ed25519_b.pub");
	struct secrets_keyset ka = {0}, kb = {0}, kab = {0};
	char *err = NULL;
	load_priv("ed25519_a", 0, &ka, &err);
	load_priv("ed25519_b", 0, &kb, &err);
	load_priv("ed25519_ab", 0, &kab, &err);
	char bhash[9];
	secrets_key_hash(&b, bhash);

	_cleanup_free_ char *v = NULL;
	secrets_encrypt(&a, "myapp", SECRET, strlen(SECRET), &v, &err);

	refused(&kb, NULL, 0, v, "wrong key", "wrong key");
	const char *other[] = {"other"};
	refused(&ka, other, 1, v, "namespace mismatch", "wrong namespace");
	const char *empty[] = {""};
	refused(&ka, empty, 1, v, "namespace mismatch", "default namespace does not allow myapp");

	/* tampered payload: flip one character in the middle of it */
	_cleanup_free_ char *t = xstrdup(v);
	char *pl = strrchr(t, ':') + 10;
	*pl = *pl == 'A' ? 'B' : 'A';
	refused(&ka, NULL, 0, t, "tampered", "tampered payload");

	char h[9];
	secrets_short_hash("other", 5, h);
	_cleanup_free_ char *tns = with_field(v, 2, h);
	refused(&ka, NULL, 0, tns, "namespace hash mismatch", "tampered namespace hash");
	secrets_short_hash("XYZZY", 5, h);
	_cleanup_free_ char *tsec = with_field(v, 3, h);
	refused(&ka, NULL, 0, tsec, "secret hash mismatch", "tampered secret hash");
	_cleanup_free_ char *tkey = with_field(v, 1, bhash);
	refused(&ka, NULL, 0, tkey, "key hash mismatch", "tampered key hash");
	refused(&kab, NULL, 0, tkey, "tampered", "key hash of another key in the file");
	_cleanup_free_ char *badhash = with_field(v, 3, "abc");
	refused(&ka, NULL, 0, badhash, "malformed secret hash", "short secret hash field");

	_cleanup_free_ char *vone = with_field(v, 0, "v1");
	refused(&ka, NULL, 0, vone, "v1 secrets are not supported", "v1 prefix");
	_cleanup_free_ char *vthree = with_field(v, 0, "v3");
	refused(&ka, NULL, 0, vthree, "unknown secret version \"v3\"", "v3 prefix");
	refused(&ka, NULL, 0, SECRET, "not an encrypted lithos secret", "plain text value");
	refused(&ka, NULL, 0, SECRET ":x:y", "not an encrypted lithos secret", "plain text value with colons");
	refused(&ka, NULL, 0, "", "empty value", "empty value");

	/* truncated values */
	_cleanup_free_ char *cut1 = xstrndup(v, 20);
	refused(&ka, NULL, 0, cut1, "truncated value", "value cut in the hashes");
	_cleanup_free_ char *cut2 = xstrndup(v, strlen(v) - 5);
	refused(&ka, NULL, 0, cut2, "not valid base64", "value cut in the payload");
	_cleanup_free_ char *cut3 = xstrndup(v, strlen(v) - 8);
	refused(&ka, NULL, 0, cut3, "tampered with or truncated", "value cut at a base64 boundary");
	_cleanup_free_ char *cut4 = xstrndup(v, (size_t)(strrchr(v, ':') - v) + 1 + 32);
	refused(&ka, NULL, 0, cut4, "truncated value: the payload is 24 bytes", "payload shorter than a sealed box");
	_cleanup_free_ char *cut5 = xstrndup(v, (size_t)(strrchr(v, ':') - v) + 1);
	refused(&ka, NULL, 0, cut5, "payload is empty", "empty payload");
	_cleanup_free_ char *extra = xasprintf("%s:AAAA", v);
	refused(&ka, NULL, 0, extra, "too many", "extra field");

	/* payloads lithos would never write */
	char nsh[9], sh[9];
	secrets_short_hash("myapp", 5, nsh);
	secrets_short_hash("bad\xff", 4, sh);
	_cleanup_free_ char *badutf = raw_value(&a, nsh, sh, "myapp:bad\xff", 10);
	refused(&ka, NULL, 0, badutf, "not valid UTF-8", "secret that is not UTF-8");
	secrets_short_hash("a\0b", 3, sh);
	_cleanup_free_ char *nul = raw_value(&a, nsh, sh, "myapp:a\0b", 9);
	refused(&ka, NULL, 0, nul, "NUL byte", "secret with a NUL byte");
	secrets_short_hash("nonamespace", 11, sh);
	_cleanup_free_ char *nons = raw_value(&a, nsh, sh, "nonamespace", 11);
	refused(&ka, NULL, 0, nons, "no \"NAMESPACE:\" prefix", "payload without namespace prefix");
	struct secrets_keyset none = {0};
	refused(&none, NULL, 0, v, "no private keys", "empty key set");

	/* encryption refusals */
	char *out = NULL;
	refuses(secrets_encrypt(&a, "a:b", "x", 1, &out, &err),
		"invalid namespace", "encrypt refuses namespace a:b");
	refuses(secrets_encrypt(&a, "", "a\xff", 2, &out, &err),
		"UTF-8", "encrypt refuses invalid UTF-8");
	refuses(secrets_encrypt(&a, "", "a\0b", 3, &out, &err), "NUL", "encrypt refuses NUL");
	refuses(secrets_encrypt(&a, "", "\xc0\xaf", 2, &out, &err),
		"", "encrypt refuses overlong UTF-8");
	refuses(secrets_encrypt(&a, "", "\xed\xa0\x80", 3, &out, &err),
		"", "encrypt refuses a surrogate");

	secrets_keyset_free(&ka);
	secrets_keyset_free(&kb);
	secrets_keyset_free(&kab);
}

static void test_key_file_mode(void)
{
	char dir[] = "/tmp/test_secrets.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	_cleanup_free_ char *path = xasprintf("%s/key", dir);
	_cleanup_free_ char *src = key_path("ed25519_a");
	size_t len;
	_cleanup_free_ char *text = read_file_limited(src, 1 << 16, &len);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0 && text && write(fd, text, len) == (ssize_t)len, "copy key to %s", path);
	if (fd >= 0)
		close(fd);
	chmod(path, 0600);

	char *err = NULL;
	struct secrets_keyset ks = {0};
	bool root = geteuid() == 0;
	if (root) {
		is_int(secrets_check_key_file(path, &err), 0, "root-owned 0600 key file passes");
		is_int(secrets_load_private_keys(path, SECRETS_LOAD_STRICT, &ks, &err), 0,
		       "strict load of a root-owned 0600 key");
		secrets_keyset_free(&ks);
		chmod(path, 0400);
		is_int(secrets_check_key_file(path, &err), 0, "root-owned 0400 key file passes");
		chmod(path, 0600);
	} else {
		refuses(secrets_check_key_file(path, &err),
			"owned by root", "key file not owned by root refused");
	}

	chmod(path, 0644);
	refuses(secrets_check_key_file(path, &err), "0644", "0644 key file refused");
	refuses(secrets_load_private_keys(path, SECRETS_LOAD_STRICT, &ks, &err),
		"0644", "strict load refuses a 0644 key");
	is_int(secrets_load_private_keys(path, 0, &ks, &err), 0, "non-strict load ignores the mode");
	secrets_keyset_free(&ks);
	chmod(path, 0700);
	refuses(secrets_check_key_file(path, &err), "", "0700 key file refused");
	chmod(path, 04600);
	refuses(secrets_check_key_file(path, &err), "", "setuid key file refused");

	if (root) {
		chmod(path, 0600);
		ok(chown(path, 65534, 65534) == 0, "chown key to nobody");
		refuses(secrets_check_key_file(path, &err),
			"owned by root", "key file owned by uid 65534 refused");
		refuses(secrets_load_private_keys(path, SECRETS_LOAD_STRICT, &ks, &err),
			"owned by root", "strict load refuses a key not owned by root");
	}
	refuses(secrets_check_key_file(dir, &err),
		"not a regular file", "directory refused as key file");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	test_hashes();
	test_keys();
	test_key_refusals();
	test_round_trip();
	test_refusals();
	test_key_file_mode();
	return done_testing();
}
