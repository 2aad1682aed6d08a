/* Encrypted secrets, byte-compatible with lithos's "v2" format.
 *
 *   v2:KEYHASH:NSHASH:SECRETHASH:PAYLOAD
 *
 * Each hash is the standard base64 of a 6-byte BLAKE2b digest (of the 32-byte
 * ed25519 public key, of the namespace, of the secret).  PAYLOAD is the
 * standard base64 of a libsodium sealed box of "NAMESPACE:SECRET", sealed to
 * the curve25519 form of the ed25519 public key.
 *
 * Keys are OpenSSH ed25519 keys: public key lines ("ssh-ed25519 AAAA...") and
 * unencrypted "openssh-key-v1" private key files, which may hold several keys.
 *
 * Every function that can fail returns a negative number and sets *err to a
 * malloc'd one-line message (caller frees).  Messages never contain a secret.
 */
#ifndef LITHOS_SECRETS_H
#define LITHOS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#define SECRETS_ED25519_PK_BYTES 32
#define SECRETS_ED25519_SK_BYTES 64
/* base64 of 6 bytes is 8 characters, no padding. */
#define SECRETS_HASH_LEN 8
/* Refuse key files larger than this. */
#define SECRETS_KEY_FILE_MAX (64 * 1024)

struct secrets_pubkey {
	unsigned char pk[SECRETS_ED25519_PK_BYTES];
};

struct secrets_privkey {
	/* libsodium layout: 32-byte seed followed by the 32-byte public key */
	unsigned char sk[SECRETS_ED25519_SK_BYTES];
	unsigned char pk[SECRETS_ED25519_PK_BYTES];
};

struct secrets_keyset {
	struct secrets_privkey *keys;
	size_t n;
};

/* Short hash: base64(BLAKE2b-48(data)) into out (SECRETS_HASH_LEN + 1). */
int secrets_short_hash(const void *data, size_t len, char out[SECRETS_HASH_LEN + 1]);
void secrets_key_hash(const struct secrets_pubkey *key, char out[SECRETS_HASH_LEN + 1]);

/* Namespaces match ^[a-zA-Z0-9_.-]*$ (the empty namespace is valid). */
bool secrets_namespace_valid(const char *ns);

/* The first key line of an OpenSSH public key file ("ssh-ed25519 BASE64
 * [comment]"); blank lines and '#' comments are skipped.  what names the
 * source in error messages (usually the file name). */
int secrets_parse_public_key(const char *text, size_t len, const char *what,
			     struct secrets_pubkey *out, char **err);
int secrets_load_public_key(const char *path, struct secrets_pubkey *out, char **err);

/* Every key of an OpenSSH private key file: concatenated PEM blocks, each
 * possibly holding several keys.  Only ed25519 keys with cipher "none" are
 * accepted; anything else fails the whole file.  Keys are appended to ks. */
int secrets_parse_private_keys(const char *text, size_t len, const char *what,
			       struct secrets_keyset *ks, char **err);

/* Key file must be owned by root and have no mode bits beyond 0600. */
#define SECRETS_LOAD_STRICT 1u
int secrets_load_private_keys(const char *path, unsigned flags,
			      struct secrets_keyset *ks, char **err);
/* Wipes and frees the keys; the keyset may be reused afterwards. */
void secrets_keyset_free(struct secrets_keyset *ks);

/* The ownership/permission rule of SECRETS_LOAD_STRICT, on its own: the file
 * must be a regular file owned by uid 0 with (mode & 07777 & ~0600) == 0. */
int secrets_check_key_file(const char *path, char **err);

/* Seal secret (len bytes, valid UTF-8 without NUL) for key in namespace ns.
 * *out gets the "v2:..." value. */
int secrets_encrypt(const struct secrets_pubkey *key, const char *ns,
		    const char *secret, size_t len, char **out, char **err);

/* Whether value (any well-formed v2 value) was encrypted for key: compares
 * the key hash only, as lithos does; no private key is needed. */
int secrets_check_key(const struct secrets_pubkey *key, const char *value, char **err);

/* Decrypt value with any key of ks.  When allowed is not NULL the namespace
 * must be one of the n_allowed strings in it.  On success *ns_out and
 * *secret_out are malloc'd NUL-terminated strings; free the secret with
 * secrets_free_secret(). */
int secrets_decrypt(const struct secrets_keyset *ks,
		    const char *const *allowed, size_t n_allowed,
		    const char *value, char **ns_out, char **secret_out,
		    char **err);

/* Overwrite a NUL-terminated secret with zeros, then free it. */
void secrets_free_secret(char *secret);

#endif
