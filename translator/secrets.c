/* Encrypted secrets in lithos's v2 format; see secrets.h. */
#include "secrets.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#define B64 sodium_base64_VARIANT_ORIGINAL
#define SSH_ED25519 "ssh-ed25519"
#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC "openssh-key-v1" /* followed by a NUL byte */
#define MAX_KEYS_PER_BLOCK 1024
#define VALUE_FORMAT "v2:KEYHASH:NSHASH:SECRETHASH:PAYLOAD"

__attribute__((format(printf, 2, 3)))
static int fail(char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (err)
		*err = msg;
	else
		free(msg);
	return -1;
}

static int sodium_ready(char **err)
{
	if (sodium_init() < 0)
		return fail(err, "cannot initialise libsodium");
	return 0;
}

/* A short, printable rendering of non-secret text for error messages. */
static char *printable(const char *s, size_t len)
{
	struct buf b = {0};
	size_t max = 64;
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf_add(&b, (const char *)&c, 1);
		else
			buf_printf(&b, "\\x%02x", c);
	}
	if (len > max)
		buf_puts(&b, "...");
	buf_str(&b);
	return b.p;
}

static void wipe_free(void *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		free(p);
	}
}

/* Standard base64 with padding; NULL when s is not exactly that.
 * ignore lists characters to skip (NULL for none). */
static unsigned char *b64_decode(const char *s, size_t slen, const char *ignore,
				 size_t *outlen)
{
	size_t cap = slen / 4 * 3 + 3;
	unsigned char *out = xmalloc(cap);
	const char *end = NULL;
	if (sodium_base642bin(out, cap, s, slen, ignore, outlen, &end, B64) != 0 ||
	    end != s + slen) {
		free(out);
		return NULL;
	}
	return out;
}

static char *b64_encode(const unsigned char *bin, size_t len)
{
	size_t cap = sodium_base64_encoded_len(len, B64);
	char *out = xmalloc(cap);
	sodium_bin2base64(out, cap, bin, len, B64);
	return out;
}

int secrets_short_hash(const void *data, size_t len, char out[SECRETS_HASH_LEN + 1])
{
	unsigned char h[6];
	if (crypto_generichash(h, sizeof(h), data, len, NULL, 0) != 0) {
		out[0] = 0;
		return -1;
	}
	sodium_bin2base64(out, SECRETS_HASH_LEN + 1, h, sizeof(h), B64);
	return 0;
}

void secrets_key_hash(const struct secrets_pubkey *key, char out[SECRETS_HASH_LEN + 1])
{
	secrets_short_hash(key->pk, sizeof(key->pk), out);
}

static bool ns_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool ns_valid_n(const char *ns, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!ns_char(ns[i]))
			return false;
	return true;
}

