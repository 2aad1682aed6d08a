#!/usr/bin/env python3
"""An independent implementation of lithos's v2 secrets, for interop tests.

Uses PyNaCl for the sealed box and the ed25519 -> curve25519 conversion,
hashlib for BLAKE2b and its own parsing of OpenSSH key files; shares no
code with lithos-lxc.

    lithos_v2.py hash DATA
    lithos_v2.py encrypt KEY.pub NAMESPACE DATA     -> prints v2:...
    lithos_v2.py decrypt PRIVATE_KEY VALUE          -> secret on stdout,
                                                       namespace on stderr
    lithos_v2.py check-key KEY.pub VALUE            -> exit 0 if for KEY

Failures print one line to stderr and exit 1.
"""
import base64
import hashlib
import struct
import sys

from nacl import bindings


class Refused(Exception):
    pass


def short_hash(data):
    return base64.b64encode(hashlib.blake2b(data, digest_size=6).digest()).decode()


def read_string(buf, pos):
    if pos + 4 > len(buf):
        raise Refused("truncated key data")
    (n,) = struct.unpack(">I", buf[pos:pos + 4])
    end = pos + 4 + n
    if end > len(buf):
        raise Refused("truncated key data")
    return buf[pos + 4:end], end


def public_key(path):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if parts[0] != "ssh-ed25519":
                raise Refused("only ssh-ed25519 keys are supported")
            blob = base64.b64decode(parts[1], validate=True)
            kind, pos = read_string(blob, 0)
            key, pos = read_string(blob, pos)
            if kind != b"ssh-ed25519" or len(key) != 32 or pos != len(blob):
                raise Refused("bad ed25519 public key")
            return key
    raise Refused("no public key found")


def private_keys(path):
    """All (seed+pk, pk) pairs of all OpenSSH blocks in the file."""
    keys = []
    body = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line == "-----BEGIN OPENSSH PRIVATE KEY-----":
                body = []
            elif line == "-----END OPENSSH PRIVATE KEY-----":
                keys.extend(parse_block(base64.b64decode("".join(body))))
                body = None
            elif body is not None:
                body.append(line)
    if not keys:
        raise Refused("no private key found")
    return keys


def parse_block(blob):
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        raise Refused("not an openssh-key-v1 key")
    pos = len(magic)
    cipher, pos = read_string(blob, pos)
    kdf, pos = read_string(blob, pos)
    _, pos = read_string(blob, pos)
    (n,) = struct.unpack(">I", blob[pos:pos + 4])
    pos += 4
    if cipher != b"none" or kdf != b"none":
        raise Refused("password-protected keys are not supported")
    for _ in range(n):
        _, pos = read_string(blob, pos)
    priv, pos = read_string(blob, pos)
    c1, c2 = struct.unpack(">II", priv[:8])
    if c1 != c2:
        raise Refused("corrupt private key")
    pos = 8
    keys = []
    for _ in range(n):
        kind, pos = read_string(priv, pos)
        if kind != b"ssh-ed25519":
            raise Refused("only ssh-ed25519 keys are supported")
        pk, pos = read_string(priv, pos)
        sk, pos = read_string(priv, pos)
        _, pos = read_string(priv, pos)
        if len(pk) != 32 or len(sk) != 64 or sk[32:] != pk:
            raise Refused("corrupt private key")
        keys.append((sk, pk))
    return keys


def encrypt(pubpath, namespace, data):
    pk = public_key(pubpath)
    secret = data.encode()
    curve_pk = bindings.crypto_sign_ed25519_pk_to_curve25519(pk)
    sealed = bindings.crypto_box_seal(namespace.encode() + b":" + secret, curve_pk)
    return "v2:%s:%s:%s:%s" % (short_hash(pk), short_hash(namespace.encode()),
                               short_hash(secret), base64.b64encode(sealed).decode())


def split_value(value):
    parts = value.split(":")
    if parts[0] != "v2":
        raise Refused("only v2 values are supported")
    if len(parts) != 5:
        raise Refused("malformed value")
    return parts[1:]


def decrypt(privpath, value):
    key_hash, ns_hash, secret_hash, payload = split_value(value)
    cipher = base64.b64decode(payload, validate=True)
    for sk, pk in private_keys(privpath):
        if short_hash(pk) != key_hash:
            continue
        curve_pk = bindings.crypto_sign_ed25519_pk_to_curve25519(pk)
        curve_sk = bindings.crypto_sign_ed25519_sk_to_curve25519(sk)
        plain = bindings.crypto_box_seal_open(cipher, curve_pk, curve_sk)
        namespace, sep, secret = plain.partition(b":")
        if not sep:
            raise Refused("no namespace prefix")
        if short_hash(namespace) != ns_hash:
            raise Refused("namespace hash mismatch")
        if short_hash(secret) != secret_hash:
            raise Refused("secret hash mismatch")
        return namespace.decode(), secret.decode()
    raise Refused("no key matches")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    try:
        if cmd == "hash" and len(argv) == 3:
            print(short_hash(argv[2].encode()))
        elif cmd == "encrypt" and len(argv) == 5:
            print(encrypt(argv[2], argv[3], argv[4]))
        elif cmd == "decrypt" and len(argv) == 4:
            namespace, secret = decrypt(argv[2], argv[3])
            sys.stderr.write(namespace)
            sys.stdout.write(secret)
        elif cmd == "check-key" and len(argv) == 4:
            if split_value(argv[3])[0] != short_hash(public_key(argv[2])):
                raise Refused("key does not match")
        else:
            sys.stderr.write(__doc__)
            return 2
    except Exception as e:  # one line, whatever failed
        sys.stderr.write("lithos_v2.py: %s: %s\n" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
