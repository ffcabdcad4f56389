# Benign (near miss): base64.b64decode of data that is only printed, never executed.
import base64

encoded = "SGVsbG8sIHdvcmxkISBUaGlzIGlzIGp1c3QgZGF0YS4="
print(base64.b64decode(encoded).decode("utf-8"))
print(base64.b64encode(b"round trip").decode())