bool secrets_namespace_valid(const char *ns)
{
	return ns && ns_valid_n(ns, strlen(ns));
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- OpenSSH wire format ---- */

struct reader {
	const unsigned char *p;
	size_t left;
};

static bool rd_u32(struct reader *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	     (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static bool rd_string(struct reader *r, const unsigned char **s, size_t *len)
{
	uint32_t n;
	if (!rd_u32(r, &n) || n > r->left)
		return false;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool bytes_eq(const unsigned char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static bool has_prefix_n(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(s, lit, n) == 0;
}

/* Looks like the type of an OpenSSH public key line or blob. */
static bool ssh_key_type_like(const char *s, size_t len)
{
	return has_prefix_n(s, len, "ssh-") || has_prefix_n(s, len, "ecdsa-") ||
	       has_prefix_n(s, len, "sk-");
}

/* The error for a key type other than ssh-ed25519. */
static int bad_key_type(char **err, const char *what, const char *type, size_t len)
{
	if (has_prefix_n(type, len, "ssh-rsa"))
		return fail(err, "%s: RSA keys are not supported, only ed25519 "
			    "(create one with ssh-keygen -t ed25519)", what);
	_cleanup_free_ char *t = printable(type, len);
	return fail(err, "%s: key type \"%s\" is not supported, only ed25519 "
		    "(create one with ssh-keygen -t ed25519)", what, t);
}

/* An ed25519 public key blob: string "ssh-ed25519", string pk[32]. */
static int parse_pubkey_blob(const unsigned char *blob, size_t len, const char *what,
			     unsigned char pk[SECRETS_ED25519_PK_BYTES], char **err)
{
	struct reader r = {blob, len};
	const unsigned char *type, *key;
	size_t tlen, klen;
	if (!rd_string(&r, &type, &tlen))
		return fail(err, "%s: damaged key (truncated public key blob)", what);
	if (!bytes_eq(type, tlen, SSH_ED25519))
		return bad_key_type(err, what, (const char *)type, tlen);
	if (!rd_string(&r, &key, &klen) || klen != SECRETS_ED25519_PK_BYTES || r.left)
		return fail(err, "%s: damaged ed25519 public key blob", what);
	memcpy(pk, key, SECRETS_ED25519_PK_BYTES);
	return 0;
}

/* ---- public keys ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

static const char *skip_token(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
		p++;
	return p;
}

static int parse_pubkey_line(const char *line, const char *end, const char *what,
			     struct secrets_pubkey *out, char **err)
{
	if (has_prefix_n(line, (size_t)(end - line), "-----BEGIN"))
		return fail(err, "%s: this is a private key file; "
			    "encryption needs the public key (the .pub file)", what);
	const char *type = line, *type_end = skip_token(line, end);
	const char *data = skip_ws(type_end, end), *data_end = skip_token(data, end);
	size_t tlen = (size_t)(type_end - type);
	if (!bytes_eq((const unsigned char *)type, tlen, SSH_ED25519)) {
		if (ssh_key_type_like(type, tlen))
			return bad_key_type(err, what, type, tlen);
		return fail(err, "%s: not an OpenSSH public key line "
			    "(expected \"ssh-ed25519 AAAA... comment\")", what);
	}
	if (data == data_end)
		return fail(err, "%s: public key line has no key data", what);
	size_t blen;
	_cleanup_free_ unsigned char *blob =
		b64_decode(data, (size_t)(data_end - data), NULL, &blen);
	if (!blob)
		return fail(err, "%s: public key data is not valid base64", what);
	return parse_pubkey_blob(blob, blen, what, out->pk, err);
}

int secrets_parse_public_key(const char *text, size_t len, const char *what,
			     struct secrets_pubkey *out, char **err)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *s = skip_ws(p, line_end);
		const char *e = line_end;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s < e && *s != '#')
			return parse_pubkey_line(s, e, what, out, err);
		p = nl ? nl + 1 : end;
	}
	return fail(err, "%s: no public key found", what);
}

static const char *errno_text(int e)
{
	switch (e) {
	case EFBIG: return "file is too large for a key file";
	case EINVAL: return "not a regular file";
	default: return strerror(e);
	}
}

int secrets_load_public_key(const char *path, struct secrets_pubkey *out, char **err)
{
	size_t len;
	_cleanup_free_ char *text = read_file_limited(path, SECRETS_KEY_FILE_MAX, &len);
	if (!text)
		return fail(err, "%s: %s", path, errno_text(errno));
	return secrets_parse_public_key(text, len, path, out, err);
}

/* ---- private keys ---- */

static void keyset_push(struct secrets_keyset *ks, const struct secrets_privkey *k)
{
	/* Copy by hand so no stale copy of the keys is left in freed memory. */
	struct secrets_privkey *v = xmalloc((ks->n + 1) * sizeof(*v));
	if (ks->n)
		memcpy(v, ks->keys, ks->n * sizeof(*v));
	v[ks->n] = *k;
	wipe_free(ks->keys, ks->n * sizeof(*v));
	ks->keys = v;
	ks->n++;
}

void secrets_keyset_free(struct secrets_keyset *ks)
{
	wipe_free(ks->keys, ks->n * sizeof(*ks->keys));
	ks->keys = NULL;
	ks->n = 0;
}

/* One key of the private section: string type, string pk, string sk,
 * string comment.  expect_pk comes from the unencrypted public list. */
static int parse_private_entry(struct reader *r, const char *what, const unsigned char *expect_pk,
			       struct secrets_privkey *k, char **err)
{
	const unsigned char *type, *pk, *sk, *comment;
	size_t tlen, pklen, sklen, clen;
	if (!rd_string(r, &type, &tlen))
		return fail(err, "%s: damaged private key (truncated)", what);
	if (!bytes_eq(type, tlen, SSH_ED25519))
		return bad_key_type(err, what, (const char *)type, tlen);
	if (!rd_string(r, &pk, &pklen) || !rd_string(r, &sk, &sklen) ||
	    !rd_string(r, &comment, &clen))
		return fail(err, "%s: damaged private key (truncated)", what);
	if (pklen != SECRETS_ED25519_PK_BYTES || sklen != SECRETS_ED25519_SK_BYTES)
		return fail(err, "%s: damaged ed25519 private key (bad key length)", what);
	if (memcmp(sk + 32, pk, 32) != 0 || memcmp(pk, expect_pk, 32) != 0)
		return fail(err, "%s: damaged private key (public and private halves differ)", what);
	unsigned char derived_pk[32], derived_sk[64];
	crypto_sign_seed_keypair(derived_pk, derived_sk, sk);
	sodium_memzero(derived_sk, sizeof(derived_sk));
	if (memcmp(derived_pk, pk, 32) != 0)
		return fail(err, "%s: damaged private key (it does not match its public key)", what);
	memcpy(k->sk, sk, SECRETS_ED25519_SK_BYTES);
	memcpy(k->pk, pk, SECRETS_ED25519_PK_BYTES);
	return 0;
}

static int parse_private_section(const unsigned char *priv, size_t len, const char *what,
				 const unsigned char (*pks)[32], uint32_t nkeys,
				 struct secrets_keyset *ks, char **err)
{
	struct reader r = {priv, len};
	uint32_t check1, check2;
	if (len % 8 != 0)
		return fail(err, "%s: damaged private key (bad section length)", what);
	if (!rd_u32(&r, &check1) || !rd_u32(&r, &check2))
		return fail(err, "%s: damaged private key (truncated)", what);
	if (check1 != check2)
		return fail(err, "%s: damaged private key (check numbers differ)", what);
	struct secrets_keyset found = {0};
	for (uint32_t i = 0; i < nkeys; i++) {
		struct secrets_privkey k;
		int rc = parse_private_entry(&r, what, pks[i], &k, err);
		if (rc == 0)
			keyset_push(&found, &k);
		sodium_memzero(&k, sizeof(k));
		if (rc < 0) {
			secrets_keyset_free(&found);
			return rc;
		}
	}
	/* padding: 1, 2, 3, ... up to the 8-byte block size */
	for (size_t i = 0; i < r.left; i++) {
		if (r.left >= 8 || r.p[i] != (unsigned char)(i + 1)) {
			secrets_keyset_free(&found);
			return fail(err, "%s: damaged private key (bad padding)", what);
		}
	}
	for (size_t i = 0; i < found.n; i++)
		keyset_push(ks, &found.keys[i]);
	secrets_keyset_free(&found);
	return 0;
}

/* One decoded "openssh-key-v1" blob. */
static int parse_openssh_blob(const unsigned char *blob, size_t len, const char *what,
			      struct secrets_keyset *ks, char **err)
{
	size_t mlen = sizeof(OPENSSH_MAGIC); /* with its NUL */
	if (len < mlen || memcmp(blob, OPENSSH_MAGIC, mlen) != 0)
		return fail(err, "%s: not an openssh-key-v1 private key", what);
	struct reader r = {blob + mlen, len - mlen};
	const unsigned char *cipher, *kdf, *kdfopts, *priv;
	size_t cipherlen, kdflen, kdfoptslen, privlen;
	uint32_t nkeys;
	if (!rd_string(&r, &cipher, &cipherlen) || !rd_string(&r, &kdf, &kdflen) ||
	    !rd_string(&r, &kdfopts, &kdfoptslen) || !rd_u32(&r, &nkeys))
		return fail(err, "%s: damaged private key (truncated header)", what);
	if (!bytes_eq(cipher, cipherlen, "none") || !bytes_eq(kdf, kdflen, "none"))
		return fail(err, "%s: the key is password-protected, which is not supported; "
			    "use a key without passphrase (ssh-keygen -t ed25519 -N \"\")", what);
	if (nkeys == 0 || nkeys > MAX_KEYS_PER_BLOCK)
		return fail(err, "%s: damaged private key (bad number of keys %u)", what, nkeys);
	unsigned char (*pks)[32] = xcalloc(nkeys, sizeof(*pks));
	int rc = 0;
	for (uint32_t i = 0; i < nkeys && rc == 0; i++) {
		const unsigned char *pub;
		size_t publen;
		if (!rd_string(&r, &pub, &publen))
			rc = fail(err, "%s: damaged private key (truncated public keys)", what);
		else
			rc = parse_pubkey_blob(pub, publen, what, pks[i], err);
	}
	if (rc == 0 && !rd_string(&r, &priv, &privlen))
		rc = fail(err, "%s: damaged private key (truncated private section)", what);
	if (rc == 0 && r.left)
		rc = fail(err, "%s: damaged private key (trailing data)", what);
	if (rc == 0)
		rc = parse_private_section(priv, privlen, what, (const unsigned char (*)[32])pks,
					   nkeys, ks, err);
	free(pks);
	return rc;
}

static bool line_is(const char *s, const char *e, const char *lit)
{
	return (size_t)(e - s) == strlen(lit) && memcmp(s, lit, (size_t)(e - s)) == 0;
}

/* Error for a line outside any OpenSSH block. */
static int bad_outside_line(const char *s, const char *e, const char *what, int lineno, char **err)
{
	size_t len = (size_t)(e - s);
	if (has_prefix_n(s, len, "-----BEGIN ")) {
		if (memmem(s, len, "RSA", 3))
			return fail(err, "%s: RSA keys are not supported, only ed25519 "
				    "(create one with ssh-keygen -t ed25519)", what);
		if (memmem(s, len, "ENCRYPTED", 9))
			return fail(err, "%s: the key is password-protected, which is not supported; "
				    "use a key without passphrase (ssh-keygen -t ed25519 -N \"\")", what);
		_cleanup_free_ char *t = printable(s, len);
		return fail(err, "%s: line %d: \"%s\" is not supported, "
			    "expected an OpenSSH ed25519 private key", what, lineno, t);
	}
	if (line_is(s, e, PEM_END))
		return fail(err, "%s: line %d: END line without BEGIN", what, lineno);
	if (ssh_key_type_like(s, len))
		return fail(err, "%s: this is a public key; decryption needs the private key", what);
	return fail(err, "%s: line %d: unexpected text outside a private key block", what, lineno);
}

int secrets_parse_private_keys(const char *text, size_t len, const char *what,
			       struct secrets_keyset *ks, char **err)
{
	if (sodium_ready(err) < 0)
		return -1;
	const char *p = text, *end = text + len;
	struct buf body = {0};
	bool inside = false;
	int lineno = 0, begin_line = 0, rc = 0;
	size_t nblocks = 0;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *s = skip_ws(p, line_end), *e = line_end;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		lineno++;
		p = nl ? nl + 1 : end;
		if (!inside) {
			if (s == e)
				continue;
			if (!line_is(s, e, PEM_BEGIN)) {
				rc = bad_outside_line(s, e, what, lineno, err);
				continue;
			}
			inside = true;
			begin_line = lineno;
			continue;
		}
		if (!line_is(s, e, PEM_END)) {
			if (has_prefix_n(s, (size_t)(e - s), "-----"))
				rc = fail(err, "%s: line %d: key block started at line %d is not terminated",
					  what, lineno, begin_line);
			else
				buf_add(&body, s, (size_t)(e - s));
			continue;
		}
		inside = false;
		nblocks++;
		size_t blen;
		unsigned char *blob = b64_decode(body.p ? body.p : "", body.len, NULL, &blen);
		if (!blob) {
			rc = fail(err, "%s: key block at line %d is not valid base64 (damaged or truncated)",
				  what, begin_line);
		} else {
			rc = parse_openssh_blob(blob, blen, what, ks, err);
			wipe_free(blob, blen);
		}
		sodium_memzero(body.p, body.cap);
		body.len = 0;
	}
	if (rc == 0 && inside)
		rc = fail(err, "%s: key block started at line %d has no END line (truncated file?)",
			  what, begin_line);
	if (rc == 0 && nblocks == 0)
		rc = fail(err, "%s: no OpenSSH private key found", what);
	wipe_free(body.p, body.cap);
	return rc;
}

static int check_key_stat(const struct stat *st, const char *path, char **err)
{
	if (!S_ISREG(st->st_mode))
		return fail(err, "%s: key file is not a regular file", path);
	if (st->st_mode & 07777 & ~(mode_t)0600)
		return fail(err, "%s: key file mode is %04o, it must allow nothing beyond 0600 "
			    "(chmod 0600 %s)", path, (unsigned)(st->st_mode & 07777), path);
	if (st->st_uid != 0)
		return fail(err, "%s: key file must be owned by root (it is owned by uid %u)",
			    path, (unsigned)st->st_uid);
	return 0;
}

int secrets_check_key_file(const char *path, char **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return fail(err, "%s: %s", path, strerror(errno));
	return check_key_stat(&st, path, err);
}

int secrets_load_private_keys(const char *path, unsigned flags,
			      struct secrets_keyset *ks, char **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, "%s: %s", path, strerror(errno));
	if (flags & SECRETS_LOAD_STRICT) {
		if (check_key_stat(&st, path, err) < 0)
			return -1;
	} else if (!S_ISREG(st.st_mode)) {
		return fail(err, "%s: key file is not a regular file", path);
	}
	size_t len;
	char *text = read_fd_limited(fd, SECRETS_KEY_FILE_MAX, &len, true);
	if (!text)
		return fail(err, "%s: %s", path, errno_text(errno));
	int rc = secrets_parse_private_keys(text, len, path, ks, err);
	wipe_free(text, len);
	return rc;
}

/* ---- values ---- */

int secrets_encrypt(const struct secrets_pubkey *key, const char *ns,
		    const char *secret, size_t len, char **out, char **err)
{
	if (sodium_ready(err) < 0)
		return -1;
	if (!secrets_namespace_valid(ns)) {
		_cleanup_free_ char *n = printable(ns ? ns : "", ns ? strlen(ns) : 0);
		return fail(err, "invalid namespace \"%s\": it must match ^[a-zA-Z0-9_.-]*$", n);
	}
	if (memchr(secret, 0, len))
		return fail(err, "the secret contains a NUL byte, which lithos refuses");
	if (!utf8_valid((const unsigned char *)secret, len))
		return fail(err, "the secret is not valid UTF-8, which lithos refuses");
	unsigned char curve_pk[crypto_box_PUBLICKEYBYTES];
	if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, key->pk) != 0)
		return fail(err, "the public key is not a valid ed25519 key");

	size_t nslen = strlen(ns), plen = nslen + 1 + len;
	unsigned char *plain = xmalloc(plen);
	memcpy(plain, ns, nslen);
	plain[nslen] = ':';
	memcpy(plain + nslen + 1, secret, len);
	size_t clen = plen + crypto_box_SEALBYTES;
	_cleanup_free_ unsigned char *cipher = xmalloc(clen);
	int rc = crypto_box_seal(cipher, plain, plen, curve_pk);
	wipe_free(plain, plen);
	if (rc != 0)
		return fail(err, "encryption failed");

	char khash[SECRETS_HASH_LEN + 1], nhash[SECRETS_HASH_LEN + 1], shash[SECRETS_HASH_LEN + 1];
	secrets_key_hash(key, khash);
	secrets_short_hash(ns, nslen, nhash);
	secrets_short_hash(secret, len, shash);
	_cleanup_free_ char *payload = b64_encode(cipher, clen);
	*out = xasprintf("v2:%s:%s:%s:%s", khash, nhash, shash, payload);
	return 0;
}

struct parsed_value {
	char key_hash[SECRETS_HASH_LEN + 1];
	char ns_hash[SECRETS_HASH_LEN + 1];
	char secret_hash[SECRETS_HASH_LEN + 1];
	unsigned char *cipher;
	size_t cipher_len;
};

static bool is_version_tag(const char *s, size_t len)
{
	if (len < 2 || s[0] != 'v')
		return false;
	for (size_t i = 1; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len <= 10;
}

static int parse_hash(const char *s, size_t len, const char *name,
		      char out[SECRETS_HASH_LEN + 1], char **err)
{
	size_t blen;
	_cleanup_free_ unsigned char *bin = NULL;
	if (len == SECRETS_HASH_LEN)
		bin = b64_decode(s, len, NULL, &blen);
	if (!bin || blen != 6)
		return fail(err, "malformed %s hash (expected 8 base64 characters)", name);
	memcpy(out, s, SECRETS_HASH_LEN);
	out[SECRETS_HASH_LEN] = 0;
	return 0;
}

/* Checks the layout; never prints parts of value that could be a secret
 * (somebody may have pasted the plain secret by mistake). */
static int parse_value(const char *value, struct parsed_value *pv, char **err)
{
	memset(pv, 0, sizeof(*pv));
	if (!value || !*value)
		return fail(err, "empty value (expected " VALUE_FORMAT ")");
	const char *colon = strchr(value, ':');
	size_t vlen = colon ? (size_t)(colon - value) : strlen(value);
	if (!colon || !is_version_tag(value, vlen))
		return fail(err, "not an encrypted lithos secret (expected " VALUE_FORMAT ")");
	if (vlen == 2 && value[1] == '1')
		return fail(err, "v1 secrets are not supported (lithos dropped them in 0.16); "
			    "encrypt the secret again with lithos_crypt encrypt");
	if (vlen != 2 || value[1] != '2')
		return fail(err, "unknown secret version \"%.*s\" (only v2 is supported)",
			    (int)vlen, value);

	const char *field[4];
	size_t flen[4], nfields = 0;
	const char *p = colon + 1;
	for (;;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (nfields == 4)
			return fail(err, "malformed value: too many ':'-separated fields "
				    "(expected " VALUE_FORMAT ")");
		field[nfields] = p;
		flen[nfields++] = n;
		if (!c)
			break;
		p = c + 1;
	}
	if (nfields < 4)
		return fail(err, "truncated value: %zu of 5 fields (expected " VALUE_FORMAT ")",
			    nfields + 1);
	if (parse_hash(field[0], flen[0], "key", pv->key_hash, err) < 0 ||
	    parse_hash(field[1], flen[1], "namespace", pv->ns_hash, err) < 0 ||
	    parse_hash(field[2], flen[2], "secret", pv->secret_hash, err) < 0)
		return -1;
	if (flen[3] == 0)
		return fail(err, "truncated value: the payload is empty");
	pv->cipher = b64_decode(field[3], flen[3], NULL, &pv->cipher_len);
	if (!pv->cipher)
		return fail(err, "the payload is not valid base64 (value truncated or damaged)");
	if (pv->cipher_len <= crypto_box_SEALBYTES) {
		size_t n = pv->cipher_len;
		free(pv->cipher);
		pv->cipher = NULL;
		return fail(err, "truncated value: the payload is %zu bytes, "
			    "a sealed secret is more than %u", n, (unsigned)crypto_box_SEALBYTES);
	}
	return 0;
}

int secrets_check_key(const struct secrets_pubkey *key, const char *value, char **err)
{
	if (sodium_ready(err) < 0)
		return -1;
	struct parsed_value pv;
	if (parse_value(value, &pv, err) < 0)
		return -1;
	free(pv.cipher);
	char khash[SECRETS_HASH_LEN + 1];
	secrets_key_hash(key, khash);
	if (strcmp(khash, pv.key_hash) != 0)
		return fail(err, "wrong key: the value was encrypted for key %s, this key is %s",
			    pv.key_hash, khash);
	return 0;
}

/* Sealed box open with an ed25519 key pair; plaintext length is
 * cipher_len - crypto_box_SEALBYTES. */
static bool open_with(const struct secrets_privkey *k, const unsigned char *cipher,
		      size_t clen, unsigned char *plain)
{
	unsigned char cpk[crypto_box_PUBLICKEYBYTES], csk[crypto_box_SECRETKEYBYTES];
	if (crypto_sign_ed25519_pk_to_curve25519(cpk, k->pk) != 0)
		return false;
	crypto_sign_ed25519_sk_to_curve25519(csk, k->sk);
	int rc = crypto_box_seal_open(plain, cipher, clen, cpk, csk);
	sodium_memzero(csk, sizeof(csk));
	return rc == 0;
}

static char *key_hash_list(const struct secrets_keyset *ks)
{
	struct buf b = {0};
	for (size_t i = 0; i < ks->n; i++) {
		char h[SECRETS_HASH_LEN + 1];
		secrets_short_hash(ks->keys[i].pk, 32, h);
		buf_printf(&b, "%s%s", i ? ", " : "", h);
	}
	buf_str(&b);
	return b.p;
}

static char *namespace_list(const char *const *allowed, size_t n)
{
	struct buf b = {0};
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *a = printable(allowed[i], strlen(allowed[i]));
		buf_printf(&b, "%s\"%s\"", i ? ", " : "", a);
	}
	buf_str(&b);
	return b.p;
}

/* Which key opens the payload: index into ks, or -1 with *err set. */
static int open_payload(const struct secrets_keyset *ks, const struct parsed_value *pv,
			unsigned char *plain, char **err)
{
	if (ks->n == 0)
		return fail(err, "no private keys to decrypt with");
	bool hash_known = false;
	for (size_t i = 0; i < ks->n; i++) {
		char h[SECRETS_HASH_LEN + 1];
		secrets_short_hash(ks->keys[i].pk, 32, h);
		if (strcmp(h, pv->key_hash) != 0)
			continue;
		hash_known = true;
		if (open_with(&ks->keys[i], pv->cipher, pv->cipher_len, plain))
			return (int)i;
	}
	if (hash_known)
		return fail(err, "the payload does not open with key %s: "
			    "it was tampered with or truncated", pv->key_hash);
	/* Nothing is named by the key hash: was the hash tampered with? */
	for (size_t i = 0; i < ks->n; i++) {
		if (open_with(&ks->keys[i], pv->cipher, pv->cipher_len, plain)) {
			char h[SECRETS_HASH_LEN + 1];
			secrets_short_hash(ks->keys[i].pk, 32, h);
			sodium_memzero(plain, pv->cipher_len - crypto_box_SEALBYTES);
			return fail(err, "key hash mismatch: the payload opens with key %s "
				    "but the value names key %s (tampered?)", h, pv->key_hash);
		}
	}
	_cleanup_free_ char *have = key_hash_list(ks);
	return fail(err, "wrong key: the value was encrypted for key %s, the key file has %s",
		    pv->key_hash, have);
}

/* Checks the opened plaintext "NAMESPACE:SECRET" against the value. */
static int check_plain(const unsigned char *plain, size_t plen, const struct parsed_value *pv,
		       const char *const *allowed, size_t n_allowed,
		       size_t *nslen_out, char **err)
{
	const unsigned char *colon = memchr(plain, ':', plen);
	if (!colon)
		return fail(err, "the decrypted payload has no \"NAMESPACE:\" prefix");
	size_t nslen = (size_t)(colon - plain);
	const char *ns = (const char *)plain;
	const unsigned char *secret = colon + 1;
	size_t slen = plen - nslen - 1;
	char h[SECRETS_HASH_LEN + 1];
	if (!ns_valid_n(ns, nslen))
		return fail(err, "the decrypted namespace is not a valid namespace");
	secrets_short_hash(ns, nslen, h);
	if (strcmp(h, pv->ns_hash) != 0)
		return fail(err, "namespace hash mismatch: the value says %s, "
			    "the namespace \"%.*s\" hashes to %s (tampered?)",
			    pv->ns_hash, (int)nslen, ns, h);
	secrets_short_hash(secret, slen, h);
	if (strcmp(h, pv->secret_hash) != 0)
		return fail(err, "secret hash mismatch: the decrypted secret does not "
			    "hash to %s (tampered?)", pv->secret_hash);
	if (allowed) {
		bool found = false;
		for (size_t i = 0; i < n_allowed && !found; i++)
			found = strlen(allowed[i]) == nslen && memcmp(allowed[i], ns, nslen) == 0;
		if (!found) {
			_cleanup_free_ char *list = namespace_list(allowed, n_allowed);
			return fail(err, "namespace mismatch: the secret is for namespace \"%.*s\", "
				    "allowed here: %s", (int)nslen, ns, n_allowed ? list : "none");
		}
	}
	if (memchr(secret, 0, slen))
		return fail(err, "the secret contains a NUL byte");
	if (!utf8_valid(secret, slen))
		return fail(err, "the secret is not valid UTF-8");
	*nslen_out = nslen;
	return 0;
}

int secrets_decrypt(const struct secrets_keyset *ks,
		    const char *const *allowed, size_t n_allowed,
		    const char *value, char **ns_out, char **secret_out,
		    char **err)
{
	if (sodium_ready(err) < 0)
		return -1;
	struct parsed_value pv;
	if (parse_value(value, &pv, err) < 0)
		return -1;
	size_t plen = pv.cipher_len - crypto_box_SEALBYTES;
	unsigned char *plain = xmalloc(plen + 1);
	size_t nslen = 0;
	int rc = open_payload(ks, &pv, plain, err);
	if (rc >= 0)
		rc = check_plain(plain, plen, &pv, allowed, n_allowed, &nslen, err);
	if (rc >= 0) {
		*ns_out = xstrndup((const char *)plain, nslen);
		*secret_out = xstrndup((const char *)plain + nslen + 1, plen - nslen - 1);
		rc = 0;
	}
	wipe_free(plain, plen + 1);
	free(pv.cipher);
	return rc;
}

void secrets_free_secret(char *secret)
{
	if (secret)
		wipe_free(secret, strlen(secret));
}
