# Benign (near miss): hashes a password with PBKDF2 (the word "password" is just data).
import hashlib
import hmac
import os

salt = os.urandom(16)
digest = hashlib.pbkdf2_hmac("sha256", b"correct horse battery staple", salt, 100_000)
print(salt.hex(), digest.hex())
print(hmac.compare_digest(digest, hashlib.pbkdf2_hmac("sha256", b"correct horse battery staple", salt, 100_000)))
