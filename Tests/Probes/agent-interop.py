#!/usr/bin/python3
"""An independent client of secmod-agent, for AgentInteropTests: paramiko's ssh-agent
client lists the keys and has each sign ("refused" when the agent says no), and paramiko
checks the signatures; the
onion-service blinding extension's results are checked with pyca/cryptography's Ed25519
(OpenSSL), not libsodium. Prints one line per check ("ok ...") and exits 0, or names the
first failure and exits 1. Usage: agent-interop.py list-and-sign | blind KEY_COMMENT."""
import hashlib
import os
import struct
import sys

import paramiko
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paramiko.message import Message


def fail(text):
    print("FAIL " + text)
    sys.exit(1)


def list_and_sign():
    agent = paramiko.Agent()
    keys = agent.get_keys()
    if not keys:
        fail("no keys")
    data = b"paramiko was here"
    for key in keys:
        name = key.get_name()
        try:
            signature = key.sign_ssh_data(data, algorithm="rsa-sha2-512" if name == "ssh-rsa" else None)
        except paramiko.SSHException:
            print("refused %s %s" % (name, key.get_fingerprint().hex()))
            continue
        if isinstance(signature, bytes):
            signature = Message(signature)
        if name == "ssh-ed25519":
            checked = paramiko.Ed25519Key(data=key.asbytes())
        elif name == "ssh-rsa":
            checked = paramiko.RSAKey(data=key.asbytes())
        else:
            fail("unexpected key type " + name)
        if not checked.verify_ssh_sig(data, signature):
            fail("signature of %s %s does not verify" % (name, key.comment if hasattr(key, "comment") else ""))
        print("ok %s %s" % (name, key.get_fingerprint().hex()))
    agent.close()


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def string(b):
    return struct.pack(">I", len(b)) + b


def call(sock, payload):
    sock.sendall(frame(payload))
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            fail("agent closed")
        head += chunk
    (n,) = struct.unpack(">I", head)
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            fail("agent closed")
        body += chunk
    return body


def read_string(b, at):
    (n,) = struct.unpack(">I", b[at:at + 4])
    return b[at + 4:at + 4 + n], at + 4 + n


def blind(comment):
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ["SSH_AUTH_SOCK"])
    answer = call(sock, b"\x0b")
    (count,) = struct.unpack(">I", answer[1:5])
    at, blob = 5, None
    for _ in range(count):
        key_blob, at = read_string(answer, at)
        key_comment, at = read_string(answer, at)
        if key_comment.decode() == comment:
            blob = key_blob
    if blob is None:
        fail("no key " + comment)
    identity, _ = read_string(blob, read_string(blob, 0)[1])
    data = b"onion service descriptor, period 20000"
    for period in (20000, 20001):
        request = b"\x1b" + string(b"tor-hs-blind-sign@swift-secmod") + string(blob) + struct.pack(">QQ", period, 1440) + string(data)
        reply = call(sock, request)
        # RFC 9987's EXTENSION_RESPONSE: 29, the extension's name, its contents.
        if reply[0] != 29 or read_string(reply, 1)[0] != b"tor-hs-blind-sign@swift-secmod":
            fail("blind-sign answered %d" % reply[0])
        blinded, at = read_string(reply, read_string(reply, 1)[1])
        signature, at = read_string(reply, at)
        # The blinded key alone, through the other extension, is the same.
        request = b"\x1b" + string(b"tor-hs-blinded-key@swift-secmod") + string(blob) + struct.pack(">QQ", period, 1440)
        alone = call(sock, request)
        if alone[0] != 29 or read_string(alone, read_string(alone, 1)[1])[0] != blinded:
            fail("blinded-key disagrees with blind-sign")
        Ed25519PublicKey.from_public_bytes(blinded).verify(signature, data)  # raises if bad
        try:
            Ed25519PublicKey.from_public_bytes(identity).verify(signature, data)
            fail("the blinded signature verifies under the identity key")
        except Exception as e:  # InvalidSignature
            if type(e).__name__ != "InvalidSignature":
                raise
        print("ok blinded %d %s" % (period, blinded.hex()))


if __name__ == "__main__":
    if sys.argv[1] == "list-and-sign":
        list_and_sign()
    elif sys.argv[1] == "blind":
        blind(sys.argv[2])
    else:
        fail("usage")
